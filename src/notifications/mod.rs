//! Notifications out (SPEC "The public face"): an admin subscribes a URL to
//! some of the newsroom's public events (`article.published`,
//! `citation.retracted`, `link.gone`, `link.changed`); each event is sent
//! there as a Standard Webhooks request signed with the subscription's
//! secret, through the outbound fetcher.
//!
//! - [`events`] reads the log with a cursor stored in the database and makes
//!   one delivery row per subscription and event, in the transaction that
//!   advances the cursor: a restart neither loses nor repeats one. Only
//!   public facts become events: commitments (the embargo), entries about a
//!   draft and link changes of a source no published article cites are
//!   skipped.
//! - [`delivery`] sends them: per subscription strictly in log order, retried
//!   with a doubling delay for a day, never again once a receiver said 2xx.
//!
//! Subscriptions are the newsroom's bookkeeping: nothing here enters the log.

pub mod delivery;
pub mod events;

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use diesel::prelude::*;
use ipnet::IpNet;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::schema::{notification_cursor, notification_deliveries, notification_subscriptions};
use crate::error::{ApiError, ErrorCode};
use crate::secrets::SealingKey;
use crate::time::Timestamp;

/// The most subscriptions a newsroom keeps.
pub const MAX_SUBSCRIPTIONS: i64 = 100;
/// The longest URL taken.
const MAX_URL: usize = 2000;

crate::db::words::stored_words! {
    /// What a subscription can be told about.
    pub enum Event ("event") {
        ArticlePublished => "article.published",
        CitationRetracted => "citation.retracted",
        LinkGone => "link.gone",
        LinkChanged => "link.changed",
    }
}

crate::db::words::stored_words! {
    /// Where one delivery stands: `pending` until a receiver answers 2xx
    /// (`delivered`) or it is given up on (`failed`).
    pub enum DeliveryState ("delivery state") {
        Pending => "pending",
        Delivered => "delivered",
        Failed => "failed",
    }
}

/// `POST /v1/notifications`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSubscription {
    /// Where the events are sent: an absolute `https` URL, or `http` to an
    /// address the operator allows (`SOURCELEDGER_FETCH_ALLOW`).
    #[schema(pattern = "^https?://", max_length = 2048)]
    pub url: String,
    /// One or more of `article.published`, `citation.retracted`,
    /// `link.gone`, `link.changed`, each once.
    #[schema(min_items = 1, max_items = 4, inline, value_type = Vec<EventName>)]
    pub events: Vec<String>,
}

/// An event's name, for the OpenAPI document (the handler reads names as
/// text, to say which one it does not know).
#[derive(ToSchema)]
#[allow(dead_code)]
pub enum EventName {
    #[schema(rename = "article.published")]
    ArticlePublished,
    #[schema(rename = "citation.retracted")]
    CitationRetracted,
    #[schema(rename = "link.gone")]
    LinkGone,
    #[schema(rename = "link.changed")]
    LinkChanged,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = notification_subscriptions)]
pub struct SubscriptionRow {
    pub id: String,
    pub url: String,
    pub events: String,
    pub secret: Vec<u8>,
    pub created_at: String,
    pub created_by: String,
    pub from_index: i64,
}

impl SubscriptionRow {
    pub fn events(&self) -> Vec<String> {
        serde_json::from_str(&self.events).unwrap_or_default()
    }

    pub fn wants(&self, event: Event) -> bool {
        self.events().iter().any(|e| e == event.as_str())
    }

    /// Its secret, opened; never logged nor shown after creation.
    pub fn secret(&self, sealing: &SealingKey) -> Result<String, ApiError> {
        sealing
            .open(&self.secret, &self.id)
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| {
                ApiError::internal(format!(
                    "subscription {}: its secret does not open with this data dir's platform.key",
                    self.id
                ))
            })
    }
}

/// The last delivery tried (or, before any try, the oldest waiting).
#[derive(Debug, Serialize, ToSchema)]
pub struct LastDelivery {
    pub event: String,
    /// The ledger entry it tells of.
    pub index: i64,
    /// `pending`, `delivered` or `failed`.
    pub state: String,
    pub attempts: i32,
    /// The receiver's last answer, if it answered.
    pub http_status: Option<i32>,
    /// Why the last try failed, if it did.
    pub error: Option<String>,
    /// The last try's time, or when the event was found if none yet.
    pub at: Timestamp,
}

/// A subscription as listed: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct Subscription {
    pub id: String,
    /// The URL's origin and the last characters of its path: a webhook URL
    /// is often its own credential (Slack's is), so it is shown whole only
    /// once, when the subscription is made.
    pub url: String,
    pub events: Vec<String>,
    pub created_at: Timestamp,
    pub last_delivery: Option<LastDelivery>,
    /// Deliveries waiting (or being retried).
    pub pending: i64,
    /// Deliveries given up on.
    pub failed: i64,
    pub delivered: i64,
}

/// A subscription just made, with its secret (shown this once).
pub struct Created {
    pub subscription: Subscription,
    pub secret: String,
}

