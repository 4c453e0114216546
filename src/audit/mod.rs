//! What auditors use: searching the ledger by attribute, exporting it, and
//! re-verifying everything the server stores.

pub mod export;
pub mod verify;

use crate::db::DbConnection;
use crate::error::ApiError;
use crate::ledger::store::{self, EntryRow};

/// A search of the ledger; every filter is optional.
#[derive(Debug, Default, Clone)]
pub struct EventFilter {
    pub kind: Option<String>,
    pub actor: Option<String>,
    pub article: Option<String>,
    pub source: Option<String>,
    /// Entries at or after this time (RFC 3339).
    pub from: Option<String>,
    /// Entries before this time (RFC 3339).
    pub to: Option<String>,
}

/// Normalises an RFC 3339 time to the ledger's own form, so text order is time order.
pub fn ledger_time(field: &str, value: &str) -> Result<String, ApiError> {
    crate::time::parse(value)
        .map(crate::time::format)
        .ok_or_else(|| {
            ApiError::invalid_field(
                field,
                "must be an RFC 3339 time, such as 2026-11-23T10:00:00Z",
            )
        })
}

impl EventFilter {
    pub fn normalised(mut self) -> Result<Self, ApiError> {
        self.from = self
            .from
            .as_deref()
            .map(|v| ledger_time("from", v))
            .transpose()?;
        self.to = self
            .to
            .as_deref()
            .map(|v| ledger_time("to", v))
            .transpose()?;
        Ok(self)
    }
}

/// Up to `limit` entries matching `filter` with an index above `after`, in
/// index order (read through the ledger).
pub fn search(
    conn: &mut DbConnection,
    filter: &EventFilter,
    after: Option<u64>,
    limit: u32,
) -> Result<Vec<EntryRow>, ApiError> {
    let about = store::EntryFilter {
        kind: filter.kind.as_deref(),
        actor: filter.actor.as_deref(),
        article: filter.article.as_deref(),
        source: filter.source.as_deref(),
        from: filter.from.as_deref(),
        to: filter.to.as_deref(),
    };
    store::entries_matching(conn, &about, after, limit).map_err(|e| match e {
        crate::ledger::LedgerError::OutOfRange(_) => {
            ApiError::invalid_field("cursor", "is too large")
        }
        other => other.into(),
    })
}
