//! The desk's archive, links and admin pages through their HTTP forms: a
//! source captured and given a file, its copies served as never-run bytes,
//! its link history; the drift queue of dead links with their archived
//! copies, emptied by a review that the ledger records; API keys and
//! platforms made by admins, each secret shown once; the article's readers'
//! page and panel snippet.

use actix_web::test::TestRequest;
use serde_json::json;
use sourceledger::auth::Role;

use crate::desk::{Browser, hidden, location};
use crate::helpers::{Backend, TestApp};
use crate::links::round;
use crate::on_both_backends;
use crate::site::HostSite;

on_both_backends!(
    a_source_is_captured_given_a_file_and_its_dead_link_queued_until_reviewed,
    admins_manage_keys_and_platforms_and_see_each_secret_once,
    a_sealed_source_is_cited_shown_sealed_and_disclosed_by_an_editor,
    a_recorded_source_is_found_from_the_article_and_cited
);

/// A file posted as a browser posts `<input type=file>`.
async fn upload(browser: &mut Browser<'_>, uri: &str, name: &str, kind: &str, bytes: &[u8]) -> u16 {
    let boundary = "----sourceledger-test-boundary";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {kind}\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let req = browser
        .with_cookies(TestRequest::post().uri(uri))
        .insert_header((
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        ))
        .set_payload(body);
    browser.app.call(req).await.status.as_u16()
}

/// The first `/desk/snapshots/…` address on a page.
fn first_copy(page: &str) -> String {
    let start = page.find("/desk/snapshots/").expect("a copy's link");
    page[start..start + "/desk/snapshots/".len() + 64].to_owned()
}

