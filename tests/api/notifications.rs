//! Notifications out: each event received once, in order, by a loopback
//! receiver that checks its Standard Webhooks signature with the reference
//! library (PyPI `standardwebhooks`, tests/webhooks/receiver.py;
//! `SOURCELEDGER_TEST_WEBHOOK_TOOLS` names a venv with it, CI installs it);
//! events about drafts never sent; a receiver down, then back, loses and
//! doubles nothing; a private address refused unless allowed; admins only.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::test::TestRequest;
use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, settings_for, start};
use crate::on_both_backends;
use crate::site::HostSite;
use sourceledger::auth::Role;
use sourceledger::notifications::delivery;

on_both_backends!(
    each_event_is_received_once_in_order_and_verified,
    a_receiver_down_then_back_loses_and_doubles_nothing,
    a_receiver_on_a_private_address_is_refused_unless_allowed,
    a_slow_receiver_holds_up_no_other,
    only_admins_manage_notifications,
    two_servers_sending_at_once_send_each_event_once,
    a_redirect_is_not_a_delivery,
);

/// The venv's python with `standardwebhooks`, or `None` (saying so).
fn webhook_python() -> Option<PathBuf> {
    match std::env::var_os("SOURCELEDGER_TEST_WEBHOOK_TOOLS") {
        Some(tools) => Some(Path::new(&tools).join("bin/python")),
        None => {
            assert!(
                std::env::var_os("SOURCELEDGER_TEST_REQUIRE_WEBHOOK_TOOLS").is_none(),
                "SOURCELEDGER_TEST_REQUIRE_WEBHOOK_TOOLS is set but SOURCELEDGER_TEST_WEBHOOK_TOOLS is not"
            );
            eprintln!("SKIPPED: standardwebhooks (set SOURCELEDGER_TEST_WEBHOOK_TOOLS)");
            None
        }
    }
}

/// tests/webhooks/receiver.py on loopback.
struct Receiver {
    python: PathBuf,
    child: Option<Child>,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Receiver {
    fn start(python: &Path) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut receiver = Receiver {
            python: python.to_owned(),
            child: None,
            port: 0,
            log: dir.path().join("received.jsonl"),
            _dir: dir,
        };
        receiver.spawn();
        receiver
    }

    fn spawn(&mut self) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/webhooks/receiver.py");
        let mut child = Command::new(&self.python)
            .arg(script)
            .arg(self.port.to_string())
            .arg(&self.log)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the receiver");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the receiver's port");
        self.port = line
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the receiver said {line:?}"));
        self.child = Some(child);
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn control(&self, change: Value) {
        let agent = crate::process::agent();
        let answer = agent
            .post(&self.url("/_control"))
            .send_json(change)
            .expect("control the receiver");
        assert_eq!(answer.status(), 204);
    }

    /// Refuses connections: nothing listens.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Listens again on the same port, with the same secret.
    fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Every request it verified, in the order received; it panics on one
    /// that did not verify.
    fn received(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        for line in &lines {
            assert!(line.get("rejected").is_none(), "a bad signature: {line}");
        }
        lines
    }

    /// Waits until it has received `count` messages (or panics).
    async fn wait_for(&self, count: usize, within: Duration) -> Vec<Value> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "received {} of {count}: {received:?}",
                received.len()
            );
            actix_web::rt::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.kill();
    }
}

fn types(received: &[Value]) -> Vec<String> {
    received
        .iter()
        .map(|m| m["payload"]["type"].as_str().expect("type").to_owned())
        .collect()
}

