//! What auditors use: searching the ledger by attribute, exporting it, and
//! re-verifying everything the server stores.

pub mod export;
pub mod verify;

use crate::db::DbConnection;
use crate::error::ApiError;
use crate::ledger::Ledger;
use crate::ledger::store::{self, EntryRow};
use crate::time::Timestamp;

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

#[derive(serde::Serialize, utoipa::ToSchema)]
/// One entry the search found, with its inclusion proof when asked for.
pub struct Event {
    pub index: u64,
    pub at: Timestamp,
    pub kind: String,
    pub actor: String,
    pub article: Option<String>,
    pub source: Option<String>,
    pub leaf: String,
    pub leaf_hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proof: Option<Vec<String>>,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
/// A page of the search.
pub struct EventList {
    pub events: Vec<Event>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next: Option<u64>,
    /// With `proof=true`: the signed checkpoint the proofs lead to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tree_size: Option<u64>,
}

/// A page of the entries `filter` matches after `cursor`, each with its
/// inclusion proof to the latest checkpoint when `with_proof`.
pub fn events(
    conn: &mut DbConnection,
    ledger: &Ledger,
    filter: &EventFilter,
    cursor: Option<u64>,
    limit: u32,
    with_proof: bool,
) -> Result<EventList, ApiError> {
    let rows = search(conn, filter, cursor, limit)?;
    let next = match rows.last() {
        Some(last) if rows.len() == limit as usize => Some(last.index()?.0),
        _ => None,
    };
    let checkpoint = match with_proof {
        true => Some(ledger.latest_checkpoint(conn)?),
        false => None,
    };
    let tree_size = checkpoint.as_ref().map(|c| c.tree_size()).transpose()?;
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        let index = row.index()?;
        let proof = match tree_size {
            Some(size) if size.covers(index) => {
                Some(ledger.prove_entry(conn, row.clone(), size)?.proof)
            }
            _ => None,
        };
        events.push(Event {
            index: index.0,
            at: row.at,
            kind: row.kind,
            actor: row.actor,
            article: row.article,
            source: row.source,
            leaf: row.leaf,
            leaf_hash: hex::encode(row.leaf_hash),
            proof,
        });
    }
    Ok(EventList {
        events,
        next,
        tree_size: tree_size.map(|s| s.0),
        checkpoint: checkpoint.map(|c| c.note),
    })
}
