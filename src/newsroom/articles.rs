//! Articles: created as drafts, published, retracted. Each state is a ledger entry.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::{fields, ledger_index};
use crate::db::DbConnection;
use crate::db::schema::articles;
use crate::error::{ApiError, ErrorCode};
use crate::ledger::{About, Sequencer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ArticleStatus {
    Draft,
    Published,
    Retracted,
}

impl ArticleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Retracted => "retracted",
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewArticle {
    /// Lowercase letters, digits and dashes; unique.
    pub slug: String,
    pub title: String,
    /// The article's public address (absolute http or https).
    pub url: String,
    /// BCP 47.
    pub language: String,
    pub authors: Vec<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = articles)]
pub struct ArticleRow {
    pub slug: String,
    pub title: String,
    pub url: String,
    pub language: String,
    pub authors: String,
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
    pub ledger_index: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Article {
    pub slug: String,
    pub title: String,
    pub url: String,
    pub language: String,
    pub authors: Vec<String>,
    /// draft, published or retracted.
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
    /// The ledger entry that recorded this state.
    pub ledger_index: i64,
}

impl ArticleRow {
    fn authors(&self) -> Vec<String> {
        serde_json::from_str(&self.authors).unwrap_or_default()
    }

    /// What the ledger records of this state.
    pub fn record(&self) -> Value {
        json!({
            "slug": self.slug,
            "title": self.title,
            "url": self.url,
            "language": self.language,
            "authors": self.authors(),
            "status": self.status,
        })
    }

    pub fn is_public(&self) -> bool {
        self.status != ArticleStatus::Draft.as_str()
    }

    pub fn to_api(&self) -> Article {
        Article {
            slug: self.slug.clone(),
            title: self.title.clone(),
            url: self.url.clone(),
            language: self.language.clone(),
            authors: self.authors(),
            status: self.status.clone(),
            created_at: self.created_at.clone(),
            updated_at: self.updated_at.clone(),
            ledger_index: self.ledger_index,
        }
    }
}

fn validate(new: &NewArticle) -> Result<(String, String, String, String, Vec<String>), ApiError> {
    let slug = fields::slug("slug", &new.slug)?;
    let title = fields::line("title", &new.title, 500)?;
    let url = fields::http_url("url", &new.url)?;
    let language = fields::language("language", &new.language)?;
    if new.authors.is_empty() || new.authors.len() > 50 {
        return Err(ApiError::invalid_field(
            "authors",
            "must list 1 to 50 authors",
        ));
    }
    let authors = new
        .authors
        .iter()
        .enumerate()
        .map(|(i, a)| fields::line(&format!("authors[{i}]"), a, 200))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((slug, title, url, language, authors))
}

pub fn find(conn: &mut DbConnection, slug: &str) -> Result<Option<ArticleRow>, ApiError> {
    Ok(articles::table
        .find(slug)
        .select(ArticleRow::as_select())
        .first(conn)
        .optional()?)
}

/// The article, or a 404 naming it.
pub fn get(conn: &mut DbConnection, slug: &str) -> Result<ArticleRow, ApiError> {
    find(conn, slug)?.ok_or_else(|| ApiError::not_found(format!("no article {slug:?}")))
}

/// Who may see an article: published and retracted ones are public, drafts
/// are for staff only (anyone else is told there is no such article).
pub fn visible_to(public: bool, staff: bool) -> bool {
    public || staff
}

/// The article `slug`, if the caller (staff or not) may see it; 404 otherwise.
pub fn visible(conn: &mut DbConnection, slug: &str, staff: bool) -> Result<ArticleRow, ApiError> {
    let row = get(conn, slug)?;
    if !visible_to(row.is_public(), staff) {
        return Err(ApiError::not_found(format!("no article {slug:?}")));
    }
    Ok(row)
}

pub fn create(
    conn: &mut DbConnection,
    seq: &mut Sequencer,
    actor: &str,
    new: &NewArticle,
) -> Result<ArticleRow, ApiError> {
    let (slug, title, url, language, authors) = validate(new)?;
    if find(conn, &slug)?.is_some() {
        return Err(ApiError::conflict(
            ErrorCode::SlugTaken,
            format!("an article {slug:?} exists already"),
        ));
    }
    let mut row = ArticleRow {
        slug,
        title,
        url,
        language,
        authors: serde_json::to_string(&authors).map_err(ApiError::internal)?,
        status: ArticleStatus::Draft.as_str().to_owned(),
        created_at: String::new(),
        updated_at: String::new(),
        ledger_index: 0,
    };
    let about = About {
        article: Some(&row.slug),
        source: None,
    };
    let appended = seq.append_about(conn, "article.created", actor, &row.record(), about)?;
    row.created_at = appended.at.clone();
    row.updated_at = appended.at.clone();
    row.ledger_index = ledger_index(&appended);
    diesel::insert_into(articles::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

/// Publishes a draft or retracts a published article.
pub fn change_status(
    conn: &mut DbConnection,
    seq: &mut Sequencer,
    actor: &str,
    slug: &str,
    to: ArticleStatus,
    reason: Option<&str>,
) -> Result<ArticleRow, ApiError> {
    let mut row = get(conn, slug)?;
    let (from, kind) = match to {
        ArticleStatus::Published => (ArticleStatus::Draft, "article.published"),
        ArticleStatus::Retracted => (ArticleStatus::Published, "article.retracted"),
        ArticleStatus::Draft => {
            return Err(ApiError::bad_request(
                ErrorCode::InvalidTransition,
                "an article cannot go back to draft",
            ));
        }
    };
    if row.status != from.as_str() {
        return Err(ApiError::conflict(
            ErrorCode::InvalidTransition,
            format!(
                "the article is {}; only a {} article can become {}",
                row.status,
                from.as_str(),
                to.as_str()
            ),
        ));
    }
    let reason = fields::optional(reason, |r| fields::text("reason", r, 2000, true))?;
    row.status = to.as_str().to_owned();
    let mut record = row.record();
    if let Some(reason) = &reason {
        record["reason"] = json!(reason);
    }
    let about = About {
        article: Some(slug),
        source: None,
    };
    let appended = seq.append_about(conn, kind, actor, &record, about)?;
    row.updated_at = appended.at.clone();
    row.ledger_index = ledger_index(&appended);
    diesel::update(articles::table.find(&row.slug))
        .set((
            articles::status.eq(&row.status),
            articles::updated_at.eq(&row.updated_at),
            articles::ledger_index.eq(row.ledger_index),
        ))
        .execute(conn)?;
    Ok(row)
}

/// Articles in slug order after `after`; drafts only when `include_drafts`.
pub fn list(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: u32,
    include_drafts: bool,
) -> Result<Vec<ArticleRow>, ApiError> {
    let mut query = articles::table
        .order(articles::slug.asc())
        .limit(i64::from(limit))
        .select(ArticleRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(articles::slug.gt(after.to_owned()));
    }
    if !include_drafts {
        query = query.filter(articles::status.ne(ArticleStatus::Draft.as_str()));
    }
    Ok(query.load(conn)?)
}
