//! The reader's panel in a real browser: verification time, server time.

use serde_json::{Value, json};

use crate::durability::vkey;
use crate::panel::{Desk, article_page, browse};
use crate::process::{ServerProcess, agent, request};
use crate::site::HostSite;

/// The figures issue 10 asks for (nothing here is asserted), with the
/// browser tools set (`SOURCELEDGER_TEST_BROWSER_TOOLS`): the time the
/// reader's browser takes to verify a 20-source and a 200-source list (the
/// page's own Performance API measure, five visits each), and the server time
/// of the 20-source page.
pub fn timings() {
    let site = HostSite::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServerProcess::start_with(
        dir.path(),
        None,
        None,
        &[("SOURCELEDGER_EMBED_ORIGINS", site.origin.as_str())],
    );
    let ledger = server.url();
    let desk = Desk::new(&server);
    desk.article("twenty", 20, "First");
    desk.article("two-hundred", 200, "First");
    let token = desk.member_token("reader-1");
    let vkey = vkey(&server);
    let provider = format!(
        r#"<script>window.courierToken = function () {{ return Promise.resolve("{token}"); }};</script>"#
    );
    let mut visits = Vec::new();
    for slug in ["twenty", "two-hundred"] {
        let url = site.page(
            &format!("/{slug}.html"),
            "",
            article_page(
                &ledger,
                slug,
                &vkey,
                r#"data-token-provider="courierToken""#,
                &provider,
            ),
        );
        for i in 0..5 {
            visits.push(json!({"name": format!("timing-{slug}-{i}"), "url": url, "kind": "panel"}));
        }
    }
    let results = browse(Value::Array(visits), false);
    for slug in ["twenty", "two-hundred"] {
        let mut times: Vec<f64> = results
            .iter()
            .filter(|r| {
                r["name"]
                    .as_str()
                    .is_some_and(|n| n.starts_with(&format!("timing-{slug}-")))
            })
            .map(|r| {
                assert_eq!(r["state"], "verified", "{r}");
                r["verify_ms"].as_f64().expect("verify_ms")
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!(
            "browser verify, {slug} sources: median {:.1} ms (min {:.1}, max {:.1}) over {} visits",
            times[times.len() / 2],
            times[0],
            times[times.len() - 1],
            times.len()
        );
    }
    let http = agent();
    for (what, url, token) in [
        (
            "page, 20 sources, member",
            format!("{ledger}/articles/twenty/sources"),
            Some(token.as_str()),
        ),
        (
            "page, 20 sources, anonymous",
            format!("{ledger}/articles/twenty/sources"),
            None,
        ),
        ("healthz (for scale)", format!("{ledger}/healthz"), None),
    ] {
        let mut times = Vec::new();
        for _ in 0..500 {
            let started = std::time::Instant::now();
            let answer = request(&http, "GET", &url, token, None).expect("get");
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(answer.status, 200);
        }
        times.sort_by(f64::total_cmp);
        println!(
            "server time, {what}: median {:.2} ms, p99 {:.2} ms over {} sequential requests",
            times[times.len() / 2],
            times[times.len() * 99 / 100],
            times.len()
        );
    }
    println!(
        "embed.js: {} bytes",
        sourceledger::newsroom::source_page::EMBED_JS.len()
    );
}
