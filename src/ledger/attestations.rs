//! What others attest of the log's checkpoints, kept beside them: the
//! witnesses' cosignatures (C2SP tlog-cosignature) and RFC 3161 time stamps.

use std::collections::HashMap;

use diesel::prelude::*;

use super::LedgerError;
use super::store::{CheckpointRow, to_i64};
use crate::db::DbConnection;
use crate::db::schema::{checkpoint_timestamps, witness_cosignatures};
use crate::time::Timestamp;

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
    Ok(note_with(&row.note, &cosignatures(conn, row.size)?))
}

fn note_with(note: &str, cosignatures: &[(String, String)]) -> String {
    let mut note = note.to_owned();
    for (_, line) in cosignatures {
        note.push_str(line);
    }
    note
}

/// The witnesses whose cosignatures count (their vkeys) and how many of them
/// must cosign a checkpoint for it to be witnessed: the one quorum rule.
#[derive(Debug, Clone, Copy)]
pub struct Quorum<'a> {
    pub witnesses: &'a [String],
    pub needed: usize,
}

impl Quorum<'_> {
    /// Whether these cosigners (vkeys) meet the quorum; never with no
    /// witnesses or a quorum of 0.
    pub fn is_met_by<'k>(&self, cosigners: impl IntoIterator<Item = &'k str>) -> bool {
        let trusted = cosigners
            .into_iter()
            .filter(|vkey| self.witnesses.iter().any(|w| w == vkey))
            .count();
        self.needed > 0 && trusted >= self.needed
    }
}

/// The largest checkpoint size the quorum has cosigned, if any.
pub fn newest_witnessed(
    conn: &mut DbConnection,
    quorum: Quorum,
) -> Result<Option<i64>, LedgerError> {
    if quorum.witnesses.is_empty() || quorum.needed == 0 {
        return Ok(None);
    }
    let needed = i64::try_from(quorum.needed).unwrap_or(i64::MAX);
    Ok(witness_cosignatures::table
        .filter(witness_cosignatures::witness.eq_any(quorum.witnesses))
        .group_by(witness_cosignatures::size)
        .having(diesel::dsl::count_star().ge(needed))
        .select(witness_cosignatures::size)
        .order(witness_cosignatures::size.desc())
        .first(conn)
        .optional()?)
}

/// A signed checkpoint with what others attested of it.
#[derive(Debug, Clone)]
pub struct AttestedCheckpoint {
    pub checkpoint: CheckpointRow,
    /// The signed note with every cosignature kept for it appended.
    pub note: String,
    /// Whether the quorum cosigned it.
    pub witnessed: bool,
    /// The time a time-stamping authority stated for it, if any.
    pub timestamped_at: Option<Timestamp>,
}

/// A page of the signed checkpoints, oldest first, larger than `after`, with
/// their cosignatures and time stamps.
pub fn history(
    conn: &mut DbConnection,
    after: Option<u64>,
    limit: u32,
    quorum: Quorum,
) -> Result<Vec<AttestedCheckpoint>, LedgerError> {
    let rows = super::store::checkpoints(conn, after, limit)?;
    let sizes: Vec<i64> = rows.iter().map(|r| r.size).collect();
    let mut times = timestamp_times(conn, &sizes)?;
    let mut cosigned: HashMap<i64, Vec<(String, String)>> = HashMap::new();
    for (size, witness, line) in witness_cosignatures::table
        .filter(witness_cosignatures::size.eq_any(&sizes))
        .order((
            witness_cosignatures::size.asc(),
            witness_cosignatures::witness.asc(),
        ))
        .select((
            witness_cosignatures::size,
            witness_cosignatures::witness,
            witness_cosignatures::line,
        ))
        .load::<(i64, String, String)>(conn)?
    {
        cosigned.entry(size).or_default().push((witness, line));
    }
    Ok(rows
        .into_iter()
        .map(|checkpoint| {
            let cosignatures = cosigned.remove(&checkpoint.size).unwrap_or_default();
            AttestedCheckpoint {
                witnessed: quorum.is_met_by(cosignatures.iter().map(|(w, _)| w.as_str())),
                note: note_with(&checkpoint.note, &cosignatures),
                timestamped_at: times.remove(&checkpoint.size),
                checkpoint,
            }
        })
        .collect())
}

#[cfg(test)]
mod quorum_tests {
    use super::Quorum;

    #[test]
    fn only_the_trusted_witnesses_count_toward_the_quorum() {
        let witnesses = ["a".to_owned(), "b".to_owned()];
        let two = Quorum {
            witnesses: &witnesses,
            needed: 2,
        };
        assert!(two.is_met_by(["a", "b"]));
        assert!(!two.is_met_by(["a", "c"]));
        assert!(!two.is_met_by(["a"]));
        let none = Quorum {
            witnesses: &witnesses,
            needed: 0,
        };
        assert!(!none.is_met_by(["a", "b"]));
        let nobody = Quorum {
            witnesses: &[],
            needed: 1,
        };
        assert!(!nobody.is_met_by(["a"]));
    }
}

/// An RFC 3161 time-stamp reply kept for a checkpoint.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = checkpoint_timestamps)]
pub struct TimestampRow {
    pub size: i64,
    /// The TSA's TimeStampResp, DER.
    pub reply: Vec<u8>,
    /// The time the TSA stated, RFC 3339.
    pub gen_time: Timestamp,
    pub stamped_at: Timestamp,
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
) -> Result<HashMap<i64, Timestamp>, LedgerError> {
    Ok(checkpoint_timestamps::table
        .filter(checkpoint_timestamps::size.eq_any(sizes))
        .filter(checkpoint_timestamps::checked_cert_sha256.is_not_null())
        .select((checkpoint_timestamps::size, checkpoint_timestamps::gen_time))
        .load::<(i64, Timestamp)>(conn)?
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
