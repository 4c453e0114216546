//! Each record row (articles, source versions, citations) against its latest
//! ledger entry, and each sealed source against its seal and disclosure. A row whose entry is past the checked size changed after the
//! check began and is left out, unless its entry is past the log's end even
//! at the end of the check: then it was forged.

use std::collections::HashMap;

use diesel::prelude::*;
use serde_json::Value;

use super::{PAGE, ProblemKind, Problems, RecordKey};
use crate::db::DbConnection;
use crate::db::schema::{articles, citations, sealed_sources, sources};
use crate::error::ApiError;
use crate::ledger::leaf::{Leaf, disclosure_opens_seal, record_sha256};
use crate::ledger::store;
use crate::newsroom::articles::Article;
use crate::newsroom::citations::Citation;
use crate::newsroom::sources::SourceVersion;

/// One record row, as the check compares it with its entry.
struct Row {
    key: RecordKey,
    ledger_index: i64,
    record: Value,
}

struct RecordCheck<'a> {
    size: i64,
    latest: &'a mut HashMap<RecordKey, u64>,
    problems: &'a mut Problems,
    /// Rows past the checked part of the log, judged at the end.
    late: Vec<(RecordKey, i64)>,
}

pub(super) fn check(
    conn: &mut DbConnection,
    size: u64,
    latest: &mut HashMap<RecordKey, u64>,
    problems: &mut Problems,
) -> Result<(), ApiError> {
    let mut check = RecordCheck {
        size: i64::try_from(size).map_err(ApiError::internal)?,
        latest,
        problems,
        late: Vec::new(),
    };
    in_pages(
        conn,
        String::new(),
        |conn, after| {
            articles::table
                .filter(articles::slug.gt(after))
                .order(articles::slug.asc())
                .limit(PAGE)
                .select(Article::as_select())
                .load(conn)
        },
        |row: &Article| row.slug.to_string(),
        |conn, row| {
            check.row(
                conn,
                Row {
                    key: RecordKey::Article(row.slug.to_string()),
                    ledger_index: row.ledger_index,
                    record: row.record(),
                },
            )
        },
    )?;
    in_pages(
        conn,
        (String::new(), 0i64),
        |conn, (id, version)| {
            sources::table
                .filter(
                    sources::id
                        .gt(id)
                        .or(sources::id.eq(id).and(sources::version.gt(*version))),
                )
                .order((sources::id.asc(), sources::version.asc()))
                .limit(PAGE)
                .select(SourceVersion::as_select())
                .load(conn)
        },
        |row: &SourceVersion| (row.id.clone(), row.version),
        |conn, row| {
            let record = row.record();
            if record_sha256(&record).ok().as_deref() != Some(row.record_sha256.as_str()) {
                check.problems.add(
                    ProblemKind::RecordMismatch,
                    u64::try_from(row.ledger_index).ok(),
                    format!(
                        "source {} v{}: record_sha256 does not match its fields",
                        row.id, row.version
                    ),
                );
            }
            check.row(
                conn,
                Row {
                    key: RecordKey::Source(row.id.clone(), row.version),
                    ledger_index: row.ledger_index,
                    record,
                },
            )
        },
    )?;
    in_pages(
        conn,
        String::new(),
        |conn, after| {
            citations::table
                .filter(citations::id.gt(after))
                .order(citations::id.asc())
                .limit(PAGE)
                .select(Citation::as_select())
                .load(conn)
        },
        |row: &Citation| row.id.clone(),
        |conn, row| {
            check.row(
                conn,
                Row {
                    key: RecordKey::Citation(row.id.clone()),
                    ledger_index: row.ledger_index,
                    record: row.record(),
                },
            )
        },
    )?;
    in_pages(
        conn,
        String::new(),
        |conn, after| {
            sealed_sources::table
                .filter(sealed_sources::id.gt(after))
                .order(sealed_sources::id.asc())
                .limit(PAGE)
                .select(Sealed::as_select())
                .load(conn)
        },
        |row: &Sealed| row.id.clone(),
        |conn, row| check.sealed(conn, row),
    )?;
    let head_now = i64::try_from(store::size(conn)?).map_err(ApiError::internal)?;
    for (key, index) in check.late {
        if !(0..head_now).contains(&index) {
            check.problems.add(
                ProblemKind::RecordWithoutEntry,
                u64::try_from(index).ok(),
                format!("{key} points at entry {index}, which the log does not hold"),
            );
        }
    }
    Ok(())
}

/// Keyset paging: loads pages after `start`, each after the last row's key,
/// until a page is empty, and hands every row to `each`.
fn in_pages<T, K>(
    conn: &mut DbConnection,
    start: K,
    mut load: impl FnMut(&mut DbConnection, &K) -> QueryResult<Vec<T>>,
    key_of: impl Fn(&T) -> K,
    mut each: impl FnMut(&mut DbConnection, T) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    let mut after = start;
    loop {
        let rows = load(conn, &after)?;
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = key_of(last);
        for row in rows {
            each(conn, row)?;
        }
    }
}

