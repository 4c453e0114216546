//! Typed settings from environment variables, each with a working default.

use std::path::PathBuf;

mod origins;
mod staff_oidc;
mod witnesses;

use origins::{parse_origins, replay_origin};

use staff_oidc::staff_oidc_settings;
pub use staff_oidc::{DEFAULT_ROLE_CLAIM, StaffOidcSettings};
pub use witnesses::WitnessSettings;
use witnesses::witness_settings;

const DEFAULT_DATA_DIR: &str = "./data";
const DEFAULT_BIND: &str = "127.0.0.1:8080";
const DEFAULT_ORIGIN: &str = "sourceledger.localhost/ledger";
const SQLITE_FILE_NAME: &str = "sourceledger.db";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{name}: {problem}")]
    Invalid { name: &'static str, problem: String },
}

/// Where the data lives: an embedded SQLite file or a PostgreSQL server.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses a database URL: `postgres://` or `postgresql://` selects PostgreSQL;
    /// `sqlite://PATH`, `sqlite:PATH` or a plain path selects SQLite.
    pub fn parse(url: &str) -> Result<Self, String> {
        let url = url.trim();
        if url.is_empty() {
            return Err("must not be empty".into());
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_owned()));
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if path.is_empty() {
                return Err("a sqlite URL needs a file path".into());
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if url.contains("://") {
            return Err(
                "only postgres:// and sqlite:// URLs (or a file path) are supported".into(),
            );
        }
        Ok(Self::Sqlite(PathBuf::from(url)))
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    // A PostgreSQL URL may carry a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "sqlite:{}", path.display()),
            Self::Postgres(_) => f.write_str("postgres://…"),
        }
    }
}

/// Anonymous requests per minute per client address: a reader's page makes a
/// handful; this leaves room for many readers behind one address.
pub const DEFAULT_RATE_LIMIT_ANON: u32 = 600;
/// Requests per minute per token: far above any person, room for an integration.
pub const DEFAULT_RATE_LIMIT_TOKEN: u32 = 1200;

/// The teaser's call to action unless the newsroom words its own.
pub const DEFAULT_CTA_TEXT: &str =
    "Subscribe to see the direct links to every source behind this article.";

#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub database: DatabaseUrl,
    pub bind: String,
    /// The log's origin line, also the name of its signing key.
    pub origin: String,
    pub db_pool_size: u32,
    /// Addresses the outbound fetcher may reach although they are not public
    /// (`SOURCELEDGER_FETCH_ALLOW`).
    pub fetch_allow: Vec<ipnet::IpNet>,
    /// Where the world reaches this server (`SOURCELEDGER_PUBLIC_URL`, default
    /// `http://<bind>`): the base of the webhook URLs platforms are given.
    pub public_url: String,
    /// Requests per minute per client address for anonymous calls
    /// (`SOURCELEDGER_RATE_LIMIT_ANON`); 0 turns the limit off.
    pub rate_limit_anon: u32,
    /// Requests per minute per token (`SOURCELEDGER_RATE_LIMIT_TOKEN`); 0: off.
    pub rate_limit_token: u32,
    /// Reverse proxies whose `X-Forwarded-For` names the client
    /// (`SOURCELEDGER_TRUSTED_PROXIES`, addresses or CIDRs; none by default).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The call to action under the teaser (`SOURCELEDGER_CTA_TEXT`).
    pub cta_text: String,
    /// Where it leads, e.g. the newsletter's subscribe page
    /// (`SOURCELEDGER_CTA_URL`, an http(s) URL; none by default).
    pub cta_url: Option<String>,
    /// Where readers replay archived copies (`SOURCELEDGER_REPLAY_ORIGIN`, an
    /// origin that reaches this same server, such as
    /// `https://replay.news.example`): replayed pages run scripts of the
    /// pages archived, which must never share an origin with the desk. By
    /// default, for a public URL on `127.0.0.1` or `localhost`, the other
    /// name of the same loopback address; otherwise none, and replay is not
    /// offered.
    pub replay_origin: Option<String>,
    /// Origins (`https://news.example`) whose pages may embed the panel
    /// (`SOURCELEDGER_EMBED_ORIGINS`, comma-separated; none by default).
    pub embed_origins: Vec<String>,
    /// Ports the fetcher may reach on public addresses
    /// (`SOURCELEDGER_FETCH_PORTS`, comma-separated; default 80 and 443).
    pub fetch_ports: Vec<u16>,
    /// Archived copies and link checks.
    pub archive: ArchiveSettings,
    /// Witnesses this log asks to cosign its checkpoints, and how many must.
    pub witnessing: WitnessSettings,
    /// Entries about unpublished stories are committed to, not shown, until
    /// publication discloses them (`SOURCELEDGER_EMBARGO`, `on` or `off`,
    /// default `on`).
    pub embargo: bool,
    /// Single sign-on for the desk (`SOURCELEDGER_STAFF_OIDC_*`), if the
    /// newsroom has an OpenID provider for its staff.
    pub staff_oidc: Option<StaffOidcSettings>,
    /// How long a notification that could not be delivered waits before its
    /// next try, doubled at each try up to an hour, for a day
    /// (`SOURCELEDGER_NOTIFY_RETRY_DELAY_MS`, default 5000).
    pub notify_retry_delay: std::time::Duration,
}

