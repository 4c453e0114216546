//! oEmbed 1.0 for the reader's page (`GET /oembed`) and the embeddable view
//! its `html` frames (`GET /articles/{slug}/embed`): the page names the
//! endpoint in its head; the answer is `rich`, within `maxwidth` and
//! `maxheight`, escaped; drafts (under embargo), unknown articles and other
//! URLs are 404 alike; XML is 501; the view shows the teaser whatever token
//! it is given, under a strict policy that lets any site frame it.
//!
//! Then read back by others: oembedpy (PyPI) finds the endpoint by discovery
//! alone and embeds the page at three sizes
//! (`SOURCELEDGER_TEST_OEMBED_TOOLS`, a venv with it, as .ci/run makes), and
//! WordPress's discovery and sanitising rules (tests/web/oembed_wordpress.mjs)
//! put the embed in a post rendered by Debian's chromium
//! (`SOURCELEDGER_TEST_BROWSER_TOOLS`): the teaser shows inside the sandbox
//! at each size, with no policy violation and no locked link, and axe-core
//! finds nothing serious on the view.

use serde_json::{Value, json};
use sourceledger::auth::Role;

use crate::helpers::{Backend, Reply, TestApp};
use crate::on_both_backends;
use crate::panel::{Desk, browser_tools};
use crate::process::{ServerProcess, agent, request};

on_both_backends!(
    the_endpoint_answers_rich_within_bounds_and_refuses_the_rest,
    a_consumer_and_wordpress_embed_the_page,
);

const HOSTILE: &str = "<img src=x onerror=alert(1)> \"Budget\" & more";
/// The three sizes consumers ask for: a wide column, WordPress's default
/// (500 wide, 750 high) and a narrow phone column.
const SIZES: [(u32, u32); 3] = [(800, 600), (500, 750), (320, 480)];

fn encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn oembed(app: &TestApp, url: &str, extra: &str) -> Reply {
    app.get(&format!("/oembed?url={}{extra}", encoded(url)))
        .await
}

