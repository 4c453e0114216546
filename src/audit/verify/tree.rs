//! Every entry below the head, in pages: its leaf hash, the stored hashes the
//! leaves give, its columns, time order, and the roots of the checkpoints.

use std::collections::HashMap;
use std::iter::Peekable;

use tlog_tiles::tlog::{self, Hash};

use super::{PAGE, ProblemKind, Problems, RecordKey};
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::ledger::embargo;
use crate::ledger::leaf::Leaf;
use crate::ledger::proof::TreeBuilder;
use crate::ledger::store::{self, EntryRow};
use crate::newsroom::embargo::EmbargoedRow;

/// The tree recomputed so far, and what the leaves said of each record.
struct Walk<'p> {
    builder: TreeBuilder,
    roots_due: Peekable<std::vec::IntoIter<(u64, Hash)>>,
    /// Each record's latest entry, by record key.
    latest: HashMap<RecordKey, u64>,
    previous_at: String,
    problems: &'p mut Problems,
}

/// Checks entries `0..size`; returns each record's latest entry by record key.
pub(super) fn check(
    conn: &mut DbConnection,
    size: u64,
    roots_due: Vec<(u64, Hash)>,
    problems: &mut Problems,
) -> Result<HashMap<RecordKey, u64>, ApiError> {
    let mut walk = Walk {
        builder: TreeBuilder::new(),
        roots_due: roots_due.into_iter().peekable(),
        latest: HashMap::new(),
        previous_at: String::new(),
        problems,
    };
    let size = i64::try_from(size).map_err(ApiError::internal)?;
    let mut start = 0;
    while start < size {
        let end = size.min(start + PAGE);
        // Read through the ledger: the entries, and the stored hashes they give.
        let rows: Vec<EntryRow> = store::entries_between(conn, start, end)?;
        let stored: HashMap<i64, Vec<u8>> = store::stored_hashes_between(
            conn,
            tlog::stored_hash_index(0, start as u64) as i64,
            tlog::stored_hash_index(0, end as u64) as i64,
        )?;
        // What the server holds for the commitments in this page, and for
        // those the page's disclosures disclose.
        let held = store::embargoed_between(conn, start, end)?;
        let mut rows = rows.into_iter().peekable();
        for n in start as u64..end as u64 {
            match rows.next_if(|r| r.idx as u64 == n) {
                Some(row) => walk.entry(n, &row, &stored, &held),
                None => walk.hole(n, size as u64, &stored),
            }
            walk.check_roots(n + 1);
        }
        start = end;
    }
    Ok(walk.latest)
}

impl Walk<'_> {
    /// No entry at `n`: the tree cannot be recomputed past a hole, so it goes
    /// on with the stored hash, and later checks still mean something.
    fn hole(&mut self, n: u64, size: u64, stored: &HashMap<i64, Vec<u8>>) {
        self.problems.add(
            ProblemKind::MissingEntry,
            Some(n),
            format!("no entry {n} below the tree head {size}"),
        );
        let hash = stored
            .get(&(tlog::stored_hash_index(0, n) as i64))
            .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
            .map(Hash)
            .unwrap_or(tlog::EMPTY_HASH);
        self.builder.push(hash);
    }

    fn entry(
        &mut self,
        n: u64,
        row: &EntryRow,
        stored: &HashMap<i64, Vec<u8>>,
        held: &HashMap<i64, EmbargoedRow>,
    ) {
        let leaf_hash = tlog::record_hash(row.leaf.as_bytes());
        if row.leaf_hash.as_slice() != leaf_hash.0.as_slice() {
            self.problems.add(
                ProblemKind::LeafHashMismatch,
                Some(n),
                "the leaf's bytes no longer hash to its stored leaf hash",
            );
        }
        let mut expected = vec![leaf_hash];
        self.builder.push_with(leaf_hash, |h| expected.push(h));
        for (offset, hash) in (0i64..).zip(expected) {
            let id = tlog::stored_hash_index(0, n) as i64 + offset;
            let kind = if offset == 0 {
                ProblemKind::StoredHashMismatch
            } else {
                ProblemKind::InteriorHashMismatch
            };
            match stored.get(&id) {
                None => self.problems.add(
                    ProblemKind::StoredHashMissing,
                    Some(n),
                    format!("stored hash {id} is missing"),
                ),
                Some(h) if h.as_slice() != hash.0.as_slice() => self.problems.add(
                    kind,
                    Some(n),
                    format!("stored hash {id} is not what the leaves give"),
                ),
                Some(_) => {}
            }
        }
        match Leaf::parse(&row.leaf) {
            Err(e) => self
                .problems
                .add(ProblemKind::MalformedLeaf, Some(n), e.to_string()),
            Ok(leaf) => self.leaf(n, row, leaf, held),
        }
    }

    fn leaf(&mut self, n: u64, row: &EntryRow, leaf: Leaf, held: &HashMap<i64, EmbargoedRow>) {
        if leaf.kind != row.kind || leaf.at != *row.at || leaf.actor != row.actor {
            self.problems.add(
                ProblemKind::EntryColumnsMismatch,
                Some(n),
                "the entry's kind, at or actor columns differ from its leaf",
            );
        }
        if leaf.at < self.previous_at {
            self.problems.add(
                ProblemKind::TimeWentBack,
                Some(n),
                format!("{} comes before {}", leaf.at, self.previous_at),
            );
        }
        self.previous_at = leaf.at.clone();
        if leaf.kind == embargo::DISCLOSED {
            // A disclosure must be of a commitment held for it, with what is
            // held (which the commitment was checked to open); the record it
            // discloses stays at its commitment.
            let committed = leaf.record["index"].as_i64();
            let matches = committed.and_then(|i| held.get(&i)).is_some_and(|h| {
                h.disclosure_index == i64::try_from(n).ok()
                    && h.opening().is_ok_and(|o| {
                        ["kind", "actor", "record", "salt"]
                            .iter()
                            .all(|k| o[*k] == leaf.record[*k])
                    })
            });
            if !matches {
                self.problems.add(
                    ProblemKind::RecordMismatch,
                    Some(n),
                    "the disclosure is not of what its commitment holds",
                );
            }
            return;
        }
        let leaf = match super::opened(leaf, n, i64::try_from(n).ok().and_then(|i| held.get(&i))) {
            Ok(leaf) => leaf,
            Err(e) => {
                self.problems.add(ProblemKind::RecordMismatch, Some(n), e);
                return;
            }
        };
        if let Some(key) = RecordKey::of_entry(&leaf) {
            self.latest.insert(key, n);
        }
    }

    /// The roots of the checkpoints of `size` entries, now that the tree has them.
    fn check_roots(&mut self, size: u64) {
        while let Some((cp_size, root)) = self.roots_due.next_if(|(s, _)| *s == size) {
            if self.builder.root() != root {
                self.problems.add(
                    ProblemKind::CheckpointRootMismatch,
                    Some(cp_size),
                    format!("the leaves do not give checkpoint {cp_size}'s root"),
                );
            }
        }
    }
}
