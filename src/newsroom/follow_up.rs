//! What the archive does after the newsroom's writes, in the background:
//!
//! - **Capture on publication** (`SOURCELEDGER_CAPTURE_ON_PUBLISH`): every
//!   source a published article cites through a live citation and that has
//!   no archived copy yet is captured, politely: one host's pages one after
//!   another with the link monitor's per-host delay, at most its
//!   concurrency of hosts at once, a failed try retried after a delay that
//!   doubles, three tries in all (a refused address or a page too large is
//!   not tried again). What failed stays in `capture_requests` and shows in
//!   the desk's drift queue; capturing the source by hand clears it.
//! - **Quote checks**: each citation's quote is looked for in the text of
//!   its source's latest archived copy (`reading::quotes`); each finding is
//!   a `citation.quote` ledger entry (under embargo a commitment, disclosed
//!   with the article) and a row of `quote_checks`, so readers' lists show
//!   it with its proof and change with the log.
//!
//! The work is found from the database, not queued by the writes, so a
//! publication through the API, the desk or a Ghost delivery, a citation
//! added after publication, and a server restarted mid-way are all the
//! same case. One server at a time does it (the `archive-follow-up` lease).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use diesel::prelude::*;
use serde_json::json;

use super::articles::ArticleStatus;
use super::citations::CitationStatus;
use crate::db::DbConnection;
use crate::db::schema::{articles, capture_requests, citations, quote_checks, sources};
use crate::error::{ApiError, ErrorCode};
use crate::ledger::{About, write_transaction};
use crate::reading::quotes::{self, TextQuoteSelector};
use crate::state::AppState;
use crate::time::{self, Timestamp};

/// Who the captures and findings are recorded by.
pub const ACTOR: &str = "archive:follow-up";
const LEASE: &str = "archive-follow-up";
/// Tries of one capture before it is given up on.
pub const TRIES: i32 = 3;
/// The least time between two searches of the database for work.
const SEARCH_EVERY: Duration = Duration::from_secs(2);
/// The largest archived copy whose text is searched for quotes.
const MAX_SEARCHED: u64 = 32 << 20;

crate::db::words::stored_words! {
    /// What the search for a citation's quote in its source's archived copy
    /// found: `unchecked` until there is a copy with text to search.
    pub enum QuoteStatus ("quote status") {
        Found => "found",
        NotFound => "not_found",
        Unchecked => "unchecked",
    }
}

/// A capture publishing asked for, due now.
#[derive(Debug, Clone)]
struct Request {
    source_id: String,
    url: String,
    attempts: i32,
}

/// Where a round looks for work: everywhere (at start, and in the tests),
/// or only at the sources and articles the log's new entries concern.
#[derive(Debug, Clone)]
pub enum Scope {
    All,
    Touched {
        sources: Vec<String>,
        articles: Vec<String>,
    },
}

/// The most sources and articles a round looks at one by one; more, and it
/// looks everywhere.
const MOST_TOUCHED: usize = 500;

/// What the entries from index `from` on concern: every change that can
/// make work (a publication, a citation, a capture) is an entry naming its
/// article or source, under embargo too.
fn touched(conn: &mut DbConnection, from: u64) -> Result<Scope, ApiError> {
    use crate::db::schema::ledger_entries;
    let from = i64::try_from(from).unwrap_or(i64::MAX);
    let rows: Vec<(Option<String>, Option<String>)> = ledger_entries::table
        .filter(ledger_entries::idx.ge(from))
        .select((ledger_entries::article, ledger_entries::source))
        .load(conn)?;
    let mut sources: HashSet<String> = HashSet::new();
    let mut articles: HashSet<String> = HashSet::new();
    for (article, source) in rows {
        articles.extend(article);
        sources.extend(source);
        if sources.len() > MOST_TOUCHED || articles.len() > MOST_TOUCHED {
            return Ok(Scope::All);
        }
    }
    Ok(Scope::Touched {
        sources: sources.into_iter().collect(),
        articles: articles.into_iter().collect(),
    })
}

/// The live citations (id, article, source, quote) in `scope`, of published
/// articles only when `published`.
type CitedRow = (String, String, String, Option<String>);

