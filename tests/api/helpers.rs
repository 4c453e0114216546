use std::path::{Path, PathBuf};

use actix_http::Request;
use actix_service::boxed::{self, RcService};
use actix_service::{Service, ServiceExt};
use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::{test, web};
use diesel::prelude::*;
use serde_json::Value;
use sourceledger::config::{DatabaseUrl, Settings};
use sourceledger::startup::AppState;

pub const POSTGRES_URL_VAR: &str = "SOURCELEDGER_TEST_POSTGRES_URL";

/// Runs each named `async fn name(backend: Backend)` as two tests,
/// `name::sqlite` and `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[actix_web::test]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::sqlite()).await
            }
            #[actix_web::test]
            async fn postgres() {
                if let Some(backend) = $crate::helpers::Backend::postgres() {
                    super::$name(backend).await
                }
            }
        }
    )*};
}

/// A fresh database on one backend, dropped with the value.
pub enum Backend {
    Sqlite,
    Postgres(PostgresDb),
}

impl Backend {
    pub fn sqlite() -> Self {
        Backend::Sqlite
    }

    /// A new, empty PostgreSQL database, or `None` (saying so) when the tests have
    /// no server to use.
    pub fn postgres() -> Option<Self> {
        match std::env::var(POSTGRES_URL_VAR) {
            Ok(url) if !url.is_empty() => Some(Backend::Postgres(PostgresDb::create(&url))),
            _ => {
                assert!(
                    std::env::var_os("SOURCELEDGER_TEST_REQUIRE_POSTGRES").is_none(),
                    "SOURCELEDGER_TEST_REQUIRE_POSTGRES is set but {POSTGRES_URL_VAR} is not"
                );
                eprintln!("SKIPPED: PostgreSQL test, {POSTGRES_URL_VAR} is not set");
                None
            }
        }
    }

    /// The database URL a server process is given: none for SQLite (its
    /// data dir's own file).
    pub fn database_url(&self) -> Option<&str> {
        match self {
            Backend::Sqlite => None,
            Backend::Postgres(db) => Some(&db.url),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }
}

/// A database of its own for one test, on the server named by the test URL.
pub struct PostgresDb {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl PostgresDb {
    fn create(admin_url: &str) -> Self {
        let name = format!("sl_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(admin_url).expect("connect to the test PostgreSQL");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create test database");
        let base = match admin_url.rfind('/') {
            Some(i) if admin_url[..i].ends_with(|c: char| c != '/') => &admin_url[..i],
            _ => admin_url,
        };
        let url = format!("{base}/{name}");
        PostgresDb {
            admin_url: admin_url.to_owned(),
            name,
            url,
        }
    }
}

impl Drop for PostgresDb {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

pub type App = RcService<Request, ServiceResponse<BoxBody>, actix_web::Error>;

/// One running application over a fresh data dir and database.
pub struct TestApp {
    pub app: App,
    pub state: web::Data<AppState>,
    pub data_dir: PathBuf,
    // Dropped last: the database and the files outlive the app that uses them.
    _backend: Backend,
    _dir: tempfile::TempDir,
}

pub fn settings_for(backend: &Backend, data_dir: &Path) -> Settings {
    let database = match backend {
        Backend::Sqlite => DatabaseUrl::Sqlite(data_dir.join("sourceledger.db")),
        Backend::Postgres(db) => DatabaseUrl::Postgres(db.url.clone()),
    };
    Settings {
        data_dir: data_dir.to_owned(),
        database,
        bind: "127.0.0.1:0".into(),
        origin: "test.sourceledger.example/ledger".into(),
        db_pool_size: 8,
        // The tests' JWKS servers and webhook senders are on loopback.
        fetch_allow: vec!["127.0.0.0/8".parse().expect("cidr")],
        public_url: "http://127.0.0.1:0".into(),
        // Tests call far faster than readers; tests/api/rate_limits.rs turns them on.
        rate_limit_anon: 0,
        rate_limit_token: 0,
        trusted_proxies: Vec::new(),
        cta_text: sourceledger::config::DEFAULT_CTA_TEXT.into(),
        cta_url: None,
        embed_origins: Vec::new(),
        replay_origin: None,
        fetch_ports: sourceledger::outbound::DEFAULT_PORTS.to_vec(),
        archive: sourceledger::config::ArchiveSettings::default(),
        // The tests of what the embargo changes turn it on; elsewhere the
        // log's entries are read in the open.
        embargo: false,
        witnessing: sourceledger::config::WitnessSettings::none_for(
            "test.sourceledger.example/ledger",
        ),
        staff_oidc: None,
        // Tests wait milliseconds, not seconds, for a notification's next try.
        notify_retry_delay: std::time::Duration::from_millis(50),
    }
}

pub async fn start(settings: Settings) -> (App, web::Data<AppState>) {
    let state = web::Data::new(
        web::block(move || AppState::prepare(settings))
            .await
            .expect("blocking")
            .expect("prepare the app"),
    );
    let service = test::init_service(sourceledger::api::app(state.clone())).await;
    let app = boxed::rc_service(service.map(|res: ServiceResponse<_>| res.map_into_boxed_body()));
    (app, state)
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Like [`spawn`](Self::spawn), with the settings changed first.
    pub async fn spawn_with(backend: Backend, change: impl FnOnce(&mut Settings)) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let data_dir = dir.path().join("data");
        let mut settings = settings_for(&backend, &data_dir);
        change(&mut settings);
        let (app, state) = start(settings).await;
        TestApp {
            app,
            state,
            data_dir,
            _backend: backend,
            _dir: dir,
        }
    }

