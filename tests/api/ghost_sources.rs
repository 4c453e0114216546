//! Issue 26's whole story against a real Ghost 5 (see `ghost.rs` for how it
//! runs): a post with 30 links published through Ghost's Admin API
//! publishes its article and, from the post's HTML in Ghost's own delivery,
//! proposes its 30 links; a journalist accepts them in the desk (two with a
//! quote, one present in the page and one not, the rest all at once, no
//! URL typed); publication captures every cited page, served on loopback;
//! the quotes are found and not found; Robust Links mark all 30.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::ghost::{connect, ghost, within_10s};
use crate::helpers::Backend;
use crate::on_both_backends;
use crate::process::{ServerProcess, agent, request, token_for};
use crate::site::HostSite;

on_both_backends!(a_ghost_posts_links_become_citations_archived_on_publication);

/// The desk over HTTP, as a browser without JavaScript: its cookies kept by
/// hand (the agent follows no redirect, so each Set-Cookie is seen).
struct DeskClient {
    base: String,
    agent: ureq::Agent,
    cookies: HashMap<String, String>,
}

impl DeskClient {
    fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            agent: ureq::Agent::config_builder()
                .timeout_global(Some(Duration::from_secs(60)))
                .http_status_as_error(false)
                .max_redirects(0)
                .build()
                .into(),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, response: &ureq::http::Response<ureq::Body>) {
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().expect("cookie");
            let pair = text.split(';').next().expect("pair");
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
    }

    fn get(&mut self, path: &str) -> (u16, String) {
        let mut response = self
            .agent
            .get(&format!("{}{path}", self.base))
            .header("Cookie", &self.cookie_header())
            .call()
            .expect("desk get");
        self.keep(&response);
        let status = response.status().as_u16();
        let text = response
            .body_mut()
            .with_config()
            .limit(16 << 20)
            .read_to_string()
            .expect("page");
        (status, text)
    }

    fn post(&mut self, path: &str, form: &[(&str, &str)]) -> (u16, String) {
        let mut response = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("Cookie", &self.cookie_header())
            .send_form(form.iter().copied())
            .expect("desk post");
        self.keep(&response);
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (status, text)
    }
}

