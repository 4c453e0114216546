//! [`Ledger`]: the one handle every reader of the log goes through. It holds what
//! each read needs besides a connection (the tree hash cache, the signing key,
//! the origin) and answers in `u64` indexes and sizes; the store's `i64` stays
//! inside the store.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use super::store::{self, CheckpointRow, EntryRow, HashCache};
use super::{Hash, LedgerError, hex_hash};
use crate::db::DbConnection;
use crate::secrets::LedgerKey;

/// An entry's position in the log, counted from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Index(pub u64);

/// A number of entries: the size of a tree, or of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TreeSize(pub u64);

impl TreeSize {
    /// Whether entry `index` is in the tree of this size.
    pub fn covers(self, index: Index) -> bool {
        index.0 < self.0
    }

    /// The smallest tree that holds every one of `indexes`.
    pub fn covering(indexes: &[Index]) -> TreeSize {
        TreeSize(indexes.iter().map(|i| i.0 + 1).max().unwrap_or(0))
    }
}

impl std::fmt::Display for Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Display for TreeSize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

pub struct Ledger {
    key: LedgerKey,
    origin: String,
    hashes: HashCache,
}

/// A fact's ledger entry and its inclusion proof to the response's checkpoint.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProvenLeaf {
    pub index: u64,
    /// The exact leaf text; its `record` is the fact shown.
    pub leaf: String,
    pub leaf_hash: String,
    /// RFC 9162 order, the leaf's sibling first.
    pub proof: Vec<String>,
    /// When the leaf is an `embargo.disclosed` entry: the commitment it
    /// opens, proven to the same checkpoint. The fact shown is what the
    /// disclosure discloses, held since the commitment's time.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub commitment: Option<Box<ProvenLeaf>>,
    /// When the leaf is an `embargo.committed` entry not yet disclosed (a
    /// draft, shown to staff): what it commits to, `{"kind", "actor",
    /// "record", "salt"}`, which the reader checks opens it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub opening: Option<serde_json::Value>,
}

/// An inclusion proof with the roots it leads to.
pub struct Inclusion {
    pub index: Index,
    pub tree_size: TreeSize,
    pub leaf_hash: Hash,
    pub root: Hash,
    pub proof: Vec<Hash>,
}

/// A consistency proof with both roots.
pub struct Consistency {
    pub first: TreeSize,
    pub second: TreeSize,
    pub first_root: Hash,
    pub second_root: Hash,
    pub proof: Vec<Hash>,
}