fn live_citations(
    conn: &mut DbConnection,
    scope: &Scope,
    published: bool,
    quoted: bool,
) -> Result<Vec<CitedRow>, ApiError> {
    let mut query = citations::table
        .inner_join(articles::table.on(articles::slug.eq(citations::article_slug)))
        .filter(citations::status.ne(CitationStatus::Retracted.as_str()))
        .select((
            citations::id,
            citations::article_slug,
            citations::source_id,
            citations::quote,
        ))
        .into_boxed();
    if published {
        query = query.filter(articles::status.eq(ArticleStatus::Published.as_str()));
    }
    if quoted {
        query = query.filter(citations::quote.is_not_null());
    }
    if let Scope::Touched { sources, articles } = scope {
        if sources.is_empty() && articles.is_empty() {
            return Ok(Vec::new());
        }
        query = query.filter(
            citations::source_id
                .eq_any(sources.clone())
                .or(citations::article_slug.eq_any(articles.clone())),
        );
    }
    Ok(query.load(conn)?)
}

/// Sources cited in published articles, by live citations, with no archived
/// copy at any version and no capture asked for yet: asked for now.
fn ask_for_captures(conn: &mut DbConnection, scope: &Scope) -> Result<usize, ApiError> {
    let cited: Vec<(String, String)> = live_citations(conn, scope, true, false)?
        .into_iter()
        .map(|(_, slug, source, _)| (source, slug))
        .collect();
    let mut first_article: BTreeMap<String, String> = BTreeMap::new();
    for (source, slug) in cited {
        first_article.entry(source).or_insert(slug);
    }
    let ids: Vec<&String> = first_article.keys().collect();
    let mut captured: HashSet<String> = HashSet::new();
    let mut latest_url: HashMap<String, (i64, String)> = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(String, i64, String, Option<String>)> = sources::table
            .filter(sources::id.eq_any(chunk))
            .select((
                sources::id,
                sources::version,
                sources::url,
                sources::snapshot_sha256,
            ))
            .load(conn)?;
        for (id, version, url, snapshot) in rows {
            if snapshot.is_some() {
                captured.insert(id.clone());
            }
            let entry = latest_url.entry(id).or_insert((version, url.clone()));
            if version > entry.0 {
                *entry = (version, url);
            }
        }
    }
    let asked: HashSet<String> = capture_requests::table
        .select(capture_requests::source_id)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let now = time::now();
    let mut count = 0;
    for (id, slug) in &first_article {
        // Sealed sources have no row here: never captured.
        let Some((_, url)) = latest_url.get(id) else {
            continue;
        };
        if captured.contains(id) || asked.contains(id) {
            continue;
        }
        diesel::insert_into(capture_requests::table)
            .values((
                capture_requests::source_id.eq(id),
                capture_requests::url.eq(url),
                capture_requests::article_slug.eq(slug),
                capture_requests::requested_at.eq(&now),
                capture_requests::attempts.eq(0),
                capture_requests::next_attempt_at.eq(&now),
                capture_requests::state.eq("pending"),
            ))
            .execute(conn)?;
        count += 1;
    }
    Ok(count)
}

fn due_captures(conn: &mut DbConnection, limit: i64) -> Result<Vec<Request>, ApiError> {
    let rows: Vec<(String, String, i32)> = capture_requests::table
        .filter(capture_requests::state.eq("pending"))
        .filter(capture_requests::next_attempt_at.le(time::now()))
        .order(capture_requests::next_attempt_at.asc())
        .limit(limit)
        .select((
            capture_requests::source_id,
            capture_requests::url,
            capture_requests::attempts,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(source_id, url, attempts)| Request {
            source_id,
            url,
            attempts,
        })
        .collect())
}

/// A capture of source `id` succeeded (here or by hand): nothing left to ask.
pub fn captured(conn: &mut DbConnection, id: &str) -> Result<(), ApiError> {
    diesel::delete(capture_requests::table.find(id)).execute(conn)?;
    Ok(())
}

/// A try failed: tried again after `retry * 2^tries`, or given up on.
fn failed(
    conn: &mut DbConnection,
    request: &Request,
    error: &ApiError,
    retry: Duration,
) -> Result<(), ApiError> {
    let attempts = request.attempts + 1;
    let lasting = matches!(
        error.code(),
        ErrorCode::FetchRefused | ErrorCode::PayloadTooLarge
    );
    let state = if lasting || attempts >= TRIES {
        "failed"
    } else {
        "pending"
    };
    let wait = retry.saturating_mul(1 << (attempts - 1).clamp(0, 10));
    let next = chrono::Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
    diesel::update(capture_requests::table.find(&request.source_id))
        .set((
            capture_requests::attempts.eq(attempts),
            capture_requests::state.eq(state),
            capture_requests::next_attempt_at.eq(time::format(next)),
            capture_requests::last_error.eq(error.detail()),
        ))
        .execute(conn)?;
    Ok(())
}

