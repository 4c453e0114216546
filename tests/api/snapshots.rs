//! Archived copies: uploads stored by hash and served safely, captures of a
//! loopback site archived as WARC (read back by warcio when
//! `SOURCELEDGER_TEST_WARC_TOOLS` names a venv with it; CI installs it), and
//! the fetcher refusing every address a user-typed URL must not reach.

use actix_web::test::TestRequest;
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Backend, Reply, TestApp};
use crate::moto::Moto;
use crate::on_both_backends;
use crate::site::HostSite;
use sourceledger::auth::Role;
use sourceledger::config::SnapshotStore;

on_both_backends!(
    uploads_in_files,
    uploads_in_s3,
    captures_in_files,
    captures_in_s3,
    user_typed_urls_never_reach_private_addresses,
    a_captured_type_is_the_one_a_browser_would_read,
    an_archive_url_stays_as_the_newsroom_configured_it,
);

async fn uploads_in_files(backend: Backend) {
    uploads_are_stored_by_hash_and_served_safely(backend, None).await
}

async fn uploads_in_s3(backend: Backend) {
    if let Some(moto) = Moto::start() {
        let store = moto.store("uploads");
        uploads_are_stored_by_hash_and_served_safely(backend, Some(store)).await
    }
}

async fn captures_in_files(backend: Backend) {
    a_capture_is_archived_as_warc_and_recorded(backend, None).await
}

async fn captures_in_s3(backend: Backend) {
    if let Some(moto) = Moto::start() {
        let store = moto.store("captures");
        a_capture_is_archived_as_warc_and_recorded(backend, Some(store)).await
    }
}

async fn put(app: &TestApp, token: Option<&str>, content_type: &str, body: &[u8]) -> Reply {
    let mut req = TestRequest::put()
        .uri("/v1/snapshots")
        .insert_header(("Content-Type", content_type))
        .set_payload(body.to_vec());
    if let Some(token) = token {
        req = req.insert_header(("Authorization", format!("Bearer {token}")));
    }
    app.call(req).await
}

/// A document source at `url`, as a journalist records it.
fn document(url: &str, title: &str) -> Value {
    json!({"url": url, "title": title, "publisher": "Ministry", "kind": "document", "language": "en"})
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Every file under `dir`, recursively.
fn files_under(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                found.extend(files_under(&path));
            } else {
                found.push(path);
            }
        }
    }
    found
}

