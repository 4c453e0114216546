//! A reader's list with no database hop, and revocation still in force: a
//! subscriber's or key's token confirmed once is confirmed from memory after,
//! a deletion or revocation through the same process stops it at once, and
//! one through another server on the same database within a second.

use std::time::{Duration, Instant};

use serde_json::json;
use sourceledger::auth::Role;

use crate::helpers::{App, Backend, Reply, TestApp, call};
use crate::on_both_backends;

on_both_backends!(
    a_confirmed_reader_is_served_from_memory_until_revoked_here,
    a_revocation_elsewhere_takes_effect_within_a_second
);

/// An article with one cited source, published.
async fn published_story(app: &TestApp) {
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    app.post_as(
        "/v1/articles",
        &journalist,
        json!({"slug": "story", "title": "S", "url": "https://news.example/s", "language": "en", "authors": ["A"]}),
    )
    .await;
    let source = app
        .record_source(
            &journalist,
            json!({"url": "https://s.example/", "title": "Source", "publisher": "P", "kind": "document", "language": "en"}),
        )
        .await;
    let cited = app
        .post_as(
            "/v1/articles/story/citations",
            &journalist,
            json!({"source_id": source["id"], "claim": "c", "locator": "l"}),
        )
        .await;
    assert_eq!(cited.status, 201, "{}", cited.text());
    let published = app
        .post_as("/v1/articles/story/publish", &editor, json!({}))
        .await;
    assert_eq!(published.status, 200, "{}", published.text());
}

/// Deletes subscriber `id` through `app`'s API (204 checked).
async fn delete_subscriber(app: &TestApp, admin: &str, id: &str) {
    let removed = app
        .send(
            "DELETE",
            &format!("/v1/subscribers/{id}"),
            Some(admin),
            None,
        )
        .await;
    assert_eq!(removed.status, 204, "{}", removed.text());
}

async fn list_as(app: &App, token: &str) -> Reply {
    call(
        app,
        actix_web::test::TestRequest::get()
            .uri("/v1/articles/story/sources")
            .insert_header(("Authorization", format!("Bearer {token}"))),
    )
    .await
}

/// Reads the list as `token` until a read does no database work (the
/// reader confirmed, the change counter read once); that read's reply.
async fn until_served_from_memory(
    app: &App,
    state: &sourceledger::startup::AppState,
    token: &str,
) -> Reply {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let runs = state.db.runs();
        let reply = list_as(app, token).await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        if state.db.runs() == runs {
            return reply;
        }
        assert!(
            Instant::now() < deadline,
            "a confirmed reader's list still goes to the database"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn a_confirmed_reader_is_served_from_memory_until_revoked_here(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    published_story(&app).await;
    let admin = app.admin_token().await;
    let (member, token) = app.member(&admin, "reader-1").await;

    let first = list_as(&app.app, &token).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(first.json()["locked"], false, "a member sees the full list");
    // Once confirmed (and the shared change counter read), the same reader's
    // list comes from memory: no database work at all.
    let again = until_served_from_memory(&app.app, &app.state, &token).await;
    assert_eq!(again.body, first.body, "the same list");
    let runs = app.state.db.runs();
    for _ in 0..20 {
        assert_eq!(list_as(&app.app, &token).await.status, 200);
    }
    assert_eq!(app.state.db.runs(), runs, "20 reads, no database hop");

    // Deleted through this process: the very next read is refused.
    delete_subscriber(&app, &admin, &member).await;
    list_as(&app.app, &token)
        .await
        .assert_problem(401, "unauthorized");

    // The same for a staff key, on a write path (Allowed<Write>).
    let key = app.make_key(Role::Journalist, "soon revoked");
    let journalist = app.token_for(&key.secret).await;
    for _ in 0..3 {
        assert_eq!(list_as(&app.app, &journalist).await.status, 200);
    }
    let revoked = app
        .send(
            "DELETE",
            &format!("/v1/keys/{}", key.row.id),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.text());
    list_as(&app.app, &journalist)
        .await
        .assert_problem(401, "unauthorized");
    app.post_as(
        "/v1/sources",
        &journalist,
        json!({"url": "https://t.example/", "title": "T", "publisher": "P", "kind": "document", "language": "en"}),
    )
    .await
    .assert_problem(401, "unauthorized");
}

async fn a_revocation_elsewhere_takes_effect_within_a_second(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    published_story(&app).await;
    let admin = app.admin_token().await;
    let (member, token) = app.member(&admin, "reader-2").await;
    // A second server on the same database serves the reader from memory.
    let (other, other_state) = app.another_instance().await;
    until_served_from_memory(&other, &other_state, &token).await;

    // Deleted through the first server.
    delete_subscriber(&app, &admin, &member).await;
    let deleted = Instant::now();

    // The bound: any read the second server starts a second or more after
    // the deletion committed is refused. Reads before that may still pass.
    let mut last_served = None;
    loop {
        let started = deleted.elapsed();
        let status = list_as(&other, &token).await.status;
        if status == 401 {
            eprintln!(
                "refused by the other server {:?} after the deletion (last served at {last_served:?})",
                started
            );
            break;
        }
        assert_eq!(status, 200);
        assert!(
            started < Duration::from_secs(1),
            "the other server still served a deleted subscriber {started:?} after the deletion"
        );
        last_served = Some(started);
        actix_web::rt::time::sleep(Duration::from_millis(10)).await;
    }
}
