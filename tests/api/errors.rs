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
    use std::time::Duration;

    let dir = tempfile::tempdir().expect("tempdir");
    let log_path = dir.path().join("server.log");
    let mut server = crate::process::ServerProcess::start_with_log(
        &dir.path().join("data"),
        None,
        Some(&log_path),
    );
    let port = server.port;
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
    server.kill();
    let log = std::fs::read_to_string(&log_path).expect("read log");
    assert!(
        log.contains("connection closed by the HTTP layer"),
        "the refusals are logged: {log}"
    );
    let errors: Vec<&str> = log.lines().filter(|l| l.contains(" ERROR ")).collect();
    assert!(errors.is_empty(), "ERROR lines: {errors:#?}");
}
