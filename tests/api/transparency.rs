//! The transparency page: after a newsroom's life in small (publications,
//! citations retracted before and after publication, an article retracted,
//! sealed sources held and disclosed, links that changed and died, and a
//! draft that must not show), its figures equal what a reader counts again
//! from the log's entries and the articles' verified lists; the draft adds
//! nothing; the checkpoint named opens with the publisher's key; the page
//! says the same as the data, is clean for axe-core in Chromium and loads
//! nothing its CSP refuses.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{Value, json};
use sourceledger::auth::Role;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::site::HostSite;

on_both_backends!(
    the_figures_equal_a_recount_and_drafts_do_not_count,
    the_page_is_accessible_and_loads_nothing_refused
);

/// Counts again now, whatever the age of the last count.
async fn recount(app: &TestApp) -> Value {
    app.state
        .transparency
        .refreshed(&app.state, Duration::ZERO)
        .await
        .expect("count");
    let got = app.get("/v1/transparency").await;
    assert_eq!(got.status, 200, "{}", got.text());
    got.json()
}

fn record(url: &str, title: &str) -> Value {
    json!({"url": url, "title": title, "publisher": "Ministry", "kind": "document", "language": "en"})
}

fn sealed(title: &str) -> Value {
    json!({"sealed": true, "url": format!("https://internal.example/{title}"), "title": title,
           "publisher": "Someone", "kind": "interview", "language": "en"})
}

fn cite(source: &Value) -> Value {
    json!({"source_id": source["id"], "source_version": source["version"], "claim": "It is so.", "locator": "p1"})
}