async fn subscribe(app: &TestApp, admin: &str, url: &str, events: &[&str]) -> Value {
    let made = app
        .post_as(
            "/v1/notifications",
            admin,
            json!({"url": url, "events": events}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text());
    made.json()
}

async fn list(app: &TestApp, admin: &str) -> Value {
    let listed = app.get_as("/v1/notifications", admin).await;
    assert_eq!(listed.status, 200, "{}", listed.text());
    listed.json()
}

fn record(url: String, title: &str) -> Value {
    json!({"url": url, "title": title, "publisher": "Ministry", "kind": "document", "language": "en"})
}

/// Makes draft `slug` citing `sources`; the first citation's id, if any.
async fn article(
    app: &TestApp,
    journalist: &str,
    slug: &str,
    sources: &[&Value],
) -> Option<String> {
    let made = app
        .post_as(
            "/v1/articles",
            journalist,
            json!({"slug": slug, "title": format!("Story {slug}"), "url": format!("https://news.example/{slug}"), "language": "en", "authors": ["A"]}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text());
    if sources.is_empty() {
        return None;
    }
    let citations: Vec<Value> = sources
        .iter()
        .map(|s| json!({"source_id": s["id"], "source_version": s["version"], "claim": "It rose.", "locator": "p1"}))
        .collect();
    let attached = app
        .post_as(
            &format!("/v1/articles/{slug}/citations"),
            journalist,
            json!({"citations": citations}),
        )
        .await;
    assert_eq!(attached.status, 201, "{}", attached.text());
    attached.json()["citations"][0]["id"]
        .as_str()
        .map(str::to_owned)
}

async fn publish(app: &TestApp, editor: &str, slug: &str) {
    let published = app
        .post_as(&format!("/v1/articles/{slug}/publish"), editor, json!({}))
        .await;
    assert_eq!(published.status, 200, "{}", published.text());
}

async fn retract(app: &TestApp, editor: &str, id: Option<String>, reason: &str) {
    let id = id.expect("a citation");
    let retracted = app
        .post_as(
            &format!("/v1/citations/{id}/retract"),
            editor,
            json!({"reason": reason}),
        )
        .await;
    assert_eq!(retracted.status, 200, "{}", retracted.text());
}

async fn each_event_is_received_once_in_order_and_verified(backend: Backend) {
    let Some(python) = webhook_python() else {
        return;
    };
    // Under embargo: a draft's entries are commitments, never sent.
    let app = TestApp::spawn_with(backend, |s| s.embargo = true).await;
    let _worker = delivery::spawn(app.state.clone()).expect("worker");
    let admin = app.admin_token().await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let receiver = Receiver::start(&python);
    let made = subscribe(
        &app,
        &admin,
        &receiver.url("/hook"),
        &[
            "article.published",
            "citation.retracted",
            "link.gone",
            "link.changed",
        ],
    )
    .await;
    let secret = made["secret"].as_str().expect("secret").to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    assert_eq!(made["events"].as_array().map(Vec::len), Some(4));
    assert!(made["last_delivery"].is_null());
    receiver.control(json!({"secret": secret}));
    // Shown once: the list never holds it.
    let listed = app.get_as("/v1/notifications", &admin).await;
    assert!(!listed.text().contains(&secret));
    assert!(listed.json()["subscriptions"][0].get("secret").is_none());

    let site = HostSite::start();
    let changing = site.page("/budget", "", "<p>The budget rose 4%.</p>".into());
    let vanishing = site.page("/report", "", "<p>The report.</p>".into());
    let extra = site.page("/extra", "", "<p>More.</p>".into());
    let mut cited = Vec::new();
    for (url, title) in [
        (changing, "Budget"),
        (vanishing, "Report"),
        (extra, "Extra"),
    ] {
        let source = app
            .post_as("/v1/sources", &journalist, record(url, title))
            .await
            .json();
        let id = source["id"].as_str().expect("id").to_owned();
        let captured = app
            .post_as(&format!("/v1/sources/{id}/capture"), &journalist, json!({}))
            .await;
        assert_eq!(captured.status, 201, "{}", captured.text());
        cited.push(captured.json());
    }
    // A draft, with a citation retracted: nothing of it goes out.
    let draft = article(&app, &journalist, "scoop", &[&cited[0]]).await;
    retract(&app, &editor, draft, "wrong page").await;

    let started = Instant::now();
    let extra = article(
        &app,
        &journalist,
        "budget",
        &[&cited[2], &cited[0], &cited[1]],
    )
    .await;
    publish(&app, &editor, "budget").await;
    receiver.wait_for(1, Duration::from_secs(20)).await;
    eprintln!(
        "article.published received {:?} after publishing began",
        started.elapsed()
    );
    retract(&app, &editor, extra, "The figure was misquoted").await;
    receiver.wait_for(2, Duration::from_secs(20)).await;
    // The link monitor finds the first page changed (and the second live),
    // then the second gone.
    site.page("/budget", "", "<p>The budget fell 4%.</p>".into());
    let round = crate::links::round(&app).await;
    assert_eq!(round.changed, 2, "{round:?}");
    receiver.wait_for(3, Duration::from_secs(20)).await;
    site.answer("/report", 404, vec![], b"not found".to_vec());
    let round = crate::links::round(&app).await;
    assert_eq!(round.changed, 1, "{round:?}");
    let received = receiver.wait_for(4, Duration::from_secs(20)).await;
    // Nothing more comes.
    actix_web::rt::time::sleep(Duration::from_millis(800)).await;
    let received_later = receiver.received();
    assert_eq!(received_later.len(), 4, "{received_later:?}");
    assert_eq!(
        types(&received),
        [
            "article.published",
            "citation.retracted",
            "link.changed",
            "link.gone"
        ]
    );
    let mut ids: Vec<&str> = received
        .iter()
        .map(|m| m["id"].as_str().expect("id"))
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4, "one id per event");
    let mut indexes = Vec::new();
    for message in &received {
        let payload = &message["payload"];
        // Slack's incoming webhooks need a non-empty `text`.
        assert!(
            payload["text"].as_str().is_some_and(|t| !t.is_empty()),
            "{payload}"
        );
        assert!(
            chrono::DateTime::parse_from_rfc3339(payload["timestamp"].as_str().expect("time"))
                .is_ok()
        );
        assert!(
            !payload.to_string().contains("scoop"),
            "a draft leaked: {payload}"
        );
        indexes.push(payload["data"]["index"].as_i64().expect("index"));
    }
    assert!(indexes.windows(2).all(|w| w[0] < w[1]), "{indexes:?}");
    let published = &received[0]["payload"]["data"]["article"];
    assert_eq!(published["slug"], "budget");
    assert_eq!(published["title"], "Story budget");
    assert!(
        published["page_url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/articles/budget/sources"))
    );
    let retraction = &received[1]["payload"]["data"];
    assert_eq!(retraction["reason"], "The figure was misquoted");
    assert_eq!(retraction["article"]["slug"], "budget");
    assert!(retraction["source"]["title"].is_string());
    let changed = &received[2]["payload"]["data"];
    assert_eq!(changed["link"]["status"], "changed");
    assert_eq!(changed["source"]["title"], "Budget");
    assert!(changed["source"]["archive_url"].is_string());
    let gone = &received[3]["payload"]["data"];
    assert_eq!(gone["link"]["status"], "gone");
    assert_eq!(gone["link"]["detail"], "answered 404");
    assert_eq!(gone["source"]["title"], "Report");
    assert_eq!(gone["articles"][0]["slug"], "budget");
    assert!(
        received[3]["payload"]["text"]
            .as_str()
            .is_some_and(|t| t.contains("Link gone") && t.contains("Report"))
    );

    // The list says how it went.
    let listed = list(&app, &admin).await;
    let subscription = &listed["subscriptions"][0];
    assert_eq!(subscription["delivered"], 4, "{listed}");
    assert_eq!(subscription["pending"], 0);
    assert_eq!(subscription["failed"], 0);
    assert_eq!(subscription["last_delivery"]["state"], "delivered");
    assert_eq!(subscription["last_delivery"]["event"], "link.gone");
    assert_eq!(subscription["last_delivery"]["http_status"], 200);
    assert_eq!(subscription["last_delivery"]["attempts"], 1);

    // Removed: nothing more is sent.
    let id = subscription["id"].as_str().expect("id");
    let removed = app
        .call(
            TestRequest::delete()
                .uri(&format!("/v1/notifications/{id}"))
                .insert_header(("Authorization", format!("Bearer {admin}"))),
        )
        .await;
    assert_eq!(removed.status, 204);
    article(&app, &journalist, "later", &[]).await;
    publish(&app, &editor, "later").await;
    actix_web::rt::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(receiver.received().len(), 4);
    assert_eq!(list(&app, &admin).await["subscriptions"], json!([]));
}

