//! The editor's desk in real browsers (issue 25): Debian's chromium through
//! playwright-core and Debian's firefox-esr through puppeteer-core over
//! WebDriver BiDi, both driven by tests/web/desk_flow.mjs, which finds every
//! field by its label and every button and link by its role and accessible
//! name. The whole flow: a journalist signs in with an API key, makes an
//! article, records two sources and cites both; an editor signs in, verifies
//! one citation, retracts the other with a reason and publishes; a member
//! reading the newsroom's page sees the verified citation verified in the
//! source panel and the retracted one apart.
//!
//! In chromium also: the flow by keyboard alone (Tab, Shift+Tab, typing,
//! Enter and Space), with the focus order through each form asserted; the
//! flow with JavaScript off; and the flow timed, its wall time and the
//! requests the browser made printed (never asserted). In both engines
//! axe-core finds no serious or critical problem on any desk page visited
//! (sign-in, articles, article, sources, source, an error), and a screenshot
//! of each goes to target/browser-artifacts/desk-*.png, with the article at
//! phone width (no sideways scrolling) and as printed (no forms, no bar).
//! Admins' keys and platforms and the drift queue are driven in both engines
//! by desk_browser_admin.rs.
//!
//! Runs where the tools are: `SOURCELEDGER_TEST_BROWSER_TOOLS` (chromium's,
//! as tests/api/panel.rs) and `SOURCELEDGER_TEST_FIREFOX_TOOLS` (a folder with
//! puppeteer-core and axe-core in node_modules, as .ci/run's `ensure_firefox`
//! makes); CI requires both (`SOURCELEDGER_TEST_REQUIRE_BROWSER`,
//! `SOURCELEDGER_TEST_REQUIRE_FIREFOX`).

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::durability::vkey;
use crate::helpers::Backend;
use crate::on_both_backends;
use crate::panel::{Desk, article_page, browser_tools};
use crate::process::{ServerProcess, agent, request, token_for};
use crate::site::HostSite;

on_both_backends!(
    the_desk_in_chromium_by_role_by_keyboard_and_without_script,
    the_desk_in_firefox_over_webdriver_bidi
);

/// A browser and the node_modules folder that drives it.
pub struct Engine {
    pub name: &'static str,
    executable: String,
    tools: String,
}

pub fn chromium() -> Option<Engine> {
    if !browser_tools() {
        return None;
    }
    Some(Engine {
        name: "chromium",
        executable: std::env::var("SOURCELEDGER_TEST_CHROMIUM")
            .unwrap_or_else(|_| "/usr/bin/chromium".into()),
        tools: std::env::var("SOURCELEDGER_TEST_BROWSER_TOOLS").expect("browser tools"),
    })
}

/// Firefox ESR and puppeteer-core, or why not (CI requires them).
pub fn firefox() -> Option<Engine> {
    let executable = std::env::var("SOURCELEDGER_TEST_FIREFOX")
        .unwrap_or_else(|_| "/usr/bin/firefox-esr".into());
    let tools = std::env::var("SOURCELEDGER_TEST_FIREFOX_TOOLS").ok();
    let missing = match &tools {
        None => Some("no SOURCELEDGER_TEST_FIREFOX_TOOLS".to_owned()),
        Some(_) if !PathBuf::from(&executable).exists() => Some(format!("no {executable}")),
        Some(_) => None,
    };
    if let Some(missing) = missing {
        assert!(
            std::env::var_os("SOURCELEDGER_TEST_REQUIRE_FIREFOX").is_none(),
            "SOURCELEDGER_TEST_REQUIRE_FIREFOX is set but there is {missing}"
        );
        eprintln!("SKIPPED: {missing}");
        return None;
    }
    Some(Engine {
        name: "firefox",
        executable,
        tools: tools.expect("tools"),
    })
}

/// A running newsroom: its server, the site its articles are on, the API
/// keys its journalist and editor sign in with, a member's token.
struct Newsroom {
    server: ServerProcess,
    site: HostSite,
    journalist_key: String,
    editor_key: String,
    member_token: String,
    vkey: String,
    _dir: tempfile::TempDir,
}

