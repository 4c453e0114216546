//! Sends the delivery rows: each a Standard Webhooks request (`webhook-id`,
//! `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>` over
//! `id.timestamp.body`, keyed by the base64 after `whsec_`), through the
//! outbound fetcher, whose address policy applies.
//!
//! Per subscription strictly in log order: the oldest undelivered row first,
//! a later one waits for it. A 2xx answer makes it `delivered` (never sent
//! again); any other answer or a transport error is tried again after a
//! delay that doubles from `SOURCELEDGER_NOTIFY_RETRY_DELAY_MS` (at most an
//! hour), until a day after the event: then it is `failed` and the next one
//! goes. An address the fetcher refuses is `failed` at once, with the reason.
//! Each subscription is sent to by a task of its own: a slow receiver (each
//! try gives up after 10 s) holds up no other.
//!
//! One server at a time sends (the `notifications` lease). It looks at the
//! log when this process has written to it, and every
//! [`POLL`] for other servers' writes and retries due.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{DeliveryState, SubscriptionRow};
use crate::db::DbConnection;
use crate::db::schema::{notification_deliveries, notification_subscriptions};
use crate::error::ApiError;
use crate::metrics::StateLabels;
use crate::outbound::{FetchError, Limits};
use crate::state::AppState;
use crate::time;

const LEASE: &str = "notifications";
/// How long the lease lasts unless renewed, and how often it is renewed.
const LEASE_FOR: Duration = Duration::from_secs(30);
const RENEW_EVERY: Duration = Duration::from_secs(5);
/// The longest time between two looks at the database.
pub const POLL: Duration = Duration::from_millis(250);
/// The time between two looks at this process's write count.
const TICK: Duration = Duration::from_millis(10);
/// How long one try may take, from connecting to the answer's last byte.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// The most of a receiver's answer that is read.
const MAX_ANSWER: u64 = 1 << 20;
/// How long a delivery is tried for.
pub const TRY_FOR: Duration = Duration::from_secs(24 * 3600);
/// The longest wait between two tries.
pub const MAX_WAIT: Duration = Duration::from_secs(3600);
/// Entries read per transaction of the cursor.
const BATCH: i64 = 500;

/// `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, the key being the
/// base64 after `whsec_`.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, ApiError> {
    let key = BASE64
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| ApiError::internal("a notification secret is not whsec_<base64>"))?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).map_err(ApiError::internal)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!("v1,{}", BASE64.encode(mac.finalize().into_bytes())))
}

/// The message id: the same on every try of one event to one subscription.
pub fn message_id(subscription: &str, index: i64) -> String {
    format!("msg_{subscription}_{index}")
}

