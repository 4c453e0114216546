//! `sourceledger verify`, run as a reader would: offline on a saved list, and
//! online against live servers, one of which has forked the log.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use actix_web::test::TestRequest;
use diesel::prelude::*;
use serde_json::{Value, json};
use sourceledger::auth::Role;
use sourceledger::auth::token::{Claims, Subject};
use sourceledger::db::schema::api_keys;

use crate::helpers::{Backend, TestApp, append_entries, call, settings_for, start};

const BIN: &str = env!("CARGO_BIN_EXE_sourceledger");

fn verify(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("verify")
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run verify")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[actix_web::test]
async fn offline_verification_of_a_saved_source_list() {
    let app = TestApp::spawn(Backend::sqlite()).await;
    let j = app.token_of(Role::Journalist).await;
    let e = app.token_of(Role::Editor).await;
    app.post_as("/v1/articles", &j, json!({"slug": "saved", "title": "S", "url": "https://n.example/s", "language": "en", "authors": ["A"]}))
        .await;
    let mut citations = Vec::new();
    for n in 0..3 {
        let src = app
            .post_as("/v1/sources", &j, json!({"url": format!("https://src{n}.example/"), "title": format!("Source {n}"), "publisher": "P", "kind": "dataset", "language": "en"}))
            .await
            .json();
        citations
            .push(json!({"source_id": src["id"], "claim": format!("claim {n}"), "locator": "p"}));
    }
    let cited = app
        .post_as(
            "/v1/articles/saved/citations",
            &j,
            json!({"citations": citations}),
        )
        .await
        .json();
    let retract = cited["citations"][2]["id"].as_str().expect("id");
    app.post_as(
        &format!("/v1/citations/{retract}/retract"),
        &e,
        json!({"reason": "wrong"}),
    )
    .await;
    app.post_as("/v1/articles/saved/publish", &e, json!({}))
        .await;
    let list = app.get_as("/v1/articles/saved/sources", &j).await.json();

    let dir = tempfile::tempdir().expect("tempdir");
    let vkey_file = dir.path().join("publisher.vkey");
    std::fs::write(&vkey_file, app.state.ledger.vkey()).expect("write vkey");
    let vkey = vkey_file.to_str().expect("path");
    let save = |name: &str, value: &Value| -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, serde_json::to_vec_pretty(value).expect("json")).expect("write");
        path
    };

    let good = save("good.json", &list);
    let out = verify(&["--vkey", vkey, good.to_str().expect("path")]);
    assert!(out.status.success(), "{}", text(&out));
    let report = text(&out);
    assert!(
        report.contains("https://src0.example/") && report.contains("retracted"),
        "{report}"
    );
    // The vkey inline works the same.
    assert!(
        verify(&[
            "--vkey",
            app.state.ledger.vkey(),
            good.to_str().expect("path")
        ])
        .status
        .success()
    );

    let mut changed = list.clone();
    changed["citations"][1]["source"]["url"] = json!("https://evil.example/");
    let out = verify(&[
        "--vkey",
        vkey,
        save("url.json", &changed).to_str().expect("path"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("url shown as"), "{}", text(&out));

    let mut changed = list.clone();
    changed["retracted"][0]["retraction_reason"] = Value::Null;
    assert_eq!(
        verify(&[
            "--vkey",
            vkey,
            save("reason.json", &changed).to_str().expect("path")
        ])
        .status
        .code(),
        Some(1)
    );

    let mut changed = list.clone();
    let hash = changed["citations"][0]["proof"]["source"]["proof"][0]
        .as_str()
        .expect("hash")
        .to_owned();
    changed["citations"][0]["proof"]["source"]["proof"][0] = json!(format!(
        "{}{}",
        if hash.starts_with('0') { "1" } else { "0" },
        &hash[1..]
    ));
    assert_eq!(
        verify(&[
            "--vkey",
            vkey,
            save("proof.json", &changed).to_str().expect("path")
        ])
        .status
        .code(),
        Some(1)
    );

    // Fields the server derives from entries must match them too.
    for (path, value) in [
        (
            &["citations", "0", "attached_by"][..],
            json!("editor:someone else"),
        ),
        (&["citations", "1", "ledger_index"][..], json!(0)),
        (
            &["citations", "0", "source", "recorded_at"][..],
            json!("2020-01-01T00:00:00.000000Z"),
        ),
        (
            &["article", "updated_at"][..],
            json!("2020-01-01T00:00:00.000000Z"),
        ),
        (&["retracted"][..], json!({"not": "a list"})),
    ] {
        let mut changed = list.clone();
        let mut at = &mut changed;
        for key in path {
            at = match key.parse::<usize>() {
                Ok(i) => &mut at[i],
                Err(_) => &mut at[*key],
            };
        }
        *at = value;
        let out = verify(&[
            "--vkey",
            vkey,
            save("derived.json", &changed).to_str().expect("path"),
        ]);
        assert_eq!(out.status.code(), Some(1), "{path:?}: {}", text(&out));
    }

    let (other, _) =
        signed_note::generate_key(&mut rand::rngs::OsRng, "test.sourceledger.example/ledger");
    let other_vkey = sourceledger::secrets::LedgerKey::from_signer_key(&other)
        .expect("key")
        .verifier_key()
        .to_owned();
    assert_eq!(
        verify(&["--vkey", &other_vkey, good.to_str().expect("path")])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        verify(&["--vkey", "not a key", good.to_str().expect("path")])
            .status
            .code(),
        Some(2)
    );
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

struct Server(Child, u16);

impl Server {
    fn start(data_dir: &Path) -> Server {
        let port = free_port();
        let child = Command::new(BIN)
            .arg("serve")
            .env("SOURCELEDGER_DATA_DIR", data_dir)
            .env("SOURCELEDGER_BIND", format!("127.0.0.1:{port}"))
            .env("SOURCELEDGER_ORIGIN", "test.sourceledger.example/ledger")
            .env("SOURCELEDGER_RATE_LIMIT_ANON", "0")
            .env("SOURCELEDGER_RATE_LIMIT_TOKEN", "0")
            // The test counts the log's entries: no link monitor adding any.
            .env("SOURCELEDGER_LINK_CHECK_INTERVAL", "0")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("serve");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Server(child, port)
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.1)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &to.join(entry.file_name()));
        } else {
            std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
        }
    }
}

