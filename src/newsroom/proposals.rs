//! Proposed citations: the outbound links of an article's own text
//! (`reading::links`), kept with the article until a person accepts or
//! drops each. Nothing is recorded by proposing: accepting one records its
//! source (when its URL has none yet) and attaches the citation, through
//! the same rules as any other. One proposal a URL an article; a new
//! extraction (a pasted draft, an edited Ghost post) refreshes the open
//! ones and leaves the decided ones decided, so a dropped link is not
//! proposed again.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::insert::insert_all;
use crate::db::schema::{proposals, sources};
use crate::error::{ApiError, ErrorCode};
use crate::reading::links::Proposal;
use crate::time::Timestamp;

/// The most proposals one article keeps (as many as one batch may cite).
pub const MAX: usize = super::citations::MAX_BATCH;

crate::db::words::stored_words! {
    /// Where a proposal stands.
    pub enum ProposalState ("proposal state") {
        Open => "open",
        Accepted => "accepted",
        Dropped => "dropped",
    }
}

crate::db::words::stored_words! {
    /// What a proposal was read from.
    pub enum Origin ("proposal origin") {
        Html => "html",
        Markdown => "markdown",
        Url => "url",
        Ghost => "ghost",
    }
}

/// A proposal as the API and the desk show it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProposalView {
    pub url: String,
    /// The link's text in the article.
    pub anchor_text: String,
    /// The sentence of the article that holds the link.
    pub claim: String,
    /// The source already recorded with this URL, if one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_id: Option<String>,
    pub state: ProposalState,
    /// The citation made when it was accepted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub citation_id: Option<String>,
}

/// A proposal as first kept.
#[derive(Clone, Insertable)]
#[diesel(table_name = proposals, treat_none_as_default_value = false)]
struct NewRow {
    article_slug: String,
    url: String,
    position: i32,
    anchor_text: String,
    claim: String,
    state: String,
    origin: String,
    proposed_at: String,
    decided_by: Option<String>,
    decided_at: Option<String>,
    citation_id: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = proposals)]
struct Row {
    url: String,
    anchor_text: String,
    claim: String,
    #[diesel(deserialize_as = String)]
    state: ProposalState,
    citation_id: Option<String>,
}

/// Keeps `found` as article `slug`'s proposals, in its order: new URLs are
/// proposed, open ones take the new text, decided ones stay decided, open
/// ones the article no longer links to go. Answers the open proposals.
pub fn keep(
    conn: &mut DbConnection,
    slug: &str,
    origin: Origin,
    found: &[Proposal],
) -> Result<Vec<ProposalView>, ApiError> {
    let now = Timestamp::now();
    conn.transaction(|conn| {
        // The open ones go and come back with their new places and texts
        // (open ones hold no decision), in batches; decided ones stay. The
        // delete comes first: on SQLite a transaction's first write takes the
        // write lock, and one that read first cannot wait for it (another
        // writer's commit in between fails it as busy).
        diesel::delete(
            proposals::table
                .filter(proposals::article_slug.eq(slug))
                .filter(proposals::state.eq(ProposalState::Open.as_str())),
        )
        .execute(conn)?;
        // What is left is decided: those links are not proposed again.
        let decided: HashSet<String> = proposals::table
            .filter(proposals::article_slug.eq(slug))
            .select(proposals::url)
            .load::<String>(conn)?
            .into_iter()
            .collect();
        let rows: Vec<NewRow> = found
            .iter()
            .take(MAX)
            .enumerate()
            .filter(|(_, p)| !decided.contains(&p.url))
            .map(|(position, p)| NewRow {
                article_slug: slug.to_owned(),
                url: p.url.clone(),
                position: i32::try_from(position).unwrap_or(i32::MAX),
                anchor_text: p.anchor_text.clone(),
                claim: p.claim.clone(),
                state: ProposalState::Open.as_str().to_owned(),
                origin: origin.as_str().to_owned(),
                proposed_at: now.as_str().to_owned(),
                decided_by: None,
                decided_at: None,
                citation_id: None,
            })
            .collect();
        insert_all!(conn, proposals::table, &rows, owned)?;
        of_article(conn, slug, Some(ProposalState::Open))
    })
}

