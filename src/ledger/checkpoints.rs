//! Signed checkpoints kept in the database: the latest (signed when the log
//! has grown since the last), the oldest covering a size, the history.

use diesel::prelude::*;

use super::LedgerError;
use super::cache::HashCache;
use super::checkpoint;
use super::store::{CheckpointRow, root, size, to_i64, to_u64};
use crate::db::DbConnection;
use crate::db::schema::ledger_checkpoints;
use crate::time::Timestamp;

/// How long signing a new checkpoint may wait for SQLite's write lock to
/// keep it (PostgreSQL's inserts take no lock that queues).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeepWait {
    /// As every write waits: the checkpoint is kept (background rounds that
    /// cosign or time-stamp it, packages that name it).
    AsWrites,
    /// 50 ms, for a reader of `/checkpoint`: under a load that holds the
    /// lock (a slow disk), the checkpoint is served without being kept, and
    /// a later reader or round keeps it.
    Briefly,
}

/// The latest signed checkpoint, signing a new one first when the log has grown
/// since the last: one signature per growth, never one per read (but when a
/// reader could not keep the one it signed, `KeepWait::Briefly`).
pub fn latest_checkpoint(
    conn: &mut DbConnection,
    cache: &HashCache,
    signer: &dyn signed_note::Signer,
    origin: &str,
    wait: KeepWait,
) -> Result<CheckpointRow, LedgerError> {
    let size = size(conn)?;
    let latest = ledger_checkpoints::table
        .order(ledger_checkpoints::size.desc())
        .select(CheckpointRow::as_select())
        .first(conn)
        .optional()?;
    let previous = match latest {
        Some(latest) if to_u64(latest.size)? >= size => return Ok(latest),
        Some(latest) => Some(latest.signed_at.time()),
        None => None,
    };
    let root = root(conn, cache, size)?;
    // A checkpoint's time never goes back past the one before it, whatever
    // the wall clock did (it stepped back, or another server's runs behind):
    // the later and larger checkpoint is never the one said to be older.
    let signed_at = match previous {
        Some(previous) if previous > chrono::Utc::now() => Timestamp::at(previous),
        _ => Timestamp::now(),
    };
    let row = CheckpointRow {
        size: to_i64(size)?,
        root_hash: root.0.to_vec(),
        note: checkpoint::sign(signer, origin, size, root)?,
        signed_at,
    };
    match insert_checkpoint(conn, &row, wait) {
        Ok(_) => Ok(row),
        // The checkpoint commits to entries already committed and is the
        // same text whenever it is signed, so a reader that cannot keep it
        // serves it all the same (reads go on) and a later one keeps it: the
        // disk is full, or (SQLite) the write lock was not free in time (a
        // slow disk, a long group, the read's own snapshot).
        Err(e) if crate::db::health::classify(&e) == Some(crate::db::health::Fault::DiskFull) => {
            crate::db::health::failed(crate::db::health::Fault::DiskFull, &e);
            Ok(row)
        }
        Err(diesel::result::Error::DatabaseError(_, info))
            if info.message().contains("database is locked") =>
        {
            Ok(row)
        }
        // Another reader signed this size first; Ed25519 is deterministic, so
        // its note is the same text.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(ledger_checkpoints::table
            .find(row.size)
            .select(CheckpointRow::as_select())
            .first(conn)?),
        Err(e) => Err(e.into()),
    }
}

/// How long a reader waits for SQLite's write lock to keep a checkpoint it
/// signed, before it serves the checkpoint without keeping it.
const CHECKPOINT_LOCK_WAIT_MS: u32 = 50;

/// Inserts a signed checkpoint; with `KeepWait::Briefly`, on SQLite, the
/// wait for the write lock is short: a reader never queues behind the
/// writers' groups for it.
fn insert_checkpoint(
    conn: &mut DbConnection,
    row: &CheckpointRow,
    wait: KeepWait,
) -> QueryResult<usize> {
    use diesel::connection::SimpleConnection;
    let sqlite = matches!(conn, DbConnection::Sqlite(_)) && wait == KeepWait::Briefly;
    if sqlite {
        conn.batch_execute(&format!("PRAGMA busy_timeout = {CHECKPOINT_LOCK_WAIT_MS};"))?;
    }
    let inserted = diesel::insert_into(ledger_checkpoints::table)
        .values(row)
        .execute(conn);
    if sqlite {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {};",
            crate::db::SQLITE_BUSY_TIMEOUT_MS
        ))?;
    }
    inserted
}

/// The oldest signed checkpoint of at least `min_size` entries (signing the
/// latest first when none is that large yet). Proofs built against it stay the
/// same while the log grows, so a response built on them can be cached.
pub fn checkpoint_covering(
    conn: &mut DbConnection,
    cache: &HashCache,
    signer: &dyn signed_note::Signer,
    origin: &str,
    min_size: u64,
    wait: KeepWait,
) -> Result<CheckpointRow, LedgerError> {
    let found = ledger_checkpoints::table
        .filter(ledger_checkpoints::size.ge(to_i64(min_size)?))
        .order(ledger_checkpoints::size.asc())
        .select(CheckpointRow::as_select())
        .first(conn)
        .optional()?;
    match found {
        Some(row) => Ok(row),
        None => latest_checkpoint(conn, cache, signer, origin, wait),
    }
}

/// Signed checkpoints with size greater than `after`, oldest first.
pub fn checkpoints(
    conn: &mut DbConnection,
    after: Option<u64>,
    limit: u32,
) -> Result<Vec<CheckpointRow>, LedgerError> {
    let mut query = ledger_checkpoints::table
        .order(ledger_checkpoints::size.asc())
        .limit(i64::from(limit))
        .select(CheckpointRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(ledger_checkpoints::size.gt(to_i64(after)?));
    }
    Ok(query.load(conn)?)
}

/// When the newest signed checkpoint was made, if there is one.
pub fn newest_checkpoint_time(conn: &mut DbConnection) -> Result<Option<Timestamp>, LedgerError> {
    Ok(ledger_checkpoints::table
        .order(ledger_checkpoints::size.desc())
        .select(ledger_checkpoints::signed_at)
        .first(conn)
        .optional()?)
}
