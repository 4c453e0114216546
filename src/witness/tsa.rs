//! Trusted time: with `SOURCELEDGER_TSA_URL` set, each new checkpoint is sent
//! to an RFC 3161 time-stamping authority and the reply kept beside it. This
//! runs on its own thread, after the checkpoint is signed and apart from any
//! write: a TSA that is slow, down or wrong delays nothing but its own token,
//! and is asked again later, less often while it keeps failing.

use std::sync::Arc;
use std::time::Duration;

use crate::db::Db;
use crate::ledger::attestations::{self, TimestampRow};
use crate::ledger::{Ledger, leaf, timestamp};
use crate::outbound::{Fetcher, Limits};

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
    url: &str,
) -> Result<Option<u64>, String> {
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
    let query = timestamp::request(timestamp::imprint(&checkpoint.note))?;
    let reply = fetcher
        .post(url, timestamp::QUERY_TYPE, &query.der, LIMITS)
        .map_err(|e| e.to_string())?;
    if reply.status != 200 {
        return Err(format!("the TSA answered {}", reply.status));
    }
    let at = timestamp::accept(&reply.body, &query)?;
    let row = TimestampRow {
        size: checkpoint.size,
        reply: reply.body,
        gen_time: leaf::format_at(at),
        stamped_at: leaf::format_at(chrono::Utc::now()),
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
    url: Option<String>,
    tick: Duration,
) -> std::io::Result<()> {
    let Some(url) = url else {
        return Ok(());
    };
    std::thread::Builder::new()
        .name("tsa".into())
        .spawn(move || {
            let mut wait = tick;
            loop {
                let done = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    round(&db, &ledger, &fetcher, &url)
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
