//! The embargo: before publication nothing of a story (its title, URLs,
//! claims, quotes, uploads) reaches a subscriber, an anonymous reader or the
//! public log, byte for byte; publication discloses it all in one
//! transaction, and both verifiers check every disclosure against the
//! commitment made when the newsroom first held it (`held_since`).

use std::path::Path;
use std::process::Command;

use actix_web::test::TestRequest;
use serde_json::{Value, json};
use sourceledger::auth::Role;

use crate::helpers::{Backend, Reply, TestApp};
use crate::on_both_backends;

on_both_backends!(
    nothing_of_a_draft_leaves_the_newsroom,
    publication_discloses_what_both_verifiers_check,
    a_source_is_disclosed_once_and_only_by_a_publication_that_cites_it,
    with_the_embargo_off_entries_are_in_the_open,
);

const MARK: &str = "q7f3c";

async fn spawn(backend: Backend, on: bool) -> TestApp {
    TestApp::spawn_with(backend, |s| s.embargo = on).await
}

struct Story {
    journalist: String,
    editor: String,
    admin: String,
    sources: Vec<String>,
    citations: Vec<String>,
    upload: String,
}

/// A draft with two sources (one with an uploaded PDF), both cited, one
/// citation verified; every text carries MARK.
async fn draft(app: &TestApp, slug: &str) -> Story {
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let admin = app.admin_token().await;
    let made = app
        .post_as(
            "/v1/articles",
            &journalist,
            json!({"slug": slug, "title": format!("The {MARK} scoop"), "url": format!("https://news.example/{slug}-{MARK}"), "language": "en", "authors": ["Ana"]}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text());
    let pdf = format!("%PDF-1.4 the leaked memo {MARK} {slug}").into_bytes();
    let uploaded = app
        .call(
            TestRequest::put()
                .uri("/v1/snapshots")
                .insert_header(("Authorization", format!("Bearer {journalist}")))
                .insert_header(("Content-Type", "application/pdf"))
                .set_payload(pdf),
        )
        .await;
    assert_eq!(uploaded.status, 201, "{}", uploaded.text());
    let upload = uploaded.json()["sha256"].as_str().expect("sha").to_owned();
    let mut sources = Vec::new();
    for i in 0..2 {
        let mut body = json!({"url": format!("https://leak.example/{slug}/{MARK}-{i}"), "title": format!("Memo {MARK} {i}"),
                              "publisher": format!("Ministry {MARK}"), "kind": "document", "language": "en"});
        if i == 0 {
            body["snapshot_sha256"] = json!(upload);
        }
        let source = app.record_source(&journalist, body).await;
        sources.push(source["id"].as_str().expect("id").to_owned());
    }
    // A second version of the first: its new versions are embargoed too.
    let revised = app
        .send(
            "PATCH",
            &format!("/v1/sources/{}", sources[0]),
            Some(&journalist),
            Some(json!({"title": format!("Memo {MARK} 0, revised")})),
        )
        .await;
    assert_eq!(revised.status, 200, "{}", revised.text());
    let cited = app
        .post_as(
            &format!("/v1/articles/{slug}/citations"),
            &journalist,
            json!({"citations": sources.iter().enumerate().map(|(i, id)| json!({
                "source_id": id, "claim": format!("claim {MARK} {i}"), "quote": format!("quote {MARK} {i}"), "locator": "p1"})).collect::<Vec<_>>()}),
        )
        .await;
    assert_eq!(cited.status, 201, "{}", cited.text());
    let citations: Vec<String> = cited.json()["citations"]
        .as_array()
        .expect("citations")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_owned())
        .collect();
    let verified = app
        .post_as(
            &format!("/v1/citations/{}/verify", citations[0]),
            &editor,
            json!({}),
        )
        .await;
    assert_eq!(verified.status, 200);
    Story {
        journalist,
        editor,
        admin,
        sources,
        citations,
        upload,
    }
}

/// Every entry of the log, as `token` reads them.
async fn all_entries(app: &TestApp, token: &str) -> Vec<Value> {
    let page = app
        .get_as("/v1/ledger/entries?start=0&limit=1000", token)
        .await
        .json();
    page["entries"].as_array().expect("entries").clone()
}

