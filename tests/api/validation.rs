//! Bad input: each rule gets a clear problem+json 4xx naming what is wrong, never
//! a 5xx, and a refused write leaves nothing behind.

use serde_json::{Value, json};
use sourceledger::auth::Role;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    bad_input_is_refused_and_leaves_nothing_behind,
    an_article_retraction_takes_no_body_or_null
);

fn article(slug: &str) -> Value {
    json!({"slug": slug, "title": "T", "url": "https://n.example/t", "language": "en", "authors": ["A"]})
}

fn source() -> Value {
    json!({"url": "https://s.example/", "title": "S", "publisher": "P", "kind": "other", "language": "en"})
}

fn with(mut value: Value, key: &str, field: Value) -> Value {
    value[key] = field;
    value
}

async fn bad_input_is_refused_and_leaves_nothing_behind(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let j = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let admin = app.admin_token().await;
    assert_eq!(
        app.post_as("/v1/articles", &j, article("ok")).await.status,
        201
    );
    let src = app.post_as("/v1/sources", &j, source()).await.json();
    let source_id = src["id"].as_str().expect("id").to_owned();
    let long_url = format!("https://e.example/{}", "a".repeat(2040));

    let cases: Vec<(&str, String, Value, u16, &str)> = vec![
        (
            "POST",
            "/v1/articles".into(),
            article("Bad Slug"),
            400,
            "slug",
        ),
        ("POST", "/v1/articles".into(), article("a--b"), 400, "slug"),
        (
            "POST",
            "/v1/articles".into(),
            with(article("x1"), "url", json!("ftp://n.example/")),
            400,
            "url",
        ),
        (
            "POST",
            "/v1/articles".into(),
            with(article("x2"), "url", json!(long_url)),
            400,
            "url",
        ),
        (
            "POST",
            "/v1/articles".into(),
            with(article("x3"), "language", json!("english!")),
            400,
            "language",
        ),
        (
            "POST",
            "/v1/articles".into(),
            with(article("x4"), "authors", json!([])),
            400,
            "authors",
        ),
        (
            "POST",
            "/v1/articles".into(),
            with(article("x5"), "title", json!("a".repeat(501))),
            400,
            "title",
        ),
        (
            "POST",
            "/v1/articles".into(),
            with(article("x6"), "extra", json!(1)),
            400,
            "unknown field",
        ),
        (
            "POST",
            "/v1/articles".into(),
            json!({"slug": "x7"}),
            400,
            "missing field",
        ),
        ("POST", "/v1/articles".into(), article("ok"), 409, "exists"),
        (
            "POST",
            "/v1/sources".into(),
            with(source(), "kind", json!("blog")),
            400,
            "unknown variant",
        ),
        (
            "POST",
            "/v1/sources".into(),
            with(source(), "url", json!("javascript:alert(1)")),
            400,
            "url",
        ),
        (
            "POST",
            "/v1/sources".into(),
            with(source(), "archive_url", json!("/relative")),
            400,
            "archive_url",
        ),
        (
            "POST",
            "/v1/sources".into(),
            with(source(), "snapshot_sha256", json!("abc")),
            400,
            "snapshot_sha256",
        ),
        (
            "POST",
            "/v1/sources".into(),
            with(source(), "published_at", json!("last week")),
            400,
            "published_at",
        ),
        (
            "POST",
            "/v1/sources".into(),
            with(source(), "doi", json!("doi:x")),
            400,
            "doi",
        ),
        (
            "POST",
            "/v1/sources".into(),
            with(source(), "publisher", json!("   ")),
            400,
            "publisher",
        ),
        (
            "POST",
            "/v1/sources".into(),
            with(source(), "title", json!("a\u{0}b")),
            400,
            "title",
        ),
        (
            "PATCH",
            format!("/v1/sources/{source_id}"),
            json!({"title": "S"}),
            422,
            "changes nothing",
        ),
        (
            "PATCH",
            format!("/v1/sources/{source_id}"),
            json!({"version": 7}),
            400,
            "unknown field",
        ),
        (
            "PATCH",
            "/v1/sources/nope".into(),
            json!({"title": "x"}),
            404,
            "no source",
        ),
        (
            "POST",
            "/v1/articles/ok/citations".into(),
            json!({"citations": []}),
            400,
            "citations",
        ),
        (
            "POST",
            "/v1/articles/ok/citations".into(),
            json!({"source_id": "nope", "claim": "c", "locator": "l"}),
            422,
            "source_id",
        ),
        (
            "POST",
            "/v1/articles/ok/citations".into(),
            json!({"source_id": source_id, "source_version": 9, "claim": "c", "locator": "l"}),
            422,
            "source_id",
        ),
        (
            "POST",
            "/v1/articles/ok/citations".into(),
            json!({"source_id": source_id, "claim": "", "locator": "l"}),
            400,
            "claim",
        ),
        (
            "POST",
            "/v1/articles/nope/citations".into(),
            json!({"source_id": source_id, "claim": "c", "locator": "l"}),
            404,
            "no article",
        ),
        (
            "POST",
            "/v1/subscribers".into(),
            json!({"external_id": "e", "email": "not-an-email", "tier": "free"}),
            400,
            "email",
        ),
        (
            "POST",
            "/v1/articles/ok/citations".into(),
            json!({"source_id": source_id, "source_version": 1.5, "claim": "c", "locator": "l"}),
            400,
            "whole number",
        ),
        (
            "POST",
            "/v1/articles/ok/citations".into(),
            json!({"source_id": source_id, "claim": "c", "locator": "paragraph 1\n"}),
            400,
            "locator",
        ),
        (
            "POST",
            "/v1/subscribers".into(),
            json!({"external_id": "e", "email": "a@b@c.example", "tier": "free"}),
            400,
            "email",
        ),
        (
            "POST",
            "/v1/subscribers".into(),
            json!({"external_id": "e", "email": "a@b..example", "tier": "free"}),
            400,
            "email",
        ),
        (
            "POST",
            "/v1/sources".into(),
            with(source(), "doi", json!("10.1000/a\u{7}b")),
            400,
            "doi",
        ),
        (
            "POST",
            "/v1/subscribers".into(),
            json!({"external_id": "e", "tier": "gold"}),
            400,
            "unknown variant",
        ),
        (
            "POST",
            "/v1/keys".into(),
            json!({"role": "subscriber", "name": "x"}),
            400,
            "role",
        ),
        (
            "POST",
            "/v1/keys".into(),
            json!({"role": "wizard", "name": "x"}),
            400,
            "unknown variant",
        ),
        (
            "POST",
            "/v1/keys".into(),
            json!({"role": "editor", "name": ""}),
            400,
            "name",
        ),
    ];
    for (method, uri, body, status, mention) in cases {
        let token = if uri.starts_with("/v1/keys") || uri.starts_with("/v1/subscribers") {
            &admin
        } else {
            &j
        };
        let before = app.ledger_size();
        let reply = app
            .send(method, &uri, Some(token), Some(body.clone()))
            .await;
        assert_eq!(
            reply.status.as_u16(),
            status,
            "{method} {uri} {body}: {}",
            reply.text()
        );
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json")
        );
        let problem = reply.json();
        assert!(
            problem["detail"]
                .as_str()
                .expect("detail")
                .contains(mention),
            "{method} {uri}: {problem}"
        );
        assert_eq!(
            app.ledger_size(),
            before,
            "a refused write left a ledger entry: {method} {uri}"
        );
    }

    // A batch with one bad item commits nothing.
    let mut batch: Vec<Value> = (0..10)
        .map(|n| json!({"source_id": source_id, "claim": format!("c{n}"), "locator": "l"}))
        .collect();
    batch[7]["source_id"] = json!("missing");
    let before = app.ledger_size();
    let reply = app
        .post_as("/v1/articles/ok/citations", &j, json!({"citations": batch}))
        .await;
    let problem = reply.assert_problem(422, "unknown_source");
    assert!(
        problem["detail"]
            .as_str()
            .expect("detail")
            .starts_with("citations[7].source_id"),
        "{problem}"
    );
    assert_eq!(app.ledger_size(), before);
    let list = app.get_as("/v1/articles/ok/sources", &j).await.json();
    assert_eq!(list["citations"], json!([]));
    let too_many: Vec<Value> = (0..1001)
        .map(|_| json!({"source_id": source_id, "claim": "c", "locator": "l"}))
        .collect();
    app.post_as(
        "/v1/articles/ok/citations",
        &j,
        json!({"citations": too_many}),
    )
    .await
    .assert_problem(400, "invalid_field");

    // State rules.
    let c = app
        .post_as(
            "/v1/articles/ok/citations",
            &j,
            json!({"source_id": source_id, "claim": "c", "locator": "l"}),
        )
        .await
        .json();
    let cid = c["citations"][0]["id"].as_str().expect("id").to_owned();
    assert_eq!(
        app.post_as(&format!("/v1/citations/{cid}/verify"), &editor, json!({}))
            .await
            .status,
        200
    );
    app.post_as(&format!("/v1/citations/{cid}/verify"), &editor, json!({}))
        .await
        .assert_problem(409, "invalid_transition");
    app.post_as(
        &format!("/v1/citations/{cid}/retract"),
        &editor,
        json!({"reason": ""}),
    )
    .await
    .assert_problem(400, "invalid_field");
    assert_eq!(
        app.post_as(
            &format!("/v1/citations/{cid}/retract"),
            &editor,
            json!({"reason": "r"})
        )
        .await
        .status,
        200
    );
    app.post_as(
        &format!("/v1/citations/{cid}/retract"),
        &editor,
        json!({"reason": "r"}),
    )
    .await
    .assert_problem(409, "invalid_transition");
    app.post_as("/v1/articles/ok/retract", &editor, json!({}))
        .await
        .assert_problem(409, "invalid_transition");
    assert_eq!(
        app.post_as("/v1/articles/ok/publish", &editor, json!({}))
            .await
            .status,
        200
    );
    app.post_as("/v1/articles/ok/publish", &editor, json!({}))
        .await
        .assert_problem(409, "invalid_transition");
    assert_eq!(
        app.post_as(
            "/v1/articles/ok/retract",
            &editor,
            json!({"reason": "wrong"})
        )
        .await
        .status,
        200
    );
    app.post_as(
        "/v1/articles/ok/citations",
        &j,
        json!({"source_id": source_id, "claim": "late", "locator": "l"}),
    )
    .await
    .assert_problem(409, "article_retracted");

    // JSON Schema counts 1.0 as the integer 1, so the server does too.
    app.post_as(
        "/v1/articles/ok/citations",
        &j,
        json!({"source_id": source_id, "source_version": 1.0, "claim": "c", "locator": "l"}),
    )
    .await
    .assert_problem(409, "article_retracted");

    // Bodies the server cannot read.
    let raw = |body: String, content_type: &'static str| {
        actix_web::test::TestRequest::post()
            .uri("/v1/sources")
            .insert_header(("Authorization", format!("Bearer {j}")))
            .insert_header(("content-type", content_type))
            .set_payload(body)
    };
    app.call(raw("{\"url\": ".into(), "application/json"))
        .await
        .assert_problem(400, "malformed_json");
    app.call(raw(source().to_string(), "text/plain"))
        .await
        .assert_problem(415, "unsupported_media_type");
    let huge = with(source(), "title", json!("a".repeat(3 * 1024 * 1024))).to_string();
    app.call(raw(huge, "application/json"))
        .await
        .assert_problem(413, "payload_too_large");
}

