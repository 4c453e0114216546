//! Acknowledged means durable: a server killed with SIGKILL while 16 clients
//! write keeps, after a restart, every write it acknowledged and every
//! checkpoint it served, and its log verifies end to end.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sourceledger::ledger::{checkpoint, proof};

use crate::helpers::{Backend, hex_list, metric_sample};
use crate::on_both_backends;
use crate::process::{ServerProcess, agent, key_token, request, token_for};

on_both_backends!(a_killed_server_keeps_every_acknowledged_write);

const CLIENTS: usize = 16;

/// The tokens a run needs, made once: they stay valid across restarts.
pub struct Staff {
    pub journalist: String,
    pub auditor: String,
}

impl Staff {
    pub fn make(server: &ServerProcess) -> Staff {
        let agent = agent();
        let base = server.url();
        let admin = token_for(&agent, &base, &server.bootstrap_key());
        let staff = Staff {
            journalist: key_token(&agent, &base, &admin, "journalist"),
            auditor: key_token(&agent, &base, &admin, "auditor"),
        };
        let article = request(
            &agent,
            "POST",
            &format!("{base}/v1/articles"),
            Some(&staff.journalist),
            Some(&json!({"slug": "durable", "title": "Durable", "url": "https://news.example/durable", "language": "en", "authors": ["A"]})),
        )
        .expect("article");
        assert_eq!(article.status, 201, "{}", article.text);
        staff
    }
}

/// What the server acknowledged before it was cut, and every checkpoint it served.
#[derive(Default)]
pub struct Acknowledged {
    pub writes: Vec<Value>,
    pub checkpoints: Vec<String>,
}