/// A fresh Standard Webhooks secret: `whsec_` and base64 of 32 random bytes.
fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("whsec_{}", BASE64.encode(bytes))
}

/// The events asked for: known names, at least one, none twice.
fn parse_events(events: &[String]) -> Result<Vec<Event>, ApiError> {
    if events.is_empty() {
        return Err(ApiError::invalid_field(
            "events",
            "must name at least one event",
        ));
    }
    let mut parsed = Vec::with_capacity(events.len());
    for name in events {
        let event = Event::try_from(name.clone()).map_err(|_| {
            ApiError::invalid_field(
                "events",
                format!(
                    "{name:?} is not an event; the events are article.published, citation.retracted, link.gone and link.changed"
                ),
            )
        })?;
        if parsed.contains(&event) {
            return Err(ApiError::invalid_field(
                "events",
                format!("{name:?} is named twice"),
            ));
        }
        parsed.push(event);
    }
    Ok(parsed)
}

/// Whether `url` may be a receiver: absolute `https`, or `http` to an allowed
/// address; a literal address that is not public must be allowed (else
/// `fetch_refused`, 422). Names are not resolved here: the fetcher checks
/// each delivery's addresses.
pub fn check_url(url: &str, allow: &[IpNet]) -> Result<String, ApiError> {
    let bad = |detail: String| ApiError::invalid_field("url", detail);
    if url.len() > MAX_URL {
        return Err(bad(format!("must be at most {MAX_URL} characters")));
    }
    let parsed =
        url::Url::parse(url).map_err(|_| bad("must be an absolute https URL".to_owned()))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("must carry no credentials".to_owned()));
    }
    let ip: Option<IpAddr> = match parsed.host() {
        Some(url::Host::Ipv4(v4)) => Some(v4.into()),
        Some(url::Host::Ipv6(v6)) => Some(v6.into()),
        Some(url::Host::Domain(_)) => None,
        None => return Err(bad("must have a host".to_owned())),
    };
    let allowed = ip.is_some_and(|ip| allow.iter().any(|net| net.contains(&ip)));
    if let Some(ip) = ip
        && !allowed
        && crate::outbound::refusal(ip).is_some()
    {
        return Err(ApiError::new(
            ErrorCode::FetchRefused,
            "url: its host is not a public address, and the server is not allowed to reach it (SOURCELEDGER_FETCH_ALLOW)",
        ));
    }
    match parsed.scheme() {
        "https" => {}
        "http" if allowed => {}
        "http" => {
            return Err(bad(
                "must be https; plain http is taken only to an address in SOURCELEDGER_FETCH_ALLOW"
                    .to_owned(),
            ));
        }
        _ => return Err(bad("must be an absolute https URL".to_owned())),
    }
    Ok(parsed.into())
}

pub fn create(
    conn: &mut DbConnection,
    sealing: &SealingKey,
    allow: &[IpNet],
    actor: &str,
    new: &NewSubscription,
) -> Result<Created, ApiError> {
    let url = check_url(&new.url, allow)?;
    let events: Vec<&str> = parse_events(&new.events)?
        .into_iter()
        .map(Event::as_str)
        .collect();
    let secret = new_secret();
    let id = uuid::Uuid::now_v7().to_string();
    conn.transaction(|conn| {
        // A write first: SQLite takes its write lock now rather than failing
        // to upgrade a read later, and the log's reader (which locks the
        // cursor the same way) never sees half of this.
        diesel::update(notification_cursor::table.find(1))
            .set(notification_cursor::next_index.eq(notification_cursor::next_index))
            .execute(conn)?;
        let count: i64 = notification_subscriptions::table
            .count()
            .get_result(conn)?;
        if count >= MAX_SUBSCRIPTIONS {
            return Err(ApiError::new(
                ErrorCode::Conflict,
                format!(
                    "there are {MAX_SUBSCRIPTIONS} subscriptions already, the most kept; remove one first"
                ),
            ));
        }
        let from = crate::ledger::store::size(conn)?;
        let row = SubscriptionRow {
            secret: sealing.seal(secret.as_bytes(), &id),
            id: id.clone(),
            url,
            events: serde_json::to_string(&events).map_err(ApiError::internal)?,
            created_at: Timestamp::now().into_string(),
            created_by: actor.to_owned(),
            from_index: i64::try_from(from).map_err(ApiError::internal)?,
        };
        diesel::insert_into(notification_subscriptions::table)
            .values(&row)
            .execute(conn)?;
        Ok(Created {
            subscription: listed(conn, row)?,
            secret,
        })
    })
}