async fn a_receiver_down_then_back_loses_and_doubles_nothing(backend: Backend) {
    let Some(python) = webhook_python() else {
        return;
    };
    // In the open: a draft's retraction is a plain entry, and still not sent.
    let app = TestApp::spawn(backend).await;
    let _worker = delivery::spawn(app.state.clone()).expect("worker");
    let admin = app.admin_token().await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let mut receiver = Receiver::start(&python);
    let made = subscribe(
        &app,
        &admin,
        &receiver.url("/hook"),
        &["article.published", "citation.retracted"],
    )
    .await;
    receiver.control(json!({"secret": made["secret"], "mode": "fail"}));
    let source = app
        .post_as(
            "/v1/sources",
            &journalist,
            record("https://example.org/doc".into(), "Doc"),
        )
        .await
        .json();
    let draft = article(&app, &journalist, "draft", &[&source]).await;
    retract(&app, &editor, draft, "not needed").await;

    // Answering 500: tried again and again, nothing delivered.
    for slug in ["a1", "a2", "a3"] {
        article(&app, &journalist, slug, &[]).await;
        publish(&app, &editor, slug).await;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let listed = list(&app, &admin).await;
        let last = &listed["subscriptions"][0]["last_delivery"];
        if last["attempts"].as_i64().unwrap_or(0) >= 3 {
            assert_eq!(last["state"], "pending", "{listed}");
            assert_eq!(last["http_status"], 500, "{listed}");
            assert_eq!(listed["subscriptions"][0]["pending"], 3, "{listed}");
            break;
        }
        assert!(Instant::now() < deadline, "no retries: {listed}");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    // Closing connections, then not listening at all.
    receiver.control(json!({"mode": "close"}));
    actix_web::rt::time::sleep(Duration::from_millis(500)).await;
    receiver.kill();
    for slug in ["a4", "a5"] {
        article(&app, &journalist, slug, &[]).await;
        publish(&app, &editor, slug).await;
    }
    actix_web::rt::time::sleep(Duration::from_millis(1500)).await;
    let listed = list(&app, &admin).await;
    let last = &listed["subscriptions"][0]["last_delivery"];
    assert_eq!(last["state"], "pending", "{listed}");
    assert!(last["http_status"].is_null(), "{listed}");
    assert!(
        last["error"].as_str().is_some_and(|e| !e.is_empty()),
        "{listed}"
    );
    assert!(receiver.received().is_empty());

    // Back: every event once, in order.
    receiver.restart();
    let received = receiver.wait_for(5, Duration::from_secs(30)).await;
    actix_web::rt::time::sleep(Duration::from_millis(800)).await;
    let received = {
        let again = receiver.received();
        assert_eq!(again.len(), received.len());
        again
    };
    let slugs: Vec<&str> = received
        .iter()
        .map(|m| {
            m["payload"]["data"]["article"]["slug"]
                .as_str()
                .expect("slug")
        })
        .collect();
    assert_eq!(slugs, ["a1", "a2", "a3", "a4", "a5"]);
    assert_eq!(types(&received), ["article.published"; 5]);
    let listed = list(&app, &admin).await;
    assert_eq!(listed["subscriptions"][0]["delivered"], 5, "{listed}");
    assert_eq!(listed["subscriptions"][0]["pending"], 0, "{listed}");
    let metrics = app.get("/metrics").await.text();
    assert!(
        crate::helpers::metric_sample(
            &metrics,
            "sourceledger_notification_deliveries_total{state=\"retry\"}"
        )
        .is_some_and(|n| n >= 3.0),
        "{metrics}"
    );
    assert_eq!(
        crate::helpers::metric_sample(
            &metrics,
            "sourceledger_notification_deliveries_total{state=\"delivered\"}"
        ),
        Some(5.0),
        "{metrics}"
    );
}

async fn a_receiver_on_a_private_address_is_refused_unless_allowed(backend: Backend) {
    let Some(python) = webhook_python() else {
        return;
    };
    let receiver = Receiver::start(&python);
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let editor = app.token_of(Role::Editor).await;
    let journalist = app.token_of(Role::Journalist).await;
    let made = subscribe(&app, &admin, &receiver.url("/hook"), &["article.published"]).await;
    receiver.control(json!({"secret": made["secret"]}));

    // A second server of the same newsroom that may not reach loopback.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut strict = settings_for(&Backend::Sqlite, dir.path());
    strict.data_dir = app.data_dir.clone();
    strict.database = app.state.settings.database.clone();
    strict.fetch_allow = Vec::new();
    let (strict_app, strict_state) = start(strict).await;
    for url in [
        receiver.url("/hook"),
        format!("https://127.0.0.1:{}/hook", receiver.port),
        "https://10.1.2.3/hook".into(),
        "https://[::1]/hook".into(),
        "https://169.254.169.254/latest".into(),
        "http://hooks.example/plain".into(),
    ] {
        let refused = crate::helpers::call(
            &strict_app,
            TestRequest::post()
                .uri("/v1/notifications")
                .insert_header(("Authorization", format!("Bearer {admin}")))
                .set_json(json!({"url": url, "events": ["link.gone"]})),
        )
        .await;
        if url.starts_with("http://hooks") {
            // Plain http to a name: https is asked for.
            let problem = refused.assert_problem(400, "invalid_field");
            assert_eq!(problem["field"], "url", "{problem}");
            continue;
        }
        let problem = refused.assert_problem(422, "fetch_refused");
        assert!(
            problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains("not a public address")),
            "{problem}"
        );
    }

    // What was subscribed while loopback was allowed fails with the reason,
    // at once, when the server sending it may not reach it.
    article(&app, &journalist, "story", &[]).await;
    publish(&app, &editor, "story").await;
    delivery::run_once(&strict_state).await.expect("round");
    let listed = list(&app, &admin).await;
    let last = &listed["subscriptions"][0]["last_delivery"];
    assert_eq!(last["state"], "failed", "{listed}");
    assert_eq!(last["attempts"], 1, "{listed}");
    assert!(
        last["error"]
            .as_str()
            .is_some_and(|e| e.contains("refused") && e.contains("not a public address")),
        "{listed}"
    );
    assert!(receiver.received().is_empty());
    // The next event still goes, from a server that may reach it.
    article(&app, &journalist, "next", &[]).await;
    publish(&app, &editor, "next").await;
    delivery::run_once(&app.state).await.expect("round");
    let received = receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0]["payload"]["data"]["article"]["slug"], "next");
}

