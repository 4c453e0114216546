//! Sources from the article itself: an article's text read for its links
//! (proposals kept with it), and its HTML given back with each cited
//! link's archived copy (Robust Links).

use std::collections::HashMap;

use diesel::prelude::*;

use super::articles::{self, Article, ArticleStatus};
use super::citations::CitationStatus;
use super::proposals::{self, Origin, ProposalView};
use crate::db::schema::{citations, sources};
use crate::db::{Db, DbConnection};
use crate::error::{ApiError, ErrorCode};
use crate::reading::{links, robust};

/// An article's text, as it was given.
pub enum Text {
    Html(String),
    Markdown(String),
}

/// Article `slug`, if links may be proposed for it: not retracted.
pub async fn article_to_read(db: &Db, slug: String) -> Result<Article, ApiError> {
    let article = db.run(move |conn| articles::get(conn, &slug)).await?;
    if article.status == ArticleStatus::Retracted {
        return Err(ApiError::new(
            ErrorCode::ArticleRetracted,
            "the article is retracted: nothing more is cited in it",
        ));
    }
    Ok(article)
}

/// The proposals `text` makes for `article` (its own site's links left
/// out): read off the async executor. Markup nested deeper than any
/// article is refused, not parsed (`reading::too_deep`).
pub fn read(article: &Article, text: &Text) -> Result<Vec<links::Proposal>, ApiError> {
    let own = url::Url::parse(article.url.as_str()).ok();
    let html = match text {
        Text::Html(html) => std::borrow::Cow::Borrowed(html.as_str()),
        Text::Markdown(markdown) => std::borrow::Cow::Owned(links::markdown_to_html(markdown)),
    };
    if crate::reading::too_deep(&html) {
        return Err(ApiError::new(
            ErrorCode::InvalidBody,
            format!(
                "the article's markup is nested deeper than {} elements: not read",
                crate::reading::MAX_DEPTH
            ),
        ));
    }
    Ok(links::from_html(&html, own.as_ref(), proposals::MAX))
}

/// Reads `text` and keeps what it proposes as `article`'s proposals;
/// answers the open ones.
pub async fn propose(
    db: &Db,
    article: Article,
    text: Text,
    origin: Origin,
) -> Result<Vec<ProposalView>, ApiError> {
    let (article, found) = actix_web::rt::task::spawn_blocking(move || {
        let found = read(&article, &text);
        (article, found)
    })
    .await
    .map_err(ApiError::internal)?;
    let found = found?;
    db.run(move |conn| proposals::keep(conn, article.slug.as_str(), origin, &found))
        .await
}

/// A source version's id, version, URL, archive URL, capture time and
/// recording time.
type CopyRow = (String, i64, String, Option<String>, Option<String>, String);

/// The archived copy of each source article `slug` cites through a live
/// citation, by the source's URL as a proposal would name it: the copy of
/// its latest version that has one, and the day it was captured.
fn cited_copies(
    conn: &mut DbConnection,
    slug: &str,
) -> Result<HashMap<String, robust::Version>, ApiError> {
    let ids: Vec<String> = citations::table
        .filter(citations::article_slug.eq(slug))
        .filter(citations::status.ne(CitationStatus::Retracted.as_str()))
        .select(citations::source_id)
        .distinct()
        .load(conn)?;
    let mut newest: HashMap<String, (i64, String, String, String)> = HashMap::new();
    for chunk in ids.chunks(500) {
        let rows: Vec<CopyRow> = sources::table
            .filter(sources::id.eq_any(chunk))
            .filter(sources::archive_url.is_not_null())
            .select((
                sources::id,
                sources::version,
                sources::url,
                sources::archive_url,
                sources::captured_at,
                sources::recorded_at,
            ))
            .load(conn)?;
        for (id, version, url, archive_url, captured_at, recorded_at) in rows {
            let Some(archive_url) = archive_url else {
                continue;
            };
            let day = captured_at.unwrap_or(recorded_at);
            let entry = newest.entry(id).or_insert((
                version,
                url.clone(),
                archive_url.clone(),
                day.clone(),
            ));
            if version > entry.0 {
                *entry = (version, url, archive_url, day);
            }
        }
    }
    Ok(newest
        .into_values()
        .filter_map(|(_, url, archive_url, at)| {
            let key = links::normalise(&url, None)?.to_string();
            Some((
                key,
                robust::Version {
                    url: archive_url,
                    date: at.get(..10).unwrap_or(&at).to_owned(),
                },
            ))
        })
        .collect())
}

/// `html` with each link to a source article `slug` cites and holds a copy
/// of marked with that copy (Robust Links), and how many were marked.
pub async fn robust_links(
    db: &Db,
    slug: String,
    html: String,
) -> Result<(String, usize), ApiError> {
    let (article, copies) = db
        .run(move |conn| {
            let article = articles::get(conn, &slug)?;
            let copies = cited_copies(conn, article.slug.as_str())?;
            Ok::<_, ApiError>((article, copies))
        })
        .await?;
    actix_web::rt::task::spawn_blocking(move || {
        let base = url::Url::parse(article.url.as_str()).ok();
        let marked = std::cell::Cell::new(0usize);
        let out = robust::decorate(&html, &|href: &str| {
            let key = links::normalise(href, base.as_ref())?.to_string();
            let version = copies.get(&key).cloned();
            if version.is_some() {
                marked.set(marked.get() + 1);
            }
            version
        })
        .map_err(|e| {
            ApiError::new(
                ErrorCode::InvalidBody,
                format!("the HTML could not be read: {e}"),
            )
        })?;
        Ok((out, marked.get()))
    })
    .await
    .map_err(ApiError::internal)?
}
