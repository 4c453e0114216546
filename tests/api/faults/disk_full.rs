//! The disk fills up under writes: writes are refused 507 with `Retry-After`
//! (never 500), reads go on, the log says so once, an upload leaves nothing
//! behind, and once space is freed writes resume without a restart; nothing
//! acknowledged is lost and the log verifies.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::load::{Load, verify_everything};
use crate::durability::{Staff, vkey};
use crate::process::{ServerProcess, agent};

/// A small tmpfs of the test's own, unmounted on drop.
pub struct Tmpfs {
    pub dir: PathBuf,
}

impl Tmpfs {
    /// Mounts `megabytes` of tmpfs at `dir` (made if absent); `None`, said,
    /// when this machine does not let the test mount (not root), unless
    /// `SOURCELEDGER_TEST_REQUIRE_FAULTS` is set, when that fails the test.
    pub fn mount(dir: &Path, megabytes: u32) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).expect("mount point");
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m,mode=0777")])
            .arg("tmpfs")
            .arg(dir)
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(Tmpfs {
                dir: dir.to_owned(),
            }),
            other => {
                let why = match other {
                    Ok(out) => String::from_utf8_lossy(&out.stderr).into_owned(),
                    Err(e) => e.to_string(),
                };
                assert!(
                    std::env::var_os("SOURCELEDGER_TEST_REQUIRE_FAULTS").is_none(),
                    "SOURCELEDGER_TEST_REQUIRE_FAULTS is set but a tmpfs cannot be mounted: {why}"
                );
                eprintln!("skipped: cannot mount a tmpfs here ({why})");
                None
            }
        }
    }

    /// Fills what is left of the file system with a file of zeros, to the
    /// last block it takes; the file is returned, to be removed later.
    pub fn fill(&self) -> PathBuf {
        let path = self.dir.join("filler");
        let mut file = std::fs::File::create(&path).expect("filler");
        for chunk in [1 << 20, 64 << 10, 4 << 10, 512, 1] {
            let zeros = vec![0u8; chunk];
            while file.write_all(&zeros).is_ok() {}
        }
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}

/// Lines of the server's log that contain `text`.
pub fn log_lines(log: &Path, text: &str) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|line| line.contains(text))
        .count()
}

/// Waits up to `within` for `check`; whether it held.
pub fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if check() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// With `load` running, fills `disk` and checks what a full disk must look
/// like: writes refused 507 (no 503: a group with one write that found no
/// room is refused 507 whole), reads going on, no answer a client should
/// never get. `said` tells more when it fails. Returns the filler file.
fn fill_and_check(base: &str, load: &Load, disk: &Tmpfs, said: &dyn Fn() -> String) -> PathBuf {
    let filler = disk.fill();
    // Writes run into the full disk as soon as the database must grow.
    assert!(
        eventually(Duration::from_secs(60), || load
            .seen()
            .statuses
            .get(&507)
            .is_some_and(|n| *n >= 20)),
        "writes were not refused with 507: {:?}\n{}",
        load.seen().statuses,
        said()
    );
    let during = load.seen();
    std::thread::sleep(Duration::from_secs(3));
    let later = load.seen();
    assert!(
        later.reads.ok > during.reads.ok + 10,
        "reads stopped while the disk was full: {} then {}",
        during.reads.ok,
        later.reads.ok
    );
    assert!(later.bad.is_empty(), "while full: {:#?}", later.bad);
    assert_eq!(later.statuses.get(&503), None, "{:?}", later.statuses);
    let metrics = crate::process::request(&agent(), "GET", &format!("{base}/metrics"), None, None)
        .expect("metrics");
    assert_eq!(
        crate::helpers::metric_sample(
            &metrics.text,
            "sourceledger_storage_fault{fault=\"disk_full\"}"
        ),
        Some(1.0),
        "/metrics does not show the full disk"
    );
    filler
}

