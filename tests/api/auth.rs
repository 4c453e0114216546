//! API keys, tokens, and attacks on them.

use actix_web::test::TestRequest;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use diesel::prelude::*;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sourceledger::auth::Role;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    token_endpoint_refuses_bad_keys_and_bodies,
    a_revoked_keys_tokens_stop_within_a_second,
    forged_and_stale_tokens_are_refused,
    the_last_admin_key_cannot_be_revoked
);

async fn post_token(app: &TestApp, body: TestRequest) -> crate::helpers::Reply {
    app.call(body.uri("/v1/auth/token")).await
}

async fn token_endpoint_refuses_bad_keys_and_bodies(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let reply = post_token(
        &app,
        TestRequest::post().set_json(json!({"api_key": "sl_nope"})),
    )
    .await;
    reply.assert_problem(401, "unauthorized");
    assert_eq!(reply.header("www-authenticate"), Some("Bearer"));

    let good = app.bootstrap_key();
    let reply = post_token(&app, TestRequest::post().set_json(json!({"api_key": good}))).await;
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);

    let json_post = |body: &str| {
        TestRequest::post()
            .insert_header(("content-type", "application/json"))
            .set_payload(body.to_owned())
    };
    post_token(&app, json_post("{\"api_key\": "))
        .await
        .assert_problem(400, "malformed_json");
    post_token(&app, json_post("{}"))
        .await
        .assert_problem(400, "invalid_body");
    let unknown = post_token(
        &app,
        json_post(&format!("{{\"api_key\": \"{good}\", \"role\": \"admin\"}}")),
    )
    .await
    .assert_problem(400, "invalid_field");
    assert_eq!(unknown["field"], "role");
    let wrong_type = post_token(&app, json_post("{\"api_key\": 7}"))
        .await
        .assert_problem(400, "invalid_field");
    assert_eq!(wrong_type["field"], "api_key");
    post_token(
        &app,
        TestRequest::post()
            .insert_header(("content-type", "text/plain"))
            .set_payload(format!("{{\"api_key\": \"{good}\"}}")),
    )
    .await
    .assert_problem(415, "unsupported_media_type");
    let huge = format!("{{\"api_key\": \"{}\"}}", "a".repeat(3 * 1024 * 1024));
    post_token(&app, json_post(&huge))
        .await
        .assert_problem(413, "payload_too_large");
}

async fn a_revoked_keys_tokens_stop_within_a_second(backend: Backend) {
    use sourceledger::db::schema::api_keys;
    let app = TestApp::spawn(backend).await;
    let key = app.make_key(Role::Auditor, "outside auditor");
    let token = app.token_for(&key.secret).await;
    assert_eq!(app.get_as("/v1/ledger/entries", &token).await.status, 200);
    {
        let mut conn = app.state.db.get().expect("conn");
        diesel::update(api_keys::table.find(&key.row.id))
            .set(api_keys::revoked_at.eq(Some("2026-01-01T00:00:00.000000Z")))
            .execute(&mut *conn)
            .expect("revoke");
    }
    // Revoked behind the server's back (as `sourceledger keys revoke` or
    // another server would): refused within the second the server trusts
    // what it confirmed before (tests/api/liveness.rs: through the API, at
    // once).
    let revoked = std::time::Instant::now();
    loop {
        let started = revoked.elapsed();
        let reply = app.get_as("/v1/ledger/entries", &token).await;
        if reply.status == 401 {
            reply.assert_problem(401, "unauthorized");
            break;
        }
        assert!(
            started < std::time::Duration::from_secs(1),
            "a revoked key's token still worked {started:?} after the revocation"
        );
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    post_token(
        &app,
        TestRequest::post().set_json(json!({"api_key": key.secret})),
    )
    .await
    .assert_problem(401, "unauthorized");
}

fn b64url(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("json"))
}