async fn only_admins_manage_notifications(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let editor = app.token_of(Role::Editor).await;
    // Refused before the body is read: this one is not even JSON.
    let post = |token: Option<&str>| {
        let mut request = TestRequest::post()
            .uri("/v1/notifications")
            .insert_header(("Content-Type", "application/json"))
            .set_payload("{not json");
        if let Some(token) = token {
            request = request.insert_header(("Authorization", format!("Bearer {token}")));
        }
        request
    };
    app.call(post(None))
        .await
        .assert_problem(401, "unauthorized");
    app.call(post(Some(&editor)))
        .await
        .assert_problem(403, "forbidden");
    app.get("/v1/notifications")
        .await
        .assert_problem(401, "unauthorized");
    app.get_as("/v1/notifications", &editor)
        .await
        .assert_problem(403, "forbidden");
    let delete = |token: &str, id: &str| {
        TestRequest::delete()
            .uri(&format!("/v1/notifications/{id}"))
            .insert_header(("Authorization", format!("Bearer {token}")))
    };
    app.call(delete(&editor, "x"))
        .await
        .assert_problem(403, "forbidden");
    app.call(delete(&admin, "no-such"))
        .await
        .assert_problem(404, "not_found");

    // What a subscription must be.
    let url = "https://hooks.example/notify";
    for (body, field) in [
        (json!({"url": url, "events": []}), "events"),
        (json!({"url": url, "events": ["link.dead"]}), "events"),
        (
            json!({"url": url, "events": ["link.gone", "link.gone"]}),
            "events",
        ),
        (json!({"url": "not a url", "events": ["link.gone"]}), "url"),
        (
            json!({"url": "ftp://hooks.example/x", "events": ["link.gone"]}),
            "url",
        ),
    ] {
        let refused = app.post_as("/v1/notifications", &admin, body.clone()).await;
        let problem = refused.assert_problem(400, "invalid_field");
        assert_eq!(problem["field"], field, "{body}: {problem}");
    }
    let unknown = app
        .post_as(
            "/v1/notifications",
            &admin,
            json!({"url": url, "events": ["link.gone"], "secret": "mine"}),
        )
        .await;
    assert_eq!(
        unknown.assert_problem(400, "invalid_field")["field"],
        "secret"
    );

    // At most 100.
    for _ in 0..100 {
        subscribe(&app, &admin, url, &["link.gone"]).await;
    }
    let over = app
        .post_as(
            "/v1/notifications",
            &admin,
            json!({"url": url, "events": ["link.gone"]}),
        )
        .await;
    over.assert_problem(409, "conflict");
    let listed = list(&app, &admin).await;
    assert_eq!(listed["subscriptions"].as_array().map(Vec::len), Some(100));
    assert!(!listed.to_string().contains("whsec_"));
}