#[test]
fn a_full_disk_refuses_writes_and_heals_when_space_returns() {
    let work = tempfile::tempdir().expect("tempdir");
    let Some(disk) = Tmpfs::mount(&work.path().join("disk"), 24) else {
        return;
    };
    let data_dir = disk.dir.join("data");
    let log = work.path().join("server.log");
    let server = ServerProcess::start_with_log(&data_dir, None, Some(&log));
    let staff = Staff::make(&server);
    let vkey = vkey(&server);
    let load = Load::start(&server, &staff, 8, 4);
    assert!(
        load.wait_for_acknowledged(100, Duration::from_secs(60)),
        "no writes before the disk filled"
    );

    let filler = fill_and_check(&server.url(), &load, &disk, &String::new);

    // An upload that finds no room is refused and leaves nothing behind.
    let upload = agent()
        .put(&format!("{}/v1/snapshots", server.url()))
        .header("Authorization", &format!("Bearer {}", staff.journalist))
        .header("Content-Type", "application/pdf")
        // Small enough to be sent whole before the answer: a large body
        // refused part-way may reach the client as a reset.
        .send(&vec![7u8; 8 << 10][..])
        .expect("upload");
    assert_eq!(upload.status(), 507, "an upload on a full disk");
    assert!(upload.headers().get("retry-after").is_some());
    let staging = data_dir.join("snapshots/staging");
    let left = std::fs::read_dir(&staging).map_or(0, |d| d.count());
    assert_eq!(left, 0, "a staging file was left behind");
    assert!(
        log_lines(&log, "storage is full") >= 1,
        "the log does not say the disk is full"
    );

    std::fs::remove_file(&filler).expect("free the space");
    let before = load.acknowledged();
    assert!(
        load.wait_for_acknowledged(before + 50, Duration::from_secs(30)),
        "writes did not resume once space returned"
    );
    let (acked, seen) = load.stop();
    assert!(seen.bad.is_empty(), "{:#?}", seen.bad);
    let refused = seen.statuses.get(&507).copied().unwrap_or_default();
    eprintln!(
        "disk full: {} writes acknowledged; answers {:?}; log:\n{}",
        acked.writes.len(),
        seen.statuses,
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR") || l.contains("storage"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    // One line as the fault begins and one as it ends, not one per refusal
    // (a write that finds room between two that do not is a real change).
    let full_lines = log_lines(&log, "storage is full");
    assert!(
        full_lines <= 5 && full_lines * 10 < refused,
        "{full_lines} log lines for {refused} refusals"
    );
    assert!(log_lines(&log, "storage has room again") >= 1);
    assert_eq!(log_lines(&log, "panicked"), 0);
    assert_eq!(log_lines(&log, "internal error"), 0, "500s were logged");
    verify_everything(&server, &staff, &acked, &vkey, None, &data_dir);
}

#[test]
fn a_full_disk_under_postgresql_refuses_writes_and_heals() {
    let work = tempfile::tempdir().expect("tempdir");
    let Some(disk) = Tmpfs::mount(&work.path().join("pgdisk"), 160) else {
        return;
    };
    let Some(cluster) = super::cluster::PgCluster::init(&disk.dir.join("pg")) else {
        return;
    };
    let data_dir = work.path().join("data");
    let log = work.path().join("server.log");
    let url = cluster.url();
    let server = ServerProcess::start_with_log(&data_dir, Some(&url), Some(&log));
    let staff = Staff::make(&server);
    let vkey = vkey(&server);
    let load = Load::start(&server, &staff, 8, 4);
    assert!(
        load.wait_for_acknowledged(100, Duration::from_secs(60)),
        "no writes before the disk filled"
    );
    // PostgreSQL refuses what needs a page it cannot add ("could not extend
    // file"); what it has reads on.
    let filler = fill_and_check(&server.url(), &load, &disk, &|| cluster.log_tail());
    std::fs::remove_file(&filler).expect("free the space");
    let before = load.acknowledged();
    assert!(
        load.wait_for_acknowledged(before + 50, Duration::from_secs(60)),
        "writes did not resume once space returned: {}",
        cluster.log_tail()
    );
    let (acked, seen) = load.stop();
    assert!(seen.bad.is_empty(), "{:#?}", seen.bad);
    let refused = seen.statuses.get(&507).copied().unwrap_or_default();
    let full_lines = log_lines(&log, "storage is full");
    eprintln!(
        "PostgreSQL's disk full: {} writes acknowledged; answers {:?}; {full_lines} log lines",
        acked.writes.len(),
        seen.statuses
    );
    assert!(
        (1..=5).contains(&full_lines) && full_lines * 10 < refused,
        "{full_lines} log lines for {refused} refusals"
    );
    assert!(log_lines(&log, "storage has room again") >= 1);
    assert_eq!(log_lines(&log, "panicked"), 0);
    assert_eq!(log_lines(&log, "internal error"), 0, "500s were logged");
    verify_everything(&server, &staff, &acked, &vkey, Some(&url), &data_dir);
}
