//! Applies a verified webhook delivery, once: the delivery's id is recorded in
//! the same transaction as its effect, so a replay or a retry of a delivery
//! that took effect changes nothing, and one that failed is tried afresh.
//!
//! Members: the platform's member id is the subscriber's `external_id`. A
//! change applies only when it is newer than the last one applied (by the
//! platform's own time, where it gives one) and newer than the member's
//! deletion, so deliveries arriving out of order never bring back a deleted
//! member or an older state. Subscriber data never enters the ledger.
//!
//! Posts: a post published in the platform publishes its draft article (and
//! unpublishing retracts it), as the platform's actor `platform:<name>`. A
//! post's article is the one linked to it; while none is, the one article
//! whose `url` is the post's URL and that no other post of the platform is
//! linked to, and the link is recorded when the post first changes it. A
//! slug names nothing: anyone who may write a post picks its slug. A post
//! with no article, or an article already in that state, is left as it is.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::Platform;
use super::webhooks::{Event, Post, WINDOW_SECS};
use crate::db::schema::{member_deletions, platform_posts, subscribers, webhook_deliveries};
use crate::db::{DbConnection, WriteCount};
use crate::error::{ApiError, ErrorCode};
use crate::ledger::write_transaction;
use crate::newsroom::articles::{self, Article, ArticleStatus};
use crate::newsroom::subscribers::SubscriberRow;
use crate::time;

/// What became of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It took effect.
    Applied,
    /// This delivery took effect before: nothing changed.
    Duplicate,
    /// Older than what is applied already (or than the member's deletion).
    Stale,
    /// Nothing to do: an event we do not act on, a member state the platform's
    /// tiers do not name, a post with no article.
    Ignored,
}

pub fn apply(
    conn: &mut DbConnection,
    writes: &WriteCount,
    platform: &Platform,
    delivery_id: &str,
    event: &Event,
    now: DateTime<Utc>,
) -> Result<Outcome, ApiError> {
    let post = match event {
        Event::PostPublished(post) => Some((post, ArticleStatus::Published)),
        Event::PostUnpublished(post) => Some((post, ArticleStatus::Retracted)),
        _ => None,
    };
    match post {
        // An article's change is a ledger entry: the ledger's transaction.
        Some((post, to)) => write_transaction(conn, writes, |conn, seq| {
            if !record_delivery(conn, platform, delivery_id, now)? {
                return Ok(Outcome::Duplicate);
            }
            change_article(conn, seq, platform, post, to, now)
        }),
        None => conn.transaction(|conn| {
            if !record_delivery(conn, platform, delivery_id, now)? {
                return Ok(Outcome::Duplicate);
            }
            member_event(conn, platform, event, now)
        }),
    }
}

fn member_event(
    conn: &mut DbConnection,
    platform: &Platform,
    event: &Event,
    now: DateTime<Utc>,
) -> Result<Outcome, ApiError> {
    match event {
        Event::Member {
            external_id,
            email,
            status,
            at,
        } => {
            let Some(tier) = platform.tier_of(status) else {
                tracing::info!(platform = %platform.id, status, "a member state with no tier: ignored");
                return Ok(Outcome::Ignored);
            };
            let email = email.as_deref().map(str::to_lowercase);
            upsert_member(
                conn,
                platform,
                external_id,
                email,
                tier.as_str(),
                at.unwrap_or(now),
            )
        }
        Event::MemberDeleted { external_id, at } => {
            delete_member(conn, platform, external_id, at.unwrap_or(now))
        }
        _ => Ok(Outcome::Ignored),
    }
}

/// Records the delivery; false when it was recorded before. Prunes records
/// older than the signature window allows a replay to be.
fn record_delivery(
    conn: &mut DbConnection,
    platform: &Platform,
    delivery_id: &str,
    now: DateTime<Utc>,
) -> Result<bool, ApiError> {
    let horizon = time::format(now - chrono::Duration::seconds(4 * WINDOW_SECS));
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::received_at.lt(horizon)))
        .execute(conn)?;
    let seen = webhook_deliveries::table
        .find((&platform.id, delivery_id))
        .count()
        .get_result::<i64>(conn)?;
    if seen > 0 {
        return Ok(false);
    }
    diesel::insert_into(webhook_deliveries::table)
        .values((
            webhook_deliveries::platform_id.eq(&platform.id),
            webhook_deliveries::delivery_id.eq(delivery_id),
            webhook_deliveries::received_at.eq(time::format(now)),
        ))
        .execute(conn)?;
    Ok(true)
}

/// When the platform deleted this member, if it did.
fn deleted_at(
    conn: &mut DbConnection,
    platform: &Platform,
    external_id: &str,
) -> Result<Option<DateTime<Utc>>, ApiError> {
    let text: Option<String> = member_deletions::table
        .find((&platform.id, external_id))
        .select(member_deletions::deleted_at)
        .first(conn)
        .optional()?;
    Ok(text.as_deref().and_then(time::parse))
}

/// The subscriber this platform's member is, made by the platform or by no
/// platform.
fn member_row(
    conn: &mut DbConnection,
    platform: &Platform,
    external_id: &str,
) -> Result<Option<(SubscriberRow, Option<String>)>, ApiError> {
    Ok(subscribers::table
        .filter(subscribers::external_id.eq(external_id))
        .filter(
            subscribers::platform_id
                .eq(&platform.id)
                .or(subscribers::platform_id.is_null()),
        )
        .select((SubscriberRow::as_select(), subscribers::platform_updated_at))
        .first(conn)
        .optional()?)
}

