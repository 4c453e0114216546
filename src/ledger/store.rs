//! The log in the database: entries, the tree's stored hashes (sumdb/tlog's
//! stored-hash index, so a proof or a root reads O(log n) rows and start-up never
//! rebuilds anything), the head row that serialises writers, and every signed
//! checkpoint.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::Value;
use tlog_tiles::tlog::{self, HASH_SIZE, Hash};

pub use super::cache::HashCache;
pub use super::checkpoints::{
    KeepWait, checkpoint_covering, checkpoints, latest_checkpoint, newest_checkpoint_time,
};
use super::handle::{Index, TreeSize};
use super::hashes::StoredHashes;
pub use super::hashes::warm_cache;
pub use super::reads::{
    EntryFilter, embargoed_between, entries, entries_at, entries_between, entries_matching, entry,
    max_index, stored_hashes_between,
};
use super::{LedgerError, leaf};
use crate::db::insert::insert_all;
use crate::db::schema::{
    embargoed_entries, ledger_checkpoints, ledger_entries, ledger_hashes, ledger_head,
};
use crate::db::{DbConnection, WriteCount};
use crate::time::Timestamp;

/// What one append wrote.
#[derive(Debug, Clone)]
pub struct Appended {
    pub index: u64,
    pub at: Timestamp,
    pub leaf: String,
    pub leaf_hash: Hash,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ledger_entries, treat_none_as_default_value = false)]
pub struct EntryRow {
    pub idx: i64,
    pub at: Timestamp,
    pub kind: String,
    pub actor: String,
    pub leaf: String,
    pub leaf_hash: Vec<u8>,
    pub article: Option<String>,
    pub source: Option<String>,
}

/// What an entry is about, for auditors' searches: the article and the source
/// it concerns, where there are any. Not part of the leaf.
#[derive(Debug, Clone, Copy, Default)]
pub struct About<'a> {
    pub article: Option<&'a str>,
    pub source: Option<&'a str>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = ledger_checkpoints)]
pub struct CheckpointRow {
    pub size: i64,
    pub root_hash: Vec<u8>,
    pub note: String,
    pub signed_at: Timestamp,
}

impl EntryRow {
    pub fn index(&self) -> Result<Index, LedgerError> {
        to_u64(self.idx).map(Index)
    }

    pub fn hash(&self) -> Result<Hash, LedgerError> {
        let bytes: [u8; HASH_SIZE] = self.leaf_hash.as_slice().try_into().map_err(|_| {
            LedgerError::Corrupt(format!("entry {} has a malformed leaf hash", self.idx))
        })?;
        Ok(Hash(bytes))
    }
}

impl CheckpointRow {
    pub fn tree_size(&self) -> Result<TreeSize, LedgerError> {
        to_u64(self.size).map(TreeSize)
    }
}

pub(super) fn to_i64(n: u64) -> Result<i64, LedgerError> {
    i64::try_from(n).map_err(|_| LedgerError::OutOfRange(format!("{n} is too large")))
}

pub(super) fn to_u64(n: i64) -> Result<u64, LedgerError> {
    u64::try_from(n).map_err(|_| LedgerError::Corrupt(format!("negative number {n} in the ledger")))
}

/// Appends entries within the caller's transaction. [`Sequencer::lock`] takes the
/// log's write lock (the head row) until that transaction ends, so concurrent
/// writers, in this process or others on the same database, queue and each
/// entry gets the next index with no gap and no fork.
pub struct Sequencer {
    size: u64,
    last_at: Option<DateTime<Utc>>,
    /// The head as locked, so [`Sequencer::finish`] knows whether it moved.
    locked_size: u64,
    /// The stored hashes of this transaction's entries, by stored-hash index:
    /// read back from here while the transaction runs (a batch never reads its
    /// own rows) and written in a few statements by [`Sequencer::finish`].
    written: HashMap<u64, Hash>,
    /// This transaction's entries, in index order, inserted by
    /// [`Sequencer::finish`] in a few statements (nothing reads the entries
    /// of a transaction that is still writing).
    entries: Vec<EntryRow>,
    /// What this transaction's commitments hide, inserted with the entries.
    held: Vec<super::embargo::EmbargoedRow>,
    /// Those inserted before the end (for a disclosure), in order: a
    /// savepoint rolled back after a mark takes those inserted since with it.
    flushed: Vec<super::embargo::EmbargoedRow>,
    /// Records that commit with their entries, written by
    /// [`Sequencer::finish`] in one statement per kind ([`Sequencer::defer`]).
    deferred: Vec<Deferred>,
    /// A [`Sequencer::finish`] began and did not complete: what it had taken
    /// out of memory may not be in the database, so nothing may go on but a
    /// rollback of the whole transaction.
    broken: bool,
}