/// Every entry bundle of the log's tiles, concatenated.
async fn bundles(app: &TestApp, token: &str) -> Vec<u8> {
    let size = app.ledger_size();
    let mut out = Vec::new();
    for tile in 0..size.div_ceil(256) {
        let rest = size - tile * 256;
        let path = if rest >= 256 {
            format!("/tile/entries/{tile:03}")
        } else {
            format!("/tile/entries/{tile:03}.p/{rest}")
        };
        let got = app.get_as(&path, token).await;
        assert_eq!(got.status, 200, "{path}: {}", got.text());
        out.extend(got.body);
    }
    out
}

fn holds_nothing_of(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(!text.contains(MARK), "{what} shows the story: {text}");
}

async fn nothing_of_a_draft_leaves_the_newsroom(backend: Backend) {
    let app = spawn(backend, true).await;
    let story = draft(&app, "scoop").await;
    let (_, reader) = app.member(&story.admin, "rival").await;

    // The log itself: every leaf, every tile, to a paying rival.
    let entries = all_entries(&app, &reader).await;
    assert_eq!(entries.len(), 7, "{entries:?}");
    holds_nothing_of(
        "the entries",
        serde_json::to_string(&entries).expect("json").as_bytes(),
    );
    for entry in &entries {
        assert_eq!(entry["kind"], "embargo.committed", "{entry}");
        assert!(
            !entry["actor"].as_str().expect("actor").contains(':'),
            "a commitment names the role, not who: {entry}"
        );
    }
    holds_nothing_of("the tiles", &bundles(&app, &reader).await);

    // Every other way in: refused or nothing.
    let probes: Vec<(String, Option<&str>, &[u16])> = vec![
        ("/v1/articles/scoop/sources".into(), Some(&reader), &[404]),
        ("/v1/articles/scoop/sources".into(), None, &[404]),
        ("/articles/scoop/sources".into(), Some(&reader), &[404]),
        ("/articles/scoop/sources".into(), None, &[404]),
        ("/v1/articles/scoop".into(), Some(&reader), &[404]),
        ("/v1/articles".into(), Some(&reader), &[200]),
        ("/v1/articles".into(), None, &[200]),
        (
            format!("/v1/snapshots/{}", story.upload),
            Some(&reader),
            &[404],
        ),
        (
            format!("/v1/sources/{}", story.sources[0]),
            Some(&reader),
            &[404],
        ),
        (
            format!("/v1/sources/{}/versions", story.sources[0]),
            Some(&reader),
            &[404],
        ),
        ("/v1/audit/events".into(), Some(&reader), &[403]),
        ("/v1/audit/export".into(), Some(&reader), &[403]),
        ("/v1/audit/export".into(), None, &[401]),
        ("/v1/ledger/entries/0".into(), Some(&reader), &[200]),
        ("/v1/ledger/checkpoints".into(), None, &[200]),
    ];
    for (uri, token, statuses) in probes {
        let got: Reply = match token {
            Some(t) => app.get_as(&uri, t).await,
            None => app.get(&uri).await,
        };
        assert!(
            statuses.contains(&got.status.as_u16()),
            "{uri}: {} {}",
            got.status,
            got.text()
        );
        holds_nothing_of(&uri, &got.body);
    }

    // Staff read everything on the server, as before.
    let auditor = app.token_of(Role::Auditor).await;
    let export = app.get_as("/v1/audit/export", &auditor).await;
    holds_nothing_of("the export (the log's leaves)", &export.body);
    let staff_source = app
        .get_as(
            &format!("/v1/sources/{}", story.sources[0]),
            &story.journalist,
        )
        .await;
    assert!(staff_source.text().contains(MARK));
    let staff_pdf = app
        .get_as(&format!("/v1/snapshots/{}", story.upload), &story.editor)
        .await;
    assert_eq!(staff_pdf.status, 200);
    // The staff's own list of the draft verifies with the commitments'
    // openings, and the server's audit opens every commitment.
    let staff_list = app
        .get_as("/v1/articles/scoop/sources", &story.editor)
        .await;
    assert_eq!(staff_list.status, 200);
    let vkey = app.state.ledger.vkey().to_owned();
    let report = sourceledger::verify::list::check(&staff_list.json(), &vkey);
    assert!(report.ok(), "{:?}", report.failures);
    let audit = app
        .post_as("/v1/audit/verify", &auditor, json!({}))
        .await
        .json();
    assert_eq!(audit["ok"], true, "{audit}");
}

