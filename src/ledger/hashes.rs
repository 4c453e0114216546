//! Reading the tree's stored hashes (sumdb/tlog's stored-hash index) for the
//! tlog functions: through a transaction's own new hashes, the process's cache,
//! and the database.

use std::cell::RefCell;
use std::collections::HashMap;

use diesel::connection::TransactionManager;
use diesel::prelude::*;
use tlog_tiles::tlog::{self, HASH_SIZE, Hash, HashReader};

use super::LedgerError;
use super::cache::{CACHE_MIN_LEVEL, HashCache};
use super::store::{size, to_i64};
use crate::db::DbConnection;
use crate::db::schema::ledger_hashes;

/// Fills `cache` with the stored hashes of the upper tree levels, from the top
/// down until it is full, so a fresh process's first proofs cost what later ones
/// do. Meant for a background thread at start-up; returns how many it read.
pub fn warm_cache(conn: &mut DbConnection, cache: &HashCache) -> Result<usize, LedgerError> {
    let n = size(conn)?;
    let mut wanted: Vec<i64> = Vec::new();
    let mut level: u8 = 63;
    while level >= CACHE_MIN_LEVEL {
        let subtrees = n >> level;
        // Half the room at most: hashes of later growth must fit too.
        if wanted.len() as u64 + subtrees > cache.capacity as u64 / 2 {
            break;
        }
        for k in 0..subtrees {
            wanted.push(to_i64(tlog::stored_hash_index(level, k))?);
        }
        level -= 1;
    }
    let reader = StoredHashes::new(conn, cache);
    for chunk in wanted.chunks(1000) {
        let indexes: Vec<u64> = chunk.iter().map(|&i| i as u64).collect();
        reader
            .read_hashes(&indexes)
            .map_err(|e| LedgerError::Tree(e.to_string()))?;
    }
    Ok(wanted.len())
}

/// Reads stored hashes for the tlog functions.
pub(super) struct StoredHashes<'c, 'o> {
    conn: RefCell<&'c mut DbConnection>,
    overlay: Option<&'o HashMap<u64, Hash>>,
    cache: Option<&'o HashCache>,
}

impl<'c, 'o> StoredHashes<'c, 'o> {
    /// A reader of committed hashes, through `cache` unless inside a transaction,
    /// whose own writes might yet roll back.
    pub(super) fn new(conn: &'c mut DbConnection, cache: &'o HashCache) -> Self {
        let in_transaction = !matches!(
            <DbConnection as Connection>::TransactionManager::transaction_manager_status_mut(conn)
                .transaction_depth(),
            Ok(None)
        );
        Self {
            conn: RefCell::new(conn),
            overlay: None,
            cache: (!in_transaction).then_some(cache),
        }
    }

    pub(super) fn with_overlay(
        conn: &'c mut DbConnection,
        overlay: &'o HashMap<u64, Hash>,
    ) -> Self {
        Self {
            conn: RefCell::new(conn),
            overlay: Some(overlay),
            cache: None,
        }
    }
}

impl HashReader for StoredHashes<'_, '_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog::Error> {
        let mut found: HashMap<u64, Hash> = HashMap::with_capacity(indexes.len());
        let mut missing = Vec::new();
        for &i in indexes {
            let known = self
                .overlay
                .and_then(|o| o.get(&i).copied())
                .or_else(|| self.cache.and_then(|c| c.get(i)));
            match known {
                Some(h) => {
                    found.insert(i, h);
                }
                None => missing.push(i64::try_from(i).map_err(|_| tlog::Error::IndexesNotInTree)?),
            }
        }
        if !missing.is_empty() {
            let mut conn = self.conn.borrow_mut();
            let rows: Vec<(i64, Vec<u8>)> = ledger_hashes::table
                .filter(ledger_hashes::id.eq_any(&missing))
                .select((ledger_hashes::id, ledger_hashes::hash))
                .load(&mut **conn)
                .map_err(|e| tlog::Error::InvalidInput(format!("reading stored hashes: {e}")))?;
            for (id, bytes) in rows {
                let hash = <[u8; HASH_SIZE]>::try_from(bytes.as_slice())
                    .map_err(|_| tlog::Error::MalformedHash)?;
                if let Some(cache) = self.cache {
                    cache.remember(id as u64, Hash(hash));
                }
                found.insert(id as u64, Hash(hash));
            }
        }
        indexes
            .iter()
            .map(|i| found.get(i).copied().ok_or(tlog::Error::IndexesNotInTree))
            .collect()
    }
}
