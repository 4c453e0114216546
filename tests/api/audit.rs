//! Audit search, export and server-side re-verification, including tampering
//! with the database behind the server's back.

use diesel::prelude::*;
use serde_json::{Value, json};
use sourceledger::auth::Role;
use sourceledger::ledger::checkpoint;
use sourceledger::ledger::proof::verify_inclusion;

use crate::helpers::{Backend, TestApp, hex_list};
use crate::on_both_backends;

on_both_backends!(
    search_and_export,
    verify_reports_each_kind_of_tampering,
    export_indexes_are_int64,
    an_export_cut_short_has_no_closing_record,
    the_verifier_checks_a_saved_export
);

struct Newsroom {
    auditor: String,
    source_id: String,
}

/// An article with a source revised once and two citations, one verified, published.
async fn newsroom(app: &TestApp) -> Newsroom {
    let j = app.token_of(Role::Journalist).await;
    let e = app.token_of(Role::Editor).await;
    app.post_as("/v1/articles", &j, json!({"slug": "audited", "title": "A", "url": "https://n.example/a", "language": "en", "authors": ["A"]}))
        .await;
    let src = app
        .post_as("/v1/sources", &j, json!({"url": "https://s.example/", "title": "S", "publisher": "P", "kind": "document", "language": "en"}))
        .await
        .json();
    let source_id = src["id"].as_str().expect("id").to_owned();
    app.send(
        "PATCH",
        &format!("/v1/sources/{source_id}"),
        Some(&j),
        Some(json!({"title": "S2"})),
    )
    .await;
    let cited = app
        .post_as(
            "/v1/articles/audited/citations",
            &j,
            json!({"citations": [
            {"source_id": source_id, "claim": "one", "locator": "p1"},
            {"source_id": source_id, "claim": "two", "locator": "p2"}]}),
        )
        .await
        .json();
    let cid = cited["citations"][0]["id"].as_str().expect("id");
    app.post_as(&format!("/v1/citations/{cid}/verify"), &e, json!({}))
        .await;
    app.post_as("/v1/articles/audited/publish", &e, json!({}))
        .await;
    app.get("/v1/ledger/checkpoint").await;
    Newsroom {
        auditor: app.token_of(Role::Auditor).await,
        source_id,
    }
}

