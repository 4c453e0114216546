//! The reader's-browser verifier (src/web/verify.js) run under Node's
//! WebCrypto on real lists, honest and altered, side by side with the Rust
//! verifier behind `sourceledger verify`: both must accept the honest list and
//! refuse each alteration. Needs `node` (CI has it); prints SKIPPED without.

use std::process::Command;

use serde_json::{Value, json};
use sourceledger::auth::Role;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(the_browser_verifier_agrees_with_sourceledger_verify);

/// What is altered, how, and words the refusal must contain.
type Alteration = (&'static str, Box<dyn Fn(&mut Value)>, &'static str);

/// The cited sealed source of a list.
fn sealed_source(list: &mut Value) -> &mut Value {
    list["citations"]
        .as_array_mut()
        .and_then(|c| c.iter_mut().find(|c| c["source"]["sealed"] == true))
        .map(|c| &mut c["source"])
        .expect("a sealed source is cited")
}

/// Whether Node runs here (required under CI), saying so when it does not.
pub fn node_here() -> bool {
    if Command::new("node").arg("--version").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI needs node for this test"
    );
    eprintln!("SKIPPED: no node");
    false
}

/// The JS verifier's verdict on `list`.
pub fn verify_in_js(list: &Value, vkey: &str) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("list.json");
    std::fs::write(&file, serde_json::to_vec(list).expect("json")).expect("write");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/web/verify_check.mjs");
    let out = Command::new("node")
        .arg(script)
        .arg(&file)
        .arg(vkey)
        .output()
        .expect("node");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("verdict")
}

