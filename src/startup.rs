//! Builds the application from settings. `main` and the tests start it the same way.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{HttpServer, web};

use crate::api;
use crate::api::source_list::ListCache;
use crate::auth::keys;
use crate::auth::token::TokenKeys;
use crate::config::Settings;
use crate::db::Db;
use crate::ledger::store::HashCache;
use crate::secrets::{self, Secrets};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Secrets(#[from] secrets::SecretsError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error("{0}")]
    Bootstrap(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// At most about 12 MiB of upper-level tree hashes: all of them for a log of up
/// to 8M entries.
const HASH_CACHE_ENTRIES: usize = 1 << 18;

/// Verified source lists kept built (a few hundred KiB each at the most).
const SOURCE_LIST_CACHE_ENTRIES: usize = 256;

/// Everything a request handler may need, shared by all workers.
pub struct AppState {
    pub db: Db,
    pub settings: Settings,
    pub secrets: Arc<Secrets>,
    pub tokens: TokenKeys,
    /// Upper tree levels, shared by this process's proof and root readers.
    pub hash_cache: HashCache,
    /// Built verified source lists, by ETag.
    pub source_lists: ListCache,
}

impl AppState {
    /// Opens the data dir, the secrets and the database (running migrations), and
    /// makes the bootstrap admin key when no key exists yet.
    pub fn prepare(settings: Settings) -> Result<Self, StartupError> {
        let secrets = secrets::load_or_create(&settings.data_dir, &settings.origin)?;
        let db = Db::connect(&settings.database, settings.db_pool_size)?;
        let mut conn = db
            .get()
            .map_err(|e| StartupError::Bootstrap(e.to_string()))?;
        keys::ensure_bootstrap_admin(&mut conn, &settings.data_dir)
            .map_err(StartupError::Bootstrap)?;
        drop(conn);
        Ok(Self {
            db,
            tokens: TokenKeys::new(&secrets.jwt_secret, &settings.origin),
            hash_cache: HashCache::new(HASH_CACHE_ENTRIES),
            source_lists: ListCache::new(SOURCE_LIST_CACHE_ENTRIES),
            settings,
            secrets: Arc::new(secrets),
        })
    }
}

/// Loads the upper tree levels into the hash cache without delaying start-up.
fn warm_in_background(state: web::Data<AppState>) {
    std::thread::spawn(move || {
        let started = std::time::Instant::now();
        let warmed = state
            .db
            .get()
            .map_err(|e| e.to_string())
            .and_then(|mut conn| {
                crate::ledger::store::warm_cache(&mut conn, &state.hash_cache)
                    .map_err(|e| e.to_string())
            });
        match warmed {
            Ok(count) => tracing::debug!(
                count,
                ms = started.elapsed().as_millis() as u64,
                "tree hash cache warmed"
            ),
            Err(error) => tracing::warn!(%error, "could not warm the tree hash cache"),
        }
    });
}

/// A bound, ready-to-run HTTP server.
pub struct Application {
    port: u16,
    server: Server,
}

impl Application {
    pub fn build(settings: Settings) -> Result<Self, StartupError> {
        let addr = settings.bind.clone();
        let state = web::Data::new(AppState::prepare(settings)?);
        warm_in_background(state.clone());
        let listener = TcpListener::bind(&addr).map_err(|source| StartupError::Bind {
            addr: addr.clone(),
            source,
        })?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let server = HttpServer::new(move || api::app(state.clone()))
            .listen(listener)
            .map_err(|source| StartupError::Bind { addr, source })?
            .shutdown_timeout(20)
            .run();
        tracing::info!(port, "listening");
        Ok(Self { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