/// A capture publishing asked for that failed, as the drift queue shows it.
#[derive(Debug, Clone)]
pub struct FailedCapture {
    pub source_id: String,
    pub url: String,
    pub article_slug: String,
    pub attempts: i32,
    pub last_error: String,
    pub failed_at: String,
}

/// Captures given up on, most recent first.
pub fn failed_captures(conn: &mut DbConnection) -> Result<Vec<FailedCapture>, ApiError> {
    let rows: Vec<(String, String, String, i32, Option<String>, String)> = capture_requests::table
        .filter(capture_requests::state.eq("failed"))
        .order(capture_requests::next_attempt_at.desc())
        .select((
            capture_requests::source_id,
            capture_requests::url,
            capture_requests::article_slug,
            capture_requests::attempts,
            capture_requests::last_error,
            capture_requests::next_attempt_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(source_id, url, article_slug, attempts, last_error, failed_at)| FailedCapture {
                source_id,
                url,
                article_slug,
                attempts,
                last_error: last_error.unwrap_or_default(),
                failed_at,
            },
        )
        .collect())
}

/// A citation whose quote is due a search: never searched, or searched in
/// an older copy than its source's latest.
#[derive(Debug, Clone)]
struct QuoteDue {
    citation_id: String,
    article_slug: String,
    source_id: String,
    quote: String,
    snapshot: String,
}

fn quotes_due(
    conn: &mut DbConnection,
    scope: &Scope,
    limit: usize,
) -> Result<Vec<QuoteDue>, ApiError> {
    let quoted = live_citations(conn, scope, false, true)?;
    if quoted.is_empty() {
        return Ok(Vec::new());
    }
    let mut checked: HashMap<String, String> = HashMap::new();
    let ids: Vec<&String> = quoted.iter().map(|(id, ..)| id).collect();
    for chunk in ids.chunks(500) {
        checked.extend(
            quote_checks::table
                .filter(quote_checks::citation_id.eq_any(chunk))
                .select((quote_checks::citation_id, quote_checks::snapshot_sha256))
                .load::<(String, String)>(conn)?,
        );
    }
    let ids: Vec<&String> = quoted
        .iter()
        .map(|(_, _, source, _)| source)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut latest: HashMap<String, (i64, String)> = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<(String, i64, Option<String>)> = sources::table
            .filter(sources::id.eq_any(chunk))
            .filter(sources::snapshot_sha256.is_not_null())
            .select((sources::id, sources::version, sources::snapshot_sha256))
            .load(conn)?;
        for (id, version, snapshot) in rows {
            let Some(snapshot) = snapshot else { continue };
            let entry = latest.entry(id).or_insert((version, snapshot.clone()));
            if version > entry.0 {
                *entry = (version, snapshot);
            }
        }
    }
    Ok(quoted
        .into_iter()
        .filter_map(|(citation_id, article_slug, source_id, quote)| {
            let (_, snapshot) = latest.get(&source_id)?;
            if checked.get(&citation_id) == Some(snapshot) {
                return None;
            }
            Some(QuoteDue {
                citation_id,
                article_slug,
                source_id,
                quote: quote?,
                snapshot: snapshot.clone(),
            })
        })
        .take(limit)
        .collect())
}