fn indexes(list: &Value) -> Vec<u64> {
    list["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["index"].as_u64().expect("index"))
        .collect()
}

async fn search_and_export(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let n = newsroom(&app).await;
    let a = &n.auditor;
    // 0 article.created, 1 source.recorded, 2 source.revised, 3-4 citation.attached,
    // 5 citation.verified, 6 article.published
    assert_eq!(
        indexes(
            &app.get_as("/v1/audit/events?kind=citation.attached", a)
                .await
                .json()
        ),
        vec![3, 4]
    );
    assert_eq!(
        indexes(
            &app.get_as("/v1/audit/events?article=audited", a)
                .await
                .json()
        ),
        vec![0, 3, 4, 5, 6]
    );
    assert_eq!(
        indexes(
            &app.get_as(&format!("/v1/audit/events?source={}", n.source_id), a)
                .await
                .json()
        ),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(
        indexes(
            &app.get_as("/v1/audit/events?actor=editor:editor%20tester", a)
                .await
                .json()
        ),
        vec![5, 6]
    );
    let page = app.get_as("/v1/audit/events?limit=2", a).await.json();
    assert_eq!(
        (indexes(&page), page["next"].as_u64()),
        (vec![0, 1], Some(1))
    );
    let page = app
        .get_as("/v1/audit/events?limit=2&cursor=1", a)
        .await
        .json();
    assert_eq!(indexes(&page), vec![2, 3]);
    let future = app
        .get_as("/v1/audit/events?from=2999-01-01T00:00:00Z", a)
        .await
        .json();
    assert_eq!(future["events"], json!([]));
    let past = app
        .get_as("/v1/audit/events?to=2000-01-01T00:00:00%2B01:00", a)
        .await
        .json();
    assert_eq!(past["events"], json!([]));
    assert_eq!(
        indexes(
            &app.get_as(
                "/v1/audit/events?from=2000-01-01T00:00:00Z&kind=article.published",
                a
            )
            .await
            .json()
        ),
        vec![6]
    );
    app.get_as("/v1/audit/events?from=yesterday", a)
        .await
        .assert_problem(400, "invalid_field");
    app.get_as("/v1/audit/events?cursor=-1", a)
        .await
        .assert_problem(400, "invalid_query");
    app.get_as(
        "/v1/audit/events",
        &app.token_named(Role::Journalist, "curious").await,
    )
    .await
    .assert_problem(403, "forbidden");

    // With proofs, each hit verifies against the checkpoint given.
    let with = app
        .get_as("/v1/audit/events?kind=citation.attached&proof=true", a)
        .await
        .json();
    let vkey = app.state.ledger.vkey().to_owned();
    let cp = checkpoint::open(with["checkpoint"].as_str().expect("note").as_bytes(), &vkey)
        .expect("verifies");
    for e in with["events"].as_array().expect("events") {
        let leaf_hash = hex::decode(e["leaf_hash"].as_str().expect("hex")).expect("hex");
        verify_inclusion(
            e["index"].as_u64().expect("index"),
            cp.size,
            &leaf_hash,
            &cp.root.0,
            &hex_list(&e["proof"]),
        )
        .expect("proof");
    }

    // Export: every entry, as NDJSON and CSV, and ranges of it.
    let admin = app.admin_token().await;
    let entries = app.get_as("/v1/ledger/entries", &admin).await.json();
    let ndjson = app.get_as("/v1/audit/export", a).await;
    assert_eq!(ndjson.status, 200);
    assert_eq!(ndjson.header("content-type"), Some("application/x-ndjson"));
    let mut lines: Vec<Value> = ndjson
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 8);
    // The closing record: how many, the last index, the checkpoint it stops at.
    let closing = lines.pop().expect("closing");
    assert_eq!(closing["export"], "complete", "{closing}");
    assert_eq!(closing["count"], 7);
    assert_eq!(closing["last_index"], 6);
    assert_eq!(closing["tree_size"], 7);
    let signed = checkpoint::open(
        closing["checkpoint"]
            .as_str()
            .expect("checkpoint")
            .as_bytes(),
        app.state.ledger.vkey(),
    )
    .expect("a signed checkpoint");
    assert_eq!(signed.size, 7);
    for (line, entry) in lines
        .iter()
        .zip(entries["entries"].as_array().expect("entries"))
    {
        for key in ["index", "at", "kind", "actor", "leaf", "leaf_hash"] {
            assert_eq!(line[key], entry[key], "{key}");
        }
    }
    let csv = app
        .get_as("/v1/audit/export?format=csv&start=3&end=5", a)
        .await
        .text();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("csv row")).collect();
    assert_eq!(records.len(), 3);
    assert_eq!(&records[0][0], "3");
    assert_eq!((&records[2][0], &records[2][2]), ("end", "export.complete"));
    let closing: Value = serde_json::from_str(&records[2][5]).expect("closing record");
    assert_eq!(
        (closing["count"].as_u64(), closing["last_index"].as_u64()),
        (Some(2), Some(4))
    );
    assert_eq!(
        &records[1][5],
        entries["entries"][4]["leaf"].as_str().expect("leaf"),
        "the leaf survives CSV quoting"
    );
    let none = app
        .get_as("/v1/audit/export?from=2999-01-01T00:00:00Z", a)
        .await;
    let closing: Value = serde_json::from_str(none.text().trim()).expect("only the closing record");
    assert_eq!(closing["count"], 0);
    assert_eq!(closing["last_index"], Value::Null);
    app.get_as("/v1/audit/export?format=xml", a)
        .await
        .assert_problem(400, "invalid_field");
}

/// Lifts the append-only guards, as someone with database access could.
fn tamper(app: &TestApp, sql: &[&str]) {
    let mut conn = app.state.db.get().expect("conn");
    let lift: &[&str] = match &*conn {
        sourceledger::db::DbConnection::Sqlite(_) => &[
            "DROP TRIGGER IF EXISTS ledger_entries_append_only_update",
            "DROP TRIGGER IF EXISTS ledger_entries_append_only_delete",
            "DROP TRIGGER IF EXISTS ledger_hashes_append_only_update",
            "DROP TRIGGER IF EXISTS ledger_checkpoints_append_only_update",
        ],
        sourceledger::db::DbConnection::Postgres(_) => &[
            "ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_append_only",
            "ALTER TABLE ledger_hashes DISABLE TRIGGER ledger_hashes_append_only",
            "ALTER TABLE ledger_checkpoints DISABLE TRIGGER ledger_checkpoints_append_only",
        ],
    };
    for statement in lift.iter().chain(sql) {
        diesel::sql_query(*statement)
            .execute(&mut *conn)
            .unwrap_or_else(|e| panic!("{statement}: {e}"));
    }
}

async fn report(app: &TestApp, token: &str) -> Value {
    let reply = app.post_as("/v1/audit/verify", token, json!({})).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()
}

fn kinds(report: &Value) -> Vec<(String, Option<u64>)> {
    report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().expect("kind").to_owned(),
                p["index"].as_u64(),
            )
        })
        .collect()
}