async fn a_source_is_captured_given_a_file_and_its_dead_link_queued_until_reviewed(
    backend: Backend,
) {
    let app = TestApp::spawn(backend).await;
    let key = app.make_key(Role::Journalist, "Jo").secret;
    let journalist = app.token_for(&key).await;
    let editor = app.token_of(Role::Editor).await;
    let site = HostSite::start();
    let page = site.page("/budget", "", "<p>The budget rose 4%.</p>".to_owned());
    let source = app
        .post_as(
            "/v1/sources",
            &journalist,
            json!({"url": page, "title": "Budget", "publisher": "Ministry", "kind": "document", "language": "en"}),
        )
        .await
        .json();
    let id = source["id"].as_str().expect("id").to_owned();
    let mut desk = Browser::new(&app);
    location(&desk.sign_in(&key).await);

    // Capture now, back to the page that asked.
    let shown = desk.get(&format!("/desk/sources/{id}")).await;
    assert_eq!(shown.status, 200);
    assert!(shown.text().contains("Not archived yet."));
    assert!(shown.text().contains("aria-label=\"Capture: Budget\""));
    let csrf = hidden(&shown.text(), "csrf");
    let captured = desk
        .post(
            &format!("/desk/sources/{id}/capture"),
            &[("csrf", &csrf), ("back", "/desk/drift")],
        )
        .await;
    assert_eq!(location(&captured), "/desk/drift");
    let shown = desk.get(&format!("/desk/sources/{id}")).await.text();
    assert!(shown.contains("The archived copy"), "{shown}");
    assert!(shown.contains("Version 2"));
    let copy = first_copy(&shown);
    let bytes = desk.get(&copy).await;
    assert_eq!(bytes.status, 200);
    assert_eq!(bytes.text(), "<p>The budget rose 4%.</p>");
    assert_eq!(bytes.header("content-security-policy"), Some("sandbox"));
    let warc = desk.get(&format!("{copy}?format=warc")).await;
    assert_eq!(warc.status, 200);
    assert!(warc.body.starts_with(b"WARC/1.1"));
    // Back to anywhere but the desk is not followed.
    let elsewhere = desk
        .post(
            &format!("/desk/sources/{id}/capture"),
            &[("csrf", &csrf), ("back", "https://evil.example/")],
        )
        .await;
    assert_eq!(location(&elsewhere), format!("/desk/sources/{id}"));

    // A file, its token in the address: checked before the file is read.
    let pdf = b"%PDF-1.4 the ministry's own report";
    let without = upload(
        &mut desk,
        &format!("/desk/sources/{id}/upload?csrf=stale"),
        "report.pdf",
        "application/pdf",
        pdf,
    )
    .await;
    assert_eq!(without, 403);
    let size = app.ledger_size();
    let uploaded = upload(
        &mut desk,
        &format!("/desk/sources/{id}/upload?csrf={csrf}"),
        "report.pdf",
        "application/pdf",
        pdf,
    )
    .await;
    assert_eq!(uploaded, 303);
    assert_eq!(app.ledger_size(), size + 1, "one new version");
    let shown = desk.get(&format!("/desk/sources/{id}")).await.text();
    assert!(shown.contains("Version 4"), "{shown}");
    let copy = first_copy(&shown);
    let file = desk.get(&copy).await;
    assert_eq!(file.body, pdf.to_vec());
    assert_eq!(file.header("content-type"), Some("application/pdf"));

    // Cited and published; then the page goes away.
    app.post_as(
        "/v1/articles",
        &journalist,
        json!({"slug": "budget", "title": "Budget", "url": "https://news.example/budget", "language": "en", "authors": ["A"]}),
    )
    .await;
    let attached = app
        .post_as(
            "/v1/articles/budget/citations",
            &journalist,
            json!({"citations": [{"source_id": id, "claim": "It rose 4%.", "locator": "p1"}]}),
        )
        .await;
    assert_eq!(attached.status, 201, "{}", attached.text());
    let published = app
        .post_as("/v1/articles/budget/publish", &editor, json!({}))
        .await;
    assert_eq!(published.status, 200);
    let article = desk.get("/desk/articles/budget").await.text();
    assert!(article.contains("link <span class=\"state unchecked\">unchecked</span>"));
    assert!(article.contains("archived copy"));
    assert!(article.contains(&format!(
        "{}/articles/budget/sources",
        app.state.settings.public_url
    )));
    let vkey = app.state.ledger.vkey();
    assert!(
        article.contains(&format!(
            "data-sourceledger=&quot;budget&quot; data-vkey=&quot;{vkey}&quot;"
        )),
        "the snippet, escaped as text: {article}"
    );

    assert!(
        desk.get("/desk/drift")
            .await
            .text()
            .contains("Nothing to review.")
    );
    site.answer("/budget", 404, vec![], b"not found".to_vec());
    round(&app).await;
    let queue = desk.get("/desk/drift").await.text();
    assert!(queue.contains("state gone"), "{queue}");
    assert!(queue.contains("Cited for: It rose 4%."));
    assert!(queue.contains(&copy), "its archived copy: {queue}");
    assert!(queue.contains("Replace the citation"));
    let history = desk.get(&format!("/desk/sources/{id}")).await.text();
    assert!(
        history.contains("<span class=\"state gone\">gone</span>"),
        "{history}"
    );
    let link_entry = hidden(&queue, "link_entry");
    let source_id = hidden(&queue, "source_id");
    assert_eq!(source_id, id);

    // A review of a state that has moved on is refused; the current one
    // is recorded and empties the queue.
    let stale = desk
        .post(
            "/desk/drift/review",
            &[("csrf", &csrf), ("source_id", &id), ("link_entry", "1")],
        )
        .await;
    assert_eq!(stale.status, 409, "{}", stale.text());
    let size = app.ledger_size();
    let reviewed = desk
        .post(
            "/desk/drift/review",
            &[
                ("csrf", &csrf),
                ("source_id", &id),
                ("link_entry", &link_entry),
            ],
        )
        .await;
    assert_eq!(location(&reviewed), "/desk/drift");
    assert_eq!(app.ledger_size(), size + 1, "the review is an entry");
    assert!(
        desk.get("/desk/drift")
            .await
            .text()
            .contains("Nothing to review.")
    );
    let entries = app
        .get_as(
            "/v1/audit/events?kind=link.reviewed",
            &app.admin_token().await,
        )
        .await
        .json();
    assert_eq!(entries["events"][0]["actor"], "journalist:Jo", "{entries}");

    // Back, then gone again: a new change is queued anew.
    site.page("/budget", "", "<p>The budget rose 4%.</p>".to_owned());
    round(&app).await;
    site.answer("/budget", 410, vec![], vec![]);
    round(&app).await;
    assert!(desk.get("/desk/drift").await.text().contains("state gone"));

    // The audit still holds.
    let audit = app
        .post_as("/v1/audit/verify", &app.admin_token().await, json!({}))
        .await;
    assert_eq!(audit.json()["ok"], true, "{}", audit.text());
}