/// Article `slug`'s proposals in the article's order, of one state or all.
pub fn of_article(
    conn: &mut DbConnection,
    slug: &str,
    state: Option<ProposalState>,
) -> Result<Vec<ProposalView>, ApiError> {
    let mut query = proposals::table
        .filter(proposals::article_slug.eq(slug))
        .order(proposals::position.asc())
        .select(Row::as_select())
        .into_boxed();
    if let Some(state) = state {
        query = query.filter(proposals::state.eq(state.as_str()));
    }
    let rows = query.load(conn)?;
    let recorded = recorded_sources(conn, rows.iter().map(|r| r.url.as_str()))?;
    Ok(rows
        .into_iter()
        .map(|r| ProposalView {
            source_id: recorded.get(&r.url).cloned(),
            url: r.url,
            anchor_text: r.anchor_text,
            claim: r.claim,
            state: r.state,
            citation_id: r.citation_id,
        })
        .collect())
}

/// One open proposal of article `slug`.
pub fn open_one(conn: &mut DbConnection, slug: &str, url: &str) -> Result<ProposalView, ApiError> {
    of_article(conn, slug, Some(ProposalState::Open))?
        .into_iter()
        .find(|p| p.url == url)
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotFound,
                "no open proposal of this article has that URL (accepted or dropped already?)",
            )
        })
}

