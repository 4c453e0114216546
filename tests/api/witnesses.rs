//! Witnesses (C2SP tlog-witness, tlog-cosignature): this server as a witness
//! of another log, refusing forks, rollbacks and bad proofs; and three server
//! processes on loopback witnessing one another, their cosignatures checked
//! by Go's sumdb/note with a cosignature verifier written from the spec, and
//! by `sourceledger verify --witness … --quorum N`.

use std::process::Command;
use std::time::{Duration, Instant};

use actix_web::test;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, append_entries, hex_list};
use crate::on_both_backends;
use crate::process::{ServerProcess, agent, key_token, request, token_for};

on_both_backends!(
    a_witness_cosigns_what_extends_and_refuses_forks_and_rollbacks,
    three_newsrooms_witness_one_another
);

/// A TestApp signing with `skey` (its `ledger.key` written before start),
/// witnessing the log of `witness_for`.
async fn app_with_key(backend: Backend, origin: &str, skey: &str, witness_for: &str) -> TestApp {
    let (origin, skey, witness_for) = (origin.to_owned(), skey.to_owned(), witness_for.to_owned());
    TestApp::spawn_with(backend, move |settings| {
        std::fs::create_dir_all(&settings.data_dir).expect("data dir");
        std::fs::write(settings.data_dir.join("ledger.key"), &skey).expect("key");
        settings.origin = origin.clone();
        settings.witnessing = sourceledger::config::WitnessSettings::none_for(&origin);
        settings.witnessing.witness_for = vec![witness_for];
    })
    .await
}

fn body(old: u64, proof: &[Vec<u8>], note: &str) -> String {
    let mut text = format!("old {old}\n");
    for hash in proof {
        text.push_str(&BASE64.encode(hash));
        text.push('\n');
    }
    format!("{text}\n{note}")
}

async fn add(witness: &TestApp, body: String) -> crate::helpers::Reply {
    witness
        .call(
            test::TestRequest::post()
                .uri("/witness/add-checkpoint")
                .insert_header(("content-type", "text/plain"))
                .set_payload(body),
        )
        .await
}

async fn consistency(app: &TestApp, first: u64, second: u64) -> Vec<Vec<u8>> {
    let proof = app
        .get(&format!(
            "/v1/ledger/proof/consistency?first={first}&second={second}"
        ))
        .await
        .json();
    hex_list(&proof["proof"])
}

pub fn cosigned_by(note: &str, vkey: &str) -> bool {
    let verifier =
        sourceledger::ledger::cosignature::CosignatureVerifier::new(vkey).expect("witness vkey");
    !sourceledger::ledger::cosignature::verified(note.as_bytes(), &[verifier]).is_empty()
}

