//! Articles: created as drafts, published, retracted. Each state is a ledger entry.

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::ledger_index;
use crate::db::DbConnection;
use crate::db::schema::articles;
use crate::error::{ApiError, ErrorCode};
use crate::fields::{self, HttpUrl, LanguageTag, Rule, Slug};
use crate::ledger::{About, Sequencer};
use crate::time::Timestamp;

crate::db::words::stored_words! {
    /// Where an article stands.
    pub enum ArticleStatus ("article status") {
        Draft => "draft",
        Published => "published",
        Retracted => "retracted",
    }
}

/// An article's authors, stored as a JSON list in one text column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Authors(pub Vec<String>);

impl From<Authors> for String {
    fn from(authors: Authors) -> String {
        serde_json::to_string(&authors.0).unwrap_or_else(|_| "[]".to_owned())
    }
}

impl TryFrom<String> for Authors {
    type Error = serde_json::Error;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        serde_json::from_str(&text).map(Authors)
    }
}

/// An article's title: one line.
pub const TITLE: Rule = Rule::Line(500);
/// Each author's name: one line.
pub const AUTHOR: Rule = Rule::Line(200);
/// Why an article is retracted.
pub const RETRACTION_REASON: Rule = Rule::Text(2000);

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewArticle {
    /// Lowercase letters, digits and single dashes; unique.
    pub slug: String,
    pub title: String,
    /// The article's public address (absolute http or https).
    pub url: String,
    /// BCP 47.
    pub language: String,
    #[schema(min_items = 1, max_items = 50)]
    pub authors: Vec<String>,
}

/// An article in its current state: the row, and what the API answers.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = articles)]
pub struct Article {
    #[schema(value_type = String)]
    pub slug: Slug,
    pub title: String,
    #[schema(value_type = String)]
    pub url: HttpUrl,
    #[schema(value_type = String)]
    pub language: LanguageTag,
    #[diesel(serialize_as = String, deserialize_as = String)]
    #[schema(value_type = Vec<String>)]
    pub authors: Authors,
    #[diesel(serialize_as = String, deserialize_as = String)]
    pub status: ArticleStatus,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// The ledger entry that recorded this state.
    pub ledger_index: i64,
}

impl Article {
    /// What the ledger records of this state.
    pub fn record(&self) -> Value {
        json!({
            "slug": self.slug,
            "title": self.title,
            "url": self.url,
            "language": self.language,
            "authors": self.authors,
            "status": self.status.as_str(),
        })
    }

    pub fn is_public(&self) -> bool {
        self.status != ArticleStatus::Draft
    }
}

/// A new article's fields, each parsed.
struct ValidArticle {
    slug: Slug,
    title: String,
    url: HttpUrl,
    language: LanguageTag,
    authors: Vec<String>,
}

fn validate(new: &NewArticle) -> Result<ValidArticle, ApiError> {
    let slug = Slug::parse("slug", &new.slug)?;
    let title = TITLE.check("title", &new.title)?;
    let url = HttpUrl::parse("url", &new.url)?;
    let language = LanguageTag::parse("language", &new.language)?;
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
        .map(|(i, a)| AUTHOR.check(&format!("authors[{i}]"), a))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ValidArticle {
        slug,
        title,
        url,
        language,
        authors,
    })
}

pub fn find(conn: &mut DbConnection, slug: &str) -> Result<Option<Article>, ApiError> {
    Ok(articles::table
        .find(slug)
        .select(Article::as_select())
        .first(conn)
        .optional()?)
}

/// The articles whose `url` is `url`, exactly.
pub fn with_url(conn: &mut DbConnection, url: &str) -> Result<Vec<Article>, ApiError> {
    Ok(articles::table
        .filter(articles::url.eq(url))
        .select(Article::as_select())
        .load(conn)?)
}

/// The article, or a 404 naming it.
pub fn get(conn: &mut DbConnection, slug: &str) -> Result<Article, ApiError> {
    find(conn, slug)?.ok_or_else(|| ApiError::not_found(format!("no article {slug:?}")))
}

/// Who may see an article: published and retracted ones are public, drafts
/// are for staff only (anyone else is told there is no such article).
pub fn visible_to(public: bool, staff: bool) -> bool {
    public || staff
}

/// The article `slug`, if the caller (staff or not) may see it; 404 otherwise.
pub fn visible(conn: &mut DbConnection, slug: &str, staff: bool) -> Result<Article, ApiError> {
    let row = get(conn, slug)?;
    if !visible_to(row.is_public(), staff) {
        return Err(ApiError::not_found(format!("no article {slug:?}")));
    }
    Ok(row)
}