/// What a reader counts from the entries (which articles are out, which
/// were retracted and why, when each was published) and from the verified
/// lists of the published ones (as a subscriber sees them).
async fn recount_as_a_reader(app: &TestApp, reader: &str) -> Value {
    let entries = app
        .get_as("/v1/ledger/entries?start=0&limit=1000", reader)
        .await;
    assert_eq!(entries.status, 200, "{}", entries.text());
    let mut published: BTreeMap<String, String> = BTreeMap::new();
    let mut retracted: Vec<(String, Option<String>)> = Vec::new();
    for entry in entries.json()["entries"].as_array().expect("entries") {
        let leaf: Value =
            serde_json::from_str(entry["leaf"].as_str().expect("leaf")).expect("leaf");
        let slug = leaf["record"]["slug"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        match leaf["kind"].as_str() {
            Some("article.published") => {
                published.insert(slug, leaf["at"].as_str().expect("at").to_owned());
            }
            Some("article.retracted") => {
                published.remove(&slug);
                retracted.push((slug, leaf["record"]["reason"].as_str().map(str::to_owned)));
            }
            _ => {}
        }
    }
    let mut cited: BTreeMap<String, Value> = BTreeMap::new();
    let (mut live, mut withdrawn, mut after) = (0, 0, 0);
    let mut corrected: BTreeSet<String> = BTreeSet::new();
    let mut corrections: Vec<(String, String)> = Vec::new();
    let (mut held, mut disclosed): (BTreeSet<String>, BTreeSet<String>) = Default::default();
    for (slug, published_at) in &published {
        let list = app
            .get_as(&format!("/v1/articles/{slug}/sources"), reader)
            .await;
        assert_eq!(list.status, 200, "{}", list.text());
        let list = list.json();
        for item in list["citations"].as_array().expect("citations") {
            live += 1;
            let source = &item["source"];
            let id = source["id"].as_str().expect("id").to_owned();
            if source["sealed"] == true {
                if source["disclosed_at"].is_null() {
                    held.insert(id);
                } else {
                    disclosed.insert(id);
                }
            } else {
                cited.insert(id, source.clone());
            }
        }
        for item in list["retracted"].as_array().expect("retracted") {
            withdrawn += 1;
            let at = item["retracted_at"].as_str().expect("retracted_at");
            if at > published_at.as_str() {
                after += 1;
                corrected.insert(slug.clone());
                corrections.push((
                    item["id"].as_str().expect("id").to_owned(),
                    item["retraction_reason"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                ));
            }
        }
    }
    let archived = cited
        .values()
        .filter(|s| {
            [
                "archive_url",
                "snapshot_sha256",
                "later_archive_url",
                "later_snapshot_sha256",
            ]
            .iter()
            .any(|field| !s[field].is_null())
        })
        .count();
    let links = |status: &str| {
        cited
            .values()
            .filter(|s| s["link_status"].as_str().unwrap_or("unchecked") == status)
            .count()
    };
    json!({
        "articles": {"published": published.len(), "corrected": corrected.len(), "retracted": retracted.len()},
        "sources": {
            "cited": cited.len(),
            "archived": archived,
            "links": {"live": links("live"), "changed": links("changed"), "gone": links("gone"),
                      "error": links("error"), "unchecked": links("unchecked")},
        },
        "citations": {"live": live, "retracted": withdrawn, "retracted_after_publication": after},
        "sealed_sources": {"held": held.len(), "disclosed": disclosed.len()},
        "corrections": corrections.into_iter().map(|(id, reason)| json!([id, reason])).collect::<Vec<_>>(),
        "retractions": retracted.into_iter().map(|(slug, reason)| json!([slug, reason])).collect::<Vec<_>>(),
    })
}

/// The part of the served figures the reader's recount covers.
fn comparable(figures: &Value) -> Value {
    let mut sources = figures["sources"].clone();
    sources
        .as_object_mut()
        .expect("sources")
        .remove("archived_share");
    json!({
        "articles": figures["articles"],
        "sources": sources,
        "citations": figures["citations"],
        "sealed_sources": figures["sealed_sources"],
        "corrections": figures["corrections"].as_array().expect("corrections").iter()
            .map(|c| json!([c["citation_id"], c["reason"]])).collect::<Vec<_>>(),
        "retractions": figures["retractions"].as_array().expect("retractions").iter()
            .map(|r| json!([r["article"], r["reason"]])).collect::<Vec<_>>(),
    })
}

async fn the_figures_equal_a_recount_and_drafts_do_not_count(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let admin = app.admin_token().await;
    let (_, reader) = app.member(&admin, "reader").await;
    let site = HostSite::start();

    // Nothing yet: zeros, and the log's size so far.
    let empty = recount(&app).await;
    assert_eq!(empty["articles"]["published"], 0);
    assert_eq!(empty["sources"]["archived_share"], 0.0);

    let mut sources = BTreeMap::new();
    for name in ["a", "b", "c", "d", "e", "f"] {
        let url = site.page(&format!("/{name}"), "", format!("<p>Page {name}.</p>"));
        let made = app
            .post_as(
                "/v1/sources",
                &journalist,
                record(&url, &format!("Source {name}")),
            )
            .await;
        assert_eq!(made.status, 201, "{}", made.text());
        sources.insert(name, made.json());
    }
    for name in ["a", "b", "c"] {
        let id = sources[name]["id"].as_str().expect("id").to_owned();
        let captured = app
            .post_as(&format!("/v1/sources/{id}/capture"), &journalist, json!({}))
            .await;
        assert_eq!(captured.status, 201, "{}", captured.text());
        sources.insert(name, captured.json());
    }
    let mut seals = BTreeMap::new();
    for name in ["held", "disclosed", "draft-only"] {
        let made = app.post_as("/v1/sources", &journalist, sealed(name)).await;
        assert_eq!(made.status, 201, "{}", made.text());
        seals.insert(name, made.json());
    }
    let article = |slug: &str| {
        json!({"slug": slug, "title": format!("Story {slug}"), "url": format!("https://news.example/{slug}"),
               "language": "en", "authors": ["A"]})
    };
    let attach = |slug: &'static str, cited: Vec<Value>| {
        let app = &app;
        let journalist = journalist.clone();
        async move {
            let made = app
                .post_as("/v1/articles", &journalist, article(slug))
                .await;
            assert_eq!(made.status, 201, "{}", made.text());
            let attached = app
                .post_as(
                    &format!("/v1/articles/{slug}/citations"),
                    &journalist,
                    json!({"citations": cited}),
                )
                .await;
            assert_eq!(attached.status, 201, "{}", attached.text());
            attached.json()["citations"]
                .as_array()
                .expect("citations")
                .clone()
        }
    };
    let retract_citation = |id: Value, reason: &'static str| {
        let app = &app;
        let editor = editor.clone();
        async move {
            let done = app
                .post_as(
                    &format!("/v1/citations/{}/retract", id.as_str().expect("id")),
                    &editor,
                    json!({"reason": reason}),
                )
                .await;
            assert_eq!(done.status, 200, "{}", done.text());
        }
    };
    let publish = |slug: &'static str| {
        let app = &app;
        let editor = editor.clone();
        async move {
            let done = app
                .post_as(&format!("/v1/articles/{slug}/publish"), &editor, json!({}))
                .await;
            assert_eq!(done.status, 200, "{}", done.text());
        }
    };

    // "one": four open sources and a sealed one; a fifth citation retracted
    // before publication (not a correction).
    let one = attach(
        "one",
        vec![
            cite(&sources["a"]),
            cite(&sources["b"]),
            cite(&sources["c"]),
            cite(&sources["d"]),
            cite(&seals["held"]),
            cite(&sources["e"]),
        ],
    )
    .await;
    retract_citation(one[5]["id"].clone(), "not what it says").await;
    publish("one").await;
    // "two": a source cited again, a sealed one disclosed later, and a
    // citation retracted after publication: a correction.
    let two = attach(
        "two",
        vec![
            cite(&sources["a"]),
            cite(&seals["disclosed"]),
            cite(&sources["f"]),
        ],
    )
    .await;
    publish("two").await;
    retract_citation(two[2]["id"].clone(), "misread the report").await;
    let disclosed = app
        .post_as(
            &format!(
                "/v1/sources/{}/disclose",
                seals["disclosed"]["id"].as_str().expect("id")
            ),
            &editor,
            json!({}),
        )
        .await;
    assert!(disclosed.status.as_u16() < 300, "{}", disclosed.text());
    // "three": published, then retracted with a reason.
    attach("three", vec![cite(&sources["b"])]).await;
    publish("three").await;
    let gone = app
        .post_as(
            "/v1/articles/three/retract",
            &editor,
            json!({"reason": "the sourcing failed"}),
        )
        .await;
    assert_eq!(gone.status, 200, "{}", gone.text());

    // The link monitor: b changes, c is taken down.
    site.page("/b", "", "<p>Page b, rewritten.</p>".to_owned());
    site.answer("/c", 404, vec![], b"not found".to_vec());
    crate::links::round(&app).await;

    let figures = recount(&app).await;
    let expected = recount_as_a_reader(&app, &reader).await;
    assert_eq!(comparable(&figures), expected, "served: {figures:#}");
    // And what the scenario makes, by hand.
    assert_eq!(
        figures["articles"],
        json!({"published": 2, "corrected": 1, "retracted": 1})
    );
    assert_eq!(figures["sources"]["cited"], 4);
    assert_eq!(figures["sources"]["archived"], 3);
    assert_eq!(figures["sources"]["archived_share"], 0.75);
    assert_eq!(figures["sources"]["links"]["changed"], 1);
    assert_eq!(figures["sources"]["links"]["gone"], 1);
    assert_eq!(
        figures["citations"],
        json!({"live": 7, "retracted": 2, "retracted_after_publication": 1})
    );
    assert_eq!(
        figures["sealed_sources"],
        json!({"held": 1, "disclosed": 1})
    );
    assert_eq!(figures["corrections"][0]["article"], "two");
    assert_eq!(figures["corrections"][0]["reason"], "misread the report");
    assert_eq!(figures["retractions"][0]["article"], "three");
    assert_eq!(figures["retractions"][0]["reason"], "the sourcing failed");

    // The count names the log it counted, under a checkpoint the
    // publisher's key opens.
    let size = app.ledger_size();
    assert_eq!(figures["counted"]["entries"], size);
    let checkpoint = &figures["counted"]["checkpoint"];
    let opened = sourceledger::ledger::checkpoint::open(
        checkpoint["note"].as_str().expect("note").as_bytes(),
        app.state.ledger.vkey(),
    )
    .expect("the checkpoint opens with the vkey");
    assert_eq!(opened.size, checkpoint["tree_size"].as_u64().expect("size"));
    assert!(opened.size >= size);
    assert_eq!(figures["verify"]["vkey"], app.state.ledger.vkey());

    // A draft with a source of its own, a sealed one and a retraction:
    // nothing of it counts, nothing of it shows.
    let draft = attach(
        "secret-draft",
        vec![
            cite(&seals["draft-only"]),
            cite(&sources["e"]),
            cite(&sources["a"]),
        ],
    )
    .await;
    retract_citation(draft[2]["id"].clone(), "draft change").await;
    let after_draft = recount(&app).await;
    assert!(after_draft["counted"]["entries"].as_u64() > figures["counted"]["entries"].as_u64());
    assert_eq!(comparable(&after_draft), comparable(&figures));
    let page = app.get("/transparency").await;
    assert_eq!(page.status, 200);
    for shown in [after_draft.to_string(), page.text()] {
        assert!(
            !shown.contains("secret-draft") && !shown.contains("draft change"),
            "{shown}"
        );
    }

    // The page: the same figures as its data, an Organization for search
    // engines, a strict CSP, a strong ETag.
    let html = page.text();
    let csp = page.header("content-security-policy").expect("csp");
    assert!(
        csp.starts_with("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    let block = |id: &str| -> Value {
        let start = html.find(id).unwrap_or_else(|| panic!("{id} in {html}"));
        let open = start + html[start..].find('>').expect(">") + 1;
        let close = open + html[open..].find("</script>").expect("</script>");
        serde_json::from_str(&html[open..close]).expect("JSON")
    };
    assert_eq!(block("id=\"sourceledger-transparency\""), after_draft);
    let organization = block("type=\"application/ld+json\"");
    assert_eq!(organization["@type"], "Organization");
    assert!(html.contains("misread the report") && html.contains("the sourcing failed"));
    assert!(
        html.contains(&format!("Sources cited</th><td>{}<", 4)),
        "{html}"
    );
    let etag = page.header("etag").expect("etag").to_owned();
    let again = app
        .call(
            actix_web::test::TestRequest::get()
                .uri("/transparency")
                .insert_header(("If-None-Match", etag)),
        )
        .await;
    assert_eq!(again.status, 304);
}