async fn a_witness_cosigns_what_extends_and_refuses_forks_and_rollbacks(backend: Backend) {
    let origin = "fork.test/ledger";
    let skey = sourceledger::secrets::LedgerKey::generate(origin);
    let vkey = sourceledger::secrets::LedgerKey::from_signer_key(&skey)
        .expect("key")
        .verifier_key()
        .to_owned();
    // The witness is a log itself; the log it witnesses is another app, and
    // a third with the same key but other entries is that log forked.
    let witness = app_with_key(
        backend,
        "witness.test/ledger",
        &signed_note::generate_key(&mut rand::rngs::OsRng, "witness.test/ledger").0,
        &vkey,
    )
    .await;
    let other = match &witness.state.settings.database {
        sourceledger::config::DatabaseUrl::Sqlite(_) => (Backend::sqlite(), Backend::sqlite()),
        sourceledger::config::DatabaseUrl::Postgres(_) => (
            Backend::postgres().expect("postgres"),
            Backend::postgres().expect("postgres"),
        ),
    };
    let log = app_with_key(other.0, origin, &skey, &vkey).await;
    let fork = app_with_key(other.1, origin, &skey, &vkey).await;
    let key = witness.get("/v1/witness/key").await.json();
    assert_eq!(key["name"], "witness.test/witness");
    // A body past the spec's 16 KiB bound is refused, not read whole.
    add(&witness, "x".repeat(16 * 1024 + 1))
        .await
        .assert_problem(413, "payload_too_large");
    let wkey = key["vkey"].as_str().expect("vkey").to_owned();

    append_entries(&log.state, 5, "log");
    let five = log.get("/v1/ledger/checkpoint").await.text();
    let cosigned = add(&witness, body(0, &[], &five)).await;
    assert_eq!(cosigned.status, 200, "{}", cosigned.text());
    let note = format!("{five}{}", cosigned.text());
    assert!(cosigned_by(&note, &wkey), "{note}");

    // A client that is behind is told the size to prove from.
    append_entries(&log.state, 3, "log");
    let eight = log.get("/v1/ledger/checkpoint").await.text();
    let stale = add(&witness, body(0, &[], &eight)).await;
    assert_eq!(stale.status, 409);
    assert_eq!(stale.header("content-type"), Some("text/x.tlog.size"));
    assert_eq!(stale.text(), "5\n");
    let proof = consistency(&log, 5, 8).await;
    let extended = add(&witness, body(5, &proof, &eight)).await;
    assert_eq!(extended.status, 200, "{}", extended.text());
    assert!(cosigned_by(&format!("{eight}{}", extended.text()), &wkey));

    // The fork: the same key and size, other entries.
    append_entries(&fork.state, 8, "fork");
    let forked = fork.get("/v1/ledger/checkpoint").await.text();
    assert_ne!(forked, eight);
    add(&witness, body(8, &[], &forked))
        .await
        .assert_problem(409, "checkpoint_refused");
    // Its growth, proven from its own history, does not extend what was cosigned.
    append_entries(&fork.state, 4, "fork");
    let grown = fork.get("/v1/ledger/checkpoint").await.text();
    let fork_proof = consistency(&fork, 8, 12).await;
    add(&witness, body(8, &fork_proof, &grown))
        .await
        .assert_problem(422, "invalid_proof");
    // A rollback: the log's own smaller checkpoint, sent as new.
    let rolled = add(&witness, body(0, &[], &five)).await;
    assert_eq!(rolled.status, 409);
    assert_eq!(rolled.text(), "8\n");
    add(&witness, body(8, &[], &five))
        .await
        .assert_problem(400, "invalid_checkpoint");
    // The fork again: refused again, kept once.
    add(&witness, body(8, &[], &forked))
        .await
        .assert_problem(409, "checkpoint_refused");
    let mut conn = witness.state.db.get().expect("conn");
    assert_eq!(
        sourceledger::witness::refusals(&mut conn, origin).expect("refusals"),
        1,
        "the fork is kept as evidence, once; a bad proof or an old checkpoint \
         (which anyone can send) is not"
    );
    let held = sourceledger::witness::witnessed(&mut conn, origin)
        .expect("read")
        .expect("held");
    assert_eq!(held.size, 8, "nothing refused moved the witness");
    drop(conn);

    // Not a log witnessed here, not signed by its key, not a request.
    let own = witness.get("/v1/ledger/checkpoint").await.text();
    add(&witness, body(0, &[], &own))
        .await
        .assert_problem(404, "unknown_log");
    let (other_key, _) = signed_note::generate_key(&mut rand::rngs::OsRng, origin);
    let signer = signed_note::StandardSigner::new(&other_key).expect("signer");
    let text = eight.split("\n\n").next().expect("text").to_owned() + "\n";
    let mut resigned = signed_note::Note::new(text.as_bytes(), &[]).expect("note");
    resigned.add_sigs(&[&signer]).expect("sign");
    let resigned = String::from_utf8(resigned.to_bytes()).expect("utf8");
    add(&witness, body(8, &[], &resigned))
        .await
        .assert_problem(403, "checkpoint_unsigned");
    for bad in ["", "old 1\n", "old x\n\nnote", "old 01\n\n"] {
        add(&witness, bad.to_owned())
            .await
            .assert_problem(400, "invalid_checkpoint");
    }
    let resent = add(&witness, body(8, &[], &eight)).await;
    assert_eq!(
        resent.status, 200,
        "the same checkpoint again is cosigned again"
    );
}

pub fn database_url(backend: &Backend) -> Option<String> {
    match backend {
        Backend::Sqlite => None,
        Backend::Postgres(db) => Some(db.url.clone()),
    }
}

fn another(backend: &Backend) -> Backend {
    match backend {
        Backend::Sqlite => Backend::sqlite(),
        Backend::Postgres(_) => Backend::postgres().expect("postgres"),
    }
}

