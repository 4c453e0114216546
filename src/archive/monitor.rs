//! The link monitor: after publication, re-checks the URLs of the sources
//! that published articles cite, through the safe fetcher, and classifies
//! each: `live` (2xx, and the body equals the capture, or there is none),
//! `changed` (2xx, the body differs from the capture), `gone` (404, 410, or
//! the name no longer resolves), `error` (anything else: timeouts, 5xx,
//! refusals). A ledger entry (`source.link`) is recorded only when a link's
//! state changes, in the same transaction as the new state.
//!
//! One server at a time runs it: it holds the `link-monitor` lease in the
//! database, renewing it each round; a server that stops renewing (a crash)
//! is taken over once its lease expires.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;

use diesel::prelude::*;
use rand::Rng;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::db::schema::{articles, citations, leases, link_checks, sources};
use crate::db::{Db, DbConnection};
use crate::error::ApiError;
use crate::ledger::{About, write_transaction};
use crate::newsroom::articles::ArticleStatus;
use crate::newsroom::citations::CitationStatus;
use crate::outbound::{CaptureLimits, FetchError, Fetcher};
use crate::time::{self, Timestamp};

/// Who the monitor's ledger entries name.
pub const ACTOR: &str = "monitor:links";
const LEASE: &str = "link-monitor";

/// How the monitor paces itself.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    /// Time between two checks of one link (jittered by up to a tenth).
    pub interval: Duration,
    /// Time between two requests to one host.
    pub per_host_delay: Duration,
    /// Checks in flight at once, over all hosts.
    pub concurrency: usize,
    /// How long a round's lease lasts unless renewed.
    pub lease: Duration,
}

impl Pace {
    pub fn from_settings(archive: &crate::config::ArchiveSettings) -> Self {
        Self {
            interval: archive.link_check_interval,
            per_host_delay: archive.link_check_host_delay,
            concurrency: archive.link_check_concurrency,
            // Long enough for a long round; a second server running a round
            // at the same time would only repeat checks: each state change
            // is decided inside the ledger's write transaction.
            lease: Duration::from_secs(600),
        }
    }
}

/// A cited URL and the capture it is compared with.
#[derive(Debug, Clone)]
struct Link {
    source_id: String,
    url: String,
    snapshot_sha256: Option<String>,
}

crate::db::words::stored_words! {
    /// What the link monitor last found at a source's URL: `unchecked` until
    /// it looks, `changed` when the page differs from the capture.
    pub enum LinkStatus ("link status") {
        Unchecked => "unchecked",
        Live => "live",
        Changed => "changed",
        Gone => "gone",
        Error => "error",
    }
}

impl LinkStatus {
    /// The states a check can find (all but `unchecked`).
    pub const FOUND: [Self; 4] = [Self::Live, Self::Changed, Self::Gone, Self::Error];
}

/// What one check found.
#[derive(Debug, Clone, PartialEq)]
struct Found {
    status: LinkStatus,
    detail: Option<String>,
    digest: Option<String>,
}

/// What a round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    pub checked: usize,
    /// Links whose state changed: one ledger entry each.
    pub changed: usize,
}

fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
}

/// Takes or renews the lease for `holder`; true when it holds it now.
pub fn take_lease(
    conn: &mut DbConnection,
    holder: &str,
    lease: Duration,
) -> Result<bool, ApiError> {
    take_named_lease(conn, LEASE, holder, lease)
}

/// Takes or renews lease `name` (a row of `leases`) for `holder`.
pub fn take_named_lease(
    conn: &mut DbConnection,
    name: &str,
    holder: &str,
    lease: Duration,
) -> Result<bool, ApiError> {
    let at = now();
    let until = time::format(at + chrono::Duration::from_std(lease).unwrap_or_default());
    let taken = diesel::update(leases::table)
        .filter(leases::name.eq(name))
        .filter(
            leases::holder
                .eq(holder)
                .or(leases::expires_at.lt(time::format(at))),
        )
        .set((leases::holder.eq(holder), leases::expires_at.eq(until)))
        .execute(conn)?;
    Ok(taken == 1)
}

