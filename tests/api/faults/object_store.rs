//! The object store vanishes (moto behind a gate of the test's that stops
//! listening and cuts what is open) mid-download, mid-capture and between
//! requests: downloads answer 503, never a 200 that looks whole; a capture
//! answers 503 and records nothing; uploads leave nothing behind; and once the
//! store is back everything works without a restart.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use super::disk_full::log_lines;
use super::load::verify_everything;
use crate::durability::{Acknowledged, Staff, vkey};
use crate::moto::Moto;
use crate::process::{ServerProcess, agent, request};
use crate::site::HostSite;

/// A TCP gate in front of the object store: open, it forwards; closed, it
/// does not listen at all (connections are refused) and what was open is
/// cut. It can close itself once `n` bytes have gone through one way.
struct Gate {
    port: u16,
    open: Arc<AtomicBool>,
    /// Bytes to the store (PUT bodies) and from it (GET bodies).
    up: Arc<AtomicU64>,
    down: Arc<AtomicU64>,
    /// Close once this many bytes went up, or down.
    cut_up: Arc<AtomicU64>,
    cut_down: Arc<AtomicU64>,
    streams: Arc<Mutex<Vec<TcpStream>>>,
    /// Set on drop: the acceptor thread ends.
    done: Arc<AtomicBool>,
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.done.store(true, Ordering::SeqCst);
        self.close();
    }
}

