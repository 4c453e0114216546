//! Replay for readers, in a real browser (Debian's chromium driven by
//! tests/web/replay_check.mjs through playwright-core): a subscriber follows
//! the replay link from the article's sources, lands on the replay origin
//! (the other loopback name of the same server) holding only a grant to the
//! package, and ReplayWeb.page, served by this server under /replay/, shows
//! the archived page and its receipt: the package signed with the newsroom's
//! WACZ key. Also: the vendored ReplayWeb.page files are the published ones;
//! a grant reads one package only, and never on the newsroom's origin.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::Backend;
use crate::on_both_backends;
use crate::process::{ServerProcess, agent, key_token, request, subscriber_token, token_for};
use crate::site::HostSite;

on_both_backends!(a_reader_replays_the_archived_page_signed);

#[test]
fn the_vendored_replaywebpage_is_the_published_one() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/vendor/replaywebpage");
    let readme = std::fs::read_to_string(format!("{dir}/README.md")).expect("README");
    for file in ["ui.js", "sw.js", "index.html"] {
        let bytes = std::fs::read(format!("{dir}/{file}")).expect("vendored file");
        let hash = hex::encode(Sha256::digest(&bytes));
        assert!(
            readme.contains(&format!("`{file}` SHA-256 `{hash}`")),
            "{file} is not the file vendor/replaywebpage/README.md names"
        );
    }
}