/// The browser's verifier (src/web/verify.js) under Node, when Node runs here.
fn verify_in_js(list: &Value, vkey: &str) -> Option<Value> {
    crate::web_verifier::node_here().then(|| crate::web_verifier::verify_in_js(list, vkey))
}

/// `sourceledger verify` on a saved list: exit code and what it said.
fn verify_cli(list: &Value, vkey: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("list.json");
    std::fs::write(&file, serde_json::to_vec(list).expect("json")).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_sourceledger"))
        .args(["verify", "--vkey", vkey])
        .arg(&file)
        .output()
        .expect("verify");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

async fn publication_discloses_what_both_verifiers_check(backend: Backend) {
    let app = spawn(backend, true).await;
    let story = draft(&app, "scoop").await;
    let (_, reader) = app.member(&story.admin, "reader").await;
    let before = app.ledger_size();
    let published = app
        .post_as("/v1/articles/scoop/publish", &story.editor, json!({}))
        .await;
    assert_eq!(published.status, 200, "{}", published.text());
    // Every commitment the article needs is disclosed, with the publication,
    // which comes last.
    let entries = all_entries(&app, &reader).await;
    let added: Vec<&Value> = entries.iter().skip(before as usize).collect();
    let last = added.last().expect("entries");
    assert_eq!(last["kind"], "article.published");
    let disclosed = added
        .iter()
        .filter(|e| e["kind"] == "embargo.disclosed")
        .count();
    let committed = entries
        .iter()
        .take(before as usize)
        .filter(|e| e["kind"] == "embargo.committed")
        .count();
    assert_eq!(
        disclosed, committed,
        "every commitment of this story disclosed"
    );
    assert_eq!(added.len(), disclosed + 1);

    let list = app
        .get_as("/v1/articles/scoop/sources", &reader)
        .await
        .json();
    let publication_at = list["article"]["updated_at"]
        .as_str()
        .expect("at")
        .to_owned();
    let items = list["citations"].as_array().expect("citations");
    assert_eq!(items.len(), 2);
    for item in items {
        for held in [&item["held_since"], &item["source"]["held_since"]] {
            let held = held.as_str().expect("held_since");
            assert!(held < publication_at.as_str(), "{held} !< {publication_at}");
        }
        assert!(item["proof"]["source"]["commitment"].is_object(), "{item}");
        assert!(
            item["source"]["url"]
                .as_str()
                .is_some_and(|u| u.contains(MARK))
        );
    }
    // The upload is the readers' now that a published source names it.
    let pdf = app
        .get_as(&format!("/v1/snapshots/{}", story.upload), &reader)
        .await;
    assert_eq!(pdf.status, 200);
    let page = app.get_as("/articles/scoop/sources", &reader).await.text();
    assert!(page.contains("Held since"), "the page says since when");

    let vkey = app.state.ledger.vkey().to_owned();
    let (code, said) = verify_cli(&list, &vkey);
    assert_eq!(code, Some(0), "{said}");
    if let Some(verdict) = verify_in_js(&list, &vkey) {
        assert_eq!(verdict["ok"], true, "{verdict}");
    }

    // Altered: refused by both, with the reason.
    type Alter = (&'static str, Box<dyn Fn(&mut Value)>, &'static str);
    let alterations: Vec<Alter> = vec![
        (
            "a disclosure with one byte changed",
            Box::new(|l| {
                let p = &mut l["citations"][0]["proof"]["source"];
                let leaf = p["leaf"].as_str().expect("leaf").replacen(MARK, "q7f3d", 1);
                p["leaf"] = json!(leaf);
            }),
            "leaf_hash",
        ),
        (
            "a commitment swapped for another",
            Box::new(|l| {
                let other = l["citations"][1]["proof"]["source"]["commitment"].clone();
                l["citations"][0]["proof"]["source"]["commitment"] = other;
            }),
            "commitment",
        ),
        (
            "held_since moved earlier",
            Box::new(|l| {
                l["citations"][0]["source"]["held_since"] = json!("2020-01-01T00:00:00.000000Z")
            }),
            "held_since",
        ),
        (
            "a citation's held_since moved earlier",
            Box::new(|l| l["citations"][1]["held_since"] = json!("2020-01-01T00:00:00.000000Z")),
            "held_since",
        ),
        (
            "the commitment dropped",
            Box::new(|l| {
                l["citations"][0]["proof"]["citation"]
                    .as_object_mut()
                    .expect("proof")
                    .remove("commitment");
            }),
            "without the commitment",
        ),
    ];
    for (what, alter, reason) in &alterations {
        let mut tampered = list.clone();
        alter(&mut tampered);
        let (code, said) = verify_cli(&tampered, &vkey);
        assert_eq!(code, Some(1), "{what}: {said}");
        assert!(said.contains(reason), "{what}: {said}");
        if let Some(verdict) = verify_in_js(&tampered, &vkey) {
            assert_eq!(verdict["ok"], false, "{what} passed in JS");
            let why = verdict["reason"].as_str().expect("reason");
            assert!(why.contains(reason), "{what}: {why}");
        }
    }

    // The whole log: the server's audit and the tiles' verifier open every
    // disclosure against its commitment.
    let auditor = app.token_of(Role::Auditor).await;
    let audit = app
        .post_as("/v1/audit/verify", &auditor, json!({}))
        .await
        .json();
    assert_eq!(audit["ok"], true, "{audit}");
    let dir = tempfile::tempdir().expect("tempdir");
    crate::tiles::export(&app, dir.path());
    let out = Command::new(env!("CARGO_BIN_EXE_sourceledger"))
        .args(["verify", "--vkey", &vkey, "--tiles"])
        .arg(dir.path())
        .output()
        .expect("verify --tiles");
    let said = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        said.contains(&format!(
            "embargo: {committed} entries committed, {disclosed} disclosed"
        )),
        "{said}"
    );

    // Retracting later changes nothing disclosed.
    let size = app.ledger_size();
    app.post_as(
        "/v1/articles/scoop/retract",
        &story.editor,
        json!({"reason": "r"}),
    )
    .await;
    assert_eq!(app.ledger_size(), size + 1);
    let _ = (&story.journalist, &story.citations);
    assert_tiles_dir_exists(dir.path());
}

