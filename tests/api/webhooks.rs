//! Webhooks from membership platforms, signed here as Ghost and as Standard
//! Webhooks sign them (computed from their specifications with the hmac
//! crate, not with the server's code).

use actix_web::test::TestRequest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use sourceledger::auth::Role;

use crate::helpers::{Backend, Reply, TestApp};
use crate::on_both_backends;

on_both_backends!(
    ghost_members_arrive_change_and_leave,
    ghost_posts_publish_and_retract_their_articles,
    standard_webhooks_keep_subscribers_in_step
);

const GHOST_SECRET: &str = "a-ghost-webhook-secret";

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("key");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// `X-Ghost-Signature: sha256=<hex HMAC(secret, body || t)>, t=<ms>`.
fn ghost_signature(secret: &str, body: &[u8], millis: i64) -> String {
    let mac = hmac(secret.as_bytes(), &[body, millis.to_string().as_bytes()]);
    format!("sha256={}, t={millis}", hex::encode(mac))
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

async fn deliver(app: &TestApp, platform: &str, body: &[u8], headers: &[(&str, String)]) -> Reply {
    let mut req = TestRequest::post()
        .uri(&format!("/v1/webhooks/{platform}"))
        .insert_header(("content-type", "application/json"))
        .set_payload(body.to_vec());
    for (name, value) in headers {
        req = req.insert_header((*name, value.clone()));
    }
    app.call(req).await
}

async fn ghost_delivery(app: &TestApp, platform: &str, body: &Value) -> Reply {
    let body = body.to_string();
    let signature = ghost_signature(GHOST_SECRET, body.as_bytes(), now_ms());
    deliver(
        app,
        platform,
        body.as_bytes(),
        &[("x-ghost-signature", signature)],
    )
    .await
}

fn outcome(reply: &Reply) -> String {
    assert_eq!(reply.status, 200, "{}", reply.text());
    reply.json()["outcome"]
        .as_str()
        .expect("outcome")
        .to_owned()
}

/// (tier, email, platform_id) of the subscriber with this external id.
fn subscriber(
    app: &TestApp,
    external_id: &str,
) -> Option<(String, Option<String>, Option<String>)> {
    use diesel::prelude::*;
    use sourceledger::db::schema::subscribers;
    let mut conn = app.state.db.get().expect("conn");
    subscribers::table
        .filter(subscribers::external_id.eq(external_id))
        .select((
            subscribers::tier,
            subscribers::email,
            subscribers::platform_id,
        ))
        .first(&mut conn)
        .optional()
        .expect("query")
}

async fn register(app: &TestApp, admin: &str, body: Value) -> Value {
    let reply = app.post_as("/v1/platforms", admin, body).await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.json()
}

fn member(id: &str, email: &str, status: &str, updated_at: &str) -> Value {
    json!({"id": id, "uuid": format!("uuid-{id}"), "email": email, "status": status, "updated_at": updated_at})
}

async fn ghost_members_arrive_change_and_leave(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let platform = register(
        &app,
        &admin,
        json!({"kind": "ghost", "name": "ghost", "site": "https://news.example", "webhook_secret": GHOST_SECRET}),
    )
    .await;
    let id = platform["id"].as_str().expect("id");

    // member.added
    let added = json!({"member": {"current": member("m1", "Reader@Example.org", "paid", "2026-11-29T10:00:00.000Z"), "previous": {}}});
    assert_eq!(outcome(&ghost_delivery(&app, id, &added).await), "applied");
    let (tier, email, managed_by) = subscriber(&app, "m1").expect("arrived");
    assert_eq!(
        (tier.as_str(), email.as_deref(), managed_by.as_deref()),
        ("member", Some("reader@example.org"), Some(id))
    );
    // Ghost's retry: the same body, a new t.
    assert_eq!(
        outcome(&ghost_delivery(&app, id, &added).await),
        "duplicate"
    );

    // Refused before anything is stored: a wrong secret, an old timestamp, no header.
    let edited = json!({"member": {"current": member("m1", "reader@example.org", "free", "2026-11-29T11:00:00.000Z"), "previous": {"status": "paid"}}});
    let body = edited.to_string();
    for headers in [
        vec![(
            "x-ghost-signature",
            ghost_signature("another-secret", body.as_bytes(), now_ms()),
        )],
        vec![(
            "x-ghost-signature",
            ghost_signature(GHOST_SECRET, body.as_bytes(), now_ms() - 6 * 60 * 1000),
        )],
        vec![(
            "x-ghost-signature",
            format!("sha256={}, t={}", "00".repeat(32), now_ms()),
        )],
        vec![],
    ] {
        deliver(&app, id, body.as_bytes(), &headers)
            .await
            .assert_problem(401, "invalid_signature");
    }
    assert_eq!(subscriber(&app, "m1").expect("still there").0, "member");

    // member.edited: downgraded to free.
    assert_eq!(outcome(&ghost_delivery(&app, id, &edited).await), "applied");
    assert_eq!(subscriber(&app, "m1").expect("there").0, "free");
    // An older edit arriving late changes nothing.
    let older = json!({"member": {"current": member("m1", "reader@example.org", "comped", "2026-11-29T10:30:00.000Z"), "previous": {}}});
    assert_eq!(outcome(&ghost_delivery(&app, id, &older).await), "stale");
    assert_eq!(subscriber(&app, "m1").expect("there").0, "free");

    // member.deleted: gone at once, and a late edit does not bring it back.
    let deleted = json!({"member": {"current": {}, "previous": member("m1", "reader@example.org", "free", "2026-11-29T11:00:00.000Z")}});
    assert_eq!(
        outcome(&ghost_delivery(&app, id, &deleted).await),
        "applied"
    );
    assert!(subscriber(&app, "m1").is_none());
    let late = json!({"member": {"current": member("m1", "reader@example.org", "paid", "2026-11-29T11:30:00.000Z"), "previous": {}}});
    assert_eq!(outcome(&ghost_delivery(&app, id, &late).await), "stale");
    assert!(subscriber(&app, "m1").is_none());

    // A state no tier names, and an event we do not act on.
    let odd = json!({"member": {"current": member("m2", "x@example.org", "vip", "2026-11-29T10:00:00.000Z"), "previous": {}}});
    assert_eq!(outcome(&ghost_delivery(&app, id, &odd).await), "ignored");
    assert_eq!(
        outcome(&ghost_delivery(&app, id, &json!({"tag": {"current": {}}})).await),
        "ignored"
    );
    assert!(subscriber(&app, "m2").is_none());

    // Signed garbage is a 400; a body over 1 MiB a 413 whatever its signature.
    let garbage = b"{not json";
    let signature = ghost_signature(GHOST_SECRET, garbage, now_ms());
    deliver(&app, id, garbage, &[("x-ghost-signature", signature)])
        .await
        .assert_problem(400, "invalid_body");
    let huge = vec![b' '; 1024 * 1024 + 1];
    deliver(&app, id, &huge, &[])
        .await
        .assert_problem(413, "payload_too_large");

    // Nothing of it reached the ledger.
    assert_eq!(app.ledger_size(), 0);

    // A removed platform's webhook is gone: Ghost deletes a webhook answering 410.
    let removed = app
        .send("DELETE", &format!("/v1/platforms/{id}"), Some(&admin), None)
        .await;
    assert_eq!(removed.status, 204);
    ghost_delivery(&app, id, &added)
        .await
        .assert_problem(410, "gone");
}

async fn ghost_posts_publish_and_retract_their_articles(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let journalist = app.token_of(Role::Journalist).await;
    let platform = register(
        &app,
        &admin,
        json!({"kind": "ghost", "name": "site", "site": "https://news.example", "webhook_secret": GHOST_SECRET}),
    )
    .await;
    let id = platform["id"].as_str().expect("id");
    let article = json!({"slug": "big-story", "title": "Big story", "url": "https://news.example/big-story/", "language": "en", "authors": ["A"]});
    assert_eq!(
        app.post_as("/v1/articles", &journalist, article)
            .await
            .status,
        201
    );
    let before = app.ledger_size();

    let post = |id: &str, slug: &str, url: &str, now: &str, before: &str| json!({"post": {"current": {"id": id, "slug": slug, "url": url, "status": now}, "previous": {"status": before}}});
    const URL: &str = "https://news.example/big-story/";

    // Another contributor's post that takes the article's slug but is not the
    // article (another URL): it publishes nothing, and later retracts nothing.
    let impostor = post(
        "p-other",
        "big-story",
        "https://news.example/big-story-2/",
        "published",
        "draft",
    );
    assert_eq!(
        outcome(&ghost_delivery(&app, id, &impostor).await),
        "ignored"
    );
    assert_eq!(app.ledger_size(), before);

    let published = post("p-1", "big-story", URL, "published", "draft");
    assert_eq!(
        outcome(&ghost_delivery(&app, id, &published).await),
        "applied"
    );
    let state = app
        .get_as("/v1/articles/big-story", &journalist)
        .await
        .json();
    assert_eq!(state["status"], "published");
    assert_eq!(app.ledger_size(), before + 1);
    let entry = app
        .get_as(&format!("/v1/ledger/entries/{before}"), &journalist)
        .await
        .json();
    assert_eq!(entry["kind"], "article.published");
    assert_eq!(entry["actor"], "platform:site");

    // Republished (an edit of a published post), or a post with no article: nothing.
    let edit = post("p-1", "big-story", URL, "published", "published");
    assert_eq!(outcome(&ghost_delivery(&app, id, &edit).await), "ignored");
    let other = post(
        "p-3",
        "not-ours",
        "https://news.example/not-ours/",
        "published",
        "draft",
    );
    assert_eq!(outcome(&ghost_delivery(&app, id, &other).await), "ignored");

    // Unpublishing a post with the article's slug, or even its URL, that is
    // not the post linked to it: the article stays published.
    for (post_id, url) in [
        ("p-other", "https://news.example/big-story-2/"),
        ("p-4", URL),
    ] {
        let unpublished = post(post_id, "big-story", url, "draft", "published");
        assert_eq!(
            outcome(&ghost_delivery(&app, id, &unpublished).await),
            "ignored",
            "{post_id}"
        );
    }
    assert_eq!(
        app.get_as("/v1/articles/big-story", &journalist)
            .await
            .json()["status"],
        "published"
    );

    // The linked post, even with its slug and URL changed since, retracts it.
    let unpublished = post(
        "p-1",
        "renamed",
        "https://news.example/renamed/",
        "draft",
        "published",
    );
    assert_eq!(
        outcome(&ghost_delivery(&app, id, &unpublished).await),
        "applied"
    );
    let state = app
        .get_as("/v1/articles/big-story", &journalist)
        .await
        .json();
    assert_eq!(state["status"], "retracted");
    assert_eq!(app.ledger_size(), before + 2);
}

/// Standard Webhooks: `v1,<base64 HMAC(key, id.timestamp.body)>`, key = base64 after `whsec_`.
fn standard_headers(
    secret: &str,
    id: &str,
    seconds: i64,
    body: &[u8],
    extra: Option<&str>,
) -> Vec<(&'static str, String)> {
    let key = B64
        .decode(secret.strip_prefix("whsec_").expect("whsec_"))
        .expect("base64");
    let timestamp = seconds.to_string();
    let mac = hmac(
        &key,
        &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
    );
    let mut signature = format!("v1,{}", B64.encode(mac));
    if let Some(extra) = extra {
        signature = format!("{extra} {signature}");
    }
    vec![
        ("webhook-id", id.to_owned()),
        ("webhook-timestamp", timestamp),
        ("webhook-signature", signature),
    ]
}

async fn standard_webhooks_keep_subscribers_in_step(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let platform = register(
        &app,
        &admin,
        json!({"kind": "standard-webhooks", "name": "letters"}),
    )
    .await;
    let id = platform["id"].as_str().expect("id");
    let secret = platform["webhook_secret"].as_str().expect("secret");
    let now = chrono::Utc::now().timestamp();
    let send = |msg_id: &'static str, event: Value, seconds: i64, extra: Option<&'static str>| {
        let app = &app;
        async move {
            let body = event.to_string();
            let headers = standard_headers(secret, msg_id, seconds, body.as_bytes(), extra);
            deliver(app, id, body.as_bytes(), &headers).await
        }
    };
    let event = |kind: &str, tier: &str, at: &str| json!({"type": kind, "timestamp": at, "data": {"external_id": "s-1", "email": "s@example.org", "tier": tier}});

    // Created, with a stale signature of a rotated-out key beside the good one.
    let created = event("subscriber.created", "free", "2026-11-29T10:00:00Z");
    let reply = send(
        "msg_1",
        created.clone(),
        now,
        Some("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
    )
    .await;
    assert_eq!(outcome(&reply), "applied");
    assert_eq!(subscriber(&app, "s-1").expect("made").0, "free");
    assert_eq!(
        outcome(&send("msg_1", created.clone(), now, None).await),
        "duplicate"
    );

    let upgraded = event("subscriber.updated", "member", "2026-11-29T12:00:00Z");
    assert_eq!(
        outcome(&send("msg_2", upgraded, now, None).await),
        "applied"
    );
    let older = event("subscriber.updated", "free", "2026-11-29T11:00:00Z");
    assert_eq!(outcome(&send("msg_3", older, now, None).await), "stale");
    assert_eq!(subscriber(&app, "s-1").expect("there").0, "member");

    // Refused: a stale timestamp, the signature of another body, none at all.
    let body = event("subscriber.deleted", "member", "2026-11-29T13:00:00Z");
    send("msg_4", body.clone(), now - 301, None)
        .await
        .assert_problem(401, "invalid_signature");
    let wrong = standard_headers(secret, "msg_4", now, b"{}", None);
    deliver(&app, id, body.to_string().as_bytes(), &wrong)
        .await
        .assert_problem(401, "invalid_signature");
    deliver(&app, id, body.to_string().as_bytes(), &[])
        .await
        .assert_problem(401, "invalid_signature");
    assert!(subscriber(&app, "s-1").is_some());

    assert_eq!(outcome(&send("msg_4", body, now, None).await), "applied");
    assert!(subscriber(&app, "s-1").is_none());
    // The creation, delivered again under a new id after the deletion: stays deleted.
    assert_eq!(outcome(&send("msg_5", created, now, None).await), "stale");
    assert!(subscriber(&app, "s-1").is_none());
    // An unknown event is taken and ignored.
    let unknown = json!({"type": "invoice.paid", "timestamp": "2026-11-29T13:00:00Z", "data": {}});
    assert_eq!(outcome(&send("msg_6", unknown, now, None).await), "ignored");
}

/// A delivery that fails leaves no record of itself, so the platform's retry
/// of it is applied, not taken for a duplicate.
#[actix_web::test]
async fn a_failed_delivery_is_applied_when_retried() {
    let app = TestApp::spawn(Backend::sqlite()).await;
    let admin = app.admin_token().await;
    let ghost = register(
        &app,
        &admin,
        json!({"kind": "ghost", "name": "ghost", "site": "https://news.example", "webhook_secret": GHOST_SECRET}),
    )
    .await;
    let ghost = ghost["id"].as_str().expect("id");
    let letters = register(
        &app,
        &admin,
        json!({"kind": "standard-webhooks", "name": "letters"}),
    )
    .await;
    let (letters_id, secret) = (
        letters["id"].as_str().expect("id"),
        letters["webhook_secret"].as_str().expect("secret"),
    );
    let now = chrono::Utc::now().timestamp();
    let standard = |msg: &str, kind: &str| {
        let body = json!({"type": kind, "timestamp": "2026-11-29T10:00:00Z", "data": {"external_id": "m9", "tier": "free"}}).to_string();
        (
            body.clone(),
            standard_headers(secret, msg, now, body.as_bytes(), None),
        )
    };

    // The other platform holds member id m9, so Ghost's m9 conflicts: 409.
    let (body, headers) = standard("msg_a", "subscriber.created");
    assert_eq!(
        outcome(&deliver(&app, letters_id, body.as_bytes(), &headers).await),
        "applied"
    );
    let added = json!({"member": {"current": member("m9", "m9@example.org", "paid", "2026-11-29T10:00:00.000Z"), "previous": {}}});
    ghost_delivery(&app, ghost, &added)
        .await
        .assert_problem(409, "conflict");

    // Once that is cleared, Ghost's retry of the same delivery takes effect.
    let (body, headers) = standard("msg_b", "subscriber.deleted");
    assert_eq!(
        outcome(&deliver(&app, letters_id, body.as_bytes(), &headers).await),
        "applied"
    );
    assert_eq!(
        outcome(&ghost_delivery(&app, ghost, &added).await),
        "applied"
    );
    assert_eq!(subscriber(&app, "m9").expect("arrived").0, "member");
}