async fn uploads_are_stored_by_hash_and_served_safely(
    backend: Backend,
    store: Option<SnapshotStore>,
) {
    let app = TestApp::spawn_with(backend, |s| {
        s.archive.max_bytes = 4096;
        if let Some(store) = store {
            s.archive.store = store;
        }
    })
    .await;
    let journalist = app.token_of(Role::Journalist).await;
    let admin = app.admin_token().await;
    let (_, reader) = app.member(&admin, "reader").await;
    let page = b"<html><script>alert(document.cookie)</script>A page saved by hand</html>";
    let sha = sha256_hex(page);

    // Who may upload is settled before the body is looked at.
    put(&app, None, "text/html", page)
        .await
        .assert_problem(401, "unauthorized");
    put(&app, Some(&reader), "text/html", page)
        .await
        .assert_problem(403, "forbidden");

    let stored = put(&app, Some(&journalist), "text/html", page).await;
    assert_eq!(stored.status, 201, "{}", stored.text());
    assert_eq!(
        stored.json(),
        json!({"sha256": sha, "size": page.len(), "content_type": "text/html"})
    );
    let again = put(&app, Some(&journalist), "text/html", page).await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["sha256"], sha);

    // Served to a subscriber as bytes that cannot run in our origin.
    let uri = format!("/v1/snapshots/{sha}");
    let got = app.get_as(&uri, &reader).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, page);
    assert_eq!(got.header("content-type"), Some("text/html"));
    assert_eq!(got.header("content-security-policy"), Some("sandbox"));
    assert_eq!(got.header("x-content-type-options"), Some("nosniff"));
    assert!(
        got.header("content-disposition")
            .is_some_and(|d| d.starts_with("attachment")),
        "{:?}",
        got.header("content-disposition")
    );
    let digest = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(page));
    assert_eq!(
        got.header("repr-digest"),
        Some(format!("sha-256=:{digest}:").as_str())
    );
    let etag = got.header("etag").expect("etag").to_owned();
    assert_eq!(etag, format!("\"{sha}\""));

    // Ranges, conditional requests.
    let ranged = app
        .call(
            TestRequest::get()
                .uri(&uri)
                .insert_header(("Authorization", format!("Bearer {reader}")))
                .insert_header(("Range", "bytes=6-13")),
        )
        .await;
    assert_eq!(ranged.status, 206);
    assert_eq!(ranged.body, &page[6..14]);
    assert_eq!(
        ranged.header("content-range"),
        Some(format!("bytes 6-13/{}", page.len()).as_str())
    );
    assert_eq!(
        ranged.header("repr-digest"),
        got.header("repr-digest"),
        "Repr-Digest is of the whole representation"
    );
    let tail = app
        .call(
            TestRequest::get()
                .uri(&uri)
                .insert_header(("Authorization", format!("Bearer {reader}")))
                .insert_header(("Range", "bytes=-5")),
        )
        .await;
    assert_eq!(tail.body, &page[page.len() - 5..]);
    let past = app
        .call(
            TestRequest::get()
                .uri(&uri)
                .insert_header(("Authorization", format!("Bearer {reader}")))
                .insert_header(("Range", "bytes=5000-6000")),
        )
        .await;
    past.assert_problem(416, "range_not_satisfiable");
    let cached = app
        .call(
            TestRequest::get()
                .uri(&uri)
                .insert_header(("Authorization", format!("Bearer {reader}")))
                .insert_header(("If-None-Match", etag.as_str())),
        )
        .await;
    assert_eq!(cached.status, 304);

    // An image is shown, not downloaded; still sandboxed.
    let png = b"\x89PNG\r\n\x1a\nnot really an image";
    let image = put(&app, Some(&journalist), "image/png", png).await;
    assert_eq!(image.status, 201);
    let shown = app
        .get_as(&format!("/v1/snapshots/{}", sha256_hex(png)), &reader)
        .await;
    assert_eq!(shown.header("content-disposition"), None);
    assert_eq!(shown.header("content-security-policy"), Some("sandbox"));
    for (content_type, bytes) in [
        ("image/svg+xml", &b"<svg onload='alert(1)'/>"[..]),
        ("application/javascript", b"alert(1)"),
        ("application/xml", b"<x/>"),
        // A browser takes the last type of a list: these are HTML to it.
        ("text/plain;,text/html", b"<script>alert(2)</script>"),
        ("image/png;,text/html", b"<script>alert(3)</script>"),
    ] {
        put(&app, Some(&journalist), content_type, bytes).await;
        let served = app
            .get_as(&format!("/v1/snapshots/{}", sha256_hex(bytes)), &reader)
            .await;
        assert!(
            served
                .header("content-disposition")
                .is_some_and(|d| d.starts_with("attachment")),
            "{content_type} is not an attachment"
        );
    }

    // Refusals: anonymous, unknown, malformed, no WARC for an upload.
    app.get(&uri).await.assert_problem(401, "unauthorized");
    app.get_as(&format!("/v1/snapshots/{}", "0".repeat(64)), &reader)
        .await
        .assert_problem(404, "not_found");
    app.get_as("/v1/snapshots/XYZ", &reader)
        .await
        .assert_problem(400, "invalid_path");
    app.get_as(&format!("{uri}?format=warc"), &reader)
        .await
        .assert_problem(404, "not_found");
    app.get_as(&format!("{uri}?format=zip"), &reader)
        .await
        .assert_problem(400, "invalid_query");
    put(&app, Some(&journalist), "not a type", b"x")
        .await
        .assert_problem(400, "invalid_field");
    put(&app, Some(&journalist), "text/plain", b"")
        .await
        .assert_problem(400, "invalid_body");

    // Over the cap: 413, nothing stored, nothing left half written.
    let big = vec![b'x'; 5000];
    put(&app, Some(&journalist), "application/octet-stream", &big)
        .await
        .assert_problem(413, "payload_too_large");
    assert_eq!(
        app.state
            .archive
            .store
            .size(&sha256_hex(&big))
            .await
            .expect("store"),
        None
    );
    assert_eq!(
        app.state.archive.store.size(&sha).await.expect("store"),
        Some(page.len() as u64)
    );
    assert!(files_under(&app.data_dir.join("snapshots/staging")).is_empty());
    app.get_as(&format!("/v1/snapshots/{}", sha256_hex(&big)), &reader)
        .await
        .assert_problem(404, "not_found");
}

