//! Sealed sources: the ledger holds only a commitment, the kind and the date;
//! the record is for editors and admins until it is disclosed, and then
//! anyone can check it against the commitment, here with Python's own JSON
//! and SHA-256. Nothing of a sealed record reaches a subscriber, the ledger,
//! an export or the server's log.

use std::process::Command;

use serde_json::{Value, json};
use sourceledger::auth::Role;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::process::{ServerProcess, agent, key_token, request, token_for};

on_both_backends!(
    a_sealed_source_is_proven_when_disclosed,
    a_sealed_record_never_reaches_the_log
);

const MARKER: &str = "whistleblower-7f3a9c";

fn sealed_body() -> Value {
    json!({
        "sealed": true,
        "url": format!("https://internal.example/{MARKER}"),
        "title": format!("Interview with {MARKER}"),
        "publisher": "Ministry of Water",
        "kind": "interview",
        "language": "en",
        "accessed_at": "2026-11-30",
    })
}

/// SHA-256 of the salt and the record's canonical JSON, made by Python (its
/// `json` with sorted keys and no spaces is RFC 8785 for such a record).
fn python_commitment(salt_hex: &str, record: &Value) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import hashlib, json, sys\n\
             salt = bytes.fromhex(sys.argv[1])\n\
             record = json.loads(sys.argv[2])\n\
             text = json.dumps(record, sort_keys=True, separators=(',', ':'), ensure_ascii=False)\n\
             print(hashlib.sha256(salt + text.encode('utf-8')).hexdigest())",
            salt_hex,
            &record.to_string(),
        ])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