/// Waits until `url`'s checkpoint carries cosignatures by every key in
/// `witnesses`; returns it.
pub fn wait_for_cosignatures(url: &str, witnesses: &[&str]) -> String {
    let agent = agent();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let note = request(
            &agent,
            "GET",
            &format!("{url}/v1/ledger/checkpoint"),
            None,
            None,
        )
        .expect("checkpoint")
        .text;
        if witnesses.iter().all(|w| cosigned_by(&note, w)) {
            return note;
        }
        assert!(Instant::now() < deadline, "not cosigned in time: {note}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

async fn three_newsrooms_witness_one_another(backend: Backend) {
    let backends = [another(&backend), another(&backend), backend];
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().expect("dir")).collect();
    let names = ["a", "b", "c"];
    let mut servers: Vec<ServerProcess> = (0..3)
        .map(|i| {
            let origin = format!("{}.test/ledger", names[i]);
            ServerProcess::start_with(
                dirs[i].path(),
                database_url(&backends[i]).as_deref(),
                None,
                &[("SOURCELEDGER_ORIGIN", &origin)],
            )
        })
        .collect();
    let agent = agent();
    let get = |url: String| request(&agent, "GET", &url, None, None).expect("get").body;
    let log_keys: Vec<String> = servers
        .iter()
        .map(|s| {
            get(format!("{}/v1/ledger/key", s.url()))["vkey"]
                .as_str()
                .expect("vkey")
                .to_owned()
        })
        .collect();
    let witness_keys: Vec<String> = servers
        .iter()
        .map(|s| {
            get(format!("{}/v1/witness/key", s.url()))["vkey"]
                .as_str()
                .expect("vkey")
                .to_owned()
        })
        .collect();
    let entry = |i: usize| format!("{} {}/witness", witness_keys[i], servers[i].url());
    // a is witnessed by b and c; b by a; c witnesses a.
    let a_witnesses = format!("{},{}", entry(1), entry(2));
    let b_witnesses = entry(0);
    servers[0].set_env("SOURCELEDGER_WITNESSES", &a_witnesses);
    servers[0].set_env("SOURCELEDGER_WITNESS_QUORUM", "2");
    servers[0].set_env("SOURCELEDGER_WITNESS_FOR", &log_keys[1]);
    servers[1].set_env("SOURCELEDGER_WITNESSES", &b_witnesses);
    servers[1].set_env("SOURCELEDGER_WITNESS_FOR", &log_keys[0]);
    servers[2].set_env("SOURCELEDGER_WITNESS_FOR", &log_keys[0]);
    for server in &mut servers {
        server.restart();
    }

    let mut tokens = Vec::new();
    for server in &servers[..2] {
        let admin = token_for(&agent, &server.url(), &server.bootstrap_key());
        let token = key_token(&agent, &server.url(), &admin, "journalist");
        for n in 0..3 {
            let made = request(
                &agent,
                "POST",
                &format!("{}/v1/sources", server.url()),
                Some(&token),
                Some(&json!({"url": format!("https://example.org/report/{n}"), "title": "A report", "publisher": "Example", "kind": "news_report", "language": "en"})),
            )
            .expect("source");
            assert_eq!(made.status, 201, "{}", made.text);
        }
        tokens.push(token);
    }
    // An article on a, for a reader's list.
    let a_url = servers[0].url();
    let post = |path: &str, token: &str, body: Value| {
        let made = request(
            &agent,
            "POST",
            &format!("{a_url}{path}"),
            Some(token),
            Some(&body),
        )
        .expect("post");
        assert!(made.status < 300, "{path}: {}", made.text);
        made.body
    };
    let a_admin = token_for(&agent, &a_url, &servers[0].bootstrap_key());
    let editor = key_token(&agent, &a_url, &a_admin, "editor");
    let source = post(
        "/v1/sources",
        &tokens[0],
        json!({"url": "https://example.org/cited", "title": "Cited", "publisher": "Example", "kind": "news_report", "language": "en"}),
    );
    post(
        "/v1/articles",
        &tokens[0],
        json!({"slug": "seen", "title": "Seen", "url": "https://a.test/seen", "language": "en", "authors": ["A"]}),
    );
    post(
        "/v1/articles/seen/citations",
        &tokens[0],
        json!({"source_id": source["id"], "claim": "C", "locator": "p1"}),
    );
    post("/v1/articles/seen/publish", &editor, json!({}));
    let integration = key_token(&agent, &a_url, &a_admin, "integration");
    let member = post(
        "/v1/subscribers",
        &integration,
        json!({"external_id": "reader", "tier": "free"}),
    );
    let reader = post(
        &format!(
            "/v1/subscribers/{}/token",
            member["id"].as_str().expect("id")
        ),
        &integration,
        json!({}),
    )["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let a_note = wait_for_cosignatures(&servers[0].url(), &[&witness_keys[1], &witness_keys[2]]);
    wait_for_cosignatures(&servers[1].url(), &[&witness_keys[0]]);
    assert!(
        !cosigned_by(&a_note, &witness_keys[0]),
        "a does not witness itself"
    );

    // The served list marks the checkpoint witnessed once the quorum cosigned.
    let list = get(format!("{}/v1/ledger/checkpoints", servers[0].url()));
    let last = list["checkpoints"]
        .as_array()
        .and_then(|c| c.last())
        .expect("last")
        .clone();
    assert_eq!(last["witnessed"], true, "{last}");
    let metrics = request(
        &agent,
        "GET",
        &format!("{}/metrics", servers[0].url()),
        None,
        None,
    )
    .expect("metrics")
    .text;
    let witnessed = crate::helpers::metric_sample(&metrics, "sourceledger_witnessed_size")
        .expect("witnessed_size");
    assert!(witnessed >= 1.0, "{witnessed}");

    // Go's sumdb/note opens the note with the log's key and, as cosignature/v1
    // verifiers written in Go from the spec, both witnesses' keys.
    if crate::interop_go::go_available() {
        let work = tempfile::tempdir().expect("dir");
        let input = work.path().join("input.json");
        let check = |witnesses: &[&String]| {
            std::fs::write(
                &input,
                serde_json::to_vec(
                    &json!({"note": a_note, "log_vkey": log_keys[0], "witness_vkeys": witnesses}),
                )
                .expect("json"),
            )
            .expect("write");
            let out = crate::interop_go::go_run("cosigcheck", work.path())
                .arg(&input)
                .output()
                .expect("go run");
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        };
        let (ok, text) = check(&[&witness_keys[1], &witness_keys[2]]);
        assert!(ok, "Go refused the cosignatures: {text}");
        assert!(
            text.contains("verified: b.test/witness") && text.contains("verified: c.test/witness"),
            "{text}"
        );
        let (ok, text) = check(&[&witness_keys[0]]);
        assert!(!ok, "Go found a cosignature a never made: {text}");
    }

    // The reader's browser verifier, given the witnesses' keys: the list's
    // checkpoint is consistent with one b and c cosigned; a quorum that
    // counts a, who never cosigned its own log, is short.
    if Command::new("node").arg("--version").output().is_ok() {
        let list = request(
            &agent,
            "GET",
            &format!("{a_url}/v1/articles/seen/sources"),
            Some(&reader),
            None,
        )
        .expect("list");
        assert_eq!(list.status, 200, "{}", list.text);
        let work = tempfile::tempdir().expect("dir");
        let file = work.path().join("list.json");
        std::fs::write(&file, &list.text).expect("write");
        let in_browser = |quorum: &str, witnesses: &[&String]| {
            let out = Command::new("node")
                .arg(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/web/verify_check.mjs"
                ))
                .arg(&file)
                .arg(&log_keys[0])
                .arg(&a_url)
                .arg(quorum)
                .args(witnesses)
                .output()
                .expect("node");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice::<Value>(&out.stdout).expect("verdict")
        };
        let verdict = in_browser("2", &[&witness_keys[1], &witness_keys[2]]);
        assert_eq!(verdict["ok"], true, "{verdict}");
        assert_eq!(verdict["witnessed"]["ok"], true, "{verdict}");
        assert_eq!(
            verdict["witnessed"]["witnesses"],
            json!(["b.test/witness", "c.test/witness"]),
            "{verdict}"
        );
        let short = in_browser("3", &[&witness_keys[0], &witness_keys[1], &witness_keys[2]]);
        assert_eq!(short["witnessed"]["ok"], false, "{short}");
        assert!(
            short["witnessed"]["reason"]
                .as_str()
                .is_some_and(|r| r.contains("cosigned by 3 of the witnesses given")),
            "{short}"
        );
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI needs node for this test"
        );
    }

    // The verifier: the quorum of the two who cosigned passes; asking for a
    // third who did not (a itself) fails.
    let verify = |extra: &[&str]| {
        let mut command = Command::new(crate::process::BIN);
        command
            .args([
                "verify",
                "--vkey",
                &log_keys[0],
                "--tiles",
                &servers[0].url(),
                "--token",
                &tokens[0],
            ])
            .args(["--witness", &witness_keys[1], "--witness", &witness_keys[2]]);
        command.args(extra);
        let out = command.output().expect("verify");
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, text) = verify(&["--quorum", "2"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("witnessed: 2 of 2"), "{text}");
    let (code, text) = verify(&["--witness", &witness_keys[0], "--quorum", "3"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("2 valid cosignature(s) of the 3 witnesses given; 3 required"),
        "{text}"
    );
}