/// warcio's reading of a WARC file: every record with its digests checked.
fn warcio(warc: &[u8]) -> Option<Vec<Value>> {
    let tools = std::env::var_os("SOURCELEDGER_TEST_WARC_TOOLS");
    let Some(tools) = tools else {
        assert!(
            std::env::var_os("SOURCELEDGER_TEST_REQUIRE_WARC_TOOLS").is_none(),
            "SOURCELEDGER_TEST_REQUIRE_WARC_TOOLS is set but SOURCELEDGER_TEST_WARC_TOOLS is not"
        );
        eprintln!("SKIPPED: warcio (set SOURCELEDGER_TEST_WARC_TOOLS)");
        return None;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("capture.warc");
    std::fs::write(&file, warc).expect("write");
    let read = |file: &std::path::Path| {
        std::process::Command::new(std::path::Path::new(&tools).join("bin/python"))
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/archive/read_warc.py"
            ))
            .arg(file)
            .output()
            .expect("python")
    };
    let out = read(&file);
    assert!(
        out.status.success(),
        "warcio refused the WARC: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The check has teeth: one payload byte changed, warcio refuses the file.
    let mut tampered = warc.to_vec();
    let at = tampered
        .windows(6)
        .rposition(|w| w == b"Budget")
        .expect("payload in the WARC");
    tampered[at] = b'F';
    std::fs::write(&file, &tampered).expect("write");
    let refused = read(&file);
    assert!(
        !refused.status.success(),
        "warcio accepted a WARC with a changed payload"
    );
    Some(serde_json::from_slice(&out.stdout).expect("read_warc.py's JSON"))
}

