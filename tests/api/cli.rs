//! The `sourceledger` binary itself, run as an operator would.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_sourceledger");

fn sourceledger(data_dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("SOURCELEDGER_DATA_DIR", data_dir)
        .env("RUST_LOG", "info");
    cmd
}

#[test]
fn openapi_subcommand_prints_the_committed_spec() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = sourceledger(dir.path())
        .arg("openapi")
        .output()
        .expect("run");
    assert!(out.status.success());
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .expect("committed spec");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        committed.trim_end()
    );
}

#[test]
fn keys_create_prints_a_new_key_once_and_never_logs_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = sourceledger(dir.path())
        .args([
            "keys",
            "create",
            "--role",
            "journalist",
            "--name",
            "Ana Reporter",
        ])
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = String::from_utf8(out.stdout).expect("utf8");
    let key = key.trim();
    assert!(key.starts_with("sl_"), "{key}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains(key), "the key reached the log: {stderr}");

    let bad = sourceledger(dir.path())
        .args(["keys", "create", "--role", "wizard", "--name", "x"])
        .output()
        .expect("run");
    assert!(!bad.status.success());
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

#[test]
fn serve_answers_and_stops_gracefully_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    let port = free_port();
    let mut child = sourceledger(&data_dir)
        .env("SOURCELEDGER_BIND", format!("127.0.0.1:{port}"))
        .arg("serve")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(30);
    let health = loop {
        if let Some(r) = http_get(port, "/healthz") {
            break r;
        }
        assert!(Instant::now() < deadline, "the server did not come up");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let ready = http_get(port, "/readyz").expect("readyz");
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    assert!(data_dir.join("sourceledger.db").exists());

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let exit = child.wait().expect("wait");
    assert!(exit.success(), "exit status {exit:?}");

    let mut log = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut log)
        .expect("read log");
    let key = std::fs::read_to_string(data_dir.join("bootstrap-admin.key")).expect("key file");
    assert!(
        log.contains("bootstrap-admin.key"),
        "the log names the file: {log}"
    );
    assert!(!log.contains(key.trim()), "the key reached the log");
    let skey = std::fs::read_to_string(data_dir.join("ledger.key")).expect("ledger key");
    assert!(!log.contains(skey.trim()));
    assert!(
        log.contains("path=\"/healthz\"") || log.contains("path=/healthz"),
        "{log}"
    );
}

/// `sourceledger platforms add/list/remove`, as an operator sets up Ghost.
#[test]
fn platforms_are_managed_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |args: &[&str]| {
        sourceledger(dir.path())
            .env("SOURCELEDGER_PUBLIC_URL", "https://ledger.news.example")
            .args(args)
            .output()
            .expect("run")
    };
    let added = run(&[
        "platforms",
        "add",
        r#"{"kind": "ghost", "name": "Our Ghost", "site": "https://news.example"}"#,
    ]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&added.stdout).expect("json");
    let id = answer["id"].as_str().expect("id");
    let secret = answer["webhook_secret"].as_str().expect("secret");
    assert_eq!(
        answer["webhook_url"],
        format!("https://ledger.news.example/v1/webhooks/{id}")
    );
    assert!(
        !String::from_utf8_lossy(&added.stderr).contains(secret),
        "the secret was logged"
    );

    let listed = run(&["platforms", "list"]);
    assert!(listed.status.success());
    let text = String::from_utf8_lossy(&listed.stdout);
    assert!(
        text.contains("https://news.example/members/api") && !text.contains(secret),
        "{text}"
    );

    let refused = run(&[
        "platforms",
        "add",
        r#"{"kind": "ghost", "name": "x", "site": "ftp://x"}"#,
    ]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("site"));

    assert!(run(&["platforms", "remove", id]).status.success());
    assert!(!run(&["platforms", "remove", id]).status.success());
}