/// Records what the search for `due`'s quote found: with a `citation.quote`
/// entry when there was text to search (`found` is `Some`), else only the
/// row, so the copy is not read again.
fn record_quote(
    conn: &mut DbConnection,
    writes: &crate::db::WriteCount,
    embargo: super::embargo::Embargo,
    due: &QuoteDue,
    found: Option<Option<TextQuoteSelector>>,
) -> Result<(), ApiError> {
    let checked_at = Timestamp::now();
    write_transaction(conn, writes, |conn, seq| {
        let (status, selector, index) = match &found {
            None => ("unreadable", None, None),
            Some(selector) => {
                let status = match selector {
                    Some(_) => QuoteStatus::Found,
                    None => QuoteStatus::NotFound,
                };
                let record = json!({
                    "citation_id": due.citation_id,
                    "snapshot_sha256": due.snapshot,
                    "status": status.as_str(),
                    "selector": selector,
                });
                let draft =
                    super::articles::get(conn, &due.article_slug)?.status == ArticleStatus::Draft;
                let about = About {
                    article: Some(&due.article_slug),
                    source: Some(&due.source_id),
                };
                let appended = super::embargo::append(
                    conn,
                    seq,
                    embargo.on() && draft,
                    "citation.quote",
                    ACTOR,
                    &record,
                    about,
                )?;
                (
                    status.as_str(),
                    selector.clone(),
                    Some(super::ledger_index(&appended)),
                )
            }
        };
        diesel::delete(quote_checks::table.find(&due.citation_id)).execute(conn)?;
        diesel::insert_into(quote_checks::table)
            .values((
                quote_checks::citation_id.eq(&due.citation_id),
                quote_checks::snapshot_sha256.eq(&due.snapshot),
                quote_checks::status.eq(status),
                quote_checks::selector.eq(selector
                    .as_ref()
                    .map(serde_json::to_string)
                    .transpose()
                    .map_err(ApiError::internal)?),
                quote_checks::checked_at.eq(checked_at.as_str()),
                quote_checks::ledger_index.eq(index),
            ))
            .execute(conn)?;
        Ok::<_, ApiError>(())
    })
}

/// The text of archived copy `sha256`, when it has text to search.
async fn copy_text(state: &AppState, sha256: &str) -> Result<Option<String>, ApiError> {
    use futures_util::StreamExt;
    let key = sha256.to_owned();
    let row = state
        .db
        .run(move |conn| crate::archive::snapshots::find(conn, &key))
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let size = u64::try_from(row.size).unwrap_or(u64::MAX);
    if size > MAX_SEARCHED {
        return Ok(None);
    }
    let mut stream = state.archive.read(sha256, 0..size).await?;
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.map_err(ApiError::internal)?);
    }
    let content_type = row.content_type;
    actix_web::rt::task::spawn_blocking(move || {
        // Markup deeper than any page is not parsed (`reading::too_deep`).
        if content_type.contains("html")
            && crate::reading::too_deep(&String::from_utf8_lossy(&bytes))
        {
            return None;
        }
        crate::reading::text::plain_text(&bytes, &content_type)
    })
    .await
    .map_err(ApiError::internal)
}

/// One whole round now, whoever holds the lease (the tests' and the
/// benchmarks' way to run the follow-up without its thread).
pub async fn run_once(state: &AppState) -> Result<(), ApiError> {
    round(state, Some(Scope::All)).await
}

/// One round: captures asked for and due, then quotes due a search; the
/// database searched for new work in `scope` (none when `None`).
async fn round(state: &AppState, scope: Option<Scope>) -> Result<(), ApiError> {
    let settings = &state.settings.archive;
    if settings.capture_on_publish {
        if let Some(scope) = scope.clone() {
            state
                .db
                .run(move |conn| ask_for_captures(conn, &scope))
                .await?;
        }
        let due = state.db.run(|conn| due_captures(conn, 500)).await?;
        if !due.is_empty() {
            capture_all(state, due).await;
        }
    }
    if let Some(scope) = scope {
        check_quotes(state, scope).await?;
    }
    Ok(())
}