/// A row as listed, with its last delivery and counts.
fn listed(conn: &mut DbConnection, row: SubscriptionRow) -> Result<Subscription, ApiError> {
    type Last = (
        String,
        i64,
        String,
        i32,
        Option<i32>,
        Option<String>,
        Option<String>,
        String,
    );
    let columns = (
        notification_deliveries::event,
        notification_deliveries::entry_index,
        notification_deliveries::state,
        notification_deliveries::attempts,
        notification_deliveries::last_http_status,
        notification_deliveries::last_error,
        notification_deliveries::last_attempt_at,
        notification_deliveries::created_at,
    );
    let of_row = notification_deliveries::subscription_id.eq(row.id.clone());
    let tried: Option<Last> = notification_deliveries::table
        .filter(of_row.clone())
        .filter(notification_deliveries::attempts.gt(0))
        .order(notification_deliveries::last_attempt_at.desc())
        .select(columns)
        .first(conn)
        .optional()?;
    let last = match tried {
        Some(last) => Some(last),
        None => notification_deliveries::table
            .filter(of_row.clone())
            .order(notification_deliveries::entry_index.asc())
            .select(columns)
            .first(conn)
            .optional()?,
    };
    let counts: Vec<(String, i64)> = notification_deliveries::table
        .filter(of_row)
        .group_by(notification_deliveries::state)
        .select((notification_deliveries::state, diesel::dsl::count_star()))
        .load(conn)?;
    let count = |state: DeliveryState| {
        counts
            .iter()
            .find(|(s, _)| s == state.as_str())
            .map_or(0, |(_, n)| *n)
    };
    Ok(Subscription {
        events: row.events(),
        last_delivery: last.map(
            |(event, index, state, attempts, http_status, error, tried_at, created_at)| {
                LastDelivery {
                    event,
                    index,
                    state,
                    attempts,
                    http_status,
                    error,
                    at: Timestamp::parse("at", tried_at.as_deref().unwrap_or(&created_at))
                        .unwrap_or_else(|_| Timestamp::now()),
                }
            },
        ),
        pending: count(DeliveryState::Pending),
        failed: count(DeliveryState::Failed),
        delivered: count(DeliveryState::Delivered),
        created_at: Timestamp::parse("created_at", &row.created_at)?,
        id: row.id,
        url: masked(&row.url),
    })
}

/// `https://hooks.slack.com/…XXXX`: the origin and the path's last four
/// characters, enough to tell subscriptions apart.
pub fn masked(url: &str) -> String {
    let Ok(parsed) = url::Url::parse(url) else {
        return "…".to_owned();
    };
    let path = parsed.path();
    let tail: String = path
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    if path.len() <= 1 && parsed.query().is_none() {
        return format!("{}/", parsed.origin().ascii_serialization());
    }
    format!("{}/…{tail}", parsed.origin().ascii_serialization())
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<Subscription>, ApiError> {
    let rows: Vec<SubscriptionRow> = notification_subscriptions::table
        .order(notification_subscriptions::created_at.asc())
        .select(SubscriptionRow::as_select())
        .load(conn)?;
    rows.into_iter().map(|row| listed(conn, row)).collect()
}

/// Removes the subscription and its deliveries: nothing more is sent.
pub fn remove(conn: &mut DbConnection, id: &str) -> Result<bool, ApiError> {
    conn.transaction(|conn| {
        diesel::delete(
            notification_deliveries::table.filter(notification_deliveries::subscription_id.eq(id)),
        )
        .execute(conn)?;
        Ok(diesel::delete(notification_subscriptions::table.find(id)).execute(conn)? == 1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_url_hides_its_path() {
        assert_eq!(
            masked("https://hooks.slack.com/services/T000/B000/XXXXsecretABCD"),
            "https://hooks.slack.com/…ABCD"
        );
        assert_eq!(masked("http://127.0.0.1:9/h"), "http://127.0.0.1:9/…/h");
        assert_eq!(masked("https://news.example/"), "https://news.example/");
        assert_eq!(
            masked("https://news.example/?token=x"),
            "https://news.example/…/"
        );
    }

    #[test]
    fn receivers_are_https_or_allowed_addresses() {
        let allow: Vec<IpNet> = vec!["127.0.0.0/8".parse().expect("cidr")];
        assert!(check_url("https://hooks.slack.com/services/T/B/X", &[]).is_ok());
        assert!(check_url("http://127.0.0.1:9/hook", &allow).is_ok());
        for refused in [
            "http://hooks.example/x",
            "http://127.0.0.1:9/hook",
            "https://10.0.0.1/x",
            "https://[::1]/x",
            "https://169.254.169.254/latest",
            "ftp://example.com/x",
            "/relative",
            "https://user:pw@example.com/x",
        ] {
            assert!(check_url(refused, &[]).is_err(), "{refused} was taken");
        }
    }

    #[test]
    fn events_are_known_and_each_named_once() {
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert!(parse_events(&names(&["link.gone", "article.published"])).is_ok());
        assert!(parse_events(&names(&[])).is_err());
        assert!(parse_events(&names(&["link.gone", "link.gone"])).is_err());
        assert!(parse_events(&names(&["link.dead"])).is_err());
    }

    #[test]
    fn secrets_are_standard_webhooks_secrets() {
        let secret = new_secret();
        let key = BASE64
            .decode(secret.strip_prefix("whsec_").expect("prefix"))
            .expect("base64");
        assert_eq!(key.len(), 32);
        assert_ne!(secret, new_secret());
    }
}
