//! The link monitor against a loopback site of the test's: a captured page
//! is `live`; changed, `changed`; 404, `gone`; restored, `live` again; each
//! transition one `source.link` ledger entry and no entry when nothing
//! changed; readers see the state in the list, editors the drift report; one
//! server at a time holds the monitor's lease, and a lapsed one is taken over.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::process::{ServerProcess, agent, key_token, request, token_for};
use crate::site::HostSite;
use sourceledger::archive::monitor::{self, Pace, Round};
use sourceledger::auth::Role;

on_both_backends!(
    links_are_watched_and_each_change_is_recorded_once,
    one_server_at_a_time_holds_the_monitor,
    a_refused_link_names_no_address,
);

fn pace() -> Pace {
    Pace {
        interval: Duration::ZERO,
        per_host_delay: Duration::ZERO,
        concurrency: 4,
        lease: Duration::from_secs(60),
    }
}

/// One link-monitor round on `app`, at once (also used by the desk's tests).
pub async fn round(app: &TestApp) -> Round {
    let state = app.state.clone();
    actix_web::web::block(move || {
        monitor::run_round(
            &state.db,
            &state.fetcher,
            pace(),
            state.settings.archive.max_bytes,
        )
    })
    .await
    .expect("block")
    .expect("round")
}

async fn source_of(app: &TestApp, slug: &str, token: &str, title: &str) -> Value {
    let list = app
        .get_as(&format!("/v1/articles/{slug}/sources"), token)
        .await
        .json();
    list["citations"]
        .as_array()
        .expect("citations")
        .iter()
        .find(|c| c["source"]["title"] == title)
        .map(|c| c["source"].clone())
        .unwrap_or_else(|| panic!("no {title} in {list}"))
}

