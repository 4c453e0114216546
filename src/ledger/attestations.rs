//! What others attest of the log's checkpoints, kept beside them: the
//! witnesses' cosignatures (C2SP tlog-cosignature) and RFC 3161 time stamps.

use std::collections::HashMap;

use diesel::prelude::*;

use super::LedgerError;
use super::store::{CheckpointRow, to_i64};
use crate::db::DbConnection;
use crate::db::schema::{checkpoint_timestamps, witness_cosignatures};

/// The witnesses' cosignatures kept for the checkpoint of `size`, each as
/// (the witness's vkey, its signature line).
pub fn cosignatures(
    conn: &mut DbConnection,
    size: i64,
) -> Result<Vec<(String, String)>, LedgerError> {
    Ok(witness_cosignatures::table
        .filter(witness_cosignatures::size.eq(size))
        .order(witness_cosignatures::witness.asc())
        .select((witness_cosignatures::witness, witness_cosignatures::line))
        .load(conn)?)
}

/// The checkpoint's signed note with every cosignature kept for it appended.
pub fn cosigned_note(conn: &mut DbConnection, row: &CheckpointRow) -> Result<String, LedgerError> {
    let mut note = row.note.clone();
    for (_, line) in cosignatures(conn, row.size)? {
        note.push_str(&line);
    }
    Ok(note)
}

/// The largest checkpoint size cosigned by at least `quorum` of `witnesses`
/// (their vkeys), if any.
pub fn newest_witnessed(
    conn: &mut DbConnection,
    witnesses: &[String],
    quorum: usize,
) -> Result<Option<i64>, LedgerError> {
    if witnesses.is_empty() || quorum == 0 {
        return Ok(None);
    }
    let quorum = i64::try_from(quorum).unwrap_or(i64::MAX);
    Ok(witness_cosignatures::table
        .filter(witness_cosignatures::witness.eq_any(witnesses))
        .group_by(witness_cosignatures::size)
        .having(diesel::dsl::count_star().ge(quorum))
        .select(witness_cosignatures::size)
        .order(witness_cosignatures::size.desc())
        .first(conn)
        .optional()?)
}

/// An RFC 3161 time-stamp reply kept for a checkpoint.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = checkpoint_timestamps)]
pub struct TimestampRow {
    pub size: i64,
    /// The TSA's TimeStampResp, DER.
    pub reply: Vec<u8>,
    /// The time the TSA stated, RFC 3339.
    pub gen_time: String,
    pub stamped_at: String,
    /// The SHA-256 (hex) of the TSA certificate the reply was checked
    /// against; `None`: kept unchecked, its time claimed by nobody.
    pub checked_cert_sha256: Option<String>,
}

/// The time stamp kept for the checkpoint of `size`, or with no size the
/// newest kept.
pub fn timestamp(
    conn: &mut DbConnection,
    size: Option<u64>,
) -> Result<Option<TimestampRow>, LedgerError> {
    let mut query = checkpoint_timestamps::table
        .order(checkpoint_timestamps::size.desc())
        .select(TimestampRow::as_select())
        .into_boxed();
    if let Some(size) = size {
        query = query.filter(checkpoint_timestamps::size.eq(to_i64(size)?));
    }
    Ok(query.first(conn).optional()?)
}

/// The times stated for the checkpoints of `sizes` that have a time stamp
/// whose signature was checked against the TSA's certificate.
pub fn timestamp_times(
    conn: &mut DbConnection,
    sizes: &[i64],
) -> Result<HashMap<i64, String>, LedgerError> {
    Ok(checkpoint_timestamps::table
        .filter(checkpoint_timestamps::size.eq_any(sizes))
        .filter(checkpoint_timestamps::checked_cert_sha256.is_not_null())
        .select((checkpoint_timestamps::size, checkpoint_timestamps::gen_time))
        .load::<(i64, String)>(conn)?
        .into_iter()
        .collect())
}

/// Keeps a time stamp; a second one for the same size (another process asked
/// too) is dropped, the first kept.
pub fn keep_timestamp(conn: &mut DbConnection, row: &TimestampRow) -> Result<(), LedgerError> {
    match diesel::insert_into(checkpoint_timestamps::table)
        .values(row)
        .execute(conn)
    {
        Ok(_)
        | Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(()),
        Err(e) => Err(e.into()),
    }
}
