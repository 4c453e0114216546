//! The embargo (SPEC "Embargo"): nothing of a story leaves the newsroom before
//! it is published, and the log still proves since when the newsroom held
//! each source.
//!
//! While `SOURCELEDGER_EMBARGO` is on, an entry about a draft article (its
//! record, its citations) or about a source no published article cites yet
//! (its versions and captures) is appended as a commitment
//! ([`crate::ledger::embargo`]); what it commits to is kept in
//! `embargoed_entries`. Publishing an article discloses, in the same
//! transaction, every commitment about it and about each source it cites;
//! citing a committed source in an article already published discloses that
//! source's. A disclosure is never undone; explicitly sealed sources keep
//! their own rule.

use std::collections::HashMap;

use diesel::prelude::*;
use serde_json::Value;

use crate::db::DbConnection;
use crate::db::schema::{articles, citations, embargoed_entries};
use crate::error::ApiError;
use crate::ledger::embargo::{self, Commitment};
use crate::ledger::leaf::PreparedLeaf;
use crate::ledger::{About, Appended, Sequencer};

/// Whether new entries about unpublished stories are committed, not shown
/// (`SOURCELEDGER_EMBARGO`, on by default). Turning it off affects only new
/// entries: what is committed stays committed until it is disclosed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Embargo(pub bool);

impl Embargo {
    pub fn on(self) -> bool {
        self.0
    }
}

pub use crate::ledger::embargo::EmbargoedRow;

/// An entry ready to append: its leaf, and under embargo what it commits to.
pub struct Prepared {
    pub leaf: PreparedLeaf,
    commitment: Option<Commitment>,
}

/// Encodes an entry, or under embargo its commitment (outside the log's lock).
pub fn prepare(
    embargoed: bool,
    kind: &str,
    actor: &str,
    record: &Value,
) -> Result<Prepared, ApiError> {
    if !embargoed {
        return Ok(Prepared {
            leaf: crate::ledger::leaf::prepare(kind, actor, record)?,
            commitment: None,
        });
    }
    let commitment = Commitment::new(kind, actor, record)?;
    Ok(Prepared {
        leaf: commitment.prepare()?,
        commitment: Some(commitment),
    })
}

impl Prepared {
    /// Appends it (under embargo, the sequencer keeps what it hides).
    pub fn append(
        &self,
        conn: &mut DbConnection,
        seq: &mut Sequencer,
        about: About<'_>,
    ) -> Result<Appended, ApiError> {
        Ok(match &self.commitment {
            Some(c) => seq.append_committed(conn, c, &self.leaf, about)?,
            None => seq.append_prepared(conn, &self.leaf, about)?,
        })
    }
}

/// Appends one entry, in the open or as a commitment.
pub fn append(
    conn: &mut DbConnection,
    seq: &mut Sequencer,
    embargoed: bool,
    kind: &str,
    actor: &str,
    record: &Value,
    about: About<'_>,
) -> Result<Appended, ApiError> {
    prepare(embargoed, kind, actor, record)?.append(conn, seq, about)
}

/// Whether an article that has been published (published, or retracted
/// since) cites source `id`: then its entries are in the open.
pub fn source_is_public(conn: &mut DbConnection, id: &str) -> Result<bool, ApiError> {
    let cited: Option<String> = citations::table
        .inner_join(articles::table)
        .filter(citations::source_id.eq(id))
        .filter(articles::status.ne("draft"))
        .select(citations::id)
        .first(conn)
        .optional()?;
    Ok(cited.is_some())
}

/// Discloses the commitments `rows`, in index order; returns how many.
fn disclose_where(
    conn: &mut DbConnection,
    seq: &mut Sequencer,
    actor: &str,
    rows: Vec<EmbargoedRow>,
) -> Result<usize, ApiError> {
    let mut rows = rows;
    rows.sort_by_key(|r| r.idx);
    for row in &rows {
        let record = row.disclosure()?;
        let about = About {
            article: row.article.as_deref(),
            source: row.source.as_deref(),
        };
        let appended = seq.append_about(conn, embargo::DISCLOSED, actor, &record, about)?;
        diesel::update(embargoed_entries::table.find(row.idx))
            .set(embargoed_entries::disclosure_index.eq(Some(
                i64::try_from(appended.index).map_err(ApiError::internal)?,
            )))
            .execute(conn)?;
    }
    Ok(rows.len())
}