impl Newsroom {
    fn start(backend: &Backend) -> Self {
        let site = HostSite::start();
        let dir = tempfile::tempdir().expect("tempdir");
        let server = ServerProcess::start_with(
            dir.path(),
            backend.database_url(),
            None,
            &[("SOURCELEDGER_EMBED_ORIGINS", site.origin.as_str())],
        );
        let http = agent();
        let base = server.url();
        let admin = token_for(&http, &base, &server.bootstrap_key());
        let api_key = |role: &str, name: &str| {
            let key = request(
                &http,
                "POST",
                &format!("{base}/v1/keys"),
                Some(&admin),
                Some(&json!({"role": role, "name": name})),
            )
            .expect("create key");
            assert_eq!(key.status, 201, "{}", key.text);
            key.body["key"].as_str().expect("key").to_owned()
        };
        let journalist_key = api_key("journalist", "Jo Journalist");
        let editor_key = api_key("editor", "Ed Editor");
        let member_token = Desk::new(&server).member_token("desk-reader");
        let vkey = vkey(&server);
        Newsroom {
            server,
            site,
            journalist_key,
            editor_key,
            member_token,
            vkey,
            _dir: dir,
        }
    }

    /// One pass of the flow: its own article, sources and reader's page.
    fn pass(&self, mode: &str) -> Value {
        let slug = format!("flood-{mode}");
        let provider = format!(
            r#"<script>window.courierToken = function () {{ return Promise.resolve("{}"); }};</script>"#,
            self.member_token
        );
        let panel_url = self.site.page(
            &format!("/{slug}.html"),
            "",
            article_page(
                &self.server.url(),
                &slug,
                &self.vkey,
                r#"data-token-provider="courierToken""#,
                &provider,
            ),
        );
        json!({
            "mode": mode,
            "article": {
                "title": format!("The flood ({mode})"),
                "slug": slug,
                "url": format!("https://news.example/2026/{slug}"),
                "language": "en",
                "authors": "Jo Journalist",
            },
            "sources": [
                {"url": format!("https://agency.example/{mode}/river-levels"), "title": "River levels, 3 May",
                 "publisher": "Water Agency", "kind": "document",
                 "claim": "The river rose two metres overnight.", "quote": "a rise of 2.1 m between 22:00 and 06:00",
                 "locator": "paragraph 2"},
                {"url": format!("https://data.example/{mode}/inspections.csv"), "title": "Dam inspections",
                 "publisher": "Ministry of Works", "kind": "dataset",
                 "claim": "The dam was inspected in May.", "quote": "",
                 "locator": "paragraph 5"},
            ],
            "reason": "The inspection was in June.",
            "panel_url": panel_url,
        })
    }
}

/// Runs tests/web/desk_flow.mjs: what the browser did and saw in each pass.
fn drive(engine: &Engine, newsroom: &Newsroom, prefix: &str, passes: &[Value]) -> Vec<Value> {
    let keys = json!({
        "journalist_key": newsroom.journalist_key,
        "editor_key": newsroom.editor_key,
    });
    drive_at(engine, &newsroom.server.url(), keys, prefix, passes)
}

/// Runs tests/web/desk_flow.mjs against the desk at `base`, signing in with
/// the API keys in `keys` ({"journalist_key", "editor_key", "admin_key"}).
pub fn drive_at(
    engine: &Engine,
    base: &str,
    keys: Value,
    prefix: &str,
    passes: &[Value],
) -> Vec<Value> {
    let mut input = json!({
        "engine": engine.name,
        "executable": engine.executable,
        "tools": engine.tools,
        "shots": crate::helpers::browser_artifacts(),
        "prefix": prefix,
        "base": base,
        "passes": passes,
    });
    for (name, key) in keys.as_object().expect("keys") {
        input[name] = key.clone();
    }
    let seen = crate::helpers::node_json("desk_flow.mjs", &[], &input);
    serde_json::from_value(seen).expect("desk_flow's passes")
}

pub fn text<'a>(value: &'a Value, what: &str) -> &'a str {
    value[what]
        .as_str()
        .unwrap_or_else(|| panic!("no {what} in {value}"))
}

