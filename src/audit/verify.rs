//! Server-side re-verification: re-read every leaf and record, recompute the
//! tree and its stored hashes, check every signed checkpoint, and report every
//! problem with its index. Reads in pages, each its own short read, so writers
//! are never held back; entries appended after the check starts are left for
//! the next one.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;
use serde_json::Value;
use tlog_tiles::tlog::{self, Hash};
use utoipa::ToSchema;

use crate::db::schema::{
    articles, citations, ledger_checkpoints, ledger_entries, ledger_hashes, sources,
};
use crate::db::{Db, DbConnection};
use crate::error::ApiError;
use crate::ledger::checkpoint;
use crate::ledger::leaf::Leaf;
use crate::ledger::proof::TreeBuilder;
use crate::ledger::store::{self, CheckpointRow, EntryRow};
use crate::newsroom::articles::Article;
use crate::newsroom::citations::Citation;
use crate::newsroom::sources::SourceVersion;

const PAGE: i64 = 5000;
const MAX_PROBLEMS: usize = 1000;

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct VerifyProblem {
    /// e.g. `leaf_hash_mismatch`, `stored_hash_mismatch`, `missing_entry`,
    /// `extra_entry`, `checkpoint_signature`, `checkpoint_root_mismatch`,
    /// `record_mismatch`, `record_stale`, `missing_record`, `time_went_back`.
    pub kind: &'static str,
    /// The ledger index concerned, where there is one.
    pub index: Option<u64>,
    pub detail: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerifyReport {
    /// True only when `problems` is empty.
    pub ok: bool,
    pub tree_size: u64,
    /// Entries checked.
    pub checked: u64,
    pub problems: Vec<VerifyProblem>,
}

struct Problems(Vec<VerifyProblem>);

impl Problems {
    fn add(&mut self, kind: &'static str, index: Option<u64>, detail: impl Into<String>) {
        if self.0.len() < MAX_PROBLEMS {
            self.0.push(VerifyProblem {
                kind,
                index,
                detail: detail.into(),
            });
        } else if self.0.len() == MAX_PROBLEMS {
            self.0.push(VerifyProblem {
                kind: "too_many_problems",
                index: None,
                detail: format!("stopped listing after {MAX_PROBLEMS} problems"),
            });
        }
    }
}

/// Which record an entry is about, by its kind and record.
fn record_key(leaf: &Leaf) -> Option<String> {
    let r = &leaf.record;
    let text = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_owned);
    match leaf.kind.split('.').next()? {
        "article" => Some(format!("article:{}", text("slug")?)),
        "source" => Some(format!(
            "source:{}:{}",
            text("id")?,
            r.get("version")?.as_i64()?
        )),
        "citation" => Some(format!("citation:{}", text("id")?)),
        _ => None,
    }
}