/// At publication: discloses every commitment about article `slug` and about
/// each source any of its citations cites (retracted ones included: they are
/// listed too). Returns how many.
pub fn disclose_for_article(
    conn: &mut DbConnection,
    seq: &mut Sequencer,
    actor: &str,
    slug: &str,
) -> Result<usize, ApiError> {
    // Commitments this very transaction made are read too.
    seq.flush_held(conn)?;
    let cited: Vec<String> = citations::table
        .filter(citations::article_slug.eq(slug))
        .select(citations::source_id)
        .distinct()
        .load(conn)?;
    // Its own entries, and the cited sources' own (not another draft's
    // citations of them: those wait for that draft); two queries, each on
    // its own index.
    let mut rows: Vec<EmbargoedRow> = embargoed_entries::table
        .filter(embargoed_entries::disclosure_index.is_null())
        .filter(embargoed_entries::article.eq(slug))
        .select(EmbargoedRow::as_select())
        .load(conn)?;
    rows.extend(sources_undisclosed(conn, &cited)?);
    disclose_where(conn, seq, actor, rows)
}

/// Discloses every commitment about the sources `ids` (cited in an article
/// already published, or disclosed by an editor). Returns how many.
pub fn disclose_sources(
    conn: &mut DbConnection,
    seq: &mut Sequencer,
    actor: &str,
    ids: &[&str],
) -> Result<usize, ApiError> {
    seq.flush_held(conn)?;
    let rows = sources_undisclosed(conn, ids)?;
    disclose_where(conn, seq, actor, rows)
}

/// The undisclosed commitments of the sources `ids`' own entries.
fn sources_undisclosed<S>(conn: &mut DbConnection, ids: &[S]) -> Result<Vec<EmbargoedRow>, ApiError>
where
    S: AsRef<str>,
{
    let ids: Vec<&str> = ids.iter().map(AsRef::as_ref).collect();
    Ok(embargoed_entries::table
        .filter(embargoed_entries::disclosure_index.is_null())
        .filter(embargoed_entries::article.is_null())
        .filter(embargoed_entries::source.eq_any(ids))
        .select(EmbargoedRow::as_select())
        .load(conn)?)
}

/// The commitments among the entries `indexes`, by index.
pub fn rows_at(
    conn: &mut DbConnection,
    indexes: &[i64],
) -> Result<HashMap<i64, EmbargoedRow>, ApiError> {
    Ok(embargoed_entries::table
        .filter(embargoed_entries::idx.eq_any(indexes))
        .select(EmbargoedRow::as_select())
        .load::<EmbargoedRow>(conn)?
        .into_iter()
        .map(|r| (r.idx, r))
        .collect())
}

/// Which of `indexes` are commitments not yet disclosed: entries whose
/// records only staff may read.
pub fn undisclosed(
    conn: &mut DbConnection,
    indexes: &[i64],
) -> Result<std::collections::HashSet<i64>, ApiError> {
    Ok(embargoed_entries::table
        .filter(embargoed_entries::idx.eq_any(indexes))
        .filter(embargoed_entries::disclosure_index.is_null())
        .select(embargoed_entries::idx)
        .load::<i64>(conn)?
        .into_iter()
        .collect())
}

/// Whether readers who are not staff may download the snapshot `sha256`:
/// when a source version in the open (or disclosed) names it; with the
/// embargo off, also when no source names it yet (an upload). Under embargo
/// an upload nobody has cited publicly is the newsroom's alone.
pub fn snapshot_is_public(
    conn: &mut DbConnection,
    embargo: Embargo,
    sha256: &str,
) -> Result<bool, ApiError> {
    use crate::db::schema::sources;
    let naming: Vec<i64> = sources::table
        .filter(sources::snapshot_sha256.eq(sha256))
        .select(sources::ledger_index)
        .load(conn)?;
    if naming.is_empty() {
        return Ok(!embargo.on());
    }
    let hidden = undisclosed(conn, &naming)?;
    Ok(naming.iter().any(|i| !hidden.contains(i)))
}