async fn the_browser_verifier_agrees_with_sourceledger_verify(backend: Backend) {
    if !node_here() {
        return;
    }
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let article = json!({"slug": "story", "title": "Story \u{201c}quoted\u{201d}", "url": "https://news.example/story", "language": "pt-BR", "authors": ["Ana", "Bo"]});
    assert_eq!(
        app.post_as("/v1/articles", &journalist, article)
            .await
            .status,
        201
    );
    let mut ids = Vec::new();
    for (i, title) in ["Relatório anual <b>", "Dataset", "Entrevista"]
        .iter()
        .enumerate()
    {
        let source = app
            .post_as(
                "/v1/sources",
                &journalist,
                json!({"url": format!("https://s{i}.example/doc"), "title": title, "publisher": "P", "kind": "document",
                       "language": "pt", "published_at": format!("2026-01-0{}", i + 1), "accessed_at": "2026-11-02T10:00:00.123456Z"}),
            )
            .await
            .json();
        ids.push(source["id"].as_str().expect("id").to_owned());
    }
    // A confidential source too: shown as its seal records.
    let sealed = app
        .post_as(
            "/v1/sources",
            &journalist,
            json!({"sealed": true, "url": "https://internal.example/x", "title": "Fonte", "publisher": "P", "kind": "interview", "language": "pt"}),
        )
        .await
        .json();
    ids.push(sealed["id"].as_str().expect("id").to_owned());
    let batch = json!({"citations": ids.iter().map(|id| json!({"source_id": id, "claim": "Claim \u{e9}\n2", "locator": "p1", "quote": "Q"})).collect::<Vec<_>>()});
    let attached = app
        .post_as("/v1/articles/story/citations", &journalist, batch)
        .await
        .json();
    let citations = attached["citations"].as_array().expect("citations");
    let first = citations[0]["id"].as_str().expect("id");
    let second = citations[1]["id"].as_str().expect("id");
    app.post_as(&format!("/v1/citations/{first}/verify"), &editor, json!({}))
        .await;
    app.post_as(
        &format!("/v1/citations/{second}/retract"),
        &editor,
        json!({"reason": "Wrong figure"}),
    )
    .await;
    app.post_as("/v1/articles/story/publish", &editor, json!({}))
        .await;
    let list = app
        .get_as("/v1/articles/story/sources", &admin)
        .await
        .json();
    let vkey = app.state.ledger.vkey().to_owned();

    assert_eq!(
        list["citations"]
            .as_array()
            .map(|c| c.iter().filter(|c| c["source"]["sealed"] == true).count()),
        Some(1),
        "{list}"
    );
    let honest = verify_in_js(&list, &vkey);
    assert_eq!(honest["ok"], true, "{honest}");
    let newest = list["article"]["updated_at"].as_str().expect("updated_at");
    assert_eq!(
        honest["latest"], newest,
        "the article's publication is the newest fact"
    );
    assert!(sourceledger::verify::list::check(&list, &vkey).ok());

    let other_key = {
        let skey = sourceledger::secrets::LedgerKey::generate("test.sourceledger.example/ledger");
        sourceledger::secrets::LedgerKey::from_signer_key(&skey)
            .expect("key")
            .verifier_key()
            .to_owned()
    };
    let altered: Vec<Alteration> = vec![
        (
            "a URL",
            Box::new(|l| l["citations"][0]["source"]["url"] = json!("https://evil.example/")),
            "url",
        ),
        (
            "a title",
            Box::new(|l| l["citations"][1]["source"]["title"] = json!("Other")),
            "title",
        ),
        (
            "a proof hash",
            Box::new(|l| l["citations"][0]["proof"]["source"]["proof"][0] = json!("00".repeat(32))),
            "inclusion proof",
        ),
        (
            "a leaf",
            Box::new(|l| {
                let leaf = l["article"]["proof"]["leaf"]
                    .as_str()
                    .expect("leaf")
                    .replace("Story", "Stori");
                l["article"]["proof"]["leaf"] = json!(leaf);
            }),
            "leaf_hash",
        ),
        (
            "the verifier",
            Box::new(|l| l["citations"][0]["verified_by"] = json!("editor:someone-else")),
            "verified_by",
        ),
        (
            "a link state",
            Box::new(|l| l["citations"][0]["source"]["link_status"] = json!("gone")),
            "link state",
        ),
        (
            "a retraction hidden",
            Box::new(|l| {
                let retracted = l["retracted"][0].clone();
                l["citations"].as_array_mut().expect("list").push(retracted);
                l["retracted"] = json!([]);
            }),
            "wrong place",
        ),
        (
            "a sealed source's kind",
            Box::new(|l| sealed_source(l)["kind"] = json!("document")),
            "kind",
        ),
        (
            "a sealed source shown as open",
            Box::new(|l| sealed_source(l)["sealed"] = json!(false)),
            "source.sealed entry",
        ),
        (
            "the checkpoint",
            Box::new(|l| {
                let note = l["checkpoint"].as_str().expect("note").to_owned();
                let mut lines: Vec<&str> = note.split('\n').collect();
                let size = format!("{}", lines[1].parse::<u64>().expect("size") + 1);
                lines[1] = &size;
                l["checkpoint"] = json!(lines.join("\n"));
            }),
            "signature",
        ),
    ];
    for (what, alter, reason) in &altered {
        let mut tampered = list.clone();
        alter(&mut tampered);
        let verdict = verify_in_js(&tampered, &vkey);
        assert_eq!(verdict["ok"], false, "{what} altered passed in JS");
        let said = verdict["reason"].as_str().expect("reason");
        assert!(said.contains(reason), "{what}: {said}");
        assert!(
            !sourceledger::verify::list::check(&tampered, &vkey).ok(),
            "{what} altered passed in Rust"
        );
    }
    let signed_by_another = verify_in_js(&list, &other_key);
    assert_eq!(signed_by_another["ok"], false);
    assert!(
        signed_by_another["reason"]
            .as_str()
            .is_some_and(|r| r.contains("signature")),
        "{signed_by_another}"
    );
}

on_both_backends!(a_disclosed_seal_is_shown_and_checked_by_both_verifiers);

/// Both verifiers on `list`: the JS verdict, and whether Rust accepted it.
fn verdicts(list: &Value, vkey: &str) -> (Value, bool, String) {
    let js = verify_in_js(list, vkey);
    let rust = sourceledger::verify::list::check(list, vkey);
    (js, rust.ok(), rust.failures.join("; "))
}

