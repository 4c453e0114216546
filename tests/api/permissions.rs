//! The permission matrix: every endpoint for every role, and anonymous.

use serde_json::{Value, json};
use sourceledger::auth::Role;

use actix_web::test::TestRequest;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(every_endpoint_for_every_role);

const ANYONE: &[&str] = &[
    "anonymous",
    "subscriber",
    "journalist",
    "editor",
    "auditor",
    "integration",
    "admin",
];
const READERS: &[&str] = &["subscriber", "journalist", "editor", "auditor", "admin"];
const WRITERS: &[&str] = &["journalist", "editor", "admin"];
const EDITORS: &[&str] = &["editor", "admin"];
const ADMIN: &[&str] = &["admin"];
const MANAGERS: &[&str] = &["integration", "admin"];

async fn every_endpoint_for_every_role(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut tokens = std::collections::HashMap::new();
    for role in [
        Role::Journalist,
        Role::Editor,
        Role::Auditor,
        Role::Integration,
    ] {
        tokens.insert(role.as_str(), app.token_of(role).await);
    }
    tokens.insert("admin", app.admin_token().await);
    let subscriber = app
        .post_as(
            "/v1/subscribers",
            &tokens["integration"],
            json!({"external_id": "matrix", "tier": "member"}),
        )
        .await
        .json();
    let sub_id = subscriber["id"].as_str().expect("id").to_owned();
    let sub_token = app
        .post_as(
            &format!("/v1/subscribers/{sub_id}/token"),
            &tokens["integration"],
            json!({}),
        )
        .await
        .json();
    tokens.insert(
        "subscriber",
        sub_token["access_token"]
            .as_str()
            .expect("token")
            .to_owned(),
    );

    // Fixtures, made by the journalist.
    let journalist = tokens["journalist"].clone();
    app.post_as("/v1/articles", &journalist, json!({"slug": "matrix", "title": "M", "url": "https://n.example/m", "language": "en", "authors": ["A"]}))
        .await;
    let source = app
        .post_as("/v1/sources", &journalist, json!({"url": "https://s.example/", "title": "S", "publisher": "P", "kind": "other", "language": "en"}))
        .await
        .json();
    let source_id = source["id"].as_str().expect("id").to_owned();
    let citation = app
        .post_as(
            "/v1/articles/matrix/citations",
            &journalist,
            json!({"source_id": source_id, "claim": "c", "locator": "l"}),
        )
        .await
        .json();
    let citation_id = citation["citations"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();

    let new_source = json!({"url": "https://t.example/", "title": "T", "publisher": "P", "kind": "other", "language": "en"});
    let cases: Vec<(&str, String, Option<Value>, &[&str])> = vec![
        ("GET", "/healthz".into(), None, ANYONE),
        ("GET", "/readyz".into(), None, ANYONE),
        ("GET", "/openapi.json".into(), None, ANYONE),
        ("GET", "/v1/ledger/checkpoint".into(), None, ANYONE),
        ("GET", "/v1/ledger/checkpoints".into(), None, ANYONE),
        ("GET", "/v1/ledger/key".into(), None, ANYONE),
        (
            "GET",
            "/v1/ledger/proof/inclusion?index=0".into(),
            None,
            ANYONE,
        ),
        (
            "GET",
            "/v1/ledger/proof/consistency?first=1".into(),
            None,
            ANYONE,
        ),
        ("GET", "/v1/ledger/entries".into(), None, READERS),
        ("GET", "/v1/ledger/entries/0".into(), None, READERS),
        (
            "POST",
            "/v1/keys".into(),
            Some(json!({"role": "auditor", "name": "k"})),
            ADMIN,
        ),
        ("GET", "/v1/keys".into(), None, ADMIN),
        ("DELETE", "/v1/keys/no-such-key".into(), None, ADMIN),
        (
            "POST",
            "/v1/subscribers".into(),
            Some(json!({"external_id": "x", "tier": "free"})),
            MANAGERS,
        ),
        (
            "DELETE",
            "/v1/subscribers/no-such-subscriber".into(),
            None,
            MANAGERS,
        ),
        (
            "POST",
            format!("/v1/subscribers/{sub_id}/token"),
            None,
            MANAGERS,
        ),
        (
            "POST",
            "/v1/articles".into(),
            Some(
                json!({"slug": "a", "title": "A", "url": "https://n.example/a", "language": "en", "authors": ["A"]}),
            ),
            WRITERS,
        ),
        ("GET", "/v1/articles".into(), None, ANYONE),
        (
            "GET",
            "/v1/articles/matrix".into(),
            None,
            &["journalist", "editor", "auditor", "admin"],
        ),
        (
            "POST",
            "/v1/articles/no-such-article/publish".into(),
            None,
            EDITORS,
        ),
        (
            "POST",
            "/v1/articles/no-such-article/retract".into(),
            None,
            EDITORS,
        ),
        ("POST", "/v1/sources".into(), Some(new_source), WRITERS),
        (
            "PATCH",
            format!("/v1/sources/{source_id}"),
            Some(json!({"title": "changed"})),
            WRITERS,
        ),
        ("GET", format!("/v1/sources/{source_id}"), None, READERS),
        (
            "GET",
            format!("/v1/sources/{source_id}/versions"),
            None,
            READERS,
        ),
        (
            "POST",
            "/v1/articles/matrix/citations".into(),
            Some(json!({"source_id": source_id, "claim": "c2", "locator": "l"})),
            WRITERS,
        ),
        (
            "POST",
            "/v1/citations/no-such-citation/verify".into(),
            None,
            EDITORS,
        ),
        (
            "POST",
            format!("/v1/citations/{citation_id}/retract"),
            Some(json!({"reason": "r"})),
            WRITERS,
        ),
    ];

    // A revoked key's token: 401 where its role would be allowed, 403 elsewhere
    // (the role is checked first, from the signed token alone).
    let revoked_key = app.make_key(Role::Editor, "revoked editor");
    let revoked_token = app.token_for(&revoked_key.secret).await;
    app.send(
        "DELETE",
        &format!("/v1/keys/{}", revoked_key.row.id),
        Some(&tokens["admin"]),
        None,
    )
    .await;
    let size_before = app.ledger_size();
    for (method, uri, _, allowed) in &cases {
        if allowed.len() == ANYONE.len() || *uri == "/v1/articles/matrix" {
            continue;
        }
        let refused = ANYONE
            .iter()
            .filter(|who| !allowed.contains(who))
            .map(|who| (*who, tokens.get(who).map(String::as_str)))
            .chain([("revoked", Some(revoked_token.as_str()))]);
        for (who, token) in refused {
            let revoked_but_allowed = who == "revoked" && allowed.contains(&"editor");
            let expected = if who == "anonymous" || revoked_but_allowed {
                (401, "unauthorized")
            } else {
                (403, "forbidden")
            };
            for (content_type, body) in hostile_bodies() {
                let req = request(method, uri)
                    .insert_header(("content-type", content_type))
                    .set_payload(body);
                let req = match token {
                    Some(token) => req.insert_header(("authorization", format!("Bearer {token}"))),
                    None => req,
                };
                let reply = app.call(req).await;
                let problem = reply.assert_problem(expected.0, expected.1);
                assert!(
                    problem.get("field").is_none(),
                    "{who} {method} {uri} with a {content_type} body learnt about a field: {problem}"
                );
            }
        }
    }
    assert_eq!(app.ledger_size(), size_before, "a refused request wrote");

    for (method, uri, body, allowed) in &cases {
        for who in ANYONE {
            let token = tokens.get(who).map(String::as_str);
            let reply = app.send(method, uri, token, body.clone()).await;
            let status = reply.status.as_u16();
            assert!(
                status < 500,
                "{who} {method} {uri}: {status} {}",
                reply.text()
            );
            if allowed.contains(who) {
                assert!(
                    status != 401 && status != 403,
                    "{who} should be allowed {method} {uri}: {status} {}",
                    reply.text()
                );
            } else if *uri == "/v1/articles/matrix" {
                // A draft is hidden, not forbidden.
                assert_eq!(status, 404, "{who} {method} {uri}");
            } else if *who == "anonymous" {
                assert_eq!(status, 401, "anonymous {method} {uri}: {}", reply.text());
            } else {
                assert_eq!(
                    status,
                    403,
                    "{who} should be refused {method} {uri}: {}",
                    reply.text()
                );
            }
        }
    }

    // Journalists retract only their own citations.
    let other = app
        .token_named(Role::Journalist, "another journalist")
        .await;
    let fresh = app
        .post_as(
            "/v1/articles/matrix/citations",
            &journalist,
            json!({"source_id": source_id, "claim": "mine", "locator": "l"}),
        )
        .await
        .json();
    let fresh_id = fresh["citations"][0]["id"].as_str().expect("id");
    app.post_as(
        &format!("/v1/citations/{fresh_id}/retract"),
        &other,
        json!({"reason": "not mine"}),
    )
    .await
    .assert_problem(403, "forbidden");
}

fn request(method: &str, uri: &str) -> TestRequest {
    match method {
        "GET" => TestRequest::get(),
        "POST" => TestRequest::post(),
        "PATCH" => TestRequest::patch(),
        "DELETE" => TestRequest::delete(),
        other => panic!("method {other}"),
    }
    .uri(uri)
}

/// Bodies that would each fail validation: unknown and malformed fields, text
/// that is not JSON, another media type, and more than the body limit.
fn hostile_bodies() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "application/json",
            br#"{"slug": "NOT A SLUG", "unexpected": true, "citations": 7}"#.to_vec(),
        ),
        ("application/json", b"{not json".to_vec()),
        ("text/plain", b"hello".to_vec()),
        ("application/json", vec![b' '; 3 * 1024 * 1024]),
    ]
}