/// Captures `due`: hosts side by side (at most the monitor's concurrency),
/// one host's pages one after another with its per-host delay.
async fn capture_all(state: &AppState, due: Vec<Request>) {
    let settings = &state.settings.archive;
    let mut by_host: BTreeMap<String, Vec<Request>> = BTreeMap::new();
    for request in due {
        let host = url::Url::parse(&request.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        by_host.entry(host).or_default().push(request);
    }
    let slots = Arc::new(tokio::sync::Semaphore::new(
        settings.link_check_concurrency.max(1),
    ));
    let hosts = by_host.into_values().map(|requests| {
        let slots = slots.clone();
        async move {
            let Ok(_slot) = slots.acquire().await else {
                return;
            };
            for (i, request) in requests.into_iter().enumerate() {
                if i > 0 {
                    actix_web::rt::time::sleep(settings.link_check_host_delay).await;
                }
                capture_one(state, request).await;
            }
        }
    });
    futures_util::future::join_all(hosts).await;
}

async fn capture_one(state: &AppState, request: Request) {
    let newsroom = (state.embargo(), state.settings.public_url.as_str());
    let done = super::captures::capture_source(
        &state.db,
        &state.writer,
        &state.archive,
        newsroom,
        request.source_id.clone(),
        ACTOR.to_owned(),
    )
    .await;
    let retry = state.settings.archive.capture_retry_delay;
    let id = request.source_id.clone();
    let stored = match done {
        Ok(_) => state.db.run(move |conn| captured(conn, &id)).await,
        Err(error) => {
            tracing::info!(source = %request.source_id, %error, "capture on publication failed");
            state
                .db
                .run(move |conn| failed(conn, &request, &error, retry))
                .await
        }
    };
    if let Err(error) = stored {
        tracing::warn!(%error, "capture on publication: its outcome could not be stored");
    }
}

/// Searches the quotes due, one archived copy's text at a time.
async fn check_quotes(state: &AppState, scope: Scope) -> Result<(), ApiError> {
    let due = state
        .db
        .run(move |conn| quotes_due(conn, &scope, 1000))
        .await?;
    let mut by_copy: BTreeMap<String, Vec<QuoteDue>> = BTreeMap::new();
    for d in due {
        by_copy.entry(d.snapshot.clone()).or_default().push(d);
    }
    for (sha256, due) in by_copy {
        let text = copy_text(state, &sha256).await?.map(Arc::new);
        for d in due {
            let found = match &text {
                None => None,
                Some(text) => {
                    let (text, quote) = (text.clone(), d.quote.clone());
                    Some(
                        actix_web::rt::task::spawn_blocking(move || quotes::find(&text, &quote))
                            .await
                            .map_err(ApiError::internal)?,
                    )
                }
            };
            let embargo = state.embargo();
            let writes = state.db.write_count().clone();
            state
                .db
                .run(move |conn| record_quote(conn, &writes, embargo, &d, found))
                .await?;
        }
    }
    Ok(())
}

/// Runs the follow-up for the life of the process: every `tick`, when this
/// process holds the lease, a round; the database is searched for new work
/// only when the log has grown since the last search, and at most every
/// [`SEARCH_EVERY`].
pub fn spawn(state: actix_web::web::Data<AppState>, tick: Duration) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("archive-follow-up".into())
        .spawn(move || {
            let holder = uuid::Uuid::new_v4().to_string();
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let mut searched_at: Option<u64> = None;
                let mut last_search: Option<std::time::Instant> = None;
                loop {
                    let lease = (holder.clone(), tick.max(Duration::from_secs(30)) * 4);
                    let leased = state
                        .db
                        .run(move |conn| {
                            let size = crate::ledger::store::size(conn).map_err(ApiError::from)?;
                            let held = crate::archive::monitor::take_named_lease(
                                conn, LEASE, &lease.0, lease.1,
                            )?;
                            Ok::<_, ApiError>((held, size))
                        })
                        .await;
                    match leased {
                        Ok((true, size)) => {
                            // New entries since the last search say where
                            // to look (everywhere at first); at most one
                            // search every SEARCH_EVERY.
                            let due = searched_at != Some(size)
                                && last_search.is_none_or(|at| at.elapsed() >= SEARCH_EVERY);
                            let scope = match (due, searched_at) {
                                (false, _) => Ok(None),
                                (true, None) => Ok(Some(Scope::All)),
                                (true, Some(from)) => state
                                    .db
                                    .run(move |conn| touched(conn, from))
                                    .await
                                    .map(Some),
                            };
                            let searched = scope.as_ref().is_ok_and(Option::is_some);
                            let done = match scope {
                                Ok(scope) => round(&state, scope).await,
                                Err(error) => Err(error),
                            };
                            match done {
                                Ok(()) if searched => {
                                    searched_at = Some(size);
                                    last_search = Some(std::time::Instant::now());
                                }
                                Ok(()) => {}
                                Err(error) => crate::db::health::background_failed(
                                    "archive follow-up round failed",
                                    &error,
                                ),
                            }
                        }
                        Ok((false, _)) => searched_at = None,
                        Err(error) => crate::db::health::background_failed(
                            "archive follow-up: the lease could not be read",
                            &error,
                        ),
                    }
                    actix_web::rt::time::sleep(tick).await;
                }
            })
        })
        .map(|_| ())
}
