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
//! an old signed checkpoint or send a bad proof.
//!
//! As a log, [`submit`] asks the configured witnesses to cosign each new
//! checkpoint and keeps what they return.

pub mod submit;
pub mod tsa;

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use diesel::prelude::*;
use signed_note::{Note, StandardVerifier, VerifierList};
use tlog_tiles::tlog::{self, HASH_SIZE, Hash};

use crate::db::DbConnection;
use crate::db::insert::insert_rows;
use crate::db::schema::{witness_refusals, witnessed_logs};
use crate::ledger::cosignature;
use crate::secrets::WitnessKey;

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
    logs: HashMap<String, Vec<StandardVerifier>>,
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
        let mut by_origin: HashMap<String, Vec<StandardVerifier>> = HashMap::new();
        let mut seen = std::collections::HashSet::new();
        for vkey in logs.iter().filter(|vkey| seen.insert(vkey.trim())) {
            let verifier = StandardVerifier::new(vkey)
                .map_err(|_| format!("{vkey:?} is not a signed-note verifier key"))?;
            let origin = signed_note::Verifier::name(&verifier).to_owned();
            by_origin.entry(origin).or_default().push(verifier);
        }
        Ok(Self {
            key,
            logs: by_origin,
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
        let request = parse_request(body)?;
        let note = Note::from_bytes(&request.note)
            .map_err(|_| Refusal::Malformed("the checkpoint is not a signed note".into()))?;
        let checkpoint = tlog_tiles::Checkpoint::from_bytes(note.text())
            .map_err(|_| Refusal::Malformed("the note is not a checkpoint".into()))?;
        let origin = checkpoint.origin().to_owned();
        let keys = self
            .logs
            .get(&origin)
            .ok_or_else(|| Refusal::UnknownLog(origin.clone()))?;
        let verifiers = VerifierList::new(
            keys.iter()
                .map(|k| Box::new(k.clone()) as Box<dyn signed_note::Verifier>)
                .collect(),
        );
        if note.verify(&verifiers).is_err() {
            return Err(Refusal::NotSigned.into());
        }
        let size = checkpoint.size();
        let root = *checkpoint.hash();
        if request.old > size {
            return Err(Refusal::OldSizeTooLarge {
                old: request.old,
                size,
            }
            .into());
        }
        let stored_size = i64::try_from(size)
            .map_err(|_| Refusal::Malformed("the checkpoint's size is too large".into()))?;
        // A client that is behind (or anyone replaying an old signed
        // checkpoint) is answered from a plain read: nothing is written.
        let held_size = |held: &Option<WitnessedLog>| {
            held.as_ref()
                .map_or(0, |h| u64::try_from(h.size).unwrap_or(0))
        };
        let seen = witnessed(conn, &origin)?;
        if request.old != held_size(&seen) {
            return Err(Refusal::Stale(held_size(&seen)).into());
        }
        let text = String::from_utf8_lossy(&request.note).into_owned();
        let outcome = conn.transaction(|conn| -> Result<Result<(), Refusal>, WitnessError> {
            let held = lock(conn, &origin)?;
            // Checked again under the lock: another request may have moved it.
            let refusal = if request.old != held_size(&held) {
                Some((Refusal::Stale(held_size(&held)), false))
            } else if request.old == size {
                match &held {
                    // The log's own signature on two roots for one size: a
                    // fork, and proof of it, kept once.
                    Some(h) if h.root_hash != root.0 => Some((Refusal::Fork(size), true)),
                    _ => None,
                }
            } else if request.old == 0 {
                (!request.proof.is_empty()).then_some((Refusal::BadProof, false))
            } else {
                let held_root = held
                    .as_ref()
                    .and_then(|h| <[u8; HASH_SIZE]>::try_from(h.root_hash.as_slice()).ok())
                    .map(Hash);
                let consistent = held_root.is_some_and(|old_root| {
                    tlog::check_tree(&request.proof, size, root, request.old, old_root).is_ok()
                });
                // The proof is the sender's, not the log's: a bad one proves
                // nothing against the log, and is not kept.
                (!consistent).then_some((Refusal::BadProof, false))
            };
            let at = crate::time::now();
            if let Some((refusal, is_evidence)) = refusal {
                if is_evidence && !kept_already(conn, &origin, &text)? {
                    insert_rows(
                        conn,
                        diesel::insert_into(witness_refusals::table).values(NewRefusal {
                            origin: &origin,
                            reason: "fork",
                            request: &text,
                            received_at: &at,
                        }),
                    )?;
                    tracing::warn!(
                        origin,
                        size,
                        "a log forked: kept its checkpoint as evidence"
                    );
                }
                return Ok(Err(refusal));
            }
            let row = WitnessedLog {
                origin: origin.clone(),
                size: stored_size,
                root_hash: root.0.to_vec(),
                checkpoint: text.clone(),
                updated_at: at,
            };
            diesel::update(witnessed_logs::table.find(&origin))
                .set((
                    witnessed_logs::size.eq(row.size),
                    witnessed_logs::root_hash.eq(&row.root_hash),
                    witnessed_logs::checkpoint.eq(&row.checkpoint),
                    witnessed_logs::updated_at.eq(&row.updated_at),
                ))
                .execute(conn)?;
            Ok(Ok(()))
        })?;
        outcome?;
        Ok(cosignature::cosign(&self.key, note.text(), now))
    }
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
