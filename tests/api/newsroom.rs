//! The newsroom end to end over HTTP, as SPEC tells it.

use serde_json::{Value, json};
use sourceledger::auth::Role;
use sourceledger::ledger::checkpoint;
use sourceledger::ledger::leaf::Leaf;
use sourceledger::ledger::proof::verify_inclusion;

use crate::helpers::{Backend, TestApp, hex_list};
use crate::on_both_backends;

on_both_backends!(
    the_newsroom_end_to_end,
    every_write_appends_exactly_its_entries
);

fn source(n: usize, language: &str, kind: &str) -> Value {
    json!({
        "url": format!("https://secret-source-{n}.example.org/report?id={n}"),
        "title": format!("Source number {n}"),
        "publisher": format!("Publisher {n}"),
        "kind": kind,
        "language": language,
        "published_at": "2026-11-01",
        "accessed_at": "2026-11-20T10:00:00Z",
        "snapshot_sha256": "a".repeat(64),
        "archive_url": format!("https://archive-{n}.example.net/snap"),
    })
}

/// Checks one proven leaf against the verified checkpoint, offline, and returns
/// the record it proves.
fn check_leaf(proven: &Value, checkpoint: &checkpoint::VerifiedCheckpoint) -> Value {
    let leaf_text = proven["leaf"].as_str().expect("leaf");
    let leaf_hash = sourceledger::ledger::leaf_hash(leaf_text.as_bytes());
    assert_eq!(proven["leaf_hash"], hex::encode(leaf_hash.0));
    let index = proven["index"].as_u64().expect("index");
    verify_inclusion(
        index,
        checkpoint.size,
        &leaf_hash.0,
        &checkpoint.root.0,
        &hex_list(&proven["proof"]),
    )
    .expect("the inclusion proof verifies");
    Leaf::parse(leaf_text).expect("leaf parses").record
}

/// Every key of `record` has the same value in `shown`.
fn assert_shown(record: &Value, shown: &Value, rename: &[(&str, &str)]) {
    for (key, value) in record.as_object().expect("record object") {
        let shown_key = rename
            .iter()
            .find(|(r, _)| r == key)
            .map_or(key.as_str(), |(_, s)| s);
        assert_eq!(
            &shown[shown_key], value,
            "field {key} differs from its leaf"
        );
    }
}

