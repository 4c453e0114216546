//! Server-side re-verification: re-read every leaf and record, recompute the
//! tree and its stored hashes, check every signed checkpoint, and report every
//! problem with its index. Reads in pages, each its own short read, so writers
//! are never held back; entries appended after the check starts are left for
//! the next one.
//!
//! The checks, each in its own file: `checkpoints` (signatures, and what each
//! checkpoint row says), `tree` (every leaf, stored hash and checkpoint root),
//! `records` (every record row against its latest entry).

mod checkpoints;
mod records;
mod tree;

/// What an embargoed entry records: the commitment leaf `leaf` at `index`
/// opened with what the server holds for it (`embargoed_entries`), as the
/// leaf it would have been; `None` for any other leaf, as it is.
fn opened(
    leaf: crate::ledger::leaf::Leaf,
    index: u64,
    held: Option<&crate::newsroom::embargo::EmbargoedRow>,
) -> Result<crate::ledger::leaf::Leaf, String> {
    use crate::ledger::embargo;
    if leaf.kind != embargo::COMMITTED {
        return Ok(leaf);
    }
    let Some(held) = held else {
        return Err(format!(
            "entry {index} is a commitment the server holds nothing for"
        ));
    };
    let opening = held.opening().map_err(|e| e.to_string())?;
    let open = embargo::open(&leaf, index, &opening)?;
    Ok(crate::ledger::leaf::Leaf {
        v: leaf.v,
        kind: open.kind,
        at: open.at,
        actor: open.actor,
        record: open.record,
    })
}

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::{Db, DbConnection};
use crate::error::ApiError;
use crate::ledger::store::{self, CheckpointRow};

/// Rows read per page.
const PAGE: i64 = 5000;
const MAX_PROBLEMS: usize = 1000;

/// What a problem is; the README lists each.
#[derive(Debug, Clone, Copy, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// An entry beyond the tree head.
    ExtraEntry,
    /// No entry at an index below the tree head.
    MissingEntry,
    /// A leaf's bytes no longer hash to its stored leaf hash.
    LeafHashMismatch,
    StoredHashMissing,
    /// A stored leaf hash is not the leaf's.
    StoredHashMismatch,
    /// A stored interior hash is not what the leaves give.
    InteriorHashMismatch,
    MalformedLeaf,
    /// The entry's kind, at or actor columns differ from its leaf.
    EntryColumnsMismatch,
    TimeWentBack,
    CheckpointSignature,
    /// A checkpoint row differs from its signed note.
    CheckpointMismatch,
    CheckpointBeyondHead,
    /// The leaves do not give a checkpoint's root.
    CheckpointRootMismatch,
    /// A record row differs from what its entry records.
    RecordMismatch,
    /// A record row points at an entry that is not its latest.
    RecordStale,
    RecordWithoutEntry,
    /// The ledger records something the database no longer holds.
    MissingRecord,
    TooManyProblems,
}

#[derive(Debug, Clone, Serialize, ToSchema, PartialEq)]
pub struct VerifyProblem {
    pub kind: ProblemKind,
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

/// The problems found so far, at most `MAX_PROBLEMS` of them.
struct Problems(Vec<VerifyProblem>);

impl Problems {
    fn add(&mut self, kind: ProblemKind, index: Option<u64>, detail: impl Into<String>) {
        if self.0.len() < MAX_PROBLEMS {
            self.0.push(VerifyProblem {
                kind,
                index,
                detail: detail.into(),
            });
        } else if self.0.len() == MAX_PROBLEMS {
            self.0.push(VerifyProblem {
                kind: ProblemKind::TooManyProblems,
                index: None,
                detail: format!("stopped listing after {MAX_PROBLEMS} problems"),
            });
        }
    }
}

/// The log as it was when the check began.
struct Snapshot {
    size: u64,
    max_index: Option<i64>,
    checkpoints: Vec<CheckpointRow>,
}

/// One consistent snapshot for the head, the last index and the checkpoints.
fn snapshot(conn: &mut DbConnection) -> Result<Snapshot, ApiError> {
    conn.transaction::<_, ApiError, _>(|conn| {
        if let DbConnection::Postgres(_) = conn {
            // READ COMMITTED would let each read see a newer log.
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(conn)?;
        }
        Ok(Snapshot {
            size: store::size(conn)?,
            max_index: store::max_index(conn)?,
            checkpoints: store::checkpoints(conn, None, u32::MAX)?,
        })
    })
}

/// Which record an entry or a row is about: the one way both sides name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum RecordKey {
    Article(String),
    Source(String, i64),
    Citation(String),
    Sealed(String),
}

impl RecordKey {
    /// The record a log entry is about, by its kind and record.
    fn of_entry(leaf: &crate::ledger::leaf::Leaf) -> Option<Self> {
        let r = &leaf.record;
        let text = |k: &str| {
            r.get(k)
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        };
        if matches!(
            leaf.kind.as_str(),
            crate::newsroom::sealed::SEALED | crate::newsroom::sealed::DISCLOSED
        ) {
            return Some(Self::Sealed(text("id")?));
        }
        match leaf.kind.split('.').next()? {
            "article" => Some(Self::Article(text("slug")?)),
            "source" => Some(Self::Source(text("id")?, r.get("version")?.as_i64()?)),
            "citation" => Some(Self::Citation(text("id")?)),
            _ => None,
        }
    }

    /// The entry kinds that may record it (a sealed source's are its own).
    fn kind_prefix(&self) -> &'static str {
        match self {
            Self::Article(_) => "article.",
            Self::Source(..) | Self::Sealed(_) => "source.",
            Self::Citation(_) => "citation.",
        }
    }
}

impl std::fmt::Display for RecordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Article(slug) => write!(f, "article:{slug}"),
            Self::Source(id, version) => write!(f, "source:{id}:{version}"),
            Self::Citation(id) => write!(f, "citation:{id}"),
            Self::Sealed(id) => write!(f, "sealed:{id}"),
        }
    }
}

/// Re-verifies the whole ledger with the publisher's `vkey`.
pub fn run(db: &Db, vkey: &str) -> Result<VerifyReport, ApiError> {
    let mut conn = db.get()?;
    let conn = &mut *conn;
    let mut problems = Problems(Vec::new());
    let Snapshot {
        size,
        max_index,
        checkpoints,
    } = snapshot(conn)?;
    if let Some(max) = max_index.and_then(|m| u64::try_from(m).ok())
        && max >= size
    {
        for index in size..=max.min(size + MAX_PROBLEMS as u64) {
            problems.add(
                ProblemKind::ExtraEntry,
                Some(index),
                format!("an entry beyond the tree head (size {size})"),
            );
        }
    }
    let roots_due = checkpoints::check(&checkpoints, vkey, size, &mut problems);
    let mut latest = tree::check(conn, size, roots_due, &mut problems)?;
    records::check(conn, size, &mut latest, &mut problems)?;
    for (key, index) in latest {
        problems.add(
            ProblemKind::MissingRecord,
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
