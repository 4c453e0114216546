//! The editor's desk through its HTTP forms, as a browser with JavaScript off
//! sends them: signing in with an API key, the session cookie and its end,
//! CSRF tokens on every form, the roles' limits, articles made and found.
//! (Real browsers drive the same pages in `browser.rs`'s desk tests once the
//! desk's flow is whole; see issue 25's notes.)

use actix_web::test::TestRequest;
use sourceledger::auth::Role;

use crate::helpers::{Backend, Reply, TestApp};
use crate::on_both_backends;

on_both_backends!(
    a_key_signs_in_and_signing_out_ends_the_session,
    every_form_needs_its_sessions_token,
    a_journalist_makes_an_article_and_finds_it,
    each_role_does_on_the_desk_what_it_may_through_the_api,
    the_whole_flow_from_sources_to_a_published_article,
    sources_are_listed_searched_and_shown_with_their_versions
);

/// The browser's side of the desk: the cookies it holds.
pub struct Browser<'a> {
    pub app: &'a TestApp,
    cookies: Vec<(String, String)>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            cookies: Vec::new(),
        }
    }

    pub fn with_cookies(&self, mut req: TestRequest) -> TestRequest {
        if !self.cookies.is_empty() {
            let header = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            req = req.insert_header(("Cookie", header));
        }
        req
    }

    /// Keeps what Set-Cookie says (a removal drops the cookie).
    pub fn remember(&mut self, reply: &Reply) {
        for value in reply.headers.get_all("set-cookie") {
            let text = value.to_str().expect("ascii cookie");
            let pair = text.split(';').next().expect("pair");
            let (name, value) = pair.split_once('=').expect("name=value");
            self.cookies.retain(|(k, _)| k != name);
            let removed = text.contains("Max-Age=0") || value.is_empty();
            if !removed {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    pub async fn get(&mut self, uri: &str) -> Reply {
        let reply = self
            .app
            .call(self.with_cookies(TestRequest::get().uri(uri)))
            .await;
        self.remember(&reply);
        reply
    }

    pub async fn post(&mut self, uri: &str, form: &[(&str, &str)]) -> Reply {
        let reply = self
            .app
            .call(
                self.with_cookies(TestRequest::post().uri(uri))
                    .set_form(form.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>()),
            )
            .await;
        self.remember(&reply);
        reply
    }

    /// Posts a body no form parser can read (plain text, not a form).
    async fn post_unreadable(&self, uri: &str) -> Reply {
        self.app
            .call(
                self.with_cookies(TestRequest::post().uri(uri))
                    .insert_header(("content-type", "text/plain"))
                    .set_payload("%%%"),
            )
            .await
    }

    /// Signs in with `key` through the sign-in form; returns the reply to
    /// the form's post.
    pub async fn sign_in(&mut self, key: &str) -> Reply {
        let form = self.get("/desk/login").await;
        assert_eq!(form.status, 200, "{}", form.text());
        let token = hidden(&form.text(), "csrf");
        self.post("/desk/login", &[("api_key", key), ("csrf", &token)])
            .await
    }
}

/// The value of the hidden field `name` in a page.
pub fn hidden(page: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no hidden {name} in {page}"))
        + marker.len();
    let end = page[start..].find('"').expect("closing quote") + start;
    page[start..end].to_owned()
}

async fn a_key_signs_in_and_signing_out_ends_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.make_key(Role::Journalist, "Jo Journalist");
    let mut browser = Browser::new(&app);

    let away = browser.get("/desk").await;
    assert_eq!(away.status, 303, "no session: to the sign-in page");
    assert_eq!(away.header("location"), Some("/desk/login"));

    let page = browser.get("/desk/login").await;
    let csp = page.header("content-security-policy").expect("csp");
    assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"));
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe"),
        "only the desk's own script file: {csp}"
    );
    let script = browser.get("/desk/desk.js").await;
    assert_eq!(script.status, 200);
    assert_eq!(
        script.header("content-type"),
        Some("text/javascript; charset=utf-8")
    );
    assert!(
        page.text()
            .contains("<label for=\"api_key\">API key</label>")
    );
    assert!(page.text().contains(">Sign in</button>"));

    let wrong = browser.sign_in("sl_not-a-key").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.text().contains("not a live key"));
    assert!(
        !browser.cookies.iter().any(|(k, _)| k.ends_with("desk")),
        "no session for a wrong key"
    );

    let signed_in = browser.sign_in(&key.secret).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text());
    assert_eq!(signed_in.header("location"), Some("/desk"));
    let cookie = signed_in
        .headers
        .get_all("set-cookie")
        .map(|v| v.to_str().expect("ascii").to_owned())
        .find(|c| c.starts_with("sourceledger-desk="))
        .expect("a session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains(&key.secret), "the cookie is not the key");

    let home = browser.get("/desk").await;
    assert_eq!(home.status, 200, "{}", home.text());
    assert!(home.text().contains("Jo Journalist"));
    let csrf = hidden(&home.text(), "csrf");
    let session_cookie = browser.cookies.clone();

    let out = browser.post("/desk/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.header("location"), Some("/desk/login"));

    // The signed-out session's cookie, sent again, opens nothing.
    browser.cookies = session_cookie;
    let after = browser.get("/desk").await;
    assert_eq!(after.status, 303, "a signed-out session is refused");
    let size = app.ledger_size();
    let form = browser
        .post(
            "/desk/articles",
            &[
                ("csrf", &csrf),
                ("slug", "late"),
                ("title", "Late"),
                ("url", "https://news.example/late"),
                ("language", "en"),
                ("authors", "A"),
            ],
        )
        .await;
    assert_eq!(form.status, 401, "{}", form.text());
    assert_eq!(app.ledger_size(), size, "nothing recorded");

    // Signing in again from the same browser ends the session it held.
    let mut twice = Browser::new(&app);
    assert_eq!(twice.sign_in(&key.secret).await.status, 303);
    let first = twice.cookies.clone();
    assert_eq!(twice.sign_in(&key.secret).await.status, 303);
    assert_eq!(
        twice.get("/desk").await.status,
        200,
        "the new session works"
    );
    twice.cookies = first;
    assert_eq!(twice.get("/desk").await.status, 303, "the old one is ended");

    // A revoked key ends its sessions at once.
    let mut second = Browser::new(&app);
    assert_eq!(second.sign_in(&key.secret).await.status, 303);
    assert_eq!(second.get("/desk").await.status, 200);
    {
        let mut conn = app.state.db.get().expect("conn");
        sourceledger::auth::keys::revoke(&mut conn, &key.row.id).expect("revoke");
    }
    assert_eq!(
        second.get("/desk").await.status,
        303,
        "revoked key, no desk"
    );
}

async fn every_form_needs_its_sessions_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.make_key(Role::Journalist, "Jo");
    let mut browser = Browser::new(&app);

    // A sign-in posted from elsewhere (no token from our form) is refused.
    let forged = browser
        .post(
            "/desk/login",
            &[("api_key", &key.secret), ("csrf", "guess")],
        )
        .await;
    assert_eq!(forged.status, 403, "{}", forged.text());
    assert!(!browser.cookies.iter().any(|(k, _)| k.ends_with("desk")));

    assert_eq!(browser.sign_in(&key.secret).await.status, 303);
    let size = app.ledger_size();
    let fields = [
        ("slug", "forged"),
        ("title", "Forged"),
        ("url", "https://news.example/forged"),
        ("language", "en"),
        ("authors", "A"),
    ];
    // Another origin's form carries the cookie but cannot know the token.
    for token in ["", "not-the-token"] {
        let mut form = vec![("csrf", token)];
        form.extend(fields);
        let refused = browser.post("/desk/articles", &form).await;
        assert_eq!(refused.status, 403, "token {token:?}: {}", refused.text());
    }
    // A second session's token is not this one's.
    let mut other = Browser::new(&app);
    assert_eq!(other.sign_in(&key.secret).await.status, 303);
    let others = hidden(&other.get("/desk").await.text(), "csrf");
    let mut form = vec![("csrf", others.as_str())];
    form.extend(fields);
    assert_eq!(browser.post("/desk/articles", &form).await.status, 403);
    let refused_out = browser.post("/desk/logout", &[("csrf", "nope")]).await;
    assert_eq!(refused_out.status, 403);
    assert_eq!(app.ledger_size(), size, "nothing recorded");
    assert_eq!(browser.get("/desk").await.status, 200, "still signed in");
}

