//! `POST /v1/sources/lookup`: a page of the test's own loopback site fetched
//! through the fetcher and its metadata read (JSON-LD, OpenGraph,
//! `citation_*`, or only a title); redirects followed; private addresses,
//! callers who may not record sources and bad bodies refused.

use serde_json::{Value, json};

use crate::helpers::{Backend, Reply, TestApp};
use crate::on_both_backends;
use crate::site::HostSite;
use sourceledger::auth::Role;

on_both_backends!(
    a_page_in_another_encoding_is_read_in_it,
    metadata_is_read_from_each_kind_of_page,
    the_url_after_redirects_is_answered,
    a_private_address_is_refused_without_a_connection,
    only_newsroom_staff_may_look_up,
    a_bad_body_is_refused,
    a_page_that_is_not_there_or_not_html_is_a_clear_problem,
    a_page_nested_too_deep_is_not_read,
);

async fn look_up(app: &TestApp, token: &str, url: &str) -> Reply {
    app.post_as("/v1/sources/lookup", token, json!({"url": url}))
        .await
}

/// An HTML page with this head.
fn html(head: &str) -> String {
    format!("<!doctype html><html><head>{head}</head><body><p>Text.</p></body></html>")
}

async fn metadata_is_read_from_each_kind_of_page(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let journalist = app.token_of(Role::Journalist).await;
    let site = HostSite::start();
    let article = json!({
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "NewsArticle", "headline": "Council approves the budget",
             "author": [{"@type": "Person", "name": "Jane Doe"}, {"@type": "Person", "name": "John Roe"}],
             "publisher": {"@type": "Organization", "name": "The Example Post"},
             "datePublished": "2024-03-05T09:30:00+01:00", "inLanguage": "en-GB"}
        ]
    });
    let pages: [(&str, String, Value); 4] = [
        (
            "/json-ld",
            html(&format!(
                r#"<script type="application/ld+json">{article}</script><title>Other</title>"#
            )),
            json!({
                "title": "Council approves the budget",
                "publisher": "The Example Post",
                "authors": ["Jane Doe", "John Roe"],
                "issued": "2024-03-05T09:30:00+01:00",
                "language": "en-GB",
                "kind": "news_report",
            }),
        ),
        (
            "/opengraph",
            html(
                r#"<meta property="og:title" content="Rivers run dry">
                   <meta property="og:site_name" content="Weekly Example">
                   <meta property="og:locale" content="pt_BR">
                   <meta property="article:published_time" content="2024-06-01">
                   <meta property="article:author" content="https://social.example/ana">"#,
            ),
            json!({
                "title": "Rivers run dry",
                "publisher": "Weekly Example",
                "issued": "2024-06-01",
                "language": "pt-BR",
            }),
        ),
        (
            "/paper",
            html(
                r#"<meta name="citation_title" content="Sediment in the Tagus">
                   <meta name="citation_author" content="Silva, Maria">
                   <meta name="citation_author" content="Costa, João">
                   <meta name="citation_publication_date" content="2022/07/01">
                   <meta name="citation_journal_title" content="Rivers">
                   <meta name="citation_doi" content="10.1016/j.rivers.2022.01.003">"#,
            ),
            json!({
                "title": "Sediment in the Tagus",
                "publisher": "Rivers",
                "authors": ["Silva, Maria", "Costa, João"],
                "issued": "2022-07-01",
                "doi": "10.1016/j.rivers.2022.01.003",
                "kind": "academic",
            }),
        ),
        (
            "/plain",
            "<html><head><title> Just a  title </title></head></html>".to_owned(),
            json!({"title": "Just a title"}),
        ),
    ];
    for (path, body, expected) in pages {
        let url = site.page(path, "", body);
        let reply = look_up(&app, &journalist, &url).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        let mut expected = expected;
        expected["url"] = json!(url);
        assert_eq!(reply.json(), expected, "{path}");
    }
    // A lookup stores nothing.
    assert_eq!(app.ledger_size(), 0);
}

async fn the_url_after_redirects_is_answered(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let editor = app.token_of(Role::Editor).await;
    let site = HostSite::start();
    let target = site.page(
        "/2024/story",
        "",
        html(r#"<meta property="og:title" content="Moved here">"#),
    );
    let start = site.answer(
        "/s/abc",
        301,
        vec![("Location".into(), "/2024/story".into())],
        vec![],
    );
    let reply = look_up(&app, &editor, &start).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json(), json!({"url": target, "title": "Moved here"}));
}

async fn a_private_address_is_refused_without_a_connection(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.fetch_allow = Vec::new()).await;
    let journalist = app.token_of(Role::Journalist).await;
    let site = HostSite::start();
    let url = site.page("/", "", html("<title>Private</title>"));
    let problem = look_up(&app, &journalist, &url)
        .await
        .assert_problem(422, "fetch_refused");
    assert!(
        problem["detail"]
            .as_str()
            .is_some_and(|d| d.contains("is not a public address")),
        "{problem}"
    );
    assert_eq!(site.hits(), 0, "a private address was connected to");
}