fn assert_tiles_dir_exists(dir: &Path) {
    assert!(dir.join("checkpoint").exists());
}

/// How many disclosures of source `id`'s commitments the log holds.
async fn disclosures_of(app: &TestApp, token: &str, id: &str) -> usize {
    all_entries(app, token)
        .await
        .iter()
        .filter(|e| e["kind"] == "embargo.disclosed")
        .filter(|e| {
            let leaf: Value =
                serde_json::from_str(e["leaf"].as_str().expect("leaf")).expect("leaf");
            leaf["record"]["record"]["id"] == id
        })
        .count()
}

async fn a_source_is_disclosed_once_and_only_by_a_publication_that_cites_it(backend: Backend) {
    let app = spawn(backend, true).await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let admin = app.admin_token().await;
    let (_, reader) = app.member(&admin, "reader").await;
    let shared = app
        .record_source(&journalist, json!({"url": format!("https://shared.example/{MARK}"), "title": "Shared", "publisher": "P", "kind": "document", "language": "en"}))
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let kept = app
        .record_source(&journalist, json!({"url": format!("https://kept.example/{MARK}"), "title": "Kept", "publisher": "P", "kind": "document", "language": "en"}))
        .await["id"]
        .as_str()
        .expect("id")
        .to_owned();
    for (slug, cites) in [
        ("a", vec![&shared]),
        ("b", vec![&shared]),
        ("c", vec![&kept]),
    ] {
        app.post_as("/v1/articles", &journalist, json!({"slug": slug, "title": slug, "url": format!("https://news.example/{slug}"), "language": "en", "authors": ["A"]}))
            .await;
        for id in cites {
            let cited = app
                .post_as(
                    &format!("/v1/articles/{slug}/citations"),
                    &journalist,
                    json!({"source_id": id, "claim": format!("{slug} says"), "locator": "p1"}),
                )
                .await;
            assert_eq!(cited.status, 201);
        }
    }
    app.post_as("/v1/articles/a/publish", &editor, json!({}))
        .await;
    assert_eq!(disclosures_of(&app, &reader, &shared).await, 1);
    // B's own citation was committed apart, and is disclosed with B alone.
    let b_citation_disclosed = |entries: &[Value]| {
        entries.iter().any(|e| {
            e["kind"] == "embargo.disclosed"
                && e["leaf"].as_str().is_some_and(|l| l.contains("b says"))
        })
    };
    assert!(!b_citation_disclosed(&all_entries(&app, &reader).await));
    app.post_as("/v1/articles/b/publish", &editor, json!({}))
        .await;
    assert_eq!(
        disclosures_of(&app, &reader, &shared).await,
        1,
        "disclosed once"
    );
    assert!(b_citation_disclosed(&all_entries(&app, &reader).await));
    // Cited only by a draft: still committed, still unreadable.
    assert_eq!(disclosures_of(&app, &reader, &kept).await, 0);
    assert_eq!(
        app.get_as(&format!("/v1/sources/{kept}"), &reader)
            .await
            .status,
        404
    );
    // A new version of a source a published article cites is in the open.
    let size = app.ledger_size();
    app.send(
        "PATCH",
        &format!("/v1/sources/{shared}"),
        Some(&journalist),
        Some(json!({"title": "Shared, revised"})),
    )
    .await;
    let entry = app
        .get_as(&format!("/v1/ledger/entries/{size}"), &reader)
        .await
        .json();
    assert_eq!(entry["kind"], "source.revised");
    // An editor may disclose a source no publication cites.
    let disclosed = app
        .post_as(&format!("/v1/sources/{kept}/disclose"), &editor, json!({}))
        .await;
    assert_eq!(disclosed.status, 200, "{}", disclosed.text());
    assert_eq!(disclosures_of(&app, &reader, &kept).await, 1);
    assert_eq!(
        app.get_as(&format!("/v1/sources/{kept}"), &reader)
            .await
            .status,
        200
    );
    app.post_as(&format!("/v1/sources/{kept}/disclose"), &editor, json!({}))
        .await
        .assert_problem(409, "invalid_transition");
}

