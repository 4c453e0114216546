//! The log's side of witnessing: after a checkpoint is signed, each configured
//! witness is sent it with a consistency proof from the size it last cosigned
//! (C2SP tlog-witness `add-checkpoint`); a 409 names the witness's size, and
//! the request is made again from there. The cosignatures that verify under
//! the witness's key are kept, one per checkpoint and witness, and the served
//! checkpoint carries them as extra signature lines.

use std::collections::HashMap;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use diesel::prelude::*;

use crate::db::insert::insert_rows;
use crate::db::schema::witness_cosignatures;
use crate::db::{Db, DbConnection};
use crate::ledger::attestations::{cosignatures, cosigned_note};
use crate::ledger::cosignature::{self, CosignatureVerifier};
use crate::ledger::store::CheckpointRow;
use crate::ledger::{Ledger, LedgerError, TreeSize};
use crate::outbound::{Fetcher, Limits};

/// One witness this log asks: its key and where its `add-checkpoint` is.
#[derive(Debug, Clone)]
pub struct Configured {
    pub key: CosignatureVerifier,
    pub url: String,
}

/// The witnesses, and how many cosignatures make a checkpoint witnessed.
#[derive(Debug, Clone, Default)]
pub struct Witnesses {
    pub list: Vec<Configured>,
    pub quorum: usize,
}

impl Witnesses {
    /// The configured witnesses' vkeys, for [`Quorum`](crate::ledger::attestations::Quorum).
    pub fn vkeys(&self) -> Vec<String> {
        self.list.iter().map(|w| w.key.vkey().to_owned()).collect()
    }

