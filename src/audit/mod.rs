//! What auditors use: searching the ledger by attribute, exporting it, and
//! re-verifying everything the server stores.

pub mod export;
pub mod verify;

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::ledger_entries;
use crate::error::ApiError;
use crate::ledger::leaf;
use crate::ledger::store::EntryRow;

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
    leaf::parse_at(value).map(leaf::format_at).ok_or_else(|| {
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

/// Up to `limit` entries matching `filter` with an index above `after`, in index order.
pub fn search(
    conn: &mut DbConnection,
    filter: &EventFilter,
    after: Option<u64>,
    limit: u32,
) -> Result<Vec<EntryRow>, ApiError> {
    let mut query = ledger_entries::table
        .order(ledger_entries::idx.asc())
        .limit(i64::from(limit))
        .select(EntryRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        let after =
            i64::try_from(after).map_err(|_| ApiError::invalid_field("cursor", "is too large"))?;
        query = query.filter(ledger_entries::idx.gt(after));
    }
    if let Some(kind) = &filter.kind {
        query = query.filter(ledger_entries::kind.eq(kind.clone()));
    }
    if let Some(actor) = &filter.actor {
        query = query.filter(ledger_entries::actor.eq(actor.clone()));
    }
    if let Some(article) = &filter.article {
        query = query.filter(ledger_entries::article.eq(article.clone()));
    }
    if let Some(source) = &filter.source {
        query = query.filter(ledger_entries::source.eq(source.clone()));
    }
    if let Some(from) = &filter.from {
        query = query.filter(ledger_entries::at.ge(from.clone()));
    }
    if let Some(to) = &filter.to {
        query = query.filter(ledger_entries::at.lt(to.clone()));
    }
    Ok(query.load(conn)?)
}
