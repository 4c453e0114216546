//! Witnessing, both ways (C2SP tlog-witness, tlog-cosignature).
//!
//! As a witness ([`Witness::add_checkpoint`]) this server keeps, for each log
//! it was told to witness, the latest checkpoint it cosigned, and cosigns a new
//! one only when the log's signature verifies and a consistency proof shows it
//! extends the old one. The check and the update are one transaction holding
//! the log's row, so two requests racing cannot roll a log back; a request
//! from a client that is behind is answered from a plain read, writing
//! nothing. A fork (the log's own signature on another root for a size it
//! cosigned) is refused and its checkpoint kept, once, as evidence; a
//! rollback or a failing proof is refused and not kept, as anyone can replay
//! an old signed checkpoint or send a bad proof. What to answer is decided
//! by pure functions (the `decision` module), given the logs' keys and what
//! is held; [`Witness::add_checkpoint`] reads what is held and writes.
//!
//! As a log, [`submit`] asks the configured witnesses to cosign each new
//! checkpoint and keeps what they return.

mod decision;
pub mod submit;
pub mod tsa;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use diesel::prelude::*;
use tlog_tiles::tlog::{HASH_SIZE, Hash};

use crate::db::DbConnection;
use crate::db::insert::insert_rows;
use crate::db::schema::{witness_refusals, witnessed_logs};
use crate::ledger::cosignature;
use crate::secrets::WitnessKey;
use decision::{Candidate, Held, TrustedLogs};

/// The most consistency proof lines a request may carry (the spec's bound).
pub const MAX_PROOF_LINES: usize = 63;

/// The largest request body a witness reads.
pub const MAX_REQUEST_BYTES: usize = 16 * 1024;

/// Why a witness did not cosign, each with the status the spec gives it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// 400: the body is not an add-checkpoint request.
    #[error("{0}")]
    Malformed(String),
    /// 400: the old size is larger than the checkpoint's.
    #[error("the old size {old} is larger than the checkpoint's size {size}")]
    OldSizeTooLarge { old: u64, size: u64 },
    /// 404: no log with this origin is witnessed here.
    #[error("this witness does not witness the log {0:?}")]
    UnknownLog(String),
    /// 403: no signature by the log's key verifies.
    #[error("the checkpoint carries no valid signature by the log's key")]
    NotSigned,
    /// 409: the old size is not what this witness last cosigned; the body is
    /// that size.
    #[error("this witness last cosigned size {0}")]
    Stale(u64),
    /// 409: the same size with another root hash: a fork.
    #[error("a checkpoint of size {0} with another root hash was cosigned before")]
    Fork(u64),
    /// 422: the consistency proof does not verify.
    #[error("the consistency proof does not verify")]
    BadProof,
}

impl Refusal {
    /// Its problem code, whose status is C2SP tlog-witness's for it: 400,
    /// 403, 404, 409 or 422.
    pub fn code(&self) -> crate::error::ErrorCode {
        use crate::error::ErrorCode;
        match self {
            Refusal::Malformed(_) | Refusal::OldSizeTooLarge { .. } => ErrorCode::InvalidCheckpoint,
            Refusal::NotSigned => ErrorCode::CheckpointUnsigned,
            Refusal::UnknownLog(_) => ErrorCode::UnknownLog,
            Refusal::Stale(_) | Refusal::Fork(_) => ErrorCode::CheckpointRefused,
            Refusal::BadProof => ErrorCode::InvalidProof,
        }
    }

    /// Whether the refused checkpoint is kept as evidence against its log:
    /// a fork is the log's own signature on two roots for one size; a
    /// rollback or a bad proof is anyone's to send, and proves nothing.
    pub fn is_evidence(&self) -> bool {
        matches!(self, Refusal::Fork(_))
    }
}

/// What went wrong while witnessing: a refusal, or the database.
#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
}

/// An add-checkpoint request, parsed.
#[derive(Debug)]
pub struct Request {
    pub old: u64,
    pub proof: Vec<Hash>,
    /// The signed note, as sent.
    pub note: Vec<u8>,
}