async fn a_sealed_source_is_proven_when_disclosed(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let auditor = app.token_of(Role::Auditor).await;
    let admin = app.admin_token().await;
    let (_, subscriber) = app.member(&admin, "reader-1").await;

    let made = app.post_as("/v1/sources", &journalist, sealed_body()).await;
    assert_eq!(made.status, 201, "{}", made.text());
    assert!(!made.text().contains(MARKER), "{}", made.text());
    let sealed = made.json();
    assert_eq!(sealed["sealed"], true);
    assert_eq!(sealed["kind"], "interview");
    assert!(sealed["record"].is_null() && sealed["salt"].is_null());
    let id = sealed["id"].as_str().expect("id").to_owned();
    let commitment = sealed["commitment"]
        .as_str()
        .expect("commitment")
        .to_owned();
    let index = sealed["ledger_index"].as_i64().expect("index");

    // The ledger entry: the id, the kind, the commitment; its time is the date.
    let entry = app
        .get_as(&format!("/v1/ledger/entries/{index}"), &admin)
        .await
        .json();
    let leaf: Value = serde_json::from_str(entry["leaf"].as_str().expect("leaf")).expect("leaf");
    assert_eq!(leaf["kind"], "source.sealed");
    assert_eq!(
        leaf["record"],
        json!({"id": id, "kind": "interview", "commitment": commitment})
    );
    assert_eq!(leaf["at"], sealed["sealed_at"]);

    // Who sees what before it is disclosed.
    for (who, token, sees) in [
        ("journalist", &journalist, false),
        ("auditor", &auditor, false),
        ("subscriber", &subscriber, false),
        ("editor", &editor, true),
        ("admin", &admin, true),
    ] {
        let got = app.get_as(&format!("/v1/sources/{id}"), token).await;
        assert_eq!(got.status, 200, "{who}: {}", got.text());
        assert_eq!(got.text().contains(MARKER), sees, "{who}: {}", got.text());
        assert!(got.json()["salt"].is_null(), "{who}");
    }
    for (what, got) in [
        (
            "entries",
            app.get_as("/v1/ledger/entries?start=0&limit=1000", &admin)
                .await,
        ),
        ("export", app.get_as("/v1/audit/export", &auditor).await),
        (
            "events",
            app.get_as(&format!("/v1/audit/events?source={id}"), &auditor)
                .await,
        ),
    ] {
        assert_eq!(got.status, 200, "{what}: {}", got.text());
        assert!(
            !got.text().contains(MARKER),
            "{what} shows the sealed record"
        );
    }
    // Cited: every reader sees "a confidential source, sealed on DATE" with
    // its proof, and nothing of the record.
    let article = app
        .post_as("/v1/articles", &journalist, json!({"slug": "water", "title": "Water", "url": "https://n.example/water", "language": "en", "authors": ["A"]}))
        .await;
    assert_eq!(article.status, 201, "{}", article.text());
    let cite = |version: Option<i64>| {
        let mut body = json!({"source_id": id, "claim": "The ministry knew in March.", "quote": "We were told in March.", "locator": "paragraph 2"});
        if let Some(v) = version {
            body["source_version"] = json!(v);
        }
        app.post_as("/v1/articles/water/citations", &journalist, body)
    };
    cite(Some(2)).await.assert_problem(422, "unknown_source");
    let cited = cite(None).await;
    assert_eq!(cited.status, 201, "{}", cited.text());
    assert_eq!(
        cited.json()["citations"][0]["source_version"],
        0,
        "{}",
        cited.text()
    );
    assert_eq!(
        app.post_as("/v1/articles/water/publish", &editor, json!({}))
            .await
            .status,
        200
    );
    let list = app.get_as("/v1/articles/water/sources", &subscriber).await;
    assert_eq!(list.status, 200, "{}", list.text());
    assert!(!list.text().contains(MARKER), "{}", list.text());
    let list_json = list.json();
    let shown = &list_json["citations"][0]["source"];
    assert_eq!(shown["sealed"], true, "{shown}");
    assert_eq!(shown["commitment"], json!(commitment));
    assert_eq!(shown["kind"], "interview");
    assert_eq!(shown["ledger_index"], json!(index));
    let teaser = app.get("/v1/articles/water/sources").await.json();
    assert_eq!(teaser["sources"][0]["sealed"], true, "{teaser}");
    assert!(
        teaser["sources"][0]["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("A confidential source, sealed on 20")),
        "{teaser}"
    );
    for path in [
        "/articles/water/sources",
        "/v1/articles/water/sources?format=bibtex",
        "/v1/articles/water/sources?format=ris",
        "/v1/articles/water/sources?format=csl-json",
        "/v1/articles/water/sources?format=jsonld",
    ] {
        for token in [None, Some(&subscriber)] {
            let got = match token {
                Some(t) => app.get_as(path, t).await,
                None => app.get(path).await,
            };
            assert_eq!(got.status, 200, "{path}: {}", got.text());
            assert!(!got.text().contains(MARKER), "{path}: {}", got.text());
            assert!(
                got.text().contains("A confidential source, sealed on"),
                "{path}: {}",
                got.text()
            );
        }
    }
    // The saved list verifies offline with the vkey alone; shown as an open
    // source, or with another kind, it does not.
    let vkey = app.get("/v1/ledger/key").await.json()["vkey"]
        .as_str()
        .expect("vkey")
        .to_owned();
    let dir = tempfile::tempdir().expect("dir");
    let offline = |list: &Value| {
        let file = dir.path().join("list.json");
        std::fs::write(&file, list.to_string()).expect("write");
        let out = Command::new(crate::process::BIN)
            .args(["verify", "--vkey", &vkey])
            .arg(&file)
            .output()
            .expect("verify");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, said) = offline(&list_json);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("A confidential source, sealed on"), "{said}");
    for (field, value) in [("kind", json!("document")), ("sealed", json!(false))] {
        let mut forged = list_json.clone();
        forged["citations"][0]["source"][field] = value;
        let (code, said) = offline(&forged);
        assert_eq!(code, Some(1), "{field}: {said}");
    }

    // Never captured, never revised.
    let capture = app
        .post_as(&format!("/v1/sources/{id}/capture"), &journalist, json!({}))
        .await;
    capture.assert_problem(409, "sealed_source");
    let revise = app
        .send(
            "PATCH",
            &format!("/v1/sources/{id}"),
            Some(&journalist),
            Some(json!({"title": "x"})),
        )
        .await;
    revise.assert_problem(409, "sealed_source");
    app.get_as(&format!("/v1/sources/{id}/versions"), &journalist)
        .await
        .assert_problem(409, "sealed_source");

    // Disclosure: editors and admins only, once.
    app.post_as(
        &format!("/v1/sources/{id}/disclose"),
        &journalist,
        json!({}),
    )
    .await
    .assert_problem(403, "forbidden");
    let disclosed = app
        .post_as(&format!("/v1/sources/{id}/disclose"), &editor, json!({}))
        .await;
    assert_eq!(disclosed.status, 200, "{}", disclosed.text());
    let disclosed = disclosed.json();
    let salt = disclosed["salt"].as_str().expect("salt").to_owned();
    let record = disclosed["record"].clone();
    assert_eq!(record["title"], format!("Interview with {MARKER}"));
    assert_eq!(record["id"], json!(id));
    app.post_as(&format!("/v1/sources/{id}/disclose"), &editor, json!({}))
        .await
        .assert_problem(409, "invalid_transition");
    let open = app
        .record_source(
            &journalist,
            json!({"url": "https://open.example/", "title": "Open", "publisher": "P", "kind": "document", "language": "en"}),
        )
        .await;
    app.post_as(
        &format!("/v1/sources/{}/disclose", open["id"].as_str().expect("id")),
        &editor,
        json!({}),
    )
    .await
    .assert_problem(409, "invalid_transition");
    app.post_as("/v1/sources/no-such-source/disclose", &editor, json!({}))
        .await
        .assert_problem(404, "not_found");

    // The disclosure entry carries the record and the salt; Python's hash of
    // them is the commitment sealed, and a changed field or salt is not.
    let entry = app
        .get_as(
            &format!("/v1/ledger/entries/{}", disclosed["disclosure_index"]),
            &admin,
        )
        .await
        .json();
    let leaf: Value = serde_json::from_str(entry["leaf"].as_str().expect("leaf")).expect("leaf");
    assert_eq!(leaf["kind"], "source.disclosed");
    assert_eq!(leaf["record"]["record"], record);
    assert_eq!(leaf["record"]["salt"], json!(salt));
    assert_eq!(leaf["record"]["sealed_index"], json!(index));
    assert_eq!(python_commitment(&salt, &record), commitment);
    let mut changed = record.clone();
    changed["publisher"] = json!("Ministry of Wafer");
    assert_ne!(python_commitment(&salt, &changed), commitment);
    let mut other_salt = hex::decode(&salt).expect("hex");
    other_salt[0] ^= 1;
    assert_ne!(
        python_commitment(&hex::encode(other_salt), &record),
        commitment
    );
    assert!(sourceledger::ledger::leaf::sealed_opens(
        &commitment,
        &salt,
        &record
    ));
    assert!(!sourceledger::ledger::leaf::sealed_opens(
        &commitment,
        &salt,
        &changed
    ));

    // Once disclosed, every reader may see it.
    let got = app
        .get_as(&format!("/v1/sources/{id}"), &subscriber)
        .await
        .json();
    assert_eq!(got["record"], record);
    assert_eq!(got["salt"], json!(salt));

    // The server's own audit checks the seal and the disclosure too...
    let audit = app.post_as("/v1/audit/verify", &auditor, json!({})).await;
    assert_eq!(audit.status, 200, "{}", audit.text());
    assert_eq!(audit.json()["ok"], true, "{}", audit.text());
    // ...and finds a commitment changed in the database.
    {
        use diesel::RunQueryDsl;
        let mut conn = app.state.db.get().expect("conn");
        diesel::sql_query(format!(
            "UPDATE sealed_sources SET commitment = '{}' WHERE id = '{id}'",
            "0".repeat(64)
        ))
        .execute(&mut *conn)
        .expect("tamper");
    }
    let audit = app
        .post_as("/v1/audit/verify", &auditor, json!({}))
        .await
        .json();
    assert_eq!(audit["ok"], false, "{audit}");
    let problems = audit["problems"].to_string();
    assert!(problems.contains("record_mismatch"), "{problems}");
    assert!(problems.contains(&format!("sealed:{id}")), "{problems}");
}