async fn a_journalist_makes_an_article_and_finds_it(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.make_key(Role::Journalist, "Jo");
    let mut browser = Browser::new(&app);
    assert_eq!(browser.sign_in(&key.secret).await.status, 303);
    let home = browser.get("/desk").await;
    assert!(home.text().contains(">Create article</button>"));
    let csrf = hidden(&home.text(), "csrf");

    // A refused form comes back with what was typed and what is wrong.
    let size = app.ledger_size();
    let bad = browser
        .post(
            "/desk/articles",
            &[
                ("csrf", &csrf),
                ("slug", "Not A Slug"),
                ("title", "Water <script>"),
                ("url", "https://news.example/w"),
                ("language", "en"),
                ("authors", "A"),
            ],
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text());
    assert!(bad.text().contains("role=\"alert\""), "{}", bad.text());
    assert!(
        bad.text().contains("value=\"Not A Slug\""),
        "kept what was typed"
    );
    assert!(bad.text().contains("Water &lt;script&gt;"), "escaped");
    assert_eq!(app.ledger_size(), size, "nothing recorded");

    let made = browser
        .post(
            "/desk/articles",
            &[
                ("csrf", &csrf),
                ("slug", "water-rights"),
                ("title", "Who owns the <river>?"),
                ("url", "https://news.example/water"),
                ("language", "en"),
                ("authors", "Ana\r\nBea\r\n"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.text());
    assert_eq!(made.header("location"), Some("/desk/articles/water-rights"));
    let page = browser.get("/desk/articles/water-rights").await;
    assert_eq!(page.status, 200);
    assert!(page.text().contains("<h1>Who owns the &lt;river&gt;?</h1>"));
    assert!(page.text().contains("Ana, Bea"));
    assert!(page.text().contains("draft"));

    // The API sees the same article, made by the journalist's key.
    let token = app.token_for(&key.secret).await;
    let api = app.get_as("/v1/articles/water-rights", &token).await;
    assert_eq!(api.status, 200, "{}", api.text());
    assert_eq!(api.json()["authors"], serde_json::json!(["Ana", "Bea"]));

    for (q, found) in [
        ("RIVER", true),
        ("water-", true),
        ("%", false),
        ("drought", false),
    ] {
        let list = browser.get(&format!("/desk?q={}", urlencode(q))).await;
        assert_eq!(list.status, 200);
        assert_eq!(
            list.text().contains("/desk/articles/water-rights"),
            found,
            "search {q:?}"
        );
    }
    // Narrowed to one state; an unknown state narrows nothing.
    for (state, found) in [
        ("draft", true),
        ("published", false),
        ("retracted", false),
        ("", true),
        ("nonsense", true),
    ] {
        let list = browser.get(&format!("/desk?q=river&state={state}")).await;
        assert_eq!(list.status, 200);
        assert_eq!(
            list.text().contains("/desk/articles/water-rights"),
            found,
            "state {state:?}"
        );
    }
    assert!(
        browser
            .get("/desk?state=published")
            .await
            .text()
            .contains("<option value=\"published\" selected>published</option>")
    );
    let missing = browser.get("/desk/articles/no-such-article").await;
    assert_eq!(missing.status, 404);
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

async fn each_role_does_on_the_desk_what_it_may_through_the_api(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // Not staff: no session.
    let integration = app.make_key(Role::Integration, "platform");
    let mut browser = Browser::new(&app);
    assert_eq!(browser.sign_in(&integration.secret).await.status, 401);

    // An auditor reads, and is offered nothing it could not do.
    let auditor = app.make_key(Role::Auditor, "Au");
    let mut browser = Browser::new(&app);
    assert_eq!(browser.sign_in(&auditor.secret).await.status, 303);
    let home = browser.get("/desk").await;
    assert_eq!(home.status, 200);
    assert!(
        !home.text().contains("Create article"),
        "no form it may not use"
    );
    let csrf = hidden(&home.text(), "csrf");
    let size = app.ledger_size();
    let refused = browser
        .post(
            "/desk/articles",
            &[
                ("csrf", &csrf),
                ("slug", "audited"),
                ("title", "T"),
                ("url", "https://news.example/a"),
                ("language", "en"),
                ("authors", "A"),
            ],
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.text());
    // Refused before the body is read: a body that could not be read at all
    // still answers 403 (and 401 without a session), not 400 or 415.
    let broken = browser.post_unreadable("/desk/articles").await;
    assert_eq!(broken.status, 403, "{}", broken.text());
    let anonymous = Browser::new(&app)
        .post_unreadable("/desk/articles/x/citations")
        .await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text());
    assert_eq!(app.ledger_size(), size);

    // A writer's unreadable form is a desk page saying so, not JSON.
    let writer = app.make_key(Role::Editor, "Ed");
    let mut browser = Browser::new(&app);
    assert_eq!(browser.sign_in(&writer.secret).await.status, 303);
    let broken = browser.post_unreadable("/desk/articles").await;
    assert_eq!(broken.status, 415, "{}", broken.text());
    assert_eq!(
        broken.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(app.ledger_size(), size);
}

/// The location a form sent the browser to.
pub fn location(reply: &Reply) -> String {
    assert_eq!(reply.status, 303, "{}", reply.text());
    reply.header("location").expect("location").to_owned()
}

/// The ids of the citations a page offers to verify, in page order.
fn citation_ids(page: &str) -> Vec<String> {
    page.split("action=\"/desk/citations/")
        .skip(1)
        .filter_map(|rest| rest.split_once("/verify\"").map(|(id, _)| id.to_owned()))
        .filter(|id| !id.contains('"'))
        .collect()
}

async fn the_whole_flow_from_sources_to_a_published_article(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let journalist = app.make_key(Role::Journalist, "Jo");
    let editor = app.make_key(Role::Editor, "Ed");
    let mut jo = Browser::new(&app);
    assert_eq!(jo.sign_in(&journalist.secret).await.status, 303);
    let csrf = hidden(&jo.get("/desk").await.text(), "csrf");
    let made = jo
        .post(
            "/desk/articles",
            &[
                ("csrf", &csrf),
                ("slug", "flood"),
                ("title", "The flood"),
                ("url", "https://news.example/flood"),
                ("language", "en"),
                ("authors", "Jo"),
            ],
        )
        .await;
    let page_url = location(&made);
    let page = jo.get(&page_url).await.text();
    assert!(page.contains(">Record source</button>"));
    assert!(
        !page.contains(">Publish</button>"),
        "a journalist cannot publish"
    );

    // Two sources, each recorded then cited; a citation without a claim is
    // refused and says why.
    // A long quote in any script, with the line breaks a browser sends.
    let long_quote = "Le barrage a cédé à l\u{2019}aube.\r\n".repeat(250);
    for (n, claim) in [
        (1, "The river rose\r\ntwo metres."),
        (2, "The dam was inspected in May."),
    ] {
        let url = format!("https://source.example/flood/{n}");
        let title = format!("Report {n}");
        let recorded = jo
            .post(
                "/desk/articles/flood/sources",
                &[
                    ("csrf", &csrf),
                    ("url", &url),
                    ("title", &title),
                    ("publisher", "Agency"),
                    ("kind", "official_statement"),
                    ("language", "en"),
                ],
            )
            .await;
        let offered = location(&recorded);
        assert!(
            offered.starts_with("/desk/articles/flood?source="),
            "{offered}"
        );
        let page = jo.get(&offered).await.text();
        assert!(page.contains(&format!("Cite “{title}”")), "{page}");
        let source_id = hidden(&page, "source_id");
        if n == 1 {
            let refused = jo
                .post(
                    "/desk/articles/flood/citations",
                    &[
                        ("csrf", &csrf),
                        ("source_id", &source_id),
                        ("claim", " "),
                        ("quote", ""),
                        ("locator", "p1"),
                    ],
                )
                .await;
            assert_eq!(refused.status, 400, "{}", refused.text());
            assert!(refused.text().contains("claim"), "{}", refused.text());
        }
        let cited = jo
            .post(
                "/desk/articles/flood/citations",
                &[
                    ("csrf", &csrf),
                    ("source_id", &source_id),
                    ("claim", claim),
                    ("quote", &long_quote),
                    ("locator", &format!("paragraph {n}")),
                ],
            )
            .await;
        assert_eq!(location(&cited), page_url);
    }
    // A journalist may not verify, even by posting the form.
    let page = jo.get(&page_url).await.text();
    assert!(!page.contains(">Verify</button>"));
    let ids = {
        let mut ed = Browser::new(&app);
        assert_eq!(ed.sign_in(&editor.secret).await.status, 303);
        citation_ids(&ed.get(&page_url).await.text())
    };
    assert_eq!(ids.len(), 2, "two citations to verify");
    let refused = jo
        .post(
            &format!("/desk/citations/{}/verify", ids[0]),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(refused.status, 403);

    // The editor verifies one, retracts the other with a reason, publishes.
    let mut ed = Browser::new(&app);
    assert_eq!(ed.sign_in(&editor.secret).await.status, 303);
    let csrf = hidden(&ed.get(&page_url).await.text(), "csrf");
    let verified = ed
        .post(
            &format!("/desk/citations/{}/verify", ids[0]),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(location(&verified), page_url);
    let retracted = ed
        .post(
            &format!("/desk/citations/{}/retract", ids[1]),
            &[("csrf", &csrf), ("reason", "The inspection was in June.")],
        )
        .await;
    assert_eq!(location(&retracted), page_url);
    let published = ed
        .post("/desk/articles/flood/publish", &[("csrf", &csrf)])
        .await;
    assert_eq!(location(&published), page_url);
    let page = ed.get(&page_url).await.text();
    assert!(page.contains("state published"));
    assert!(page.contains("Retracted: The inspection was in June."));

    // What readers get: the API's list of the published article.
    let token = app.token_of(Role::Editor).await;
    let list = app.get_as("/v1/articles/flood/sources", &token).await;
    assert_eq!(list.status, 200, "{}", list.text());
    let text = list.text();
    assert!(
        text.contains("The river rose\\ntwo metres."),
        "kept as LF: {text}"
    );
    assert!(text.contains("à l’aube."));
    assert!(text.contains("\"verified\""), "{text}");
}

async fn sources_are_listed_searched_and_shown_with_their_versions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.make_key(Role::Journalist, "Jo");
    let token = app.token_for(&key.secret).await;
    let water = app
        .record_source(
            &token,
            serde_json::json!({"url": "https://agency.example/water_report", "title": "Water <report>", "publisher": "River Agency", "kind": "dataset", "language": "en"}),
        )
        .await;
    app.record_source(
        &token,
        serde_json::json!({"url": "https://other.example/a", "title": "Other", "publisher": "Someone", "kind": "document", "language": "en"}),
    )
    .await;
    let id = water["id"].as_str().expect("id").to_owned();
    let revised = app
        .send(
            "PATCH",
            &format!("/v1/sources/{id}"),
            Some(&token),
            Some(serde_json::json!({"title": "Water report, corrected"})),
        )
        .await;
    assert_eq!(revised.status, 200, "{}", revised.text());

    let mut browser = Browser::new(&app);
    assert_eq!(browser.get("/desk/sources").await.status, 303, "staff only");
    assert_eq!(browser.sign_in(&key.secret).await.status, 303);
    let all = browser.get("/desk/sources").await.text();
    assert_eq!(
        all.matches("href=\"/desk/sources/").count(),
        2,
        "each source once: {all}"
    );
    for (q, found) in [
        ("river agency", true),
        ("WATER_REPORT", true),
        ("corrected", true),
        ("_", true),
        ("%", false),
        ("nothing", false),
    ] {
        let page = browser
            .get(&format!("/desk/sources?q={}", urlencode(q)))
            .await
            .text();
        assert_eq!(
            page.contains(&format!("/desk/sources/{id}")),
            found,
            "search {q:?}"
        );
    }
    let page = browser.get(&format!("/desk/sources/{id}")).await;
    assert_eq!(page.status, 200);
    let text = page.text();
    assert!(text.contains("<h1>Water report, corrected</h1>"), "{text}");
    assert!(text.contains("Version 2") && text.contains("Version 1"));
    assert!(
        text.contains("Water &lt;report&gt;"),
        "the first version, escaped"
    );
    assert_eq!(
        browser.get("/desk/sources/no-such-source").await.status,
        404
    );
}
