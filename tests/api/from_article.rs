//! Sources from the article itself, through the real app on both backends:
//! an article's links proposed (HTML, Markdown, a URL), accepted, edited or
//! dropped in the desk; publishing captures every cited page (a failed one
//! shows in the drift queue); quotes looked for in the archived copies,
//! shown and proven in the readers' list; the article's HTML given back
//! with Robust Links; hostile articles read within their limits.

use serde_json::{Value, json};
use sourceledger::auth::Role;

use crate::desk::{Browser, hidden};
use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::site::HostSite;

on_both_backends!(
    an_articles_links_are_proposed_and_accepted_edited_or_dropped_in_the_desk,
    hostile_articles_are_read_within_limits,
    publishing_captures_cited_pages_and_their_quotes_are_looked_for
);

const ARTICLE_URL: &str = "https://www.daily.example/2026/12/housing";

async fn article(app: &TestApp, token: &str, slug: &str) {
    let made = app
        .post_as(
            "/v1/articles",
            token,
            json!({"slug": slug, "title": "Housing costs", "url": ARTICLE_URL,
                   "language": "en", "authors": ["Jo"]}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text());
}

fn urls(proposals: &Value) -> Vec<String> {
    proposals["proposals"]
        .as_array()
        .expect("proposals")
        .iter()
        .map(|p| p["url"].as_str().expect("url").to_owned())
        .collect()
}

async fn an_articles_links_are_proposed_and_accepted_edited_or_dropped_in_the_desk(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let journalist = app.token_of(Role::Journalist).await;
    let admin = app.admin_token().await;
    let (_, reader) = app.member(&admin, "reader").await;
    article(&app, &journalist, "housing").await;
    let known = app
        .record_source(
            &journalist,
            json!({"url": "https://known.example/report", "title": "Known report",
                   "publisher": "Known", "kind": "document", "language": "en"}),
        )
        .await;
    let html = r##"<html><body>
      <nav><a href="https://partner.example/">Partner</a></nav>
      <article>
        <p>Rents rose 6.2 percent, <a href="https://known.example/report?utm_source=x">the report
           said</a>. Dr. Lee <a href="https://stats.example/cpi">disagreed</a> at length.</p>
        <p>A <a href="javascript:alert(1)">script</a>, <a href="/2025/older">our own story</a>
           and <a href="https://cdn.daily.example/x.pdf">our PDF</a> are not sources.</p>
        <p>The <a href="http://10.0.0.7/leak">internal memo</a> was leaked.</p>
        <p>Vacancies fell.<sup><a href="#fn1">1</a></sup></p>
        <ol><li id="fn1">Survey, <a href="https://survey.example/2026">data</a>.</li></ol>
      </article></body></html>"##;
    let uri = "/v1/articles/housing/extract";

    // Who may, and what is asked of the body.
    let anonymous = app
        .call(
            actix_web::test::TestRequest::post()
                .uri(uri)
                .set_json(json!({"html": html})),
        )
        .await;
    anonymous.assert_problem(401, "unauthorized");
    app.post_as(uri, &reader, json!({"html": html}))
        .await
        .assert_problem(403, "forbidden");
    app.post_as(uri, &journalist, json!({}))
        .await
        .assert_problem(400, "invalid_body");
    app.post_as(
        uri,
        &journalist,
        json!({"html": html, "url": "https://x.example/"}),
    )
    .await
    .assert_problem(400, "invalid_body");
    app.post_as(
        "/v1/articles/nope/extract",
        &journalist,
        json!({"html": html}),
    )
    .await
    .assert_problem(404, "not_found");

    let read = app.post_as(uri, &journalist, json!({"html": html})).await;
    assert_eq!(read.status, 200, "{}", read.text());
    let proposals = read.json();
    assert_eq!(
        urls(&proposals),
        vec![
            "https://known.example/report",
            "https://stats.example/cpi",
            "http://10.0.0.7/leak",
            "https://survey.example/2026",
        ],
        "{proposals}"
    );
    let first = &proposals["proposals"][0];
    assert_eq!(first["claim"], "Rents rose 6.2 percent, the report said.");
    assert_eq!(first["anchor_text"], "the report said");
    assert_eq!(
        first["source_id"], known["id"],
        "a URL recorded names its source"
    );
    assert!(proposals["proposals"][1].get("source_id").is_none());
    assert_eq!(
        proposals["proposals"][1]["claim"],
        "Dr. Lee disagreed at length."
    );
    assert_eq!(proposals["proposals"][3]["claim"], "Vacancies fell.");
    assert_eq!(proposals["proposals"][3]["anchor_text"], "data");

    // Markdown, and a URL fetched through the fetcher.
    let markdown = app
        .post_as(
            uri,
            &journalist,
            json!({"markdown": "Prices [rose sharply](https://stats.example/cpi). See [the memo][m].\n\n[m]: https://memo.example/\n"}),
        )
        .await;
    assert_eq!(markdown.status, 200, "{}", markdown.text());
    let site = HostSite::start();
    let page = site.page("/story", "", html.to_owned());
    let fetched = app.post_as(uri, &journalist, json!({"url": page})).await;
    assert_eq!(fetched.status, 200, "{}", fetched.text());
    // The same links, read again: the same proposals.
    assert_eq!(urls(&fetched.json()), urls(&proposals));

    // Nothing was recorded by proposing.
    let citations_before = app.ledger_size();

    // In the desk: one accepted as edited (a quote added), one dropped, the
    // rest accepted at once.
    let key = app.make_key(Role::Journalist, "Jo Journalist");
    let mut desk = Browser::new(&app);
    desk.sign_in(&key.secret).await;
    let page = desk.get("/desk/articles/housing").await;
    assert_eq!(page.status, 200);
    let text = page.text();
    assert!(text.contains("Sources from the article"), "{text}");
    assert!(text.contains("Rents rose 6.2 percent, the report said."));
    assert!(text.contains("Accept all 4"), "{text}");
    let csrf = hidden(&text, "csrf");
    let accepted = desk
        .post(
            "/desk/articles/housing/proposals/accept",
            &[
                ("csrf", &csrf),
                ("url", "https://stats.example/cpi"),
                ("claim", "Dr. Lee disagreed."),
                ("quote", "We disagree with the method"),
                ("locator", "paragraph 1"),
                ("title", "Consumer prices"),
                ("publisher", "Statistics Office"),
                ("kind", "dataset"),
                ("language", "en"),
            ],
        )
        .await;
    assert_eq!(accepted.status, 303, "{}", accepted.text());
    let dropped = desk
        .post(
            "/desk/articles/housing/proposals/drop",
            &[("csrf", &csrf), ("url", "http://10.0.0.7/leak")],
        )
        .await;
    assert_eq!(dropped.status, 303, "{}", dropped.text());
    // Decided already: refused, nothing changes.
    let again = desk
        .post(
            "/desk/articles/housing/proposals/drop",
            &[("csrf", &csrf), ("url", "http://10.0.0.7/leak")],
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.text());
    let all = desk
        .post(
            "/desk/articles/housing/proposals/accept-all",
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(all.status, 303, "{}", all.text());
    assert!(app.ledger_size() > citations_before);

    let list = app
        .get_as("/v1/articles/housing/sources", &journalist)
        .await
        .json();
    let cited: Vec<(String, String)> = list["citations"]
        .as_array()
        .expect("citations")
        .iter()
        .map(|c| {
            (
                c["source"]["url"].as_str().expect("url").to_owned(),
                c["claim"].as_str().expect("claim").to_owned(),
            )
        })
        .collect();
    assert_eq!(cited.len(), 3, "{list}");
    assert!(cited.contains(&(
        "https://stats.example/cpi".into(),
        "Dr. Lee disagreed.".into()
    )));
    assert!(cited.contains(&(
        "https://known.example/report".into(),
        "Rents rose 6.2 percent, the report said.".into()
    )));
    assert!(cited.contains(&(
        "https://survey.example/2026".into(),
        "Vacancies fell.".into()
    )));
    let edited = list["citations"]
        .as_array()
        .expect("citations")
        .iter()
        .find(|c| c["source"]["url"] == "https://stats.example/cpi")
        .expect("edited");
    assert_eq!(edited["quote"], "We disagree with the method");
    assert_eq!(edited["source"]["title"], "Consumer prices");
    assert_eq!(edited["source"]["kind"], "dataset");
    // The known source was cited, not recorded again.
    let known_cited = list["citations"]
        .as_array()
        .expect("citations")
        .iter()
        .find(|c| c["source"]["url"] == "https://known.example/report")
        .expect("known");
    assert_eq!(known_cited["source_id"], known["id"]);

    // Read again (an edited draft): decided links stay decided.
    let reread = app.post_as(uri, &journalist, json!({"html": html})).await;
    assert_eq!(reread.status, 200);
    assert_eq!(
        urls(&reread.json()),
        Vec::<String>::new(),
        "{}",
        reread.text()
    );
    let page = desk.get("/desk/articles/housing").await.text();
    assert!(page.contains("No proposals."), "{page}");

    // "Look up" fills the "Record a source" form from the page's metadata.
    let described = site.page(
        "/paper",
        "",
        r#"<html lang="en"><head><title>x</title><script type="application/ld+json">
        {"@context": "https://schema.org", "@type": "ScholarlyArticle", "headline": "Rent and wages, 1990-2025",
         "publisher": {"@type": "Organization", "name": "Housing Journal"}, "datePublished": "2025-03-04",
         "identifier": "https://doi.org/10.1234/rent.2025"}</script></head><body><p>Text.</p></body></html>"#
            .into(),
    );
    let filled = desk
        .post(
            "/desk/articles/housing/lookup",
            &[
                ("csrf", &csrf),
                ("url", &described),
                ("title", ""),
                ("publisher", ""),
                ("kind", "official_statement"),
                ("language", ""),
            ],
        )
        .await;
    assert_eq!(filled.status, 200, "{}", filled.text());
    let form = filled.text();
    assert!(
        form.contains("value=\"Rent and wages, 1990-2025\""),
        "{form}"
    );
    assert!(form.contains("value=\"Housing Journal\""), "{form}");
    assert!(form.contains("value=\"2025-03-04\""), "{form}");
    assert!(form.contains("value=\"10.1234/rent.2025\""), "{form}");
    assert!(form.contains("value=\"academic\" selected"), "{form}");
    // Recorded from the filled form, with its date and DOI.
    let recorded = desk
        .post(
            "/desk/articles/housing/sources",
            &[
                ("csrf", &csrf),
                ("url", &described),
                ("title", "Rent and wages, 1990-2025"),
                ("publisher", "Housing Journal"),
                ("kind", "academic"),
                ("language", "en"),
                ("published_at", "2025-03-04"),
                ("doi", "10.1234/rent.2025"),
            ],
        )
        .await;
    assert_eq!(recorded.status, 303, "{}", recorded.text());
    let to = crate::desk::location(&recorded);
    let id = to.split("source=").nth(1).expect("the new source's id");
    let source = app
        .get_as(&format!("/v1/sources/{id}"), &journalist)
        .await
        .json();
    assert_eq!(source["published_at"], "2025-03-04", "{source}");
    assert_eq!(source["doi"], "10.1234/rent.2025", "{source}");
}

async fn hostile_articles_are_read_within_limits(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let journalist = app.token_of(Role::Journalist).await;
    article(&app, &journalist, "hostile").await;
    let uri = "/v1/articles/hostile/extract";
    // A site on a private address that the article links to: proposed,
    // never fetched.
    let private = HostSite::start_on("127.0.0.9");
    let inside = private.page("/admin", "", "<p>secret</p>".into());

    // 5 MiB of article.
    let paragraph = "<p>Officials said the figures were revised twice in the year, and the revision was small. </p>";
    let mut big = paragraph.repeat((5 << 20) / paragraph.len());
    big.push_str(&format!(
        "<p>The <a href=\"{inside}\">admin page</a> and <a href=\"javascript:void(0)\">a script</a> and <a href=\"https://ok.example/a\">a source</a>.</p>"
    ));
    assert!(big.len() >= 5 << 20);
    let read = app.post_as(uri, &journalist, json!({"html": big})).await;
    assert_eq!(read.status, 200, "{}", read.text());
    assert_eq!(
        urls(&read.json()),
        vec![inside.clone(), "https://ok.example/a".to_owned()]
    );
    assert_eq!(private.hits(), 0, "a proposal is never fetched");

    // 50,000 links: the first 1,000 kept.
    let many: String = (0..50_000)
        .map(|i| format!("<p>Fact {i} <a href=\"https://s{i}.example/\">here</a>.</p>"))
        .collect();
    let read = app.post_as(uri, &journalist, json!({"html": many})).await;
    assert_eq!(read.status, 200, "{}", read.text());
    assert_eq!(urls(&read.json()).len(), 1000);

    // Nested deeper than any article: refused, clearly.
    let deep = format!(
        "{}<p><a href=\"https://deep.example/\">x</a></p>",
        "<div>".repeat(100_000)
    );
    let refused = app.post_as(uri, &journalist, json!({"html": deep})).await;
    let problem = refused.assert_problem(400, "invalid_body");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("nested deeper"),
        "{problem}"
    );
    // Over the limit: 413, nothing kept.
    let huge = "x".repeat(9 << 20);
    app.post_as(uri, &journalist, json!({"html": huge}))
        .await
        .assert_problem(413, "payload_too_large");
}

async fn publishing_captures_cited_pages_and_their_quotes_are_looked_for(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.archive.link_check_host_delay = std::time::Duration::ZERO;
        s.archive.capture_retry_delay = std::time::Duration::from_millis(1);
    })
    .await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let admin = app.admin_token().await;
    let (_, reader) = app.member(&admin, "reader").await;
    article(&app, &journalist, "published").await;
    let site = HostSite::start();
    let found_page = site.page(
        "/found",
        "",
        "<html><body><h1>Report</h1><p>The council said: “Rents will keep rising\n   for years.” Nobody disagreed.</p></body></html>".into(),
    );
    let absent_page = site.page(
        "/absent",
        "",
        "<html><body><p>Nothing quotable here.</p></body></html>".into(),
    );
    let gone = site.answer("/gone", 404, vec![], b"no".to_vec());
    let mut ids = Vec::new();
    for (url, title) in [
        (&found_page, "Found"),
        (&absent_page, "Absent"),
        (&gone, "Gone"),
    ] {
        let made = app
            .record_source(
                &journalist,
                json!({"url": url, "title": title, "publisher": "Council", "kind": "document", "language": "en"}),
            )
            .await;
        ids.push(made["id"].as_str().expect("id").to_owned());
    }
    let cite = app
        .post_as(
            "/v1/articles/published/citations",
            &journalist,
            json!({"citations": [
                {"source_id": ids[0], "claim": "Rents will rise.", "quote": "\"rents will keep rising for years\"", "locator": "p1"},
                {"source_id": ids[1], "claim": "Nobody disagreed.", "quote": "we all disagree", "locator": "p2"},
                {"source_id": ids[2], "claim": "Gone.", "locator": "p3"},
            ]}),
        )
        .await;
    assert_eq!(cite.status, 201, "{}", cite.text());

    // Before publication nothing is captured.
    sourceledger::newsroom::follow_up::run_once(&app.state)
        .await
        .expect("round");
    assert_eq!(site.hits(), 0);

    let published = app
        .post_as("/v1/articles/published/publish", &editor, json!({}))
        .await;
    assert_eq!(published.status, 200, "{}", published.text());
    // Rounds until the page that fails has had its three tries (a few
    // milliseconds apart here).
    let mut failed = Vec::new();
    for _ in 0..100 {
        sourceledger::newsroom::follow_up::run_once(&app.state)
            .await
            .expect("round");
        let mut conn = app.state.db.get().expect("conn");
        failed = sourceledger::newsroom::follow_up::failed_captures(&mut conn).expect("failed");
        if !failed.is_empty() {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(failed.len(), 1, "the page that answers 404 is given up on");
    assert_eq!(failed[0].attempts, sourceledger::newsroom::follow_up::TRIES);
    let latest = |id: String| {
        let app = &app;
        let journalist = &journalist;
        async move {
            app.get_as(&format!("/v1/sources/{id}"), journalist)
                .await
                .json()
        }
    };
    for id in &ids[..2] {
        let source = latest(id.clone()).await;
        assert!(source["snapshot_sha256"].is_string(), "captured: {source}");
        assert_eq!(source["recorded_by"], "archive:follow-up");
    }
    assert!(latest(ids[2].clone()).await["snapshot_sha256"].is_null());

    // The page that failed is in the drift queue, with why.
    let key = app.make_key(Role::Journalist, "Jo");
    let mut desk = Browser::new(&app);
    desk.sign_in(&key.secret).await;
    let queue = desk.get("/desk/drift").await.text();
    assert!(queue.contains("Captures that failed"), "{queue}");
    assert!(queue.contains(&gone), "{queue}");
    assert!(queue.contains("404"), "{queue}");

    // The quotes, looked for in the archived copies: shown and proven.
    let list = app.get_as("/v1/articles/published/sources", &reader).await;
    assert_eq!(list.status, 200, "{}", list.text());
    let list = list.json();
    let by_claim = |claim: &str| {
        list["citations"]
            .as_array()
            .expect("citations")
            .iter()
            .find(|c| c["claim"] == claim)
            .cloned()
            .expect("citation")
    };
    let found = by_claim("Rents will rise.");
    assert_eq!(found["quote_status"], "found", "{found}");
    assert_eq!(found["quote_selector"]["type"], "TextQuoteSelector");
    let exact = found["quote_selector"]["exact"].as_str().expect("exact");
    assert_eq!(
        exact.split_whitespace().collect::<Vec<_>>().join(" "),
        "Rents will keep rising for years",
        "{found}"
    );
    assert!(found["proof"]["quote"].is_object());
    // The copy captured on publication is shown (the citation still cites
    // the version it cited) and proven.
    let captured = latest(ids[0].clone()).await;
    assert_eq!(found["source"]["version"], 1);
    assert_eq!(
        found["source"]["later_archive_url"],
        captured["archive_url"]
    );
    assert_eq!(
        found["source"]["later_capture_version"],
        captured["version"]
    );
    assert!(found["proof"]["capture"].is_object(), "{found}");
    let absent = by_claim("Nobody disagreed.");
    assert_eq!(absent["quote_status"], "not_found", "{absent}");
    let unquoted = by_claim("Gone.");
    assert!(unquoted.get("quote_status").is_none(), "{unquoted}");
    let vkey = app.state.ledger.vkey().to_owned();
    let report = sourceledger::verify::list::check(&list, &vkey);
    assert!(report.ok(), "{:?}", report.failures);
    // A forged quote state does not verify.
    let mut forged = list.clone();
    forged["citations"]
        .as_array_mut()
        .expect("citations")
        .iter_mut()
        .filter(|c| c["claim"] == "Nobody disagreed.")
        .for_each(|c| c["quote_status"] = json!("found"));
    assert!(!sourceledger::verify::list::check(&forged, &vkey).ok());
    // The readers' browsers check the same: the web verifier accepts the
    // honest list and refuses a forged quote state, a forged selector and a
    // forged later copy.
    if crate::web_verifier::node_here() {
        let honest = crate::web_verifier::verify_in_js(&list, &vkey);
        assert_eq!(honest["ok"], true, "{honest}");
        let verdict = crate::web_verifier::verify_in_js(&forged, &vkey);
        assert_eq!(verdict["ok"], false, "{verdict}");
        assert!(
            verdict["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("quote"),
            "{verdict}"
        );
        let mut moved = list.clone();
        for c in moved["citations"].as_array_mut().expect("citations") {
            if c["quote_status"] == "found" {
                c["quote_selector"]["exact"] = json!("something else");
            }
        }
        assert!(!sourceledger::verify::list::check(&moved, &vkey).ok());
        assert_eq!(
            crate::web_verifier::verify_in_js(&moved, &vkey)["ok"],
            false
        );
        let mut elsewhere = list.clone();
        for c in elsewhere["citations"].as_array_mut().expect("citations") {
            if c["source"]["later_archive_url"].is_string() {
                c["source"]["later_archive_url"] = json!("https://evil.example/copy");
            }
        }
        assert!(!sourceledger::verify::list::check(&elsewhere, &vkey).ok());
        assert_eq!(
            crate::web_verifier::verify_in_js(&elsewhere, &vkey)["ok"],
            false
        );
    }
    // The readers' page says so.
    let page = app
        .get_as("/articles/published/sources", &reader)
        .await
        .text();
    assert!(page.contains("Quote found in the archived copy."), "{page}");
    assert!(page.contains("Quote not found in the archived copy."));
    assert!(
        page.contains(captured["archive_url"].as_str().expect("archive_url")),
        "the readers' page links the copy captured on publication"
    );

    // Robust Links: the article's HTML back, each captured link marked.
    let html = format!(
        "<p>As <a href=\"{found_page}\">the council</a> said, and <a href=\"{gone}\">gone</a>, and <a href=\"https://other.example/\">other</a>.</p>"
    );
    let robust = app
        .post_as(
            "/v1/articles/published/robust-links",
            &journalist,
            json!({"html": html}),
        )
        .await;
    assert_eq!(robust.status, 200, "{}", robust.text());
    let robust = robust.json();
    assert_eq!(robust["decorated"], 1, "{robust}");
    let out = robust["html"].as_str().expect("html");
    let archived = latest(ids[0].clone()).await["archive_url"]
        .as_str()
        .expect("archive_url")
        .to_owned();
    assert!(
        out.contains(&format!("data-versionurl=\"{archived}\"")),
        "{out}"
    );
    assert!(out.contains("data-versiondate=\"20"), "{out}");
    assert!(
        out.contains(&format!("<a href=\"{gone}\">gone</a>")),
        "{out}"
    );
}