async fn a_slow_receiver_holds_up_no_other(backend: Backend) {
    let Some(python) = webhook_python() else {
        return;
    };
    let app = TestApp::spawn(backend).await;
    let _worker = delivery::spawn(app.state.clone()).expect("worker");
    let admin = app.admin_token().await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let (slow, quick) = (Receiver::start(&python), Receiver::start(&python));
    for (receiver, mode) in [(&slow, "slow"), (&quick, "up")] {
        let made = subscribe(&app, &admin, &receiver.url("/hook"), &["article.published"]).await;
        receiver.control(json!({"secret": made["secret"], "mode": mode}));
    }
    let started = Instant::now();
    for slug in ["s1", "s2"] {
        article(&app, &journalist, slug, &[]).await;
        publish(&app, &editor, slug).await;
    }
    quick.wait_for(2, Duration::from_secs(10)).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the quick receiver waited {:?}",
        started.elapsed()
    );
    assert!(slow.received().is_empty(), "the slow one answered already");
    // The slow one gets both in the end, in order.
    let received = slow.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(
        received
            .iter()
            .map(|m| m["payload"]["data"]["article"]["slug"]
                .as_str()
                .expect("slug"))
            .collect::<Vec<_>>(),
        ["s1", "s2"]
    );
}

/// Two servers over one database, both sending the same backlog at the same
/// time (as when the lease passes from one to the other mid-round): each
/// event reaches the receiver once, in order.
async fn two_servers_sending_at_once_send_each_event_once(backend: Backend) {
    let Some(python) = webhook_python() else {
        return;
    };
    let app = TestApp::spawn(backend).await;
    let (_other_app, other) = app.another_instance().await;
    let admin = app.admin_token().await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let receiver = Receiver::start(&python);
    let made = subscribe(&app, &admin, &receiver.url("/hook"), &["article.published"]).await;
    receiver.control(json!({"secret": made["secret"], "mode": "up"}));
    let slugs: Vec<String> = (0..8).map(|n| format!("story-{n}")).collect();
    for slug in &slugs {
        article(&app, &journalist, slug, &[]).await;
        publish(&app, &editor, slug).await;
    }
    for _ in 0..4 {
        let (a, b) =
            futures_util::future::join(delivery::run_once(&app.state), delivery::run_once(&other))
                .await;
        a.expect("one server's round");
        b.expect("the other's round");
    }
    let received = receiver
        .wait_for(slugs.len(), Duration::from_secs(20))
        .await;
    actix_web::rt::time::sleep(Duration::from_millis(300)).await;
    let received = if receiver.received().len() > received.len() {
        receiver.received()
    } else {
        received
    };
    let ids: Vec<&str> = received
        .iter()
        .map(|r| r["id"].as_str().expect("id"))
        .collect();
    let unique: std::collections::BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "an event sent twice: {ids:?}");
    let published: Vec<&str> = received
        .iter()
        .map(|r| {
            r["payload"]["data"]["article"]["slug"]
                .as_str()
                .expect("slug")
        })
        .collect();
    assert_eq!(published, slugs, "each once, in order");
}