/// Writes rows of one kind handed to [`Sequencer::defer`], all at once; each
/// is the kind's own type (a mismatch is a bug, and an error).
pub type InsertDeferred =
    fn(&mut DbConnection, Vec<Box<dyn std::any::Any + Send>>) -> Result<(), LedgerError>;

/// A row [`Sequencer::finish`] is to write, with the kind it is of.
struct Deferred {
    kind: &'static str,
    insert: InsertDeferred,
    row: Box<dyn std::any::Any + Send>,
}

/// Where a [`Sequencer`] stood, to go back to when a savepoint rolls back.
#[derive(Debug, Clone, Copy)]
pub struct Mark {
    size: u64,
    last_at: Option<DateTime<Utc>>,
    locked_size: u64,
    flushed: usize,
    deferred: usize,
}

/// One stored hash of the tree, by its stored-hash index.
#[derive(Insertable)]
#[diesel(table_name = ledger_hashes, treat_none_as_default_value = false)]
struct HashRow {
    id: i64,
    hash: Vec<u8>,
}

impl Sequencer {
    /// Locks the head. Call it first in the transaction: on SQLite the write
    /// makes this the writer before any read, on PostgreSQL it locks the row.
    pub(super) fn lock(conn: &mut DbConnection) -> Result<Self, LedgerError> {
        let locked = diesel::update(ledger_head::table.find(1))
            .set(ledger_head::size.eq(ledger_head::size))
            .execute(conn)?;
        if locked != 1 {
            return Err(LedgerError::Corrupt(
                "the ledger head row is missing".into(),
            ));
        }
        let (size, last_at): (i64, String) = ledger_head::table
            .find(1)
            .select((ledger_head::size, ledger_head::last_at))
            .first(conn)?;
        let last_at = match crate::time::parse(&last_at) {
            None if size > 0 => {
                return Err(LedgerError::Corrupt(format!(
                    "the head's last time {last_at:?} is not a time"
                )));
            }
            parsed => parsed,
        };
        let size = to_u64(size)?;
        Ok(Self {
            size,
            last_at,
            locked_size: size,
            written: HashMap::new(),
            entries: Vec::new(),
            held: Vec::new(),
            flushed: Vec::new(),
            deferred: Vec::new(),
            broken: false,
        })
    }

    /// Where the sequencer stands now.
    pub fn mark(&self) -> Mark {
        Mark {
            size: self.size,
            last_at: self.last_at,
            locked_size: self.locked_size,
            flushed: self.flushed.len(),
            deferred: self.deferred.len(),
        }
    }

    /// Forgets every append made since `mark`, whose rows a savepoint has just
    /// rolled back. A later entry's stored hashes all come after an earlier
    /// one's, so those of the forgotten entries are the ones from the first
    /// index of entry `mark.size` on.
    ///
    /// Work that called [`Sequencer::finish`] since `mark` had its rows
    /// written and taken out of memory, and a rollback to before it removed
    /// earlier work's rows too: that cannot be put back, and is an error (the
    /// whole transaction must roll back).
    pub fn rewind(&mut self, mark: Mark) -> Result<(), LedgerError> {
        if self.broken || self.locked_size != mark.locked_size {
            return Err(LedgerError::Corrupt(
                "work that finished the sequencer was rolled back".into(),
            ));
        }
        let first = tlog::stored_hash_index(0, mark.size);
        self.written.retain(|&index, _| index < first);
        let kept = self
            .entries
            .iter()
            .take_while(|e| u64::try_from(e.idx).is_ok_and(|i| i < mark.size))
            .count();
        self.entries.truncate(kept);
        // Rows written since the mark were rolled back with the savepoint:
        // those of earlier work are pending again, the forgotten work's gone.
        let mark_index = to_i64(mark.size)?;
        let rolled_back = self.flushed.split_off(mark.flushed.min(self.flushed.len()));
        self.held.extend(rolled_back);
        self.held.retain(|h| h.idx < mark_index);
        self.deferred.truncate(mark.deferred);
        self.size = mark.size;
        self.last_at = mark.last_at;
        Ok(())
    }