/// Parses `old N`, the proof lines, an empty line and the signed checkpoint.
pub fn parse_request(body: &[u8]) -> Result<Request, Refusal> {
    let bad = |why: &str| Refusal::Malformed(why.to_owned());
    let mut rest = body;
    let mut next_line = || -> Result<&[u8], Refusal> {
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| bad("every line must end in a newline"))?;
        let line = &rest[..end];
        rest = &rest[end + 1..];
        Ok(line)
    };
    let old_line = std::str::from_utf8(next_line()?).map_err(|_| bad("not UTF-8"))?;
    let old = old_line
        .strip_prefix("old ")
        .filter(|n| *n == "0" || (!n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit())))
        .and_then(|n| n.parse::<u64>().ok())
        .ok_or_else(|| bad("the first line must be `old <size>`"))?;
    let mut proof = Vec::new();
    loop {
        let line = next_line()?;
        if line.is_empty() {
            break;
        }
        if proof.len() == MAX_PROOF_LINES {
            return Err(bad("more than 63 consistency proof lines"));
        }
        let bytes = BASE64
            .decode(line)
            .map_err(|_| bad("a proof line is not base64"))?;
        let hash: [u8; HASH_SIZE] = bytes
            .try_into()
            .map_err(|_| bad("a proof line is not a 32-byte hash"))?;
        proof.push(Hash(hash));
    }
    Ok(Request {
        old,
        proof,
        note: rest.to_vec(),
    })
}

/// A witness: its key, and the logs it witnesses by origin.
pub struct Witness {
    key: WitnessKey,
    logs: TrustedLogs,
}

/// What a witness holds for one log.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = witnessed_logs)]
pub struct WitnessedLog {
    pub origin: String,
    pub size: i64,
    pub root_hash: Vec<u8>,
    pub checkpoint: String,
    pub updated_at: String,
}

impl WitnessedLog {
    /// The size and root hash it holds.
    fn held(&self) -> Held {
        Held {
            size: u64::try_from(self.size).unwrap_or(0),
            root: <[u8; HASH_SIZE]>::try_from(self.root_hash.as_slice())
                .ok()
                .map(Hash),
        }
    }
}

#[derive(Insertable)]
#[diesel(table_name = witness_refusals)]
struct NewRefusal<'a> {
    origin: &'a str,
    reason: &'a str,
    request: &'a str,
    received_at: &'a str,
}

impl Witness {
    /// `logs`: the signed-note verifier keys of the logs to witness; each
    /// key's name is its log's origin.
    pub fn new(key: WitnessKey, logs: &[String]) -> Result<Self, String> {
        Ok(Self {
            key,
            logs: TrustedLogs::new(logs)?,
        })
    }

    pub fn name(&self) -> &str {
        self.key.name()
    }

    /// The cosignature/v1 verifier key others name this witness by.
    pub fn verifier_key(&self) -> String {
        self.key.verifier_key()
    }

    /// Checks a request and, when it extends what was cosigned before,
    /// records the checkpoint and returns the cosignature line. `now` is the
    /// cosignature's time (POSIX seconds).
    pub fn add_checkpoint(
        &self,
        conn: &mut DbConnection,
        body: &[u8],
        now: u64,
    ) -> Result<String, WitnessError> {
        let candidate = self.logs.signed(parse_request(body)?)?;
        // A client that is behind (or anyone replaying an old signed
        // checkpoint) is answered from a plain read: nothing is written.
        let seen = witnessed(conn, &candidate.origin)?;
        decision::stale(candidate.old, seen.as_ref().map(WitnessedLog::held))?;
        conn.transaction(|conn| -> Result<Result<(), Refusal>, WitnessError> {
            // Decided under the lock: another request may have moved the log.
            let held = lock(conn, &candidate.origin)?;
            let verdict = decision::decide(&candidate, held.as_ref().map(WitnessedLog::held));
            let at = crate::time::now();
            match &verdict {
                Ok(()) => store(conn, &candidate, &at)?,
                Err(refusal) if refusal.is_evidence() => keep_evidence(conn, &candidate, &at)?,
                Err(_) => {}
            }
            Ok(verdict)
        })??;
        Ok(cosignature::cosign(&self.key, &candidate.text, now))
    }
}