    /// A second application over the same data dir and database, as a second
    /// server process would be.
    pub async fn another_instance(&self) -> (App, web::Data<AppState>) {
        start(self.state.settings.clone()).await
    }

    pub async fn call(&self, req: test::TestRequest) -> Reply {
        call(&self.app, req).await
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.call(test::TestRequest::get().uri(uri)).await
    }

    pub fn bootstrap_key(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("bootstrap-admin.key"))
            .expect("bootstrap key file")
            .trim()
            .to_owned()
    }
}

pub async fn call(app: &App, req: test::TestRequest) -> Reply {
    let response = match app.call(req.to_request()).await {
        Ok(response) => response.into_parts().1,
        Err(error) => error.error_response(),
    };
    let status = response.status();
    let headers = response.headers().clone();
    let body = actix_web::body::to_bytes(response.into_body())
        .await
        .unwrap_or_default();
    Reply {
        status,
        headers,
        body: body.to_vec(),
    }
}

/// What came back: status, headers and the whole body.
pub struct Reply {
    pub status: StatusCode,
    pub headers: actix_web::http::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json response with this status and code; returns the body.
    #[track_caller]
    pub fn assert_problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text());
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        let body = self.json();
        assert_eq!(body["status"], status);
        assert_eq!(body["code"], code, "body: {body}");
        assert_eq!(body["type"], format!("urn:sourceledger:problem:{code}"));
        assert!(
            body["title"].is_string() && body["detail"].is_string(),
            "{body}"
        );
        body
    }
}

/// Appends `count` test entries in one transaction; returns what was written.
pub fn append_entries(
    state: &AppState,
    count: usize,
    tag: &str,
) -> Vec<sourceledger::ledger::Appended> {
    let mut conn = state.db.get().expect("conn");
    sourceledger::ledger::write_transaction::<_, sourceledger::ledger::LedgerError, _>(
        &mut conn,
        state.db.write_count(),
        |conn, seq| {
            (0..count)
                .map(|i| {
                    let record = serde_json::json!({"test": tag, "n": i});
                    seq.append(conn, "test.entry", "test:helper", &record)
                })
                .collect()
        },
    )
    .expect("append")
}

impl TestApp {
    /// A bearer token for the bootstrap admin key.
    pub async fn admin_token(&self) -> String {
        let key = self.bootstrap_key();
        self.token_for(&key).await
    }

    /// Exchanges an API key for a bearer token.
    pub async fn token_for(&self, api_key: &str) -> String {
        let reply = self
            .call(
                test::TestRequest::post()
                    .uri("/v1/auth/token")
                    .set_json(serde_json::json!({"api_key": api_key})),
            )
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }

