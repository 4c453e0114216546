//! The source page in a real browser (Debian's chromium, headless): the
//! reader's own browser checks every proof and shows the verified mark, or the
//! failure and no mark; hostile text stays text. Screenshots of each state go
//! to target/browser-artifacts/. Runs where `chromium` is installed (or
//! `SOURCELEDGER_TEST_CHROMIUM` names it); CI installs it and requires the test
//! (`SOURCELEDGER_TEST_REQUIRE_BROWSER`).

use std::path::PathBuf;
use std::process::Command;

use serde_json::json;

use crate::durability::vkey;
use crate::helpers::Backend;
use crate::on_both_backends;
use crate::process::{ServerProcess, agent, key_token, request, subscriber_token, token_for};

on_both_backends!(a_real_browser_verifies_the_page_or_says_what_failed);

fn chromium() -> Option<PathBuf> {
    let named = std::env::var_os("SOURCELEDGER_TEST_CHROMIUM").map(PathBuf::from);
    let found = named.or_else(|| {
        Command::new("chromium")
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|_| PathBuf::from("chromium"))
    });
    if found.is_none() {
        assert!(
            std::env::var_os("SOURCELEDGER_TEST_REQUIRE_BROWSER").is_none(),
            "SOURCELEDGER_TEST_REQUIRE_BROWSER is set but there is no chromium"
        );
        eprintln!("SKIPPED: no chromium");
    }
    found
}

/// The page's DOM after its scripts ran; a screenshot of it when `shot` is given.
fn visit(browser: &PathBuf, url: &str, shot: Option<&str>) -> String {
    let profile = tempfile::tempdir().expect("profile");
    let common = [
        "--headless".to_owned(),
        "--no-sandbox".to_owned(),
        "--disable-gpu".to_owned(),
        "--no-first-run".to_owned(),
        format!("--user-data-dir={}", profile.path().display()),
        "--virtual-time-budget=15000".to_owned(),
    ];
    if let Some(name) = shot {
        let dir = PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/target/browser-artifacts"
        ));
        std::fs::create_dir_all(&dir).expect("artifacts dir");
        let status = Command::new(browser)
            .args(&common)
            .arg("--window-size=1000,1300")
            .arg(format!(
                "--screenshot={}",
                dir.join(format!("{name}.png")).display()
            ))
            .arg(url)
            .output()
            .expect("chromium screenshot");
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
    }
    let out = Command::new(browser)
        .args(&common)
        .arg("--dump-dom")
        .arg(url)
        .output()
        .expect("chromium");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `#sourceledger-status` element's opening tag.
fn status_tag(dom: &str) -> &str {
    let at = dom
        .find("id=\"sourceledger-status\"")
        .expect("status element");
    let start = dom[..at].rfind('<').expect("<");
    let end = at + dom[at..].find('>').expect(">");
    &dom[start..=end]
}

async fn a_real_browser_verifies_the_page_or_says_what_failed(backend: Backend) {
    let Some(browser) = chromium() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = match &backend {
        Backend::Sqlite => None,
        Backend::Postgres(db) => Some(db.url.clone()),
    };
    let server = ServerProcess::start(dir.path(), database_url.as_deref());
    let base = server.url();
    let http = agent();
    let admin = token_for(&http, &base, &server.bootstrap_key());
    let journalist = key_token(&http, &base, &admin, "journalist");
    let editor = key_token(&http, &base, &admin, "editor");
    let post = |path: &str, token: &str, body: serde_json::Value| {
        request(
            &http,
            "POST",
            &format!("{base}{path}"),
            Some(token),
            Some(&body),
        )
        .expect("post")
    };
    let hostile = "<img src=x onerror=alert(1)> Budget report";
    assert_eq!(post("/v1/articles", &journalist, json!({"slug": "story", "title": "A story", "url": "https://news.example/story", "language": "en", "authors": ["A"]})).status, 201);
    let mut citations = Vec::new();
    for (i, title) in [hostile, "Ministry statement", "Survey data"]
        .iter()
        .enumerate()
    {
        let source = post(
            "/v1/sources",
            &journalist,
            json!({"url": format!("https://s{i}.example/doc"), "title": title, "publisher": "Publisher", "kind": "document", "language": "en", "archive_url": format!("https://archive.example/{i}")}),
        );
        citations.push(json!({"source_id": source.body["id"], "claim": format!("Claim {i}"), "locator": format!("paragraph {i}"), "quote": "A quote"}));
    }
    let attached = post(
        "/v1/articles/story/citations",
        &journalist,
        json!({"citations": citations}),
    );
    let first = attached.body["citations"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let third = attached.body["citations"][2]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    post(&format!("/v1/citations/{first}/verify"), &editor, json!({}));
    post(
        &format!("/v1/citations/{third}/retract"),
        &editor,
        json!({"reason": "Figures revised"}),
    );
    assert_eq!(
        post("/v1/articles/story/publish", &editor, json!({})).status,
        200
    );
    let token = subscriber_token(&http, &base, &admin, "m");
    let vkey = vkey(&server);
    let page = format!("{base}/articles/story/sources?token={token}");

    // The newsroom's link carries its key: verified against it.
    let dom = visit(
        &browser,
        &format!("{page}#vkey={vkey}"),
        Some(&format!("verified-{}", backend.name())),
    );
    let status = status_tag(&dom);
    assert!(
        status.contains("data-state=\"verified\"") && status.contains("data-anchor=\"link\""),
        "{status}"
    );
    assert!(dom.contains("Verified in your browser"), "no mark");
    // The newest fact is the article's publication: its day is in the mark.
    let article = request(
        &http,
        "GET",
        &format!("{base}/v1/articles/story"),
        Some(&editor),
        None,
    )
    .expect("article");
    let day = &article.body["updated_at"].as_str().expect("updated_at")[..10];
    assert!(
        dom.contains(&format!("the newest fact recorded {day}")),
        "no time in the mark"
    );
    assert!(
        dom.contains("&lt;img src=x onerror=alert(1)&gt; Budget report"),
        "the hostile title is not text"
    );
    assert!(
        !dom.contains("<img src=\"x\""),
        "the hostile title became an element"
    );

    // Another key in the link: the failure, named, and no mark.
    let other = sourceledger::secrets::LedgerKey::from_signer_key(
        &sourceledger::secrets::LedgerKey::generate("test.sourceledger.example/ledger"),
    )
    .expect("key")
    .verifier_key()
    .to_owned();
    let dom = visit(
        &browser,
        &format!("{page}#vkey={other}"),
        Some(&format!("failed-{}", backend.name())),
    );
    let status = status_tag(&dom);
    assert!(
        status.contains("data-state=\"failed\"") && status.contains("signature"),
        "{status}"
    );
    assert!(!dom.contains("Verified in your browser"));

    // No key in the link: checked against the server's own, and it says so.
    let dom = visit(&browser, &page, None);
    assert!(
        status_tag(&dom).contains("data-anchor=\"server\""),
        "{}",
        status_tag(&dom)
    );

    // Anonymous: the teaser, nothing to check.
    let dom = visit(
        &browser,
        &format!("{base}/articles/story/sources"),
        Some(&format!("teaser-{}", backend.name())),
    );
    assert!(
        !dom.contains("sourceledger-status") && !dom.contains("s0.example"),
        "{dom}"
    );
}