async fn forged_and_stale_tokens_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.make_key(Role::Editor, "desk");
    let good = app.token_for(&key.secret).await;
    assert_eq!(app.get_as("/v1/ledger/entries", &good).await.status, 200);

    let secret_text = std::fs::read_to_string(app.data_dir.join("jwt.secret")).expect("secret");
    let secret = STANDARD.decode(secret_text.trim()).expect("base64");
    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": "test.sourceledger.example/ledger",
        "aud": "sourceledger-api",
        "sub": format!("key:{}", key.row.id),
        "role": "editor",
        "name": "desk",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
    });
    let sign = |claims: &Value, secret: &[u8]| {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(secret),
        )
        .expect("sign")
    };
    // The same claims, properly signed, work: what follows changes one thing each.
    assert_eq!(
        app.get_as("/v1/ledger/entries", &sign(&claims, &secret))
            .await
            .status,
        200
    );

    let with = |field: &str, value: Value| {
        let mut c = claims.clone();
        c[field] = value;
        c
    };
    let without = |field: &str| {
        let mut c = claims.clone();
        c.as_object_mut().expect("object").remove(field);
        c
    };
    let alg_none = format!(
        "{}.{}.",
        b64url(&json!({"alg": "none", "typ": "JWT"})),
        b64url(&claims)
    );
    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &claims,
        &EncodingKey::from_secret(&secret),
    )
    .expect("sign");
    let parts: Vec<&str> = good.split('.').collect();
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
    payload["role"] = json!("admin");
    let altered = format!("{}.{}.{}", parts[0], b64url(&payload), parts[2]);

    let attacks = [
        ("alg none", alg_none),
        ("another algorithm", hs512),
        (
            "another secret",
            sign(&claims, b"not the server's secret, but 32+ bytes long"),
        ),
        ("expired", sign(&with("exp", json!(now - 3600)), &secret)),
        (
            "not yet valid",
            sign(&with("nbf", json!(now + 3600)), &secret),
        ),
        ("no exp", sign(&without("exp"), &secret)),
        (
            "wrong aud",
            sign(&with("aud", json!("someone-else")), &secret),
        ),
        ("no aud", sign(&without("aud"), &secret)),
        (
            "wrong iss",
            sign(&with("iss", json!("evil.example/ledger")), &secret),
        ),
        (
            "role not the key's",
            sign(&with("role", json!("admin")), &secret),
        ),
        (
            "unknown subject",
            sign(&with("sub", json!("key:nope")), &secret),
        ),
        ("payload altered after signing", altered),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (what, token) in attacks {
        let reply = app.get_as("/v1/ledger/entries", &token).await;
        assert_eq!(reply.status, 401, "{what}: {}", reply.text());
        reply.assert_problem(401, "unauthorized");
    }
    for header in ["Basic abc", "Bearer", "Bearer ", "bearer"] {
        let reply = app
            .call(
                TestRequest::get()
                    .uri("/v1/ledger/entries")
                    .insert_header(("Authorization", header)),
            )
            .await;
        reply.assert_problem(401, "unauthorized");
    }
}

/// Revoking the last live admin key would lock the newsroom out of its own API.
async fn the_last_admin_key_cannot_be_revoked(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let bootstrap = app.admin_token().await;
    let keys = app.get_as("/v1/keys", &bootstrap).await.json();
    let bootstrap_id = keys["keys"][0]["id"].as_str().expect("id").to_owned();
    // An auditor key does not count as an admin.
    app.make_key(Role::Auditor, "auditor");
    app.send(
        "DELETE",
        &format!("/v1/keys/{bootstrap_id}"),
        Some(&bootstrap),
        None,
    )
    .await
    .assert_problem(409, "last_admin");
    assert_eq!(app.get_as("/v1/keys", &bootstrap).await.status, 200);

    // With a second admin, the first may go; then the second is the last.
    let second = app.make_key(Role::Admin, "second admin");
    let second_token = app.token_for(&second.secret).await;
    let reply = app
        .send(
            "DELETE",
            &format!("/v1/keys/{bootstrap_id}"),
            Some(&bootstrap),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.json()["revoked_at"].is_string());
    app.send(
        "DELETE",
        &format!("/v1/keys/{}", second.row.id),
        Some(&second_token),
        None,
    )
    .await
    .assert_problem(409, "last_admin");
    // Revoking an already revoked key changes nothing and is not refused.
    let reply = app
        .send(
            "DELETE",
            &format!("/v1/keys/{bootstrap_id}"),
            Some(&second_token),
            None,
        )
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text());

    // Two admins revoking each other at once: one of them stays.
    let third = app.make_key(Role::Admin, "third admin");
    let third_token = app.token_for(&third.secret).await;
    let (a, b) = futures_util::future::join(
        app.send(
            "DELETE",
            &format!("/v1/keys/{}", third.row.id),
            Some(&second_token),
            None,
        ),
        app.send(
            "DELETE",
            &format!("/v1/keys/{}", second.row.id),
            Some(&third_token),
            None,
        ),
    )
    .await;
    let mut conn = app.state.db.get().expect("conn");
    let live_admins: i64 = sourceledger::db::schema::api_keys::table
        .filter(sourceledger::db::schema::api_keys::role.eq("admin"))
        .filter(sourceledger::db::schema::api_keys::revoked_at.is_null())
        .count()
        .get_result(&mut conn)
        .expect("count");
    assert_eq!(live_admins, 1, "{} / {}", a.text(), b.text());
    // The loser is refused: 409 when it got as far as the revocation, 401 when
    // its own key was revoked before its token was confirmed.
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort_unstable();
    assert!(
        statuses == [200, 401] || statuses == [200, 409],
        "{} / {}",
        a.text(),
        b.text()
    );
}
