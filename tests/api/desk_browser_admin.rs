//! The desk's admin pages and drift queue in real browsers (issue 25, "all in
//! the browser"), in chromium and in firefox, on both backends, through
//! tests/web/desk_flow.mjs's `admin` and `drift` passes (tests/web/desk_admin.mjs).
//!
//! An admin makes an API key, sees it once, finds it taken at
//! POST /v1/auth/token, revokes it (accepting the desk's confirm dialog) and
//! finds it refused; registers a Ghost platform, sees its webhook URL and
//! secret once, and removes it. A journalist finds a cited link that the
//! server's own link monitor found gone in the drift queue, with its claim
//! and its archived copy (the captured bytes), and marks it reviewed.
//! axe-core finds no serious or critical problem on any of these pages, and
//! each is screenshot into target/browser-artifacts/desk-admin-*.png.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::desk_browser::{Engine, chromium, drive_at, each_page_clean, firefox, text};
use crate::helpers::Backend;
use crate::on_both_backends;
use crate::process::{ServerProcess, agent, request, token_for};
use crate::site::HostSite;

on_both_backends!(
    admin_pages_and_the_drift_queue_in_chromium,
    admin_pages_and_the_drift_queue_in_firefox
);

/// What the monitored page says when it is there.
const PAGE: &str = "<p>Reservoir at 71% of capacity.</p>";
const SOURCE_TITLE: &str = "Reservoir bulletin";
const CLAIM: &str = "The reservoir is under three quarters full.";

/// A server whose link monitor checks every link each second, with a
/// published article citing a captured page that has since gone (404), the
/// monitor having found it gone.
struct DeadLink {
    server: ServerProcess,
    admin_key: String,
    journalist_key: String,
    snapshot: String,
    _site: HostSite,
    _dir: tempfile::TempDir,
}

impl DeadLink {
    fn start(backend: &Backend) -> Self {
        let site = HostSite::start();
        let page = site.page("/reservoir", "", PAGE.to_owned());
        let dir = tempfile::tempdir().expect("tempdir");
        let server = ServerProcess::start_with(
            dir.path(),
            backend.database_url(),
            None,
            &[
                ("SOURCELEDGER_LINK_CHECK_INTERVAL", "1"),
                ("SOURCELEDGER_LINK_CHECK_HOST_DELAY_MS", "0"),
            ],
        );
        let http = agent();
        let base = server.url();
        let call = |method: &str, path: &str, token: &str, body: Option<Value>| {
            request(
                &http,
                method,
                &format!("{base}{path}"),
                Some(token),
                body.as_ref(),
            )
            .expect("request")
        };
        let bootstrap = token_for(&http, &base, &server.bootstrap_key());
        let api_key = |role: &str, name: &str| {
            let made = call(
                "POST",
                "/v1/keys",
                &bootstrap,
                Some(json!({"role": role, "name": name})),
            );
            assert_eq!(made.status, 201, "{}", made.text);
            text(&made.body, "key").to_owned()
        };
        let admin_key = api_key("admin", "Ada Admin");
        let journalist_key = api_key("journalist", "Jo Journalist");
        let journalist = token_for(&http, &base, &journalist_key);
        let editor = token_for(&http, &base, &api_key("editor", "Ed Editor"));

        let source = call(
            "POST",
            "/v1/sources",
            &journalist,
            Some(
                json!({"url": page, "title": SOURCE_TITLE, "publisher": "Water Board",
                        "kind": "document", "language": "en"}),
            ),
        );
        assert_eq!(source.status, 201, "{}", source.text);
        let id = text(&source.body, "id");
        let captured = call(
            "POST",
            &format!("/v1/sources/{id}/capture"),
            &journalist,
            None,
        );
        assert_eq!(captured.status, 201, "{}", captured.text);
        let snapshot = text(&captured.body, "snapshot_sha256").to_owned();
        let made = call(
            "POST",
            "/v1/articles",
            &journalist,
            Some(
                json!({"slug": "drought", "title": "The drought", "url": "https://news.example/drought",
                        "language": "en", "authors": ["Jo Journalist"]}),
            ),
        );
        assert_eq!(made.status, 201, "{}", made.text);
        let cited = call(
            "POST",
            "/v1/articles/drought/citations",
            &journalist,
            Some(
                json!({"citations": [{"source_id": id, "claim": CLAIM, "locator": "paragraph 1"}]}),
            ),
        );
        assert_eq!(cited.status, 201, "{}", cited.text);
        let published = call(
            "POST",
            "/v1/articles/drought/publish",
            &editor,
            Some(json!({})),
        );
        assert_eq!(published.status, 200, "{}", published.text);

        let link_status = || {
            let cited = call("GET", "/v1/articles/drought/sources", &editor, None);
            cited.body["citations"][0]["source"]["link_status"].clone()
        };
        let wait_for = |want: &str| {
            let started = Instant::now();
            while link_status() != want {
                assert!(
                    started.elapsed() < Duration::from_secs(60),
                    "the monitor did not find the link {want} within 60 s: {}",
                    link_status()
                );
                std::thread::sleep(Duration::from_millis(200));
            }
        };
        wait_for("live");
        site.answer("/reservoir", 404, vec![], b"not found".to_vec());
        wait_for("gone");
        DeadLink {
            server,
            admin_key,
            journalist_key,
            snapshot,
            _site: site,
            _dir: dir,
        }
    }
}