/// The recorded source of each of `urls` that has one (the most recently
/// recorded, when several sources share a URL).
pub fn recorded_sources<'a>(
    conn: &mut DbConnection,
    urls: impl Iterator<Item = &'a str>,
) -> Result<HashMap<String, String>, ApiError> {
    let urls: Vec<&str> = urls.collect();
    let mut out = HashMap::new();
    for chunk in urls.chunks(500) {
        let rows: Vec<(String, String)> = sources::table
            .filter(sources::url.eq_any(chunk))
            .order(sources::recorded_at.asc())
            .select((sources::url, sources::id))
            .load(conn)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Marks proposal `url` of `slug` decided by `actor`: accepted (naming the
/// citation made) or dropped. Only an open proposal is decided.
pub fn decide(
    conn: &mut DbConnection,
    slug: &str,
    url: &str,
    actor: &str,
    citation_id: Option<&str>,
) -> Result<(), ApiError> {
    let state = match citation_id {
        Some(_) => ProposalState::Accepted,
        None => ProposalState::Dropped,
    };
    let changed = diesel::update(
        proposals::table
            .find((slug, url))
            .filter(proposals::state.eq(ProposalState::Open.as_str())),
    )
    .set((
        proposals::state.eq(state.as_str()),
        proposals::decided_by.eq(actor),
        proposals::decided_at.eq(Timestamp::now().as_str()),
        proposals::citation_id.eq(citation_id),
    ))
    .execute(conn)?;
    match changed {
        1 => Ok(()),
        _ => Err(ApiError::new(
            ErrorCode::Conflict,
            "this proposal was decided already",
        )),
    }
}

/// A proposal accepted, with what the person accepting it kept or changed.
#[derive(Debug, Clone)]
pub struct Acceptance {
    pub url: String,
    pub claim: String,
    pub quote: Option<String>,
    pub locator: String,
    /// For a source not yet recorded: how to record it.
    pub title: String,
    pub publisher: String,
    pub kind: super::sources::SourceKind,
    pub language: String,
}

impl Acceptance {
    /// A proposal accepted as it stands: its anchor text as the new
    /// source's title, its host as the publisher, the article's language.
    pub fn as_proposed(p: &ProposalView, language: &str) -> Self {
        let host = url::Url::parse(&p.url)
            .ok()
            .and_then(|u| {
                u.host_str()
                    .map(|h| h.trim_start_matches("www.").to_owned())
            })
            .unwrap_or_default();
        let title = match p.anchor_text.trim() {
            "" => host.clone(),
            text => text.to_owned(),
        };
        Self {
            url: p.url.clone(),
            claim: p.claim.clone(),
            quote: None,
            locator: default_locator(&p.anchor_text),
            title: clip(&title, 500),
            publisher: host,
            kind: super::sources::SourceKind::Other,
            language: language.to_owned(),
        }
    }
}

/// Where in the article a proposal's link is: by its text.
pub fn default_locator(anchor_text: &str) -> String {
    match anchor_text.trim() {
        "" => "link".to_owned(),
        text => format!("link “{}”", clip(text, 280)),
    }
}

fn clip(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", text[..at].trim_end()),
        None => text.to_owned(),
    }
}

/// Accepts open proposals of article `slug`, all or nothing as far as the
/// citations go: the sources their URLs lack are recorded first (one
/// write), then every citation is attached and every proposal marked
/// accepted in one transaction. If the citations are refused, the sources
/// just recorded stay recorded (true records of what was found) and the
/// proposals stay open, now naming them.
pub async fn accept(
    db: &crate::db::Db,
    writer: &crate::ledger::GroupCommitter,
    embargo: super::embargo::Embargo,
    caller: &crate::auth::Caller,
    slug: &str,
    accepted: Vec<Acceptance>,
) -> Result<Vec<super::citations::Citation>, ApiError> {
    use super::citations::{self, NewCitation};
    use super::sources::{self, NewSource};
    if accepted.is_empty() {
        return Ok(Vec::new());
    }
    let (target, urls) = (
        slug.to_owned(),
        accepted.iter().map(|a| a.url.clone()).collect::<Vec<_>>(),
    );
    let recorded = db
        .run(move |conn| {
            let open: std::collections::HashSet<String> =
                of_article(conn, &target, Some(ProposalState::Open))?
                    .into_iter()
                    .map(|p| p.url)
                    .collect();
            if let Some(missing) = urls.iter().find(|u| !open.contains(*u)) {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!("{missing}: no open proposal of this article has that URL (accepted or dropped already?)"),
                ));
            }
            recorded_sources(conn, urls.iter().map(String::as_str))
        })
        .await?;
    let actor = caller.actor();
    let mut new_sources = Vec::new();
    for a in accepted.iter().filter(|a| !recorded.contains_key(&a.url)) {
        let new = NewSource {
            url: a.url.clone(),
            title: a.title.clone(),
            publisher: a.publisher.clone(),
            kind: a.kind,
            language: a.language.clone(),
            published_at: None,
            accessed_at: None,
            snapshot_sha256: None,
            archive_url: None,
            doi: None,
            sealed: false,
        };
        new_sources.push((a.url.clone(), sources::prepare_new(embargo, &actor, &new)?));
    }
    let mut source_of = recorded;
    if !new_sources.is_empty() {
        let made = writer
            .write(move |conn, seq| {
                new_sources
                    .into_iter()
                    .map(|(url, prepared)| Ok((url, sources::create(conn, seq, prepared)?.id)))
                    .collect::<Result<Vec<_>, ApiError>>()
            })
            .await?;
        source_of.extend(made);
    }
    let batch: Vec<NewCitation> = accepted
        .iter()
        .map(|a| NewCitation {
            source_id: source_of.get(&a.url).cloned().unwrap_or_default(),
            source_version: None,
            claim: a.claim.clone(),
            quote: a.quote.clone().filter(|q| !q.trim().is_empty()),
            locator: a.locator.clone(),
            note: None,
        })
        .collect();
    let (caller, target) = (caller.clone(), slug.to_owned());
    let prepared = db
        .run(move |conn| citations::prepare(conn, embargo, &caller, &target, &batch, true))
        .await?;
    let (target, urls) = (slug.to_owned(), accepted.into_iter().map(|a| a.url));
    let urls: Vec<String> = urls.collect();
    writer
        .write(move |conn, seq| {
            let cited = citations::attach(conn, seq, prepared)?;
            for (url, citation) in urls.iter().zip(&cited) {
                decide(conn, &target, url, &actor, Some(&citation.id))?;
            }
            Ok(cited)
        })
        .await
}
