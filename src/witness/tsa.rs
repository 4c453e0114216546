//! Trusted time: with `SOURCELEDGER_TSA_URL` set, each new checkpoint is sent
//! to an RFC 3161 time-stamping authority and the reply kept beside it. This
//! runs on its own thread, after the checkpoint is signed and apart from any
//! write: a TSA that is slow, down or wrong delays nothing but its own token,
//! and is asked again later, less often while it keeps failing.

use std::sync::Arc;
use std::time::Duration;

use crate::db::Db;
use crate::ledger::attestations::{self, TimestampRow};
use crate::ledger::{Ledger, timestamp};
use crate::outbound::{Fetcher, Limits};
use sha2::Digest;

/// The time-stamping authority: where to ask, and the certificate its
/// replies must verify under (`SOURCELEDGER_TSA_CERT`), when given.
#[derive(Debug, Clone)]
pub struct Tsa {
    pub url: String,
    pub certificate: Option<Vec<u8>>,
}

/// How long one request to the TSA may take, and its largest reply.
const LIMITS: Limits = Limits {
    timeout: Duration::from_secs(15),
    max_bytes: 64 * 1024,
};

/// The longest wait between tries while the TSA keeps failing.
const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Stamps the latest checkpoint unless it has a token already. Returns the
/// size stamped, if a new token was kept.
pub fn round(
    db: &Db,
    ledger: &Ledger,
    fetcher: &Fetcher,
    tsa: &Tsa,
) -> Result<Option<u64>, String> {
    let url = tsa.url.as_str();
    let checkpoint = {
        let mut conn = db.get().map_err(|e| e.to_string())?;
        let checkpoint = ledger
            .latest_checkpoint(&mut conn)
            .map_err(|e| e.to_string())?;
        let size = u64::try_from(checkpoint.size).map_err(|e| e.to_string())?;
        if size == 0
            || attestations::timestamp(&mut conn, Some(size))
                .map_err(|e| e.to_string())?
                .is_some()
        {
            return Ok(None);
        }
        checkpoint
    };
    // No pooled connection is held while the TSA is waited for.
    let imprint = timestamp::imprint(&checkpoint.note);
    let query = timestamp::request(imprint)?;
    let reply = fetcher
        .post(url, timestamp::QUERY_TYPE, &query.der, LIMITS)
        .map_err(|e| e.to_string())?;
    if reply.status != 200 {
        return Err(format!("the TSA answered {}", reply.status));
    }
    let at = timestamp::accept(&reply.body, &query)?;
    // With the TSA's certificate the reply must verify under it, as
    // `sourceledger verify --tsa-cert` checks it, before its time is claimed;
    // without one it is kept and served, and no time is claimed for it.
    let checked_cert_sha256 = match &tsa.certificate {
        Some(cert) => {
            timestamp::verify(&reply.body, &imprint, cert).map_err(|e| {
                format!("the reply does not verify against SOURCELEDGER_TSA_CERT: {e}")
            })?;
            Some(hex::encode(sha2::Sha256::digest(cert)))
        }
        None => None,
    };
    let row = TimestampRow {
        size: checkpoint.size,
        reply: reply.body,
        gen_time: crate::time::Timestamp::at(at),
        stamped_at: crate::time::Timestamp::now(),
        checked_cert_sha256,
    };
    let mut conn = db.get().map_err(|e| e.to_string())?;
    attestations::keep_timestamp(&mut conn, &row).map_err(|e| e.to_string())?;
    Ok(u64::try_from(row.size).ok())
}

/// Asks the TSA for each new checkpoint, every `tick`, for as long as the
/// process runs; after a failure it waits twice as long as before, up to five
/// minutes, and back to `tick` after a success.
pub fn spawn(
    db: Db,
    ledger: Arc<Ledger>,
    fetcher: Fetcher,
    tsa: Option<Tsa>,
    tick: Duration,
) -> std::io::Result<()> {
    let Some(tsa) = tsa else {
        return Ok(());
    };
    std::thread::Builder::new()
        .name("tsa".into())
        .spawn(move || {
            let mut wait = tick;
            loop {
                let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    round(&db, &ledger, &fetcher, &tsa)
                }));
                wait = match done {
                    Ok(Ok(_)) => tick,
                    Ok(Err(error)) => {
                        tracing::warn!(%error, "the time-stamping authority gave no token");
                        (wait * 2).min(MAX_BACKOFF)
                    }
                    Err(_) => {
                        tracing::error!(
                            "a time-stamping round panicked; the next one starts afresh"
                        );
                        (wait * 2).min(MAX_BACKOFF)
                    }
                };
                std::thread::sleep(wait);
            }
        })
        .map(|_| ())
}
