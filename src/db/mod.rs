//! The database: one connection type over SQLite and PostgreSQL, a pool, the
//! embedded per-backend migrations, and a way to run blocking diesel work off the
//! async executor.

pub mod health;
pub mod insert;
pub mod schema;
pub mod words;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::DatabaseUrl;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// How long a SQLite writer waits for the write lock before giving up.
pub const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

pub type DbPool = Pool<ConnectionManager<DbConnection>>;

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("cannot open the database: {0}")]
    Connect(String),
    #[error("refusing this database: {0}")]
    NotDurable(String),
    #[error("cannot run the migrations: {0}")]
    Migrate(String),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
}

/// Why database work could not even start.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    #[error("no database connection: {0}")]
    NoConnection(diesel::r2d2::PoolError),
    #[error("the blocking thread pool is gone")]
    WorkerGone,
    /// The write's transaction did not commit for a reason not its own (a
    /// lost connection, a lock not granted in time): it may be tried again.
    #[error("the write did not commit: {0}")]
    Lost(String),
    /// The connection was lost during the write's transaction: it did not
    /// commit, or committed just as the connection went.
    #[error("the connection was lost during the write: {0}")]
    Cut(String),
    /// No connection could be had for the write: it did not begin.
    #[error("the database is unreachable: {0}")]
    Unreachable(String),
    /// The write's transaction did not commit for want of space.
    #[error("the write did not commit, the disk is full: {0}")]
    DiskFull(String),
}

/// How long a request waits for a connection while the database is known to
/// be unreachable: long enough for a restart that is already over, short
/// enough that nobody waits out the pool's full timeout for a 503.
const WAIT_WHILE_UNREACHABLE: Duration = Duration::from_millis(750);

/// A connection from `pool`. While the database is known to be down (and for
/// ten seconds after it came back) the wait is short, and a connection is
/// tried (`SELECT 1`) before it is handed out: the pool still holds
/// connections the outage broke, and one of those must neither pass for the
/// database's return nor fail the request (a failed ping marks it broken,
/// and the pool drops it; the next is tried).
fn checkout(
    pool: &DbPool,
) -> Result<diesel::r2d2::PooledConnection<ConnectionManager<DbConnection>>, Unavailable> {
    use diesel::r2d2::R2D2Connection;
    if !health::doubtful() {
        return pool.get().map_err(Unavailable::NoConnection);
    }
    let started = std::time::Instant::now();
    loop {
        let left = WAIT_WHILE_UNREACHABLE.saturating_sub(started.elapsed());
        let mut conn = pool
            .get_timeout(left.max(Duration::from_millis(1)))
            .map_err(Unavailable::NoConnection)?;
        match conn.ping() {
            Ok(()) => {
                health::connected();
                return Ok(conn);
            }
            Err(e) if started.elapsed() >= WAIT_WHILE_UNREACHABLE => {
                return Err(Unavailable::Unreachable(e.to_string()));
            }
            Err(_) => drop(conn),
        }
    }
}

/// Applies the per-connection settings each backend needs.
///
/// SQLite: WAL so readers never block the writer, a busy timeout so writers
/// queue instead of failing, foreign keys on, and `synchronous = FULL` so that
/// every commit is synced to disk before it returns (under `NORMAL` a commit
/// waits for the next WAL checkpoint, and a power cut loses acknowledged writes
/// and entries that a served checkpoint already covers). A group of writes
/// must not spill pages to disk before it commits: a page cache of 16 MiB a
/// connection (used only as far as needed) and temporary files (a savepoint's
/// sub-journal) in memory. No commit checkpoints the WAL into the database
/// file: [`checkpoint_wal`], on a thread of its own, does, so the log's writer
/// never waits for it.
///
/// PostgreSQL: a commit is durable unless the server or this session turned
/// `fsync` or `synchronous_commit` off; such a connection is refused.
#[derive(Debug)]
struct ConnectionSetup;

impl CustomizeConnection<DbConnection, diesel::r2d2::Error> for ConnectionSetup {
    fn on_acquire(&self, conn: &mut DbConnection) -> Result<(), diesel::r2d2::Error> {
        match conn {
            DbConnection::Sqlite(conn) => conn
                .batch_execute(&format!(
                    "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
                     PRAGMA synchronous = FULL;
                     PRAGMA foreign_keys = ON;
                     PRAGMA temp_store = MEMORY;
                     PRAGMA cache_size = -16384;
                     PRAGMA wal_autocheckpoint = 0;"
                ))
                .map_err(diesel::r2d2::Error::QueryError),
            DbConnection::Postgres(conn) => match postgres_durability(conn) {
                Ok(None) => Ok(()),
                Ok(Some(problem)) => Err(diesel::r2d2::Error::ConnectionError(
                    diesel::ConnectionError::BadConnection(problem),
                )),
                Err(e) => Err(diesel::r2d2::Error::QueryError(e)),
            },
        }
    }
}

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
}

