//! The newsroom's records: articles, versioned sources, citations, and the
//! newsletter's subscribers. Rules and queries live here; every write appends
//! its ledger entries through the [`Sequencer`](crate::ledger::Sequencer) of the
//! caller's transaction.

pub mod articles;
pub mod citations;
pub mod fields;
pub mod source_list;
pub mod sources;
pub mod subscribers;

/// A stored word that names no known value: the database holds something this
/// version of the server never wrote.
#[derive(Debug, thiserror::Error)]
#[error("unknown {0} {1:?} in the database")]
pub struct UnknownValue(pub &'static str, pub String);

pub fn ledger_index(appended: &crate::ledger::Appended) -> i64 {
    i64::try_from(appended.index).unwrap_or(i64::MAX)
}