async fn the_page_is_accessible_and_loads_nothing_refused(backend: Backend) {
    if !crate::panel::browser_tools() {
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let server = crate::process::ServerProcess::start(dir.path(), backend.database_url());
    let base = server.url();
    let agent = crate::process::agent();
    let admin = crate::process::token_for(&agent, &base, &server.bootstrap_key());
    let journalist = crate::process::key_token(&agent, &base, &admin, "journalist");
    let editor = crate::process::key_token(&agent, &base, &admin, "editor");
    let post = |path: &str, token: &str, body: Value| {
        let answer = crate::process::request(
            &agent,
            "POST",
            &format!("{base}{path}"),
            Some(token),
            Some(&body),
        )
        .expect("request");
        assert!(answer.status < 300, "{path}: {}", answer.text);
        answer.body
    };
    let source = post(
        "/v1/sources",
        &journalist,
        record("https://example.org/report", "A <b>report</b>"),
    );
    post(
        "/v1/articles",
        &journalist,
        json!({"slug": "story", "title": "Story", "url": "https://news.example/story", "language": "en", "authors": ["A"]}),
    );
    post("/v1/articles/story/citations", &journalist, cite(&source));
    post("/v1/articles/story/publish", &editor, json!({}));
    let retracted = post(
        "/v1/articles",
        &journalist,
        json!({"slug": "gone", "title": "Gone <i>story</i>", "url": "https://news.example/gone", "language": "en", "authors": ["A"]}),
    );
    assert_eq!(retracted["slug"], "gone");
    post("/v1/articles/gone/publish", &editor, json!({}));
    post(
        "/v1/articles/gone/retract",
        &editor,
        json!({"reason": "a <script>reason</script>"}),
    );

    // The server counts in the background: wait for the count that holds
    // the retraction.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let figures = crate::process::request(
            &agent,
            "GET",
            &format!("{base}/v1/transparency"),
            None,
            None,
        )
        .expect("figures");
        assert_eq!(figures.status, 200, "{}", figures.text);
        if figures.body["articles"]["retracted"] == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never counted: {}",
            figures.text
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let tools = std::env::var_os("SOURCELEDGER_TEST_BROWSER_TOOLS").expect("browser tools");
    let chromium =
        std::env::var("SOURCELEDGER_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let seen = crate::helpers::node_json(
        "axe_page.mjs",
        &[("SOURCELEDGER_TEST_BROWSER_TOOLS", tools.as_os_str())],
        &json!({"chromium": chromium, "visits": [{"name": "transparency", "url": format!("{base}/transparency")}]}),
    );
    let visit = &seen[0];
    assert_eq!(visit["status"], 200, "{visit:#}");
    assert_eq!(visit["violations"], json!([]), "{visit:#}");
    assert_eq!(visit["console"], json!([]), "{visit:#}");
    assert_eq!(visit["h1"], "What we cite, and how you can check it");
    let text = visit["text"].as_str().expect("text");
    // Escaped text, shown as text.
    assert!(
        text.contains("Gone <i>story</i>") && text.contains("a <script>reason</script>"),
        "{text}"
    );
    assert!(text.contains("sourceledger verify --vkey"), "{text}");
}