on_both_backends!(hostile_bytes_and_races_get_4xx_never_5xx);

async fn hostile_bytes_and_races_get_4xx_never_5xx(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let j = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let admin = app.admin_token().await;
    app.post_as("/v1/articles", &j, article("nul")).await;
    for (method, uri, token, body) in [
        ("GET", "/v1/sources/x%00", &j, None),
        ("GET", "/v1/articles/a%00", &j, None),
        ("GET", "/v1/articles/a%00/sources", &j, None),
        ("GET", "/v1/articles?after=%00", &j, None),
        (
            "POST",
            "/v1/citations/x%00/verify",
            &editor,
            Some(json!({})),
        ),
        ("DELETE", "/v1/keys/x%00", &admin, None),
        ("GET", "/v1/keys?after=%00", &admin, None),
        (
            "POST",
            "/v1/articles/nul/citations",
            &j,
            Some(json!({"source_id": "a\u{0}", "source_version": 1, "claim": "c", "locator": "l"})),
        ),
        (
            "POST",
            "/v1/subscribers",
            &admin,
            Some(json!({"external_id": "a\u{0}", "tier": "free"})),
        ),
    ] {
        let reply = app.send(method, uri, Some(token), body).await;
        let status = reply.status.as_u16();
        assert!(status < 500, "{method} {uri}: {status} {}", reply.text());
        if status >= 400 {
            assert_eq!(
                reply.header("content-type"),
                Some("application/problem+json"),
                "{method} {uri}"
            );
        }
    }

    // NUL in a path or query is refused the same on both backends.
    for uri in [
        "/v1/articles?after=%00",
        "/v1/sources/x%00",
        "/v1/keys?after=a%00b",
    ] {
        app.get_as(uri, &admin)
            .await
            .assert_problem(400, "invalid_text");
    }

    // A body too large for the article retraction, read raw: still problem+json.
    let huge = format!("{{\"reason\": \"{}\"}}", "a".repeat(3 * 1024 * 1024));
    let reply = app
        .call(
            actix_web::test::TestRequest::post()
                .uri("/v1/articles/nul/retract")
                .insert_header(("Authorization", format!("Bearer {editor}")))
                .insert_header(("content-type", "application/json"))
                .set_payload(huge),
        )
        .await;
    reply.assert_problem(413, "payload_too_large");

    // One live key per role and name: the ledger's actor names stay unambiguous.
    app.post_as(
        "/v1/keys",
        &admin,
        json!({"role": "editor", "name": "Desk"}),
    )
    .await;
    app.post_as(
        "/v1/keys",
        &admin,
        json!({"role": "editor", "name": "Desk"}),
    )
    .await
    .assert_problem(409, "name_taken");

    // Eight platforms creating the same subscriber at once: one creates, all agree.
    let integration = app.token_of(Role::Integration).await;
    let calls = (0..8).map(|_| {
        app.post_as(
            "/v1/subscribers",
            &integration,
            json!({"external_id": "same", "tier": "free"}),
        )
    });
    let replies = futures_util::future::join_all(calls).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    assert!(
        replies.iter().all(|r| r.status == 201 || r.status == 200),
        "{:?}",
        replies.iter().map(|r| r.text()).collect::<Vec<_>>()
    );
    assert_eq!(created, 1);
    let ids: std::collections::HashSet<String> = replies
        .iter()
        .map(|r| r.json()["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids.len(), 1);
}

/// The retraction body is optional: none, `null` or `{"reason"}`; a body that
/// is there must be JSON.
async fn an_article_retraction_takes_no_body_or_null(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let editor = app.token_of(sourceledger::auth::Role::Editor).await;
    for (slug, body) in [("none", ""), ("null", "null")] {
        assert_eq!(
            app.post_as("/v1/articles", &editor, article(slug))
                .await
                .status,
            201
        );
        let publish = format!("/v1/articles/{slug}/publish");
        assert_eq!(app.post_as(&publish, &editor, json!({})).await.status, 200);
        let reply = app
            .call(
                actix_web::test::TestRequest::post()
                    .uri(&format!("/v1/articles/{slug}/retract"))
                    .insert_header(("authorization", format!("Bearer {editor}")))
                    .insert_header(("content-type", "application/json"))
                    .set_payload(body),
            )
            .await;
        assert_eq!(reply.status, 200, "{slug}: {}", reply.text());
        assert_eq!(reply.json()["status"], "retracted");
    }
    assert_eq!(
        app.post_as("/v1/articles", &editor, article("text"))
            .await
            .status,
        201
    );
    app.post_as("/v1/articles/text/publish", &editor, json!({}))
        .await;
    let reply = app
        .call(
            actix_web::test::TestRequest::post()
                .uri("/v1/articles/text/retract")
                .insert_header(("authorization", format!("Bearer {editor}")))
                .insert_header(("content-type", "text/plain"))
                .set_payload("because"),
        )
        .await;
    reply.assert_problem(415, "unsupported_media_type");
}