fn upsert_member(
    conn: &mut DbConnection,
    platform: &Platform,
    external_id: &str,
    email: Option<String>,
    tier: &str,
    at: DateTime<Utc>,
) -> Result<Outcome, ApiError> {
    if deleted_at(conn, platform, external_id)?.is_some_and(|deleted| at <= deleted) {
        return Ok(Outcome::Stale);
    }
    match member_row(conn, platform, external_id)? {
        // Ghost's times are whole seconds: a change in the same second as the
        // last one applied still applies.
        Some((_, Some(last))) if time::parse(&last).is_some_and(|last| at < last) => {
            Ok(Outcome::Stale)
        }
        Some((row, _)) => {
            diesel::update(subscribers::table.find(&row.id))
                .set((
                    subscribers::email.eq(email),
                    subscribers::tier.eq(tier),
                    subscribers::platform_id.eq(&platform.id),
                    subscribers::platform_updated_at.eq(time::format(at)),
                ))
                .execute(conn)?;
            Ok(Outcome::Applied)
        }
        None => {
            let inserted = diesel::insert_into(subscribers::table)
                .values((
                    subscribers::id.eq(uuid::Uuid::new_v4().to_string()),
                    subscribers::external_id.eq(external_id),
                    subscribers::email.eq(email),
                    subscribers::tier.eq(tier),
                    subscribers::created_at.eq(time::format(Utc::now())),
                    subscribers::platform_id.eq(&platform.id),
                    subscribers::platform_updated_at.eq(time::format(at)),
                ))
                .execute(conn);
            match inserted {
                Ok(_) => Ok(Outcome::Applied),
                // The external id belongs to another platform's subscriber.
                Err(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )) => Err(ApiError::new(
                    ErrorCode::Conflict,
                    "a subscriber of another platform has this member id",
                )),
                Err(e) => Err(e.into()),
            }
        }
    }
}

fn delete_member(
    conn: &mut DbConnection,
    platform: &Platform,
    external_id: &str,
    at: DateTime<Utc>,
) -> Result<Outcome, ApiError> {
    let previous = deleted_at(conn, platform, external_id)?;
    if previous.is_some_and(|deleted| at <= deleted) {
        return Ok(Outcome::Stale);
    }
    if let Some((row, last)) = member_row(conn, platform, external_id)? {
        // A state newer than this deletion stands (the member came back).
        if last
            .as_deref()
            .and_then(time::parse)
            .is_some_and(|last| at < last)
        {
            return Ok(Outcome::Stale);
        }
        diesel::delete(subscribers::table.find(&row.id)).execute(conn)?;
    }
    let at = time::format(at);
    if previous.is_some() {
        diesel::update(member_deletions::table.find((&platform.id, external_id)))
            .set(member_deletions::deleted_at.eq(at))
            .execute(conn)?;
    } else {
        diesel::insert_into(member_deletions::table)
            .values((
                member_deletions::platform_id.eq(&platform.id),
                member_deletions::external_id.eq(external_id),
                member_deletions::deleted_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(Outcome::Applied)
}

/// The article `post` is, if one is: the one linked to it, or the one
/// whose URL it has.
pub fn article_of(
    conn: &mut DbConnection,
    platform: &Platform,
    post: &Post,
) -> Result<Option<Article>, ApiError> {
    Ok(article_of_post(conn, platform, post)?.map(|(article, _)| article))
}

/// The article `post` acts on, and whether its link is still to be recorded.
fn article_of_post(
    conn: &mut DbConnection,
    platform: &Platform,
    post: &Post,
) -> Result<Option<(Article, bool)>, ApiError> {
    let linked: Option<String> = platform_posts::table
        .find((&platform.id, &post.id))
        .select(platform_posts::article_slug)
        .first(conn)
        .optional()?;
    if let Some(slug) = linked {
        return Ok(articles::find(conn, &slug)?.map(|a| (a, false)));
    }
    let Some(url) = &post.url else {
        return Ok(None);
    };
    let candidates = articles::with_url(conn, url)?;
    let slugs: Vec<&str> = candidates.iter().map(|a| a.slug.as_str()).collect();
    let linked_elsewhere: Vec<String> = platform_posts::table
        .filter(platform_posts::platform_id.eq(&platform.id))
        .filter(platform_posts::article_slug.eq_any(slugs))
        .select(platform_posts::article_slug)
        .load(conn)?;
    let mut free: Vec<Article> = candidates
        .into_iter()
        .filter(|a| {
            !linked_elsewhere
                .iter()
                .any(|linked| a.slug == linked.as_str())
        })
        .collect();
    // Two articles with one URL: which one the post is cannot be told.
    Ok(match free.len() {
        1 => free.pop().map(|a| (a, true)),
        _ => None,
    })
}

fn change_article(
    conn: &mut DbConnection,
    seq: &mut crate::ledger::Sequencer,
    platform: &Platform,
    post: &Post,
    to: ArticleStatus,
    now: DateTime<Utc>,
) -> Result<Outcome, ApiError> {
    let Some((article, unlinked)) = article_of_post(conn, platform, post)? else {
        return Ok(Outcome::Ignored);
    };
    let from = match to {
        ArticleStatus::Published => ArticleStatus::Draft,
        _ => ArticleStatus::Published,
    };
    if article.status != from {
        return Ok(Outcome::Ignored);
    }
    if unlinked {
        diesel::insert_into(platform_posts::table)
            .values((
                platform_posts::platform_id.eq(&platform.id),
                platform_posts::post_id.eq(&post.id),
                platform_posts::article_slug.eq(&article.slug),
                platform_posts::linked_at.eq(time::format(now)),
            ))
            .execute(conn)?;
    }
    let reason =
        (to == ArticleStatus::Retracted).then(|| format!("unpublished in {}", platform.name));
    let actor = format!("platform:{}", platform.name);
    articles::change_status(conn, seq, &actor, &article.slug, to, reason.as_deref())?;
    Ok(Outcome::Applied)
}
