//! Against a real Ghost 5 (tests/ghost/ghost.py installs and starts one on
//! loopback): the
//! platform registered, Ghost's webhooks pointed at a real sourceledger
//! server, a member added in Ghost arrives, its identity token (from Ghost's
//! own `/members/api/session`) exchanges for a subscriber token, the member's
//! list opens and `sourceledger verify` accepts it; the member edited and
//! deleted in Ghost is reflected; a post published in Ghost publishes its
//! article, and unpublishing retracts it.
//!
//! Runs when `SOURCELEDGER_TEST_GHOST_URL`, `SOURCELEDGER_TEST_GHOST_ADMIN_KEY`
//! (`id:hexsecret`, as `tests/ghost/ghost.py setup` prints it) and
//! `SOURCELEDGER_TEST_GHOST_DB` are set; prints SKIPPED otherwise, and fails
//! then when `SOURCELEDGER_TEST_REQUIRE_GHOST` is set (CI sets it).

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::durability::vkey;
use crate::helpers::Backend;
use crate::on_both_backends;
use crate::process::{BIN, ServerProcess, agent, key_token, request, token_for};

on_both_backends!(a_real_ghost_drives_its_members_and_posts);

pub(crate) struct Ghost {
    pub(crate) url: String,
    pub(crate) admin_key: String,
    db: String,
}

pub(crate) fn ghost() -> Option<Ghost> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let found = (|| {
        Some(Ghost {
            url: var("SOURCELEDGER_TEST_GHOST_URL")?
                .trim_end_matches('/')
                .to_owned(),
            admin_key: var("SOURCELEDGER_TEST_GHOST_ADMIN_KEY")?,
            db: var("SOURCELEDGER_TEST_GHOST_DB")?,
        })
    })();
    if found.is_none() {
        assert!(
            std::env::var_os("SOURCELEDGER_TEST_REQUIRE_GHOST").is_none(),
            "SOURCELEDGER_TEST_REQUIRE_GHOST is set but the Ghost variables are not"
        );
        eprintln!("SKIPPED: no real Ghost (SOURCELEDGER_TEST_GHOST_URL, _ADMIN_KEY, _DB)");
    }
    found
}

impl Ghost {
    /// An Admin API token: HS256 with the key's hex secret, `kid` the key id.
    fn admin_token(&self) -> String {
        let (kid, secret) = self.admin_key.split_once(':').expect("id:secret");
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(kid.to_owned());
        let now = chrono::Utc::now().timestamp();
        let claims = json!({"iat": now, "exp": now + 300, "aud": "/admin/"});
        let key = jsonwebtoken::EncodingKey::from_secret(&hex::decode(secret).expect("hex"));
        jsonwebtoken::encode(&header, &claims, &key).expect("admin token")
    }

    pub(crate) fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}/ghost/api/admin{path}", self.url);
        let auth = format!("Ghost {}", self.admin_token());
        let agent = agent();
        let mut response = match (method, body) {
            ("GET", _) => agent.get(&url).header("Authorization", &auth).call(),
            ("DELETE", _) => agent.delete(&url).header("Authorization", &auth).call(),
            ("PUT", Some(body)) => agent
                .put(&url)
                .header("Authorization", &auth)
                .send_json(body),
            (_, Some(body)) => agent
                .post(&url)
                .header("Authorization", &auth)
                .send_json(body),
            (_, None) => agent.post(&url).header("Authorization", &auth).send_empty(),
        }
        .expect("ghost admin api");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A sign-in link for the member, as Ghost would email it: asked for the
    /// way Ghost's Portal asks, read from Ghost's own database (no mail is sent).
    fn magic_link(&self, email: &str) -> String {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct Token {
            #[diesel(sql_type = diesel::sql_types::Text)]
            token: String,
            #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
            data: Option<String>,
        }
        let agent = agent();
        let asked = agent
            .post(&format!("{}/members/api/send-magic-link/", self.url))
            .header("Referer", &format!("{}/", self.url))
            .send_json(json!({"email": email, "emailType": "signin", "autoRedirect": false}))
            .expect("send-magic-link");
        assert!(asked.status().is_success(), "{}", asked.status());
        let mut conn = diesel::SqliteConnection::establish(&format!("file:{}?mode=ro", self.db))
            .expect("Ghost's database");
        // Ghost writes its database as we read it (without WAL): wait for its
        // lock instead of failing with "database is locked".
        diesel::connection::SimpleConnection::batch_execute(
            &mut conn,
            "PRAGMA busy_timeout = 10000;",
        )
        .expect("busy timeout");
        let tokens: Vec<Token> = diesel::sql_query(
            "SELECT token, data FROM tokens ORDER BY created_at DESC, id DESC LIMIT 50",
        )
        .load(&mut conn)
        .expect("tokens");
        let token = tokens
            .into_iter()
            .find(|t| {
                t.data
                    .as_deref()
                    .and_then(|d| serde_json::from_str::<Value>(d).ok())
                    .is_some_and(|d| d["email"] == email)
            })
            .expect("a sign-in token for the member");
        format!("{}/members/?token={}&action=signin", self.url, token.token)
    }

    /// The project's own Ghost harness (tests/ghost/ghost.py), `command`.
    pub(crate) fn harness(&self, command: &str) -> Command {
        let mut run = Command::new("python3");
        run.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ghost/ghost.py"))
            .arg(command);
        run
    }
}

