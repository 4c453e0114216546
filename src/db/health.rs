//! What the process knows of its storage: whether the disk under the database
//! (or under the data dir) is full, and whether the database can be reached.
//!
//! A fault is noticed where it shows (a write that failed for want of space, a
//! connection that could not be had or was lost) and forgotten at the first
//! sign it is over (a write that committed, a connection that answered). Each
//! change of state is logged once, at `error` when a fault begins and at
//! `info` when it ends, so that an operator reading the log of a night with a
//! full disk finds two lines, not one per refused request. `/metrics` shows
//! the state as gauges and counts the refusals.
//!
//! The state is the process's (a static, not the application state's): the
//! disk and the database are the machine's, shared by every server a process
//! runs; it decides nothing but the log lines, the metrics and how long a
//! request waits for a connection while the database is known to be down.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A storage fault a request can be refused for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// No space left for the database (SQLite's "database or disk is
    /// full", PostgreSQL's "could not extend file").
    DiskFull,
    /// No space left in the data dir for archived copies (`ENOSPC`); under
    /// SQLite the same disk as the database, under PostgreSQL perhaps not.
    DataDirFull,
    /// The database does not answer, or the connection was lost.
    Unreachable,
    /// The object store holding archived copies does not answer, or fails.
    ObjectStore,
}

impl Fault {
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::DiskFull => "disk_full",
            Fault::DataDirFull => "data_dir_full",
            Fault::Unreachable => "database_unreachable",
            Fault::ObjectStore => "object_store_unreachable",
        }
    }
}

struct State {
    on: AtomicBool,
    refusals: AtomicU64,
}

static DISK_FULL: State = State {
    on: AtomicBool::new(false),
    refusals: AtomicU64::new(0),
};
static DATA_DIR_FULL: State = State {
    on: AtomicBool::new(false),
    refusals: AtomicU64::new(0),
};
static UNREACHABLE: State = State {
    on: AtomicBool::new(false),
    refusals: AtomicU64::new(0),
};
static OBJECT_STORE: State = State {
    on: AtomicBool::new(false),
    refusals: AtomicU64::new(0),
};

fn state(fault: Fault) -> &'static State {
    match fault {
        Fault::DiskFull => &DISK_FULL,
        Fault::DataDirFull => &DATA_DIR_FULL,
        Fault::Unreachable => &UNREACHABLE,
        Fault::ObjectStore => &OBJECT_STORE,
    }
}

/// Notes that work failed for `fault`: counted, and logged when it is new.
pub fn failed(fault: Fault, error: &dyn std::fmt::Display) {
    NOTED.with(|noted| noted.set(Some(fault)));
    let state = state(fault);
    state.refusals.fetch_add(1, Ordering::Relaxed);
    if state.on.swap(true, Ordering::AcqRel) {
        return;
    }
    // diesel's connection of several backends says only this when none of
    // them could connect; the pool's message wraps it.
    let said = error.to_string();
    let error: &dyn std::fmt::Display =
        if said.contains("Invalid connection url for multiconnection") {
            &"cannot connect to the database (the pool timed out making a connection)"
        } else {
            error
        };
    match fault {
        Fault::DiskFull => tracing::error!(
            %error,
            "storage is full: writes are refused (507, Retry-After) until space is freed; reads go on"
        ),
        Fault::DataDirFull => tracing::error!(
            %error,
            "storage is full: the data dir has no room for archived copies; uploads and captures are refused (507, Retry-After) until space is freed"
        ),
        Fault::Unreachable => tracing::error!(
            %error,
            "the database is unreachable: requests that need it are refused (503, Retry-After) until it answers again"
        ),
        Fault::ObjectStore => tracing::error!(
            %error,
            "the object store is unreachable: downloads, captures and uploads are refused (503, Retry-After) until it answers again"
        ),
    }
}

thread_local! {
    /// The last fault this thread noted, for a caller that cannot see the
    /// error itself (the group committer, of an item's failure).
    static NOTED: std::cell::Cell<Option<Fault>> = const { std::cell::Cell::new(None) };
}

/// The fault this thread noted last since the previous call, if any.
pub fn take_noted() -> Option<Fault> {
    NOTED.with(|noted| noted.take())
}

/// Ends `state`'s fault; true when it was in force (a plain load first: the
/// common case, no fault, writes nothing shared).
fn ended(state: &State) -> bool {
    state.on.load(Ordering::Acquire) && state.on.swap(false, Ordering::AcqRel)
}

/// Notes that a write appended to the log: the database's disk had room.
pub fn wrote() {
    if ended(&DISK_FULL) {
        tracing::info!("storage has room again: writes are accepted");
    }
    connected();
}

