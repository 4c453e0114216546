//! CORS for the embeddable panel: the configured origins only, and only on
//! what the panel calls.

use actix_web::test::TestRequest;

use crate::helpers::{Backend, TestApp};

#[actix_web::test]
async fn only_the_newsrooms_origins_may_call_what_the_panel_needs() {
    let app = TestApp::spawn_with(Backend::sqlite(), |s| {
        s.embed_origins = vec!["https://news.example".into()];
    })
    .await;
    let preflight = |path: &str, origin: &str| {
        TestRequest::default()
            .method(actix_web::http::Method::OPTIONS)
            .uri(path)
            .insert_header(("Origin", origin.to_owned()))
            .insert_header(("Access-Control-Request-Method", "POST"))
            .insert_header(("Access-Control-Request-Headers", "content-type"))
    };
    let allowed = app
        .call(preflight("/v1/auth/exchange", "https://news.example"))
        .await;
    assert_eq!(allowed.status, 204);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some("https://news.example")
    );
    assert!(
        allowed
            .header("access-control-allow-headers")
            .is_some_and(|h| h.contains("Authorization"))
    );
    assert_eq!(allowed.header("access-control-allow-credentials"), None);

    for (path, origin) in [
        ("/v1/auth/exchange", "https://evil.example"),
        ("/v1/auth/exchange", "https://news.example.evil.example"),
        ("/v1/keys", "https://news.example"),
    ] {
        let refused = app.call(preflight(path, origin)).await;
        assert_eq!(
            refused.header("access-control-allow-origin"),
            None,
            "{path} {origin}"
        );
    }

    let list = app
        .call(
            TestRequest::get()
                .uri("/v1/articles/none/sources")
                .insert_header(("Origin", "https://news.example")),
        )
        .await;
    assert_eq!(list.status, 404);
    assert_eq!(
        list.header("access-control-allow-origin"),
        Some("https://news.example")
    );
    assert!(
        list.headers
            .get_all("vary")
            .any(|v| v.to_str().is_ok_and(|v| v.contains("Origin")))
    );
    let other = app
        .call(
            TestRequest::get()
                .uri("/v1/articles/none/sources")
                .insert_header(("Origin", "https://evil.example")),
        )
        .await;
    assert_eq!(other.header("access-control-allow-origin"), None);
}
