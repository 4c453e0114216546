//! Citations: an article's claim backed by one source version. States:
//! attached, verified (by an editor), retracted (with a reason). Each state is
//! a ledger entry; the row holds the current one.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::articles::{self, ArticleStatus};
use super::embargo::{self, Embargo};
use super::ledger_index;
use crate::auth::{Caller, Role};
use crate::db::DbConnection;
use crate::db::insert::insert_all;
use crate::db::schema::{citations, sealed_sources, sources};
use crate::error::{ApiError, ErrorCode};
use crate::fields::{self, Rule, Slug};
use crate::ledger::{About, Sequencer};
use crate::time::Timestamp;

pub const MAX_BATCH: usize = 1000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCitation {
    pub source_id: String,
    /// The version cited (default: the latest).
    #[serde(default, deserialize_with = "fields::whole_number")]
    pub source_version: Option<i64>,
    /// The article's words that the source supports.
    pub claim: String,
    /// The source's words.
    pub quote: Option<String>,
    /// Where in the article, e.g. "paragraph 4".
    pub locator: String,
    pub note: Option<String>,
}

/// What a citation claims the source supports.
pub const CLAIM: Rule = Rule::Text(5000);
/// The words quoted from the source.
pub const QUOTE: Rule = Rule::Text(10_000);
/// Where in the source: a page, a timestamp, a paragraph.
pub const LOCATOR: Rule = Rule::Line(300);
/// The journalist's note.
pub const NOTE: Rule = Rule::Text(5000);
/// Why a citation is retracted.
pub const RETRACTION_REASON: Rule = Rule::Text(2000);

crate::db::words::stored_words! {
    /// Where a citation stands. Stored as text (`attached`, `verified`,
    /// `retracted`), the same words the ledger records.
    pub enum CitationStatus ("citation status") {
        Attached => "attached",
        Verified => "verified",
        Retracted => "retracted",
    }
}

/// A citation in its current state: the row, and what the API answers.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, ToSchema)]
#[diesel(table_name = citations, treat_none_as_default_value = false)]
pub struct Citation {
    pub id: String,
    /// The article's slug.
    #[serde(rename = "article")]
    #[schema(value_type = String)]
    pub article_slug: Slug,
    pub source_id: String,
    pub source_version: i64,
    pub claim: String,
    pub quote: Option<String>,
    pub locator: String,
    pub note: Option<String>,
    #[diesel(serialize_as = String, deserialize_as = String)]
    pub status: CitationStatus,
    pub attached_by: String,
    /// The API key (or subscriber) that attached it: who may retract it.
    #[serde(skip)]
    pub attached_by_key: String,
    pub attached_at: Timestamp,
    pub verified_by: Option<String>,
    pub verified_at: Option<Timestamp>,
    pub retracted_by: Option<String>,
    pub retracted_at: Option<Timestamp>,
    pub retraction_reason: Option<String>,
    /// The ledger entry that recorded the current state.
    pub ledger_index: i64,
    /// What the search for `quote` in the text of the source's latest
    /// archived copy found: `found`, `not_found`, or `unchecked` (no copy
    /// with text yet). Absent when the citation quotes nothing.
    #[diesel(skip_insertion)]
    #[diesel(select_expression = diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(QUOTE_STATUS_SQL))]
    #[diesel(select_expression_type = diesel::expression::SqlLiteral<diesel::sql_types::Nullable<diesel::sql_types::Text>>)]
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub quote_status: Option<String>,
    /// Where the quote is in that copy's text, as a W3C Web Annotation
    /// `TextQuoteSelector` (`exact`, `prefix`, `suffix`), when it was found.
    #[diesel(skip_insertion)]
    #[diesel(select_expression = diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Text>>(QUOTE_SELECTOR_SQL))]
    #[diesel(select_expression_type = diesel::expression::SqlLiteral<diesel::sql_types::Nullable<diesel::sql_types::Text>>)]
    #[diesel(deserialize_as = Option<String>)]
    #[serde(skip_serializing_if = "FoundQuote::is_none")]
    #[schema(value_type = Option<Object>)]
    pub quote_selector: FoundQuote,
    /// The `citation.quote` entry that recorded the finding: the list
    /// proves `quote_status` with it.
    #[diesel(skip_insertion)]
    #[diesel(select_expression = diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::BigInt>>(QUOTE_ENTRY_SQL))]
    #[diesel(select_expression_type = diesel::expression::SqlLiteral<diesel::sql_types::Nullable<diesel::sql_types::BigInt>>)]
    #[serde(skip)]
    #[schema(ignore)]
    pub quote_entry: Option<i64>,
}