fn pg_setting(conn: &mut PgConnection, name: &str) -> QueryResult<String> {
    diesel::sql_query("SELECT current_setting($1) AS value")
        .bind::<diesel::sql_types::Text, _>(name)
        .get_result::<Setting>(conn)
        .map(|s| s.value)
}

/// Why a commit on this PostgreSQL connection would not be durable, if it would not.
fn postgres_durability(conn: &mut PgConnection) -> QueryResult<Option<String>> {
    if pg_setting(conn, "fsync")? != "on" {
        return Ok(Some(
            "PostgreSQL runs with fsync = off: acknowledged writes would not survive a crash; \
             turn fsync on"
                .into(),
        ));
    }
    if pg_setting(conn, "synchronous_commit")? == "off" {
        return Ok(Some(
            "PostgreSQL runs with synchronous_commit = off: acknowledged writes would not \
             survive a crash; set it to on (or local, remote_write, remote_apply)"
                .into(),
        ));
    }
    Ok(None)
}

/// Puts a SQLite file in WAL mode (a setting the file keeps) before the pool
/// opens its connections, which then leave the mode alone. Switching takes a
/// lock that SQLite's busy handler does not wait for, and another server
/// starting on the same file may hold the write lock while it migrates: the
/// switch is tried again until the busy timeout, and skipped when the file is
/// in WAL mode already.
fn use_wal(path: &str) -> Result<(), DbError> {
    #[derive(diesel::QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    let connect = |e: diesel::result::Error| DbError::Connect(e.to_string());
    let mut conn =
        SqliteConnection::establish(path).map_err(|e| DbError::Connect(e.to_string()))?;
    conn.batch_execute(&format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};"))
        .map_err(connect)?;
    let started = std::time::Instant::now();
    loop {
        let attempt = diesel::sql_query("PRAGMA journal_mode")
            .get_result::<Mode>(&mut conn)
            .and_then(|mode| {
                if mode.journal_mode.eq_ignore_ascii_case("wal") {
                    Ok(())
                } else {
                    conn.batch_execute("PRAGMA journal_mode = WAL;")
                }
            });
        match attempt {
            Ok(()) => return Ok(()),
            Err(e)
                if e.to_string().contains("locked")
                    && started.elapsed().as_millis() < u128::from(SQLITE_BUSY_TIMEOUT_MS) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(e) => return Err(connect(e)),
        }
    }
}

/// Fails start-up at once, with the reason, on a PostgreSQL server or database
/// whose commits would not be durable (each new connection is checked too).
fn refuse_if_not_durable(url: &str) -> Result<(), DbError> {
    let mut conn = PgConnection::establish(url).map_err(|e| DbError::Connect(e.to_string()))?;
    match postgres_durability(&mut conn) {
        Ok(None) => Ok(()),
        Ok(Some(problem)) => Err(DbError::NotDurable(problem)),
        Err(e) => Err(DbError::Connect(e.to_string())),
    }
}

/// Copies what the WAL holds into the SQLite database file, as far as no
/// reader still needs it (a passive checkpoint: it never blocks or waits for
/// anyone). Nothing to do on PostgreSQL.
pub fn checkpoint_wal(conn: &mut DbConnection) -> QueryResult<()> {
    match conn {
        DbConnection::Sqlite(conn) => conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE);"),
        DbConnection::Postgres(_) => Ok(()),
    }
}