impl Ledger {
    pub fn new(key: LedgerKey, origin: &str, hashes: HashCache) -> Self {
        Self {
            key,
            origin: origin.to_owned(),
            hashes,
        }
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The publisher's signed-note verifier key.
    pub fn vkey(&self) -> &str {
        self.key.verifier_key()
    }

    pub fn key(&self) -> &LedgerKey {
        &self.key
    }

    /// The upper tree levels this process keeps in memory.
    pub fn hashes(&self) -> &HashCache {
        &self.hashes
    }

    /// The number of entries committed so far.
    pub fn size(&self, conn: &mut DbConnection) -> Result<TreeSize, LedgerError> {
        store::size(conn).map(TreeSize)
    }

    /// The latest signed checkpoint, signing one first if the log has grown.
    pub fn latest_checkpoint(&self, conn: &mut DbConnection) -> Result<CheckpointRow, LedgerError> {
        store::latest_checkpoint(
            conn,
            &self.hashes,
            self.key.signer(),
            &self.origin,
            store::KeepWait::AsWrites,
        )
    }

    /// The same for a reader of `/checkpoint`: a checkpoint it cannot keep
    /// within 50 ms (SQLite's write lock held by a slow disk's groups) is
    /// served without being kept.
    pub fn latest_checkpoint_served(
        &self,
        conn: &mut DbConnection,
    ) -> Result<CheckpointRow, LedgerError> {
        store::latest_checkpoint(
            conn,
            &self.hashes,
            self.key.signer(),
            &self.origin,
            store::KeepWait::Briefly,
        )
    }

    /// The oldest signed checkpoint that covers every one of `indexes`.
    pub fn checkpoint_covering(
        &self,
        conn: &mut DbConnection,
        indexes: &[Index],
    ) -> Result<CheckpointRow, LedgerError> {
        let TreeSize(min_size) = TreeSize::covering(indexes);
        store::checkpoint_covering(
            conn,
            &self.hashes,
            self.key.signer(),
            &self.origin,
            min_size,
            // Readers (the lists, the transparency count): a checkpoint
            // they cannot keep at once is served unkept.
            store::KeepWait::Briefly,
        )
    }

    /// The tree size a request names, or the latest checkpoint's when it names
    /// none; a size past the log's end is refused.
    pub fn resolve_size(
        &self,
        conn: &mut DbConnection,
        requested: Option<u64>,
    ) -> Result<TreeSize, LedgerError> {
        match requested {
            None => self.latest_checkpoint(conn)?.tree_size(),
            Some(size) => {
                let current = self.size(conn)?;
                if TreeSize(size) > current {
                    return Err(LedgerError::OutOfRange(format!(
                        "the log has only {current} entries"
                    )));
                }
                Ok(TreeSize(size))
            }
        }
    }

    pub fn root(&self, conn: &mut DbConnection, size: TreeSize) -> Result<Hash, LedgerError> {
        store::root(conn, &self.hashes, size.0)
    }

    /// Proves entry `index` is in the tree of `size` entries (`index < size`,
    /// `size` within the log).
    pub fn inclusion(
        &self,
        conn: &mut DbConnection,
        index: Index,
        size: TreeSize,
    ) -> Result<Inclusion, LedgerError> {
        if !size.covers(index) {
            return Err(LedgerError::OutOfRange(format!(
                "index must be less than the tree size {size}"
            )));
        }
        let row = store::entry(conn, index.0)?
            .ok_or_else(|| LedgerError::Corrupt(format!("no entry {index}")))?;
        Ok(Inclusion {
            index,
            tree_size: size,
            leaf_hash: row.hash()?,
            root: self.root(conn, size)?,
            proof: store::prove_inclusion(conn, &self.hashes, index.0, size.0)?,
        })
    }

    /// Proves the tree of `first` entries is a prefix of the tree of `second`
    /// (`0 < first <= second`, `second` within the log).
    pub fn consistency(
        &self,
        conn: &mut DbConnection,
        first: TreeSize,
        second: TreeSize,
    ) -> Result<Consistency, LedgerError> {
        if first.0 == 0 || first > second {
            return Err(LedgerError::OutOfRange(format!(
                "first must be from 1 to second ({second})"
            )));
        }
        Ok(Consistency {
            first,
            second,
            first_root: self.root(conn, first)?,
            second_root: self.root(conn, second)?,
            proof: store::prove_consistency(conn, &self.hashes, first.0, second.0)?,
        })
    }

    /// The entries at `indexes`, each with its inclusion proof to the tree of
    /// `size` entries, by index. Every index must be below `size`.
    pub fn prove_many(
        &self,
        conn: &mut DbConnection,
        indexes: &[Index],
        size: TreeSize,
    ) -> Result<BTreeMap<Index, ProvenLeaf>, LedgerError> {
        let mut out = BTreeMap::new();
        let raw: Vec<u64> = indexes.iter().map(|i| i.0).collect();
        for entry in store::entries_at(conn, &raw)? {
            let index = entry.index()?;
            let proof = self.prove_entry(conn, entry, size)?;
            out.insert(index, proof);
        }
        Ok(out)
    }

    /// One entry already read, with its inclusion proof to the tree of `size`.
    pub fn prove_entry(
        &self,
        conn: &mut DbConnection,
        entry: EntryRow,
        size: TreeSize,
    ) -> Result<ProvenLeaf, LedgerError> {
        let index = entry.index()?;
        if !size.covers(index) {
            return Err(LedgerError::OutOfRange(format!(
                "entry {index} is not in the tree of {size}"
            )));
        }
        let proof = store::prove_inclusion(conn, &self.hashes, index.0, size.0)?;
        Ok(ProvenLeaf {
            index: index.0,
            leaf_hash: hex::encode(&entry.leaf_hash),
            leaf: entry.leaf,
            proof: proof.iter().map(hex_hash).collect(),
            commitment: None,
            opening: None,
        })
    }
}