/// What the check compares of a sealed source: never its sealed record.
#[derive(Queryable, Selectable)]
#[diesel(table_name = sealed_sources)]
struct Sealed {
    id: String,
    kind: String,
    commitment: String,
    ledger_index: i64,
    disclosure_index: Option<i64>,
}

impl RecordCheck<'_> {
    /// A sealed source: its `source.sealed` entry holds its id, kind and
    /// commitment, and its `source.disclosed` entry, if any, opens that
    /// commitment and names the seal.
    fn sealed(&mut self, conn: &mut DbConnection, row: Sealed) -> Result<(), ApiError> {
        let key = RecordKey::Sealed(row.id.clone());
        let latest = self.latest.remove(&key);
        let last = row.disclosure_index.unwrap_or(row.ledger_index);
        if !(0..self.size).contains(&last) {
            self.late.push((key, last));
            return Ok(());
        }
        if latest != u64::try_from(last).ok() {
            self.problems.add(
                ProblemKind::RecordStale,
                latest,
                format!("{key} points at entry {last}, not its latest entry"),
            );
        }
        let leaf_at = |conn: &mut DbConnection, index: i64, kind: &str, problems: &mut Problems| {
            let index = u64::try_from(index).unwrap_or(u64::MAX);
            let leaf = store::entry(conn, index)?.and_then(|e| Leaf::parse(&e.leaf).ok());
            match leaf {
                Some(leaf) if leaf.kind == kind && leaf.record["id"] == row.id.as_str() => {
                    Ok::<_, ApiError>(Some((index, leaf)))
                }
                _ => {
                    problems.add(
                        ProblemKind::RecordMismatch,
                        Some(index),
                        format!("entry {index} is not a {kind} entry for {key}"),
                    );
                    Ok(None)
                }
            }
        };
        if let Some((index, seal)) = leaf_at(
            conn,
            row.ledger_index,
            crate::newsroom::sealed::SEALED,
            self.problems,
        )? && (seal.record["kind"] != row.kind.as_str()
            || seal.record["commitment"] != row.commitment.as_str())
        {
            self.problems.add(
                ProblemKind::RecordMismatch,
                Some(index),
                format!("{key} differs from what entry {index} sealed"),
            );
        }
        if let Some(disclosure) = row.disclosure_index
            && let Some((index, leaf)) = leaf_at(
                conn,
                disclosure,
                crate::newsroom::sealed::DISCLOSED,
                self.problems,
            )?
        {
            let opens = u64::try_from(row.ledger_index).is_ok_and(|sealed_index| {
                disclosure_opens_seal(
                    &leaf.record,
                    &row.id,
                    &row.kind,
                    &row.commitment,
                    sealed_index,
                )
            });
            if !opens {
                self.problems.add(
                    ProblemKind::RecordMismatch,
                    Some(index),
                    format!("entry {index}: the disclosure of {key} does not open its seal"),
                );
            }
        }
        Ok(())
    }

    fn row(&mut self, conn: &mut DbConnection, row: Row) -> Result<(), ApiError> {
        if !(0..self.size).contains(&row.ledger_index) {
            self.latest.remove(&row.key);
            self.late.push((row.key, row.ledger_index));
            return Ok(());
        }
        let index = u64::try_from(row.ledger_index).unwrap_or(u64::MAX);
        let key = &row.key;
        match self.latest.remove(key) {
            None => self.problems.add(
                ProblemKind::RecordWithoutEntry,
                Some(index),
                format!("{key} has no ledger entry"),
            ),
            Some(last) if last != index => self.problems.add(
                ProblemKind::RecordStale,
                Some(last),
                format!("{key} points at entry {index}, not its latest entry {last}"),
            ),
            Some(_) => {}
        }
        let Some(entry) = store::entry(conn, index)? else {
            self.problems.add(
                ProblemKind::RecordWithoutEntry,
                Some(index),
                format!("{key}: entry {index} does not exist"),
            );
            return Ok(());
        };
        // Under embargo the entry is a commitment: compared as what it opens to.
        let held = crate::newsroom::embargo::rows_at(conn, &[row.ledger_index])?;
        let leaf = Leaf::parse(&entry.leaf)
            .map_err(|e| e.to_string())
            .and_then(|leaf| super::opened(leaf, index, held.get(&row.ledger_index)));
        self.compare(index, leaf, row);
        Ok(())
    }

    fn compare(&mut self, index: u64, leaf: Result<Leaf, String>, mut row: Row) {
        let key = &row.key;
        let prefix = row.key.kind_prefix();
        match leaf {
            Ok(mut leaf) if leaf.kind.starts_with(prefix) => {
                // An article's retraction reason is in its entry, not its row.
                if let (Some(l), Some(r)) =
                    (leaf.record.as_object_mut(), row.record.as_object_mut())
                    && prefix == "article."
                {
                    l.remove("reason");
                    r.remove("reason");
                }
                if leaf.record != row.record {
                    self.problems.add(
                        ProblemKind::RecordMismatch,
                        Some(index),
                        format!("{key} differs from what entry {index} records"),
                    );
                }
            }
            _ => self.problems.add(
                ProblemKind::RecordMismatch,
                Some(index),
                format!("entry {index} is not a {prefix} entry for {key}"),
            ),
        }
    }
}