async fn the_endpoint_answers_rich_within_bounds_and_refuses_the_rest(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.embargo = true;
        s.public_url = "https://ledger.news.example".into();
    })
    .await;
    let admin = app.admin_token().await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    for (slug, title) in [("story", HOSTILE), ("draft-story", "Secret scoop")] {
        let article = json!({"slug": slug, "title": title, "url": format!("https://news.example/{slug}"), "language": "en", "authors": ["A"]});
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
                json!({"url": format!("https://locked.example/{slug}"), "title": format!("Report for {slug} <b>"), "publisher": "Stats", "kind": "dataset", "language": "en"}),
            )
            .await
            .json();
        let cited = app
            .post_as(
                &format!("/v1/articles/{slug}/citations"),
                &journalist,
                json!({"source_id": source["id"], "claim": "It rose.", "locator": "paragraph 2"}),
            )
            .await;
        assert_eq!(cited.status, 201, "{}", cited.text());
    }
    let published = app
        .post_as("/v1/articles/story/publish", &editor, json!({}))
        .await;
    assert_eq!(published.status, 200, "{}", published.text());
    let page_url = "https://ledger.news.example/articles/story/sources";

    // The page names the endpoint, escaped.
    let page = app.get("/articles/story/sources").await.text();
    let href = format!(
        "https://ledger.news.example/oembed?url={}&amp;format=json",
        encoded(page_url)
    );
    let link = format!(
        r#"<link rel="alternate" type="application/json+oembed" href="{href}" title="Sources: &lt;img src=x onerror=alert(1)&gt; &quot;Budget&quot; &amp; more">"#
    );
    assert!(page.contains(&link), "{page}");
    // A draft's page, which only staff see, names none.
    let draft_page = app.get_as("/articles/draft-story/sources", &editor).await;
    assert_eq!(draft_page.status, 200);
    assert!(!draft_page.text().contains("json+oembed"));

    // The answer: rich, escaped, sized within each bound.
    let plain = oembed(&app, page_url, "&format=json").await;
    assert_eq!(plain.status, 200, "{}", plain.text());
    assert_eq!(plain.header("content-type"), Some("application/json"));
    assert_eq!(plain.header("access-control-allow-origin"), Some("*"));
    assert!(
        plain
            .header("cache-control")
            .is_some_and(|c| c.starts_with("public, max-age="))
    );
    let body = plain.json();
    assert_eq!(body["version"], "1.0");
    assert_eq!(body["type"], "rich");
    assert_eq!(body["title"], HOSTILE);
    assert_eq!(body["provider_name"], "ledger.news.example");
    assert_eq!(body["provider_url"], "https://ledger.news.example");
    assert!(body["cache_age"].as_u64().is_some_and(|n| n > 0));
    assert_eq!(
        (body["width"].as_u64(), body["height"].as_u64()),
        (Some(600), Some(400))
    );
    let html = body["html"].as_str().expect("html");
    assert!(
        html.starts_with(r#"<iframe src="https://ledger.news.example/articles/story/embed" width="600" height="400" title="Sources: &lt;img src=x onerror=alert(1)&gt; &quot;Budget&quot; &amp; more""#),
        "{html}"
    );
    assert!(html.contains(&format!(r#"<a href="{page_url}">"#)) && !html.contains("<img"));
    for (maxwidth, maxheight) in SIZES.into_iter().chain([(100, 80), (5000, 5000)]) {
        let sized = oembed(
            &app,
            page_url,
            &format!("&maxwidth={maxwidth}&maxheight={maxheight}"),
        )
        .await
        .json();
        let (w, h) = (
            sized["width"].as_u64().expect("width"),
            sized["height"].as_u64().expect("height"),
        );
        assert!(
            w <= u64::from(maxwidth) && h <= u64::from(maxheight),
            "{sized}"
        );
        assert!(
            w >= u64::from(maxwidth.min(600)) && h >= u64::from(maxheight.min(400)),
            "{sized}"
        );
        let html = sized["html"].as_str().expect("html");
        assert!(
            html.contains(&format!(r#"width="{w}" height="{h}""#)),
            "{html}"
        );
    }

    // Tolerated: a trailing slash, a subscriber's link (its token never
    // echoed), a fragment, WordPress's dnt=1.
    for url in [
        format!("{page_url}/"),
        format!("{page_url}?token=SECRET-TOKEN#vkey=x"),
    ] {
        let answer = oembed(&app, &url, "&dnt=1").await;
        assert_eq!(answer.status, 200, "{url}: {}", answer.text());
        assert!(!answer.text().contains("SECRET-TOKEN"));
        assert_eq!(answer.json()["html"], body["html"]);
    }

    // Refused: XML (501), another format or a bad bound (400), and 404 alike
    // for a draft, an unknown article and URLs that are not reader's pages.
    oembed(&app, page_url, "&format=xml")
        .await
        .assert_problem(501, "not_implemented");
    oembed(&app, page_url, "&format=yaml")
        .await
        .assert_problem(400, "invalid_field");
    for bad in ["0", "-5", "abc", "1.5", ""] {
        oembed(&app, page_url, &format!("&maxwidth={bad}"))
            .await
            .assert_problem(400, "invalid_field");
        oembed(&app, page_url, &format!("&maxheight={bad}"))
            .await
            .assert_problem(400, "invalid_field");
    }
    assert_eq!(app.get("/oembed?format=json").await.status, 400);
    let unknown = oembed(
        &app,
        "https://ledger.news.example/articles/nope/sources",
        "",
    )
    .await
    .assert_problem(404, "not_found");
    let draft = oembed(
        &app,
        "https://ledger.news.example/articles/draft-story/sources",
        "",
    )
    .await
    .assert_problem(404, "not_found");
    assert_eq!(draft, unknown, "a draft answers as if it did not exist");
    for foreign in [
        "https://evil.example/articles/story/sources",
        "http://ledger.news.example/articles/story/sources",
        "https://ledger.news.example:8443/articles/story/sources",
        "https://ledger.news.example/articles/story/embed",
        "https://ledger.news.example/v1/articles/story/sources",
        "https://ledger.news.example/articles/story/sources/extra",
        "javascript:alert(1)",
    ] {
        let answer = oembed(&app, foreign, "")
            .await
            .assert_problem(404, "not_found");
        assert_eq!(answer, unknown, "{foreign}");
    }

    // The view: the teaser, escaped, framable anywhere, strict otherwise.
    let view = app.get("/articles/story/embed").await;
    assert_eq!(view.status, 200);
    let csp = view.header("content-security-policy").expect("csp");
    assert!(
        csp.contains("frame-ancestors *")
            && csp.contains("default-src 'none'")
            && csp.contains("script-src 'self'")
            && !csp.contains("unsafe"),
        "{csp}"
    );
    let text = view.text();
    assert!(
        text.contains("1 source,") && text.contains("Report for story &lt;b&gt;"),
        "{text}"
    );
    assert!(text.contains("&lt;img src=x onerror=alert(1)&gt;") && !text.contains("<img"));
    assert!(!text.contains("locked.example"), "no locked URL: {text}");
    // The reader's page keeps its own framing rules.
    let page_csp = app.get("/articles/story/sources").await;
    assert!(
        page_csp
            .header("content-security-policy")
            .is_some_and(|c| c.contains("frame-ancestors 'none'"))
    );
    // A subscriber's token, in the query or the header, changes nothing.
    let (_, member) = app.member(&admin, "reader").await;
    assert!(
        app.get_as("/v1/articles/story/sources", &member)
            .await
            .text()
            .contains("locked.example"),
        "the member does see the link elsewhere"
    );
    let with_query = app
        .get(&format!("/articles/story/embed?token={member}"))
        .await;
    let with_header = app.get_as("/articles/story/embed", &member).await;
    let staff = app.get_as("/articles/story/embed", &editor).await;
    for other in [&with_query, &with_header, &staff] {
        assert_eq!(other.status, 200);
        assert_eq!(other.text(), text, "the view is the teaser whoever asks");
        assert!(!other.text().contains(member.as_str()));
    }
    // Nothing of a draft, even for staff; nothing of an unknown article.
    assert_eq!(app.get("/articles/draft-story/embed").await.status, 404);
    assert_eq!(
        app.get_as("/articles/draft-story/embed", &editor)
            .await
            .status,
        404
    );
    assert_eq!(app.get("/articles/nope/embed").await.status, 404);
    for asset in ["/assets/embed-view.css", "/assets/embed-view.js"] {
        assert_eq!(app.get(asset).await.status, 200, "{asset}");
    }
}

/// oembedpy's reading of the page at each size, or None (saying so) when
/// its venv is not here.
fn oembedpy(page: &str, sizes: &[(u32, u32)]) -> Option<Vec<Value>> {
    let Some(tools) = std::env::var_os("SOURCELEDGER_TEST_OEMBED_TOOLS") else {
        assert!(
            std::env::var_os("SOURCELEDGER_TEST_REQUIRE_OEMBED_TOOLS").is_none(),
            "SOURCELEDGER_TEST_REQUIRE_OEMBED_TOOLS is set but SOURCELEDGER_TEST_OEMBED_TOOLS is not"
        );
        eprintln!("SKIPPED: oembedpy (set SOURCELEDGER_TEST_OEMBED_TOOLS)");
        return None;
    };
    let out = std::process::Command::new(std::path::Path::new(&tools).join("bin/python"))
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/oembed/consume.py"
        ))
        .arg(page)
        .args(sizes.iter().map(|(w, h)| format!("{w}x{h}")))
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "oembedpy failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(serde_json::from_slice(&out.stdout).expect("oembedpy's JSON"))
}

async fn a_consumer_and_wordpress_embed_the_page(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServerProcess::start_with(dir.path(), backend.database_url(), None, &[]);
    let base = server.url();
    let desk = Desk::new(&server);
    // Three sources, the first with a hostile title, the last retracted.
    desk.article("story", 3, HOSTILE);
    let page = format!("{base}/articles/story/sources");
    let listed = request(
        &agent(),
        "GET",
        &format!("{base}/v1/articles/story/sources"),
        None,
        None,
    )
    .expect("teaser");
    let titles: Vec<String> = listed.body["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|s| s["title"].as_str().expect("title").to_owned())
        .collect();
    assert_eq!(titles.len(), 2, "{}", listed.text);

    // A consumer nobody here wrote, by discovery alone.
    if let Some(seen) = oembedpy(&page, &SIZES) {
        assert_eq!(seen.len(), SIZES.len());
        for (seen, (maxwidth, maxheight)) in seen.iter().zip(SIZES) {
            assert_eq!(seen["kind"], "Rich", "{seen}");
            assert!(
                seen["endpoint"]
                    .as_str()
                    .is_some_and(|e| e == format!("{base}/oembed")),
                "{seen}"
            );
            let response = &seen["response"];
            assert_eq!(response["type"], "rich");
            assert_eq!(response["version"], "1.0");
            assert_eq!(response["title"], "A story");
            let (w, h) = (
                response["width"].as_u64().expect("width"),
                response["height"].as_u64().expect("height"),
            );
            assert!(
                w <= u64::from(maxwidth) && h <= u64::from(maxheight),
                "{seen}"
            );
            assert!(
                response["html"]
                    .as_str()
                    .is_some_and(|h| h.contains(&format!("{base}/articles/story/embed"))),
                "{seen}"
            );
        }
    }

    // WordPress's rules, rendered in chromium.
    if !browser_tools() {
        return;
    }
    let tools = std::env::var_os("SOURCELEDGER_TEST_BROWSER_TOOLS").expect("browser tools");
    let chromium =
        std::env::var("SOURCELEDGER_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let name = format!("oembed-wordpress-{}", backend.name());
    let seen = crate::helpers::node_json(
        "oembed_wordpress.mjs",
        &[("SOURCELEDGER_TEST_BROWSER_TOOLS", tools.as_os_str())],
        &json!({"chromium": chromium, "shots": crate::helpers::browser_artifacts(),
                "name": name, "page": page, "sizes": SIZES}),
    );
    assert_eq!(
        seen["discovered"],
        format!("{base}/oembed?url={}&format=json", encoded(&page)),
        "{seen}"
    );
    let embeds = seen["embeds"].as_array().expect("embeds");
    assert_eq!(embeds.len(), SIZES.len());
    for (embed, (maxwidth, maxheight)) in embeds.iter().zip(SIZES) {
        let at = format!("{maxwidth}x{maxheight}");
        assert_eq!(embed["status"], 200, "{at}: {embed}");
        let kept = embed["kept"].as_str().expect("WordPress kept the iframe");
        assert!(
            kept.contains(r#"sandbox="allow-scripts" security="restricted""#),
            "{at}: {kept}"
        );
        let frame_url = embed["frame_url"].as_str().expect("frame url");
        assert!(
            frame_url.starts_with(&format!("{base}/articles/story/embed#?secret=")),
            "{at}: {frame_url}"
        );
        // Sandboxed: no origin of its own, so no cookie, storage or token.
        assert_eq!(embed["origin"], "null", "{at}");
        let (w, h) = (
            embed["box"]["width"].as_f64().expect("width"),
            embed["box"]["height"].as_f64().expect("height"),
        );
        assert!(
            w > 100.0 && w <= f64::from(maxwidth) && h > 100.0 && h <= f64::from(maxheight),
            "{at}: the frame is {w}x{h}"
        );
        let text = embed["text"].as_str().expect("text");
        assert!(text.contains("2 sources"), "{at}: {text}");
        for title in &titles {
            assert!(text.contains(title.as_str()), "{at}: {title} not in {text}");
        }
        assert!(
            text.contains("<img src=x onerror=alert(1)>"),
            "{at}: the title is text"
        );
        let html = embed["html"].as_str().expect("html");
        assert!(!html.contains("<img"), "{at}");
        for locked in ["s0.example", "s1.example", "archive.example", "A quote"] {
            assert!(!html.contains(locked), "{at}: {locked} shown");
        }
        assert_eq!(
            embed["hrefs"],
            json!([page]),
            "{at}: links go to the page only"
        );
        assert_eq!(embed["targets"], json!(["_blank"]), "{at}");
        assert!(
            embed["font"]
                .as_str()
                .is_some_and(|f| f.contains("Georgia")),
            "{at}: the view's stylesheet did not apply: {}",
            embed["font"]
        );
        assert_eq!(embed["violations"], json!([]), "{at}: policy violations");
        let console: Vec<&str> = embed["console"]
            .as_array()
            .expect("console")
            .iter()
            .filter_map(Value::as_str)
            .filter(|m| m.contains("Content Security Policy") || m.contains("Refused"))
            .collect();
        assert!(console.is_empty(), "{at}: {console:?}");
    }
    assert_eq!(seen["axe"], json!([]), "axe-core on the embeddable view");
}