/// Notes that an archived copy was stored: the data dir had room.
pub fn stored() {
    if ended(&DATA_DIR_FULL) {
        tracing::info!("storage has room again: the data dir takes archived copies");
    }
}

/// Milliseconds since the Unix epoch when the database last came back.
static BACK_AT_MS: AtomicU64 = AtomicU64::new(0);

/// How long after the database comes back connections are still tried
/// before use: the pool holds connections the outage broke.
const PROBATION_MS: u64 = 10_000;

fn now_ms() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or_default()
}

/// Notes that the database answered.
pub fn connected() {
    if ended(&UNREACHABLE) {
        BACK_AT_MS.store(now_ms(), Ordering::Release);
        tracing::info!("the database answers again");
    }
}

/// Whether connections should be tried before use: the database is down,
/// or came back less than ten seconds ago.
pub fn doubtful() -> bool {
    is_on(Fault::Unreachable)
        || now_ms().saturating_sub(BACK_AT_MS.load(Ordering::Acquire)) < PROBATION_MS
}

/// Notes that the object store answered.
pub fn store_answered() {
    if ended(&OBJECT_STORE) {
        tracing::info!("the object store answers again");
    }
}

/// Logs a background task's failed round (`what` names it) at `warn`,
/// unless it failed for a storage fault in force: that was logged once as it
/// began, and a round every few seconds would bury it.
pub fn background_failed(what: &str, error: &dyn std::fmt::Display) {
    let text = error.to_string();
    let for_a_fault = ["storage_full", "unavailable"]
        .iter()
        .any(|code| text.contains(code))
        || classify_message(&text).is_some();
    let in_force = [Fault::DiskFull, Fault::Unreachable, Fault::ObjectStore]
        .into_iter()
        .any(is_on);
    if !(for_a_fault && in_force) {
        tracing::warn!(error = %text, "{what}");
    }
}

/// Whether `fault` is in force, as far as the process knows.
pub fn is_on(fault: Fault) -> bool {
    state(fault).on.load(Ordering::Acquire)
}

/// Requests refused for `fault` since the process started.
pub fn refusals(fault: Fault) -> u64 {
    state(fault).refusals.load(Ordering::Relaxed)
}

/// The fault a database error shows, if it shows one.
///
/// Neither backend's driver names these by kind: SQLite says `SQLITE_FULL`
/// as "database or disk is full"; PostgreSQL says "could not extend file …:
/// No space left on device" (SQLSTATE 53100) or "could not write …"; a lost
/// connection is diesel's `ClosedConnection`, or the server's own words when
/// it shuts down or restarts (SQLSTATE class 57P and 08).
pub fn classify(error: &diesel::result::Error) -> Option<Fault> {
    use diesel::result::{DatabaseErrorKind, Error};
    match error {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => Some(Fault::Unreachable),
        // diesel's word for a transaction whose connection went away under
        // it (its state can no longer be known).
        Error::BrokenTransactionManager => Some(Fault::Unreachable),
        Error::DatabaseError(_, info) => classify_message(info.message()),
        Error::QueryBuilderError(e) => classify_message(&e.to_string()),
        _ => None,
    }
}

/// The fault a message names, if it names one.
pub fn classify_message(message: &str) -> Option<Fault> {
    const FULL: [&str; 4] = [
        "database or disk is full",
        "No space left on device",
        "could not extend file",
        "Disk quota exceeded",
    ];
    const GONE: [&str; 12] = [
        "server closed the connection",
        "terminating connection due to administrator command",
        "the database system is shutting down",
        "the database system is starting up",
        "no connection to the server",
        "connection to server",
        "could not receive data from server",
        "because of crash of another server process",
        "SSL connection has been closed unexpectedly",
        "SSL SYSCALL error",
        "connection is closed",
        "The transaction manager is broken",
    ];
    if FULL.iter().any(|m| message.contains(m)) {
        Some(Fault::DiskFull)
    } else if GONE.iter().any(|m| message.contains(m)) {
        Some(Fault::Unreachable)
    } else {
        None
    }
}

/// Whether a file-system error is a full disk (`ENOSPC`, `EDQUOT`).
pub fn is_disk_full(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    ) || error.to_string().contains("No space left on device")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_each_backends_words() {
        assert_eq!(
            classify_message("database or disk is full"),
            Some(Fault::DiskFull)
        );
        assert_eq!(
            classify_message("could not extend file \"base/16384/2619\": No space left on device"),
            Some(Fault::DiskFull)
        );
        assert_eq!(
            classify_message("terminating connection due to administrator command"),
            Some(Fault::Unreachable)
        );
        assert_eq!(classify_message("UNIQUE constraint failed"), None);
        assert!(is_disk_full(&std::io::Error::from_raw_os_error(28)));
        assert!(!is_disk_full(&std::io::Error::from_raw_os_error(2)));
    }
}
