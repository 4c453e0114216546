use actix_web::test::TestRequest;
use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    unknown_path_is_a_pinned_404,
    wrong_method_is_a_405_with_allow
);

async fn unknown_path_is_a_pinned_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let reply = app.get("/no/such/thing").await;
    reply.assert_problem(404, "not_found");
    assert_eq!(
        reply.json(),
        json!({
            "type": "urn:sourceledger:problem:not_found",
            "title": "Not Found",
            "status": 404,
            "detail": "no such resource: /no/such/thing",
            "code": "not_found"
        })
    );
}

async fn wrong_method_is_a_405_with_allow(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let reply = app.call(TestRequest::delete().uri("/healthz")).await;
    assert_eq!(
        reply.assert_problem(405, "method_not_allowed")["detail"],
        "DELETE is not allowed here; allowed: GET"
    );
    assert_eq!(reply.header("allow"), Some("GET"));
}

/// Requests actix-http refuses before the application runs (a head over its
/// buffer, a URI over the `http` crate's limit) are the client's fault: they
/// must not flood the log with ERROR lines.
#[test]
fn requests_refused_by_the_http_layer_log_no_errors() {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};

    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let log_path = dir.path().join("server.log");
    let log = std::fs::File::create(&log_path).expect("log file");
    let mut server = Command::new(env!("CARGO_BIN_EXE_sourceledger"))
        .arg("serve")
        .env("SOURCELEDGER_DATA_DIR", dir.path().join("data"))
        .env("SOURCELEDGER_BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("serve");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let exchange = |raw: Vec<u8>| {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        stream.write_all(&raw).expect("send");
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    };
    let mut big_header = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ".to_vec();
    big_header.extend(vec![b'a'; 200 * 1024]);
    big_header.extend(b"\r\n\r\n");
    let mut long_path = b"GET /".to_vec();
    long_path.extend(vec![b'a'; 100 * 1024]);
    long_path.extend(b" HTTP/1.1\r\nHost: x\r\n\r\n");
    for _ in 0..3 {
        assert!(exchange(big_header.clone()).starts_with("HTTP/1.1 431"));
        assert!(exchange(long_path.clone()).starts_with("HTTP/1.1 400"));
    }
    let _ = server.kill();
    let _ = server.wait();
    let log = std::fs::read_to_string(&log_path).expect("read log");
    assert!(
        log.contains("connection closed by the HTTP layer"),
        "the refusals are logged: {log}"
    );
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR ")).collect();
    assert!(errors.is_empty(), "ERROR lines: {errors:#?}");
}
