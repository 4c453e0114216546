//! The application state every handler may need, built from settings: the
//! database, the secrets, the token keys and the in-memory caches.

use std::sync::Arc;

use crate::archive::store::{self, BlobStore, FileStore};
use crate::auth::keys;
use crate::auth::token::TokenKeys;
use crate::config::Settings;
use crate::db::Db;
use crate::ledger::Ledger;
use crate::ledger::store::HashCache;
use crate::limits::RateLimits;
use crate::newsroom::source_list::{CallToAction, Lists, SourceLists};
use crate::outbound::Fetcher;
use crate::platforms::identity::IdentityKeys;
use crate::secrets::{self, SealingKey, Secrets};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Secrets(#[from] secrets::SecretsError),
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error("{0}")]
    Bootstrap(String),
    #[error("the snapshot store: {0}")]
    Snapshots(std::io::Error),
    #[error("cannot start a background thread: {0}")]
    Thread(std::io::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// At most about 12 MiB of upper-level tree hashes: all of them for a log of up
/// to 8M entries.
const HASH_CACHE_ENTRIES: usize = 1 << 18;

/// Compressed bodies kept: two encodings of each built list, and the assets.
const COMPRESSED_CACHE_ENTRIES: usize = 1024;

/// Verified source lists kept built (a few hundred KiB each at the most).
const SOURCE_LIST_CACHE_ENTRIES: usize = 256;

/// Everything a request handler may need, shared by all workers.
pub struct AppState {
    pub db: Db,
    pub settings: Settings,
    pub tokens: Arc<TokenKeys>,
    /// The log: its signing key, origin and the upper tree levels this process
    /// keeps in memory.
    pub ledger: Arc<Ledger>,
    /// This server as a witness of other logs.
    pub witness: crate::witness::Witness,
    /// The witnesses this log asks to cosign its checkpoints.
    pub witnesses: crate::witness::submit::Witnesses,
    /// Source lists: built, kept, and answered from memory while nothing
    /// changed.
    pub lists: Lists,
    /// Seals the membership platforms' webhook secrets.
    pub sealing: SealingKey,
    /// What web archives (WACZ) are signed with (`wacz.key`).
    pub wacz_key: Arc<crate::secrets::WaczKey>,
    /// The membership platforms' keys, fetched through the outbound fetcher.
    pub identity_keys: IdentityKeys,
    /// The staff's OpenID provider, when the desk has single sign-on.
    pub staff_sso: Option<crate::auth::oidc::StaffSso>,
    /// The one way out, for captures and link checks (and, inside
    /// `identity_keys`, the platforms' keys).
    pub fetcher: Fetcher,
    /// Archived copies: where their bytes are kept, and how they are
    /// uploaded and captured.
    pub archive: crate::archive::Archive,
    /// Compressed lists, pages and assets, made once each.
    pub compressed: crate::compression::Compressed,
    /// The process's one writer to the log: writes that arrive together
    /// commit together (group commit).
    pub writer: crate::ledger::GroupCommitter,
    /// The token subjects this process has confirmed live.
    pub liveness: Arc<crate::auth::Liveness>,
    /// What the server counts, for `/metrics`.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// This process's rate limiters.
    pub rate_limits: Arc<RateLimits>,
    /// The newsroom's public figures, as last counted.
    pub transparency: crate::newsroom::transparency::Transparency,
}

impl AppState {
    /// When the newsroom asks for it (`capture_on_record`), archives a
    /// source just recorded, in the background: whoever recorded it is not
    /// kept waiting, and a page that cannot be captured is only logged.
    pub fn capture_when_recorded(
        state: &actix_web::web::Data<AppState>,
        id: String,
        actor: String,
    ) {
        if !state.settings.archive.capture_on_record {
            return;
        }
        let state = state.clone();
        actix_web::rt::spawn(async move {
            let newsroom = (state.embargo(), state.settings.public_url.as_str());
            let captured = crate::newsroom::captures::capture_source(
                &state.db,
                &state.writer,
                &state.archive,
                newsroom,
                id.clone(),
                actor,
            )
            .await;
            if let Err(error) = captured {
                tracing::warn!(source = %id, %error, "automatic capture failed");
            }
        });
    }

    /// Whether new entries about unpublished stories are committed to.
    pub fn embargo(&self) -> crate::newsroom::embargo::Embargo {
        crate::newsroom::embargo::Embargo(self.settings.embargo)
    }

    /// Opens the data dir, the secrets and the database (running migrations), and
    /// makes the bootstrap admin key when no key exists yet.
    pub fn prepare(settings: Settings) -> Result<Self, StartupError> {
        let Secrets {
            ledger_key,
            witness_key,
            jwt_secret,
            sealing_key,
            wacz_key,
        } = secrets::load_or_create(
            &settings.data_dir,
            &settings.origin,
            &settings.witnessing.name,
        )?;
        let witness = crate::witness::Witness::new(witness_key, &settings.witnessing.witness_for)
            .map_err(StartupError::Bootstrap)?;
        let witnesses = crate::witness::submit::Witnesses::parse(
            &settings.witnessing.witnesses,
            settings.witnessing.quorum,
        )
        .map_err(|e| StartupError::Bootstrap(format!("SOURCELEDGER_WITNESSES: {e}")))?;
        let db = Db::connect(&settings.database, settings.db_pool_size)?;
        let mut conn = db
            .get()
            .map_err(|e| StartupError::Bootstrap(e.to_string()))?;
        keys::ensure_bootstrap_admin(&mut conn, &settings.data_dir)
            .map_err(StartupError::Bootstrap)?;
        drop(conn);
        store::sweep_staging(&settings.data_dir).map_err(StartupError::Snapshots)?;
        let snapshots: Arc<dyn BlobStore> = match &settings.archive.store {
            crate::config::SnapshotStore::File => {
                Arc::new(FileStore::new(&settings.data_dir).map_err(StartupError::Snapshots)?)
            }
            crate::config::SnapshotStore::S3(s3) => Arc::new(Arc::new(
                crate::archive::s3::S3Store::new(s3).map_err(|e| {
                    StartupError::Snapshots(std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        e,
                    ))
                })?,
            )),
        };
        let fetcher = Fetcher::new(
            settings.fetch_allow.clone(),
            settings.fetch_ports.clone(),
            &settings.public_url,
        );
        let metrics: Arc<crate::metrics::Metrics> = Arc::default();
        let writer = {
            let metrics = metrics.clone();
            crate::ledger::GroupCommitter::start(
                db.clone(),
                Arc::new(move |group: crate::ledger::group::GroupStats| {
                    metrics.group_sizes.observe(group.items as f64);
                    metrics.group_failed_items.inc_by(group.failed as u64);
                    metrics.group_seconds.observe(group.seconds);
                }),
            )
            .map_err(StartupError::Thread)?
        };
        let liveness = Arc::new(crate::auth::Liveness::start(db.clone()));
        let ledger = Arc::new(Ledger::new(
            ledger_key,
            &settings.origin,
            HashCache::new(HASH_CACHE_ENTRIES),
        ));
        let lists = Lists {
            db: db.clone(),
            ledger: ledger.clone(),
            built: Arc::new(
                SourceLists::new(
                    SOURCE_LIST_CACHE_ENTRIES,
                    CallToAction {
                        text: settings.cta_text.clone(),
                        url: settings.cta_url.clone(),
                    },
                )
                .offering_replay(settings.replay_origin.is_some())
                .served_at(&settings.public_url),
            ),
            liveness: liveness.clone(),
        };
        Ok(Self {
            liveness,
            writer,
            db,
            tokens: Arc::new(TokenKeys::new(&jwt_secret, &settings.origin)),
            ledger,
            witness,
            witnesses,
            lists,
            sealing: sealing_key,
            wacz_key: Arc::new(wacz_key),
            identity_keys: IdentityKeys::new(fetcher.clone()),
            staff_sso: settings.staff_oidc.clone().map(|oidc| {
                crate::auth::oidc::StaffSso::new(oidc, fetcher.clone(), &settings.public_url)
            }),
            archive: crate::archive::Archive::new(
                snapshots,
                fetcher.clone(),
                settings.data_dir.clone(),
                settings.archive.max_bytes,
            ),
            fetcher,
            metrics,
            compressed: crate::compression::Compressed::new(COMPRESSED_CACHE_ENTRIES),
            rate_limits: Arc::new(RateLimits::new(&settings)),
            transparency: Default::default(),
            settings,
        })
    }
}