/// What every pass ends with: on the desk, the article published, one
/// citation verified and the other retracted with its reason; in the
/// member's panel, the verified one verified and the retracted one apart.
fn the_flow_went_through(seen: &Value, pass: &Value) {
    let mode = text(pass, "mode");
    assert_eq!(seen["errors"], json!([]), "{mode}: script errors");
    let kept = text(&pass["sources"][0], "claim");
    let dropped = text(&pass["sources"][1], "claim");
    let reason = text(pass, "reason");
    let desk = &seen["desk"];
    assert!(
        text(desk, "main").contains("published"),
        "{mode}: {}",
        desk["main"]
    );
    let verified = text(desk, "verified");
    assert!(
        verified.contains(kept) && verified.contains("verified"),
        "{mode}: {verified}"
    );
    assert!(!verified.contains("Verify"), "{mode}: {verified}");
    let retracted = text(desk, "retracted");
    assert!(
        retracted.contains(dropped) && retracted.contains(&format!("Retracted: {reason}")),
        "{mode}: {retracted}"
    );

    let panel = &seen["panel"];
    assert_eq!(panel["state"], "verified", "{mode}: {panel}");
    let cited = panel["cited"].as_array().expect("cited");
    assert_eq!(cited.len(), 1, "{mode}: {panel}");
    let item = cited[0].as_str().expect("item");
    assert!(
        item.contains(kept) && item.contains("Verified by") && item.contains("River levels, 3 May"),
        "{mode}: {item}"
    );
    let apart = panel["retracted"].as_array().expect("retracted");
    assert_eq!(apart.len(), 1, "{mode}: {panel}");
    let item = apart[0].as_str().expect("item");
    assert!(
        item.contains(dropped) && item.contains(reason),
        "{mode}: {item}"
    );
}

/// Each page clean by axe-core (no serious or critical violation), and
/// titled as a desk page.
pub fn each_page_clean<'a>(engine: &str, pages: impl Iterator<Item = &'a Value>) {
    for page in pages {
        assert_eq!(
            page["violations"],
            json!([]),
            "{engine}: axe-core found serious or critical problems on {}",
            page["name"]
        );
        assert!(
            text(page, "title").ends_with("· sourceledger desk"),
            "{engine}: {page}"
        );
    }
}

/// Every desk page the audit pass visited, each clean by axe-core; the
/// article readable at phone width and in print.
fn every_page_passed_axe(engine: &str, seen: &Value) {
    let pages = seen["pages"].as_array().expect("pages");
    let names: Vec<&str> = pages.iter().map(|p| text(p, "name")).collect();
    assert_eq!(
        names,
        [
            "login",
            "login-refused",
            "articles",
            "article-new",
            "article-offered",
            "article-cited",
            "article-proposals",
            "article-editor",
            "article-published",
            "sources",
            "source",
            "error"
        ],
        "{engine}: pages audited"
    );
    each_page_clean(engine, pages.iter());
    assert_eq!(pages[0]["status"], 200, "{engine}: {}", pages[0]);
    assert_eq!(pages[11]["status"], 404, "{engine}: {}", pages[11]);
    assert!(
        text(&pages[11], "title").starts_with("Something went wrong"),
        "{engine}: {}",
        pages[11]
    );

    let phone = &seen["phone"];
    assert!(
        phone["scroll_width"].as_u64() <= phone["client_width"].as_u64(),
        "{engine}: the article scrolls sideways at 390px: {phone}"
    );
    let print = &seen["print"];
    if engine == "firefox" {
        // No print media emulation over WebDriver BiDi: Firefox printed the
        // page to a PDF (target/browser-artifacts/desk-firefox-*-print.pdf).
        assert_eq!(print["pdf_head"], "%PDF-", "{engine}: {print}");
        return;
    }
    assert_eq!(
        print["shown"],
        json!([]),
        "{engine}: printed with its forms or bar"
    );
    assert!(
        text(print, "text").contains("The flood (audit)")
            && text(print, "text").contains("The river rose two metres overnight.")
            && !text(print, "text").contains("Record a source"),
        "{engine}: {print}"
    );
}

fn report(engine: &str, backend: &str, seen: &Value) {
    eprintln!(
        "desk flow, {engine} on {backend}, {} pass: {} ms wall time ({} ms on the desk, {} ms of it waiting for the desk's documents; {} ms the reader's panel), {} HTTP requests from the desk's browser and {} from the reader's (browser started in {} ms)",
        seen["mode"].as_str().unwrap_or("?"),
        seen["wall_ms"],
        seen["desk_ms"],
        seen["documents_ms"],
        seen["panel_ms"],
        seen["requests"],
        seen["panel_requests"],
        seen["launch_ms"],
    );
    eprintln!("  the desk's requests by kind: {}", seen["request_kinds"]);
}