    /// Writes what the appends left for the end: the stored hashes and the new
    /// head. [`write_transaction`] and the group committer call it last in the
    /// transaction; work that reads the tree it has just grown, inside its own
    /// transaction, calls it first.
    pub fn finish(&mut self, conn: &mut DbConnection) -> Result<u64, LedgerError> {
        if self.broken {
            return Err(LedgerError::Corrupt(
                "an earlier finish of this transaction failed".into(),
            ));
        }
        if self.size == self.locked_size && self.deferred.is_empty() {
            return Ok(0);
        }
        // Until the end, a failure leaves the transaction only to roll back.
        self.broken = true;
        self.flush_held(conn)?;
        let appended = self.size - self.locked_size;
        let mut written: Vec<(u64, Hash)> = self.written.drain().collect();
        written.sort_unstable_by_key(|&(index, _)| index);
        let rows = written
            .iter()
            .map(|&(index, hash)| {
                Ok(HashRow {
                    id: to_i64(index)?,
                    hash: hash.0.to_vec(),
                })
            })
            .collect::<Result<Vec<_>, LedgerError>>()?;
        insert_all!(
            conn,
            ledger_entries::table,
            &std::mem::take(&mut self.entries)
        )?;
        insert_all!(conn, ledger_hashes::table, &rows)?;
        self.insert_deferred(conn)?;
        let last_at = self.last_at.map(crate::time::format).unwrap_or_default();
        diesel::update(ledger_head::table.find(1))
            .set((
                ledger_head::size.eq(to_i64(self.size)?),
                ledger_head::last_at.eq(last_at),
            ))
            .execute(conn)?;
        self.locked_size = self.size;
        self.broken = false;
        Ok(appended)
    }

    /// Keeps `row` (of kind `kind`, written by `insert`) to be written by
    /// [`Sequencer::finish`] with the rows of its kind deferred beside it:
    /// one statement for a group's new sources, not one each. For rows that
    /// nothing reads before the transaction ends and that cannot clash with
    /// another's (a new, time-ordered id); a failure at the end fails the
    /// whole transaction.
    pub fn defer<R: std::any::Any + Send>(
        &mut self,
        kind: &'static str,
        insert: InsertDeferred,
        row: R,
    ) {
        self.deferred.push(Deferred {
            kind,
            insert,
            row: Box::new(row),
        });
    }

    /// Writes the deferred rows, each run of one kind at once.
    fn insert_deferred(&mut self, conn: &mut DbConnection) -> Result<(), LedgerError> {
        let mut deferred = std::mem::take(&mut self.deferred).into_iter().peekable();
        while let Some(first) = deferred.next() {
            let mut rows = vec![first.row];
            while let Some(next) = deferred.next_if(|d| d.kind == first.kind) {
                rows.push(next.row);
            }
            (first.insert)(conn, rows)?;
        }
        Ok(())
    }

    /// Writes what this transaction's commitments hide so far: before
    /// anything in the transaction reads `embargoed_entries` (a disclosure).
    pub fn flush_held(&mut self, conn: &mut DbConnection) -> Result<(), LedgerError> {
        if !self.held.is_empty() {
            let rows = std::mem::take(&mut self.held);
            insert_all!(conn, embargoed_entries::table, &rows, owned)?;
            self.flushed.extend(rows);
        }
        Ok(())
    }

    /// Appends a commitment entry (`prepared`, made by
    /// [`Commitment::prepare`](super::embargo::Commitment::prepare)) and keeps
    /// what it hides, to be written with the entries.
    pub fn append_committed(
        &mut self,
        conn: &mut DbConnection,
        commitment: &super::embargo::Commitment,
        prepared: &leaf::PreparedLeaf,
        about: About<'_>,
    ) -> Result<Appended, LedgerError> {
        let appended = self.append_prepared(conn, prepared, about)?;
        self.held.push(super::embargo::EmbargoedRow::of(
            appended.index,
            commitment,
            about,
        )?);
        Ok(appended)
    }

    /// The size of the log including what this transaction appended.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends one entry for `record`, about nothing in particular.
    pub fn append(
        &mut self,
        conn: &mut DbConnection,
        kind: &str,
        actor: &str,
        record: &Value,
    ) -> Result<Appended, LedgerError> {
        self.append_about(conn, kind, actor, record, About::default())
    }