/// Where a citation's quote was found, read from its stored JSON.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FoundQuote(pub Option<crate::reading::quotes::TextQuoteSelector>);

impl FoundQuote {
    pub fn is_none(&self) -> bool {
        self.0.is_none()
    }
}

impl From<Option<String>> for FoundQuote {
    fn from(stored: Option<String>) -> Self {
        Self(stored.and_then(|json| serde_json::from_str(&json).ok()))
    }
}

/// A citation's quote check, from `quote_checks` (not part of the record:
/// it is found after the citation was recorded, and has its own
/// `citation.quote` entry). A copy with no text to search leaves it
/// `unchecked`.
const QUOTE_STATUS_SQL: &str = "CASE WHEN citations.quote IS NULL THEN NULL ELSE COALESCE((SELECT CASE q.status WHEN 'unreadable' THEN 'unchecked' ELSE q.status END FROM quote_checks q WHERE q.citation_id = citations.id), 'unchecked') END";
const QUOTE_SELECTOR_SQL: &str = "(SELECT q.selector FROM quote_checks q WHERE q.citation_id = citations.id AND q.status = 'found')";
const QUOTE_ENTRY_SQL: &str =
    "(SELECT q.ledger_index FROM quote_checks q WHERE q.citation_id = citations.id)";

impl Citation {
    /// What the ledger records of the current state.
    pub fn record(&self) -> Value {
        json!({
            "id": self.id,
            "article": self.article_slug,
            "source_id": self.source_id,
            "source_version": self.source_version,
            "claim": self.claim,
            "quote": self.quote,
            "locator": self.locator,
            "note": self.note,
            "status": self.status.as_str(),
            "reason": self.retraction_reason,
        })
    }

    /// The article and source this citation's entries concern.
    pub fn about(&self) -> About<'_> {
        About {
            article: Some(&self.article_slug),
            source: Some(&self.source_id),
        }
    }
}

/// A batch checked and encoded before it reaches the log's writer: every
/// field validated, every source version read, every leaf encoded but for its
/// time. What is left under the write lock is the article's state, a re-check
/// of sources cited at their latest version, the hashes and the rows.
pub struct PreparedBatch {
    slug: String,
    embargo: Embargo,
    /// Whether the entries were prepared as commitments (the article was a
    /// draft and the embargo on).
    committed: bool,
    items: Vec<PreparedCitation>,
}

struct PreparedCitation {
    /// The row but for its time and ledger index.
    row: Citation,
    /// The version the request named, or `None` for the latest.
    requested: Option<i64>,
    entry: embargo::Prepared,
}

/// What a citation cites: a source's version, or a sealed source (version
/// [`SEALED_VERSION`]).
#[derive(Clone)]
struct Cited {
    id: String,
    version: i64,
}

/// The `source_version` a citation of a sealed source records: a sealed
/// source has no versions (open sources' start at 1).
pub const SEALED_VERSION: i64 = 0;

/// The source versions a batch cites, each read once.
type SourcesRead<'a> = HashMap<(&'a str, Option<i64>), Option<Cited>>;