/// A sealed source cited in a published article and then disclosed: every
/// reader's list, page and format shows it like any source, with the seal's
/// proof (since when it was held) and the disclosure's; both verifiers check
/// that the disclosure opens the seal, and refuse a disclosure that does not.
async fn a_disclosed_seal_is_shown_and_checked_by_both_verifiers(backend: Backend) {
    if !node_here() {
        return;
    }
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let (_, reader) = app.member(&admin, "reader").await;
    app.post_as("/v1/articles", &journalist, json!({"slug": "water", "title": "Water", "url": "https://news.example/water", "language": "en", "authors": ["A"]}))
        .await;
    let sealed = app
        .post_as(
            "/v1/sources",
            &journalist,
            json!({"sealed": true, "url": "https://internal.example/memo", "title": "The leaked memo", "publisher": "Ministry of Water",
                   "kind": "document", "language": "en", "accessed_at": "2026-11-30"}),
        )
        .await
        .json();
    let id = sealed["id"].as_str().expect("id").to_owned();
    app.post_as(
        "/v1/articles/water/citations",
        &journalist,
        json!({"source_id": id, "claim": "The ministry knew.", "locator": "p1"}),
    )
    .await;
    app.post_as("/v1/articles/water/publish", &editor, json!({}))
        .await;
    let before = app
        .get_as("/v1/articles/water/sources", &reader)
        .await
        .json();
    assert!(before["citations"][0]["proof"]["disclosure"].is_null());
    assert!(before["citations"][0]["source"]["url"].is_null());
    let disclosed = app
        .post_as(&format!("/v1/sources/{id}/disclose"), &editor, json!({}))
        .await;
    assert_eq!(disclosed.status, 200, "{}", disclosed.text());

    let list = app
        .get_as("/v1/articles/water/sources", &reader)
        .await
        .json();
    let item = &list["citations"][0];
    let source = &item["source"];
    assert_eq!(source["sealed"], true);
    assert_eq!(source["title"], "The leaked memo");
    assert_eq!(source["url"], "https://internal.example/memo");
    assert_eq!(source["publisher"], "Ministry of Water");
    assert_eq!(source["accessed_at"], "2026-11-30");
    assert!(source["disclosed_at"].is_string());
    assert_eq!(item["proof"]["source"]["index"], source["ledger_index"]);
    assert_eq!(
        item["proof"]["disclosure"]["index"],
        source["disclosure_index"]
    );
    let vkey = app.state.ledger.vkey().to_owned();
    let (js, rust, why) = verdicts(&list, &vkey);
    assert_eq!(js["ok"], true, "{js}");
    assert!(rust, "{why}");

    // Every rendering shows the record, and when it was held since.
    let page = app.get_as("/articles/water/sources", &reader).await.text();
    assert!(page.contains("https://internal.example/memo"), "page");
    assert!(page.contains("Held sealed since"), "page");
    for format in ["bibtex", "ris", "csl-json", "jsonld"] {
        let text = app
            .get_as(
                &format!("/v1/articles/water/sources?format={format}"),
                &reader,
            )
            .await
            .text();
        assert!(
            text.contains("https://internal.example/memo"),
            "{format}: {text}"
        );
        assert!(text.contains("The leaked memo"), "{format}: {text}");
    }
    let teaser = app.get("/v1/articles/water/sources").await.json();
    assert_eq!(teaser["sources"][0]["title"], "The leaked memo");
    assert!(
        teaser["sources"][0]["url"].is_null(),
        "the teaser stays locked"
    );

    // Altered: each refused by both verifiers, for the reason given.
    let altered: Vec<Alteration> = vec![
        (
            "a title that is not the disclosed one",
            Box::new(|l| l["citations"][0]["source"]["title"] = json!("Another memo")),
            "title",
        ),
        (
            "one byte of the disclosure",
            Box::new(|l| {
                let leaf = l["citations"][0]["proof"]["disclosure"]["leaf"]
                    .as_str()
                    .expect("leaf")
                    .replacen("memo", "mema", 1);
                l["citations"][0]["proof"]["disclosure"]["leaf"] = json!(leaf);
            }),
            "leaf_hash",
        ),
        (
            "the disclosure swapped for another entry",
            Box::new(|l| {
                l["citations"][0]["proof"]["disclosure"] =
                    l["citations"][0]["proof"]["citation"].clone()
            }),
            "disclosure",
        ),
        (
            "the disclosure's proof dropped",
            Box::new(|l| {
                l["citations"][0]["proof"]
                    .as_object_mut()
                    .expect("proofs")
                    .remove("disclosure");
            }),
            "not proven",
        ),
    ];
    for (what, alter, reason) in &altered {
        let mut tampered = list.clone();
        alter(&mut tampered);
        let (js, rust, _) = verdicts(&tampered, &vkey);
        assert_eq!(js["ok"], false, "{what} passed in JS");
        let said = js["reason"].as_str().expect("reason");
        assert!(said.contains(reason), "{what}: {said}");
        assert!(!rust, "{what} passed in Rust");
    }

    // A disclosure in the log whose record does not open the seal (what a
    // newsroom rewriting a source after the fact would have to append): the
    // list is signed and every proof holds, and both verifiers refuse it.
    let forged_id = {
        let other = app
            .post_as(
                "/v1/sources",
                &journalist,
                json!({"sealed": true, "url": "https://internal.example/second", "title": "Second", "publisher": "P", "kind": "interview", "language": "en"}),
            )
            .await
            .json();
        other["id"].as_str().expect("id").to_owned()
    };
    app.post_as(
        "/v1/articles/water/citations",
        &journalist,
        json!({"source_id": forged_id, "claim": "Said so.", "locator": "p2"}),
    )
    .await;
    forge_disclosure(&app, &forged_id);
    let list = app
        .get_as("/v1/articles/water/sources", &reader)
        .await
        .json();
    assert_eq!(list["citations"][1]["source"]["title"], "Rewritten");
    let (js, rust, why) = verdicts(&list, &vkey);
    assert_eq!(js["ok"], false, "{js}");
    assert!(
        js["reason"]
            .as_str()
            .is_some_and(|r| r.contains("does not open the seal")),
        "{js}"
    );
    assert!(!rust);
    assert!(why.contains("do not open the seal's commitment"), "{why}");
}