/// What replay_check.mjs saw, or `None` where the browser tools are missing.
fn replay_in_chromium(url: &str, click: Option<&str>, expect: &str, shot: &str) -> Option<Value> {
    let Some(tools) = std::env::var_os("SOURCELEDGER_TEST_BROWSER_TOOLS") else {
        assert!(
            std::env::var_os("SOURCELEDGER_TEST_REQUIRE_BROWSER").is_none(),
            "SOURCELEDGER_TEST_REQUIRE_BROWSER is set but SOURCELEDGER_TEST_BROWSER_TOOLS is not"
        );
        eprintln!("SKIPPED: no SOURCELEDGER_TEST_BROWSER_TOOLS");
        return None;
    };
    let chromium =
        std::env::var("SOURCELEDGER_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let shot = crate::helpers::browser_artifacts().join(format!("{shot}.png"));
    let input =
        json!({"chromium": chromium, "url": url, "click": click, "expect": expect, "shot": shot});
    Some(crate::helpers::node_json(
        "replay_check.mjs",
        &[("SOURCELEDGER_TEST_BROWSER_TOOLS", tools.as_os_str())],
        &input,
    ))
}

async fn a_reader_replays_the_archived_page_signed(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = match &backend {
        Backend::Sqlite => None,
        Backend::Postgres(db) => Some(db.url.clone()),
    };
    let server = ServerProcess::start(dir.path(), database_url.as_deref());
    let base = server.url();
    let replay_origin = format!("http://localhost:{}", server.port);
    let http = agent();
    let admin = token_for(&http, &base, &server.bootstrap_key());
    let journalist = key_token(&http, &base, &admin, "journalist");
    let editor = key_token(&http, &base, &admin, "editor");
    let post = |path: &str, token: &str, body: Value| {
        request(
            &http,
            "POST",
            &format!("{base}{path}"),
            Some(token),
            Some(&body),
        )
        .expect("post")
    };
    let site = HostSite::start();
    let page_url = site.page(
        "/budget",
        "",
        "<html><head><title>Budget 2026</title></head><body><h1>Budget 2026</h1><p>Spending rose by four per cent.</p></body></html>".into(),
    );
    let source = post(
        "/v1/sources",
        &journalist,
        json!({"url": page_url, "title": "Budget 2026", "publisher": "Ministry", "kind": "document", "language": "en"}),
    );
    let id = source.body["id"].as_str().expect("id").to_owned();
    let captured = post(&format!("/v1/sources/{id}/capture"), &journalist, json!({}));
    assert_eq!(captured.status, 201, "{}", captured.text);
    assert_eq!(post("/v1/articles", &journalist, json!({"slug": "budget", "title": "The budget", "url": "https://news.example/budget", "language": "en", "authors": ["A"]})).status, 201);
    let cited = post(
        "/v1/articles/budget/citations",
        &journalist,
        json!({"citations": [{"source_id": id, "claim": "Spending rose", "locator": "p1"}]}),
    );
    assert_eq!(cited.status, 201, "{}", cited.text);
    assert_eq!(
        post("/v1/articles/budget/publish", &editor, json!({})).status,
        200
    );
    let token = subscriber_token(&http, &base, &admin, "m");
    let wacz_key = request(&http, "GET", &format!("{base}/v1/wacz/key"), None, None)
        .expect("key")
        .body["publicKey"]
        .as_str()
        .expect("publicKey")
        .to_owned();

    // The link from the sources: checked on the newsroom's origin, then on
    // to the replay origin with a grant, the token left behind.
    let no_redirects: ureq::Agent = ureq::Agent::config_builder()
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let link = format!(
        "{base}/articles/budget/replay?token={token}&url={}",
        url::form_urlencoded::byte_serialize(page_url.as_bytes()).collect::<String>()
    );
    let sent = no_redirects.get(&link).call().expect("replay link");
    assert_eq!(sent.status(), 303);
    let location = sent
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_owned();
    assert!(
        location.starts_with(&format!("{replay_origin}/articles/budget/replay?access=")),
        "{location}"
    );
    assert!(
        !location.contains(&token),
        "the token does not travel to the replay origin"
    );
    let grant = url::Url::parse(&location)
        .expect("url")
        .query_pairs()
        .find(|(k, _)| k == "access")
        .map(|(_, v)| v.into_owned())
        .expect("access");
    // The grant reads this package, not another, and only with no token.
    let package = no_redirects
        .get(&format!(
            "{replay_origin}/v1/articles/budget/archive.wacz?access={grant}"
        ))
        .header("Range", "bytes=0-3")
        .call()
        .expect("package");
    assert_eq!(package.status(), 206);
    let other = no_redirects
        .get(&format!(
            "{replay_origin}/v1/articles/other/archive.wacz?access={grant}"
        ))
        .call()
        .expect("other");
    assert_eq!(other.status(), 401);
    // The replay page is never served on the newsroom's own origin.
    let here = no_redirects
        .get(&format!("{base}/articles/budget/replay?access={grant}"))
        .call()
        .expect("here");
    assert_eq!(here.status(), 303);
    // No token, no replay.
    let anonymous = no_redirects
        .get(&format!("{base}/articles/budget/replay"))
        .call()
        .expect("anonymous");
    assert_eq!(anonymous.status(), 401);

    // The reader's page offers the replay, with the token of its address.
    let reader_page = format!("{base}/articles/budget/sources?token={token}");
    let page = request(&http, "GET", &reader_page, None, None).expect("page");
    assert!(
        page.text.contains("Replay the archived copy"),
        "{}",
        page.text
    );
    let Some(seen) = replay_in_chromium(
        &reader_page,
        Some("Replay the archived copy"),
        "Spending rose by four per cent.",
        &format!("replay-{}", backend.name()),
    ) else {
        return;
    };
    assert!(
        seen["replayed"] == true,
        "ReplayWeb.page did not show the archived page: {seen:#}"
    );
    assert!(
        seen["final_url"]
            .as_str()
            .is_some_and(|u| u.starts_with(&replay_origin)),
        "{seen:#}"
    );
    let receipt = seen["receipt"].as_str().unwrap_or_default();
    // What the embed's receipt says, after the page's own text.
    let receipt = receipt
        .find("This embed is part of a web archive")
        .map_or(receipt, |at| &receipt[at..]);
    assert!(
        receipt.contains(&wacz_key),
        "the receipt does not show the newsroom's WACZ key: {receipt}"
    );
    assert!(receipt.contains("hashes verified"), "{receipt}");
    assert!(
        !receipt.contains("invalid"),
        "{receipt}\n{:#}",
        seen["verification"]
    );
    // wabac.js's own record of the signature check (the receipt counts a
    // signature as valid whatever its outcome): it verified.
    let signature = seen["verification"]
        .as_array()
        .and_then(|rows| rows.iter().find(|r| r["id"] == "signature"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(signature["matched"], true, "{seen:#}");
    // The replay page's own check: every file, the signature, the ledger.
    assert_eq!(seen["archive_check"]["state"], "verified", "{seen:#}");

    // One byte of the stored WARC changed (storage corrupted or tampered
    // with): ReplayWeb.page, which hashes no WARC, still replays it; the
    // replay page's check says it failed, and why.
    let warc = captured.body["warc_sha256"].as_str().expect("warc_sha256");
    let blob = dir
        .path()
        .join("snapshots/blobs")
        .join(&warc[..2])
        .join(warc);
    let mut bytes = std::fs::read(&blob).expect("stored WARC");
    let at = bytes
        .windows(8)
        .rposition(|w| w == b"Spending")
        .expect("the payload in the WARC");
    bytes[at] = b'F';
    std::fs::write(&blob, bytes).expect("write");
    let Some(tampered) = replay_in_chromium(
        &link,
        None,
        "rose by four per cent.",
        &format!("replay-tampered-{}", backend.name()),
    ) else {
        return;
    };
    assert!(tampered["replayed"] == true, "{tampered:#}");
    assert_eq!(tampered["archive_check"]["state"], "failed", "{tampered:#}");
    let reason = tampered["archive_check"]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(
        reason.contains(&format!("archive/{warc}.warc is not the file")),
        "{reason}"
    );
}