async fn links_are_watched_and_each_change_is_recorded_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let admin = app.admin_token().await;
    let (_, reader) = app.member(&admin, "reader").await;
    let site = HostSite::start();
    let original = "<p>The budget rose 4%.</p>";
    let page = site.page("/budget", "", original.to_owned());
    let record = |url: String, title: &str| json!({"url": url, "title": title, "publisher": "Ministry", "kind": "document", "language": "en"});
    let budget = app
        .post_as("/v1/sources", &journalist, record(page.clone(), "Budget"))
        .await
        .json();
    let id = budget["id"].as_str().expect("id").to_owned();
    let vanished = app
        .post_as(
            "/v1/sources",
            &journalist,
            record("http://no-such-host.invalid/doc".into(), "Vanished"),
        )
        .await
        .json();
    let broken = site.answer("/broken", 503, vec![], b"down".to_vec());
    let failing = app
        .post_as("/v1/sources", &journalist, record(broken, "Failing"))
        .await
        .json();
    let captured = app
        .post_as(&format!("/v1/sources/{id}/capture"), &journalist, json!({}))
        .await;
    assert_eq!(captured.status, 201, "{}", captured.text());
    let captured = captured.json();
    app.post_as(
        "/v1/articles",
        &journalist,
        json!({"slug": "budget", "title": "Budget", "url": "https://news.example/budget", "language": "en", "authors": ["A"]}),
    )
    .await;
    let cite = |s: &Value| json!({"source_id": s["id"], "source_version": s["version"], "claim": "It rose.", "locator": "p1"});
    let attached = app
        .post_as(
            "/v1/articles/budget/citations",
            &journalist,
            json!({"citations": [cite(&captured), cite(&vanished), cite(&failing)]}),
        )
        .await;
    assert_eq!(attached.status, 201, "{}", attached.text());

    // Nothing is watched before publication.
    assert_eq!(round(&app).await, Round::default());
    assert_eq!(
        app.post_as("/v1/articles/budget/publish", &editor, json!({}))
            .await
            .status,
        200
    );
    assert_eq!(
        source_of(&app, "budget", &reader, "Budget").await["link_status"],
        "unchecked"
    );

    // The first round: three new states, three entries.
    let size = app.ledger_size();
    assert_eq!(
        round(&app).await,
        Round {
            checked: 3,
            changed: 3
        }
    );
    assert_eq!(app.ledger_size(), size + 3);
    let budget_now = source_of(&app, "budget", &reader, "Budget").await;
    assert_eq!(budget_now["link_status"], "live");
    assert!(budget_now["link_checked_at"].is_string());
    assert_eq!(
        source_of(&app, "budget", &reader, "Vanished").await["link_status"],
        "gone"
    );
    assert_eq!(
        source_of(&app, "budget", &reader, "Failing").await["link_status"],
        "error"
    );

    // Nothing changed: checked again, nothing recorded.
    let size = app.ledger_size();
    assert_eq!(
        round(&app).await,
        Round {
            checked: 3,
            changed: 0
        }
    );
    assert_eq!(app.ledger_size(), size);
    let drift = app.get_as("/v1/articles/budget/drift", &editor).await;
    assert_eq!(drift.status, 200, "{}", drift.text());
    let drifted: Vec<String> = drift.json()["citations"]
        .as_array()
        .expect("citations")
        .iter()
        .map(|c| c["title"].as_str().expect("title").to_owned())
        .collect();
    assert_eq!(drifted, ["Vanished"], "only what changed or vanished");

    // The page changes, is taken down, comes back: one entry each.
    for (answer, expected) in [
        (Some("<p>The budget fell 4%.</p>"), "changed"),
        (None, "gone"),
        (Some(original), "live"),
    ] {
        match answer {
            Some(body) => {
                site.page("/budget", "", body.to_owned());
            }
            None => {
                site.answer("/budget", 404, vec![], b"not found".to_vec());
            }
        }
        let size = app.ledger_size();
        let done = round(&app).await;
        assert_eq!(done.changed, 1, "{expected}: {done:?}");
        assert_eq!(app.ledger_size(), size + 1);
        let shown = source_of(&app, "budget", &reader, "Budget").await;
        assert_eq!(shown["link_status"], expected);
        // The state shown is proven by its entry; another state is refused.
        let list = app
            .get_as("/v1/articles/budget/sources", &reader)
            .await
            .json();
        let vkey = app.state.ledger.vkey().to_owned();
        let report = sourceledger::verify::list::check(&list, &vkey);
        assert!(report.ok(), "{report:?}");
        let mut altered = list.clone();
        for item in altered["citations"].as_array_mut().expect("citations") {
            if item["source"]["title"] == "Budget" {
                item["source"]["link_status"] =
                    json!(if expected == "live" { "gone" } else { "live" });
            }
        }
        assert!(!sourceledger::verify::list::check(&altered, &vkey).ok());
        let entry = app
            .get_as(&format!("/v1/ledger/entries/{size}"), &reader)
            .await
            .json();
        assert_eq!(entry["kind"], "source.link");
        assert_eq!(entry["actor"], monitor::ACTOR);
        let leaf: Value =
            serde_json::from_str(entry["leaf"].as_str().expect("leaf")).expect("json");
        assert_eq!(leaf["record"]["status"], expected);
        assert_eq!(leaf["record"]["source_id"], id.as_str());
        if expected == "gone" {
            let drift = app
                .get_as("/v1/articles/budget/drift", &editor)
                .await
                .json();
            let budget = drift["citations"]
                .as_array()
                .expect("citations")
                .iter()
                .find(|c| c["title"] == "Budget")
                .cloned()
                .expect("the gone link in the drift report");
            assert_eq!(budget["link_status"], "gone");
            assert_eq!(budget["archive_url"], captured["archive_url"]);
            // Readers are sent to the archived copy first.
            let page = app
                .get(&format!("/articles/budget/sources?token={reader}"))
                .await
                .text();
            let note = page.find("This link no longer works").expect("the note");
            let archive = page
                .find("Archived copy of Budget")
                .expect("the archive link");
            let original = page
                .find("The original address (no longer answers)")
                .expect("the original");
            assert!(note < archive && archive < original, "{page}");
            // The formats carry it too, as Wikipedia's url-status does.
            for format in ["ris", "bibtex", "csl-json"] {
                let text = app
                    .get_as(
                        &format!("/v1/articles/budget/sources?format={format}"),
                        &reader,
                    )
                    .await
                    .text();
                assert!(
                    text.contains("url-status: dead (checked"),
                    "{format}: {text}"
                );
                assert!(text.contains("archived 20"), "{format}: {text}");
            }
        }
    }

    // Staff only; the audit still re-derives everything.
    app.get_as("/v1/articles/budget/drift", &reader)
        .await
        .assert_problem(403, "forbidden");
    app.get("/v1/articles/budget/drift")
        .await
        .assert_problem(401, "unauthorized");
    let audit = app.post_as("/v1/audit/verify", &admin, json!({})).await;
    assert_eq!(audit.json()["ok"], true, "{}", audit.text());
}