/// Runs `clients` writers against `server` (sources, and citations of them)
/// until `cut` returns, which it calls once at least `at_least` writes were
/// acknowledged; `cut` answers the checkpoints it was served itself. Writes in
/// flight at the cut may fail; only acknowledged ones are kept.
pub fn write_until_cut(
    server: &ServerProcess,
    staff: &Staff,
    clients: usize,
    at_least: usize,
    cut: impl FnOnce() -> Vec<String>,
) -> Acknowledged {
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let count = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..clients)
        .map(|client| {
            let (acked, count, stop) = (acked.clone(), count.clone(), stop.clone());
            let base = server.url();
            let token = staff.journalist.clone();
            std::thread::spawn(move || {
                let agent = agent();
                let deadline = Instant::now() + Duration::from_secs(120);
                for n in 0.. {
                    if stop.load(Ordering::SeqCst) || Instant::now() > deadline {
                        break;
                    }
                    let source = json!({"url": format!("https://source.example/{client}/{n}"), "title": format!("Source {client}/{n}"), "publisher": "P", "kind": "document", "language": "en"});
                    let Ok(answer) = request(&agent, "POST", &format!("{base}/v1/sources"), Some(&token), Some(&source)) else {
                        continue;
                    };
                    if answer.status != 201 {
                        continue;
                    }
                    let mut done = vec![answer.body.clone()];
                    if n % 3 == 0 {
                        let citation = json!({"source_id": answer.body["id"], "claim": format!("claim {client}/{n}"), "locator": "p1"});
                        if let Ok(cited) = request(&agent, "POST", &format!("{base}/v1/articles/durable/citations"), Some(&token), Some(&citation))
                            && cited.status == 201
                        {
                            done.push(cited.body["citations"][0].clone());
                        }
                    }
                    let served = if n % 5 == 0 {
                        request(&agent, "GET", &format!("{base}/v1/ledger/checkpoint"), None, None)
                            .ok()
                            .filter(|a| a.status == 200)
                            .map(|a| a.text)
                    } else {
                        None
                    };
                    if let Ok(mut acked) = acked.lock() {
                        count.fetch_add(done.len(), Ordering::SeqCst);
                        acked.writes.extend(done);
                        acked.checkpoints.extend(served);
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    while count.load(Ordering::SeqCst) < at_least && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let served_at_cut = cut();
    stop.store(true, Ordering::SeqCst);
    for thread in threads {
        thread.join().expect("writer");
    }
    let mut acked = std::mem::take(&mut *acked.lock().expect("lock"));
    acked.checkpoints.extend(served_at_cut);
    assert!(
        acked.writes.len() >= at_least.min(1),
        "nothing was acknowledged"
    );
    acked
}

/// After a restart: every acknowledged write is there as acknowledged, every
/// served checkpoint is a prefix of the log, the whole log verifies (signature,
/// every leaf, the root) and the server's own audit finds nothing.
pub fn check_after_restart(
    server: &ServerProcess,
    staff: &Staff,
    acked: &Acknowledged,
    vkey: &str,
) {
    let agent = agent();
    let base = server.url();
    for write in &acked.writes {
        let (path, index) = if write.get("version").is_some() {
            (
                format!("/v1/sources/{}/versions", write["id"].as_str().expect("id")),
                None,
            )
        } else {
            (String::new(), write["ledger_index"].as_u64())
        };
        match index {
            None => {
                let versions = request(
                    &agent,
                    "GET",
                    &format!("{base}{path}"),
                    Some(&staff.journalist),
                    None,
                )
                .expect("versions");
                assert_eq!(
                    versions.status, 200,
                    "an acknowledged source is gone: {write}"
                );
                let stored = &versions.body["versions"][0];
                assert_eq!(stored, write, "an acknowledged source changed");
            }
            Some(index) => {
                let entry = request(
                    &agent,
                    "GET",
                    &format!("{base}/v1/ledger/entries/{index}"),
                    Some(&staff.journalist),
                    None,
                )
                .expect("entry");
                assert_eq!(
                    entry.status, 200,
                    "an acknowledged citation's entry is gone: {write}"
                );
                let leaf: Value = serde_json::from_str(entry.body["leaf"].as_str().expect("leaf"))
                    .expect("leaf json");
                if leaf["kind"] == "embargo.committed" {
                    // Under embargo the entry commits to the citation: staff
                    // read it in the draft's list, proven by that entry and
                    // what it opens to (checked by the audit below).
                    assert_eq!(leaf["record"]["kind"], "citation.attached");
                    let list = request(
                        &agent,
                        "GET",
                        &format!("{base}/v1/articles/durable/sources"),
                        Some(&staff.journalist),
                        None,
                    )
                    .expect("list");
                    let found = list.body["citations"].as_array().is_some_and(|c| {
                        c.iter()
                            .any(|c| c["id"] == write["id"] && c["ledger_index"] == index)
                    });
                    assert!(found, "the acknowledged citation at entry {index} is gone");
                } else {
                    assert_eq!(
                        leaf["record"]["id"], write["id"],
                        "entry {index} is not the acknowledged citation"
                    );
                }
            }
        }
    }

    let latest = request(
        &agent,
        "GET",
        &format!("{base}/v1/ledger/checkpoint"),
        None,
        None,
    )
    .expect("checkpoint");
    let latest =
        checkpoint::open(latest.text.as_bytes(), vkey).expect("the new checkpoint verifies");
    for served in &acked.checkpoints {
        let old = checkpoint::open(served.as_bytes(), vkey).expect("a served checkpoint verifies");
        assert!(
            old.size <= latest.size,
            "the log shrank below a served checkpoint: {} > {}",
            old.size,
            latest.size
        );
        if old.size == 0 || old.size == latest.size {
            assert!(
                old.size == 0 || old.root == latest.root,
                "same size, another root: a fork"
            );
            continue;
        }
        let answer = request(
            &agent,
            "GET",
            &format!(
                "{base}/v1/ledger/proof/consistency?first={}&second={}",
                old.size, latest.size
            ),
            None,
            None,
        )
        .expect("consistency");
        assert_eq!(answer.status, 200, "{}", answer.text);
        proof::verify_consistency(
            old.size,
            latest.size,
            &old.root.0,
            &latest.root.0,
            &hex_list(&answer.body["proof"]),
        )
        .unwrap_or_else(|e| {
            panic!(
                "served checkpoint of size {} is not a prefix of the log: {e}",
                old.size
            )
        });
    }

    // The independent verifier re-hashes every leaf and recomputes the signed root.
    let out = std::process::Command::new(crate::process::BIN)
        .args([
            "verify",
            "--vkey",
            vkey,
            "--url",
            &base,
            "--token",
            &staff.journalist,
            "--all",
        ])
        .output()
        .expect("verify");
    assert!(
        out.status.success(),
        "verify --all: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let audit = request(
        &agent,
        "POST",
        &format!("{base}/v1/audit/verify"),
        Some(&staff.auditor),
        None,
    )
    .expect("audit");
    assert_eq!(audit.status, 200, "{}", audit.text);
    assert_eq!(audit.body["ok"], true, "audit: {}", audit.text);
}

pub fn vkey(server: &ServerProcess) -> String {
    let key = request(
        &agent(),
        "GET",
        &format!("{}/v1/ledger/key", server.url()),
        None,
        None,
    )
    .expect("key");
    key.body["vkey"].as_str().expect("vkey").to_owned()
}

async fn a_killed_server_keeps_every_acknowledged_write(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = match &backend {
        Backend::Sqlite => None,
        Backend::Postgres(db) => Some(db.url.clone()),
    };
    let data_dir: &Path = dir.path();
    let mut server = ServerProcess::start(data_dir, url.as_deref());
    let staff = Staff::make(&server);
    let vkey = vkey(&server);
    let mut largest_group = 0.0f64;
    for round in 0..2 {
        let acked = write_until_cut(&server, &staff, CLIENTS, 150 + 100 * round, || {
            // Writes commit in groups (group commit): the cut falls while one
            // group syncs and the next queues.
            largest_group = largest_group.max(mean_group(&server));
            server_kill(&server);
            Vec::new()
        });
        eprintln!(
            "round {round}: {} writes acknowledged, {} checkpoints served before the kill",
            acked.writes.len(),
            acked.checkpoints.len()
        );
        server.restart();
        assert_eq!(self::vkey(&server), vkey, "the signing key changed");
        check_after_restart(&server, &staff, &acked, &vkey);
    }
    assert!(
        largest_group > 1.0,
        "the writes never went in groups: the kill did not fall mid-group"
    );
}

/// Writes per committed group so far, from the server's `/metrics`.
fn mean_group(server: &ServerProcess) -> f64 {
    let text = request(
        &agent(),
        "GET",
        &format!("{}/metrics", server.url()),
        None,
        None,
    )
    .expect("metrics")
    .text;
    let field = |series: &str| metric_sample(&text, series).unwrap_or(0.0);
    let groups = field("sourceledger_write_group_size_count");
    let writes = field("sourceledger_write_group_size_sum");
    eprintln!("{writes} writes committed in {groups} groups before the kill");
    if groups > 0.0 { writes / groups } else { 0.0 }
}

/// Kills the server process without touching the value (its port stays).
fn server_kill(server: &ServerProcess) {
    let pid = server.pid();
    let status = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
}

/// The same after a simulated power cut: the data dir is on LazyFS, which keeps
/// every write not yet synced in its own cache and drops it on `clear-cache`,
/// as a power cut drops what the disk never got. Runs where
/// `SOURCELEDGER_TEST_LAZYFS` names a LazyFS build and `/dev/fuse` exists.
#[test]
fn a_power_cut_keeps_every_acknowledged_write_and_served_checkpoint() {
    let Some(lazyfs) = lazyfs_program() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let mount = LazyFs::mount(&lazyfs, dir.path());
    let data_dir = mount.dir.join("data");
    let mut server = ServerProcess::start(&data_dir, None);
    let staff = Staff::make(&server);
    let vkey = vkey(&server);
    // Cuts after 1, 7, 50 and 200 acknowledged writes, and one straight after
    // a checkpoint was served.
    for (at_least, checkpoint_first) in
        [(1, false), (7, false), (50, true), (200, false), (20, true)]
    {
        let acked = write_until_cut(&server, &staff, 4, at_least, || {
            let served = checkpoint_first
                .then(|| {
                    request(
                        &agent(),
                        "GET",
                        &format!("{}/v1/ledger/checkpoint", server.url()),
                        None,
                        None,
                    )
                    .ok()
                })
                .flatten()
                .filter(|a| a.status == 200)
                .map(|a| a.text);
            server_kill(&server);
            mount.clear_cache();
            served.into_iter().collect()
        });
        eprintln!(
            "power cut after {} acknowledged writes ({} checkpoints served)",
            acked.writes.len(),
            acked.checkpoints.len()
        );
        server.restart();
        assert_eq!(
            self::vkey(&server),
            vkey,
            "the signing key did not survive the cut"
        );
        check_after_restart(&server, &staff, &acked, &vkey);
    }
    drop(server);
}

fn lazyfs_program() -> Option<std::path::PathBuf> {
    let required = std::env::var_os("SOURCELEDGER_TEST_REQUIRE_LAZYFS").is_some();
    let program = std::env::var_os("SOURCELEDGER_TEST_LAZYFS").map(std::path::PathBuf::from);
    let usable = program.as_ref().is_some_and(|p| p.exists()) && Path::new("/dev/fuse").exists();
    if usable {
        return program;
    }
    assert!(
        !required,
        "SOURCELEDGER_TEST_REQUIRE_LAZYFS is set, but SOURCELEDGER_TEST_LAZYFS names no LazyFS program or /dev/fuse is missing"
    );
    eprintln!(
        "SKIPPED: power-loss test, SOURCELEDGER_TEST_LAZYFS names no LazyFS program (or no /dev/fuse)"
    );
    None
}

/// A LazyFS mount over a folder of the test's, unmounted on drop.
struct LazyFs {
    child: std::process::Child,
    dir: std::path::PathBuf,
    fifo: std::path::PathBuf,
    /// LazyFS keeps its completion fifo open for writing from start-up: its
    /// reading end stays open here as long as the mount, or answers are lost.
    done: Mutex<std::io::BufReader<std::fs::File>>,
}

impl LazyFs {
    fn mount(program: &Path, under: &Path) -> LazyFs {
        let root = under.join("lazyfs-root");
        let dir = under.join("lazyfs-mount");
        let fifo = under.join("faults.fifo");
        let done = under.join("faults-done.fifo");
        for d in [&root, &dir] {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        let config = under.join("lazyfs.toml");
        std::fs::write(
            &config,
            format!(
                "[faults]\nfifo_path=\"{}\"\nfifo_path_completed=\"{}\"\n[cache]\napply_eviction=false\n[cache.simple]\ncustom_size=\"512mb\"\nblocks_per_page=1\n[filesystem]\nlog_all_operations=false\nlogfile=\"\"\n",
                fifo.display(),
                done.display()
            ),
        )
        .expect("config");
        let child = std::process::Command::new(program)
            .arg(&dir)
            .arg("--config-path")
            .arg(&config)
            .args(["-o", "modules=subdir", "-o"])
            .arg(format!("subdir={}", root.display()))
            .arg("-f")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start LazyFS");
        let deadline = Instant::now() + Duration::from_secs(30);
        while !done.exists() {
            assert!(Instant::now() < deadline, "LazyFS made no completion fifo");
            std::thread::sleep(Duration::from_millis(20));
        }
        // Blocks until LazyFS opens its end, as it does while starting.
        let done = Mutex::new(std::io::BufReader::new(
            std::fs::File::open(&done).expect("open the completion fifo"),
        ));
        let target = dir.display().to_string();
        while !std::fs::read_to_string("/proc/mounts")
            .unwrap_or_default()
            .lines()
            .any(|l| l.split(' ').nth(1) == Some(target.as_str()))
            || !fifo.exists()
        {
            assert!(Instant::now() < deadline, "LazyFS did not mount");
            std::thread::sleep(Duration::from_millis(50));
        }
        LazyFs {
            child,
            dir,
            fifo,
            done,
        }
    }

    /// Drops every write not yet synced, and waits until LazyFS says it has.
    fn clear_cache(&self) {
        use std::io::{BufRead, Write};
        let mut fifo = std::fs::OpenOptions::new()
            .write(true)
            .open(&self.fifo)
            .expect("open the faults fifo");
        fifo.write_all(b"lazyfs::clear-cache\n")
            .expect("clear-cache");
        drop(fifo);
        let mut line = String::new();
        self.done
            .lock()
            .expect("completion fifo")
            .read_line(&mut line)
            .expect("read the completion fifo");
        assert!(line.contains("clear-cache"), "LazyFS answered {line:?}");
    }
}

impl Drop for LazyFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("fusermount3")
            .arg("-u")
            .arg(&self.dir)
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