    /// From `SOURCELEDGER_WITNESSES` entries (vkey, URL).
    pub fn parse(entries: &[(String, String)], quorum: usize) -> Result<Self, String> {
        let list = entries
            .iter()
            .map(|(vkey, url)| {
                Ok(Configured {
                    key: CosignatureVerifier::new(vkey)?,
                    url: url.clone(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Self { list, quorum })
    }
}

#[derive(Insertable)]
#[diesel(table_name = witness_cosignatures)]
struct NewCosignature<'a> {
    size: i64,
    witness: &'a str,
    line: &'a str,
    cosigned_at: &'a str,
}

/// The latest signed checkpoint (signing one first if the log grew) with the
/// cosignatures kept for it so far.
pub fn latest_note(conn: &mut DbConnection, ledger: &Ledger) -> Result<String, LedgerError> {
    let row = ledger.latest_checkpoint_served(conn)?;
    cosigned_note(conn, &row)
}

/// The largest size `witness` cosigned for this log, as far as kept here.
fn last_cosigned(conn: &mut DbConnection, witness: &str) -> QueryResult<u64> {
    let size: Option<i64> = witness_cosignatures::table
        .filter(witness_cosignatures::witness.eq(witness))
        .select(diesel::dsl::max(witness_cosignatures::size))
        .first(conn)?;
    Ok(size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0))
}

#[derive(Debug, thiserror::Error)]
enum SubmitError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Db(#[from] diesel::result::Error),
    #[error("{0}")]
    Witness(String),
}

/// How long one request to a witness may take, and its largest answer.
const LIMITS: Limits = Limits {
    timeout: Duration::from_secs(10),
    max_bytes: 64 * 1024,
};

/// The add-checkpoint body: `old N`, the proof, an empty line, the note.
fn request_body(old: u64, proof: &[tlog_tiles::tlog::Hash], note: &str) -> Vec<u8> {
    let mut body = format!("old {old}\n");
    for hash in proof {
        body.push_str(&BASE64.encode(hash.0));
        body.push('\n');
    }
    body.push('\n');
    body.push_str(note);
    body.into_bytes()
}

/// Asks one witness to cosign `checkpoint`; keeps and returns its cosignature.
fn ask(
    db: &Db,
    ledger: &Ledger,
    fetcher: &Fetcher,
    witness: &Configured,
    checkpoint: &CheckpointRow,
    known: &mut HashMap<String, u64>,
) -> Result<(), SubmitError> {
    let size = u64::try_from(checkpoint.size).unwrap_or(0);
    let vkey = witness.key.vkey().to_owned();
    // A pool connection only around each database step, never while a
    // witness is being waited for.
    let connect = || db.get().map_err(|e| SubmitError::Witness(e.to_string()));
    let mut old = match known.get(&vkey) {
        Some(&old) => old,
        None => last_cosigned(&mut *connect()?, &vkey)?,
    };
    let url = format!("{}/add-checkpoint", witness.url);
    // The first try, and one more from the size a 409 names.
    for _ in 0..2 {
        if old > size {
            return Err(SubmitError::Witness(format!(
                "the witness has cosigned size {old}, beyond this log's {size}"
            )));
        }
        let proof = if old == 0 || old == size {
            Vec::new()
        } else {
            ledger
                .consistency(&mut *connect()?, TreeSize(old), TreeSize(size))?
                .proof
        };
        let body = request_body(old, &proof, &checkpoint.note);
        let answer = fetcher
            .post(&url, "text/plain; charset=utf-8", &body, LIMITS)
            .map_err(|e| SubmitError::Witness(e.to_string()))?;
        match answer.status {
            200 => {
                let lines = String::from_utf8_lossy(&answer.body);
                let cosigned = format!("{}{lines}", checkpoint.note);
                let found =
                    cosignature::verified(cosigned.as_bytes(), std::slice::from_ref(&witness.key));
                let Some((_, line)) = found.into_iter().next() else {
                    return Err(SubmitError::Witness(
                        "the answer holds no valid cosignature by the witness's key".into(),
                    ));
                };
                let at = crate::time::now();
                insert_rows(
                    &mut *connect()?,
                    diesel::insert_into(witness_cosignatures::table)
                        .values(NewCosignature {
                            size: checkpoint.size,
                            witness: &vkey,
                            line: &line,
                            cosigned_at: &at,
                        })
                        .on_conflict_do_nothing(),
                )?;
                known.insert(vkey, size);
                return Ok(());
            }
            409 => {
                let named = std::str::from_utf8(&answer.body)
                    .ok()
                    .and_then(|t| t.trim_end_matches('\n').parse::<u64>().ok());
                match named {
                    Some(theirs) if theirs != old => {
                        known.insert(vkey.clone(), theirs);
                        old = theirs;
                    }
                    _ => {
                        return Err(SubmitError::Witness(format!(
                            "the witness refused size {size} from {old} (409)"
                        )));
                    }
                }
            }
            status => {
                return Err(SubmitError::Witness(format!(
                    "the witness answered {status}"
                )));
            }
        }
    }
    Err(SubmitError::Witness(format!(
        "the witness kept changing its size (now {old})"
    )))
}

/// One round: signs the latest checkpoint if the log grew, and asks every
/// witness that has not cosigned it yet. Returns how many cosignatures it has.
fn round(
    db: &Db,
    ledger: &Ledger,
    fetcher: &Fetcher,
    witnesses: &Witnesses,
    known: &mut HashMap<String, u64>,
) -> Result<usize, SubmitError> {
    let (checkpoint, have) = {
        let mut conn = db.get().map_err(|e| SubmitError::Witness(e.to_string()))?;
        let checkpoint = ledger.latest_checkpoint(&mut conn)?;
        let have: Vec<String> = cosignatures(&mut conn, checkpoint.size)?
            .into_iter()
            .map(|(witness, _)| witness)
            .collect();
        (checkpoint, have)
    };
    if checkpoint.size == 0 {
        return Ok(0);
    }
    let mut count = have.len();
    for witness in &witnesses.list {
        if have.iter().any(|w| w == witness.key.vkey()) {
            continue;
        }
        match ask(db, ledger, fetcher, witness, &checkpoint, known) {
            Ok(()) => count += 1,
            Err(error) => tracing::warn!(
                witness = %witness.url,
                size = checkpoint.size,
                %error,
                "a witness did not cosign"
            ),
        }
    }
    Ok(count)
}

/// Asks the witnesses about each new checkpoint, every `tick`, for as long as
/// the process runs. Several processes sharing a database may all do so: a
/// witness answers the later ones with 409 and its size, and each keeps the
/// cosignatures once.
pub fn spawn(
    db: Db,
    ledger: std::sync::Arc<Ledger>,
    fetcher: Fetcher,
    witnesses: Witnesses,
    tick: Duration,
) -> std::io::Result<()> {
    if witnesses.list.is_empty() {
        return Ok(());
    }
    std::thread::Builder::new()
        .name("witnessing".into())
        .spawn(move || {
            let mut known = HashMap::new();
            loop {
                let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    round(&db, &ledger, &fetcher, &witnesses, &mut known)
                }));
                match done {
                    Ok(Ok(_)) => {}
                    Ok(Err(error)) => tracing::warn!(%error, "witnessing round failed"),
                    Err(_) => {
                        tracing::error!("a witnessing round panicked; the next one starts afresh")
                    }
                }
                std::thread::sleep(tick);
            }
        })?;
    Ok(())
}
