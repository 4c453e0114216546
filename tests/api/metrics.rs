//! `GET /metrics`: what an operator needs, in the Prometheus text format:
//! requests by route pattern (never by path) and status with latency
//! histograms, the log's size and appends, the checkpoint's age, the pool,
//! list cache hits, rate-limit refusals and the link monitor's states.

use serde_json::json;

use crate::helpers::{Backend, TestApp, append_entries, metric_sample};
use crate::on_both_backends;
use sourceledger::auth::Role;

on_both_backends!(metrics_show_what_an_operator_needs);

/// The value of the sample named exactly `series` (name and labels).
async fn metrics_show_what_an_operator_needs(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.rate_limit_anon = 2).await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    app.post_as(
        "/v1/articles",
        &journalist,
        json!({"slug": "story", "title": "S", "url": "https://news.example/s", "language": "en", "authors": ["A"]}),
    )
    .await;
    app.post_as("/v1/articles/story/publish", &editor, json!({}))
        .await;
    append_entries(&app.state, 5, "metrics");
    for _ in 0..3 {
        app.get_as("/v1/articles/story/sources", &editor).await;
    }
    // Anonymous readers over their limit of 2 a minute: one refusal at least.
    let reader_address: std::net::SocketAddr = "192.0.2.7:40000".parse().expect("address");
    for _ in 0..4 {
        app.call(
            actix_web::test::TestRequest::get()
                .uri("/v1/ledger/checkpoint")
                .peer_addr(reader_address),
        )
        .await;
    }
    // Scrapes are never limited.
    let scrape = || {
        app.call(
            actix_web::test::TestRequest::get()
                .uri("/metrics")
                .peer_addr(reader_address),
        )
    };
    let mut scraped = scrape().await;
    for _ in 0..3 {
        scraped = scrape().await;
        assert_eq!(scraped.status, 200);
    }
    assert!(
        scraped
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/openmetrics-text")),
        "{:?}",
        scraped.header("content-type")
    );
    let text = scraped.text();
    assert!(text.ends_with("# EOF\n"), "{text}");
    let route = r#"route="/v1/articles/{slug}/sources",method="GET""#;
    assert!(
        metric_sample(
            &text,
            &format!(r#"sourceledger_http_requests_total{{{route},status="200"}}"#)
        )
        .is_some_and(|n| n >= 3.0),
        "{text}"
    );
    assert!(
        metric_sample(
            &text,
            &format!(r#"sourceledger_http_request_duration_seconds_count{{{route}}}"#)
        )
        .is_some_and(|n| n >= 3.0),
        "{text}"
    );
    assert!(text.contains("sourceledger_http_request_duration_seconds_bucket{"));
    assert!(
        !text.contains("/v1/articles/story/"),
        "a path, not a pattern"
    );
    assert_eq!(
        metric_sample(&text, "sourceledger_ledger_size"),
        Some(app.ledger_size() as f64)
    );
    assert!(metric_sample(&text, "sourceledger_ledger_appends_total").is_some_and(|n| n >= 7.0));
    assert!(metric_sample(&text, "sourceledger_checkpoint_age_seconds").is_some_and(|n| n >= 0.0));
    assert!(metric_sample(&text, "sourceledger_rate_limited_total").is_some_and(|n| n >= 1.0));
    assert!(
        metric_sample(&text, "sourceledger_source_list_cache_hits_total").is_some_and(|n| n >= 2.0)
    );
    assert!(
        metric_sample(&text, "sourceledger_source_list_cache_misses_total")
            .is_some_and(|n| n >= 1.0)
    );
    assert!(metric_sample(&text, r#"sourceledger_db_pool_connections{state="idle"}"#).is_some());
    assert_eq!(
        metric_sample(&text, r#"sourceledger_links{state="gone"}"#),
        Some(0.0)
    );
    assert!(
        text.contains(r#"status="429""#),
        "the refusals are counted by status too"
    );
}
