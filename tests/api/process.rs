//! The real binary as a separate server process, for tests that kill it, and a
//! small blocking HTTP client to talk to it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_sourceledger");

/// A `sourceledger serve` process on a data dir and database of the test's.
pub struct ServerProcess {
    child: Option<Child>,
    pub port: u16,
    data_dir: PathBuf,
    database_url: Option<String>,
    /// Where the server's log goes (at `info`); by default stderr, at `warn`.
    log: Option<PathBuf>,
    /// Settings of the test's own, as environment variables.
    env: Vec<(String, String)>,
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

impl ServerProcess {
    /// Starts a server and waits until it answers `/readyz`.
    pub fn start(data_dir: &Path, database_url: Option<&str>) -> Self {
        Self::start_with_log(data_dir, database_url, None)
    }

    /// Like [`ServerProcess::start`], with the log at `info` written to `log`.
    pub fn start_with_log(data_dir: &Path, database_url: Option<&str>, log: Option<&Path>) -> Self {
        Self::start_with(data_dir, database_url, log, &[])
    }

    /// Like [`ServerProcess::start_with_log`], with settings in `env`.
    pub fn start_with(
        data_dir: &Path,
        database_url: Option<&str>,
        log: Option<&Path>,
        env: &[(&str, &str)],
    ) -> Self {
        let mut server = ServerProcess {
            child: None,
            port: free_port(),
            data_dir: data_dir.to_owned(),
            database_url: database_url.map(str::to_owned),
            log: log.map(Path::to_owned),
            env: env
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let mut command = Command::new(BIN);
        command
            .arg("serve")
            .env("SOURCELEDGER_DATA_DIR", &self.data_dir)
            .env("SOURCELEDGER_BIND", format!("127.0.0.1:{}", self.port))
            .env_remove("SOURCELEDGER_DATABASE_URL")
            .env_remove("DATABASE_URL")
            // Writers here go as fast as they can: no rate limits.
            .env("SOURCELEDGER_RATE_LIMIT_ANON", "0")
            .env("SOURCELEDGER_RATE_LIMIT_TOKEN", "0")
            // A membership platform on loopback (tests/api/ghost.rs) is reachable.
            .env("SOURCELEDGER_FETCH_ALLOW", "127.0.0.1")
            // No link monitor adding entries behind a test's back, unless
            // the test asks for one.
            .env("SOURCELEDGER_LINK_CHECK_INTERVAL", "0")
            .env(
                "SOURCELEDGER_PUBLIC_URL",
                format!("http://127.0.0.1:{}", self.port),
            )
            .stdout(Stdio::null());
        match &self.log {
            Some(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .expect("log file");
                command.env("RUST_LOG", "info").stderr(file);
            }
            None => {
                command.env("RUST_LOG", "warn").stderr(Stdio::inherit());
            }
        }
        if let Some(url) = &self.database_url {
            command.env("SOURCELEDGER_DATABASE_URL", url);
        }
        command.envs(self.env.iter().map(|(k, v)| (k, v)));
        self.child = Some(command.spawn().expect("start the server"));
        let agent = agent();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(response) = agent.get(&format!("{}/readyz", self.url())).call()
                && response.status() == 200
            {
                return;
            }
            assert!(Instant::now() < deadline, "the server did not become ready");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGKILL: no shutdown, no flush, whatever was in flight is cut.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same data dir, database and port.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Sets a setting for the next start ([`restart`](Self::restart)).
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.to_owned(), value.to_owned()));
    }

    pub fn bootstrap_key(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("bootstrap-admin.key"))
            .expect("bootstrap key")
            .trim()
            .to_owned()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(20)))
        .http_status_as_error(false)
        .build()
        .into()
}

/// A reply: status and body as JSON (or the text as a JSON string).
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub text: String,
}

pub fn request(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<Answer, ureq::Error> {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut response = match (method, body) {
        ("GET", _) => {
            let mut req = agent.get(url);
            if let Some(auth) = &auth {
                req = req.header("Authorization", auth);
            }
            req.call()?
        }
        (_, body) => {
            let mut req = agent.post(url);
            if let Some(auth) = &auth {
                req = req.header("Authorization", auth);
            }
            match body {
                Some(body) => req.send_json(body)?,
                None => req.send_empty()?,
            }
        }
    };
    let status = response.status().as_u16();
    let text = response
        .body_mut()
        .with_config()
        .limit(64 * 1024 * 1024)
        .read_to_string()?;
    let body = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
    Ok(Answer { status, body, text })
}

/// A token for a new API key of `role`, made through the API with `admin`.
pub fn key_token(agent: &ureq::Agent, base: &str, admin: &str, role: &str) -> String {
    let key = request(
        agent,
        "POST",
        &format!("{base}/v1/keys"),
        Some(admin),
        Some(&json!({"role": role, "name": format!("{role} of the crash test")})),
    )
    .expect("create key");
    assert_eq!(key.status, 201, "{}", key.text);
    token_for(agent, base, key.body["key"].as_str().expect("key"))
}

pub fn token_for(agent: &ureq::Agent, base: &str, api_key: &str) -> String {
    let token = request(
        agent,
        "POST",
        &format!("{base}/v1/auth/token"),
        None,
        Some(&json!({ "api_key": api_key })),
    )
    .expect("token");
    assert_eq!(token.status, 200, "{}", token.text);
    token.body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}

/// A token for a new subscriber (`external_id`, tier `member`), made with
/// `admin`'s token at `base`.
pub fn subscriber_token(agent: &ureq::Agent, base: &str, admin: &str, external_id: &str) -> String {
    let member = request(
        agent,
        "POST",
        &format!("{base}/v1/subscribers"),
        Some(admin),
        Some(&json!({"external_id": external_id, "tier": "member"})),
    )
    .expect("subscriber");
    assert_eq!(member.status, 201, "{}", member.text);
    let id = member.body["id"].as_str().expect("id");
    let token = request(
        agent,
        "POST",
        &format!("{base}/v1/subscribers/{id}/token"),
        Some(admin),
        Some(&json!({})),
    )
    .expect("token");
    assert_eq!(token.status, 200, "{}", token.text);
    token.body["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned()
}
