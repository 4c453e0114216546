//! The log: canonical leaves, RFC 6962 hashing, append, tree heads, inclusion and
//! consistency proofs, and Ed25519-signed C2SP checkpoints. It knows nothing of
//! HTTP, articles or sources: other modules hand it records inside their own
//! transactions.
//!
//! The Merkle math is `tlog_tiles` (a port of Go's `golang.org/x/mod/sumdb/tlog`)
//! and the note format `signed_note` (a port of `sumdb/note`).

pub mod attestations;
mod cache;
pub mod checkpoint;
mod checkpoints;
pub mod cosignature;
pub mod embargo;
pub mod group;
mod handle;
mod hashes;
pub mod leaf;
pub mod proof;
mod reads;
pub mod store;
pub mod tiles;
pub mod timestamp;

pub use group::GroupCommitter;
pub use handle::{Consistency, Inclusion, Index, Ledger, ProvenLeaf, TreeSize};
pub use store::{About, Appended, Sequencer, write_transaction};
pub use tlog_tiles::tlog::{Hash, record_hash as leaf_hash};

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("the ledger entry would be {0} bytes; the limit is 65536")]
    LeafTooLarge(usize),
    #[error("malformed leaf: {0}")]
    MalformedLeaf(String),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error(transparent)]
    Unavailable(#[from] crate::db::Unavailable),
    #[error("tree: {0}")]
    Tree(String),
    #[error("signing: {0}")]
    Signing(String),
    #[error("{0}")]
    OutOfRange(String),
    #[error("the ledger is inconsistent: {0}")]
    Corrupt(String),
}

/// Lowercase hex, as hashes appear in JSON.
pub fn hex_hash(hash: &Hash) -> String {
    hex::encode(hash.0)
}
