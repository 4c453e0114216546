//! What the link monitor found, for the newsroom's desk: one source's link
//! history (its `source.link` entries), and the drift queue, every live
//! citation whose link went `changed` or `gone`, newest first, until someone
//! marks it reviewed. A review is itself an entry (`link.reviewed`), naming
//! the `source.link` entry it answers, so the log says who looked and when;
//! a later change of the same link is a new entry and comes back to the
//! queue.

use std::collections::HashSet;

use diesel::prelude::*;
use serde_json::json;

use super::monitor::LinkStatus;
use crate::db::DbConnection;
use crate::db::schema::{articles, citations, ledger_entries, link_checks, sources};
use crate::error::ApiError;
use crate::ledger::leaf::Leaf;
use crate::ledger::{About, Sequencer};
use crate::newsroom::citations::CitationStatus;
use crate::time::Timestamp;

/// The entry kind of a review.
pub const REVIEWED: &str = "link.reviewed";

/// One state a source's link took, as the monitor recorded it.
#[derive(Debug, Clone)]
pub struct LinkEvent {
    pub index: i64,
    pub at: Timestamp,
    pub url: String,
    pub status: String,
    pub detail: Option<String>,
}

/// How many entries of one source's link history are shown.
const HISTORY: i64 = 200;

/// The link states source `id` went through, newest first.
pub fn history(conn: &mut DbConnection, id: &str) -> Result<Vec<LinkEvent>, ApiError> {
    let rows: Vec<(i64, Timestamp, String)> = ledger_entries::table
        .filter(ledger_entries::source.eq(id))
        .filter(ledger_entries::kind.eq("source.link"))
        .order(ledger_entries::idx.desc())
        .limit(HISTORY)
        .select((
            ledger_entries::idx,
            ledger_entries::at,
            ledger_entries::leaf,
        ))
        .load(conn)?;
    rows.into_iter()
        .map(|(index, at, leaf)| {
            let leaf = Leaf::parse(&leaf).map_err(ApiError::internal)?;
            let text = |k: &str| {
                leaf.record
                    .get(k)
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            };
            Ok(LinkEvent {
                index,
                at,
                url: text("url").unwrap_or_default(),
                status: text("status").unwrap_or_default(),
                detail: text("detail"),
            })
        })
        .collect()
}

/// A live citation whose link changed or went away.
#[derive(Debug, Clone, Queryable)]
pub struct Drifting {
    pub citation_id: String,
    pub claim: String,
    pub article_slug: String,
    pub article_title: String,
    pub source_id: String,
    pub title: String,
    pub url: String,
    #[diesel(deserialize_as = String)]
    pub link_status: LinkStatus,
    pub detail: Option<String>,
    pub changed_at: Timestamp,
    /// The `source.link` entry that recorded the change: what a review names.
    pub link_entry: i64,
    pub snapshot_sha256: Option<String>,
}

/// The drift queue: up to `limit` live citations whose links are `changed`
/// or `gone` and not yet reviewed since, newest change first.
pub fn queue(conn: &mut DbConnection, limit: u32) -> Result<Vec<Drifting>, ApiError> {
    let found: Vec<Drifting> = citations::table
        .inner_join(articles::table)
        .inner_join(
            sources::table.on(sources::id
                .eq(citations::source_id)
                .and(sources::version.eq(citations::source_version))),
        )
        .inner_join(
            link_checks::table.on(link_checks::source_id
                .eq(sources::id)
                .and(link_checks::url.eq(sources::url))),
        )
        .filter(citations::status.ne(CitationStatus::Retracted.as_str()))
        .filter(
            link_checks::status.eq_any([LinkStatus::Changed.as_str(), LinkStatus::Gone.as_str()]),
        )
        .order((link_checks::changed_at.desc(), citations::id.asc()))
        .limit(i64::from(limit))
        .select((
            citations::id,
            citations::claim,
            articles::slug,
            articles::title,
            sources::id,
            sources::title,
            sources::url,
            link_checks::status,
            link_checks::detail,
            link_checks::changed_at,
            link_checks::ledger_index,
            sources::snapshot_sha256,
        ))
        .load(conn)?;
    let reviewed = reviewed(conn, &found)?;
    Ok(found
        .into_iter()
        .filter(|d| !reviewed.contains(&d.link_entry))
        .collect())
}

/// Which of the queue's `source.link` entries were reviewed.
fn reviewed(conn: &mut DbConnection, found: &[Drifting]) -> Result<HashSet<i64>, ApiError> {
    let ids: HashSet<&str> = found.iter().map(|d| d.source_id.as_str()).collect();
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let leaves: Vec<String> = ledger_entries::table
        .filter(ledger_entries::kind.eq(REVIEWED))
        .filter(ledger_entries::source.eq_any(ids))
        .select(ledger_entries::leaf)
        .load(conn)?;
    Ok(leaves
        .iter()
        .filter_map(|leaf| Leaf::parse(leaf).ok())
        .filter_map(|leaf| leaf.record.get("link_entry").and_then(|v| v.as_i64()))
        .collect())
}

/// Marks the current change of source `id`'s link reviewed: refused unless
/// the link's state is still the one entry `link_entry` recorded.
pub fn review(
    conn: &mut DbConnection,
    seq: &mut Sequencer,
    actor: &str,
    id: &str,
    link_entry: i64,
) -> Result<(), ApiError> {
    let current: Option<(String, String)> = link_checks::table
        .filter(link_checks::source_id.eq(id))
        .filter(link_checks::ledger_index.eq(link_entry))
        .select((link_checks::url, link_checks::status))
        .first(conn)
        .optional()?;
    let Some((url, status)) = current else {
        return Err(ApiError::new(
            crate::error::ErrorCode::Conflict,
            "that link has changed again since; look at it anew",
        ));
    };
    let record = json!({
        "source_id": id,
        "url": url,
        "status": status,
        "link_entry": link_entry,
    });
    let about = About {
        article: None,
        source: Some(id),
    };
    seq.append_about(conn, REVIEWED, actor, &record, about)?;
    Ok(())
}

/// What the desk shows beside each citation of an article: its source's
/// archived copy (of the version cited) and the link's state, if checked.
#[derive(Debug, Clone, Queryable)]
pub struct CitedLink {
    pub citation_id: String,
    pub snapshot_sha256: Option<String>,
    pub link_status: Option<String>,
}

/// [`CitedLink`] of every citation of article `slug`.
pub fn cited_links(conn: &mut DbConnection, slug: &str) -> Result<Vec<CitedLink>, ApiError> {
    Ok(citations::table
        .inner_join(
            sources::table.on(sources::id
                .eq(citations::source_id)
                .and(sources::version.eq(citations::source_version))),
        )
        .left_join(
            link_checks::table.on(link_checks::source_id
                .eq(sources::id)
                .and(link_checks::url.eq(sources::url))),
        )
        .filter(citations::article_slug.eq(slug))
        .select((
            citations::id,
            sources::snapshot_sha256,
            link_checks::status.nullable(),
        ))
        .load(conn)?)
}