async fn a_capture_is_archived_as_warc_and_recorded(
    backend: Backend,
    store: Option<SnapshotStore>,
) {
    let app = TestApp::spawn_with(backend, |s| {
        if let Some(store) = store {
            s.archive.store = store;
        }
    })
    .await;
    let journalist = app.token_of(Role::Journalist).await;
    let admin = app.admin_token().await;
    let (_, reader) = app.member(&admin, "reader").await;
    let site = HostSite::start();
    let body = "<html><body><h1>Budget 2026</h1><p>Spending rose 4%.</p></body></html>";
    let page = site.page("/report", "", body.to_owned());
    let moved = site.answer(
        "/old-report",
        301,
        vec![("Location".into(), "/report".into())],
        b"moved".to_vec(),
    );
    let source = app
        .record_source(&journalist, document(&moved, "Budget"))
        .await;
    let id = source["id"].as_str().expect("id").to_owned();

    let before = app.ledger_size();
    let captured = app
        .post_as(&format!("/v1/sources/{id}/capture"), &journalist, json!({}))
        .await;
    assert_eq!(captured.status, 201, "{}", captured.text());
    let version = captured.json();
    let sha = sha256_hex(body.as_bytes());
    assert_eq!(version["version"], 2);
    assert_eq!(version["snapshot_sha256"], sha);
    assert_eq!(version["url"], moved, "the source's URL is kept");
    assert!(
        version["archive_url"]
            .as_str()
            .is_some_and(|u| u.ends_with(&format!("/v1/snapshots/{sha}"))),
        "{version}"
    );
    assert!(version["captured_at"].is_string());
    assert_eq!(app.ledger_size(), before + 1, "one entry for the capture");
    let entry = app
        .get_as(
            &format!(
                "/v1/ledger/entries/{}",
                version["ledger_index"].as_i64().expect("index")
            ),
            &reader,
        )
        .await
        .json();
    assert_eq!(entry["kind"], "source.captured");
    let leaf: Value = serde_json::from_str(entry["leaf"].as_str().expect("leaf")).expect("leaf");
    assert_eq!(leaf["record"]["snapshot_sha256"], sha);
    assert_eq!(leaf["record"]["captured_at"], version["captured_at"]);

    // The payload is the body; the WARC is the whole exchange.
    let payload = app.get_as(&format!("/v1/snapshots/{sha}"), &reader).await;
    assert_eq!(payload.status, 200);
    assert_eq!(payload.body, body.as_bytes());
    let warc = app
        .get_as(&format!("/v1/snapshots/{sha}?format=warc"), &reader)
        .await;
    assert_eq!(warc.status, 200);
    assert_eq!(warc.header("content-type"), Some("application/warc"));
    let warc_again = app
        .get_as(&format!("/v1/snapshots/{sha}?format=warc"), &reader)
        .await;
    assert_eq!(
        warc.body, warc_again.body,
        "the WARC is stored, not rebuilt"
    );
    if let Some(records) = warcio(&warc.body) {
        let kinds: Vec<&str> = records
            .iter()
            .map(|r| r["type"].as_str().expect("type"))
            .collect();
        assert_eq!(
            kinds,
            ["warcinfo", "request", "response", "request", "response"]
        );
        assert_eq!(records[2]["uri"], moved);
        assert_eq!(records[2]["status"], "301");
        assert_eq!(records[4]["uri"], page);
        assert_eq!(records[4]["status"], "200");
        assert_eq!(records[4]["payload_sha256"], sha);
        assert_eq!(
            records[4]["payload_digest"],
            format!(
                "sha256:{}",
                data_encoding::BASE32.encode(&Sha256::digest(body.as_bytes()))
            )
        );
    }

    // The same bytes captured again: the same hash, a new dated version.
    let again = app
        .post_as(&format!("/v1/sources/{id}/capture"), &journalist, json!({}))
        .await;
    assert_eq!(again.status, 201, "{}", again.text());
    assert_eq!(again.json()["snapshot_sha256"], sha);
    assert_eq!(again.json()["version"], 3);

    // A page that is gone: nothing archived, nothing recorded.
    site.answer("/report", 404, vec![], b"gone".to_vec());
    let size = app.ledger_size();
    app.post_as(&format!("/v1/sources/{id}/capture"), &journalist, json!({}))
        .await
        .assert_problem(422, "capture_failed");
    assert_eq!(app.ledger_size(), size);

    // Subscribers may not capture.
    app.post_as(&format!("/v1/sources/{id}/capture"), &reader, json!({}))
        .await
        .assert_problem(403, "forbidden");

    // The audit re-derives every record, captures included, from the rows.
    let audit = app.post_as("/v1/audit/verify", &admin, json!({})).await;
    assert_eq!(audit.status, 200, "{}", audit.text());
    assert_eq!(audit.json()["ok"], true, "{}", audit.text());
}