async fn verify_reports_each_kind_of_tampering(backend: Backend) {
    let postgres = matches!(backend, Backend::Postgres(_));
    drop(backend);
    let fresh = || async {
        let backend = if postgres {
            Backend::postgres().expect("postgres")
        } else {
            Backend::sqlite()
        };
        let app = TestApp::spawn(backend).await;
        let n = newsroom(&app).await;
        (app, n)
    };

    let (app, n) = fresh().await;
    let clean = report(&app, &n.auditor).await;
    assert_eq!(clean["ok"], true, "{clean}");
    assert_eq!(
        (clean["tree_size"].as_u64(), clean["checked"].as_u64()),
        (Some(7), Some(7))
    );
    assert_eq!(clean["problems"], json!([]));

    // One byte of a leaf.
    let (app, n) = fresh().await;
    tamper(
        &app,
        &[
            "UPDATE ledger_entries SET leaf = REPLACE(leaf, '\"claim\":\"two\"', '\"claim\":\"twO\"') WHERE idx = 4",
        ],
    );
    let r = report(&app, &n.auditor).await;
    assert_eq!(r["ok"], false);
    assert!(
        kinds(&r).contains(&("leaf_hash_mismatch".into(), Some(4))),
        "{r}"
    );

    // A field of a record row.
    let (app, n) = fresh().await;
    tamper(
        &app,
        &["UPDATE sources SET title = 'Forged' WHERE version = 2"],
    );
    let r = report(&app, &n.auditor).await;
    assert!(
        kinds(&r).contains(&("record_mismatch".into(), Some(2))),
        "{r}"
    );

    // A deleted entry.
    let (app, n) = fresh().await;
    tamper(&app, &["DELETE FROM ledger_entries WHERE idx = 3"]);
    let r = report(&app, &n.auditor).await;
    assert!(
        kinds(&r).contains(&("missing_entry".into(), Some(3))),
        "{r}"
    );

    // A checkpoint's signature.
    let (app, n) = fresh().await;
    let note: String = {
        use sourceledger::db::schema::ledger_checkpoints;
        let mut conn = app.state.db.get().expect("conn");
        ledger_checkpoints::table
            .filter(ledger_checkpoints::size.eq(7))
            .select(ledger_checkpoints::note)
            .first(&mut *conn)
            .expect("checkpoint 7")
    };
    let sig_start = note.rfind(' ').expect("signature") + 1;
    let mut forged = note.clone();
    let flipped = if &note[sig_start + 8..sig_start + 9] == "A" {
        "B"
    } else {
        "A"
    };
    forged.replace_range(sig_start + 8..sig_start + 9, flipped);
    tamper(
        &app,
        &[&format!(
            "UPDATE ledger_checkpoints SET note = '{forged}' WHERE size = 7"
        )],
    );
    let r = report(&app, &n.auditor).await;
    assert!(
        kinds(&r).contains(&("checkpoint_signature".into(), Some(7))),
        "{r}"
    );

    // A wrong interior hash (the node over leaves 0 and 1 is stored hash 2).
    let (app, n) = fresh().await;
    let zeros = if postgres {
        "'\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea"
    } else {
        "zeroblob(32)"
    };
    tamper(
        &app,
        &[&format!(
            "UPDATE ledger_hashes SET hash = {zeros} WHERE id = 2"
        )],
    );
    let r = report(&app, &n.auditor).await;
    assert!(
        kinds(&r).contains(&("interior_hash_mismatch".into(), Some(1))),
        "{r}"
    );

    // A row slipped in with no entry, pointing past the log's end.
    let (app, n) = fresh().await;
    tamper(
        &app,
        &[
            "INSERT INTO sources (id, version, url, title, publisher, kind, language, record_sha256, ledger_index, recorded_at, recorded_by) \
        SELECT id, 3, url, 'Forged', publisher, kind, language, record_sha256, 1000000000, recorded_at, recorded_by FROM sources WHERE version = 2",
        ],
    );
    let r = report(&app, &n.auditor).await;
    assert!(
        kinds(&r).contains(&("record_without_entry".into(), Some(1_000_000_000))),
        "{r}"
    );

    // A row that lags behind its latest entry.
    let (app, n) = fresh().await;
    tamper(
        &app,
        &[
            "UPDATE citations SET status = 'attached', verified_by = NULL, verified_at = NULL, ledger_index = 3 WHERE ledger_index = 5",
        ],
    );
    let r = report(&app, &n.auditor).await;
    assert!(kinds(&r).contains(&("record_stale".into(), Some(5))), "{r}");
}

/// `start` and `end` are int64 like every index: past it is a 400 naming the
/// field, never a 200 with nothing or everything.
async fn export_indexes_are_int64(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let auditor = app.token_of(sourceledger::auth::Role::Auditor).await;
    for field in ["start", "end"] {
        let reply = app
            .get_as(
                &format!("/v1/audit/export?{field}=9223372036854775808"),
                &auditor,
            )
            .await;
        assert_eq!(reply.assert_problem(400, "invalid_field")["field"], field);
    }
    let reply = app
        .get_as("/v1/audit/export?start=9223372036854775807", &auditor)
        .await;
    assert_eq!(reply.status, 200);
}

