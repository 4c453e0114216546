//! The newsroom's records: articles, versioned sources, citations, and the
//! newsletter's subscribers. Rules and queries live here; every write appends
//! its ledger entries through the [`Sequencer`](crate::ledger::Sequencer) of the
//! caller's transaction.

pub mod articles;
pub mod citations;
pub mod fields;
pub mod sources;
pub mod subscribers;

use serde_json::Value;
use sha2::{Digest, Sha256};

/// Lowercase hex SHA-256 of a record's RFC 8785 canonical JSON.
pub fn record_sha256(record: &Value) -> String {
    let canonical = serde_json_canonicalizer::to_vec(record).unwrap_or_default();
    hex::encode(Sha256::digest(canonical))
}

/// A page of at most `limit` (1 to 1000, default 100) items.
pub fn page_limit(limit: Option<u32>) -> Result<u32, crate::error::ApiError> {
    match limit {
        None => Ok(100),
        Some(n @ 1..=1000) => Ok(n),
        Some(_) => Err(crate::error::ApiError::invalid_field(
            "limit",
            "must be from 1 to 1000",
        )),
    }
}

pub fn ledger_index(appended: &crate::ledger::Appended) -> i64 {
    i64::try_from(appended.index).unwrap_or(i64::MAX)
}