async fn a_ghost_posts_links_become_citations_archived_on_publication(backend: Backend) {
    let Some(ghost) = ghost() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = backend.database_url().map(str::to_owned);
    // 30 sources, each a page on loopback (on an address of their own: the
    // newsroom's site, Ghost, is on 127.0.0.1, and links to it are its own).
    let site = HostSite::start_on("127.0.0.2");
    let mut pages = Vec::new();
    let mut post_html = String::new();
    for i in 0..30 {
        let url = site.page(
            &format!("/source-{i}"),
            "",
            format!(
                "<html><head><title>Source {i}</title></head><body><h1>Source {i}</h1>\
                 <p>Finding {i}: the measured rate was {i}.5 percent in the 2026 survey.</p></body></html>"
            ),
        );
        post_html.push_str(&format!(
            "<p>Claim number {i} rests on <a href=\"{url}\">survey {i}</a>. Other words follow.</p>"
        ));
        pages.push(url);
    }
    let server = ServerProcess::start_with(
        dir.path(),
        database_url.as_deref(),
        None,
        &[
            ("SOURCELEDGER_FETCH_ALLOW", "127.0.0.0/8"),
            ("SOURCELEDGER_LINK_CHECK_HOST_DELAY_MS", "0"),
            ("SOURCELEDGER_CAPTURE_RETRY_DELAY_MS", "200"),
        ],
    );
    let base = server.url();
    let http = agent();
    let admin = token_for(&http, &base, &server.bootstrap_key());
    let call = |method: &str, path: &str, token: Option<&str>, body: Option<Value>| {
        request(
            &http,
            method,
            &format!("{base}{path}"),
            token,
            body.as_ref(),
        )
        .expect("call")
    };
    let key = call(
        "POST",
        "/v1/keys",
        Some(&admin),
        Some(json!({"role": "journalist", "name": "Jo Journalist"})),
    );
    assert_eq!(key.status, 201, "{}", key.text);
    let journalist_key = key.body["key"].as_str().expect("key").to_owned();
    let journalist = token_for(&http, &base, &journalist_key);
    let unique = format!(
        "{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    );
    let slug = format!("sources-{unique}");

    // Ghost registered; its post deliveries pointed at us.
    let _webhooks = connect(
        &ghost,
        &base,
        &admin,
        &unique,
        "post.published,post.published.edited",
    );

    // The draft article the post is, by its URL.
    let made = call(
        "POST",
        "/v1/articles",
        Some(&journalist),
        Some(
            json!({"slug": slug, "title": "Thirty sources", "url": format!("{}/{slug}/", ghost.url),
                    "language": "en", "authors": ["Jo"]}),
        ),
    );
    assert_eq!(made.status, 201, "{}", made.text);

    // Published through Ghost's Admin API, from HTML.
    let (status, post) = ghost.admin(
        "POST",
        "/posts/?source=html",
        Some(json!({"posts": [{"title": "Thirty sources", "slug": slug, "status": "published", "html": post_html}]})),
    );
    assert_eq!(status, 201, "{post}");
    let post_id = post["posts"][0]["id"].as_str().expect("post id").to_owned();
    let _post = GhostPost {
        ghost: &ghost,
        id: post_id,
    };
    let proposals = || {
        call(
            "GET",
            &format!("/v1/articles/{slug}/proposals"),
            Some(&journalist),
            None,
        )
        .body["proposals"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    within_10s("the post's 30 links proposed", || proposals().len() == 30);
    let proposed = proposals();
    let proposed_urls: Vec<&str> = proposed
        .iter()
        .map(|p| p["url"].as_str().expect("url"))
        .collect();
    assert_eq!(
        proposed_urls,
        pages.iter().map(String::as_str).collect::<Vec<_>>()
    );
    assert_eq!(
        proposed[3]["claim"], "Claim number 3 rests on survey 3.",
        "{}",
        proposed[3]
    );
    assert_eq!(
        call(
            "GET",
            &format!("/v1/articles/{slug}"),
            Some(&journalist),
            None
        )
        .body["status"],
        "published"
    );

    // In the desk, no URL typed: two accepted with a quote, the rest at once.
    let mut desk = DeskClient::new(&base);
    let (status, login) = desk.get("/desk/login");
    assert_eq!(status, 200);
    let csrf = crate::desk::hidden(&login, "csrf");
    let (status, _) = desk.post(
        "/desk/login",
        &[
            ("api_key", journalist_key.as_str()),
            ("csrf", csrf.as_str()),
        ],
    );
    assert_eq!(status, 303);
    let (status, page) = desk.get(&format!("/desk/articles/{slug}"));
    assert_eq!(status, 200);
    assert!(page.contains("Accept all 30"), "{page}");
    let csrf = crate::desk::hidden(&page, "csrf");
    let accept = format!("/desk/articles/{slug}/proposals/accept");
    for (i, quote) in [
        (0, "the measured rate was 0.5 percent"),
        (1, "a sentence the page does not hold"),
    ] {
        let claim = format!("Claim number {i} rests on survey {i}.");
        let (status, text) = desk.post(
            &accept,
            &[
                ("csrf", csrf.as_str()),
                ("url", pages[i].as_str()),
                ("claim", claim.as_str()),
                ("quote", quote),
                ("locator", "paragraph"),
                ("title", "Survey"),
                ("publisher", "Statistics"),
                ("kind", "dataset"),
                ("language", "en"),
            ],
        );
        assert_eq!(status, 303, "{text}");
    }
    let (status, text) = desk.post(
        &format!("/desk/articles/{slug}/proposals/accept-all"),
        &[("csrf", csrf.as_str())],
    );
    assert_eq!(status, 303, "{text}");
    assert!(proposals().is_empty());

    // Publication captures every cited page; the quotes are looked for.
    let list = || {
        call(
            "GET",
            &format!("/v1/articles/{slug}/sources"),
            Some(&journalist),
            None,
        )
        .body
    };
    let started = Instant::now();
    loop {
        let shown = list();
        let citations = shown["citations"].as_array().cloned().unwrap_or_default();
        let archived = citations
            .iter()
            .filter(|c| c["source"]["later_archive_url"].is_string())
            .count();
        let checked = citations
            .iter()
            .filter(|c| c["quote_status"] == "found" || c["quote_status"] == "not_found")
            .count();
        if citations.len() == 30 && archived == 30 && checked == 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{archived} of {} archived, {checked} quotes checked: {shown}",
            citations.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    eprintln!(
        "30 cited pages archived and 2 quotes checked {} ms after the desk's accept",
        started.elapsed().as_millis()
    );
    let shown = list();
    let status_of = |url: &str| {
        shown["citations"]
            .as_array()
            .expect("citations")
            .iter()
            .find(|c| c["source"]["url"] == url)
            .map(|c| c["quote_status"].clone())
            .expect("cited")
    };
    assert_eq!(status_of(&pages[0]), "found");
    assert_eq!(status_of(&pages[1]), "not_found");
    assert_eq!(status_of(&pages[2]), Value::Null, "no quote, no status");

    // Robust Links: the post's own HTML back, each of its 30 links marked.
    let robust = call(
        "POST",
        &format!("/v1/articles/{slug}/robust-links"),
        Some(&journalist),
        Some(json!({"html": post_html})),
    );
    assert_eq!(robust.status, 200, "{}", robust.text);
    assert_eq!(robust.body["decorated"], 30);
    let marked = robust.body["html"].as_str().expect("html");
    assert_eq!(marked.matches("data-versionurl=\"").count(), 30);
    assert_eq!(marked.matches("data-versiondate=\"").count(), 30);
    for citation in shown["citations"].as_array().expect("citations") {
        let copy = citation["source"]["later_archive_url"]
            .as_str()
            .expect("copy");
        assert!(marked.contains(copy), "{copy} not in the marked HTML");
    }
}

/// Ghost's post for one test, deleted when it ends however it ends.
struct GhostPost<'a> {
    ghost: &'a crate::ghost::Ghost,
    id: String,
}

impl Drop for GhostPost<'_> {
    fn drop(&mut self) {
        let _ = self
            .ghost
            .admin("DELETE", &format!("/posts/{}/", self.id), None);
    }
}