/// Gives the lease up (a clean shutdown), so another server need not wait.
pub fn release_lease(conn: &mut DbConnection, holder: &str) -> Result<(), ApiError> {
    diesel::update(leases::table)
        .filter(leases::name.eq(LEASE))
        .filter(leases::holder.eq(holder))
        .set(leases::expires_at.eq(time::format(chrono::DateTime::UNIX_EPOCH)))
        .execute(conn)?;
    Ok(())
}

/// The URLs published articles cite through live citations, each with the
/// capture of the newest cited version at that URL.
fn cited_links(conn: &mut DbConnection) -> Result<Vec<Link>, ApiError> {
    let rows: Vec<(String, String, i64, Option<String>)> = citations::table
        .inner_join(articles::table.on(articles::slug.eq(citations::article_slug)))
        .inner_join(
            sources::table.on(sources::id
                .eq(citations::source_id)
                .and(sources::version.eq(citations::source_version))),
        )
        .filter(articles::status.eq(ArticleStatus::Published.as_str()))
        .filter(citations::status.ne(CitationStatus::Retracted.as_str()))
        .select((
            sources::id,
            sources::url,
            sources::version,
            sources::snapshot_sha256,
        ))
        .load(conn)?;
    let mut newest: BTreeMap<(String, String), (i64, Option<String>)> = BTreeMap::new();
    for (id, url, version, snapshot) in rows {
        let entry = newest
            .entry((id, url))
            .or_insert((version, snapshot.clone()));
        if version > entry.0 {
            *entry = (version, snapshot);
        }
    }
    Ok(newest
        .into_iter()
        .map(|((source_id, url), (_, snapshot_sha256))| Link {
            source_id,
            url,
            snapshot_sha256,
        })
        .collect())
}

/// The cited links due for a check: never checked, or due by now.
fn due_links(conn: &mut DbConnection) -> Result<Vec<Link>, ApiError> {
    let cited = cited_links(conn)?;
    let known: HashMap<(String, String), String> = link_checks::table
        .select((
            link_checks::source_id,
            link_checks::url,
            link_checks::next_check_at,
        ))
        .load::<(String, String, String)>(conn)?
        .into_iter()
        .map(|(id, url, next)| ((id, url), next))
        .collect();
    let at = time::format(now());
    Ok(cited
        .into_iter()
        .filter(|link| {
            known
                .get(&(link.source_id.clone(), link.url.clone()))
                .is_none_or(|next| *next <= at)
        })
        .collect())
}

/// Hashes what it is given; keeps nothing.
struct HashSink(Sha256);

impl Write for HashSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn check(fetcher: &Fetcher, link: &Link, max_bytes: u64) -> Found {
    let limits = CaptureLimits {
        connect: Duration::from_secs(10),
        first_byte: Duration::from_secs(15),
        total: Duration::from_secs(60),
        max_bytes,
        max_redirects: 5,
    };
    let mut sink = HashSink(Sha256::new());
    let error = |detail: String| Found {
        status: LinkStatus::Error,
        detail: Some(detail),
        digest: None,
    };
    match fetcher.capture(&link.url, limits, &mut sink) {
        Ok(fetched) => {
            let status = fetched.hops.last().map(|h| h.status).unwrap_or_default();
            match status {
                200..=299 => {
                    let digest = hex::encode(sink.0.finalize());
                    let same = link
                        .snapshot_sha256
                        .as_deref()
                        .is_none_or(|capture| capture == digest);
                    Found {
                        status: if same {
                            LinkStatus::Live
                        } else {
                            LinkStatus::Changed
                        },
                        detail: None,
                        digest: Some(digest),
                    }
                }
                404 | 410 => Found {
                    status: LinkStatus::Gone,
                    detail: Some(format!("answered {status}")),
                    digest: None,
                },
                other => error(format!("answered {other}")),
            }
        }
        Err(FetchError::NoSuchHost) => Found {
            status: LinkStatus::Gone,
            detail: Some("the host name no longer resolves".into()),
            digest: None,
        },
        Err(e) => error(e.to_string()),
    }
}