fn read_sources<'a>(
    conn: &mut DbConnection,
    batch: impl Iterator<Item = (&'a str, Option<i64>)>,
) -> Result<SourcesRead<'a>, ApiError> {
    let mut keys: Vec<(&'a str, Option<i64>)> = batch.collect();
    keys.sort_unstable();
    keys.dedup();
    let mut ids: Vec<&str> = keys.iter().map(|k| k.0).collect();
    ids.dedup();
    // Each source's latest version, in one query a few hundred ids at a
    // time (not one query a source): versions run from 1 to the latest with
    // none ever removed, so that also says which versions exist.
    let mut latest: HashMap<String, i64> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(ROWS_PER_QUERY) {
        let rows: Vec<(String, Option<i64>)> = sources::table
            .filter(sources::id.eq_any(chunk))
            .group_by(sources::id)
            .select((sources::id, diesel::dsl::max(sources::version)))
            .load(conn)?;
        latest.extend(rows.into_iter().filter_map(|(id, v)| v.map(|v| (id, v))));
    }
    // What has no version may be a sealed source.
    let unversioned: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| !latest.contains_key(*id))
        .collect();
    let mut sealed = std::collections::HashSet::new();
    for chunk in unversioned.chunks(ROWS_PER_QUERY) {
        let rows: Vec<String> = sealed_sources::table
            .filter(sealed_sources::id.eq_any(chunk))
            .select(sealed_sources::id)
            .load(conn)?;
        sealed.extend(rows);
    }
    Ok(keys
        .into_iter()
        .map(|key| {
            let found = match (latest.get(key.0), key.1) {
                (Some(&v), None) => Some(v),
                (Some(&v), Some(asked)) if (1..=v).contains(&asked) => Some(asked),
                (None, None | Some(SEALED_VERSION)) if sealed.contains(key.0) => {
                    Some(SEALED_VERSION)
                }
                _ => None,
            };
            let cited = found.map(|version| Cited {
                id: key.0.to_owned(),
                version,
            });
            (key, cited)
        })
        .collect())
}

/// Ids per query when a batch's sources are read.
const ROWS_PER_QUERY: usize = 500;

/// The article's slug and whether it is still a draft; refuses a retracted one.
fn check_article(conn: &mut DbConnection, slug: &str) -> Result<(Slug, bool), ApiError> {
    let article = articles::get(conn, slug)?;
    if article.status == ArticleStatus::Retracted {
        return Err(ApiError::new(
            ErrorCode::ArticleRetracted,
            "the article is retracted: nothing more can be cited",
        ));
    }
    Ok((article.slug, article.status == ArticleStatus::Draft))
}

/// Whether an entry about citations of article `slug` is a commitment.
fn embargoed(conn: &mut DbConnection, embargo: Embargo, slug: &str) -> Result<bool, ApiError> {
    Ok(embargo.on() && articles::get(conn, slug)?.status == ArticleStatus::Draft)
}

