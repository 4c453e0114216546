//! The source list as CSL-JSON, BibTeX, RIS and JSON-LD: chosen by `?format=`
//! or `Accept`, only the teaser's facts for anonymous callers, hostile text kept
//! literal, and each read back by independent parsers (citation-js from npm,
//! bibtexparser and rispy from PyPI) when `SOURCELEDGER_TEST_FORMAT_TOOLS` names
//! a folder holding them (`.ci/run` installs them there; required in CI).

use std::path::PathBuf;
use std::process::Command;

use actix_web::test::TestRequest;
use serde_json::{Value, json};
use sourceledger::auth::Role;

use crate::helpers::{Backend, Reply, TestApp};
use crate::on_both_backends;

on_both_backends!(
    the_list_comes_in_the_formats_readers_cite_with,
    every_entry_of_a_large_batch_keeps_its_own_key
);

const HOSTILE: &str = "<img src=x onerror=alert(1)> {50% & $x_1^2} \\ ~#";
const CLAIM: &str = "It rose.\nER  - injected";

async fn fetch(app: &TestApp, query: &str, accept: Option<&str>, token: Option<&str>) -> Reply {
    let mut req = TestRequest::get().uri(&format!("/v1/articles/story/sources{query}"));
    if let Some(accept) = accept {
        req = req.insert_header(("Accept", accept));
    }
    if let Some(token) = token {
        req = req.insert_header(("Authorization", format!("Bearer {token}")));
    }
    app.call(req).await
}

/// The folder with `venv/bin/python` (bibtexparser, rispy) and
/// `node_modules` (citation-js), or None, saying so.
fn tools() -> Option<PathBuf> {
    let found = std::env::var_os("SOURCELEDGER_TEST_FORMAT_TOOLS").map(PathBuf::from);
    if found.is_none() {
        assert!(
            std::env::var_os("SOURCELEDGER_TEST_REQUIRE_FORMAT_TOOLS").is_none(),
            "SOURCELEDGER_TEST_REQUIRE_FORMAT_TOOLS is set but SOURCELEDGER_TEST_FORMAT_TOOLS is not"
        );
        eprintln!("SKIPPED: independent format parsers (set SOURCELEDGER_TEST_FORMAT_TOOLS)");
    }
    found
}

/// Runs an independent parser on `body`, as `kind`; its JSON output.
fn parse_with(tools: &std::path::Path, program: &str, kind: &str, body: &[u8]) -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join(format!("list.{kind}"));
    std::fs::write(&file, body).expect("write");
    let here = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/formats");
    let output = if program == "node" {
        Command::new("node")
            .arg(format!("{here}/check.mjs"))
            .env("SOURCELEDGER_TEST_FORMAT_TOOLS", tools)
            .arg(kind)
            .arg(&file)
            .output()
    } else {
        Command::new(tools.join("venv/bin/python"))
            .arg(format!("{here}/check.py"))
            .arg(kind)
            .arg(&file)
            .output()
    }
    .expect("run the parser");
    assert!(
        output.status.success(),
        "{program} {kind}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("parser output")
}

