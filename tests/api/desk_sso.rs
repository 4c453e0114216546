//! The desk's single sign-on against a real OpenID provider: the certified
//! `oidc-provider` from npm, run by `tests/oidc/provider.mjs` on loopback,
//! and the real binary (`ServerProcess`), driven over HTTP by a browser of
//! the test's own that keeps cookies and follows redirects by hand.
//!
//! Runs when `SOURCELEDGER_TEST_OIDC_TOOLS` names a folder with
//! oidc-provider in `node_modules` (`.ci/run` installs it); prints SKIPPED
//! otherwise, and fails then when `SOURCELEDGER_TEST_REQUIRE_OIDC` is set.
//!
//! The provider binds each code to the client it was issued to, so a code of
//! its other client delivered to the desk's callback is refused at the
//! exchange, before any ID token: that is what a real provider makes of a
//! foreign audience. The ID token's own checks (`aud`, `azp`, `iss`, `exp`,
//! signature) are also tested on tokens signed by hand, in
//! `src/auth/jwks.rs` and `src/auth/oidc.rs`.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;
use crate::process::{ServerProcess, free_port, request, token_for};

mod browser;

use browser::{Browser, Page, hidden, param, with_param};

on_both_backends!(
    staff_sign_in_through_the_provider_with_its_roles,
    a_wrong_state_a_provider_error_or_a_replayed_code_is_refused,
    a_foreign_nonce_or_another_clients_code_is_refused,
    a_user_without_a_staff_role_is_refused,
    single_sign_on_shows_only_when_configured
);

const CLIENT_SECRET: &str = "desk-secret-of-the-test-provider";

fn tools() -> Option<PathBuf> {
    let found = std::env::var_os("SOURCELEDGER_TEST_OIDC_TOOLS").map(PathBuf::from);
    if found.is_none() {
        assert!(
            std::env::var_os("SOURCELEDGER_TEST_REQUIRE_OIDC").is_none(),
            "SOURCELEDGER_TEST_REQUIRE_OIDC is set but SOURCELEDGER_TEST_OIDC_TOOLS is not"
        );
        eprintln!("SKIPPED: no OpenID provider (set SOURCELEDGER_TEST_OIDC_TOOLS)");
    }
    found
}

/// The provider and the desk's server configured to use it.
struct Sso {
    server: ServerProcess,
    provider: Child,
    /// Held open: a provider whose stdout closed would die writing to it.
    _provider_out: BufReader<std::process::ChildStdout>,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Sso {
    fn drop(&mut self) {
        let _ = self.provider.kill();
        let _ = self.provider.wait();
    }
}

impl Sso {
    fn start(backend: &Backend) -> Option<Self> {
        let tools = tools()?;
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let issuer = format!("http://127.0.0.1:{port}");
        let log = dir.path().join("server.log");
        // The server reads the provider's discovery document at the first
        // sign-in, not at start: it may start first, so the provider can be
        // told the server's callback.
        let server = ServerProcess::start_with(
            &dir.path().join("data"),
            backend.database_url(),
            Some(&log),
            &[
                ("SOURCELEDGER_STAFF_OIDC_ISSUER", &issuer),
                ("SOURCELEDGER_STAFF_OIDC_CLIENT_ID", "desk"),
                ("SOURCELEDGER_STAFF_OIDC_CLIENT_SECRET", CLIENT_SECRET),
                // Entries in the open, so the test reads who made them.
                ("SOURCELEDGER_EMBARGO", "off"),
            ],
        );
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/oidc/provider.mjs");
        let mut provider = Command::new("node")
            .arg(script)
            .arg(port.to_string())
            .arg(format!("{}/desk/sso/callback", server.url()))
            .env("SOURCELEDGER_TEST_OIDC_TOOLS", tools)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.path().join("provider.log")).expect("log"))
            .spawn()
            .expect("start the provider");
        let mut stdout = BufReader::new(provider.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .expect("the provider's first line");
        assert_eq!(line.trim(), "READY", "the provider did not start");
        Some(Self {
            server,
            provider,
            _provider_out: stdout,
            log,
            _dir: dir,
        })
    }

    fn callback(&self) -> String {
        format!("{}/desk/sso/callback", self.server.url())
    }
}

