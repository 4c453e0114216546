//! The snapshots a newsroom holds: one row per payload, named by its SHA-256.

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::insert::inserted_unless_taken;
use crate::db::schema::snapshots;
use crate::error::ApiError;
use crate::fields::Sha256Hex;
use crate::time::Timestamp;

/// A stored snapshot, as the database keeps it.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = snapshots)]
pub struct Snapshot {
    pub sha256: Sha256Hex,
    pub size: i64,
    pub content_type: String,
    /// `upload` or `capture`.
    pub origin: String,
    /// The URL a capture came from.
    pub url: Option<String>,
    /// The WARC a capture is archived in, a blob of its own.
    pub warc_sha256: Option<Sha256Hex>,
    pub warc_size: Option<i64>,
    pub stored_at: Timestamp,
    pub stored_by: String,
}

/// What an upload answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct StoredSnapshot {
    /// Hex SHA-256 of the bytes: the snapshot's name.
    #[schema(value_type = String)]
    pub sha256: Sha256Hex,
    pub size: i64,
    pub content_type: String,
}

impl From<&Snapshot> for StoredSnapshot {
    fn from(s: &Snapshot) -> Self {
        Self {
            sha256: s.sha256.clone(),
            size: s.size,
            content_type: s.content_type.clone(),
        }
    }
}

pub fn find(conn: &mut DbConnection, sha256: &str) -> Result<Option<Snapshot>, ApiError> {
    Ok(snapshots::table
        .find(sha256)
        .select(Snapshot::as_select())
        .first(conn)
        .optional()?)
}

/// Stores `row` unless a snapshot of the same bytes is stored already; the
/// row that stands, and whether it is new. Inside a ledger write transaction
/// writers are serialised, so the check and the insert cannot race; outside
/// one, a concurrent insert of the same bytes is found after the fact.
pub fn insert_if_absent(
    conn: &mut DbConnection,
    row: Snapshot,
) -> Result<(Snapshot, bool), ApiError> {
    if let Some(existing) = find(conn, &row.sha256)? {
        return Ok((existing, false));
    }
    let insert = diesel::insert_into(snapshots::table)
        .values(&row)
        .execute(conn);
    if inserted_unless_taken(insert)? {
        return Ok((row, true));
    }
    let existing =
        find(conn, &row.sha256)?.ok_or_else(|| ApiError::internal("a snapshot row vanished"))?;
    Ok((existing, false))
}

/// Content types a browser would run or render as a document of our origin:
/// served as attachments only. Judged on the type a browser would extract.
pub fn is_active_content(content_type: &str) -> bool {
    !super::media_type::MediaType::extract(content_type).is_some_and(|t| t.is_inline())
}
