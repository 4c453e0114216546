//! The anonymous teaser from memory: fresh at once after a write in the same
//! process, within a second after a write by another server on the same
//! database; public caching headers for it, private for a reader's list.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{Backend, TestApp, call};
use crate::on_both_backends;
use sourceledger::auth::Role;

on_both_backends!(the_teaser_is_served_from_memory_and_stays_fresh);

async fn count(app: &TestApp) -> u64 {
    app.get("/v1/articles/story/sources").await.json()["source_count"]
        .as_u64()
        .expect("count")
}

async fn the_teaser_is_served_from_memory_and_stays_fresh(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let source = |i: usize| json!({"url": format!("https://s{i}.example/"), "title": format!("Source {i}"), "publisher": "P", "kind": "document", "language": "en"});
    app.post_as(
        "/v1/articles",
        &journalist,
        json!({"slug": "story", "title": "S", "url": "https://news.example/s", "language": "en", "authors": ["A"]}),
    )
    .await;
    let first = app
        .post_as("/v1/sources", &journalist, source(0))
        .await
        .json();
    app.post_as(
        "/v1/articles/story/citations",
        &journalist,
        json!({"source_id": first["id"], "claim": "c", "locator": "l"}),
    )
    .await;
    app.post_as("/v1/articles/story/publish", &editor, json!({}))
        .await;
    let teaser = app.get("/v1/articles/story/sources").await;
    assert_eq!(teaser.json()["source_count"], 1);
    assert_eq!(
        teaser.header("cache-control"),
        Some("public, max-age=10, stale-while-revalidate=60")
    );
    let list = app.get_as("/v1/articles/story/sources", &editor).await;
    assert_eq!(list.header("cache-control"), Some("private, no-cache"));

    // Served from memory on the next reads.
    let hits = app.state.lists.built.hits.load(Ordering::Relaxed);
    for _ in 0..5 {
        assert_eq!(count(&app).await, 1);
    }
    assert!(app.state.lists.built.hits.load(Ordering::Relaxed) >= hits + 5);

    // A write in this process: the very next teaser shows it.
    let second = app
        .post_as("/v1/sources", &journalist, source(1))
        .await
        .json();
    app.post_as(
        "/v1/articles/story/citations",
        &journalist,
        json!({"source_id": second["id"], "claim": "c", "locator": "l"}),
    )
    .await;
    assert_eq!(count(&app).await, 2, "stale right after a write here");

    // A write by another server on the same database: shown within the
    // second the size is trusted for.
    let (other, _) = app.another_instance().await;
    let third = call(
        &other,
        actix_web::test::TestRequest::post()
            .uri("/v1/sources")
            .insert_header(("Authorization", format!("Bearer {journalist}")))
            .set_json(source(2)),
    )
    .await
    .json();
    // Past the trust of any size read before: the next read asks the database.
    actix_web::rt::time::sleep(sourceledger::newsroom::source_list::SIZE_TRUSTED_FOR).await;
    assert_eq!(count(&app).await, 2, "this server read the teaser just now");
    let size_read = Instant::now();
    let attached = call(
        &other,
        actix_web::test::TestRequest::post()
            .uri("/v1/articles/story/citations")
            .insert_header(("Authorization", format!("Bearer {journalist}")))
            .set_json(json!({"source_id": third["id"], "claim": "c", "locator": "l"})),
    )
    .await;
    assert_eq!(attached.status, 201, "{}", attached.text());
    let written = Instant::now();
    // Each server counts its own writes: this one did not see the other's,
    // so within the second its size is trusted for it still serves what it
    // holds. (Were the two counting together, it would show 3 at once, and
    // the bound below would prove nothing.)
    let seen = count(&app).await;
    if size_read.elapsed() < sourceledger::newsroom::source_list::SIZE_TRUSTED_FOR {
        assert_eq!(
            seen, 2,
            "another server's write was seen through a shared count"
        );
    } else {
        eprintln!(
            "the stale read came too late to check ({} ms)",
            size_read.elapsed().as_millis()
        );
    }
    while count(&app).await != 3 {
        assert!(
            written.elapsed()
                < sourceledger::newsroom::source_list::SIZE_TRUSTED_FOR
                    + Duration::from_millis(500),
            "another server's write not shown within the bound"
        );
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
    eprintln!(
        "another server's write shown after {} ms",
        written.elapsed().as_millis()
    );
}
