//! A slow disk: every `fsync` and `fdatasync` takes 200 ms longer (a shim of
//! the test's, preloaded into the process that syncs: the server on SQLite,
//! PostgreSQL's own server on PostgreSQL). Writes slow down but group
//! together, acknowledgements stay durable (a SIGKILL loses none), reads do
//! not wait for the disk, and `/metrics` shows the time a commit takes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::cluster::PgCluster;
use super::load::{Load, verify_everything};
use crate::durability::{Staff, vkey};
use crate::helpers::metric_sample;
use crate::process::{ServerProcess, agent, request};

const DELAY_MS: u64 = 200;

const SHIM: &str = r#"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

static void slow(void) {
    const char *ms = getenv("SLOW_FSYNC_MS");
    usleep((useconds_t)(ms ? atoi(ms) : 200) * 1000);
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    slow();
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    slow();
    return real(fd);
}
"#;

/// Builds the shim with the C compiler the build already needs.
fn build_shim(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).expect("shim dir");
    let source = dir.join("slow_fsync.c");
    let library = dir.join("slow_fsync.so");
    std::fs::write(&source, SHIM).expect("write the shim");
    let built = Command::new("cc")
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&library)
        .arg(&source)
        .arg("-ldl")
        .output()
        .expect("cc");
    assert!(
        built.status.success(),
        "the fsync shim did not build: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    // Readable by PostgreSQL's own user, which loads it there.
    let _ = Command::new("chmod").args(["-R", "a+rX"]).arg(dir).status();
    if let Some(parent) = dir.parent() {
        let _ = Command::new("chmod").arg("a+x").arg(parent).status();
    }
    library
}

fn metric(base: &str, name: &str) -> f64 {
    let text = request(&agent(), "GET", &format!("{base}/metrics"), None, None)
        .expect("metrics")
        .text;
    metric_sample(&text, name).unwrap_or_default()
}

/// Milliseconds each of `n` reads of `path` took, sorted.
fn read_times(base: &str, token: &str, path: &str, n: usize) -> Vec<u128> {
    let agent = agent();
    let mut times: Vec<u128> = (0..n)
        .map(|_| {
            let started = Instant::now();
            let answer =
                request(&agent, "GET", &format!("{base}{path}"), Some(token), None).expect("read");
            assert_eq!(answer.status, 200, "{}", answer.text);
            started.elapsed().as_millis()
        })
        .collect();
    times.sort_unstable();
    times
}

/// Milliseconds each of `n` writes took, one after the other, sorted.
fn write_times(base: &str, token: &str, n: usize) -> Vec<u128> {
    let agent = agent();
    let mut times: Vec<u128> = (0..n)
        .map(|i| {
            let started = Instant::now();
            let answer = request(
                &agent,
                "POST",
                &format!("{base}/v1/sources"),
                Some(token),
                Some(&serde_json::json!({"url": format!("https://source.example/timed/{i}"), "title": "Timed", "publisher": "P", "kind": "document", "language": "en"})),
            )
            .expect("write");
            assert_eq!(answer.status, 201, "{}", answer.text);
            started.elapsed().as_millis()
        })
        .collect();
    times.sort_unstable();
    times
}

fn slow_disk(database: Option<&str>, data_dir: &Path, log: &Path, preload: &[(&str, &str)]) {
    let mut server = ServerProcess::start_with(data_dir, database, Some(log), preload);
    let base = server.url();
    let staff = Staff::make(&server);
    let vkey = vkey(&server);

    // A lone write waits for its sync.
    let started = Instant::now();
    let lone = request(
        &agent(),
        "POST",
        &format!("{base}/v1/sources"),
        Some(&staff.journalist),
        Some(&serde_json::json!({"url": "https://source.example/lone", "title": "Lone", "publisher": "P", "kind": "document", "language": "en"})),
    )
    .expect("write");
    assert_eq!(lone.status, 201, "{}", lone.text);
    assert!(
        started.elapsed() >= Duration::from_millis(DELAY_MS),
        "a write did not wait for the slow sync ({:?}): the shim is not in the syncing process",
        started.elapsed()
    );

    let load = Load::start(&server, &staff, 16, 0);
    assert!(load.wait_for_acknowledged(120, Duration::from_secs(90)));
    // Reads do not wait for the disk: while every commit waits for its
    // sync, a read takes a fraction of what a write takes (both measured
    // now, side by side, under the same load).
    let writes = write_times(&base, &staff.journalist, 8);
    let checkpoint = read_times(&base, &staff.journalist, "/v1/ledger/checkpoint", 40);
    // An entry, not the draft's list: that list grows with every write the
    // load makes, and building it costs more each time, disk or no disk.
    let entry = read_times(&base, &staff.journalist, "/v1/ledger/entries/1", 40);
    let write_p50 = writes[writes.len() / 2];
    for (what, times) in [("checkpoint", &checkpoint), ("entry", &entry)] {
        assert!(
            times[times.len() / 2] * 2 < write_p50,
            "{what} reads waited for the disk: {times:?} ms, writes {writes:?} ms"
        );
    }
    // /metrics shows it: a commit takes the sync's time, and writes group.
    let seconds = metric(&base, "sourceledger_write_group_duration_seconds_sum");
    let groups = metric(&base, "sourceledger_write_group_duration_seconds_count");
    let items = metric(&base, "sourceledger_write_group_size_sum");
    assert!(groups > 0.0, "no commit time in /metrics");
    assert!(
        seconds / groups >= DELAY_MS as f64 / 1000.0 * 0.9,
        "the mean commit ({} s) does not show the slow sync",
        seconds / groups
    );
    assert!(
        items / groups > 1.5,
        "writes did not group while the disk was slow: {} a group",
        items / groups
    );
    eprintln!(
        "slow disk: writes p50 {write_p50} ms, reads p50 checkpoint {} ms, entry {} ms; mean commit {:.3} s over {groups} groups, {:.1} writes a group",
        checkpoint[checkpoint.len() / 2],
        entry[entry.len() / 2],
        seconds / groups,
        items / groups
    );
    let (mut acked, seen) = load.stop();
    assert!(seen.bad.is_empty(), "{:#?}", seen.bad);
    acked.writes.push(lone.body);

    // Acknowledged while slow means durable: cut the server, start it again.
    server.kill();
    server.restart();
    verify_everything(&server, &staff, &acked, &vkey, database, data_dir);
}

#[test]
fn a_slow_disk_slows_writes_not_reads_sqlite() {
    let work = tempfile::tempdir().expect("tempdir");
    let shim = build_shim(&work.path().join("shim"));
    let shim = shim.display().to_string();
    slow_disk(
        None,
        &work.path().join("data"),
        &work.path().join("server.log"),
        &[("LD_PRELOAD", shim.as_str()), ("SLOW_FSYNC_MS", "200")],
    );
}

#[test]
fn a_slow_disk_slows_writes_not_reads_postgres() {
    let work = tempfile::tempdir().expect("tempdir");
    let Some(mut cluster) = PgCluster::init(&work.path().join("pg")) else {
        return;
    };
    let shim = build_shim(&work.path().join("shim"));
    let shim = shim.display().to_string();
    cluster.stop();
    cluster.start_with_env(&[("LD_PRELOAD", shim.as_str()), ("SLOW_FSYNC_MS", "200")]);
    slow_disk(
        Some(&cluster.url()),
        &work.path().join("data"),
        &work.path().join("server.log"),
        &[],
    );
}