    /// Appends one entry for `record`; returns its index and leaf.
    pub fn append_about(
        &mut self,
        conn: &mut DbConnection,
        kind: &str,
        actor: &str,
        record: &Value,
        about: About<'_>,
    ) -> Result<Appended, LedgerError> {
        self.append_prepared(conn, &leaf::prepare(kind, actor, record)?, about)
    }

    /// Appends one entry for a leaf encoded beforehand ([`leaf::prepare`]),
    /// so that the work under the log's write lock is the time, the hashes and
    /// the rows.
    pub fn append_prepared(
        &mut self,
        conn: &mut DbConnection,
        prepared: &leaf::PreparedLeaf,
        about: About<'_>,
    ) -> Result<Appended, LedgerError> {
        let at = leaf::next_at(self.last_at);
        let at_text = crate::time::format(at);
        let leaf_text = prepared.at(&at_text)?;
        let n = self.size;
        let hashes = {
            let reader = StoredHashes::with_overlay(conn, &self.written);
            tlog::stored_hashes(n, leaf_text.as_bytes(), &reader)
                .map_err(|e| LedgerError::Tree(e.to_string()))?
        };
        let leaf_hash = *hashes
            .first()
            .ok_or_else(|| LedgerError::Tree("no hashes to store".into()))?;
        let index = to_i64(n)?;

        self.entries.push(EntryRow {
            idx: index,
            at: Timestamp::at(at),
            kind: prepared.kind().to_owned(),
            actor: prepared.actor().to_owned(),
            leaf: leaf_text.clone(),
            leaf_hash: leaf_hash.0.to_vec(),
            article: about.article.map(str::to_owned),
            source: about.source.map(str::to_owned),
        });
        let first = tlog::stored_hash_index(0, n);
        self.written.extend((first..).zip(hashes));

        self.size = n + 1;
        self.last_at = Some(at);
        Ok(Appended {
            index: n,
            at: Timestamp::at(at),
            leaf: leaf_text,
            leaf_hash,
        })
    }
}

/// Runs `work` in one database transaction that appends to the log: the log's
/// write lock is taken by its first statement, and the records `work` writes
/// commit together with their entries, or not at all. The commit is counted
/// in `writes` (the server's own count, which its read caches compare).
pub fn write_transaction<T, E, F>(
    conn: &mut DbConnection,
    writes: &WriteCount,
    work: F,
) -> Result<T, E>
where
    F: FnOnce(&mut DbConnection, &mut Sequencer) -> Result<T, E>,
    E: From<LedgerError> + From<diesel::result::Error>,
{
    let done = conn.transaction(|conn| {
        let mut sequencer = Sequencer::lock(conn)?;
        let done = work(conn, &mut sequencer)?;
        let appended = sequencer.finish(conn)?;
        Ok((done, appended))
    });
    done.map(|(done, appended)| {
        writes.note(appended);
        done
    })
}

/// The number of entries committed so far.
pub fn size(conn: &mut DbConnection) -> Result<u64, LedgerError> {
    let size: i64 = ledger_head::table
        .find(1)
        .select(ledger_head::size)
        .first(conn)?;
    to_u64(size)
}

/// The root of the tree of the first `size` entries.
pub fn root(conn: &mut DbConnection, cache: &HashCache, size: u64) -> Result<Hash, LedgerError> {
    tlog::tree_hash(size, &StoredHashes::new(conn, cache))
        .map_err(|e| LedgerError::Tree(e.to_string()))
}

/// The inclusion proof of entry `index` in the tree of `size` entries, RFC 9162
/// order. The caller checks `index < size <= size(conn)`.
pub fn prove_inclusion(
    conn: &mut DbConnection,
    cache: &HashCache,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, LedgerError> {
    tlog::prove_record(size, index, &StoredHashes::new(conn, cache))
        .map_err(|e| LedgerError::Tree(e.to_string()))
}

/// The consistency proof from the tree of `first` entries to that of `second`.
/// The caller checks `0 < first <= second <= size(conn)`.
pub fn prove_consistency(
    conn: &mut DbConnection,
    cache: &HashCache,
    first: u64,
    second: u64,
) -> Result<Vec<Hash>, LedgerError> {
    tlog::prove_tree(second, first, &StoredHashes::new(conn, cache))
        .map_err(|e| LedgerError::Tree(e.to_string()))
}