async fn with_the_embargo_off_entries_are_in_the_open(backend: Backend) {
    let app = spawn(backend, false).await;
    let story = draft(&app, "open").await;
    let kinds: Vec<String> = all_entries(&app, &story.admin)
        .await
        .iter()
        .map(|e| e["kind"].as_str().expect("kind").to_owned())
        .collect();
    assert!(
        kinds.iter().all(|k| !k.starts_with("embargo.")),
        "{kinds:?}"
    );
    assert!(kinds.contains(&"article.created".to_owned()));
    let size = app.ledger_size();
    app.post_as("/v1/articles/open/publish", &story.editor, json!({}))
        .await;
    assert_eq!(app.ledger_size(), size + 1, "nothing to disclose");
    let (_, reader) = app.member(&story.admin, "reader").await;
    let list = app
        .get_as("/v1/articles/open/sources", &reader)
        .await
        .json();
    let vkey = app.state.ledger.vkey().to_owned();
    assert!(sourceledger::verify::list::check(&list, &vkey).ok());
    let held = list["citations"][0]["held_since"]
        .as_str()
        .expect("held_since");
    assert_eq!(Some(held), list["citations"][0]["verified_at"].as_str());
}

on_both_backends!(a_publication_cut_by_sigkill_discloses_all_or_nothing);