async fn the_list_comes_in_the_formats_readers_cite_with(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let article = json!({"slug": "story", "title": "Story", "url": "https://news.example/story", "language": "en", "authors": ["Ana Reporter"]});
    assert_eq!(
        app.post_as("/v1/articles", &journalist, article)
            .await
            .status,
        201
    );
    let hostile = app
        .post_as(
            "/v1/sources",
            &journalist,
            json!({"url": "https://stats.example/report?a=1&b=50%25", "title": HOSTILE, "publisher": "Stats & Co", "kind": "dataset",
                   "language": "en", "published_at": "2026-10-01", "accessed_at": "2026-11-02T10:00:00Z",
                   "archive_url": "https://archive.example/stats", "doi": "10.1234/abc_1"}),
        )
        .await
        .json();
    let plain = app
        .post_as(
            "/v1/sources",
            &journalist,
            json!({"url": "https://gov.example/statement", "title": "Statement", "publisher": "Ministry", "kind": "official_statement", "language": "pt-BR"}),
        )
        .await
        .json();
    let batch = json!({"citations": [
        {"source_id": hostile["id"], "claim": CLAIM, "locator": "paragraph 2"},
        {"source_id": plain["id"], "claim": "It was said.", "locator": "paragraph 5"},
    ]});
    assert_eq!(
        app.post_as("/v1/articles/story/citations", &journalist, batch)
            .await
            .status,
        201
    );
    assert_eq!(
        app.post_as("/v1/articles/story/publish", &editor, json!({}))
            .await
            .status,
        200
    );
    let (_, reader) = app.member(&admin, "m").await;

    let types = [
        ("csl-json", "application/vnd.citationstyles.csl+json"),
        ("bibtex", "application/x-bibtex"),
        ("ris", "application/x-research-info-systems"),
        ("jsonld", "application/ld+json"),
    ];
    let mut bodies = std::collections::HashMap::new();
    for (name, media) in types {
        // Anonymous: the teaser's facts only: no links, archive, DOI or claim.
        let teaser = fetch(&app, &format!("?format={name}"), None, None).await;
        assert_eq!(teaser.status, 200, "{name}: {}", teaser.text());
        assert!(
            teaser
                .header("content-type")
                .is_some_and(|t| t.starts_with(media))
        );
        let text = teaser.text();
        for secret in [
            "stats.example",
            "archive.example",
            "gov.example",
            "10.1234",
            "It rose",
        ] {
            assert!(
                !text.contains(secret),
                "{name} teaser shows {secret}: {text}"
            );
        }
        assert!(text.contains("Ministry"), "{name}: {text}");

        // A subscriber: everything, by name or by Accept, each with its own ETag.
        let full = fetch(&app, &format!("?format={name}"), None, Some(&reader)).await;
        assert_eq!(full.status, 200);
        let by_accept = fetch(&app, "", Some(media), Some(&reader)).await;
        assert_eq!(by_accept.body, full.body, "{name} by Accept");
        let tag = full.header("etag").expect("etag").to_owned();
        assert_ne!(Some(tag.as_str()), teaser.header("etag"));
        let again = app
            .call(
                TestRequest::get()
                    .uri(&format!("/v1/articles/story/sources?format={name}"))
                    .insert_header(("Authorization", format!("Bearer {reader}")))
                    .insert_header(("If-None-Match", tag)),
            )
            .await;
        assert_eq!(again.status, 304);
        assert!(full.text().contains("gov.example/statement"), "{name}");
        bodies.insert(name, full.body.clone());
    }
    fetch(&app, "?format=pdf", None, None)
        .await
        .assert_problem(400, "invalid_query");
    // The JSON list stays the default, whatever else Accept names.
    let json_list = fetch(&app, "", Some("text/html, */*"), Some(&reader)).await;
    assert!(
        json_list
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json"))
    );

    // The RIS claim's line break cannot end the record early.
    let ris = String::from_utf8(bodies["ris"].clone()).expect("utf-8");
    assert_eq!(
        ris.matches("\nER  - ").count() + usize::from(ris.starts_with("ER  - ")),
        2,
        "{ris}"
    );
    // JSON-LD: a NewsArticle citing each source, with url and archivedAt.
    let ld: Value = serde_json::from_slice(&bodies["jsonld"]).expect("json-ld");
    assert_eq!(ld["@type"], "NewsArticle");
    assert_eq!(ld["citation"][0]["name"], HOSTILE);
    assert_eq!(
        ld["citation"][0]["archivedAt"],
        "https://archive.example/stats"
    );
    assert_eq!(ld["citation"][1]["url"], "https://gov.example/statement");

    let Some(tools) = tools() else { return };
    // citation-js reads all three and formats a bibliography from each.
    for kind in ["csl-json", "bibtex", "ris"] {
        let read = parse_with(&tools, "node", kind, &bodies[kind]);
        let items = read["items"].as_array().expect("items");
        assert_eq!(items.len(), 2, "{kind}: {read}");
        let first = &items[0];
        assert_eq!(first["title"], HOSTILE, "{kind}: {first}");
        assert_eq!(
            first["URL"], "https://stats.example/report?a=1&b=50%25",
            "{kind}: {first}"
        );
        assert_eq!(first["DOI"], "10.1234/abc_1", "{kind}: {first}");
        assert_eq!(items[1]["title"], "Statement", "{kind}");
        let bibliography = read["bibliography"].as_str().expect("bibliography");
        assert!(
            bibliography.contains("Statement") && bibliography.contains("Ministry"),
            "{kind}: {bibliography}"
        );
    }
    // bibtexparser and rispy, field by field.
    let bib = parse_with(&tools, "python", "bibtex", &bodies["bibtex"]);
    assert_eq!(bib["failed_blocks"], json!([]), "{bib}");
    let bib = &bib["entries"];
    let entry = &bib[0];
    assert_eq!(entry["ENTRYTYPE"], "online");
    assert_eq!(
        entry["title"],
        "<img src=x onerror=alert(1)> \\{50\\% \\& \\$x\\_1\\textasciicircum{}2\\} \\textbackslash{} \\textasciitilde{}\\#"
    );
    assert_eq!(entry["url"], "https://stats.example/report?a=1&b=50%25");
    assert_eq!(entry["urldate"], "2026-11-02");
    assert_eq!(entry["doi"], "10.1234/abc_1");
    assert_eq!(bib[1]["title"], "Statement");
    let ris = parse_with(&tools, "python", "ris", &bodies["ris"]);
    let record = &ris[0];
    assert_eq!(record["type_of_reference"], "ELEC");
    assert_eq!(record["title"], HOSTILE);
    assert_eq!(
        record["urls"][0],
        "https://stats.example/report?a=1&b=50%25"
    );
    assert_eq!(record["access_date"], "2026/11/02");
    assert_eq!(record["doi"], "10.1234/abc_1");
    assert_eq!(ris[1]["title"], "Statement");
    assert_eq!(ris[1]["language"], "pt-BR");
}

