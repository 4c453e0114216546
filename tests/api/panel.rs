//! The embeddable source panel on a newsroom's page, in a real browser
//! (Debian's chromium driven by tests/web/browser_check.mjs through
//! playwright-core): an anonymous reader sees the teaser and the newsroom's
//! call to action; a member sees every source and the mark their own browser
//! computed; a list altered in transit (one URL, one proof hash, a checkpoint
//! signed by another key) shows the failure and no mark; a host the newsroom
//! did not list cannot load it; hostile text stays text; axe-core finds no
//! serious or critical problem on the panel or the page. Screenshots of every
//! state go to target/browser-artifacts/.
//!
//! Runs where chromium and the browser tools are installed
//! (`SOURCELEDGER_TEST_BROWSER_TOOLS`: a folder with playwright-core and
//! axe-core in node_modules, as .ci/run makes); CI requires it.

use serde_json::{Value, json};

use crate::durability::vkey;
use crate::helpers::Backend;
use crate::on_both_backends;
use crate::process::{ServerProcess, agent, key_token, request, token_for};
use crate::site::HostSite;

on_both_backends!(the_panel_shows_the_teaser_the_verified_list_or_what_failed);

const CTA_TEXT: &str = "Join the Courier's free newsletter to see every source.";
const CTA_URL: &str = "https://courier.example/subscribe?from=sources";

/// An article page of the newsroom's with the embed snippet, styled so that
/// any leak of its rules into the panel would show.
pub fn article_page(ledger: &str, slug: &str, vkey: &str, extra: &str, head: &str) -> String {
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>The Courier: a story</title>{head}
<style nonce="courier">h2, h3 {{ display: none !important; }} li {{ list-style: none; }} a {{ color: #ff0 !important; }} body {{ color: #222; }}</style></head>
<body><main><h1>A story</h1><p>The article's text.</p>
<div data-sourceledger="{slug}" data-vkey="{vkey}" {extra}></div>
<p>After the panel.</p></main>
<script src="{ledger}/embed.js" async></script></body></html>"#
    )
}

/// What the browser saw on each visit.
pub fn browse(visits: Value, axe: bool) -> Vec<Value> {
    let tools = std::env::var_os("SOURCELEDGER_TEST_BROWSER_TOOLS").expect("browser tools");
    let chromium =
        std::env::var("SOURCELEDGER_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let input = json!({"chromium": chromium, "shots": crate::helpers::browser_artifacts(), "axe": axe, "visits": visits});
    let seen = crate::helpers::node_json(
        "browser_check.mjs",
        &[("SOURCELEDGER_TEST_BROWSER_TOOLS", tools.as_os_str())],
        &input,
    );
    serde_json::from_value(seen).expect("browser_check's visits")
}

/// Whether the browser tests can run here; CI requires them.
pub fn browser_tools() -> bool {
    let ready = std::env::var_os("SOURCELEDGER_TEST_BROWSER_TOOLS").is_some();
    if !ready {
        assert!(
            std::env::var_os("SOURCELEDGER_TEST_REQUIRE_BROWSER").is_none(),
            "SOURCELEDGER_TEST_REQUIRE_BROWSER is set but SOURCELEDGER_TEST_BROWSER_TOOLS is not"
        );
        eprintln!("SKIPPED: no SOURCELEDGER_TEST_BROWSER_TOOLS");
    }
    ready
}

/// A newsroom's staff on a running server.
pub struct Desk {
    base: String,
    http: ureq::Agent,
    admin: String,
    journalist: String,
    editor: String,
}

impl Desk {
    pub fn new(server: &ServerProcess) -> Self {
        let base = server.url();
        let http = agent();
        let admin = token_for(&http, &base, &server.bootstrap_key());
        let journalist = key_token(&http, &base, &admin, "journalist");
        let editor = key_token(&http, &base, &admin, "editor");
        Desk {
            base,
            http,
            admin,
            journalist,
            editor,
        }
    }

    fn post(&self, path: &str, token: &str, body: Value) -> crate::process::Answer {
        let answer = request(
            &self.http,
            "POST",
            &format!("{}{path}", self.base),
            Some(token),
            Some(&body),
        )
        .expect("post");
        assert!(answer.status < 300, "{path}: {}", answer.text);
        answer
    }

    /// An article with `n` cited sources (the first titled `first_title`),
    /// one citation verified and, when `n > 2`, the last retracted; published.
    pub fn article(&self, slug: &str, n: usize, first_title: &str) {
        let (journalist, editor) = (&self.journalist, &self.editor);
        self.post(
            "/v1/articles",
            journalist,
            json!({"slug": slug, "title": "A story", "url": format!("https://courier.example/{slug}"), "language": "en", "authors": ["A"]}),
        );
        let mut citations = Vec::new();
        for i in 0..n {
            let title = if i == 0 {
                first_title.to_owned()
            } else {
                format!("Source number {i}")
            };
            let source = self.post(
                "/v1/sources",
                journalist,
                json!({"url": format!("https://s{i}.example/doc"), "title": title, "publisher": "Publisher", "kind": if i % 2 == 0 { "document" } else { "dataset" }, "language": "en", "archive_url": format!("https://archive.example/{i}"), "published_at": "2026-03-01"}),
            );
            citations.push(json!({"source_id": source.body["id"], "claim": format!("Claim {i}"), "locator": format!("paragraph {i}"), "quote": format!("A quote from source {i}")}));
        }
        let attached = self.post(
            &format!("/v1/articles/{slug}/citations"),
            journalist,
            json!({"citations": citations}),
        );
        let id = |i: usize| {
            attached.body["citations"][i]["id"]
                .as_str()
                .expect("id")
                .to_owned()
        };
        self.post(
            &format!("/v1/citations/{}/verify", id(0)),
            editor,
            json!({}),
        );
        if n > 2 {
            self.post(
                &format!("/v1/citations/{}/retract", id(n - 1)),
                editor,
                json!({"reason": "Figures revised"}),
            );
        }
        self.post(&format!("/v1/articles/{slug}/publish"), editor, json!({}));
    }

    /// A subscriber's token, made by the admin.
    pub fn member_token(&self, external_id: &str) -> String {
        let member = self.post(
            "/v1/subscribers",
            &self.admin,
            json!({"external_id": external_id, "tier": "member"}),
        );
        let id = member.body["id"].as_str().expect("id");
        let token = self.post(
            &format!("/v1/subscribers/{id}/token"),
            &self.admin,
            json!({}),
        );
        token.body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }
}

/// The list's checkpoint re-signed by another key under the same name: what
/// a server that lost its key, or an impostor, would send.
fn forged_checkpoint(server: &ServerProcess, token: &str) -> String {
    let list = request(
        &agent(),
        "GET",
        &format!("{}/v1/articles/story/sources", server.url()),
        Some(token),
        None,
    )
    .expect("list");
    let note = list.body["checkpoint"].as_str().expect("checkpoint");
    let mut lines = note.lines();
    let origin = lines.next().expect("origin");
    let size: u64 = lines.next().expect("size").parse().expect("size");
    let root = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        lines.next().expect("root"),
    )
    .expect("root");
    let impostor = sourceledger::secrets::LedgerKey::from_signer_key(
        &sourceledger::secrets::LedgerKey::generate(origin),
    )
    .expect("key");
    let root = sourceledger::ledger::Hash(root.try_into().expect("32 bytes"));
    sourceledger::ledger::checkpoint::sign(impostor.signer(), origin, size, root).expect("sign")
}

fn find<'a>(results: &'a [Value], name: &str) -> &'a Value {
    results
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no visit {name}"))
}