/// Commits to the log, and the entries they appended, made through one
/// server's pool: its read caches compare two counts to tell that the server
/// wrote nothing in between without asking the database, and `/metrics`
/// reports the entries. Each server owns its own (no process-wide state):
/// two servers in one process count apart, as two processes do.
#[derive(Clone, Default, Debug)]
pub struct WriteCount {
    commits: std::sync::Arc<std::sync::atomic::AtomicU64>,
    entries: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl WriteCount {
    /// Counts a committed write of `entries` entries (called once its commit
    /// has returned).
    pub fn note(&self, entries: u64) {
        self.entries
            .fetch_add(entries, std::sync::atomic::Ordering::Relaxed);
        self.commits
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Commits so far.
    pub fn commits(&self) -> u64 {
        self.commits.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Entries appended so far.
    pub fn entries(&self) -> u64 {
        self.entries.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The pool, which backend it talks to, and how much request work went to it.
#[derive(Clone)]
pub struct Db {
    pool: DbPool,
    backend: &'static str,
    /// Database work run through [`Db::run`] (requests' database hops).
    runs: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// Writes to the log committed through this pool.
    writes: WriteCount,
}

impl Db {
    /// This process's connections: (open, idle).
    pub fn pool_state(&self) -> (u32, u32) {
        let state = self.pool.state();
        (state.connections, state.idle_connections)
    }

    /// Opens a pool on `url` (creating a SQLite file and its folder when absent) and
    /// runs the pending migrations.
    pub fn connect(url: &DatabaseUrl, pool_size: u32) -> Result<Self, DbError> {
        let connection_url = match url {
            DatabaseUrl::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|source| DbError::DataDir {
                        path: parent.display().to_string(),
                        source,
                    })?;
                }
                let path = path.display().to_string();
                use_wal(&path)?;
                path
            }
            DatabaseUrl::Postgres(url) => {
                refuse_if_not_durable(url)?;
                url.clone()
            }
        };
        let pool = Pool::builder()
            .max_size(pool_size)
            .connection_timeout(Duration::from_secs(10))
            // A broken connection shows as a query error, answered 503; a ping
            // before every use would cost a round trip per request.
            .test_on_check_out(false)
            .connection_customizer(Box::new(ConnectionSetup))
            // The pool's own failures (a connection that could not be made)
            // are not logged one by one: they surface as requests refused
            // 503, and `health` logs the outage once as it begins and ends.
            .error_handler(Box::new(diesel::r2d2::NopErrorHandler))
            .build(ConnectionManager::<DbConnection>::new(connection_url))
            // r2d2's message names the failure, never the URL it was given.
            .map_err(|e| DbError::Connect(e.to_string()))?;
        let db = Self {
            pool,
            backend: url.backend_name(),
            runs: Default::default(),
            writes: WriteCount::default(),
        };
        db.migrate()?;
        Ok(db)
    }

    pub fn backend(&self) -> &'static str {
        self.backend
    }

    /// Pieces of database work run through [`Db::run`] so far.
    pub fn runs(&self) -> u64 {
        self.runs.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Writes to the log committed through this pool so far.
    pub fn writes(&self) -> u64 {
        self.writes.commits()
    }

    /// The count every write to the log through this pool adds to.
    pub fn write_count(&self) -> &WriteCount {
        &self.writes
    }

    pub fn get(
        &self,
    ) -> Result<diesel::r2d2::PooledConnection<ConnectionManager<DbConnection>>, Unavailable> {
        checkout(&self.pool)
    }

    fn migrate(&self) -> Result<(), DbError> {
        let mut conn = self
            .pool
            .get()
            .map_err(|e| DbError::Connect(e.to_string()))?;
        let applied = match &mut *conn {
            // Holding the write lock throughout, so that servers starting together
            // on one file migrate one after the other.
            DbConnection::Sqlite(c) => c.immediate_transaction(|c| {
                c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len())
            }),
            DbConnection::Postgres(c) => {
                // Several servers may start at once on one database: let one migrate.
                c.batch_execute("SELECT pg_advisory_lock(7262817)")
                    .map_err(|e| DbError::Migrate(e.to_string()))?;
                let result = c
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(|v| v.len());
                c.batch_execute("SELECT pg_advisory_unlock(7262817)")
                    .map_err(|e| DbError::Migrate(e.to_string()))?;
                result
            }
        }
        .map_err(|e| DbError::Migrate(e.to_string()))?;
        if applied > 0 {
            tracing::info!(
                applied,
                backend = self.backend,
                "database migrations applied"
            );
        }
        Ok(())
    }

    /// True when the database answers and no migration is pending.
    pub fn is_ready(&self) -> bool {
        let Ok(mut conn) = checkout(&self.pool) else {
            return false;
        };
        match &mut *conn {
            DbConnection::Sqlite(c) => {
                matches!(c.has_pending_migration(SQLITE_MIGRATIONS), Ok(false))
            }
            DbConnection::Postgres(c) => {
                matches!(c.has_pending_migration(POSTGRES_MIGRATIONS), Ok(false))
            }
        }
    }

    /// Runs blocking database work on the blocking thread pool, with a pooled
    /// connection. The work's own error type is the caller's; it needs only to
    /// say what it makes of a database that cannot be reached.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<Unavailable> + Send + 'static,
    {
        self.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let pool = self.pool.clone();
        actix_web::web::block(move || {
            let mut conn = checkout(&pool)?;
            work(&mut conn)
        })
        .await
        .map_err(|_| Unavailable::WorkerGone)?
    }
}

diesel::define_sql_function! {
    /// SQL's `lower()`, on both backends (SQLite folds ASCII letters only).
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

/// `text` with LIKE's own wildcards (and its escape, `\`) escaped, for a
/// pattern that looks for what was typed as it is: use with `.escape('\\')`.
pub fn like_escaped(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