/// 300 citations attached in one batch share the millisecond of their UUIDv7
/// ids: each still gets its own BibTeX key, CSL id and RIS ID, the same on
/// every request, and every independent parser keeps all 300.
async fn every_entry_of_a_large_batch_keeps_its_own_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let article = json!({"slug": "story", "title": "Story", "url": "https://news.example/story", "language": "en", "authors": ["A"]});
    app.post_as("/v1/articles", &journalist, article).await;
    let mut citations = Vec::new();
    for i in 0..100 {
        let source = app
            .record_source(
                &journalist,
                json!({"url": format!("https://docs.example/{i}"), "title": format!("Doc {i}"), "publisher": "P", "kind": "document", "language": "en"}),
            )
            .await;
        // Each source cited three times: the teaser's entries share record hashes.
        for n in 0..3 {
            citations.push(json!({"source_id": source["id"], "claim": format!("claim {i}.{n}"), "locator": "l"}));
        }
    }
    let attached = app
        .post_as(
            "/v1/articles/story/citations",
            &journalist,
            json!({ "citations": citations }),
        )
        .await;
    assert_eq!(attached.status, 201, "{}", attached.text());
    assert_eq!(
        app.post_as("/v1/articles/story/publish", &editor, json!({}))
            .await
            .status,
        200
    );
    let (_, reader) = app.member(&admin, "m").await;

    // The teaser lists each source once.
    for (token, count) in [(Some(reader.as_str()), 300), (None, 100)] {
        let bibtex = fetch(&app, "?format=bibtex", None, token).await;
        assert_eq!(bibtex.status, 200);
        let again = fetch(&app, "?format=bibtex", None, token).await;
        assert_eq!(bibtex.body, again.body, "keys are stable across requests");
        let keys: Vec<String> = bibtex
            .text()
            .lines()
            .filter_map(|l| l.strip_prefix("@online{").or(l.strip_prefix("@misc{")))
            .map(|l| l.trim_end_matches(',').to_owned())
            .collect();
        assert_eq!(keys.len(), count, "{}", bibtex.text());
        let unique: std::collections::HashSet<&String> = keys.iter().collect();
        assert_eq!(unique.len(), count, "duplicate BibTeX keys: {keys:?}");

        let csl = fetch(&app, "?format=csl-json", None, token).await.json();
        let ids: std::collections::HashSet<&str> = csl
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|i| i["id"].as_str())
            .collect();
        assert_eq!(ids.len(), count, "duplicate CSL ids");
        let ris = fetch(&app, "?format=ris", None, token).await.text();
        let ris_ids: std::collections::HashSet<&str> = ris
            .lines()
            .filter_map(|l| l.strip_prefix("ID  - "))
            .collect();
        assert_eq!(ris_ids.len(), count, "duplicate RIS IDs");

        let Some(tools) = tools() else { continue };
        let bib = parse_with(&tools, "python", "bibtex", &bibtex.body);
        assert_eq!(
            bib["failed_blocks"],
            json!([]),
            "bibtexparser failed blocks"
        );
        assert_eq!(bib["entries"].as_array().map(Vec::len), Some(count));
        let read = parse_with(&tools, "node", "bibtex", &bibtex.body);
        let items = read["items"].as_array().expect("items");
        assert_eq!(items.len(), count, "citation-js");
        let ids: std::collections::HashSet<&str> =
            items.iter().filter_map(|i| i["id"].as_str()).collect();
        assert_eq!(ids.len(), count, "citation-js ids");
    }
}