/// Appends a `source.disclosed` entry for `id` with a record other than the
/// sealed one, and points the sealed source at it, as only someone who
/// controls the server could.
fn forge_disclosure(app: &TestApp, id: &str) {
    use diesel::prelude::*;
    use sourceledger::db::schema::sealed_sources;
    let mut conn = app.state.db.get().expect("conn");
    let (commitment, sealed_index): (String, i64) = sealed_sources::table
        .find(id)
        .select((sealed_sources::commitment, sealed_sources::ledger_index))
        .first(&mut *conn)
        .expect("sealed row");
    let record = json!({"id": id, "version": 1, "url": "https://internal.example/rewritten", "title": "Rewritten",
        "publisher": "P", "kind": "interview", "language": "en", "published_at": null, "accessed_at": null,
        "snapshot_sha256": null, "archive_url": null, "doi": null});
    let appended =
        sourceledger::ledger::write_transaction::<_, sourceledger::ledger::LedgerError, _>(
            &mut conn,
            app.state.db.write_count(),
            |conn, seq| {
                seq.append(
                    conn,
                    "source.disclosed",
                    "editor:forger",
                    &json!({"id": id, "commitment": commitment, "sealed_index": sealed_index,
                        "salt": "00".repeat(32), "record": record}),
                )
            },
        )
        .expect("append");
    diesel::update(sealed_sources::table.find(id))
        .set((
            sealed_sources::disclosed_at.eq(Some(appended.at.clone())),
            sealed_sources::disclosed_by.eq(Some("editor:forger")),
            sealed_sources::disclosure_index.eq(Some(appended.index as i64)),
        ))
        .execute(&mut *conn)
        .expect("point the seal at it");
}