async fn the_newsroom_end_to_end(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;

    // The admin makes keys for the newsroom.
    let mut tokens = std::collections::HashMap::new();
    for (role, name) in [
        ("journalist", "Ana"),
        ("editor", "Desk"),
        ("auditor", "Audit"),
        ("integration", "Newsletter"),
    ] {
        let reply = app
            .post_as("/v1/keys", &admin, json!({"role": role, "name": name}))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        let body = reply.json();
        assert_eq!(body["role"], role);
        let key = body["key"].as_str().expect("key");
        assert!(key.starts_with("sl_"));
        tokens.insert(role, app.token_for(key).await);
    }
    let listed = app.get_as("/v1/keys", &admin).await.json();
    assert!(
        listed["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .all(|k| k.get("key").is_none())
    );
    let journalist = &tokens["journalist"];
    let editor = &tokens["editor"];

    // The journalist drafts the article, records sources in four languages and
    // attaches them in one batch.
    let reply = app
        .post_as(
            "/v1/articles",
            journalist,
            json!({"slug": "water-prices-2026", "title": "Why water costs more", "url": "https://news.example/water",
                   "language": "en", "authors": ["Ana Reporter"]}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(reply.json()["status"], "draft");
    let mut source_ids = Vec::new();
    for (n, (language, kind)) in [
        ("en", "official_statement"),
        ("pt-BR", "news_report"),
        ("fr", "dataset"),
        ("ja", "interview"),
    ]
    .into_iter()
    .enumerate()
    {
        let reply = app
            .post_as("/v1/sources", journalist, source(n, language, kind))
            .await;
        assert_eq!(reply.status, 201, "{}", reply.text());
        let body = reply.json();
        assert_eq!(body["version"], 1);
        assert_eq!(body["record_sha256"].as_str().map(str::len), Some(64));
        source_ids.push(body["id"].as_str().expect("id").to_owned());
    }
    let batch: Vec<Value> = source_ids
        .iter()
        .enumerate()
        .map(|(n, id)| json!({"source_id": id, "claim": format!("Claim {n}"), "quote": format!("secret quote {n}"), "locator": format!("paragraph {n}")}))
        .collect();
    let reply = app
        .post_as(
            "/v1/articles/water-prices-2026/citations",
            journalist,
            json!({"citations": batch}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    let citations: Vec<String> = reply.json()["citations"]
        .as_array()
        .expect("citations")
        .iter()
        .map(|c| c["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(citations.len(), 4);

    // The editor verifies two, retracts one with a reason, and publishes.
    for id in &citations[..2] {
        let reply = app
            .post_as(&format!("/v1/citations/{id}/verify"), editor, json!({}))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        assert_eq!(reply.json()["status"], "verified");
    }
    let reply = app
        .post_as(
            &format!("/v1/citations/{}/retract", citations[3]),
            editor,
            json!({"reason": "the interview was misattributed"}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let reply = app
        .post_as("/v1/articles/water-prices-2026/publish", editor, json!({}))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["status"], "published");

    // The newsletter platform creates a subscriber (twice: idempotent) and mints a token.
    let integration = &tokens["integration"];
    let body = json!({"external_id": "nl-42", "email": "reader@example.com", "tier": "free"});
    let created = app
        .post_as("/v1/subscribers", integration, body.clone())
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let again = app.post_as("/v1/subscribers", integration, body).await;
    assert_eq!(again.status, 200);
    assert_eq!(created.json()["id"], again.json()["id"]);
    assert_eq!(created.json()["status"], "active");
    let subscriber_id = created.json()["id"].as_str().expect("id").to_owned();
    let reply = app
        .post_as(
            &format!("/v1/subscribers/{subscriber_id}/token"),
            integration,
            json!({}),
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["expires_in"], 30 * 24 * 3600);
    let subscriber = reply.json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();

    // Anonymous readers see the teaser: not one source URL, snapshot or quote.
    let teaser = app.get("/v1/articles/water-prices-2026/sources").await;
    assert_eq!(teaser.status, 200, "{}", teaser.text());
    let text = teaser.text();
    assert!(
        !text.contains("secret-source")
            && !text.contains("archive-")
            && !text.contains("secret quote"),
        "{text}"
    );
    assert!(!text.contains(&"a".repeat(64)), "snapshot hash leaked");
    let teaser = teaser.json();
    assert_eq!(teaser["locked"], true);
    assert_eq!(teaser["source_count"], 3);
    assert_eq!(teaser["retracted_count"], 1);
    assert_eq!(teaser["languages"], json!({"en": 1, "fr": 1, "pt-BR": 1}));
    for s in teaser["sources"].as_array().expect("sources") {
        assert_eq!(s["locked"], true);
        assert!(
            s["url"].is_null()
                && s["archive_url"].is_null()
                && s["snapshot_sha256"].is_null()
                && s["quote"].is_null()
        );
        assert_eq!(s["record_sha256"].as_str().map(str::len), Some(64));
    }

    // The subscriber sees everything, and every proof verifies with the vkey alone.
    let vkey = app.get("/v1/ledger/key").await.json()["vkey"]
        .as_str()
        .expect("vkey")
        .to_owned();
    let full = app
        .get_as("/v1/articles/water-prices-2026/sources", &subscriber)
        .await;
    assert_eq!(full.status, 200, "{}", full.text());
    let etag = full.header("etag").expect("etag").to_owned();
    let list = full.json();
    let checkpoint = checkpoint::open(list["checkpoint"].as_str().expect("note").as_bytes(), &vkey)
        .expect("checkpoint verifies");
    assert_eq!(list["tree_size"], checkpoint.size);
    let article_record = check_leaf(&list["article"]["proof"], &checkpoint);
    assert_shown(&article_record, &list["article"], &[]);
    assert_eq!(article_record["status"], "published");
    let live = list["citations"].as_array().expect("citations");
    assert_eq!(live.len(), 3);
    for c in live {
        let source_record = check_leaf(&c["proof"]["source"], &checkpoint);
        assert_shown(&source_record, &c["source"], &[]);
        assert_eq!(
            c["source"]["record_sha256"],
            sourceledger::ledger::leaf::record_sha256(&source_record).expect("hash")
        );
        assert!(
            c["source"]["url"]
                .as_str()
                .expect("url")
                .contains("secret-source")
        );
        let citation_record = check_leaf(&c["proof"]["citation"], &checkpoint);
        assert_shown(&citation_record, c, &[("reason", "retraction_reason")]);
    }
    assert_eq!(live.iter().filter(|c| c["status"] == "verified").count(), 2);
    assert!(
        live.iter()
            .filter(|c| c["status"] == "verified")
            .all(|c| c["verified_by"] == "editor:Desk")
    );
    let retracted = list["retracted"].as_array().expect("retracted");
    assert_eq!(retracted.len(), 1);
    assert_eq!(
        retracted[0]["retraction_reason"],
        "the interview was misattributed"
    );
    assert_eq!(
        check_leaf(&retracted[0]["proof"]["citation"], &checkpoint)["status"],
        "retracted"
    );

    // Unchanged, it costs a 304 even after the log grew elsewhere.
    app.post_as("/v1/sources", journalist, source(9, "de", "other"))
        .await;
    let cached = app
        .call(
            actix_web::test::TestRequest::get()
                .uri("/v1/articles/water-prices-2026/sources")
                .insert_header(("Authorization", format!("Bearer {subscriber}")))
                .insert_header(("If-None-Match", etag.clone())),
        )
        .await;
    assert_eq!(cached.status, 304);

    // The auditor reads too; a deleted subscriber's token stops at once.
    assert_eq!(
        app.get_as("/v1/articles/water-prices-2026/sources", &tokens["auditor"])
            .await
            .status,
        200
    );
    let reply = app
        .send(
            "DELETE",
            &format!("/v1/subscribers/{subscriber_id}"),
            Some(integration),
            None,
        )
        .await;
    assert_eq!(reply.status, 204);
    app.get_as("/v1/articles/water-prices-2026/sources", &subscriber)
        .await
        .assert_problem(401, "unauthorized");

    // A revoked key's token stops at once.
    let keys = app.get_as("/v1/keys", &admin).await.json();
    let journalist_key = keys["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["role"] == "journalist")
        .expect("journalist key")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let reply = app
        .send(
            "DELETE",
            &format!("/v1/keys/{journalist_key}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.json()["revoked_at"].is_string());
    app.post_as("/v1/sources", journalist, source(10, "en", "other"))
        .await
        .assert_problem(401, "unauthorized");
}

/// Each write's response names its entries; the ledger grew by exactly those,
/// and each leaf records what the API returned.
async fn every_write_appends_exactly_its_entries(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let admin = app.admin_token().await;

    let entry_record = |index: u64| {
        let app = &app;
        let admin = admin.clone();
        async move {
            let entry = app
                .get_as(&format!("/v1/ledger/entries/{index}"), &admin)
                .await
                .json();
            (
                entry["kind"].as_str().expect("kind").to_owned(),
                Leaf::parse(entry["leaf"].as_str().expect("leaf"))
                    .expect("leaf")
                    .record,
            )
        }
    };

    let before = app.ledger_size();
    let article = app
        .post_as("/v1/articles", &journalist, json!({"slug": "one", "title": "One", "url": "https://n.example/1", "language": "en", "authors": ["A"]}))
        .await
        .json();
    assert_eq!(app.ledger_size(), before + 1);
    assert_eq!(article["ledger_index"], before);
    let (kind, record) = entry_record(before).await;
    assert_eq!(kind, "article.created");
    assert_shown(&record, &article, &[]);

    let src = app
        .post_as("/v1/sources", &journalist, source(1, "en", "document"))
        .await
        .json();
    assert_eq!(app.ledger_size(), before + 2);
    let (kind, record) = entry_record(before + 1).await;
    assert_eq!(kind, "source.recorded");
    assert_shown(&record, &src, &[]);
    let id = src["id"].as_str().expect("id");

    let patched = app
        .send(
            "PATCH",
            &format!("/v1/sources/{id}"),
            Some(&journalist),
            Some(json!({"title": "Better title", "doi": "10.1234/abc", "archive_url": null})),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text());
    let v2 = patched.json();
    assert_eq!(v2["version"], 2);
    assert!(v2["archive_url"].is_null());
    assert_eq!(v2["publisher"], src["publisher"]);
    assert_eq!(app.ledger_size(), before + 3);
    let (kind, record) = entry_record(before + 2).await;
    assert_eq!(kind, "source.revised");
    assert_shown(&record, &v2, &[]);
    let versions = app
        .get_as(&format!("/v1/sources/{id}/versions"), &journalist)
        .await
        .json();
    assert_eq!(
        versions["versions"][0]["title"], "Source number 1",
        "version 1 stays readable"
    );
    assert_eq!(
        app.get_as(&format!("/v1/sources/{id}"), &journalist)
            .await
            .json()["version"],
        2
    );

    // Large enough that PostgreSQL takes the rows by COPY; optional fields
    // absent, present and null, so NULLs cross that path too.
    const BATCH: u64 = 300;
    let batch: Vec<Value> = (0..BATCH)
        .map(|n| {
            let mut c = json!({"source_id": id, "source_version": 1, "claim": format!("c{n}"), "locator": "p1"});
            match n % 3 {
                0 => c["quote"] = json!(format!("quoted {n}")),
                1 => c["note"] = Value::Null,
                _ => c["note"] = json!("a note"),
            }
            c
        })
        .collect();
    let attached = app
        .post_as(
            "/v1/articles/one/citations",
            &journalist,
            json!({"citations": batch}),
        )
        .await
        .json();
    assert_eq!(app.ledger_size(), before + 3 + BATCH);
    for (n, c) in attached["citations"]
        .as_array()
        .expect("citations")
        .iter()
        .enumerate()
    {
        assert_eq!(c["ledger_index"], before + 3 + n as u64);
        assert_eq!(c["source_version"], 1);
    }
    let audit = app.post_as("/v1/audit/verify", &admin, json!({})).await;
    assert_eq!(
        audit.json()["ok"],
        true,
        "each stored row is what its entry records: {}",
        audit.text()
    );
    let one = app
        .post_as(
            "/v1/articles/one/citations",
            &journalist,
            json!({"source_id": id, "claim": "single", "locator": "p2"}),
        )
        .await;
    assert_eq!(one.status, 201, "{}", one.text());
    let single = &one.json()["citations"][0];
    assert_eq!(
        single["source_version"], 2,
        "defaults to the latest version"
    );
    let cid = single["id"].as_str().expect("id").to_owned();
    let verified = app
        .post_as(&format!("/v1/citations/{cid}/verify"), &editor, json!({}))
        .await
        .json();
    let (kind, record) = entry_record(verified["ledger_index"].as_u64().expect("index")).await;
    assert_eq!(kind, "citation.verified");
    assert_shown(&record, &verified, &[("reason", "retraction_reason")]);
    assert_eq!(app.ledger_size(), before + 3 + BATCH + 2);

    let published = app
        .post_as("/v1/articles/one/publish", &editor, json!({}))
        .await
        .json();
    assert_eq!(
        entry_record(published["ledger_index"].as_u64().expect("index"))
            .await
            .0,
        "article.published"
    );
    let retracted = app
        .call(
            actix_web::test::TestRequest::post()
                .uri("/v1/articles/one/retract")
                .insert_header(("Authorization", format!("Bearer {editor}")))
                .set_json(json!({"reason": "wrong numbers"})),
        )
        .await
        .json();
    let (kind, record) = entry_record(retracted["ledger_index"].as_u64().expect("index")).await;
    assert_eq!(
        (kind.as_str(), record["reason"].as_str()),
        ("article.retracted", Some("wrong numbers"))
    );
    assert_eq!(app.ledger_size(), before + 3 + BATCH + 4);
}

on_both_backends!(the_list_follows_every_change);

/// Built lists are cached; every change still shows at once, in both tiers.
async fn the_list_follows_every_change(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let j = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let auditor = app.token_of(Role::Auditor).await;
    app.post_as("/v1/articles", &j, json!({"slug": "live", "title": "L", "url": "https://n.example/l", "language": "en", "authors": ["A"]}))
        .await;
    let src = app
        .post_as("/v1/sources", &j, source(1, "en", "document"))
        .await
        .json();
    let cited = app
        .post_as(
            "/v1/articles/live/citations",
            &j,
            json!({"citations": [
            {"source_id": src["id"], "claim": "one", "locator": "p1"},
            {"source_id": src["id"], "claim": "two", "locator": "p2"}]}),
        )
        .await
        .json();
    app.get("/v1/articles/live/sources")
        .await
        .assert_problem(404, "not_found");
    let first = app.get_as("/v1/articles/live/sources", &auditor).await;
    assert_eq!(first.json()["citations"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        app.get_as("/v1/articles/live/sources", &auditor)
            .await
            .header("etag"),
        first.header("etag")
    );

    app.post_as("/v1/articles/live/publish", &editor, json!({}))
        .await;
    let teaser = app.get("/v1/articles/live/sources").await.json();
    assert_eq!(teaser["source_count"], 1);
    let cid = cited["citations"][0]["id"].as_str().expect("id");
    app.post_as(&format!("/v1/citations/{cid}/verify"), &editor, json!({}))
        .await;
    let after = app.get_as("/v1/articles/live/sources", &auditor).await;
    assert_ne!(after.header("etag"), first.header("etag"));
    assert_eq!(after.json()["citations"][0]["status"], "verified");
    assert_eq!(after.json()["article"]["status"], "published");
    for c in cited["citations"].as_array().expect("citations") {
        let id = c["id"].as_str().expect("id");
        app.post_as(
            &format!("/v1/citations/{id}/retract"),
            &editor,
            json!({"reason": "gone"}),
        )
        .await;
    }
    let teaser = app.get("/v1/articles/live/sources").await.json();
    assert_eq!(
        (
            teaser["source_count"].as_u64(),
            teaser["retracted_count"].as_u64()
        ),
        (Some(0), Some(2))
    );
    let full = app
        .get_as("/v1/articles/live/sources", &auditor)
        .await
        .json();
    assert_eq!(full["citations"], json!([]));
    assert_eq!(full["retracted"].as_array().map(Vec::len), Some(2));
}

on_both_backends!(the_teaser_carries_the_newsrooms_own_call_to_action);

async fn the_teaser_carries_the_newsrooms_own_call_to_action(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.cta_text = "Join The Daily Note, free, for every link.".into();
        s.cta_url = Some("https://news.example/subscribe".into());
    })
    .await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let article = json!({"slug": "cta", "title": "T", "url": "https://news.example/cta", "language": "en", "authors": ["A"]});
    assert_eq!(
        app.post_as("/v1/articles", &journalist, article)
            .await
            .status,
        201
    );
    assert_eq!(
        app.post_as("/v1/articles/cta/publish", &editor, json!({}))
            .await
            .status,
        200
    );
    let teaser = app.get("/v1/articles/cta/sources").await.json();
    assert_eq!(
        teaser["message"],
        "Join The Daily Note, free, for every link."
    );
    assert_eq!(teaser["subscribe_url"], "https://news.example/subscribe");
    assert_eq!(teaser["locked"], true);
}