async fn one_server_at_a_time_holds_the_monitor(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_other, other_state) = app.another_instance().await;
    let lease = Duration::from_millis(600);
    let take = |state: &actix_web::web::Data<sourceledger::startup::AppState>, holder: &str| {
        let mut conn = state.db.get().expect("conn");
        monitor::take_lease(&mut conn, holder, lease).expect("lease")
    };
    assert!(take(&app.state, "a"), "a free lease is taken");
    assert!(!take(&other_state, "b"), "a held lease is not");
    assert!(take(&app.state, "a"), "the holder renews it");
    assert!(!take(&other_state, "b"));
    // "a" stops renewing (it crashed): "b" takes over once the lease lapses.
    std::thread::sleep(lease + Duration::from_millis(100));
    assert!(take(&other_state, "b"), "a lapsed lease is taken over");
    assert!(!take(&app.state, "a"));
    let mut conn = other_state.db.get().expect("conn");
    monitor::release_lease(&mut conn, "b").expect("release");
    assert!(take(&app.state, "a"), "a released lease is free at once");
}

/// The monitor runs in the real server by itself: with a 1-second interval a
/// page taken down is reported `gone` within seconds, with no call from us.
#[test]
fn the_server_runs_the_monitor_by_itself() {
    let site = HostSite::start();
    let page = site.page("/doc", "", "<p>text</p>".into());
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServerProcess::start_with(
        dir.path(),
        None,
        None,
        &[
            ("SOURCELEDGER_LINK_CHECK_INTERVAL", "1"),
            ("SOURCELEDGER_LINK_CHECK_HOST_DELAY_MS", "0"),
        ],
    );
    let base = server.url();
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
    let source = post(
        "/v1/sources",
        &journalist,
        json!({"url": page, "title": "Doc", "publisher": "P", "kind": "document", "language": "en"}),
    );
    post(
        "/v1/articles",
        &journalist,
        json!({"slug": "a", "title": "A", "url": "https://news.example/a", "language": "en", "authors": ["A"]}),
    );
    post(
        "/v1/articles/a/citations",
        &journalist,
        json!({"citations": [{"source_id": source.body["id"], "claim": "c", "locator": "l"}]}),
    );
    post("/v1/articles/a/publish", &editor, json!({}));
    let status = || {
        let got = request(
            &http,
            "GET",
            &format!("{base}/v1/articles/a/sources"),
            Some(&editor),
            None,
        )
        .expect("list");
        got.body["citations"][0]["source"]["link_status"].clone()
    };
    let wait_for = |expected: &str| {
        let started = std::time::Instant::now();
        while status() != expected {
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "not {expected} within 15 s: {}",
                status()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_for("live");
    site.answer("/doc", 410, vec![], vec![]);
    wait_for("gone");
}

/// A cited link to a name that resolves to a loopback address: the monitor's
/// `source.link` entry, public once published, says the address is not public
/// and names neither the address it resolved to nor what kind it is.
async fn a_refused_link_names_no_address(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| s.fetch_allow = Vec::new()).await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let admin = app.admin_token().await;
    let site = HostSite::start();
    let port = site.origin.rsplit(':').next().expect("port").to_owned();
    let inside = app
        .post_as(
            "/v1/sources",
            &journalist,
            json!({"url": format!("http://localhost:{port}/admin"), "title": "Inside", "publisher": "P", "kind": "document", "language": "en"}),
        )
        .await
        .json();
    app.post_as(
        "/v1/articles",
        &journalist,
        json!({"slug": "probe", "title": "Probe", "url": "https://news.example/probe", "language": "en", "authors": ["A"]}),
    )
    .await;
    app.post_as(
        "/v1/articles/probe/citations",
        &journalist,
        json!({"source_id": inside["id"], "claim": "c", "locator": "p1"}),
    )
    .await;
    app.post_as("/v1/articles/probe/publish", &editor, json!({}))
        .await;
    let size = app.ledger_size();
    round(&app).await;
    assert_eq!(site.hits(), 0, "the refused address was connected to");
    let entries = app
        .get_as(&format!("/v1/ledger/entries?start={size}&limit=10"), &admin)
        .await
        .json();
    let leaf = entries["entries"][0]["leaf"]
        .as_str()
        .expect("a source.link entry");
    assert!(leaf.contains("source.link"), "{leaf}");
    assert!(leaf.contains("localhost is not a public address"), "{leaf}");
    for detail in ["127.0.0.1", "::1", "loopback"] {
        assert!(!leaf.contains(detail), "the entry names {detail}: {leaf}");
    }
}