async fn user_typed_urls_never_reach_private_addresses(backend: Backend) {
    // Only 127.0.0.3 is allowed here (no name resolves to it), for the
    // redirect tests below; 127.0.0.1 and 127.0.0.2 have listeners that must
    // never see a connection.
    let site = HostSite::start_on("127.0.0.3");
    let local = HostSite::start();
    let port = local.origin.rsplit(':').next().expect("port").to_owned();
    let app = TestApp::spawn_with(backend, |s| {
        s.fetch_allow = vec!["127.0.0.3/32".parse().expect("cidr")];
    })
    .await;
    let journalist = app.token_of(Role::Journalist).await;
    let forbidden = HostSite::start_on("127.0.0.2");
    let forbidden_port = forbidden.origin.rsplit(':').next().expect("port");
    let capture = |url: String| {
        let app = &app;
        let journalist = journalist.clone();
        async move {
            let source = app.record_source(&journalist, document(&url, "T")).await;
            let id = source["id"].as_str().expect("id").to_owned();
            app.post_as(&format!("/v1/sources/{id}/capture"), &journalist, json!({}))
                .await
        }
    };
    let size = app.ledger_size();
    for (url, why) in [
        (format!("http://127.0.0.1:{port}/"), "loopback"),
        (format!("http://127.0.0.2:{forbidden_port}/"), "loopback"),
        (format!("http://[::1]:{port}/"), "loopback"),
        (
            "http://169.254.169.254/latest/meta-data/".into(),
            "link-local",
        ),
        ("http://10.0.0.1/".into(), "private"),
        ("http://0.0.0.0/".into(), "unspecified"),
        ("http://2130706434/".into(), "loopback"),
        ("http://[::ffff:127.0.0.2]/".into(), "IPv4-mapped"),
        (format!("http://localhost:{port}/"), "loopback"),
        ("http://100.64.1.1/".into(), "CGNAT"),
        ("http://[fd00::1]/".into(), "private"),
        ("http://224.0.0.1/".into(), "multicast"),
    ] {
        let refused = capture(url.clone()).await;
        let problem = refused.assert_problem(422, "fetch_refused");
        let detail = problem["detail"].as_str().expect("detail");
        // Only that it is not public: neither the address a name resolved
        // to nor what kind of network it is (the server's log says that).
        assert!(
            detail.contains("is not a public address"),
            "{url}: {detail}"
        );
        assert!(!detail.contains(why), "{url} names {why}: {detail}");
        if url.contains("localhost") {
            assert!(!detail.contains("127.0.0.1"), "{url}: {detail}");
        }
    }
    assert_eq!(forbidden.hits(), 0, "a forbidden address was connected to");
    assert_eq!(local.hits(), 0, "a forbidden address was connected to");

    // An allowed site that redirects to a forbidden one: refused at the hop.
    let redirect = site.answer(
        "/jump",
        302,
        vec![(
            "Location".into(),
            format!("http://127.0.0.2:{forbidden_port}/secret"),
        )],
        vec![],
    );
    let refused = capture(redirect).await;
    let problem = refused.assert_problem(422, "fetch_refused");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("127.0.0.2")),
        "{problem}"
    );
    let to_metadata = site.answer(
        "/meta",
        302,
        vec![(
            "Location".into(),
            "http://169.254.169.254/latest/meta-data/".into(),
        )],
        vec![],
    );
    capture(to_metadata)
        .await
        .assert_problem(422, "fetch_refused");
    assert_eq!(forbidden.hits() + local.hits(), 0);
    assert_eq!(
        app.ledger_size(),
        size + 14,
        "only the sources were recorded, no capture"
    );

    // Other schemes cannot be recorded, and the fetcher refuses them anyway.
    let fetcher =
        sourceledger::outbound::Fetcher::new(vec![], vec![80, 443], "http://sourceledger.test");
    let limits = sourceledger::outbound::CaptureLimits {
        connect: std::time::Duration::from_secs(2),
        first_byte: std::time::Duration::from_secs(2),
        total: std::time::Duration::from_secs(5),
        max_bytes: 1024,
        max_redirects: 5,
    };
    for url in [
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/",
        "ftp://127.0.0.1/",
    ] {
        app.post_as("/v1/sources", &journalist, document(url, "T"))
            .await
            .assert_problem(400, "invalid_field");
        match fetcher.capture(url, limits, &mut Vec::new()) {
            Err(sourceledger::outbound::FetchError::BadUrl(why)) => {
                assert!(why.contains("only http and https"), "{why}")
            }
            other => panic!("{url}: {other:?}"),
        }
    }
    // A public address on a port the operator did not allow: refused before
    // any connection.
    match fetcher.capture("https://93.184.216.34:8443/", limits, &mut Vec::new()) {
        Err(sourceledger::outbound::FetchError::Refused(why)) => {
            assert!(why.contains("SOURCELEDGER_FETCH_PORTS"), "{why}")
        }
        other => panic!("port: {other:?}"),
    }
}

