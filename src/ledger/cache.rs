//! The bounded in-memory cache of upper tree levels, shared by a process's
//! proof and root readers.

use std::collections::HashMap;
use std::sync::Mutex;

use tlog_tiles::tlog::{self, Hash};

/// Stored hashes of the upper tree levels, shared by a process's readers. A stored
/// hash never changes once committed, so the cache needs no invalidation; only
/// hashes read outside any transaction (hence committed) enter it. Bounded: when
/// full it starts over, so memory stays flat however long the log grows.
pub struct HashCache {
    map: Mutex<HashMap<u64, Hash>>,
    pub(super) capacity: usize,
}

/// Subtrees of at least 2^6 leaves: a proof's upper levels, 1/32 of the rows.
pub(super) const CACHE_MIN_LEVEL: u8 = 6;

impl HashCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// A cache that holds nothing.
    pub fn disabled() -> Self {
        Self::new(0)
    }

    pub(super) fn get(&self, index: u64) -> Option<Hash> {
        self.map.lock().ok()?.get(&index).copied()
    }

    pub(super) fn remember(&self, index: u64, hash: Hash) {
        if self.capacity == 0 || tlog::split_stored_hash_index(index).0 < CACHE_MIN_LEVEL {
            return;
        }
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= self.capacity {
                map.clear();
            }
            map.insert(index, hash);
        }
    }
}
