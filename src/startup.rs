//! Builds the application from settings. `main` and the tests start it the same way.

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{HttpServer, web};

use crate::api;
use crate::config::Settings;
pub use crate::state::{AppState, StartupError};

/// Loads the upper tree levels into the hash cache without delaying start-up.
fn warm_in_background(state: web::Data<AppState>) {
    std::thread::spawn(move || {
        let started = std::time::Instant::now();
        let warmed = state
            .db
            .get()
            .map_err(|e| e.to_string())
            .and_then(|mut conn| {
                crate::ledger::store::warm_cache(&mut conn, state.ledger.hashes())
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

/// How often the witnesses are asked about the latest checkpoint.
const WITNESS_TICK: std::time::Duration = std::time::Duration::from_secs(1);

/// How often the archive's follow-up looks for captures and quotes due.
const FOLLOW_UP_TICK: std::time::Duration = std::time::Duration::from_millis(500);

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
        if !state.settings.archive.link_check_interval.is_zero() {
            crate::archive::monitor::spawn(
                state.db.clone(),
                state.fetcher.clone(),
                crate::archive::monitor::Pace::from_settings(&state.settings.archive),
                state.settings.archive.max_bytes,
            );
        }
        crate::newsroom::follow_up::spawn(state.clone(), FOLLOW_UP_TICK)
            .map_err(StartupError::Thread)?;
        crate::notifications::delivery::spawn(state.clone())
            .map_err(StartupError::Thread)?
            .detach();
        crate::newsroom::transparency::spawn(state.clone()).map_err(StartupError::Thread)?;
        crate::witness::submit::spawn(
            state.db.clone(),
            state.ledger.clone(),
            state.fetcher.clone(),
            state.witnesses.clone(),
            WITNESS_TICK,
        )
        .map_err(StartupError::Thread)?;
        crate::witness::tsa::spawn(
            state.db.clone(),
            state.ledger.clone(),
            state.fetcher.clone(),
            state
                .settings
                .witnessing
                .tsa_url
                .clone()
                .map(|url| crate::witness::tsa::Tsa {
                    url,
                    certificate: state.settings.witnessing.tsa_cert.clone(),
                }),
            WITNESS_TICK,
        )
        .map_err(StartupError::Thread)?;
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