/// Ghost's webhooks for one test, deleted when it ends however it ends.
pub(crate) struct Webhooks<'a> {
    pub(crate) ghost: &'a Ghost,
    pub(crate) ids: Vec<String>,
}

impl Drop for Webhooks<'_> {
    fn drop(&mut self) {
        for id in &self.ids {
            let _ = self
                .ghost
                .admin("DELETE", &format!("/webhooks/{id}/"), None);
        }
    }
}

/// Registers `ghost` as a platform of the server at `base` (with `admin`'s
/// token) and points Ghost's webhooks for `events` at it: the webhooks,
/// deleted when the value goes.
pub(crate) fn connect<'a>(
    ghost: &'a Ghost,
    base: &str,
    admin: &str,
    unique: &str,
    events: &str,
) -> Webhooks<'a> {
    let secret = format!("ghost-secret-{unique}");
    let body =
        json!({"kind": "ghost", "name": "Ghost", "site": ghost.url, "webhook_secret": secret});
    let platform = request(
        &agent(),
        "POST",
        &format!("{base}/v1/platforms"),
        Some(admin),
        Some(&body),
    )
    .expect("register the platform");
    assert_eq!(platform.status, 201, "{}", platform.text);
    let webhook_url = platform.body["webhook_url"]
        .as_str()
        .expect("webhook_url")
        .to_owned();
    let registered = ghost
        .harness("webhooks")
        .args([&ghost.url, &ghost.admin_key, &webhook_url, &secret])
        .args(["--events", events])
        .output()
        .expect("ghost.py webhooks");
    let listing = String::from_utf8_lossy(&registered.stdout).into_owned();
    let webhooks = Webhooks {
        ghost,
        ids: listing
            .lines()
            .filter_map(|l| l.strip_prefix("WEBHOOK "))
            .filter_map(|l| l.split(' ').nth(1).map(str::to_owned))
            .collect(),
    };
    assert!(
        registered.status.success(),
        "{listing}{}",
        String::from_utf8_lossy(&registered.stderr)
    );
    webhooks
}

/// Waits up to 10 s for `check`, and says how long it took.
pub(crate) fn within_10s(what: &str, mut check: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !check() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{what}: not within 10 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let took = started.elapsed();
    eprintln!("{what}: {} ms", took.as_millis());
    took
}