/// Asserts `page` is a desk refusal with `status` saying `words`, and that
/// the browser holds no session.
fn refused(browser: &mut Browser, sso: &Sso, page: &Page, status: u16, words: &str) {
    assert_eq!(page.status, status, "{}", page.text);
    assert!(page.text.contains(words), "{words:?} not in {}", page.text);
    assert!(page.text.contains("role=\"alert\""));
    assert!(browser.desk_cookie(sso).is_none(), "no session");
    let desk = browser.get(&format!("{}/desk", sso.server.url()));
    assert_eq!(desk.status, 303, "still signed out");
}

async fn staff_sign_in_through_the_provider_with_its_roles(backend: Backend) {
    let Some(sso) = Sso::start(&backend) else {
        return;
    };
    let base = sso.server.url();

    // Jo, a journalist, signs in and makes an article with a cited source.
    let mut jo = Browser::new();
    let authorize = jo.start(&sso);
    for (name, value) in [
        ("response_type", "code"),
        ("scope", "openid profile email"),
        ("client_id", "desk"),
        ("code_challenge_method", "S256"),
    ] {
        assert_eq!(param(&authorize, name), value);
    }
    assert_eq!(param(&authorize, "redirect_uri"), sso.callback());
    let callback = jo.through_provider(&sso, &authorize, "jo");
    let code = param(&callback, "code");
    let landed = jo.get(&callback);
    assert_eq!(landed.status, 303, "{}", landed.text);
    assert_eq!(landed.location.as_deref(), Some(&*format!("{base}/desk")));
    assert!(jo.cookie(&base, "sourceledger-sso").is_none(), "one try");
    let home = jo.get(&format!("{base}/desk"));
    assert_eq!(home.status, 200);
    assert!(
        home.text.contains("Jo Journalist (journalist)"),
        "{}",
        home.text
    );
    let csrf = hidden(&home.text, "csrf");
    let made = jo.post(
        &format!("{base}/desk/articles"),
        &[
            ("csrf", &csrf),
            ("slug", "flood"),
            ("title", "The flood"),
            ("url", "https://news.example/flood"),
            ("language", "en"),
            ("authors", "Jo"),
        ],
    );
    assert_eq!(made.status, 303, "{}", made.text);
    let recorded = jo.post(
        &format!("{base}/desk/articles/flood/sources"),
        &[
            ("csrf", &csrf),
            ("url", "https://source.example/flood"),
            ("title", "Report"),
            ("publisher", "Agency"),
            ("kind", "official_statement"),
            ("language", "en"),
        ],
    );
    let offered = jo.get(&recorded.location.expect("offered"));
    let source_id = hidden(&offered.text, "source_id");
    let cited = jo.post(
        &format!("{base}/desk/articles/flood/citations"),
        &[
            ("csrf", &csrf),
            ("source_id", &source_id),
            ("claim", "The river rose."),
            ("quote", "It rose."),
            ("locator", "p1"),
        ],
    );
    assert_eq!(cited.status, 303, "{}", cited.text);
    let article = jo.get(&format!("{base}/desk/articles/flood"));
    assert!(article.text.contains(">Record source</button>"));
    assert!(
        !article.text.contains(">Verify</button>"),
        "a journalist does not verify"
    );
    assert!(!article.text.contains(">Publish</button>"), "nor publish");
    let publish = jo.post(
        &format!("{base}/desk/articles/flood/publish"),
        &[("csrf", &csrf)],
    );
    assert_eq!(publish.status, 403, "{}", publish.text);

    // A key that only shares Jo's name is not Jo: its citation is not Jo's
    // to retract ("their own" is by key or sign-on subject, not by name).
    let agent = crate::process::agent();
    let admin = token_for(&agent, &base, &sso.server.bootstrap_key());
    let namesake = request(
        &agent,
        "POST",
        &format!("{base}/v1/keys"),
        Some(&admin),
        Some(&serde_json::json!({"role": "journalist", "name": "Jo Journalist"})),
    )
    .expect("key");
    assert_eq!(namesake.status, 201, "{}", namesake.text);
    let namesake = token_for(&agent, &base, namesake.body["key"].as_str().expect("key"));
    let theirs = request(
        &agent,
        "POST",
        &format!("{base}/v1/articles/flood/citations"),
        Some(&namesake),
        Some(&serde_json::json!({"source_id": source_id, "claim": "Not Jo's.", "locator": "p9"})),
    )
    .expect("cite");
    assert_eq!(theirs.status, 201, "{}", theirs.text);
    let theirs = theirs.body["citations"][0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let article = jo.get(&format!("{base}/desk/articles/flood"));
    assert!(
        !article
            .text
            .contains("aria-label=\"Retract: Not Jo&#39;s.\"")
            && !article.text.contains("aria-label=\"Retract: Not Jo's.\""),
        "{}",
        article.text
    );
    assert!(
        article
            .text
            .contains("aria-label=\"Retract: The river rose.\"")
    );
    let retract = jo.post(
        &format!("{base}/desk/citations/{theirs}/retract"),
        &[("csrf", &csrf), ("reason", "mine, I thought")],
    );
    assert_eq!(retract.status, 403, "{}", retract.text);

    // Ed, an editor, signs in and may verify and publish.
    let mut ed = Browser::new();
    assert_eq!(ed.sign_in(&sso, "ed").status, 303);
    let article = ed.get(&format!("{base}/desk/articles/flood"));
    assert!(article.text.contains("Ed Editor (editor)"));
    assert!(
        article.text.contains(">Verify</button>"),
        "{}",
        article.text
    );
    let csrf = hidden(&article.text, "csrf");
    let published = ed.post(
        &format!("{base}/desk/articles/flood/publish"),
        &[("csrf", &csrf)],
    );
    assert_eq!(published.status, 303, "{}", published.text);

    // The ledger says who did what, as for a key: role and name.
    for (actor, kind) in [
        ("journalist:Jo%20Journalist", "citation"),
        ("editor:Ed%20Editor", "article"),
    ] {
        let events = request(
            &agent,
            "GET",
            &format!("{base}/v1/audit/events?actor={actor}"),
            Some(&admin),
            None,
        )
        .expect("audit");
        assert_eq!(events.status, 200, "{}", events.text);
        let found = events.body["events"].as_array().expect("events");
        assert!(
            found
                .iter()
                .any(|e| e["kind"].as_str().is_some_and(|k| k.starts_with(kind))),
            "{actor}: {}",
            events.text
        );
    }

    // Signing out ends Jo's session.
    let out = jo.post(
        &format!("{base}/desk/logout"),
        &[("csrf", &hidden(&home.text, "csrf"))],
    );
    assert_eq!(out.status, 303);
    assert_eq!(jo.get(&format!("{base}/desk")).status, 303);

    // Nothing secret in the server's log.
    let log = std::fs::read_to_string(&sso.log).expect("log");
    assert!(log.contains("desk sign-in through single sign-on"), "{log}");
    for secret in [CLIENT_SECRET, &code] {
        assert!(!log.contains(secret), "the log holds a secret: {log}");
    }
}

async fn a_wrong_state_a_provider_error_or_a_replayed_code_is_refused(backend: Backend) {
    let Some(sso) = Sso::start(&backend) else {
        return;
    };
    let base = sso.server.url();

    // A state that is not this browser's.
    let mut browser = Browser::new();
    let authorize = browser.start(&sso);
    let callback = browser.through_provider(&sso, &authorize, "jo");
    let wrong = browser.get(&with_param(&callback, "state", "not-the-state"));
    refused(&mut browser, &sso, &wrong, 400, "state does not match");
    // No state at all, in a browser that began nothing.
    let mut stranger = Browser::new();
    let none = stranger.get(&callback);
    refused(&mut stranger, &sso, &none, 400, "no sign-in under way");

    // The provider's own refusal: a silent sign-in (prompt=none) of a
    // browser nobody is signed in to at the provider.
    let mut browser = Browser::new();
    let authorize = with_param(&browser.start(&sso), "prompt", "none");
    let callback = browser.through_provider(&sso, &authorize, "jo");
    assert_eq!(param(&callback, "error"), "login_required");
    let answer = browser.get(&callback);
    refused(
        &mut browser,
        &sso,
        &answer,
        401,
        "did not sign you in (login_required)",
    );

    // A code used once is refused the second time, even with the sign-in's
    // own cookie put back.
    let mut browser = Browser::new();
    let authorize = browser.start(&sso);
    let flow = browser
        .cookie(&base, "sourceledger-sso")
        .expect("flow cookie");
    let callback = browser.through_provider(&sso, &authorize, "jo");
    assert_eq!(browser.get(&callback).status, 303);
    let mut replayer = Browser::new();
    let gone = replayer.get(&callback);
    refused(&mut replayer, &sso, &gone, 400, "no sign-in under way");
    replayer.set_cookie(&base, "sourceledger-sso", &flow);
    let replayed = replayer.get(&callback);
    refused(
        &mut replayer,
        &sso,
        &replayed,
        401,
        "refused this sign-in's code",
    );
}

async fn a_foreign_nonce_or_another_clients_code_is_refused(backend: Backend) {
    let Some(sso) = Sso::start(&backend) else {
        return;
    };

    // The browser's own sign-in, but the provider asked for another nonce:
    // the code exchanges (state and verifier are right), the ID token is
    // refused.
    let mut browser = Browser::new();
    let authorize = with_param(&browser.start(&sso), "nonce", "someone-elses-nonce");
    let callback = browser.through_provider(&sso, &authorize, "jo");
    let answer = browser.get(&callback);
    refused(&mut browser, &sso, &answer, 401, "nonce does not match");

    // Two sign-ins, their answers swapped: each is another browser's.
    let (mut a, mut b) = (Browser::new(), Browser::new());
    let (for_a, for_b) = (a.start(&sso), b.start(&sso));
    let back_a = a.through_provider(&sso, &for_a, "jo");
    let back_b = b.through_provider(&sso, &for_b, "ed");
    let swapped = a.get(&back_b);
    refused(&mut a, &sso, &swapped, 400, "state does not match");
    let swapped = b.get(&back_a);
    refused(&mut b, &sso, &swapped, 400, "state does not match");

    // A code the provider issued to its other client, for this browser's
    // sign-in (its state, challenge and nonce): refused.
    let mut browser = Browser::new();
    let authorize = with_param(&browser.start(&sso), "client_id", "other");
    let callback = browser.through_provider(&sso, &authorize, "jo");
    let answer = browser.get(&callback);
    refused(
        &mut browser,
        &sso,
        &answer,
        401,
        "refused this sign-in's code",
    );
}

async fn a_user_without_a_staff_role_is_refused(backend: Backend) {
    let Some(sso) = Sso::start(&backend) else {
        return;
    };
    for user in ["nora", "will"] {
        let mut browser = Browser::new();
        let answer = browser.sign_in(&sso, user);
        refused(&mut browser, &sso, &answer, 403, "no role on the desk");
        assert!(answer.text.contains("sourceledger_role"), "{}", answer.text);
    }
}

async fn single_sign_on_shows_only_when_configured(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let login = app.get("/desk/login").await;
    assert_eq!(login.status, 200);
    assert!(!login.text().contains("Sign in with SSO"));
    let start = app.get("/desk/sso/start?csrf=x").await;
    assert_eq!(start.status, 404);
    assert!(start.text().contains("no single sign-on"));
    let callback = app.get("/desk/sso/callback?code=x&state=y").await;
    assert_eq!(callback.status, 404);

    // Half a configuration does not start, and says what is missing.
    let dir = tempfile::tempdir().expect("tempdir");
    let output = Command::new(crate::process::BIN)
        .arg("serve")
        .env("SOURCELEDGER_DATA_DIR", dir.path())
        .env("SOURCELEDGER_BIND", "127.0.0.1:0")
        .env("SOURCELEDGER_STAFF_OIDC_ISSUER", "https://id.news.example")
        .env(
            "SOURCELEDGER_STAFF_OIDC_CLIENT_SECRET",
            "s3cret-not-to-print",
        )
        .output()
        .expect("run");
    assert!(!output.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(said.contains("SOURCELEDGER_STAFF_OIDC_CLIENT_ID"), "{said}");
    assert!(!said.contains("s3cret"), "{said}");
    assert!(!said.contains("panicked"), "{said}");
}