async fn admins_manage_keys_and_platforms_and_see_each_secret_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin_key = app.make_key(Role::Admin, "Ada Admin").secret;
    let journalist_key = app.make_key(Role::Journalist, "Jo").secret;
    let mut jo = Browser::new(&app);
    location(&jo.sign_in(&journalist_key).await);
    assert!(
        !jo.get("/desk").await.text().contains("/desk/keys"),
        "no admin links for a journalist"
    );
    assert_eq!(jo.get("/desk/keys").await.status, 403);
    assert_eq!(jo.get("/desk/platforms").await.status, 403);
    let jo_csrf = hidden(&jo.get("/desk").await.text(), "csrf");
    assert_eq!(
        jo.post(
            "/desk/keys",
            &[("csrf", &jo_csrf), ("name", "x"), ("role", "admin")]
        )
        .await
        .status,
        403
    );

    let mut ada = Browser::new(&app);
    location(&ada.sign_in(&admin_key).await);
    let keys = ada.get("/desk/keys").await;
    assert_eq!(keys.status, 200);
    assert!(keys.text().contains("Ada Admin"));
    let csrf = hidden(&keys.text(), "csrf");
    let refused = ada
        .post(
            "/desk/keys",
            &[("csrf", &csrf), ("name", "Reader"), ("role", "subscriber")],
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text());
    assert!(refused.text().contains("not API keys"));
    let made = ada
        .post(
            "/desk/keys",
            &[
                ("csrf", &csrf),
                ("name", "The CMS"),
                ("role", "integration"),
            ],
        )
        .await;
    assert_eq!(made.status, 200);
    assert_eq!(made.header("cache-control"), Some("no-store"));
    let secret = {
        let text = made.text();
        let start = text.find("id=\"secret\"").expect("the secret's field");
        let value = text[start..].split("value=\"").nth(1).expect("value");
        value[..value.find('"').expect("quote")].to_owned()
    };
    assert!(app.token_for(&secret).await.len() > 20, "the key works");
    let listed = ada.get("/desk/keys").await.text();
    assert!(listed.contains("The CMS"));
    assert!(!listed.contains(&secret), "shown once only");
    let id = listed
        .split("action=\"/desk/keys/")
        .skip(1)
        .find_map(|rest| {
            let (id, tail) = rest.split_once("/revoke\"")?;
            tail[..400.min(tail.len())]
                .contains("Revoke key The CMS")
                .then(|| id.to_owned())
        })
        .expect("the CMS key's revoke form");
    let revoked = ada
        .post(&format!("/desk/keys/{id}/revoke"), &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&revoked), "/desk/keys");
    let exchange = app
        .call(
            TestRequest::post()
                .uri("/v1/auth/token")
                .set_json(json!({"api_key": secret})),
        )
        .await;
    assert_eq!(exchange.status, 401, "a revoked key opens nothing");

    // Platforms: the webhook secret once, never in the list.
    let platforms = ada.get("/desk/platforms").await;
    assert_eq!(platforms.status, 200);
    assert!(platforms.text().contains("No platform is registered"));
    let bad = ada
        .post(
            "/desk/platforms",
            &[
                ("csrf", &csrf),
                ("kind", "oidc"),
                ("name", "Id"),
                ("issuer", ""),
                ("jwks_url", ""),
                ("audience", ""),
            ],
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text());
    assert!(bad.text().contains("issuer: must not be blank"));
    let made = ada
        .post(
            "/desk/platforms",
            &[
                ("csrf", &csrf),
                ("kind", "ghost"),
                ("name", "The Courier"),
                ("site", "https://courier.example"),
            ],
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.text());
    let text = made.text();
    let start = text.find("id=\"secret\"").expect("the secret's field");
    let value = text[start..].split("value=\"").nth(1).expect("value");
    let webhook_secret = value[..value.find('"').expect("quote")].to_owned();
    assert!(!webhook_secret.is_empty());
    assert!(text.contains(&format!("{}/v1/webhooks/", app.state.settings.public_url)));
    let listed = ada.get("/desk/platforms").await.text();
    assert!(listed.contains("The Courier"));
    assert!(!listed.contains(&webhook_secret), "shown once only");
    let id = listed
        .split("action=\"/desk/platforms/")
        .nth(1)
        .and_then(|rest| rest.split_once("/remove\""))
        .map(|(id, _)| id.to_owned())
        .expect("a remove form");
    let removed = ada
        .post(&format!("/desk/platforms/{id}/remove"), &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&removed), "/desk/platforms");
    assert!(
        ada.get("/desk/platforms")
            .await
            .text()
            .contains("No platform is registered")
    );
    let again = ada
        .post(&format!("/desk/platforms/{id}/remove"), &[("csrf", &csrf)])
        .await;
    assert_eq!(again.status, 404);
}