pub fn create(
    conn: &mut DbConnection,
    seq: &mut Sequencer,
    embargo: super::embargo::Embargo,
    actor: &str,
    new: &NewArticle,
) -> Result<Article, ApiError> {
    let ValidArticle {
        slug,
        title,
        url,
        language,
        authors,
    } = validate(new)?;
    if find(conn, slug.as_str())?.is_some() {
        return Err(ApiError::new(
            ErrorCode::SlugTaken,
            format!("an article {slug:?} exists already"),
        ));
    }
    let mut row = Article {
        slug,
        title,
        url,
        language,
        authors: Authors(authors),
        status: ArticleStatus::Draft,
        // The entry's time, once it is appended.
        created_at: Timestamp::now(),
        updated_at: Timestamp::now(),
        ledger_index: 0,
    };
    let about = About {
        article: Some(&row.slug),
        source: None,
    };
    // A draft's own record is committed to, not shown, under embargo.
    let appended = super::embargo::append(
        conn,
        seq,
        embargo.on(),
        "article.created",
        actor,
        &row.record(),
        about,
    )?;
    row.created_at = appended.at.clone();
    row.updated_at = appended.at.clone();
    row.ledger_index = ledger_index(&appended);
    diesel::insert_into(articles::table)
        .values(row.clone())
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
) -> Result<Article, ApiError> {
    let mut row = get(conn, slug)?;
    let (from, kind) = match to {
        ArticleStatus::Published => (ArticleStatus::Draft, "article.published"),
        ArticleStatus::Retracted => (ArticleStatus::Published, "article.retracted"),
        ArticleStatus::Draft => {
            return Err(ApiError::new(
                ErrorCode::InvalidTransition,
                "an article cannot go back to draft",
            ));
        }
    };
    if row.status != from {
        return Err(ApiError::new(
            ErrorCode::InvalidTransition,
            format!(
                "the article is {}; only a {} article can become {}",
                row.status.as_str(),
                from.as_str(),
                to.as_str()
            ),
        ));
    }
    let reason = fields::optional(reason, |r| RETRACTION_REASON.check("reason", r))?;
    row.status = to;
    let mut record = row.record();
    if let Some(reason) = &reason {
        record["reason"] = json!(reason);
    }
    let about = About {
        article: Some(slug),
        source: None,
    };
    if to == ArticleStatus::Published {
        // What the embargo kept of this story is disclosed with its
        // publication, in the same transaction.
        super::embargo::disclose_for_article(conn, seq, actor, slug)?;
    }
    let appended = seq.append_about(conn, kind, actor, &record, about)?;
    row.updated_at = appended.at.clone();
    row.ledger_index = ledger_index(&appended);
    diesel::update(articles::table.find(&row.slug))
        .set((
            articles::status.eq(row.status.as_str()),
            articles::updated_at.eq(&row.updated_at),
            articles::ledger_index.eq(row.ledger_index),
        ))
        .execute(conn)?;
    Ok(row)
}

/// The newsroom's articles for its desk, most recently changed first: every
/// state, or those whose title or slug holds `text` (any case), at most
/// `limit`.
pub fn search(
    conn: &mut DbConnection,
    text: Option<&str>,
    status: Option<ArticleStatus>,
    limit: u32,
) -> Result<Vec<Article>, ApiError> {
    let mut query = articles::table
        .order((articles::updated_at.desc(), articles::slug.asc()))
        .limit(i64::from(limit))
        .select(Article::as_select())
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(articles::status.eq(status.as_str()));
    }
    if let Some(text) = text.map(str::trim).filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", crate::db::like_escaped(&text.to_lowercase()));
        query = query.filter(
            crate::db::lower(articles::title)
                .like(pattern.clone())
                .escape('\\')
                .or(articles::slug.like(pattern).escape('\\')),
        );
    }
    Ok(query.load(conn)?)
}

/// Articles in slug order after `after`; drafts only when `include_drafts`.
pub fn list(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: u32,
    include_drafts: bool,
) -> Result<Vec<Article>, ApiError> {
    let mut query = articles::table
        .order(articles::slug.asc())
        .limit(i64::from(limit))
        .select(Article::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(articles::slug.gt(after.to_owned()));
    }
    if !include_drafts {
        query = query.filter(articles::status.ne(ArticleStatus::Draft.as_str()));
    }
    Ok(query.load(conn)?)
}