fn passes() -> Vec<Value> {
    vec![
        json!({
            "mode": "admin",
            "key": {"name": "Courier CMS", "role": "integration"},
            "platform": {"kind": "ghost", "name": "Courier members", "site": "https://courier.example"},
        }),
        json!({"mode": "drift", "title": SOURCE_TITLE, "claim": CLAIM}),
    ]
}

/// The key shown once and taken, then revoked (after the desk asked) and
/// refused; the platform's webhook secret shown once, then removed.
fn admins_managed_keys_and_platforms(engine: &str, dead: &DeadLink, seen: &Value) {
    let admin = &seen["admin"];
    let key = text(admin, "key");
    assert!(key.starts_with("sl_"), "{engine}: the Key field: {admin}");
    assert!(
        text(admin, "made").contains("New key for Courier CMS (integration)"),
        "{engine}: {admin}"
    );
    assert_eq!(admin["token_before"], 200, "{engine}: the new key is taken");
    let again = text(admin, "again");
    assert!(again.contains("Courier CMS"), "{engine}: {again}");
    assert_eq!(admin["made_holds_key"], true, "{engine}: {admin}");
    assert_eq!(
        admin["again_holds_key"], false,
        "{engine}: the key shown twice"
    );
    assert!(
        text(admin, "revoked").contains("revoked"),
        "{engine}: {admin}"
    );
    assert_eq!(
        admin["token_after"], 401,
        "{engine}: the revoked key is refused"
    );
    let refused = request(
        &agent(),
        "POST",
        &format!("{}/v1/auth/token", dead.server.url()),
        None,
        Some(&json!({"api_key": key})),
    )
    .expect("token");
    assert_eq!(refused.status, 401, "{engine}: {}", refused.text);

    let platform = &admin["platform"];
    let webhook = text(platform, "webhook_url");
    let secret = text(platform, "secret");
    assert!(webhook.contains("/v1/"), "{engine}: {platform}");
    assert!(
        text(admin, "registered").contains("Courier members is registered"),
        "{engine}: {admin}"
    );
    let listed = text(admin, "platform_again");
    assert!(listed.contains("Courier members"), "{engine}: {listed}");
    assert!(secret.len() >= 16, "{engine}: {platform}");
    assert_eq!(admin["registered_holds_secret"], true, "{engine}: {admin}");
    assert_eq!(
        admin["again_holds_secret"], false,
        "{engine}: the secret shown twice"
    );
    assert!(
        !text(admin, "removed").contains("Courier members"),
        "{engine}: {admin}"
    );
    assert_eq!(
        seen["dialogs"],
        json!([
            "Revoke the key of Courier CMS? It stops working at once.",
            "Remove Courier members? Its webhooks and sign-ins stop being accepted."
        ]),
        "{engine}: the desk asked before each"
    );
}

/// The dead link queued with its claim and its archived copy, which answers
/// the bytes captured; the source's link history; the queue emptied.
fn the_drift_queue_showed_the_dead_link(engine: &str, dead: &DeadLink, seen: &Value) {
    let drift = &seen["drift"];
    let item = text(drift, "item");
    assert!(item.contains("gone"), "{engine}: {item}");
    assert!(
        item.contains(&format!("Cited for: {CLAIM}")),
        "{engine}: {item}"
    );
    assert!(item.contains("The drought"), "{engine}: {item}");
    assert_eq!(
        text(drift, "href"),
        format!("{}/desk/snapshots/{}", dead.server.url(), dead.snapshot),
        "{engine}: the archived copy's link"
    );
    assert_eq!(drift["copy_status"], 200, "{engine}: {drift}");
    assert_eq!(
        text(drift, "copy_body"),
        PAGE,
        "{engine}: the captured bytes"
    );
    let source = text(drift, "source");
    let history = &source[source.find("Link history").expect("Link history")..];
    assert!(history.contains("gone"), "{engine}: {history}");
    assert!(
        text(drift, "after").contains("Nothing to review."),
        "{engine}: {drift}"
    );
}

fn every_page_passed_axe(engine: &str, seen: &[Value]) {
    let pages: Vec<&Value> = seen
        .iter()
        .flat_map(|s| s["pages"].as_array().expect("pages"))
        .collect();
    let names: Vec<&str> = pages.iter().map(|p| text(p, "name")).collect();
    assert_eq!(
        names,
        [
            "keys",
            "key-shown",
            "platforms",
            "platform-shown",
            "drift",
            "drift-source"
        ],
        "{engine}: pages audited"
    );
    each_page_clean(engine, pages.iter().copied());
}

fn in_the_browser(engine: Engine, backend: &Backend) {
    let dead = DeadLink::start(backend);
    let name = backend.name();
    let keys = json!({"admin_key": dead.admin_key, "journalist_key": dead.journalist_key});
    let seen = drive_at(
        &engine,
        &dead.server.url(),
        keys,
        &format!("desk-admin-{}-{name}", engine.name),
        &passes(),
    );
    assert_eq!(seen.len(), 2);
    for s in &seen {
        assert_eq!(s["errors"], json!([]), "{}: script errors", engine.name);
    }
    admins_managed_keys_and_platforms(engine.name, &dead, &seen[0]);
    the_drift_queue_showed_the_dead_link(engine.name, &dead, &seen[1]);
    every_page_passed_axe(engine.name, &seen);
}

async fn admin_pages_and_the_drift_queue_in_chromium(backend: Backend) {
    if let Some(engine) = chromium() {
        in_the_browser(engine, &backend);
    }
}

async fn admin_pages_and_the_drift_queue_in_firefox(backend: Backend) {
    if let Some(engine) = firefox() {
        in_the_browser(engine, &backend);
    }
}