on_both_backends!(a_killed_upload_leaves_nothing_behind);

/// Writes a PUT /v1/snapshots head to a server process, raw.
fn raw_upload(base: &str, token: &str, framing: &str) -> std::net::TcpStream {
    use std::io::Write;
    let address = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    // A server that answered early and stopped reading must not hang the test.
    let limit = Some(std::time::Duration::from_secs(10));
    stream.set_write_timeout(limit).expect("write timeout");
    stream.set_read_timeout(limit).expect("read timeout");
    write!(
        stream,
        "PUT /v1/snapshots HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/pdf\r\n{framing}\r\n"
    )
    .expect("head");
    stream
}

async fn a_killed_upload_leaves_nothing_behind(backend: Backend) {
    use crate::process::{ServerProcess, agent, key_token, token_for};
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = match &backend {
        Backend::Sqlite => None,
        Backend::Postgres(db) => Some(db.url.clone()),
    };
    let mut server = ServerProcess::start_with(
        dir.path(),
        database_url.as_deref(),
        None,
        &[("SOURCELEDGER_SNAPSHOT_MAX_BYTES", "8388608")],
    );
    let base = server.url();
    let http = agent();
    let admin = token_for(&http, &base, &server.bootstrap_key());
    let journalist = key_token(&http, &base, &admin, "journalist");
    let size_before = crate::process::request(
        &http,
        "GET",
        &format!("{base}/v1/ledger/checkpoint"),
        None,
        None,
    )
    .expect("checkpoint")
    .text;

    // Chunked, with no length to check first: refused when the cap is passed.
    let mut stream = raw_upload(&base, &journalist, "Transfer-Encoding: chunked\r\n");
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..9 {
        if write!(stream, "{:x}\r\n", chunk.len()).is_err()
            || stream.write_all(&chunk).is_err()
            || stream.write_all(b"\r\n").is_err()
        {
            break; // the server answered and closed
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    // The answer's head; the server may keep the connection open after it.
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
        }
    }
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");

    // Killed in the middle of a large upload.
    let mut stream = raw_upload(&base, &journalist, "Content-Length: 8000000\r\n");
    let part = vec![b'b'; 1 << 20];
    for _ in 0..5 {
        stream.write_all(&part).expect("send");
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let staging = dir.path().join("snapshots/staging");
    assert!(
        !files_under(&staging).is_empty(),
        "the upload was not being staged when the server was killed"
    );
    server.kill();
    drop(stream);
    server.restart();
    assert!(
        files_under(&staging).is_empty(),
        "a half-written upload survived"
    );
    assert!(
        files_under(&dir.path().join("snapshots/blobs")).is_empty(),
        "a blob was stored"
    );
    let size_after = crate::process::request(
        &http,
        "GET",
        &format!("{}/v1/ledger/checkpoint", server.url()),
        None,
        None,
    )
    .expect("checkpoint")
    .text;
    assert_eq!(
        size_before.lines().nth(1),
        size_after.lines().nth(1),
        "the ledger grew"
    );
}

on_both_backends!(new_sources_are_captured_when_the_newsroom_asks);

async fn new_sources_are_captured_when_the_newsroom_asks(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.archive.capture_on_record = true).await;
    let journalist = app.token_of(Role::Journalist).await;
    let site = HostSite::start();
    let body = "<p>An official statement.</p>";
    let page = site.page("/statement", "", body.to_owned());
    let source = app
        .post_as(
            "/v1/sources",
            &journalist,
            json!({"url": page, "title": "Statement", "publisher": "Ministry", "kind": "official_statement", "language": "en"}),
        )
        .await;
    assert_eq!(source.status, 201, "{}", source.text());
    assert_eq!(source.json()["version"], 1, "answered before the capture");
    let id = source.json()["id"].as_str().expect("id").to_owned();
    let started = std::time::Instant::now();
    let captured = loop {
        let latest = app
            .get_as(&format!("/v1/sources/{id}"), &journalist)
            .await
            .json();
        if latest["version"] == 2 {
            break latest;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "not captured within 10 s: {latest}"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(captured["snapshot_sha256"], sha256_hex(body.as_bytes()));
    assert_eq!(captured["recorded_by"], source.json()["recorded_by"]);
}

/// Captures source `id` as `token`: the new version (201) and its snapshot's hash.
async fn capture(app: &TestApp, token: &str, id: &str) -> (Value, String) {
    let captured = app
        .post_as(&format!("/v1/sources/{id}/capture"), token, json!({}))
        .await;
    assert_eq!(captured.status, 201, "{}", captured.text());
    let version = captured.json();
    let sha = version["snapshot_sha256"]
        .as_str()
        .expect("snapshot")
        .to_owned();
    (version, sha)
}

/// A page whose `Content-Type` lists a harmless type before `text/html`: the
/// capture stores the type a browser would read (the last), and the snapshot
/// is served as that one type, as an attachment.
async fn a_captured_type_is_the_one_a_browser_would_read(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let journalist = app.token_of(Role::Journalist).await;
    let admin = app.admin_token().await;
    let (_, reader) = app.member(&admin, "reader").await;
    let site = HostSite::start();
    for (i, header) in ["text/plain;,text/html", "image/png;,text/html", "text/html"]
        .into_iter()
        .enumerate()
    {
        let body = format!("<script>alert({i})</script>");
        let url = site.answer(
            &format!("/page{i}"),
            200,
            vec![("Content-Type".into(), header.into())],
            body.clone().into_bytes(),
        );
        let source = app.record_source(&journalist, document(&url, "T")).await;
        let id = source["id"].as_str().expect("id");
        let (_, sha) = capture(&app, &journalist, id).await;
        let served = app.get_as(&format!("/v1/snapshots/{sha}"), &reader).await;
        assert_eq!(served.status, 200);
        assert_eq!(served.header("content-type"), Some("text/html"), "{header}");
        assert!(
            served
                .header("content-disposition")
                .is_some_and(|d| d.starts_with("attachment")),
            "{header} is served inline"
        );
        assert_eq!(served.header("x-content-type-options"), Some("nosniff"));
    }
}

/// A capture's `archive_url` is the public URL as the operator wrote it (not
/// normalised): it is what the version's record was hashed over, so it reads
/// back byte for byte and the audit finds the record unchanged.
async fn an_archive_url_stays_as_the_newsroom_configured_it(backend: Backend) {
    let public_url = "http://LEDGER.Example:80";
    let app = TestApp::spawn_with(backend, |s| s.public_url = public_url.into()).await;
    let journalist = app.token_of(Role::Journalist).await;
    let auditor = app.token_of(Role::Auditor).await;
    let site = HostSite::start();
    let page = site.page("/statement", "", "<p>An official statement.</p>".to_owned());
    let source = app.record_source(&journalist, document(&page, "T")).await;
    let id = source["id"].as_str().expect("id");
    let (version, sha) = capture(&app, &journalist, id).await;
    let expected = format!("{public_url}/v1/snapshots/{sha}");
    assert_eq!(version["archive_url"], expected.as_str());
    let read = app.get_as(&format!("/v1/sources/{id}"), &journalist).await;
    assert_eq!(read.json()["archive_url"], expected.as_str());
    let audit = app
        .post_as("/v1/audit/verify", &auditor, json!({}))
        .await
        .json();
    assert_eq!(audit["ok"], true, "{audit}");
}
