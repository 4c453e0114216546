//! PostgreSQL restarts, and then stays down for 30 s, under 64 concurrent
//! writers and readers on two server processes sharing one database: while
//! it is down every request is refused quickly (503 problem+json with
//! `Retry-After`, none hanging), nothing is acknowledged, both servers'
//! pools reconnect by themselves, and after it every acknowledged write is
//! there, in one gapless log that verifies.

use std::path::Path;
use std::time::{Duration, Instant};

use super::cluster::PgCluster;
use super::load::{Load, Seen, verify_everything};
use crate::durability::{Staff, vkey};
use crate::process::{ServerProcess, agent, request};

/// Writers per server (64 in all), and readers per server.
const WRITERS: usize = 32;
const READERS: usize = 4;
/// How long PostgreSQL stays stopped.
const OUTAGE: Duration = Duration::from_secs(30);
/// How long the servers may take to write again once PostgreSQL is back.
const RECOVERY: Duration = Duration::from_secs(30);
/// No request may take this long, database down or not.
const SLOWEST: Duration = Duration::from_secs(15);

#[test]
fn postgres_restarts_under_load() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(mut cluster) = PgCluster::init(&dir.path().join("pg")) else {
        return;
    };
    let url = cluster.url();
    let (data_a, data_b) = (dir.path().join("data-a"), dir.path().join("data-b"));
    let logs = [
        dir.path().join("server-a.log"),
        dir.path().join("server-b.log"),
    ];
    let a = ServerProcess::start_with(&data_a, Some(&url), Some(&logs[0]), &[]);
    share_secrets(&data_a, &data_b);
    let b = ServerProcess::start_with(&data_b, Some(&url), Some(&logs[1]), &[]);
    let staff = Staff::make(&a);
    let vkey = vkey(&a);
    assert_eq!(self::vkey(&b), vkey, "the two servers sign with one key");
    let servers = [&a, &b];
    let started = Instant::now();
    let loads = servers.map(|s| Load::start(s, &staff, WRITERS, READERS));
    let total = |loads: &[Load; 2]| loads.iter().map(Load::acknowledged).sum::<usize>();
    let deadline = Instant::now() + Duration::from_secs(60);
    while total(&loads) < 200 {
        assert!(
            Instant::now() < deadline,
            "200 writes were not acknowledged within 60 s: {:?}",
            loads.each(Load::seen)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let warm = loads.each(Load::window);
    eprintln!(
        "{} writes acknowledged before the restart ({:?})",
        total(&loads),
        started.elapsed()
    );

    // A restart: sessions ended, a few seconds without a server.
    cluster.restart();
    let back = recovered(&loads, "the restart", &cluster);
    let restart = loads.each(Load::window);

    // Stopped for 30 s.
    cluster.stop();
    let stopped = Instant::now();
    // What was in flight as it stopped has been answered by now.
    std::thread::sleep(Duration::from_secs(2));
    let during = loads.each(Load::acknowledged);
    std::thread::sleep(OUTAGE / 2);
    for ((server, name), log) in servers.iter().zip(["a", "b"]).zip(&logs) {
        let health = |path: &str| {
            let asked = Instant::now();
            let answer = request(
                &agent(),
                "GET",
                &format!("{}{path}", server.url()),
                None,
                None,
            )
            .unwrap_or_else(|e| {
                panic!(
                    "server {name} {path} while PostgreSQL is down: {e}\nits log ends:\n{}",
                    tail(log, 30)
                )
            });
            (answer.status, asked.elapsed())
        };
        let ((live, _), (ready, took)) = (health("/healthz"), health("/readyz"));
        eprintln!(
            "server {name} while PostgreSQL is down: /healthz {live}, /readyz {ready} in {took:?}"
        );
        assert_eq!(
            live, 200,
            "server {name}: /healthz while PostgreSQL is down"
        );
        assert_eq!(
            ready, 503,
            "server {name}: /readyz while PostgreSQL is down"
        );
        assert!(took < SLOWEST, "server {name}: /readyz took {took:?}");
        // /metrics still answers, and says what is wrong.
        let metrics = request(
            &agent(),
            "GET",
            &format!("{}/metrics", server.url()),
            None,
            None,
        )
        .expect("metrics");
        assert_eq!(
            metrics.status, 200,
            "server {name}: /metrics while PostgreSQL is down"
        );
        assert_eq!(
            crate::helpers::metric_sample(
                &metrics.text,
                "sourceledger_storage_fault{fault=\"database_unreachable\"}"
            ),
            Some(1.0),
            "server {name}: /metrics does not show the outage"
        );
    }
    std::thread::sleep(OUTAGE.saturating_sub(stopped.elapsed()));
    assert_eq!(
        loads.each(Load::acknowledged),
        during,
        "writes were acknowledged while PostgreSQL was down"
    );
    cluster.start();
    let outage = loads.each(Load::window);
    let again = recovered(&loads, "the 30 s stop", &cluster);
    let recovery = loads.each(Load::window);
    let [load_a, load_b] = loads;
    let (mut acked, seen_a) = load_a.stop();
    let (acked_b, seen_b) = load_b.stop();
    acked.writes.extend(acked_b.writes);
    acked.checkpoints.extend(acked_b.checkpoints);
    eprintln!(
        "load ran {:?}: {} writes acknowledged, {} checkpoints kept",
        started.elapsed(),
        acked.writes.len(),
        acked.checkpoints.len()
    );
    for (what, seen) in [
        ("warm-up", &warm),
        ("restart", &restart),
        ("stop", &outage),
        ("after the stop", &recovery),
    ] {
        for (name, seen) in ["a", "b"].iter().zip(seen) {
            eprintln!("server {name}, {what}: {}", summary(seen));
        }
    }
    eprintln!("writes again {back:?} after the restart, {again:?} after the start");

    for (log, name) in logs.iter().zip(["a", "b"]) {
        let mut said = std::collections::BTreeMap::<String, usize>::new();
        for line in complaints(log) {
            // The message without its time and fields.
            let message = line.split_whitespace().skip(1);
            let message: Vec<&str> = message.take_while(|w| !w.contains('=')).collect();
            *said.entry(message.join(" ")).or_default() += 1;
        }
        eprintln!("server {name} warned or erred, by message: {said:#?}");
        // Two outages: said once as each begins and once as it ends (a
        // restart's broken connections are tried before use, not refused
        // one by one), with a little room for a connection that broke as
        // the state changed.
        let down = said
            .iter()
            .filter(|(m, _)| m.contains("the database is unreachable"))
            .map(|(_, n)| n)
            .sum::<usize>();
        assert!(
            (1..=4).contains(&down),
            "server {name} said the database is unreachable {down} times: {said:#?}"
        );
        let other = said
            .iter()
            .filter(|(m, _)| !m.contains("the database is unreachable") && !m.contains("bootstrap"))
            .count();
        let lines: Vec<String> = complaints(log)
            .into_iter()
            .filter(|l| !l.contains("the database is unreachable") && !l.contains("bootstrap"))
            .collect();
        assert_eq!(other, 0, "server {name} complained of more: {lines:#?}");
    }
    let mut bad = String::new();
    for ((name, seen), log) in ["a", "b"].iter().zip([&seen_a, &seen_b]).zip(&logs) {
        if !seen.bad.is_empty() {
            let errors: Vec<String> = complaints(log)
                .into_iter()
                // Not the state changes: what went wrong in a request.
                .filter(|l| l.contains(" ERROR ") && !l.contains("::health:"))
                .take(20)
                .collect();
            bad += &format!(
                "server {name} gave answers no client should get:\n{}\nits errors logged:\n{}\n",
                seen.bad.join("\n"),
                errors.join("\n")
            );
        }
    }
    assert!(bad.is_empty(), "{bad}");
    for (name, seen) in ["a", "b"].iter().zip([&seen_a, &seen_b]) {
        assert!(
            seen.transport_errors.is_empty(),
            "server {name} left requests unanswered:\n{}",
            seen.transport_errors.join("\n")
        );
        assert!(
            seen.slowest < SLOWEST,
            "server {name}: a request took {:?}: {}",
            seen.slowest,
            seen.slowest_request
        );
    }
    for (name, seen) in ["a", "b"].iter().zip(&outage) {
        assert!(
            seen.writes.refused > 0 && seen.reads.refused > 0,
            "server {name} refused nothing while PostgreSQL was down: {}",
            summary(seen)
        );
        assert!(
            seen.writes.other + seen.reads.other == 0,
            "server {name} answered neither 2xx nor 503/507 while PostgreSQL was down: {}",
            summary(seen)
        );
    }

    verify_everything(&a, &staff, &acked, &vkey, Some(&url), &data_a);
    let size = gapless(&a, &staff);
    for server in servers {
        let checkpoint = request(
            &agent(),
            "GET",
            &format!("{}/v1/ledger/checkpoint", server.url()),
            None,
            None,
        )
        .expect("checkpoint");
        let served = sourceledger::ledger::checkpoint::open(checkpoint.text.as_bytes(), &vkey)
            .expect("the checkpoint verifies");
        assert_eq!(served.size, size, "both servers serve the whole log");
    }
    drop((a, b));
    for log in &logs {
        let text = std::fs::read_to_string(log).expect("server log");
        let panics: Vec<&str> = text.lines().filter(|l| l.contains("panicked")).collect();
        assert!(
            panics.is_empty(),
            "{}: {}",
            log.display(),
            panics.join("\n")
        );
        eprintln!("{}: {} lines", log.display(), text.lines().count());
    }
}

/// The same call on both loads.
trait Each {
    fn each<T>(&self, f: impl Fn(&Load) -> T) -> [T; 2];
}

impl Each for [Load; 2] {
    fn each<T>(&self, f: impl Fn(&Load) -> T) -> [T; 2] {
        [f(&self[0]), f(&self[1])]
    }
}

/// Waits until both servers acknowledge writes again, without being
/// restarted: their pools reconnect by themselves. Answers how long it took.
fn recovered(loads: &[Load; 2], after: &str, cluster: &PgCluster) -> Duration {
    let back = Instant::now();
    let from = loads.each(Load::acknowledged);
    for (load, (from, name)) in loads.iter().zip(from.iter().zip(["a", "b"])) {
        let left = RECOVERY.saturating_sub(back.elapsed());
        assert!(
            load.wait_for_acknowledged(from + 20, left),
            "server {name} wrote nothing within {RECOVERY:?} after {after}: {}\nPostgreSQL:\n{}",
            summary(&load.seen()),
            cluster.log_tail()
        );
    }
    back.elapsed()
}

/// One line on what the clients of one server saw.
fn summary(seen: &Seen) -> String {
    format!(
        "writes {:?}, reads {:?}, statuses {:?}, slowest {:?} ({}), {} bad",
        seen.writes,
        seen.reads,
        seen.statuses,
        seen.slowest,
        seen.slowest_request,
        seen.bad.len()
    )
}

/// The log's entries read back through the list: indexes 0, 1, 2, … each
/// once, up to the checkpoint's size. Answers that size.
fn gapless(server: &ServerProcess, staff: &Staff) -> u64 {
    let agent = agent();
    let base = server.url();
    let checkpoint = request(
        &agent,
        "GET",
        &format!("{base}/v1/ledger/checkpoint"),
        None,
        None,
    )
    .expect("checkpoint");
    let size: u64 = checkpoint
        .text
        .lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .expect("checkpoint size");
    let mut next = 0u64;
    loop {
        let page = request(
            &agent,
            "GET",
            &format!("{base}/v1/ledger/entries?start={next}&limit=1000"),
            Some(&staff.journalist),
            None,
        )
        .expect("entries");
        assert_eq!(page.status, 200, "{}", page.text);
        let entries = page.body["entries"].as_array().expect("entries");
        for entry in entries {
            assert_eq!(
                entry["index"].as_u64(),
                Some(next),
                "the log has a gap or a duplicate index at {next}"
            );
            next += 1;
        }
        if entries.is_empty() || page.body["next"].is_null() {
            break;
        }
    }
    assert_eq!(next, size, "the log's entries and its checkpoint disagree");
    size
}

/// Gives the second server the first one's secrets (the signing key, the
/// token secret, …): two processes of one deployment on one database.
fn share_secrets(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to).expect("data dir");
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    for entry in std::fs::read_dir(from).expect("data dir").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_file() && (name.ends_with(".key") || name.ends_with(".secret")) {
            std::fs::copy(entry.path(), to.join(&name)).expect("copy a secret");
        }
    }
    assert!(
        to.join("ledger.key").exists(),
        "no ledger.key in {}",
        from.display()
    );
}

/// The server log's warnings and errors.
fn complaints(log: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    text.lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .map(str::to_owned)
        .collect()
}

/// The last `n` lines of a server's log, for a failure message.
fn tail(log: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
