//! From the log to delivery rows. The cursor (`notification_cursor`) says
//! which entries are still to be looked at; the delivery rows of the entries
//! read and the cursor's move are one transaction.
//!
//! Only public facts go out: an `article.published` entry; a
//! `citation.retracted` entry of an article that is not a draft; a
//! `source.link` entry that finds a link `gone` or `changed`, of a source a
//! published article cites. Commitments (`embargo.committed`) are other kinds
//! and never match; disclosures are not sent again.

use diesel::prelude::*;
use serde_json::{Value, json};

use super::{DeliveryState, Event, SubscriptionRow};
use crate::db::DbConnection;
use crate::db::schema::{
    articles, citations, ledger_entries, notification_cursor, notification_deliveries,
    notification_subscriptions, sources,
};
use crate::error::ApiError;
use crate::ledger::leaf::Leaf;
use crate::newsroom::articles::ArticleStatus;
use crate::newsroom::citations::CitationStatus;

/// The kinds of entry an event can come from.
const KINDS: [&str; 3] = ["article.published", "citation.retracted", "source.link"];

/// An entry as read: index, time, leaf, and the article and source it concerns.
type EntryRow = (i64, String, String, Option<String>, Option<String>);

/// An event ready to send: the request body, exactly as sent on every try.
#[derive(Debug, Clone)]
pub struct Found {
    pub event: Event,
    pub payload: String,
}

fn cursor(conn: &mut DbConnection) -> Result<i64, ApiError> {
    Ok(notification_cursor::table
        .find(1)
        .select(notification_cursor::next_index)
        .first(conn)?)
}

/// Whether the log holds entries the cursor has not reached and someone to
/// tell (cheap: reads, no write). With no subscription the cursor stays
/// where it is: a new subscription hears only of later entries, and the
/// cursor's next move starts at the earliest subscription's first entry.
pub fn behind(conn: &mut DbConnection) -> Result<bool, ApiError> {
    let subscribed: i64 = notification_subscriptions::table.count().get_result(conn)?;
    if subscribed == 0 {
        return Ok(false);
    }
    let size = crate::ledger::store::size(conn)?;
    Ok(cursor(conn)? < i64::try_from(size).map_err(ApiError::internal)?)
}