fn focus<'a>(seen: &'a Value, step: &str) -> Vec<&'a str> {
    seen["focus"]
        .as_array()
        .expect("focus")
        .iter()
        .find(|f| f["step"] == step)
        .unwrap_or_else(|| panic!("no focus step {step}: {}", seen["focus"]))["path"]
        .as_array()
        .expect("path")
        .iter()
        .map(|n| n.as_str().unwrap_or("(nothing)"))
        .collect()
}

/// Tab moved through each form's controls in the order they read, and
/// Shift+Tab back; every control was reached by the keyboard.
fn focus_followed_the_forms(seen: &Value, pass: &Value) {
    let last = |step: &str| *focus(seen, step).last().expect("a step");
    for (step, want) in [
        ("login", "API key"),
        ("editor-login", "API key"),
        ("to-new-article", "Title"),
        ("to-record-0", "URL"),
        ("to-record-1", "URL"),
        ("to-cite-0", "Claim"),
        ("to-cite-1", "Claim"),
        ("sign-out", "Sign out"),
        ("publish", "Publish"),
        ("to-article", "The flood (keyboard)"),
    ] {
        assert_eq!(last(step), want, "{step}: {:?}", focus(seen, step));
    }
    // Within a form, one Tab a control, in the order they are shown.
    for (step, want) in [
        ("sign-in", vec!["Sign in"]),
        ("editor-sign-in", vec!["Sign in"]),
        (
            "new-article",
            vec!["Slug", "Article URL", "Language", "Authors"],
        ),
        ("create", vec!["Create article"]),
        ("create-back", vec!["Authors"]),
        ("create-again", vec!["Create article"]),
        ("look-up-0", vec!["Look up"]),
        ("record-0", vec!["Title", "Publisher"]),
        ("kind-0", vec!["Kind"]),
        (
            "record-button-0",
            vec!["Language", "Published", "DOI", "Sealed", "Record source"],
        ),
        ("cite-0", vec!["Quote", "Locator"]),
        ("cite-button-0", vec!["Cite"]),
        ("look-up-1", vec!["Look up"]),
        ("record-1", vec!["Title", "Publisher"]),
        ("kind-1", vec!["Kind"]),
        (
            "record-button-1",
            vec!["Language", "Published", "DOI", "Sealed", "Record source"],
        ),
        ("cite-1", vec!["Quote", "Locator"]),
        ("cite-button-1", vec!["Cite"]),
        ("reason", vec!["Reason"]),
    ] {
        assert_eq!(focus(seen, step), want, "{step}");
    }
    let dropped = text(&pass["sources"][1], "claim");
    assert_eq!(
        focus(seen, "retract"),
        [format!("Retract: {dropped}").as_str()]
    );
    assert_eq!(
        seen["skip"],
        json!({"first": "Skip to the content", "in_main": true}),
        "the first Tab stop skips the bar"
    );
    assert_eq!(
        seen["unringed"],
        json!([]),
        "focused with no visible outline"
    );
    assert_eq!(
        seen["kinds"],
        json!(["document", "dataset"]),
        "the Kind typed"
    );
}

async fn the_desk_in_chromium_by_role_by_keyboard_and_without_script(backend: Backend) {
    let Some(engine) = chromium() else {
        return;
    };
    let newsroom = Newsroom::start(&backend);
    let passes: Vec<Value> = ["audit", "timed", "keyboard", "nojs"]
        .iter()
        .map(|mode| newsroom.pass(mode))
        .collect();
    let name = backend.name();
    let results = drive(
        &engine,
        &newsroom,
        &format!("desk-chromium-{name}"),
        &passes,
    );
    assert_eq!(results.len(), passes.len());
    for (seen, pass) in results.iter().zip(&passes) {
        the_flow_went_through(seen, pass);
        report("chromium", name, seen);
    }
    every_page_passed_axe("chromium", &results[0]);
    focus_followed_the_forms(&results[2], &passes[2]);
}

async fn the_desk_in_firefox_over_webdriver_bidi(backend: Backend) {
    let Some(engine) = firefox() else {
        return;
    };
    let newsroom = Newsroom::start(&backend);
    let passes: Vec<Value> = ["audit", "timed"]
        .iter()
        .map(|mode| newsroom.pass(mode))
        .collect();
    let name = backend.name();
    let results = drive(&engine, &newsroom, &format!("desk-firefox-{name}"), &passes);
    assert_eq!(results.len(), passes.len());
    for (seen, pass) in results.iter().zip(&passes) {
        the_flow_went_through(seen, pass);
        report("firefox", name, seen);
    }
    every_page_passed_axe("firefox", &results[0]);
}