impl Gate {
    fn start(upstream: &str) -> Gate {
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let gate = Gate {
            port,
            open: Arc::new(AtomicBool::new(true)),
            up: Arc::default(),
            down: Arc::default(),
            cut_up: Arc::new(AtomicU64::new(u64::MAX)),
            cut_down: Arc::new(AtomicU64::new(u64::MAX)),
            streams: Arc::default(),
            done: Arc::default(),
        };
        let (open, streams, done) = (gate.open.clone(), gate.streams.clone(), gate.done.clone());
        let counters = (
            gate.up.clone(),
            gate.down.clone(),
            gate.cut_up.clone(),
            gate.cut_down.clone(),
        );
        std::thread::spawn(move || {
            let mut listener = Some(listener);
            while !done.load(Ordering::SeqCst) {
                match (&listener, open.load(Ordering::SeqCst)) {
                    (Some(_), false) => listener = None,
                    (None, true) => {
                        listener = TcpListener::bind(("127.0.0.1", port)).ok();
                    }
                    _ => {}
                }
                let Some(bound) = &listener else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                bound.set_nonblocking(true).expect("nonblocking");
                let Ok((client, _)) = bound.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let _ = client.set_nonblocking(false);
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                if let Ok(mut all) = streams.lock() {
                    all.extend(client.try_clone().ok());
                    all.extend(server.try_clone().ok());
                }
                let (up, down, cut_up, cut_down) = counters.clone();
                let open_up = open.clone();
                let open_down = open.clone();
                let (c2, s2) = (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                std::thread::spawn(move || pipe(client, server, up, cut_up, open_up));
                std::thread::spawn(move || pipe(s2, c2, down, cut_down, open_down));
            }
        });
        gate
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops listening and cuts every open connection.
    fn close(&self) {
        self.open.store(false, Ordering::SeqCst);
        if let Ok(mut all) = self.streams.lock() {
            for stream in all.drain(..) {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }

    fn reopen(&self) {
        self.cut_up.store(u64::MAX, Ordering::SeqCst);
        self.cut_down.store(u64::MAX, Ordering::SeqCst);
        self.open.store(true, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(50));
    }

    /// Closes once `bytes` more have gone to the store.
    fn cut_after_up(&self, bytes: u64) {
        self.cut_up
            .store(self.up.load(Ordering::SeqCst) + bytes, Ordering::SeqCst);
    }

    /// Closes once `bytes` more have come from the store.
    fn cut_after_down(&self, bytes: u64) {
        self.cut_down
            .store(self.down.load(Ordering::SeqCst) + bytes, Ordering::SeqCst);
    }
}

/// Copies `from` to `to`, counting into `moved`; past `cut`, closes the gate
/// and both streams.
fn pipe(
    mut from: TcpStream,
    mut to: TcpStream,
    moved: Arc<AtomicU64>,
    cut: Arc<AtomicU64>,
    open: Arc<AtomicBool>,
) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let total = moved.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
        if total >= cut.load(Ordering::SeqCst) || !open.load(Ordering::SeqCst) {
            open.store(false, Ordering::SeqCst);
            break;
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

/// GET of a snapshot: the status, and the body when it was read whole.
fn download(base: &str, token: &str, sha256: &str) -> (u16, Option<Vec<u8>>, Option<String>) {
    let mut response = agent()
        .get(&format!("{base}/v1/snapshots/{sha256}"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .expect("download");
    let status = response.status().as_u16();
    let retry = response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = response
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_vec()
        .ok();
    (status, body, retry)
}

fn upload(base: &str, token: &str, bytes: &[u8]) -> (u16, serde_json::Value) {
    let mut response = agent()
        .put(&format!("{base}/v1/snapshots"))
        .header("Authorization", &format!("Bearer {token}"))
        .header("Content-Type", "application/pdf")
        .send(bytes)
        .expect("upload");
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or_default())
}

fn versions(base: &str, token: &str, id: &str) -> usize {
    let answer = request(
        &agent(),
        "GET",
        &format!("{base}/v1/sources/{id}/versions"),
        Some(token),
        None,
    )
    .expect("versions");
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["versions"].as_array().map_or(0, Vec::len)
}

fn staging_is_empty(data_dir: &std::path::Path) -> bool {
    std::fs::read_dir(data_dir.join("snapshots/staging")).map_or(true, |d| d.count() == 0)
}

#[test]
fn the_object_store_vanishes_and_comes_back() {
    let Some(moto) = Moto::start() else {
        return;
    };
    let _settings = moto.store("faults");
    let gate = Gate::start(&moto.endpoint);
    let site = HostSite::start();
    // Each capture finds the page changed, so each that succeeds is a new
    // version.
    let set_page = |n: u32| {
        site.page(
            "/report",
            "",
            format!(
                "<html><body>{n} {}</body></html>",
                "evidence ".repeat(200_000)
            ),
        )
    };
    let page = set_page(0);
    let site_port = site.origin.rsplit(':').next().expect("port").to_owned();
    let work = tempfile::tempdir().expect("tempdir");
    let data_dir = work.path().join("data");
    let log = work.path().join("server.log");
    let endpoint = gate.url();
    let server = ServerProcess::start_with(
        &data_dir,
        None,
        Some(&log),
        &[
            (
                "SOURCELEDGER_SNAPSHOT_STORE",
                "s3://faults/newsroom/snapshots",
            ),
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", "test-key"),
            ("AWS_SECRET_ACCESS_KEY", "test-secret"),
            ("AWS_REGION", "us-east-1"),
            ("SOURCELEDGER_FETCH_PORTS", site_port.as_str()),
        ],
    );
    let base = server.url();
    let staff = Staff::make(&server);
    let vkey = vkey(&server);
    let token = staff.journalist.clone();
    let mut acked = Acknowledged::default();
    let source = request(
        &agent(),
        "POST",
        &format!("{base}/v1/sources"),
        Some(&token),
        Some(&json!({"url": page, "title": "Report", "publisher": "P", "kind": "document", "language": "en"})),
    )
    .expect("source");
    assert_eq!(source.status, 201, "{}", source.text);
    let id = source.body["id"].as_str().expect("id").to_owned();
    let capture = |label: &str| {
        request(
            &agent(),
            "POST",
            &format!("{base}/v1/sources/{id}/capture"),
            Some(&token),
            None,
        )
        .unwrap_or_else(|e| panic!("capture {label}: {e}"))
    };
    let first = capture("with the store up");
    assert_eq!(first.status, 201, "{}", first.text);
    let bytes: Vec<u8> = (0..(6u32 << 20)).map(|i| (i % 251) as u8).collect();
    let (status, uploaded) = upload(&base, &token, &bytes);
    assert_eq!(status, 201, "{uploaded}");
    let sha = uploaded["sha256"].as_str().expect("sha256").to_owned();
    let (status, body, _) = download(&base, &token, &sha);
    assert_eq!((status, body.as_deref() == Some(&bytes[..])), (200, true));

    // Mid-download: the store goes after the first megabyte. The answer
    // had begun, so it cannot become a 503; it must not pass for whole.
    gate.cut_after_down(1 << 20);
    let (status, body, _) = download(&base, &token, &sha);
    assert!(
        !(status == 200 && body.is_some()),
        "a download cut mid-way read as a whole {status}: {:?} bytes",
        body.map(|b| b.len())
    );
    gate.close();

    // Gone: every request that needs it says so, and nothing is kept.
    let (status, body, retry) = download(&base, &token, &sha);
    assert_eq!(
        status,
        503,
        "{:?}",
        body.map(|b| String::from_utf8_lossy(&b).into_owned())
    );
    assert!(retry.is_some(), "a 503 without Retry-After");
    let held = versions(&base, &token, &id);
    set_page(1);
    let refused = capture("with the store gone");
    assert_eq!(refused.status, 503, "{}", refused.text);
    assert_eq!(refused.body["code"], "unavailable", "{}", refused.text);
    assert_eq!(
        versions(&base, &token, &id),
        held,
        "a failed capture recorded a version"
    );
    let (status, said) = upload(&base, &token, &bytes[..1 << 20]);
    assert_eq!(status, 503, "{said}");
    assert!(
        staging_is_empty(&data_dir),
        "a staging file was left behind"
    );

    // Mid-capture: the page is fetched, and the store goes while the
    // capture's payload is being put.
    gate.reopen();
    gate.cut_after_up(256 << 10);
    set_page(2);
    let cut = capture("cut mid-way");
    assert_eq!(cut.status, 503, "{}", cut.text);
    assert_eq!(
        versions(&base, &token, &id),
        held,
        "a cut capture recorded a version"
    );
    assert!(
        staging_is_empty(&data_dir),
        "a staging file was left behind"
    );

    // Back: no restart needed.
    gate.reopen();
    set_page(3);
    let again = capture("with the store back");
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(versions(&base, &token, &id), held + 1);
    let (status, body, _) = download(&base, &token, &sha);
    assert_eq!((status, body.as_deref() == Some(&bytes[..])), (200, true));
    let plain = request(
        &agent(),
        "POST",
        &format!("{base}/v1/sources"),
        Some(&token),
        Some(&json!({"url": "https://source.example/after", "title": "After", "publisher": "P", "kind": "document", "language": "en"})),
    )
    .expect("source");
    assert_eq!(plain.status, 201, "{}", plain.text);
    acked.writes.push(plain.body);
    // Said once as the store went, once as it came back (twice: the cut
    // mid-download, then the cut mid-capture), not once per refusal.
    let gone = log_lines(&log, "the object store is unreachable");
    assert!((1..=3).contains(&gone), "{gone} lines say the store went");
    assert!(log_lines(&log, "the object store answers again") >= 1);
    assert_eq!(log_lines(&log, "panicked"), 0);
    assert_eq!(log_lines(&log, "internal error"), 0, "500s were logged");
    verify_everything(&server, &staff, &acked, &vkey, None, &data_dir);
}