async fn a_sealed_record_never_reaches_the_log(backend: Backend) {
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("server.log");
    let url = match &backend {
        Backend::Sqlite => None,
        Backend::Postgres(db) => Some(db.url.clone()),
    };
    let server =
        ServerProcess::start_with_log(&dir.path().join("data"), url.as_deref(), Some(&log));
    let agent = agent();
    let base = server.url();
    let admin = token_for(&agent, &base, &server.bootstrap_key());
    let journalist = key_token(&agent, &base, &admin, "journalist");
    let editor = key_token(&agent, &base, &admin, "editor");
    let made = request(
        &agent,
        "POST",
        &format!("{base}/v1/sources"),
        Some(&journalist),
        Some(&sealed_body()),
    )
    .expect("seal");
    assert_eq!(made.status, 201, "{}", made.text);
    let id = made.body["id"].as_str().expect("id").to_owned();
    let mut bad = sealed_body();
    bad["url"] = json!(format!("ftp://{MARKER}"));
    let refused = request(
        &agent,
        "POST",
        &format!("{base}/v1/sources"),
        Some(&journalist),
        Some(&bad),
    )
    .expect("refused");
    assert_eq!(refused.status, 400, "{}", refused.text);
    let read = request(
        &agent,
        "GET",
        &format!("{base}/v1/sources/{id}"),
        Some(&editor),
        None,
    )
    .expect("read");
    assert!(read.text.contains(MARKER));
    let vkey = request(&agent, "GET", &format!("{base}/v1/ledger/key"), None, None)
        .expect("key")
        .body["vkey"]
        .as_str()
        .expect("vkey")
        .to_owned();
    // `sourceledger verify --all`: every leaf, and every disclosure against its seal.
    let verify_all = || {
        Command::new(crate::process::BIN)
            .args([
                "verify", "--vkey", &vkey, "--url", &base, "--token", &admin, "--all",
            ])
            .output()
            .expect("verify")
    };
    let verified = verify_all();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    let disclosed = request(
        &agent,
        "POST",
        &format!("{base}/v1/sources/{id}/disclose"),
        Some(&editor),
        None,
    )
    .expect("disclose");
    assert_eq!(disclosed.status, 200, "{}", disclosed.text);
    let verified = verify_all();
    let said = String::from_utf8_lossy(&verified.stdout).into_owned();
    assert!(
        verified.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(said.contains("1 sealed, 1 disclosed"), "{said}");
    // The same from the log's tiles alone.
    let from_tiles = Command::new(crate::process::BIN)
        .args([
            "verify", "--vkey", &vkey, "--tiles", &base, "--token", &admin,
        ])
        .output()
        .expect("verify --tiles");
    let said = String::from_utf8_lossy(&from_tiles.stdout).into_owned();
    assert!(
        from_tiles.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&from_tiles.stderr)
    );
    assert!(said.contains("1 sealed, 1 disclosed"), "{said}");
    drop(server);
    let written = std::fs::read_to_string(&log).expect("log");
    assert!(
        written.contains("/v1/sources"),
        "the log is at info: {written}"
    );
    assert!(
        !written.contains(MARKER),
        "the log shows a sealed record: {written}"
    );
}