/// Checks `batch` for the article, all or nothing: the first bad item refuses
/// the whole batch, naming it (`citations[i].field`). Reads, never writes:
/// run it on any connection, then hand the result to [`attach`].
pub fn prepare(
    conn: &mut DbConnection,
    embargo: Embargo,
    caller: &Caller,
    slug: &str,
    batch: &[NewCitation],
    name_items: bool,
) -> Result<PreparedBatch, ApiError> {
    if batch.is_empty() || batch.len() > MAX_BATCH {
        return Err(ApiError::invalid_field(
            "citations",
            format!("must hold 1 to {MAX_BATCH} citations"),
        ));
    }
    let (slug, draft) = check_article(conn, slug)?;
    let committed = embargo.on() && draft;
    let sources_read = read_sources(
        conn,
        batch
            .iter()
            .map(|n| (n.source_id.as_str(), n.source_version)),
    )?;
    let actor = caller.actor();
    let mut items = Vec::with_capacity(batch.len());
    for (i, new) in batch.iter().enumerate() {
        let field = |name: &str| {
            if name_items {
                format!("citations[{i}].{name}")
            } else {
                name.to_owned()
            }
        };
        let source = sources_read
            .get(&(new.source_id.as_str(), new.source_version))
            .cloned()
            .flatten()
            .ok_or_else(|| {
                ApiError::new(
                    ErrorCode::UnknownSource,
                    format!(
                        "{}: no source {:?} at that version",
                        field("source_id"),
                        new.source_id
                    ),
                )
            })?;
        let row = Citation {
            // Time-ordered (UUIDv7): a batch's rows go in at the end of the
            // table's key order instead of at random pages of it.
            id: uuid::Uuid::now_v7().to_string(),
            article_slug: slug.clone(),
            source_id: source.id,
            source_version: source.version,
            claim: CLAIM.check(&field("claim"), &new.claim)?,
            quote: fields::optional(new.quote.as_deref(), |q| QUOTE.check(&field("quote"), q))?,
            locator: LOCATOR.check(&field("locator"), &new.locator)?,
            note: fields::optional(new.note.as_deref(), |n| NOTE.check(&field("note"), n))?,
            status: CitationStatus::Attached,
            attached_by: actor.clone(),
            attached_by_key: caller.subject_id().to_owned(),
            // The entry's time, once it is appended.
            attached_at: Timestamp::now(),
            verified_by: None,
            verified_at: None,
            retracted_by: None,
            retracted_at: None,
            retraction_reason: None,
            ledger_index: 0,
            quote_status: None,
            quote_selector: FoundQuote(None),
            quote_entry: None,
        };
        let entry = embargo::prepare(committed, "citation.attached", &actor, &row.record())?;
        items.push(PreparedCitation {
            row,
            requested: new.source_version,
            entry,
        });
    }
    Ok(PreparedBatch {
        slug: slug.into_string(),
        embargo,
        committed,
        items,
    })
}