/// Reads at most `limit` entries of interest past the cursor, makes their
/// delivery rows and moves the cursor, in one transaction. Returns how many
/// rows were made and whether entries remain.
pub fn collect(
    conn: &mut DbConnection,
    public_url: &str,
    limit: i64,
) -> Result<(usize, bool), ApiError> {
    conn.transaction(|conn| {
        // A write first: SQLite takes its write lock now rather than failing
        // to upgrade a read later, and PostgreSQL locks the cursor's row.
        diesel::update(notification_cursor::table.find(1))
            .set(notification_cursor::next_index.eq(notification_cursor::next_index))
            .execute(conn)?;
        // Then the size: every entry below it is committed, so none read
        // after is missed.
        let size = i64::try_from(crate::ledger::store::size(conn)?).map_err(ApiError::internal)?;
        let from = cursor(conn)?;
        if from >= size {
            return Ok((0, false));
        }
        let subscriptions: Vec<SubscriptionRow> = notification_subscriptions::table
            .select(SubscriptionRow::as_select())
            .load(conn)?;
        let start = subscriptions
            .iter()
            .map(|s| s.from_index)
            .min()
            .map_or(size, |earliest| earliest.max(from));
        let entries: Vec<EntryRow> = if start >= size {
            Vec::new()
        } else {
            ledger_entries::table
                .filter(ledger_entries::idx.ge(start))
                .filter(ledger_entries::idx.lt(size))
                .filter(ledger_entries::kind.eq_any(KINDS))
                .order(ledger_entries::idx.asc())
                .limit(limit)
                .select((
                    ledger_entries::idx,
                    ledger_entries::at,
                    ledger_entries::leaf,
                    ledger_entries::article,
                    ledger_entries::source,
                ))
                .load(conn)?
        };
        let more = entries.len() as i64 == limit;
        let to = match entries.last() {
            Some((idx, ..)) if more => idx + 1,
            _ => size,
        };
        let mut made = 0;
        for (idx, at, leaf, article, source) in entries {
            let leaf = Leaf::parse(&leaf)?;
            let Some(found) = event_of(conn, public_url, idx, &at, &leaf, article, source)? else {
                continue;
            };
            for subscription in &subscriptions {
                if subscription.from_index > idx || !subscription.wants(found.event) {
                    continue;
                }
                let exists: Option<i64> = notification_deliveries::table
                    .find((&subscription.id, idx))
                    .select(notification_deliveries::entry_index)
                    .first(conn)
                    .optional()?;
                if exists.is_some() {
                    continue;
                }
                let now = crate::time::now();
                diesel::insert_into(notification_deliveries::table)
                    .values((
                        notification_deliveries::subscription_id.eq(&subscription.id),
                        notification_deliveries::entry_index.eq(idx),
                        notification_deliveries::event.eq(found.event.as_str()),
                        notification_deliveries::payload.eq(&found.payload),
                        notification_deliveries::state.eq(DeliveryState::Pending.as_str()),
                        notification_deliveries::attempts.eq(0),
                        notification_deliveries::created_at.eq(&now),
                        notification_deliveries::next_attempt_at.eq(&now),
                    ))
                    .execute(conn)?;
                made += 1;
            }
        }
        // Moved only from where it was read: a second reader (a lease
        // lapsed mid-way) rolls back instead of making rows twice.
        let moved = diesel::update(notification_cursor::table.find(1))
            .filter(notification_cursor::next_index.eq(from))
            .set(notification_cursor::next_index.eq(to))
            .execute(conn)?;
        if moved != 1 {
            return Err(ApiError::internal(
                "the notification cursor moved under this reader",
            ));
        }
        Ok((made, more))
    })
}

/// The reader's page of an article.
fn page_url(public_url: &str, slug: &str) -> String {
    format!("{public_url}/articles/{slug}/sources")
}

fn article_json(conn: &mut DbConnection, public_url: &str, slug: &str) -> Result<Value, ApiError> {
    let found: Option<(String, String, String)> = articles::table
        .find(slug)
        .select((articles::title, articles::url, articles::status))
        .first(conn)
        .optional()?;
    let (title, url, status) = found.unwrap_or_default();
    Ok(json!({
        "slug": slug,
        "title": title,
        "url": url,
        "status": status,
        "page_url": page_url(public_url, slug),
    }))
}

/// The source's newest version: id, title, URL and archived copy.
fn source_json(conn: &mut DbConnection, id: &str) -> Result<Value, ApiError> {
    let found: Option<(i64, String, String, Option<String>)> = sources::table
        .filter(sources::id.eq(id))
        .order(sources::version.desc())
        .select((
            sources::version,
            sources::title,
            sources::url,
            sources::archive_url,
        ))
        .first(conn)
        .optional()?;
    let (version, title, url, archive_url) = found.unwrap_or_default();
    Ok(json!({
        "id": id,
        "version": version,
        "title": title,
        "url": url,
        "archive_url": archive_url,
    }))
}

/// The published articles that cite source `id` through a live citation.
fn citing_articles(
    conn: &mut DbConnection,
    public_url: &str,
    id: &str,
) -> Result<Vec<Value>, ApiError> {
    let slugs: Vec<String> = citations::table
        .inner_join(articles::table.on(articles::slug.eq(citations::article_slug)))
        .filter(citations::source_id.eq(id))
        .filter(citations::status.ne(CitationStatus::Retracted.as_str()))
        .filter(articles::status.eq(ArticleStatus::Published.as_str()))
        .select(articles::slug)
        .distinct()
        .order(articles::slug.asc())
        .load(conn)?;
    slugs
        .iter()
        .map(|slug| article_json(conn, public_url, slug))
        .collect()
}