/// Re-verifies the whole ledger with the publisher's `vkey`.
pub fn run(db: &Db, vkey: &str) -> Result<VerifyReport, ApiError> {
    let mut conn = db.get()?;
    let conn = &mut *conn;
    let mut problems = Problems(Vec::new());

    // One consistent snapshot for the head, the last index and the checkpoints.
    let (size, max_index, checkpoints) = conn.transaction::<_, ApiError, _>(|conn| {
        if let DbConnection::Postgres(_) = conn {
            // READ COMMITTED would let each read see a newer log.
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(conn)?;
        }
        let size = store::size(conn)?;
        let max_index: Option<i64> = ledger_entries::table
            .select(diesel::dsl::max(ledger_entries::idx))
            .first(conn)?;
        let checkpoints: Vec<CheckpointRow> = ledger_checkpoints::table
            .order(ledger_checkpoints::size.asc())
            .select(CheckpointRow::as_select())
            .load(conn)?;
        Ok((size, max_index, checkpoints))
    })?;
    if let Some(max) = max_index.and_then(|m| u64::try_from(m).ok())
        && max >= size
    {
        for index in size..=max.min(size + MAX_PROBLEMS as u64) {
            problems.add(
                "extra_entry",
                Some(index),
                format!("an entry beyond the tree head (size {size})"),
            );
        }
    }

    // Every checkpoint: its signature, and that it says what its row says.
    let mut roots_due: Vec<(u64, Hash)> = Vec::new();
    for row in &checkpoints {
        let Ok(row_size) = u64::try_from(row.size) else {
            problems.add(
                "checkpoint_mismatch",
                None,
                format!("a checkpoint row has size {}", row.size),
            );
            continue;
        };
        match checkpoint::open(row.note.as_bytes(), vkey) {
            Err(e) => problems.add(
                "checkpoint_signature",
                Some(row_size),
                format!("checkpoint {row_size}: {e}"),
            ),
            Ok(cp) if cp.size != row_size || cp.root.0.as_slice() != row.root_hash.as_slice() => {
                problems.add(
                    "checkpoint_mismatch",
                    Some(row_size),
                    format!(
                        "checkpoint {row_size}: the signed note says size {} root {}",
                        cp.size,
                        hex::encode(cp.root.0)
                    ),
                )
            }
            Ok(cp) if row_size > size => {
                problems.add(
                    "checkpoint_beyond_head",
                    Some(row_size),
                    format!("checkpoint {row_size} is beyond the tree head {size}"),
                );
                let _ = cp;
            }
            Ok(cp) => roots_due.push((row_size, cp.root)),
        }
    }
    let mut roots_due = roots_due.into_iter().peekable();
    while roots_due.peek().is_some_and(|(s, _)| *s == 0) {
        if let Some((_, root)) = roots_due.next()
            && root != tlog::EMPTY_HASH
        {
            problems.add(
                "checkpoint_root_mismatch",
                Some(0),
                "the empty tree's checkpoint has another root",
            );
        }
    }

    // Every entry, in pages.
    let mut builder = TreeBuilder::new();
    let mut latest: HashMap<String, u64> = HashMap::new();
    let mut previous_at = String::new();
    let mut expected: u64 = 0;
    while expected < size {
        let start = i64::try_from(expected).map_err(ApiError::internal)?;
        let end = i64::try_from(size)
            .map_err(ApiError::internal)?
            .min(start + PAGE);
        let rows: Vec<EntryRow> = ledger_entries::table
            .filter(ledger_entries::idx.ge(start))
            .filter(ledger_entries::idx.lt(end))
            .order(ledger_entries::idx.asc())
            .select(EntryRow::as_select())
            .load(conn)?;
        let first_hash = tlog::stored_hash_index(0, start as u64) as i64;
        let last_hash = tlog::stored_hash_index(0, end as u64) as i64;
        let stored: HashMap<i64, Vec<u8>> = ledger_hashes::table
            .filter(ledger_hashes::id.ge(first_hash))
            .filter(ledger_hashes::id.lt(last_hash))
            .select((ledger_hashes::id, ledger_hashes::hash))
            .load::<(i64, Vec<u8>)>(conn)?
            .into_iter()
            .collect();
        let mut rows = rows.into_iter().peekable();
        for n in start as u64..end as u64 {
            let row = match rows.peek() {
                Some(r) if r.idx as u64 == n => rows.next(),
                _ => None,
            };
            let Some(row) = row else {
                problems.add(
                    "missing_entry",
                    Some(n),
                    format!("no entry {n} below the tree head {size}"),
                );
                // The tree cannot be recomputed past a hole: carry on with the
                // stored hash so later checks still mean something.
                let hash = stored
                    .get(&(tlog::stored_hash_index(0, n) as i64))
                    .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
                    .map(Hash)
                    .unwrap_or(tlog::EMPTY_HASH);
                builder.push(hash);
                continue;
            };
            let leaf_hash = tlog::record_hash(row.leaf.as_bytes());
            if row.leaf_hash.as_slice() != leaf_hash.0.as_slice() {
                problems.add(
                    "leaf_hash_mismatch",
                    Some(n),
                    "the leaf's bytes no longer hash to its stored leaf hash",
                );
            }
            let mut expected_hashes = vec![leaf_hash];
            builder.push_with(leaf_hash, |h| expected_hashes.push(h));
            for (offset, expected_hash) in (0i64..).zip(expected_hashes) {
                let id = tlog::stored_hash_index(0, n) as i64 + offset;
                match stored.get(&id) {
                    None => problems.add(
                        "stored_hash_missing",
                        Some(n),
                        format!("stored hash {id} is missing"),
                    ),
                    Some(h) if h.as_slice() != expected_hash.0.as_slice() => problems.add(
                        if offset == 0 {
                            "stored_hash_mismatch"
                        } else {
                            "interior_hash_mismatch"
                        },
                        Some(n),
                        format!("stored hash {id} is not what the leaves give"),
                    ),
                    Some(_) => {}
                }
            }
            match Leaf::parse(&row.leaf) {
                Err(e) => problems.add("malformed_leaf", Some(n), e.to_string()),
                Ok(leaf) => {
                    if leaf.kind != row.kind || leaf.at != row.at || leaf.actor != row.actor {
                        problems.add(
                            "entry_columns_mismatch",
                            Some(n),
                            "the entry's kind, at or actor columns differ from its leaf",
                        );
                    }
                    if leaf.at < previous_at {
                        problems.add(
                            "time_went_back",
                            Some(n),
                            format!("{} comes before {}", leaf.at, previous_at),
                        );
                    }
                    previous_at = leaf.at.clone();
                    if let Some(key) = record_key(&leaf) {
                        latest.insert(key, n);
                    }
                }
            }
            while let Some((cp_size, root)) = roots_due.next_if(|(s, _)| *s == n + 1) {
                if builder.root() != root {
                    problems.add(
                        "checkpoint_root_mismatch",
                        Some(cp_size),
                        format!("the leaves do not give checkpoint {cp_size}'s root"),
                    );
                }
            }
        }
        expected = end as u64;
    }

    check_records(conn, size, &mut latest, &mut problems)?;
    for (key, index) in latest {
        problems.add(
            "missing_record",
            Some(index),
            format!("{key} is in the ledger but not in the database"),
        );
    }

    let mut list = problems.0;
    list.sort_by_key(|p| (p.index.is_none(), p.index));
    Ok(VerifyReport {
        ok: list.is_empty(),
        tree_size: size,
        checked: size,
        problems: list,
    })
}