/// A receiver that answers with a redirect has not received the event: the
/// redirect is not followed (a 307 would re-send the body elsewhere), the
/// delivery stays pending and is sent to the receiver's own URL once it
/// answers.
async fn a_redirect_is_not_a_delivery(backend: Backend) {
    let Some(python) = webhook_python() else {
        return;
    };
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let receiver = Receiver::start(&python);
    let made = subscribe(&app, &admin, &receiver.url("/hook"), &["article.published"]).await;
    receiver.control(json!({"secret": made["secret"], "mode": "redirect"}));
    article(&app, &journalist, "moved", &[]).await;
    publish(&app, &editor, "moved").await;
    delivery::run_once(&app.state).await.expect("round");
    let listed = list(&app, &admin).await;
    let last = &listed["subscriptions"][0]["last_delivery"];
    assert_eq!(last["state"], "pending", "{listed}");
    assert_eq!(last["http_status"], 307, "{listed}");
    assert!(receiver.received().is_empty(), "{:?}", receiver.received());
    receiver.control(json!({"mode": "up"}));
    let deadline = Instant::now() + Duration::from_secs(20);
    while receiver.received().is_empty() {
        assert!(Instant::now() < deadline, "never delivered");
        delivery::run_once(&app.state).await.expect("round");
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let received = receiver.received();
    assert_eq!(received.len(), 1, "{received:?}");
    assert_eq!(received[0]["path"], "/hook");
}