/// Records a cosigned checkpoint as what this witness holds for its log.
fn store(conn: &mut DbConnection, cosigned: &Candidate, at: &str) -> Result<(), WitnessError> {
    diesel::update(witnessed_logs::table.find(&cosigned.origin))
        .set((
            witnessed_logs::size.eq(decision::stored_size(cosigned.size)?),
            witnessed_logs::root_hash.eq(cosigned.root.0.to_vec()),
            witnessed_logs::checkpoint.eq(&cosigned.note),
            witnessed_logs::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Keeps a fork's checkpoint as evidence against its log, once.
fn keep_evidence(conn: &mut DbConnection, fork: &Candidate, at: &str) -> Result<(), WitnessError> {
    if kept_already(conn, &fork.origin, &fork.note)? {
        return Ok(());
    }
    insert_rows(
        conn,
        diesel::insert_into(witness_refusals::table).values(NewRefusal {
            origin: &fork.origin,
            reason: "fork",
            request: &fork.note,
            received_at: at,
        }),
    )?;
    tracing::warn!(
        origin = fork.origin.as_str(),
        size = fork.size,
        "a log forked: kept its checkpoint as evidence"
    );
    Ok(())
}

/// Whether this signed checkpoint is kept as evidence against `origin` already.
fn kept_already(
    conn: &mut DbConnection,
    origin: &str,
    checkpoint: &str,
) -> Result<bool, WitnessError> {
    let kept: i64 = witness_refusals::table
        .filter(witness_refusals::origin.eq(origin))
        .filter(witness_refusals::request.eq(checkpoint))
        .count()
        .get_result(conn)?;
    Ok(kept > 0)
}

/// Takes the log's row for the rest of the transaction (making it first when
/// this witness never saw the log), and returns what it held, if anything.
fn lock(conn: &mut DbConnection, origin: &str) -> Result<Option<WitnessedLog>, WitnessError> {
    insert_rows(
        conn,
        diesel::insert_into(witnessed_logs::table)
            .values(WitnessedLog {
                origin: origin.to_owned(),
                size: 0,
                root_hash: Vec::new(),
                checkpoint: String::new(),
                updated_at: String::new(),
            })
            .on_conflict_do_nothing(),
    )?;
    diesel::update(witnessed_logs::table.find(origin))
        .set(witnessed_logs::size.eq(witnessed_logs::size))
        .execute(conn)?;
    let row: WitnessedLog = witnessed_logs::table
        .find(origin)
        .select(WitnessedLog::as_select())
        .first(conn)?;
    Ok((!row.checkpoint.is_empty()).then_some(row))
}

/// What this witness holds for a log, if it ever cosigned it.
pub fn witnessed(
    conn: &mut DbConnection,
    origin: &str,
) -> Result<Option<WitnessedLog>, diesel::result::Error> {
    Ok(witnessed_logs::table
        .find(origin)
        .select(WitnessedLog::as_select())
        .first(conn)
        .optional()?
        .filter(|row| !row.checkpoint.is_empty()))
}

/// How many refusals were recorded as evidence against a log.
pub fn refusals(conn: &mut DbConnection, origin: &str) -> Result<i64, diesel::result::Error> {
    witness_refusals::table
        .filter(witness_refusals::origin.eq(origin))
        .count()
        .get_result(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_as_the_spec_writes_them() {
        let hash = BASE64.encode([7u8; 32]);
        let body = format!("old 20\n{hash}\n{hash}\n\norigin\n25\n{hash}\n\n— origin AAAA\n");
        let parsed = parse_request(body.as_bytes()).expect("parse");
        assert_eq!(parsed.old, 20);
        assert_eq!(parsed.proof.len(), 2);
        assert!(parsed.note.starts_with(b"origin\n25\n"));
        for bad in [
            "old 01\n\nx",
            "old -1\n\nx",
            "old 1",
            "new 1\n\nx",
            "old 1\nnot base64!\n\nx",
            "old 1\nAAAA\n\nx",
        ] {
            assert!(parse_request(bad.as_bytes()).is_err(), "{bad:?}");
        }
        let many = format!("old 1\n{}\nx", format!("{hash}\n").repeat(64));
        assert!(parse_request(many.as_bytes()).is_err());
    }
}