/// A log of `n` entries, fast: sources recorded in one go each.
async fn grown(app: &TestApp, n: usize) {
    let j = app.token_of(Role::Journalist).await;
    for i in 0..n {
        let made = app
            .post_as("/v1/sources", &j, json!({"url": format!("https://s.example/{i}"), "title": "S", "publisher": "P", "kind": "document", "language": "en"}))
            .await;
        assert_eq!(made.status, 201);
    }
}

/// The database fails while the export streams (its table renamed away, as a
/// dropped connection or a failing disk would make a query fail): the body
/// ends in an error, and what was sent has no closing record.
async fn an_export_cut_short_has_no_closing_record(backend: Backend) {
    use actix_web::body::MessageBody;
    let app = TestApp::spawn(backend).await;
    let auditor = app.token_of(Role::Auditor).await;
    // Eight pages of 1000: more than the stream holds in flight.
    crate::helpers::append_entries(&app.state, 8000, "export");
    let req = actix_web::test::TestRequest::get()
        .uri("/v1/audit/export")
        .insert_header(("Authorization", format!("Bearer {auditor}")))
        .to_request();
    let response = actix_web::test::call_service(&app.app, req).await;
    assert_eq!(response.status(), 200);
    let mut body = Box::pin(response.into_body());
    let mut received = Vec::new();
    let first = std::future::poll_fn(|cx| body.as_mut().poll_next(cx))
        .await
        .expect("a first chunk")
        .expect("the first chunk arrives");
    received.extend_from_slice(&first);
    // The writer is now blocked on a full stream: take its table away.
    {
        let mut conn = app.state.db.get().expect("conn");
        diesel::sql_query("ALTER TABLE ledger_entries RENAME TO ledger_entries_gone")
            .execute(&mut *conn)
            .expect("rename");
    }
    let mut failed = false;
    while let Some(chunk) = std::future::poll_fn(|cx| body.as_mut().poll_next(cx)).await {
        match chunk {
            Ok(chunk) => received.extend_from_slice(&chunk),
            Err(_) => {
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "the body ends in an error, not a clean end");
    let text = String::from_utf8(received).expect("utf-8");
    assert!(text.lines().count() < 8000, "stopped part-way");
    assert!(
        text.lines().all(|l| !l.contains("\"export\":\"complete\"")),
        "no closing record in a broken export"
    );
}

/// `sourceledger verify --export` accepts a saved export, whole or a range,
/// NDJSON or CSV, and refuses one cut short, one with a changed leaf, one
/// checked against another key.
async fn the_verifier_checks_a_saved_export(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let auditor = app.token_of(Role::Auditor).await;
    grown(&app, 5).await;
    let vkey = app.state.ledger.vkey().to_owned();
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |name: &str, body: &[u8], vkey: &str| {
        let file = dir.path().join(name);
        std::fs::write(&file, body).expect("write");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_sourceledger"))
            .args(["verify", "--vkey", vkey, "--export"])
            .arg(&file)
            .output()
            .expect("run verify");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned()
                + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let whole = app.get_as("/v1/audit/export", &auditor).await.body;
    let (code, said) = run("whole.ndjson", &whole, &vkey);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("the whole log"), "{said}");
    let csv = app
        .get_as("/v1/audit/export?format=csv&start=1&end=3", &auditor)
        .await
        .body;
    let (code, said) = run("part.csv", &csv, &vkey);
    assert_eq!(code, Some(0), "{said}");
    assert!(said.contains("2 entries"), "{said}");

    let text = String::from_utf8(whole).expect("utf-8");
    let cut: String = text.lines().take(3).map(|l| format!("{l}\n")).collect();
    let (code, said) = run("cut.ndjson", cut.as_bytes(), &vkey);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("incomplete"), "{said}");
    // One byte of one leaf changed, its stated hash kept.
    let changed: String = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let mut value: Value = serde_json::from_str(line).expect("line");
            if i == 1 {
                let leaf = value["leaf"].as_str().expect("leaf").replacen('S', "T", 1);
                value["leaf"] = json!(leaf);
            }
            format!("{value}\n")
        })
        .collect();
    let (code, said) = run("changed.ndjson", changed.as_bytes(), &vkey);
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("not the hash of its leaf"), "{said}");
    let skey = sourceledger::secrets::LedgerKey::generate("sourceledger.localhost/ledger");
    let other = sourceledger::secrets::LedgerKey::from_signer_key(&skey)
        .expect("key")
        .verifier_key()
        .to_owned();
    let (code, said) = run("other.ndjson", text.as_bytes(), &other);
    assert_eq!(code, Some(1), "{said}");
}