/// Opens the data dir in process, runs `work`, and closes it again.
async fn with_data_dir<T>(
    data_dir: &Path,
    work: impl FnOnce(&sourceledger::startup::AppState) -> T,
) -> T {
    let (_, state) = start(settings_for(&Backend::sqlite(), data_dir)).await;
    work(&state)
}

#[actix_web::test]
async fn online_verification_refuses_a_forked_or_rolled_back_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = dir.path().join("base");

    // A log with an article, then the admin's token (the copies share the secret).
    let (app, state) = start(settings_for(&Backend::sqlite(), &base)).await;
    append_entries(&state, 40, "common");
    let token = {
        let mut conn = state.db.get().expect("conn");
        let id: String = api_keys::table
            .select(api_keys::id)
            .first(&mut *conn)
            .expect("bootstrap key");
        let claims = Claims::new(
            state.tokens.issuer(),
            &Subject::ApiKey(id),
            Role::Admin,
            "bootstrap-admin",
            3600,
        );
        state.tokens.mint(&claims).expect("token")
    };
    let auth = |req: TestRequest| req.insert_header(("Authorization", format!("Bearer {token}")));
    call(&app, auth(TestRequest::post().uri("/v1/articles").set_json(json!({"slug": "fork", "title": "F", "url": "https://n.example/f", "language": "en", "authors": ["A"]})))).await;
    let src = call(&app, auth(TestRequest::post().uri("/v1/sources").set_json(json!({"url": "https://s.example/", "title": "S", "publisher": "P", "kind": "other", "language": "en"})))).await.json();
    call(
        &app,
        auth(
            TestRequest::post()
                .uri("/v1/articles/fork/citations")
                .set_json(json!({"source_id": src["id"], "claim": "c", "locator": "l"})),
        ),
    )
    .await;
    call(
        &app,
        auth(TestRequest::post().uri("/v1/articles/fork/publish")),
    )
    .await;
    let vkey = state.ledger.vkey().to_owned();
    drop((app, state));

    let honest = dir.path().join("honest");
    let forked = dir.path().join("forked");
    let old = dir.path().join("old");
    copy_dir(&base, &honest);
    copy_dir(&base, &forked);
    copy_dir(&base, &old);
    with_data_dir(&honest, |s| append_entries(s, 7, "honest branch")).await;
    with_data_dir(&forked, |s| append_entries(s, 7, "forked branch")).await;

    let state_file = dir.path().join("reader.state");
    let state_arg = state_file.to_str().expect("path");
    let run = |server: &Server, extra: &[&str]| {
        let url = server.url();
        let mut args = vec![
            "--vkey", &vkey, "--url", &url, "--token", &token, "--state", state_arg,
        ];
        args.extend_from_slice(extra);
        verify(&args)
    };

    let server = Server::start(&honest);
    let out = run(&server, &["--all"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("all 51 leaves re-hashed"),
        "{}",
        text(&out)
    );
    let out = run(&server, &["--article", "fork"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("consistent with the checkpoint accepted before (51 entries)"),
        "{}",
        text(&out)
    );
    drop(server);
    let accepted: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).expect("state")).expect("json");
    assert_eq!(
        accepted["checkpoints"]["test.sourceledger.example/ledger"]["size"],
        51
    );

    let server = Server::start(&forked);
    let out = run(&server, &["--all"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("forked or rewritten"), "{}", text(&out));
    drop(server);

    let server = Server::start(&old);
    let out = run(&server, &["--article", "fork"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("rolled back"), "{}", text(&out));
    drop(server);

    // The state still holds the honest checkpoint: refusals never overwrite it.
    let after: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_file).expect("state")).expect("json");
    assert_eq!(after, accepted);
}