fn text_of(value: &Value, name: &str) -> String {
    value[name].as_str().unwrap_or_default().to_owned()
}

/// The event entry `idx` makes, if it makes one that may go out.
fn event_of(
    conn: &mut DbConnection,
    public_url: &str,
    idx: i64,
    at: &str,
    leaf: &Leaf,
    article: Option<String>,
    source: Option<String>,
) -> Result<Option<Found>, ApiError> {
    let record = &leaf.record;
    let (event, data, text) = match leaf.kind.as_str() {
        "article.published" => {
            let slug = article.unwrap_or_else(|| text_of(record, "slug"));
            let mut article = article_json(conn, public_url, &slug)?;
            // What the entry says it was published as.
            article["title"] = record["title"].clone();
            article["url"] = record["url"].clone();
            let text = format!(
                "Published: \u{201c}{}\u{201d} with its sources: {}",
                text_of(&article, "title"),
                text_of(&article, "page_url")
            );
            (
                Event::ArticlePublished,
                json!({"index": idx, "article": article}),
                text,
            )
        }
        "citation.retracted" => {
            let slug = article.unwrap_or_else(|| text_of(record, "article"));
            let article = article_json(conn, public_url, &slug)?;
            if article["status"] == ArticleStatus::Draft.as_str() || article["title"] == "" {
                return Ok(None);
            }
            let source_id = source.unwrap_or_else(|| text_of(record, "source_id"));
            let source = source_json(conn, &source_id)?;
            let reason = text_of(record, "reason");
            let text = format!(
                "Citation retracted in \u{201c}{}\u{201d}: \u{201c}{}\u{201d} ({reason}). {}",
                text_of(&article, "title"),
                text_of(&source, "title"),
                text_of(&article, "page_url")
            );
            (
                Event::CitationRetracted,
                json!({
                    "index": idx,
                    "citation_id": record["id"],
                    "reason": reason,
                    "article": article,
                    "source": source,
                }),
                text,
            )
        }
        "source.link" => {
            let event = match record["status"].as_str() {
                Some("gone") => Event::LinkGone,
                Some("changed") => Event::LinkChanged,
                _ => return Ok(None),
            };
            let source_id = source.unwrap_or_else(|| text_of(record, "source_id"));
            if !crate::newsroom::embargo::source_is_public(conn, &source_id)? {
                return Ok(None);
            }
            let source = source_json(conn, &source_id)?;
            let cited_in = citing_articles(conn, public_url, &source_id)?;
            let detail = record["detail"].as_str().map(str::to_owned);
            let mut text = format!(
                "Link {}: \u{201c}{}\u{201d} {}",
                if event == Event::LinkGone {
                    "gone"
                } else {
                    "changed"
                },
                text_of(&source, "title"),
                text_of(record, "url"),
            );
            if let Some(detail) = &detail {
                text.push_str(&format!(" ({detail})"));
            }
            if let Some(archived) = source["archive_url"].as_str() {
                text.push_str(&format!("; archived copy: {archived}"));
            }
            let titles: Vec<String> = cited_in
                .iter()
                .map(|a| format!("\u{201c}{}\u{201d}", text_of(a, "title")))
                .collect();
            if !titles.is_empty() {
                text.push_str(&format!("; cited in {}", titles.join(", ")));
            }
            (
                event,
                json!({
                    "index": idx,
                    "source": source,
                    "link": {
                        "url": record["url"],
                        "status": record["status"],
                        "detail": detail,
                    },
                    "articles": cited_in,
                }),
                text,
            )
        }
        _ => return Ok(None),
    };
    let payload = json!({
        "type": event.as_str(),
        "timestamp": at,
        "data": data,
        "text": text,
    });
    Ok(Some(Found {
        event,
        payload: serde_json::to_string(&payload).map_err(ApiError::internal)?,
    }))
}