/// Where archived copies are kept (`SOURCELEDGER_SNAPSHOT_STORE`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotStore {
    /// Files under `<data dir>/snapshots` (`file`, the default).
    File,
    /// An S3-compatible object store (`s3://bucket/prefix`), with the usual
    /// `AWS_*` variables and `AWS_ENDPOINT_URL`.
    S3(S3Settings),
}

/// Where and how to reach the object store.
#[derive(Clone, PartialEq, Eq)]
pub struct S3Settings {
    pub bucket: String,
    pub prefix: String,
    /// `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL`; AWS itself when unset.
    pub endpoint: Option<String>,
    /// `AWS_REGION` or `AWS_DEFAULT_REGION`, default `us-east-1`.
    pub region: String,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`.
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for S3Settings {
    // The secret key and token are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("prefix", &self.prefix)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl SnapshotStore {
    pub fn parse(text: &str, get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() || text == "file" {
            return Ok(Self::File);
        }
        let rest = text
            .strip_prefix("s3://")
            .ok_or("must be `file` or an s3://bucket/prefix URL")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err("an s3:// URL needs a bucket".into());
        }
        let var = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        Ok(Self::S3(S3Settings {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            endpoint: var("AWS_ENDPOINT_URL_S3").or_else(|| var("AWS_ENDPOINT_URL")),
            region: var("AWS_REGION")
                .or_else(|| var("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".into()),
            access_key: var("AWS_ACCESS_KEY_ID"),
            secret_key: var("AWS_SECRET_ACCESS_KEY"),
            session_token: var("AWS_SESSION_TOKEN"),
        }))
    }
}

/// The largest upload or capture by default: 50 MiB.
pub const DEFAULT_SNAPSHOT_MAX_BYTES: u64 = 50 * 1024 * 1024;
/// A notification not delivered is tried again after 5 s, then 10 s, 20 s, ...
pub const DEFAULT_NOTIFY_RETRY_DELAY: std::time::Duration = std::time::Duration::from_secs(5);

/// Links are checked once a day by default.
pub const DEFAULT_LINK_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(86_400);

#[derive(Debug, Clone)]
pub struct ArchiveSettings {
    pub store: SnapshotStore,
    /// The largest snapshot accepted, uploaded or captured
    /// (`SOURCELEDGER_SNAPSHOT_MAX_BYTES`).
    pub max_bytes: u64,
    /// Capture every source when it is recorded (`SOURCELEDGER_CAPTURE_ON_RECORD`,
    /// `true` or `false`, default `false`).
    pub capture_on_record: bool,
    /// Capture, once an article is published, every source it cites that
    /// has no archived copy yet (`SOURCELEDGER_CAPTURE_ON_PUBLISH`, `on` or
    /// `off`, default `on`), paced as the link monitor is.
    pub capture_on_publish: bool,
    /// How long a capture that failed waits before its next try, doubled
    /// at each try (`SOURCELEDGER_CAPTURE_RETRY_DELAY_MS`, default 60000).
    pub capture_retry_delay: std::time::Duration,
    /// Time between checks of one link (`SOURCELEDGER_LINK_CHECK_INTERVAL`,
    /// seconds; 0 turns the monitor off).
    pub link_check_interval: std::time::Duration,
    /// Time between two checks on one host
    /// (`SOURCELEDGER_LINK_CHECK_HOST_DELAY_MS`, default 1000).
    pub link_check_host_delay: std::time::Duration,
    /// Link checks in flight at once (`SOURCELEDGER_LINK_CHECK_CONCURRENCY`,
    /// default 8).
    pub link_check_concurrency: usize,
}

impl Default for ArchiveSettings {
    fn default() -> Self {
        Self {
            store: SnapshotStore::File,
            max_bytes: DEFAULT_SNAPSHOT_MAX_BYTES,
            capture_on_record: false,
            capture_on_publish: true,
            capture_retry_delay: std::time::Duration::from_secs(60),
            link_check_interval: DEFAULT_LINK_CHECK_INTERVAL,
            link_check_host_delay: std::time::Duration::from_secs(1),
            link_check_concurrency: 8,
        }
    }
}

/// Variable `name` as a `T` that is `valid`, or `default` when it is unset;
/// anything else is `problem`, named with the variable (never its value).
fn typed<T: std::str::FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: T,
    valid: impl Fn(&T) -> bool,
    problem: &str,
) -> Result<T, ConfigError> {
    match get(name) {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse::<T>()
            .ok()
            .filter(|v| valid(v))
            .ok_or_else(|| ConfigError::Invalid {
                name,
                problem: problem.into(),
            }),
    }
}

/// A yes-or-no variable: one of the `(yes, no)` words, or `default` unset.
fn switch(
    get: &impl Fn(&str) -> Option<String>,
    name: &'static str,
    default: bool,
    (yes, no): (&[&str], &[&str]),
    problem: &str,
) -> Result<bool, ConfigError> {
    match get(name).as_deref().map(str::trim) {
        None => Ok(default),
        Some(word) if yes.contains(&word) => Ok(true),
        Some(word) if no.contains(&word) => Ok(false),
        Some(_) => Err(ConfigError::Invalid {
            name,
            problem: problem.into(),
        }),
    }
}

/// The ports the fetcher may reach on public addresses unless
/// `SOURCELEDGER_FETCH_PORTS` says otherwise.
pub const DEFAULT_FETCH_PORTS: [u16; 2] = [80, 443];

/// Parses a list of addresses or CIDRs, comma-separated
/// (`SOURCELEDGER_FETCH_ALLOW`, `SOURCELEDGER_TRUSTED_PROXIES`).
pub fn parse_allow_list(text: &str) -> Result<Vec<ipnet::IpNet>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| format!("{item:?} is not an IP address or CIDR"))
        })
        .collect()
}

impl Settings {
    /// Reads the settings from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the settings through `lookup`, so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let data_dir = PathBuf::from(
            get("SOURCELEDGER_DATA_DIR").unwrap_or_else(|| DEFAULT_DATA_DIR.to_owned()),
        );
        let database = match get("SOURCELEDGER_DATABASE_URL").or_else(|| get("DATABASE_URL")) {
            Some(url) => DatabaseUrl::parse(&url).map_err(|problem| ConfigError::Invalid {
                name: "SOURCELEDGER_DATABASE_URL",
                problem,
            })?,
            None => DatabaseUrl::Sqlite(data_dir.join(SQLITE_FILE_NAME)),
        };
        let bind = get("SOURCELEDGER_BIND").unwrap_or_else(|| DEFAULT_BIND.to_owned());
        let origin = get("SOURCELEDGER_ORIGIN").unwrap_or_else(|| DEFAULT_ORIGIN.to_owned());
        validate_origin(&origin)?;
        let db_pool_size = typed(
            &get,
            "SOURCELEDGER_DB_POOL_SIZE",
            10u32,
            |n| (1..=256).contains(n),
            "must be a whole number from 1 to 256",
        )?;
        let fetch_allow = parse_allow_list(&get("SOURCELEDGER_FETCH_ALLOW").unwrap_or_default())
            .map_err(|problem| ConfigError::Invalid {
                name: "SOURCELEDGER_FETCH_ALLOW",
                problem,
            })?;
        let public_url = get("SOURCELEDGER_PUBLIC_URL")
            .unwrap_or_else(|| format!("http://{bind}"))
            .trim_end_matches('/')
            .to_owned();
        if !public_url.starts_with("http://") && !public_url.starts_with("https://") {
            return Err(ConfigError::Invalid {
                name: "SOURCELEDGER_PUBLIC_URL",
                problem: "must be an http or https URL".into(),
            });
        }
        let per_minute = |name: &'static str, default: u32| {
            typed(
                &get,
                name,
                default,
                |_| true,
                "must be a whole number of requests per minute (0: no limit)",
            )
        };
        let rate_limit_anon = per_minute("SOURCELEDGER_RATE_LIMIT_ANON", DEFAULT_RATE_LIMIT_ANON)?;
        let rate_limit_token =
            per_minute("SOURCELEDGER_RATE_LIMIT_TOKEN", DEFAULT_RATE_LIMIT_TOKEN)?;
        let trusted_proxies = parse_allow_list(
            &get("SOURCELEDGER_TRUSTED_PROXIES").unwrap_or_default(),
        )
        .map_err(|problem| ConfigError::Invalid {
            name: "SOURCELEDGER_TRUSTED_PROXIES",
            problem,
        })?;
        let cta_text = get("SOURCELEDGER_CTA_TEXT").unwrap_or_else(|| DEFAULT_CTA_TEXT.to_owned());
        let cta_url = get("SOURCELEDGER_CTA_URL");
        if cta_url
            .as_deref()
            .is_some_and(|u| !u.starts_with("https://") && !u.starts_with("http://"))
        {
            return Err(ConfigError::Invalid {
                name: "SOURCELEDGER_CTA_URL",
                problem: "must be an http or https URL".into(),
            });
        }
        let embed_origins = parse_origins(&get("SOURCELEDGER_EMBED_ORIGINS").unwrap_or_default())
            .map_err(|problem| ConfigError::Invalid {
            name: "SOURCELEDGER_EMBED_ORIGINS",
            problem,
        })?;
        let fetch_ports = match get("SOURCELEDGER_FETCH_PORTS") {
            None => DEFAULT_FETCH_PORTS.to_vec(),
            Some(text) => text
                .split(',')
                .map(|p| p.trim().parse::<u16>().ok().filter(|p| *p > 0))
                .collect::<Option<Vec<u16>>>()
                .filter(|ports| !ports.is_empty())
                .ok_or_else(|| ConfigError::Invalid {
                    name: "SOURCELEDGER_FETCH_PORTS",
                    problem: "must be comma-separated port numbers".into(),
                })?,
        };
        let archive = ArchiveSettings {
            store: SnapshotStore::parse(
                &get("SOURCELEDGER_SNAPSHOT_STORE").unwrap_or_default(),
                get,
            )
            .map_err(|problem| ConfigError::Invalid {
                name: "SOURCELEDGER_SNAPSHOT_STORE",
                problem,
            })?,
            max_bytes: typed(
                &get,
                "SOURCELEDGER_SNAPSHOT_MAX_BYTES",
                DEFAULT_SNAPSHOT_MAX_BYTES,
                |n| *n > 0,
                "must be a positive number of bytes",
            )?,
            capture_on_record: switch(
                &get,
                "SOURCELEDGER_CAPTURE_ON_RECORD",
                false,
                (&["true", "1"], &["false", "0"]),
                "must be true or false",
            )?,
            capture_on_publish: switch(
                &get,
                "SOURCELEDGER_CAPTURE_ON_PUBLISH",
                true,
                (&["on", "true", "1"], &["off", "false", "0"]),
                "must be on or off",
            )?,
            capture_retry_delay: std::time::Duration::from_millis(typed(
                &get,
                "SOURCELEDGER_CAPTURE_RETRY_DELAY_MS",
                60_000,
                |n| *n > 0,
                "must be a positive whole number of milliseconds",
            )?),
            link_check_interval: std::time::Duration::from_secs(typed(
                &get,
                "SOURCELEDGER_LINK_CHECK_INTERVAL",
                DEFAULT_LINK_CHECK_INTERVAL.as_secs(),
                |_| true,
                "must be a whole number of seconds (0: off)",
            )?),
            link_check_host_delay: std::time::Duration::from_millis(typed(
                &get,
                "SOURCELEDGER_LINK_CHECK_HOST_DELAY_MS",
                1000,
                |_| true,
                "must be a whole number of milliseconds",
            )?),
            link_check_concurrency: typed(
                &get,
                "SOURCELEDGER_LINK_CHECK_CONCURRENCY",
                8usize,
                |n| (1..=256).contains(n),
                "must be a whole number from 1 to 256",
            )?,
        };
        let witnessing = witness_settings(&get, &origin)?;
        let embargo = switch(
            &get,
            "SOURCELEDGER_EMBARGO",
            true,
            (&["on"], &["off"]),
            "must be on or off",
        )?;
        let staff_oidc = staff_oidc_settings(&get)?;
        let notify_retry_delay = std::time::Duration::from_millis(typed(
            &get,
            "SOURCELEDGER_NOTIFY_RETRY_DELAY_MS",
            DEFAULT_NOTIFY_RETRY_DELAY.as_millis() as u64,
            |n| *n > 0,
            "must be a positive whole number of milliseconds",
        )?);
        let replay_origin = replay_origin(get("SOURCELEDGER_REPLAY_ORIGIN"), &public_url)?;
        Ok(Self {
            replay_origin,
            witnessing,
            embargo,
            staff_oidc,
            notify_retry_delay,
            data_dir,
            database,
            bind,
            origin,
            db_pool_size,
            fetch_allow,
            public_url,
            rate_limit_anon,
            rate_limit_token,
            trusted_proxies,
            cta_text,
            cta_url,
            embed_origins,
            fetch_ports,
            archive,
        })
    }
}

/// The origin is a schema-less URL and doubles as the signed-note key name,
/// which must be non-empty and free of spaces and pluses.
fn validate_origin(origin: &str) -> Result<(), ConfigError> {
    let invalid = |problem: &str| ConfigError::Invalid {
        name: "SOURCELEDGER_ORIGIN",
        problem: problem.to_owned(),
    };
    if origin.contains("://") {
        return Err(invalid(
            "must be a schema-less URL, such as example.com/ledger",
        ));
    }
    if !signed_note::is_key_name_valid(origin) {
        return Err(invalid(
            "must be non-empty and contain no spaces, pluses or control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_allow_list_takes_addresses_and_cidrs() {
        let list = parse_allow_list("127.0.0.1, 10.0.0.0/8,::1").expect("list");
        assert_eq!(list.len(), 3);
        assert!(list[0].contains(&"127.0.0.1".parse::<std::net::IpAddr>().expect("ip")));
        assert!(list[1].contains(&"10.9.9.9".parse::<std::net::IpAddr>().expect("ip")));
        assert!(parse_allow_list("").expect("empty").is_empty());
        assert!(parse_allow_list("localhost").is_err());
    }

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn defaults_work_with_an_empty_environment() {
        let s = settings(&[]).expect("defaults");
        assert_eq!(s.data_dir, PathBuf::from("./data"));
        assert_eq!(
            s.database,
            DatabaseUrl::Sqlite(PathBuf::from("./data/sourceledger.db"))
        );
        assert_eq!(s.bind, "127.0.0.1:8080");
        assert_eq!(s.origin, "sourceledger.localhost/ledger");
    }

    #[test]
    fn database_url_selects_the_backend() {
        let s = settings(&[("DATABASE_URL", "postgres://u:secret@h/db")]).expect("pg");
        assert_eq!(s.database.backend_name(), "postgres");
        assert!(!format!("{s:?}").contains("secret"));
        let s = settings(&[
            ("SOURCELEDGER_DATABASE_URL", "sqlite:///tmp/x.db"),
            ("DATABASE_URL", "postgres://ignored"),
        ])
        .expect("sqlite");
        assert_eq!(s.database, DatabaseUrl::Sqlite(PathBuf::from("/tmp/x.db")));
        assert!(settings(&[("DATABASE_URL", "mysql://x")]).is_err());
    }

    #[test]
    fn origin_must_be_a_valid_key_name() {
        assert!(settings(&[("SOURCELEDGER_ORIGIN", "https://example.com")]).is_err());
        assert!(settings(&[("SOURCELEDGER_ORIGIN", "a b")]).is_err());
        assert!(settings(&[("SOURCELEDGER_ORIGIN", "a+b")]).is_err());
        assert!(settings(&[("SOURCELEDGER_ORIGIN", "news.example/ledger")]).is_ok());
    }

    #[test]
    fn the_tsa_url_is_http_without_credentials_and_never_echoed() {
        assert_eq!(settings(&[]).expect("none").witnessing.tsa_url, None);
        let s = settings(&[("SOURCELEDGER_TSA_URL", "https://tsa.example/stamp")]).expect("tsa");
        assert_eq!(
            s.witnessing.tsa_url.as_deref(),
            Some("https://tsa.example/stamp")
        );
        for bad in [
            "ftp://tsa.example",
            "tsa.example",
            "https://me:pw-secret@tsa.example/",
        ] {
            let error = settings(&[("SOURCELEDGER_TSA_URL", bad)]).expect_err(bad);
            assert!(!error.to_string().contains("secret"), "{error}");
        }
    }
}