fn no_violations(seen: &Value) {
    assert_eq!(
        seen["violations"],
        json!([]),
        "{}: axe-core found serious or critical problems",
        seen["name"]
    );
    assert_eq!(seen["errors"], json!([]), "{}: script errors", seen["name"]);
}

async fn the_panel_shows_the_teaser_the_verified_list_or_what_failed(backend: Backend) {
    if !browser_tools() {
        return;
    }
    let site = HostSite::start();
    let stranger = HostSite::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = match &backend {
        Backend::Sqlite => None,
        Backend::Postgres(db) => Some(db.url.clone()),
    };
    let mut server = ServerProcess::start_with(
        dir.path(),
        database_url.as_deref(),
        None,
        &[
            ("SOURCELEDGER_EMBED_ORIGINS", site.origin.as_str()),
            ("SOURCELEDGER_CTA_TEXT", CTA_TEXT),
            ("SOURCELEDGER_CTA_URL", CTA_URL),
        ],
    );
    // Another newsroom witnesses this one's log.
    let witness_dir = tempfile::tempdir().expect("tempdir");
    let log_vkey = vkey(&server);
    let witness = ServerProcess::start_with(
        witness_dir.path(),
        None,
        None,
        &[
            ("SOURCELEDGER_ORIGIN", "witness.test/ledger"),
            ("SOURCELEDGER_WITNESS_FOR", log_vkey.as_str()),
        ],
    );
    let witness_key = request(
        &agent(),
        "GET",
        &format!("{}/v1/witness/key", witness.url()),
        None,
        None,
    )
    .expect("witness key")
    .body["vkey"]
        .as_str()
        .expect("vkey")
        .to_owned();
    let own_witness_key = request(
        &agent(),
        "GET",
        &format!("{}/v1/witness/key", server.url()),
        None,
        None,
    )
    .expect("own witness key")
    .body["vkey"]
        .as_str()
        .expect("vkey")
        .to_owned();
    server.set_env(
        "SOURCELEDGER_WITNESSES",
        &format!("{witness_key} {}/witness", witness.url()),
    );
    server.restart();
    let ledger = server.url();
    let hostile = "<img src=x onerror=alert(1)> Budget report";
    let desk = Desk::new(&server);
    desk.article("story", 3, hostile);
    // And a confidential source: every reader sees only that it exists.
    let sealed = desk.post(
        "/v1/sources",
        &desk.journalist,
        json!({"sealed": true, "url": "https://internal.example/whistle", "title": "Whistleblower memo", "publisher": "Ministry", "kind": "interview", "language": "en"}),
    );
    assert_eq!(sealed.status, 201, "{}", sealed.text);
    let cited = desk.post(
        "/v1/articles/story/citations",
        &desk.journalist,
        json!({"source_id": sealed.body["id"], "claim": "The ministry knew", "locator": "paragraph 9"}),
    );
    assert_eq!(cited.status, 201, "{}", cited.text);
    let token = desk.member_token("reader-1");
    // The server runs with the embargo on, as it does by default: the list
    // the browser checks proves each fact by its disclosure and commitment.
    let list = request(
        &desk.http,
        "GET",
        &format!("{ledger}/v1/articles/story/sources"),
        Some(&token),
        None,
    )
    .expect("list");
    assert!(
        list.body["citations"][0]["proof"]["source"]["commitment"].is_object(),
        "{}",
        list.text
    );
    let vkey = vkey(&server);
    crate::witnesses::wait_for_cosignatures(&ledger, &[&witness_key]);
    let name = backend.name();

    let anonymous = site.page(
        "/anonymous.html",
        "",
        article_page(&ledger, "story", &vkey, "", ""),
    );
    // The newsroom's page keeps a strict policy of its own: the panel needs
    // only script-src and connect-src for the ledger, no inline styles.
    let policy = format!(
        "default-src 'none'; script-src 'nonce-courier' {ledger}; connect-src {ledger}; style-src 'nonce-courier'"
    );
    let provider = format!(
        r#"<script nonce="courier">window.courierToken = function () {{ return Promise.resolve("{token}"); }};</script>"#
    );
    let member = site.page(
        "/member.html",
        &policy,
        article_page(
            &ledger,
            "story",
            &vkey,
            r#"data-token-provider="courierToken""#,
            &provider,
        ),
    );
    let witnessed_by = |key: &str| {
        article_page(
            &ledger,
            "story",
            &vkey,
            &format!(r#"data-token-provider="courierToken" data-witnesses="{key}""#),
            &provider,
        )
    };
    let witnessed = site.page("/witnessed.html", &policy, witnessed_by(&witness_key));
    let unwitnessed = site.page("/unwitnessed.html", &policy, witnessed_by(&own_witness_key));
    let elsewhere = stranger.page(
        "/member.html",
        "",
        article_page(
            &ledger,
            "story",
            &vkey,
            r#"data-token-provider="courierToken""#,
            &provider,
        ),
    );
    let page = format!("{ledger}/articles/story/sources");
    let visits = json!([
        {"name": format!("panel-teaser-{name}"), "url": anonymous, "kind": "panel"},
        {"name": format!("panel-verified-{name}"), "url": member, "kind": "panel"},
        {"name": format!("panel-altered-url-{name}"), "url": member, "kind": "panel", "tamper": "url"},
        {"name": format!("panel-altered-proof-{name}"), "url": member, "kind": "panel", "tamper": "proof"},
        {"name": format!("panel-forged-checkpoint-{name}"), "url": member, "kind": "panel", "tamper": "checkpoint",
         "checkpoint": forged_checkpoint(&server, &token)},
        {"name": format!("panel-not-allowed-{name}"), "url": elsewhere, "kind": "panel"},
        {"name": format!("panel-witnessed-{name}"), "url": witnessed, "kind": "panel"},
        {"name": format!("panel-unwitnessed-{name}"), "url": unwitnessed, "kind": "panel"},
        {"name": format!("page-verified-{name}"), "url": format!("{page}?token={token}#vkey={vkey}"), "kind": "page"},
        {"name": format!("page-teaser-{name}"), "url": page, "kind": "page"},
    ]);
    let results = browse(visits, true);

    // Anonymous: the teaser and the newsroom's own call to action, no links
    // but the newsroom's; the hostile title is text.
    let seen = find(&results, &format!("panel-teaser-{name}"));
    assert_eq!(seen["state"], "teaser", "{seen}");
    let text = seen["text"].as_str().expect("text");
    assert!(
        text.contains(CTA_TEXT)
            && text.contains("3 sources")
            && text.contains("A confidential source, sealed on")
            && text.contains("1 retracted citation,"),
        "{text}"
    );
    assert!(!text.contains("Whistleblower") && !text.contains("internal.example"));
    assert_eq!(seen["hrefs"], json!([CTA_URL]));
    assert!(!text.contains("s1.example") && !text.contains("A quote"));
    let html = seen["html"].as_str().expect("html");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;") && !html.contains("<img"));
    no_violations(seen);

    // A member: every source with its direct link and archived copy, the
    // retracted one apart with its reason, and the mark.
    let seen = find(&results, &format!("panel-verified-{name}"));
    assert_eq!(seen["state"], "verified", "{seen}");
    let text = seen["text"].as_str().expect("text");
    assert!(text.contains("Verified in your browser"), "{text}");
    for href in [
        "https://s0.example/doc",
        "https://s1.example/doc",
        "https://archive.example/0",
        "https://s2.example/doc",
    ] {
        assert!(
            seen["hrefs"]
                .as_array()
                .expect("hrefs")
                .iter()
                .any(|h| h == href),
            "no link to {href}: {}",
            seen["hrefs"]
        );
    }
    assert!(text.contains("Retracted citations") && text.contains("Figures revised"));
    assert!(text.contains("A quote from source 1") && text.contains("Claim 1 (paragraph 1)"));
    assert!(text.contains("Verified by"));
    assert!(
        text.contains("A confidential source, sealed on")
            && text.contains("The ministry knew (paragraph 9)")
            && !text.contains("Whistleblower")
            && !seen["hrefs"].to_string().contains("internal.example"),
        "{text}"
    );
    let html = seen["html"].as_str().expect("html");
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;") && !html.contains("<img"));
    assert_ne!(
        seen["heading_display"], "none",
        "the host page's styles reach into the panel"
    );
    assert!(seen["verify_ms"].as_f64().is_some(), "no verify measure");
    no_violations(seen);

    // Altered in transit: the failure, naming what, and never the mark.
    for (visit, reason) in [
        ("panel-altered-url", "url is not what the ledger records"),
        (
            "panel-altered-proof",
            "the inclusion proof does not lead to the checkpoint",
        ),
        (
            "panel-forged-checkpoint",
            "the checkpoint has no signature by",
        ),
    ] {
        let seen = find(&results, &format!("{visit}-{name}"));
        assert_eq!(seen["state"], "failed", "{seen}");
        let said = seen["reason"].as_str().expect("reason");
        assert!(said.contains(reason), "{visit}: {said}");
        let text = seen["text"].as_str().expect("text");
        assert!(
            !text.contains("Verified in your browser") && text.contains("Not verified"),
            "{visit}: {text}"
        );
    }

    // Given the witness a reader trusts: the mark names it once the browser
    // checked its cosignature and the consistency proof; given a witness who
    // never cosigned, not verified.
    let seen = find(&results, &format!("panel-witnessed-{name}"));
    assert_eq!(seen["state"], "verified", "{seen}");
    let text = seen["text"].as_str().expect("text");
    assert!(
        text.contains("Witnessed by 1 of the 1 witnesses you trust (witness.test/witness)"),
        "{text}"
    );
    let seen = find(&results, &format!("panel-unwitnessed-{name}"));
    assert_eq!(seen["state"], "failed", "{seen}");
    assert!(
        seen["reason"]
            .as_str()
            .is_some_and(|r| r.contains("cosigned by 1 of the witnesses given")),
        "{seen}"
    );

    // A site the newsroom did not list: the browser refuses it the list.
    let seen = find(&results, &format!("panel-not-allowed-{name}"));
    assert_eq!(seen["state"], "failed", "{seen}");
    assert!(
        seen["reason"]
            .as_str()
            .expect("reason")
            .contains("could not be loaded")
    );

    // The page: verified for the member, the teaser for anyone, both clean.
    let seen = find(&results, &format!("page-verified-{name}"));
    assert_eq!(seen["state"], "verified", "{seen}");
    no_violations(seen);
    let seen = find(&results, &format!("page-teaser-{name}"));
    assert_eq!(seen["state"], "teaser", "{seen}");
    no_violations(seen);
}