    pub async fn get_as(&self, uri: &str, token: &str) -> Reply {
        self.call(
            test::TestRequest::get()
                .uri(uri)
                .insert_header(("Authorization", format!("Bearer {token}"))),
        )
        .await
    }

    /// Makes an API key directly, as `sourceledger keys create` does.
    pub fn make_key(
        &self,
        role: sourceledger::auth::Role,
        name: &str,
    ) -> sourceledger::auth::keys::NewKey {
        let mut conn = self.state.db.get().expect("conn");
        sourceledger::auth::keys::create(&mut conn, role, name).expect("create key")
    }
}

/// The value of one series (name and labels as written) in a Prometheus text
/// exposition, if it is there.
pub fn metric_sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

pub fn hex_list(value: &Value) -> Vec<Vec<u8>> {
    value
        .as_array()
        .expect("array")
        .iter()
        .map(|h| hex::decode(h.as_str().expect("hex string")).expect("hex"))
        .collect()
}

impl TestApp {
    fn with_token(req: test::TestRequest, token: Option<&str>) -> test::TestRequest {
        match token {
            Some(t) => req.insert_header(("Authorization", format!("Bearer {t}"))),
            None => req,
        }
    }

    pub async fn send(
        &self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let req = match method {
            "GET" => test::TestRequest::get(),
            "POST" => test::TestRequest::post(),
            "PATCH" => test::TestRequest::patch(),
            "DELETE" => test::TestRequest::delete(),
            other => panic!("method {other}"),
        }
        .uri(uri);
        let req = match body {
            Some(body) => req.set_json(body),
            None => req,
        };
        self.call(Self::with_token(req, token)).await
    }

    /// A member subscriber made by `admin`: its id and a token for it.
    pub async fn member(&self, admin: &str, external_id: &str) -> (String, String) {
        let made = self
            .post_as(
                "/v1/subscribers",
                admin,
                serde_json::json!({"external_id": external_id, "tier": "member"}),
            )
            .await
            .json();
        let id = made["id"].as_str().expect("subscriber id").to_owned();
        let token = self
            .post_as(
                &format!("/v1/subscribers/{id}/token"),
                admin,
                serde_json::json!({}),
            )
            .await
            .json()["access_token"]
            .as_str()
            .expect("token")
            .to_owned();
        (id, token)
    }

    /// Records a source as `token`'s caller; the version made (201 checked).
    pub async fn record_source(&self, token: &str, source: Value) -> Value {
        let made = self.post_as("/v1/sources", token, source).await;
        assert_eq!(made.status, 201, "{}", made.text());
        made.json()
    }

    pub async fn post_as(&self, uri: &str, token: &str, body: Value) -> Reply {
        self.send("POST", uri, Some(token), Some(body)).await
    }

    /// A token for a new API key of `role`, named `<role> tester`.
    pub async fn token_of(&self, role: sourceledger::auth::Role) -> String {
        self.token_named(role, &format!("{role} tester")).await
    }

    /// A token for a new API key of `role` and `name`.
    pub async fn token_named(&self, role: sourceledger::auth::Role, name: &str) -> String {
        let key = self.make_key(role, name);
        self.token_for(&key.secret).await
    }

    /// The number of ledger entries.
    pub fn ledger_size(&self) -> u64 {
        let mut conn = self.state.db.get().expect("conn");
        sourceledger::ledger::store::size(&mut conn).expect("size")
    }
}

/// Where browser tests leave their screenshots (`target/browser-artifacts`),
/// made if missing.
pub fn browser_artifacts() -> PathBuf {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/target/browser-artifacts"
    ));
    std::fs::create_dir_all(&dir).expect("artifacts dir");
    dir
}

/// Runs `node tests/web/<script>` with `input` as JSON on its stdin (and
/// `env` set), and answers the JSON it printed; its failure fails the test.
pub fn node_json(script: &str, env: &[(&str, &std::ffi::OsStr)], input: &Value) -> Value {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/web")
        .join(script);
    let mut child = Command::new("node")
        .arg(path)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.to_string().as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect(script);
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{script}'s JSON: {e}"))
}