/// An article of 200 embargoed citations of 150 embargoed sources, published
/// while the server is killed with SIGKILL at four moments: after the
/// restart the article is either published with all 351 commitments
/// disclosed, or a draft with none, never in between.
async fn a_publication_cut_by_sigkill_discloses_all_or_nothing(backend: Backend) {
    use crate::process::{ServerProcess, agent, key_token, request, token_for};
    let data = tempfile::tempdir().expect("dir");
    let mut server = ServerProcess::start(
        data.path(),
        crate::witnesses::database_url(&backend).as_deref(),
    );
    let base = server.url();
    let http = agent();
    let admin = token_for(&http, &base, &server.bootstrap_key());
    let journalist = key_token(&http, &base, &admin, "journalist");
    let editor = key_token(&http, &base, &admin, "editor");
    let call = |method: &str, path: &str, token: &str, body: Option<Value>| {
        request(
            &http,
            method,
            &format!("{base}{path}"),
            Some(token),
            body.as_ref(),
        )
        .expect("request")
    };
    let disclosed_count = || {
        let mut n = 0;
        let mut start = 0;
        loop {
            let page = call(
                "GET",
                &format!("/v1/ledger/entries?start={start}&limit=1000"),
                &admin,
                None,
            )
            .body;
            let entries = page["entries"].as_array().cloned().unwrap_or_default();
            n += entries
                .iter()
                .filter(|e| e["kind"] == "embargo.disclosed")
                .count();
            match page["next"].as_u64() {
                Some(next) => start = next,
                None => return n,
            }
        }
    };
    for (round, delay_ms) in [(0u64, 5u64), (1, 40), (2, 120), (3, 400)] {
        let slug = format!("big-{round}");
        let made = call(
            "POST",
            "/v1/articles",
            &journalist,
            Some(
                json!({"slug": slug, "title": "Big", "url": format!("https://news.example/{slug}"), "language": "en", "authors": ["A"]}),
            ),
        );
        assert_eq!(made.status, 201, "{}", made.text);
        let ids: Vec<String> = (0..150)
            .map(|i| {
                let source = call("POST", "/v1/sources", &journalist, Some(json!({"url": format!("https://s.example/{round}/{i}"), "title": format!("S{i}"), "publisher": "P", "kind": "document", "language": "en"})));
                assert_eq!(source.status, 201, "{}", source.text);
                source.body["id"].as_str().expect("id").to_owned()
            })
            .collect();
        let citations: Vec<Value> = (0..200)
            .map(|i| json!({"source_id": ids[i % 150], "claim": format!("c{i}"), "locator": "p"}))
            .collect();
        let cited = call(
            "POST",
            &format!("/v1/articles/{slug}/citations"),
            &journalist,
            Some(json!({"citations": citations})),
        );
        assert_eq!(cited.status, 201, "{}", cited.text);
        let before = disclosed_count();
        let publisher = {
            let (base, editor, slug) = (base.clone(), editor.clone(), slug.clone());
            std::thread::spawn(move || {
                let _ = request(
                    &agent(),
                    "POST",
                    &format!("{base}/v1/articles/{slug}/publish"),
                    Some(&editor),
                    Some(&json!({})),
                );
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        server.restart();
        let _ = publisher.join();
        let status =
            call("GET", &format!("/v1/articles/{slug}"), &journalist, None).body["status"].clone();
        let disclosed = disclosed_count() - before;
        match status.as_str() {
            Some("published") => assert_eq!(
                disclosed, 351,
                "round {round}: published with {disclosed} disclosed"
            ),
            Some("draft") => {
                assert_eq!(
                    disclosed, 0,
                    "round {round}: a draft with {disclosed} disclosed"
                );
                let again = call(
                    "POST",
                    &format!("/v1/articles/{slug}/publish"),
                    &editor,
                    Some(json!({})),
                );
                assert_eq!(again.status, 200, "{}", again.text);
                assert_eq!(disclosed_count() - before, 351);
            }
            other => panic!("round {round}: {other:?}"),
        }
        eprintln!("round {round} (cut after {delay_ms} ms): {status}");
    }
    let auditor = key_token(&http, &base, &admin, "auditor");
    let audit = call("POST", "/v1/audit/verify", &auditor, Some(json!({}))).body;
    assert_eq!(audit["ok"], true, "{audit}");
}