/// Stores what a check found; a ledger entry when the state changed.
/// True when it did.
fn record(
    conn: &mut DbConnection,
    writes: &crate::db::WriteCount,
    link: &Link,
    found: &Found,
    interval: Duration,
) -> Result<bool, ApiError> {
    let at = now();
    let jitter = interval.as_secs_f64() * rand::thread_rng().gen_range(-0.1..=0.1);
    let next = at
        + chrono::Duration::from_std(interval).unwrap_or_default()
        + chrono::Duration::milliseconds((jitter * 1000.0) as i64);
    let (checked_at, next_check_at) = (time::format(at), time::format(next));
    write_transaction(conn, writes, |conn, seq| {
        let previous: Option<String> = link_checks::table
            .find((&link.source_id, &link.url))
            .select(link_checks::status)
            .first(conn)
            .optional()?;
        if previous.as_deref() == Some(found.status.as_str()) {
            diesel::update(link_checks::table.find((&link.source_id, &link.url)))
                .set((
                    link_checks::checked_at.eq(&checked_at),
                    link_checks::next_check_at.eq(&next_check_at),
                    link_checks::digest.eq(&found.digest),
                ))
                .execute(conn)?;
            return Ok(false);
        }
        let entry = json!({
            "source_id": link.source_id,
            "url": link.url,
            "status": found.status.as_str(),
            "detail": found.detail,
            "digest": found.digest,
            "checked_at": checked_at,
        });
        let about = About {
            article: None,
            source: Some(&link.source_id),
        };
        let appended = seq.append_about(conn, "source.link", ACTOR, &entry, about)?;
        let index = crate::newsroom::ledger_index(&appended);
        diesel::delete(link_checks::table.find((&link.source_id, &link.url))).execute(conn)?;
        diesel::insert_into(link_checks::table)
            .values((
                link_checks::source_id.eq(&link.source_id),
                link_checks::url.eq(&link.url),
                link_checks::status.eq(found.status.as_str()),
                link_checks::detail.eq(&found.detail),
                link_checks::digest.eq(&found.digest),
                link_checks::checked_at.eq(&checked_at),
                link_checks::changed_at.eq(&appended.at),
                link_checks::ledger_index.eq(index),
                link_checks::next_check_at.eq(&next_check_at),
            ))
            .execute(conn)?;
        Ok(true)
    })
}