/// When a delivery that failed `attempts` times (this one included) is
/// tried next, or `None` once it has been tried for [`TRY_FOR`]: the wait
/// doubles from `base`, at most [`MAX_WAIT`], and the last try falls on the
/// day's end.
pub fn next_try(
    attempts: i32,
    base: Duration,
    created: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<DateTime<Utc>> {
    let end = created + chrono::Duration::from_std(TRY_FOR).unwrap_or_default();
    if now >= end {
        return None;
    }
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(0);
    let wait = base.saturating_mul(1u32 << doublings.min(20)).min(MAX_WAIT);
    let next = now + chrono::Duration::from_std(wait).unwrap_or_default();
    Some(next.min(end))
}

/// A subscription's oldest undelivered row.
#[derive(Debug, Clone, Queryable)]
struct Head {
    entry_index: i64,
    payload: String,
    attempts: i32,
    created_at: String,
    next_attempt_at: String,
}

fn head(
    conn: &mut DbConnection,
    subscription: &str,
) -> Result<Option<(SubscriptionRow, Head)>, ApiError> {
    let Some(row) = notification_subscriptions::table
        .find(subscription)
        .select(SubscriptionRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let head: Option<Head> = notification_deliveries::table
        .filter(notification_deliveries::subscription_id.eq(subscription))
        .filter(notification_deliveries::state.eq(DeliveryState::Pending.as_str()))
        .order(notification_deliveries::entry_index.asc())
        .select((
            notification_deliveries::entry_index,
            notification_deliveries::payload,
            notification_deliveries::attempts,
            notification_deliveries::created_at,
            notification_deliveries::next_attempt_at,
        ))
        .first(conn)
        .optional()?;
    Ok(head.map(|head| (row, head)))
}

/// The subscriptions with a row due now.
fn due_subscriptions(conn: &mut DbConnection) -> Result<Vec<String>, ApiError> {
    Ok(notification_deliveries::table
        .filter(notification_deliveries::state.eq(DeliveryState::Pending.as_str()))
        .filter(notification_deliveries::next_attempt_at.le(time::now()))
        .select(notification_deliveries::subscription_id)
        .distinct()
        .load(conn)?)
}

/// How long a claimed row is left to the server that claimed it: a try's
/// whole time and then some. A server that dies mid-try leaves the row to
/// be tried again after it (at least once, with the same `webhook-id`).
const CLAIM_FOR: Duration = Duration::from_secs(30);

/// Takes the row `head` for one try, unless another server took it since it
/// was read: its next try is moved past the try's end, where no other server
/// finds it due. The update writes first (SQLite's write lock is waited for).
fn claim(conn: &mut DbConnection, subscription: &str, head: &Head) -> Result<bool, ApiError> {
    let until = Utc::now() + chrono::Duration::from_std(CLAIM_FOR).unwrap_or_default();
    let taken =
        diesel::update(notification_deliveries::table.find((subscription, head.entry_index)))
            .filter(notification_deliveries::state.eq(DeliveryState::Pending.as_str()))
            .filter(notification_deliveries::attempts.eq(head.attempts))
            .filter(notification_deliveries::next_attempt_at.eq(&head.next_attempt_at))
            .set(notification_deliveries::next_attempt_at.eq(time::format(until)))
            .execute(conn)?;
    Ok(taken == 1)
}

/// What one try came to.
#[derive(Debug)]
enum Outcome {
    Delivered(u16),
    Retry(Option<u16>, String),
    Failed(Option<u16>, String),
}

fn record(
    conn: &mut DbConnection,
    subscription: &str,
    head: &Head,
    outcome: &Outcome,
    base: Duration,
) -> Result<&'static str, ApiError> {
    let now = Utc::now();
    let attempts = head.attempts + 1;
    let (state, status, error, next) = match outcome {
        Outcome::Delivered(status) => (DeliveryState::Delivered, Some(*status), None, None),
        Outcome::Failed(status, error) => (DeliveryState::Failed, *status, Some(error), None),
        Outcome::Retry(status, error) => {
            let created = time::parse(&head.created_at).unwrap_or(now);
            match next_try(attempts, base, created, now) {
                Some(next) => (DeliveryState::Pending, *status, Some(error), Some(next)),
                None => (DeliveryState::Failed, *status, Some(error), None),
            }
        }
    };
    let at = time::format(now);
    diesel::update(notification_deliveries::table.find((subscription, head.entry_index)))
        .filter(notification_deliveries::state.eq(DeliveryState::Pending.as_str()))
        .filter(notification_deliveries::attempts.eq(head.attempts))
        .set((
            notification_deliveries::state.eq(state.as_str()),
            notification_deliveries::attempts.eq(attempts),
            notification_deliveries::last_attempt_at.eq(&at),
            notification_deliveries::last_http_status.eq(status.map(i32::from)),
            notification_deliveries::last_error.eq(error),
            notification_deliveries::next_attempt_at
                .eq(next.map(time::format).unwrap_or_else(|| at.clone())),
            notification_deliveries::delivered_at
                .eq((state == DeliveryState::Delivered).then_some(&at)),
        ))
        .execute(conn)?;
    Ok(match (state, outcome) {
        (DeliveryState::Delivered, _) => "delivered",
        (DeliveryState::Pending, _) => "retry",
        _ => "failed",
    })
}

/// Sends subscription `id`'s due rows, oldest first, until one must wait.
async fn send_due(state: &AppState, id: &str) -> Result<(), ApiError> {
    loop {
        let subscription = id.to_owned();
        let Some((row, head)) = state.db.run(move |conn| head(conn, &subscription)).await? else {
            return Ok(());
        };
        if head.next_attempt_at > time::now() {
            return Ok(());
        }
        // Another server that held the lease a moment ago may be at the
        // same row: the one whose claim takes it sends it.
        let (subscription, claimed) = (id.to_owned(), head.clone());
        if !state
            .db
            .run(move |conn| claim(conn, &subscription, &claimed))
            .await?
        {
            return Ok(());
        }
        let trying = Instant::now();
        let outcome = match row.secret(&state.sealing) {
            Ok(secret) => try_once(state, &row, &head, &secret).await,
            Err(error) => Outcome::Failed(None, error.detail().to_owned()),
        };
        tracing::debug!(
            ms = trying.elapsed().as_millis() as u64,
            index = head.entry_index,
            "notifications: one try"
        );
        if let Outcome::Retry(_, error) | Outcome::Failed(_, error) = &outcome {
            tracing::info!(subscription = %row.id, index = head.entry_index, %error, "notification not delivered");
        }
        let (subscription, base) = (id.to_owned(), state.settings.notify_retry_delay);
        let done = state
            .db
            .run(move |conn| record(conn, &subscription, &head, &outcome, base))
            .await?;
        state
            .metrics
            .notifications
            .get_or_create(&StateLabels {
                state: done.to_owned(),
            })
            .inc();
        if done == "retry" {
            return Ok(());
        }
    }
}

async fn try_once(state: &AppState, row: &SubscriptionRow, head: &Head, secret: &str) -> Outcome {
    let id = message_id(&row.id, head.entry_index);
    let timestamp = Utc::now().timestamp();
    let signed = match signature(secret, &id, timestamp, head.payload.as_bytes()) {
        Ok(signed) => signed,
        Err(error) => return Outcome::Failed(None, error.detail().to_owned()),
    };
    let (fetcher, url, body) = (state.fetcher.clone(), row.url.clone(), head.payload.clone());
    let sent = actix_web::rt::task::spawn_blocking(move || {
        let timestamp = timestamp.to_string();
        let headers = [
            ("webhook-id", id.as_str()),
            ("webhook-timestamp", timestamp.as_str()),
            ("webhook-signature", signed.as_str()),
        ];
        fetcher.post_once(
            &url,
            &headers,
            "application/json",
            body.as_bytes(),
            Limits {
                timeout: TIMEOUT,
                max_bytes: MAX_ANSWER,
            },
        )
    })
    .await;
    match sent {
        Ok(Ok(answer)) if (200..300).contains(&answer.status) => Outcome::Delivered(answer.status),
        Ok(Ok(answer)) => Outcome::Retry(
            Some(answer.status),
            format!("the receiver answered {}", answer.status),
        ),
        Ok(Err(error @ (FetchError::Refused(_) | FetchError::BadUrl(_)))) => {
            Outcome::Failed(None, error.to_string())
        }
        Ok(Err(error)) => Outcome::Retry(None, error.to_string()),
        Err(error) => Outcome::Retry(None, format!("the try was cut short: {error}")),
    }
}

/// Reads the log up to its end, making delivery rows.
pub async fn collect_all(state: &AppState) -> Result<usize, ApiError> {
    let mut made = 0;
    loop {
        let public_url = state.settings.public_url.clone();
        let (rows, more) = state
            .db
            .run(move |conn| {
                if !super::events::behind(conn)? {
                    return Ok((0, false));
                }
                super::events::collect(conn, &public_url, BATCH)
            })
            .await?;
        made += rows;
        if !more {
            return Ok(made);
        }
    }
}

/// One whole round now, whoever holds the lease: the log read, then every
/// subscription's due rows sent, one subscription after another (the tests'
/// way to deliver without the worker).
pub async fn run_once(state: &AppState) -> Result<(), ApiError> {
    collect_all(state).await?;
    let due = state.db.run(due_subscriptions).await?;
    for id in due {
        send_due(state, &id).await?;
    }
    Ok(())
}

/// Stops the worker when dropped (or told to).
pub struct Worker {
    stop: Arc<AtomicBool>,
}

impl Worker {
    /// Lets it run for the life of the process.
    pub fn detach(self) {
        std::mem::forget(self);
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Runs the delivery worker on a thread of its own.
pub fn spawn(state: actix_web::web::Data<AppState>) -> std::io::Result<Worker> {
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = stop.clone();
    std::thread::Builder::new()
        .name("notifications".into())
        .spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(run(state, stopped));
        })?;
    Ok(Worker { stop })
}

async fn run(state: actix_web::web::Data<AppState>, stop: Arc<AtomicBool>) {
    let holder = uuid::Uuid::new_v4().to_string();
    let busy: Arc<Mutex<HashSet<String>>> = Arc::default();
    let mut held: Option<(bool, Instant)> = None;
    let mut seen_writes = None;
    let mut looked_at: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        let writes = state.db.write_count().commits();
        let due = seen_writes != Some(writes) || looked_at.is_none_or(|at| at.elapsed() >= POLL);
        if !due {
            actix_web::rt::time::sleep(TICK).await;
            continue;
        }
        seen_writes = Some(writes);
        looked_at = Some(Instant::now());
        if held.is_none_or(|(_, at)| at.elapsed() >= RENEW_EVERY) {
            let holder = holder.clone();
            let taken = state
                .db
                .run(move |conn| {
                    crate::archive::monitor::take_named_lease(conn, LEASE, &holder, LEASE_FOR)
                })
                .await;
            match taken {
                Ok(taken) => held = Some((taken, Instant::now())),
                Err(error) => {
                    crate::db::health::background_failed(
                        "notifications: the lease could not be read",
                        &error,
                    );
                    held = None;
                }
            }
        }
        if !held.is_some_and(|(taken, _)| taken) {
            continue;
        }
        let reading = Instant::now();
        let collected = collect_all(&state).await;
        tracing::debug!(
            ms = reading.elapsed().as_millis() as u64,
            "notifications: the log read"
        );
        if let Err(error) = collected {
            crate::db::health::background_failed(
                "notifications: the log could not be read for events",
                &error,
            );
        }
        let due = match state.db.run(due_subscriptions).await {
            Ok(due) => due,
            Err(error) => {
                crate::db::health::background_failed(
                    "notifications: the deliveries due could not be read",
                    &error,
                );
                continue;
            }
        };
        for id in due {
            let started = busy.lock().map(|mut b| b.insert(id.clone()));
            if !matches!(started, Ok(true)) {
                continue;
            }
            let (state, busy) = (state.clone(), busy.clone());
            actix_web::rt::spawn(async move {
                if let Err(error) = send_due(&state, &id).await {
                    tracing::warn!(subscription = %id, %error, "notifications: a delivery could not be recorded");
                }
                if let Ok(mut busy) = busy.lock() {
                    busy.remove(&id);
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_the_one_standard_webhooks_receivers_check() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        // The Standard Webhooks specification's own example.
        assert_eq!(
            signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).expect("sign"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        // And this server's own receiver of platforms' webhooks agrees.
        let signed = signature(secret, "msg_1", 1614265330, body).expect("sign");
        let signatures = crate::platforms::webhooks::Signatures {
            ghost: None,
            webhook_id: Some("msg_1"),
            webhook_timestamp: Some("1614265330"),
            webhook_signature: Some(&signed),
        };
        let at = DateTime::from_timestamp(1614265330, 0).expect("time");
        assert!(crate::platforms::webhooks::verify_standard(secret, signatures, body, at).is_ok());
    }

    #[test]
    fn retries_double_up_to_an_hour_for_a_day() {
        let base = Duration::from_secs(5);
        let created = Utc::now();
        let wait =
            |attempts, now: DateTime<Utc>| next_try(attempts, base, created, now).map(|t| t - now);
        assert_eq!(wait(1, created), Some(chrono::Duration::seconds(5)));
        assert_eq!(wait(2, created), Some(chrono::Duration::seconds(10)));
        assert_eq!(wait(4, created), Some(chrono::Duration::seconds(40)));
        assert_eq!(wait(30, created), Some(chrono::Duration::hours(1)));
        let late = created + chrono::Duration::hours(23) + chrono::Duration::minutes(50);
        assert_eq!(
            next_try(30, base, created, late),
            Some(created + chrono::Duration::hours(24))
        );
        assert_eq!(
            next_try(30, base, created, created + chrono::Duration::hours(24)),
            None
        );
    }
}
