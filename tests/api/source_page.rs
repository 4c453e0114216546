//! The source list page (`GET /articles/{slug}/sources`): server-rendered,
//! escaped, under its own strict policy, the teaser for everyone and the full
//! list for a subscriber's token.

use actix_web::test::TestRequest;
use serde_json::{Value, json};
use sourceledger::auth::Role;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(the_page_shows_the_list_escaped_under_a_strict_policy);

const HOSTILE: &str = "<img src=x onerror=alert(1)></script><script>alert(2)</script>";

/// The JSON in `<script type="TYPE" ...>…</script>`.
fn data_block(html: &str, script_type: &str) -> Value {
    let start = html
        .find(&format!("<script type=\"{script_type}\""))
        .expect("block");
    let open_end = start + html[start..].find('>').expect(">") + 1;
    let close = open_end + html[open_end..].find("</script>").expect("</script>");
    serde_json::from_str(&html[open_end..close]).expect("json in the block")
}

async fn the_page_shows_the_list_escaped_under_a_strict_policy(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.embed_origins = vec!["https://news.example".into()];
        s.cta_text = "Join us & see every link".into();
    })
    .await;
    let admin = app.admin_token().await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let article = json!({"slug": "story", "title": "A story", "url": "https://news.example/story", "language": "en", "authors": ["A"]});
    assert_eq!(
        app.post_as("/v1/articles", &journalist, article)
            .await
            .status,
        201
    );
    let source = app
        .post_as(
            "/v1/sources",
            &journalist,
            json!({"url": "https://stats.example/report", "title": HOSTILE, "publisher": "Stats", "kind": "dataset", "language": "en"}),
        )
        .await
        .json();
    let citation = json!({"source_id": source["id"], "claim": "It rose <b>a lot</b>.", "locator": "paragraph 2", "quote": "\"rose\" & fell"});
    assert_eq!(
        app.post_as("/v1/articles/story/citations", &journalist, citation)
            .await
            .status,
        201
    );

    // A draft has no page for readers.
    assert_eq!(app.get("/articles/story/sources").await.status, 404);
    assert_eq!(
        app.post_as("/v1/articles/story/publish", &editor, json!({}))
            .await
            .status,
        200
    );

    let teaser = app.get("/articles/story/sources").await;
    assert_eq!(teaser.status, 200);
    assert!(
        teaser
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/html"))
    );
    let csp = teaser.header("content-security-policy").expect("csp");
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(
        csp.contains("frame-ancestors https://news.example"),
        "{csp}"
    );
    assert_eq!(teaser.header("referrer-policy"), Some("no-referrer"));
    assert_eq!(teaser.header("x-content-type-options"), Some("nosniff"));
    let html = teaser.text();
    assert!(
        !html.contains("<img src=x") && !html.contains("<script>alert"),
        "{html}"
    );
    assert!(
        html.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{html}"
    );
    assert!(html.contains("Join us &amp; see every link"));
    assert!(
        !html.contains("stats.example"),
        "the teaser page shows a link"
    );
    assert!(html.contains("<main>") && html.contains("<h1>"));
    let ld = data_block(&html, "application/ld+json");
    assert_eq!(ld["@type"], "NewsArticle");
    assert_eq!(ld["citation"][0]["name"], HOSTILE);
    assert!(ld["citation"][0].get("url").is_none());
    assert_eq!(data_block(&html, "application/json")["locked"], true);

    // A subscriber's newsletter link: the full list, links and all.
    let (member_id, token) = app.member(&admin, "m").await;
    let full = app
        .get(&format!("/articles/story/sources?token={token}"))
        .await;
    assert_eq!(full.status, 200);
    let html = full.text();
    assert!(
        html.contains("href=\"https://stats.example/report\""),
        "{html}"
    );
    assert!(html.contains("Open the source: &lt;img"), "{html}");
    assert!(html.contains("It rose &lt;b&gt;a lot&lt;/b&gt;."));
    assert!(html.contains("&quot;rose&quot; &amp; fell") || html.contains("\"rose\" &amp; fell"));
    let list = data_block(&html, "application/json");
    assert!(
        list["checkpoint"]
            .as_str()
            .is_some_and(|c| c.contains('\u{2014}'))
    );
    assert_eq!(list["citations"][0]["source"]["title"], HOSTILE);
    // The same by Authorization header, and 304 on its ETag.
    let by_header = app
        .call(
            TestRequest::get()
                .uri("/articles/story/sources")
                .insert_header(("Authorization", format!("Bearer {token}"))),
        )
        .await;
    assert_eq!(by_header.body, full.body);
    let tag = by_header.header("etag").expect("etag").to_owned();
    let again = app
        .call(
            TestRequest::get()
                .uri("/articles/story/sources")
                .insert_header(("Authorization", format!("Bearer {token}")))
                .insert_header(("If-None-Match", tag)),
        )
        .await;
    assert_eq!(again.status, 304);

    // A token that no longer holds (or never did) shows the teaser.
    assert!(
        app.get("/articles/story/sources?token=not.a.token")
            .await
            .text()
            .contains("Join us")
    );
    app.send(
        "DELETE",
        &format!("/v1/subscribers/{member_id}"),
        Some(&admin),
        None,
    )
    .await;
    let revoked = app
        .get(&format!("/articles/story/sources?token={token}"))
        .await;
    assert_eq!(revoked.status, 200);
    assert!(!revoked.text().contains("stats.example"));

    let css = app.get("/assets/sources.css").await;
    assert_eq!(css.status, 200);
    assert!(
        css.header("content-type")
            .is_some_and(|t| t.starts_with("text/css"))
    );
    assert!(css.text().contains("@media print"));
}