/// Each record row against its latest ledger entry; removes the keys it saw.
/// A row whose entry is past `size` changed after the check began and is left
/// out, unless its entry is past the log's end even now: then it was forged.
fn check_records(
    conn: &mut DbConnection,
    size: u64,
    latest: &mut HashMap<String, u64>,
    problems: &mut Problems,
) -> Result<(), ApiError> {
    let size = i64::try_from(size).map_err(ApiError::internal)?;
    let mut late: Vec<(String, i64)> = Vec::new();
    // Rows past the checked part of the log: set aside, judged at the end.
    let mut check = |conn: &mut DbConnection,
                     latest: &mut HashMap<String, u64>,
                     problems: &mut Problems,
                     key: String,
                     ledger_index: i64,
                     record: Value,
                     kind_prefix: &str|
     -> Result<(), ApiError> {
        if !(0..size).contains(&ledger_index) {
            latest.remove(&key);
            late.push((key, ledger_index));
            return Ok(());
        }
        compare(
            conn,
            latest,
            problems,
            key,
            ledger_index,
            record,
            kind_prefix,
        )
    };
    fn compare(
        conn: &mut DbConnection,
        latest: &mut HashMap<String, u64>,
        problems: &mut Problems,
        key: String,
        ledger_index: i64,
        mut record: Value,
        kind_prefix: &str,
    ) -> Result<(), ApiError> {
        let index = u64::try_from(ledger_index).unwrap_or(u64::MAX);
        match latest.remove(&key) {
            None => problems.add(
                "record_without_entry",
                Some(index),
                format!("{key} has no ledger entry"),
            ),
            Some(last) if last != index => problems.add(
                "record_stale",
                Some(last),
                format!("{key} points at entry {index}, not its latest entry {last}"),
            ),
            Some(_) => {}
        }
        let entry = store::entry(conn, index)?;
        let Some(entry) = entry else {
            problems.add(
                "record_without_entry",
                Some(index),
                format!("{key}: entry {index} does not exist"),
            );
            return Ok(());
        };
        match Leaf::parse(&entry.leaf) {
            Ok(mut leaf) if leaf.kind.starts_with(kind_prefix) => {
                // An article's retraction reason is in its entry, not its row.
                if let (Some(l), Some(r)) = (leaf.record.as_object_mut(), record.as_object_mut())
                    && kind_prefix == "article."
                {
                    l.remove("reason");
                    r.remove("reason");
                }
                if leaf.record != record {
                    problems.add(
                        "record_mismatch",
                        Some(index),
                        format!("{key} differs from what entry {index} records"),
                    );
                }
            }
            _ => problems.add(
                "record_mismatch",
                Some(index),
                format!("entry {index} is not a {kind_prefix} entry for {key}"),
            ),
        }
        Ok(())
    }

    let mut after = String::new();
    loop {
        let rows: Vec<Article> = articles::table
            .filter(articles::slug.gt(&after))
            .order(articles::slug.asc())
            .limit(PAGE)
            .select(Article::as_select())
            .load(conn)?;
        let Some(last) = rows.last() else { break };
        after = last.slug.clone();
        for row in rows {
            check(
                conn,
                latest,
                problems,
                format!("article:{}", row.slug),
                row.ledger_index,
                row.record(),
                "article.",
            )?;
        }
    }
    let mut after = (String::new(), 0i64);
    loop {
        let rows: Vec<SourceVersion> = sources::table
            .filter(
                sources::id
                    .gt(&after.0)
                    .or(sources::id.eq(&after.0).and(sources::version.gt(after.1))),
            )
            .order((sources::id.asc(), sources::version.asc()))
            .limit(PAGE)
            .select(SourceVersion::as_select())
            .load(conn)?;
        let Some(last) = rows.last() else { break };
        after = (last.id.clone(), last.version);
        for row in rows {
            let record = row.record();
            if crate::ledger::leaf::record_sha256(&record).ok().as_deref()
                != Some(row.record_sha256.as_str())
            {
                let index = u64::try_from(row.ledger_index).ok();
                problems.add(
                    "record_mismatch",
                    index,
                    format!(
                        "source {} v{}: record_sha256 does not match its fields",
                        row.id, row.version
                    ),
                );
            }
            check(
                conn,
                latest,
                problems,
                format!("source:{}:{}", row.id, row.version),
                row.ledger_index,
                record,
                "source.",
            )?;
        }
    }
    let mut after = String::new();
    loop {
        let rows: Vec<Citation> = citations::table
            .filter(citations::id.gt(&after))
            .order(citations::id.asc())
            .limit(PAGE)
            .select(Citation::as_select())
            .load(conn)?;
        let Some(last) = rows.last() else { break };
        after = last.id.clone();
        for row in rows {
            check(
                conn,
                latest,
                problems,
                format!("citation:{}", row.id),
                row.ledger_index,
                row.record(),
                "citation.",
            )?;
        }
    }
    let head_now = i64::try_from(store::size(conn)?).map_err(ApiError::internal)?;
    for (key, index) in late {
        if !(0..head_now).contains(&index) {
            problems.add(
                "record_without_entry",
                u64::try_from(index).ok(),
                format!("{key} points at entry {index}, which the log does not hold"),
            );
        }
    }
    Ok(())
}