/// Checks every due link once: hosts in parallel (at most
/// `pace.concurrency` at once), one host's links one after another with
/// `pace.per_host_delay` between them.
pub fn run_round(
    db: &Db,
    fetcher: &Fetcher,
    pace: Pace,
    max_bytes: u64,
) -> Result<Round, ApiError> {
    let due = {
        let mut conn = db.get().map_err(ApiError::internal)?;
        due_links(&mut conn)?
    };
    // One host's links one after another, unless no delay is asked for.
    let groups: Vec<Vec<Link>> = if pace.per_host_delay.is_zero() {
        due.into_iter().map(|link| vec![link]).collect()
    } else {
        let mut by_host: BTreeMap<String, Vec<Link>> = BTreeMap::new();
        for link in due {
            let host = url::Url::parse(&link.url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_owned))
                .unwrap_or_default();
            by_host.entry(host).or_default().push(link);
        }
        by_host.into_values().collect()
    };
    let queue = Mutex::new(groups);
    let round = Mutex::new(Round::default());
    let failure: Mutex<Option<ApiError>> = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..pace.concurrency.max(1) {
            scope.spawn(|| {
                loop {
                    let Some(links) = queue.lock().ok().and_then(|mut q| q.pop()) else {
                        return;
                    };
                    for (i, link) in links.iter().enumerate() {
                        if i > 0 {
                            std::thread::sleep(pace.per_host_delay);
                        }
                        let found = check(fetcher, link, max_bytes);
                        let stored = db.get().map_err(ApiError::internal).and_then(|mut conn| {
                            record(&mut conn, db.write_count(), link, &found, pace.interval)
                        });
                        match stored {
                            Ok(changed) => {
                                if let Ok(mut r) = round.lock() {
                                    r.checked += 1;
                                    r.changed += usize::from(changed);
                                }
                            }
                            Err(e) => {
                                if let Ok(mut f) = failure.lock() {
                                    f.get_or_insert(e);
                                }
                            }
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e);
    }
    Ok(round.into_inner().unwrap_or_default())
}

/// Runs the monitor for the life of the process: every `tick`, when this
/// process holds the lease, a round.
pub fn spawn(db: Db, fetcher: Fetcher, pace: Pace, max_bytes: u64) {
    let holder = uuid::Uuid::new_v4().to_string();
    let tick = (pace.interval / 10).clamp(Duration::from_millis(200), Duration::from_secs(60));
    std::thread::spawn(move || {
        loop {
            let leased = db
                .get()
                .map_err(ApiError::internal)
                .and_then(|mut conn| take_lease(&mut conn, &holder, pace.lease));
            match leased {
                Ok(true) => match run_round(&db, &fetcher, pace, max_bytes) {
                    Ok(round) if round.checked > 0 => tracing::info!(
                        checked = round.checked,
                        changed = round.changed,
                        "link monitor round"
                    ),
                    Ok(_) => {}
                    Err(error) => {
                        crate::db::health::background_failed("link monitor round failed", &error)
                    }
                },
                Ok(false) => {}
                Err(error) => crate::db::health::background_failed(
                    "link monitor: the lease could not be read",
                    &error,
                ),
            }
            std::thread::sleep(tick);
        }
    });
}

/// How many checked links are in each state.
pub fn state_counts(conn: &mut DbConnection) -> Result<Vec<(LinkStatus, i64)>, ApiError> {
    let counts: Vec<(String, i64)> = link_checks::table
        .group_by(link_checks::status)
        .select((link_checks::status, diesel::dsl::count_star()))
        .load(conn)?;
    counts
        .into_iter()
        .map(|(status, n)| Ok((LinkStatus::try_from(status).map_err(ApiError::internal)?, n)))
        .collect()
}

/// A citation whose source's link changed or vanished after publication.
#[derive(Debug, serde::Serialize, utoipa::ToSchema, Queryable)]
pub struct Drifted {
    pub citation_id: String,
    pub source_id: String,
    pub source_version: i64,
    pub title: String,
    pub url: String,
    /// `changed` or `gone`.
    #[diesel(deserialize_as = String)]
    pub link_status: LinkStatus,
    /// What the check found (the status answered, a name that no longer
    /// resolves).
    pub detail: Option<String>,
    /// When the link took this state: the time of its `source.link` entry.
    pub changed_at: Timestamp,
    /// That entry.
    pub ledger_index: i64,
    pub checked_at: Timestamp,
    /// Where readers are sent instead.
    pub archive_url: Option<String>,
    pub snapshot_sha256: Option<String>,
}

/// The article's drift report, for the corrections desk.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Drift {
    pub article: String,
    pub status: ArticleStatus,
    /// Since when changes count: the article's last change of state (its
    /// publication, for a published article).
    pub since: String,
    pub citations: Vec<Drifted>,
}

/// The live citations of `slug` whose links changed or vanished since the
/// article was published.
pub fn drift(conn: &mut DbConnection, slug: &str) -> Result<Drift, ApiError> {
    let article = crate::newsroom::articles::get(conn, slug)?;
    let citations: Vec<Drifted> = citations::table
        .inner_join(
            sources::table.on(sources::id
                .eq(citations::source_id)
                .and(sources::version.eq(citations::source_version))),
        )
        .inner_join(
            link_checks::table.on(link_checks::source_id
                .eq(sources::id)
                .and(link_checks::url.eq(sources::url))),
        )
        .filter(citations::article_slug.eq(slug))
        .filter(citations::status.ne(CitationStatus::Retracted.as_str()))
        .filter(
            link_checks::status.eq_any([LinkStatus::Changed.as_str(), LinkStatus::Gone.as_str()]),
        )
        .filter(link_checks::changed_at.ge(&article.updated_at))
        .order(citations::id.asc())
        // In `Drifted`'s field order.
        .select((
            citations::id,
            sources::id,
            sources::version,
            sources::title,
            sources::url,
            link_checks::status,
            link_checks::detail,
            link_checks::changed_at,
            link_checks::ledger_index,
            link_checks::checked_at,
            sources::archive_url,
            sources::snapshot_sha256,
        ))
        .load(conn)?;
    Ok(Drift {
        article: article.slug.into_string(),
        status: article.status,
        since: article.updated_at.into_string(),
        citations,
    })
}