async fn a_sealed_source_is_cited_shown_sealed_and_disclosed_by_an_editor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let jo_key = app.make_key(Role::Journalist, "Jo").secret;
    let ed_key = app.make_key(Role::Editor, "Ed").secret;
    let mut jo = Browser::new(&app);
    location(&jo.sign_in(&jo_key).await);
    let home = jo.get("/desk").await.text();
    let csrf = hidden(&home, "csrf");
    let made = jo
        .post(
            "/desk/articles",
            &[
                ("csrf", &csrf),
                ("title", "Leak"),
                ("slug", "leak"),
                ("url", "https://news.example/leak"),
                ("language", "en"),
                ("authors", "Jo"),
            ],
        )
        .await;
    assert_eq!(location(&made), "/desk/articles/leak");
    let whistle = "https://whistle.example/memo";
    let size = app.ledger_size();
    let recorded = jo
        .post(
            "/desk/articles/leak/sources",
            &[
                ("csrf", &csrf),
                ("url", whistle),
                ("title", "The memo"),
                ("publisher", "A civil servant"),
                ("kind", "document"),
                ("language", "en"),
                ("sealed", "on"),
            ],
        )
        .await;
    let to = location(&recorded);
    let id = to.split("?source=").nth(1).expect("offered").to_owned();
    assert_eq!(app.ledger_size(), size + 1, "one source.sealed entry");
    let offered = jo.get(&to).await.text();
    assert!(
        offered.contains("Cite “A confidential source, sealed on"),
        "{offered}"
    );
    assert!(!offered.contains(whistle), "the URL stays sealed");
    let cited = jo
        .post(
            "/desk/articles/leak/citations",
            &[
                ("csrf", &csrf),
                ("source_id", &id),
                ("claim", "The plan was known."),
                ("quote", ""),
                ("locator", "p2"),
            ],
        )
        .await;
    assert_eq!(location(&cited), "/desk/articles/leak");

    // A journalist sees it sealed, cannot read or disclose it.
    let page = jo.get(&format!("/desk/sources/{id}")).await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("What it is stays sealed"));
    assert!(!page.text().contains(whistle));
    assert!(!page.text().contains(">Disclose</button>"));
    assert_eq!(
        jo.post(&format!("/desk/sources/{id}/disclose"), &[("csrf", &csrf)])
            .await
            .status,
        403
    );
    assert!(
        jo.get("/desk/sources")
            .await
            .text()
            .contains("Sealed sources")
    );

    // An editor reads it and discloses it, for good.
    let mut ed = Browser::new(&app);
    location(&ed.sign_in(&ed_key).await);
    let page = ed.get(&format!("/desk/sources/{id}")).await.text();
    assert!(page.contains(whistle), "editors read the record");
    assert!(page.contains(">Disclose</button>"));
    let ed_csrf = hidden(&page, "csrf");
    let size = app.ledger_size();
    let disclosed = ed
        .post(
            &format!("/desk/sources/{id}/disclose"),
            &[("csrf", &ed_csrf)],
        )
        .await;
    assert_eq!(location(&disclosed), format!("/desk/sources/{id}"));
    assert_eq!(app.ledger_size(), size + 1, "one source.disclosed entry");
    let page = jo.get(&format!("/desk/sources/{id}")).await.text();
    assert!(page.contains("The record, as disclosed") && page.contains(whistle));
    let again = ed
        .post(
            &format!("/desk/sources/{id}/disclose"),
            &[("csrf", &ed_csrf)],
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.text());
}

async fn a_recorded_source_is_found_from_the_article_and_cited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.make_key(Role::Journalist, "Jo").secret;
    let token = app.token_for(&key).await;
    for (url, title) in [
        (
            "https://stats.example/unemployment",
            "Unemployment, third quarter",
        ),
        (
            "https://stats.example/inflation",
            "Inflation in <b>October</b>",
        ),
    ] {
        let made = app
            .post_as(
                "/v1/sources",
                &token,
                json!({"url": url, "title": title, "publisher": "Statistics Office", "kind": "dataset", "language": "en"}),
            )
            .await;
        assert_eq!(made.status, 201, "{}", made.text());
    }
    app.post_as(
        "/v1/articles",
        &token,
        json!({"slug": "prices", "title": "Prices", "url": "https://news.example/prices", "language": "en", "authors": ["Jo"]}),
    )
    .await;
    let mut jo = Browser::new(&app);
    location(&jo.sign_in(&key).await);
    let none = jo.get("/desk/articles/prices?find=wages").await.text();
    assert!(none.contains("No recorded source matches “wages”."));
    let found = jo.get("/desk/articles/prices?find=octo").await.text();
    assert!(
        found.contains("Inflation in &lt;b&gt;October&lt;/b&gt;"),
        "escaped: {found}"
    );
    assert!(!found.contains("Unemployment"));
    let start = found.find("?source=").expect("a choice") + "?source=".len();
    let id = &found[start..start + found[start..].find('#').expect("anchor")];
    let offered = jo
        .get(&format!("/desk/articles/prices?source={id}"))
        .await
        .text();
    assert!(offered.contains("Cite “Inflation in &lt;b&gt;October&lt;/b&gt;”"));
    let csrf = hidden(&offered, "csrf");
    let cited = jo
        .post(
            "/desk/articles/prices/citations",
            &[
                ("csrf", &csrf),
                ("source_id", id),
                ("claim", "Prices rose."),
                ("quote", ""),
                ("locator", "p1"),
            ],
        )
        .await;
    assert_eq!(location(&cited), "/desk/articles/prices");
    let list = app.get_as("/v1/articles/prices/sources", &token).await;
    assert_eq!(list.status, 200, "{}", list.text());
    assert!(list.text().contains(id));
}