async fn only_newsroom_staff_may_look_up(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let site = HostSite::start();
    let url = site.page("/", "", html("<title>T</title>"));
    let admin = app.admin_token().await;
    let (_, subscriber) = app.member(&admin, "reader").await;
    let auditor = app.token_of(Role::Auditor).await;
    let anonymous = app
        .send(
            "POST",
            "/v1/sources/lookup",
            None,
            Some(json!({"url": url})),
        )
        .await;
    anonymous.assert_problem(401, "unauthorized");
    for token in [&subscriber, &auditor] {
        look_up(&app, token, &url)
            .await
            .assert_problem(403, "forbidden");
    }
    // Refused before the body is read: a bad body changes nothing.
    app.post_as("/v1/sources/lookup", &subscriber, json!({"nope": 1}))
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(site.hits(), 0);
    for role in [Role::Journalist, Role::Editor] {
        let token = app.token_of(role).await;
        assert_eq!(look_up(&app, &token, &url).await.status, 200, "{role}");
    }
    assert_eq!(look_up(&app, &admin, &url).await.status, 200);
}

async fn a_bad_body_is_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let journalist = app.token_of(Role::Journalist).await;
    let post = |body: Value| app.post_as("/v1/sources/lookup", &journalist, body);
    // An unknown field is named.
    let problem = post(json!({"url": "https://example.org/", "title": "x"}))
        .await
        .assert_problem(400, "invalid_field");
    assert_eq!(problem["field"], "title");
    post(json!({})).await.assert_problem(400, "invalid_body");
    let problem = post(json!({"url": 5}))
        .await
        .assert_problem(400, "invalid_field");
    assert_eq!(problem["field"], "url");
    for url in ["not a url", "ftp://example.org/file", "/relative"] {
        let problem = post(json!({"url": url}))
            .await
            .assert_problem(400, "invalid_field");
        assert_eq!(problem["field"], "url", "{url}");
    }
    let malformed = app
        .call(
            actix_web::test::TestRequest::post()
                .uri("/v1/sources/lookup")
                .insert_header(("Authorization", format!("Bearer {journalist}")))
                .insert_header(("Content-Type", "application/json"))
                .set_payload("{\"url\":"),
        )
        .await;
    malformed.assert_problem(400, "malformed_json");
}

async fn a_page_that_is_not_there_or_not_html_is_a_clear_problem(backend: Backend) {
    // A snapshot cap below 5 MiB caps the lookup too.
    let app = TestApp::spawn_with(backend, |s| s.archive.max_bytes = 1024).await;
    let journalist = app.token_of(Role::Journalist).await;
    let site = HostSite::start();
    let missing = format!("{}/gone", site.origin);
    let problem = look_up(&app, &journalist, &missing)
        .await
        .assert_problem(422, "capture_failed");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(
        detail.contains("404") && detail.contains("/gone"),
        "{detail}"
    );

    let pdf = site.answer(
        "/report.pdf",
        200,
        vec![("Content-Type".into(), "application/pdf".into())],
        b"%PDF-1.7".to_vec(),
    );
    let problem = look_up(&app, &journalist, &pdf)
        .await
        .assert_problem(422, "capture_failed");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains("application/pdf"), "{detail}");

    let big = site.page("/big", "", html(&"<p>words</p>".repeat(200)));
    let problem = look_up(&app, &journalist, &big)
        .await
        .assert_problem(422, "capture_failed");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains("larger than 1024 bytes"), "{detail}");
}

/// Markup nested deeper than any page is not parsed (html5ever's time grows
/// with the square of the depth): a clear problem, not a busy server.
async fn a_page_nested_too_deep_is_not_read(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let journalist = app.token_of(Role::Journalist).await;
    let site = HostSite::start();
    let deep = site.page("/deep", "", html(&"<div>".repeat(100_000)));
    let problem = look_up(&app, &journalist, &deep)
        .await
        .assert_problem(422, "capture_failed");
    let detail = problem["detail"].as_str().expect("detail");
    assert!(detail.contains("nested deeper"), "{detail}");
}

/// A page in windows-1252, declared by its header or by its `<meta>`.
async fn a_page_in_another_encoding_is_read_in_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let journalist = app.token_of(Role::Journalist).await;
    let site = HostSite::start();
    let by_header = site.answer(
        "/header",
        200,
        vec![(
            "Content-Type".into(),
            "text/html; charset=windows-1252".into(),
        )],
        b"<html><head><title>Caf\xe9 \x96 prices in \x80</title></head></html>".to_vec(),
    );
    let reply = look_up(&app, &journalist, &by_header).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.json()["title"], "Café – prices in €");
    let by_meta = site.answer(
        "/meta",
        200,
        vec![("Content-Type".into(), "text/html".into())],
        b"<html><head><meta charset=\"iso-8859-1\"><title>Gr\xfc\xdfe</title></head></html>"
            .to_vec(),
    );
    let reply = look_up(&app, &journalist, &by_meta).await;
    assert_eq!(reply.json()["title"], "Grüße", "{}", reply.text());
}