async fn a_real_ghost_drives_its_members_and_posts(backend: Backend) {
    let Some(ghost) = ghost() else { return };
    let dir = tempfile::tempdir().expect("tempdir");
    let database_url = match &backend {
        Backend::Sqlite => None,
        Backend::Postgres(db) => Some(db.url.clone()),
    };
    // Ghost's pages embed the panel: its origin may call.
    let server = ServerProcess::start_with(
        dir.path(),
        database_url.as_deref(),
        None,
        &[("SOURCELEDGER_EMBED_ORIGINS", ghost.url.as_str())],
    );
    let base = server.url();
    let http = agent();
    let admin = token_for(&http, &base, &server.bootstrap_key());
    let journalist = key_token(&http, &base, &admin, "journalist");
    let call = |method: &str, path: &str, token: Option<&str>, body: Option<Value>| {
        request(
            &http,
            method,
            &format!("{base}{path}"),
            token,
            body.as_ref(),
        )
        .expect("call")
    };
    let unique = format!(
        "{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_micros()
    );

    // One admin call registers Ghost; one webhook per event points Ghost at us.
    let _webhooks = connect(
        &ghost,
        &base,
        &admin,
        &unique,
        "member.added,member.edited,member.deleted,post.published,post.unpublished",
    );

    // A member added in Ghost arrives.
    let email = format!("reader-{unique}@example.org");
    let (status, added) = ghost.admin(
        "POST",
        "/members/",
        Some(json!({"members": [{"email": email, "name": "Reader"}]})),
    );
    assert_eq!(status, 201, "{added}");
    let member_id = added["members"][0]["id"]
        .as_str()
        .expect("member id")
        .to_owned();
    let db =
        sourceledger::db::Db::connect(&server_database(dir.path(), database_url.as_deref()), 1)
            .expect("the server's database");
    let row = |id: &str| subscriber(&db, id);
    within_10s("member.added reflected", || row(&member_id).is_some());
    assert_eq!(
        row(&member_id).expect("row").1.as_deref(),
        Some(email.as_str())
    );

    // The member's Ghost session token exchanges for a subscriber token.
    let identity = ghost
        .harness("member-token")
        .args([&ghost.url, &email, "--db", &ghost.db])
        .output()
        .expect("ghost.py member-token");
    assert!(
        identity.status.success(),
        "{}",
        String::from_utf8_lossy(&identity.stderr)
    );
    let identity = String::from_utf8_lossy(&identity.stdout).trim().to_owned();
    let exchanged = call(
        "POST",
        "/v1/auth/exchange",
        None,
        Some(json!({"identity_token": identity})),
    );
    assert_eq!(exchanged.status, 200, "{}", exchanged.text);
    let reader = exchanged.body["access_token"]
        .as_str()
        .expect("token")
        .to_owned();

    // A post published in Ghost publishes its article; the member's list opens
    // and verifies with the publisher's key alone.
    let slug = format!("story-{unique}");
    let article = json!({"slug": slug, "title": "Story", "url": format!("{}/{slug}/", ghost.url), "language": "en", "authors": ["A"]});
    assert_eq!(
        call("POST", "/v1/articles", Some(&journalist), Some(article)).status,
        201
    );
    let source = call(
        "POST",
        "/v1/sources",
        Some(&journalist),
        Some(
            json!({"url": "https://stats.example/report", "title": "Report", "publisher": "Stats", "kind": "dataset", "language": "en"}),
        ),
    );
    let citation =
        json!({"source_id": source.body["id"], "claim": "It rose.", "locator": "paragraph 1"});
    assert_eq!(
        call(
            "POST",
            &format!("/v1/articles/{slug}/citations"),
            Some(&journalist),
            Some(citation)
        )
        .status,
        201
    );
    // The newsroom's template carries the embed snippet (here the post's own
    // footer code injection), reading the member's Ghost session.
    let snippet = format!(
        r#"<div data-sourceledger="{slug}" data-vkey="{}" data-identity="ghost"></div><script src="{base}/embed.js" async></script>"#,
        vkey(&server)
    );
    let (status, post) = ghost.admin(
        "POST",
        "/posts/",
        Some(
            json!({"posts": [{"title": "Story", "slug": slug, "status": "published", "codeinjection_foot": snippet}]}),
        ),
    );
    assert_eq!(status, 201, "{post}");
    let article_status = || {
        call(
            "GET",
            &format!("/v1/articles/{slug}"),
            Some(&journalist),
            None,
        )
        .body["status"]
            .clone()
    };
    within_10s("post.published reflected", || {
        article_status() == "published"
    });
    let list = call(
        "GET",
        &format!("/v1/articles/{slug}/sources"),
        Some(&reader),
        None,
    );
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(
        list.body["citations"].as_array().map(Vec::len),
        Some(1),
        "{}",
        list.text
    );
    let verified = Command::new(BIN)
        .args([
            "verify",
            "--vkey",
            &vkey(&server),
            "--url",
            &base,
            "--token",
            &reader,
            "--article",
            &slug,
        ])
        .output()
        .expect("verify");
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );

    // In a real browser on Ghost's own post page: the member signed in through
    // Ghost's magic link sees the verified list; a reader who is not signed
    // in sees the teaser.
    if crate::panel::browser_tools() {
        let sign_in = ghost.magic_link(&email);
        let post_page = format!("{}/{slug}/", ghost.url);
        let name = backend.name();
        let results = crate::panel::browse(
            json!([
                {"name": format!("ghost-member-{name}"), "url": post_page, "kind": "panel", "before": [sign_in]},
                {"name": format!("ghost-anonymous-{name}"), "url": post_page, "kind": "panel"},
            ]),
            false,
        );
        assert_eq!(results[0]["state"], "verified", "{}", results[0]);
        assert!(
            results[0]["hrefs"]
                .as_array()
                .expect("hrefs")
                .iter()
                .any(|h| h == "https://stats.example/report"),
            "{}",
            results[0]
        );
        assert_eq!(results[1]["state"], "teaser", "{}", results[1]);
        assert_eq!(results[1]["hrefs"], json!([]), "{}", results[1]);
    }

    // Edited in Ghost (a new email): reflected.
    let new_email = format!("moved-{unique}@example.org");
    let (status, edited) = ghost.admin(
        "PUT",
        &format!("/members/{member_id}/"),
        Some(json!({"members": [{"email": new_email}]})),
    );
    assert_eq!(status, 200, "{edited}");
    within_10s("member.edited reflected", || {
        row(&member_id).and_then(|r| r.1).as_deref() == Some(new_email.as_str())
    });

    // Deleted in Ghost: gone, its tokens refused at once, no exchange any more.
    let (status, _) = ghost.admin("DELETE", &format!("/members/{member_id}/"), None);
    assert_eq!(status, 204);
    within_10s("member.deleted reflected", || row(&member_id).is_none());
    assert_eq!(call("GET", "/v1/articles", Some(&reader), None).status, 401);
    let again = call(
        "POST",
        "/v1/auth/exchange",
        None,
        Some(json!({"identity_token": identity})),
    );
    assert_eq!(again.status, 403, "{}", again.text);

    // Unpublished in Ghost: the article is retracted.
    let post = &post["posts"][0];
    let (status, _) = ghost.admin(
        "PUT",
        &format!("/posts/{}/", post["id"].as_str().expect("post id")),
        Some(json!({"posts": [{"status": "draft", "updated_at": post["updated_at"]}]})),
    );
    assert_eq!(status, 200);
    within_10s("post.unpublished reflected", || {
        article_status() == "retracted"
    });
    let (status, _) = ghost.admin(
        "DELETE",
        &format!("/posts/{}/", post["id"].as_str().expect("id")),
        None,
    );
    assert_eq!(status, 204);
}

fn server_database(
    data_dir: &std::path::Path,
    url: Option<&str>,
) -> sourceledger::config::DatabaseUrl {
    use sourceledger::config::DatabaseUrl;
    match url {
        Some(url) => DatabaseUrl::Postgres(url.to_owned()),
        None => DatabaseUrl::Sqlite(data_dir.join("sourceledger.db")),
    }
}

/// (tier, email) of the subscriber with this external id.
fn subscriber(db: &sourceledger::db::Db, external_id: &str) -> Option<(String, Option<String>)> {
    use diesel::prelude::*;
    use sourceledger::db::schema::subscribers;
    let mut conn = db.get().expect("conn");
    subscribers::table
        .filter(subscribers::external_id.eq(external_id))
        .select((subscribers::tier, subscribers::email))
        .first(&mut conn)
        .optional()
        .expect("query")
}