/// Attaches a prepared batch, all or nothing. The article may have been
/// retracted, and a source cited at its latest version may have gained a
/// version, since [`prepare`]: both are checked again here, and such an item
/// is encoded again, so the batch cites what is latest when it commits.
pub fn attach(
    conn: &mut DbConnection,
    seq: &mut Sequencer,
    prepared: PreparedBatch,
) -> Result<Vec<Citation>, ApiError> {
    let (_, draft) = check_article(conn, &prepared.slug)?;
    // Published since the batch was prepared (or the other way round, as
    // far as the embargo goes): every item is encoded again.
    let committed = prepared.embargo.on() && draft;
    let again = committed != prepared.committed;
    if !draft {
        // Cited in a published article: what the cited sources' commitments
        // hide is disclosed with the citations.
        let mut ids: Vec<&str> = prepared
            .items
            .iter()
            .map(|i| i.row.source_id.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let actor = prepared
            .items
            .first()
            .map(|i| i.row.attached_by.clone())
            .unwrap_or_default();
        embargo::disclose_sources(conn, seq, &actor, &ids)?;
    }
    let latest = read_sources(
        conn,
        prepared
            .items
            .iter()
            .filter(|item| item.requested.is_none())
            .map(|item| (item.row.source_id.as_str(), None)),
    )?;
    let mut out = Vec::with_capacity(prepared.items.len());
    for item in &prepared.items {
        let mut row = item.row.clone();
        let mut moved = None;
        if item.requested.is_none() {
            let now = latest
                .get(&(row.source_id.as_str(), None))
                .and_then(|s| s.as_ref().map(|s| s.version));
            // Versions are never removed, so the source is still there.
            if let Some(now) = now
                && now != row.source_version
            {
                row.source_version = now;
                moved = Some(());
            }
        }
        let encoded_again = match moved.is_some() || again {
            true => Some(embargo::prepare(
                committed,
                "citation.attached",
                &row.attached_by,
                &row.record(),
            )?),
            false => None,
        };
        let appended =
            encoded_again
                .as_ref()
                .unwrap_or(&item.entry)
                .append(conn, seq, row.about())?;
        row.ledger_index = ledger_index(&appended);
        row.attached_at = appended.at;
        out.push(row);
    }
    insert_all!(conn, citations::table, &out, owned)?;
    Ok(out)
}

/// An article's citations in the order they were attached, every state.
pub fn of_article(conn: &mut DbConnection, slug: &str) -> Result<Vec<Citation>, ApiError> {
    Ok(citations::table
        .filter(citations::article_slug.eq(slug))
        .order((citations::attached_at.asc(), citations::id.asc()))
        .select(Citation::as_select())
        .load(conn)?)
}

pub fn get(conn: &mut DbConnection, id: &str) -> Result<Citation, ApiError> {
    citations::table
        .find(id)
        .select(Citation::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| ApiError::not_found(format!("no citation {id:?}")))
}

/// An editor marks an attached citation verified.
pub fn verify(
    conn: &mut DbConnection,
    seq: &mut Sequencer,
    embargo: Embargo,
    caller: &Caller,
    id: &str,
) -> Result<Citation, ApiError> {
    let mut row = get(conn, id)?;
    if row.status != CitationStatus::Attached {
        return Err(ApiError::new(
            ErrorCode::InvalidTransition,
            format!(
                "the citation is {}; only an attached citation can be verified",
                row.status.as_str()
            ),
        ));
    }
    let actor = caller.actor();
    row.status = CitationStatus::Verified;
    let committed = embargoed(conn, embargo, &row.article_slug)?;
    let appended = embargo::append(
        conn,
        seq,
        committed,
        "citation.verified",
        &actor,
        &row.record(),
        row.about(),
    )?;
    row.verified_by = Some(actor);
    row.verified_at = Some(appended.at.clone());
    row.ledger_index = ledger_index(&appended);
    diesel::update(citations::table.find(&row.id))
        .set((
            citations::status.eq(row.status.as_str()),
            citations::verified_by.eq(&row.verified_by),
            citations::verified_at.eq(&row.verified_at),
            citations::ledger_index.eq(row.ledger_index),
        ))
        .execute(conn)?;
    Ok(row)
}

/// Retracts a citation with a reason: journalists their own, editors and
/// admins any.
pub fn retract(
    conn: &mut DbConnection,
    seq: &mut Sequencer,
    embargo: Embargo,
    caller: &Caller,
    id: &str,
    reason: &str,
) -> Result<Citation, ApiError> {
    let reason = RETRACTION_REASON.check("reason", reason)?;
    let mut row = get(conn, id)?;
    // "Their own" is by who they are (the key, or the single sign-on
    // subject), not by their display name, which two people may share.
    if caller.role == Role::Journalist && row.attached_by_key != caller.subject_id() {
        return Err(ApiError::forbidden(
            "journalists may retract only the citations they attached",
        ));
    }
    if row.status == CitationStatus::Retracted {
        return Err(ApiError::new(
            ErrorCode::InvalidTransition,
            "the citation is retracted already",
        ));
    }
    let actor = caller.actor();
    row.status = CitationStatus::Retracted;
    row.retraction_reason = Some(reason);
    let committed = embargoed(conn, embargo, &row.article_slug)?;
    let appended = embargo::append(
        conn,
        seq,
        committed,
        "citation.retracted",
        &actor,
        &row.record(),
        row.about(),
    )?;
    row.retracted_by = Some(actor);
    row.retracted_at = Some(appended.at.clone());
    row.ledger_index = ledger_index(&appended);
    diesel::update(citations::table.find(&row.id))
        .set((
            citations::status.eq(row.status.as_str()),
            citations::retracted_by.eq(&row.retracted_by),
            citations::retracted_at.eq(&row.retracted_at),
            citations::retraction_reason.eq(&row.retraction_reason),
            citations::ledger_index.eq(row.ledger_index),
        ))
        .execute(conn)?;
    Ok(row)
}
