//! The newsroom's records: articles, versioned sources, citations, and the
//! newsletter's subscribers. Rules and queries live here; every write appends
//! its ledger entries through the [`Sequencer`](crate::ledger::Sequencer) of the
//! caller's transaction.

pub mod articles;
pub mod captures;
pub mod citation_formats;
pub mod citations;
pub mod cited;
pub mod embargo;
pub mod follow_up;
pub mod from_article;
pub mod lookup;
pub mod oembed;
pub mod packages;
pub mod proposals;
pub mod sealed;
pub mod source_list;
pub mod source_page;
pub mod sources;
pub mod subscribers;
pub mod transparency;
pub mod transparency_page;

pub fn ledger_index(appended: &crate::ledger::Appended) -> i64 {
    i64::try_from(appended.index).unwrap_or(i64::MAX)
}
