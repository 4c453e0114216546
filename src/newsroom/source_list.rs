//! The source list of an article, the product's centrepiece: the teaser for
//! anonymous readers, and for subscribers and staff the verified list, in which
//! every fact shown comes with its ledger leaf and an inclusion proof to one
//! signed checkpoint. One builder makes every rendering of it; it tags each
//! list (ETag), keeps built lists, and decides who sees what.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use bytes::Bytes;
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::articles::{self, Article};
use super::citation_formats::{self as formats, Format};
use super::citations::{Citation, CitationStatus};
use super::cited::{self, CitedSource};

mod entries;
mod serve;
mod verified;
use super::sealed::sealed_title;
use super::source_page::{self, Shown};
use crate::auth::{Caller, Unconfirmed};
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::ledger::{Ledger, ProvenLeaf};
use entries::{full_entries, render, teaser_entries};
pub use serve::{Answer, ListRequest, Lists};
pub(crate) use verified::prove_facts;

/// The newsroom's call to action under the teaser (`SOURCELEDGER_CTA_TEXT`,
/// `SOURCELEDGER_CTA_URL`).
#[derive(Debug, Clone)]
pub struct CallToAction {
    pub text: String,
    pub url: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ProvenArticle {
    #[serde(flatten)]
    pub article: Article,
    pub proof: ProvenLeaf,
}

#[derive(Serialize, ToSchema)]
pub struct CitationProofs {
    /// The citation's current state.
    pub citation: ProvenLeaf,
    /// The source version it cites.
    pub source: ProvenLeaf,
    /// The link monitor's last change of the source's link state
    /// (`source.link`), when it has checked the link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<ProvenLeaf>,
    /// A disclosed sealed source's `source.disclosed` entry: the record and
    /// the salt that open the seal proven by `source`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosure: Option<ProvenLeaf>,
    /// The `citation.quote` entry that records what the search for the
    /// citation's quote in its source's archived copy found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote: Option<ProvenLeaf>,
    /// The `source.captured` entry of the later version whose archived copy
    /// is shown (`later_archive_url`), when the cited version has none of
    /// its own or an older one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capture: Option<ProvenLeaf>,
}

#[derive(Serialize, ToSchema)]
pub struct ProvenCitation {
    #[serde(flatten)]
    pub citation: Citation,
    /// Since when the newsroom held the citation's current state: the time of
    /// its commitment entry when it was recorded under embargo (proven by
    /// that entry), else of its entry.
    pub held_since: String,
    pub source: HeldSource,
    pub proof: CitationProofs,
}

/// What a citation cites, and since when the newsroom held it.
#[derive(Serialize, ToSchema)]
pub struct HeldSource {
    #[serde(flatten)]
    pub source: CitedSource,
    /// The time of the source's commitment entry when it was recorded under
    /// embargo, else of its entry.
    pub held_since: String,
}

/// The verified source list (subscribers and staff).
#[derive(Serialize, ToSchema)]
pub struct VerifiedSourceList {
    pub article: ProvenArticle,
    /// The signed checkpoint (signed-note text) every proof leads to.
    pub checkpoint: String,
    pub tree_size: u64,
    pub locked: bool,
    /// Attached and verified citations, in the order they were attached.
    pub citations: Vec<ProvenCitation>,
    /// Retracted citations, with their reasons.
    pub retracted: Vec<ProvenCitation>,
    /// Where a reader replays the archived copies in their browser
    /// (`/articles/{slug}/replay`, with `?url=` and the reader's `token`),
    /// when this newsroom offers replay.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct LockedSource {
    pub title: String,
    pub publisher: String,
    pub kind: String,
    pub language: String,
    /// The hash of the recorded source; for a sealed source (disclosed or
    /// not), its commitment.
    pub record_sha256: String,
    /// A confidential source: only its kind and the day it was sealed are
    /// shown, to every reader.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sealed: bool,
    /// Always null here: subscribe to unlock.
    pub url: Option<String>,
    pub archive_url: Option<String>,
    pub snapshot_sha256: Option<String>,
    pub quote: Option<String>,
    pub locked: bool,
}

impl LockedSource {
    /// What the teaser shows of a source: its title, publisher, kind,
    /// language and hash; nothing to follow.
    fn shown(title: &str, publisher: &str, kind: &str, language: &str, hash: &str) -> Self {
        Self {
            title: title.to_owned(),
            publisher: publisher.to_owned(),
            kind: kind.to_owned(),
            language: language.to_owned(),
            record_sha256: hash.to_owned(),
            sealed: false,
            url: None,
            archive_url: None,
            snapshot_sha256: None,
            quote: None,
            locked: true,
        }
    }
}

/// What anonymous readers see.
#[derive(Serialize, ToSchema)]
pub struct SourceTeaser {
    pub article: Article,
    pub locked: bool,
    /// The newsroom's call to action.
    pub message: String,
    /// Where its call to action leads (a subscribe page), when it set one.
    pub subscribe_url: Option<String>,
    pub source_count: usize,
    pub kinds: BTreeMap<String, usize>,
    pub languages: BTreeMap<String, usize>,
    pub sources: Vec<LockedSource>,
    pub retracted_count: usize,
}

fn etag(parts: &[String]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    format!("\"{}\"", hex::encode(&hasher.finalize()[..16]))
}

pub use crate::etag::matches as not_modified;

/// What a request for a list gets: its ETag, and the body unless the
/// caller's `If-None-Match` already names that tag.
pub enum Outcome {
    NotModified(String),
    Body(String, Bytes),
}

/// How long a log size read from the database is trusted when this process
/// wrote nothing since: writes by other processes (several servers on one
/// PostgreSQL) show in the teaser within this bound.
pub const SIZE_TRUSTED_FOR: std::time::Duration = std::time::Duration::from_secs(1);

/// A serialised list, its ETag, and whether anonymous readers may see it.
#[derive(Clone)]
struct Built {
    tag: String,
    body: Bytes,
    public: bool,
}

/// Built source lists. By ETag: the tag names every ledger entry a list shows
/// and the checkpoint it proves them to, which never change, so such an entry
/// never goes stale. By log size: nothing a list shows changes without the log
/// growing. Each map starts over when full.
pub struct SourceLists {
    call_to_action: CallToAction,
    /// Whether readers are offered replay (a replay origin is set).
    replay: bool,
    /// Where readers reach this server (`SOURCELEDGER_PUBLIC_URL`): the
    /// page's oEmbed discovery link and the embeddable view's links.
    public_url: String,
    by_tag: Mutex<HashMap<String, Bytes>>,
    by_head: Mutex<HashMap<String, Built>>,
    capacity: usize,
    /// Lists served as built before, and lists built (for the metrics).
    pub hits: std::sync::atomic::AtomicU64,
    pub misses: std::sync::atomic::AtomicU64,
    /// The log's size last read, the process's write count then, and when.
    known_size: Mutex<Option<(u64, u64, std::time::Instant)>>,
}

fn bounded_insert<V>(map: &Mutex<HashMap<String, V>>, capacity: usize, key: String, value: V) {
    if let Ok(mut map) = map.lock() {
        if map.len() >= capacity {
            map.clear();
        }
        map.insert(key, value);
    }
}

impl SourceLists {
    pub fn new(capacity: usize, call_to_action: CallToAction) -> Self {
        Self {
            call_to_action,
            replay: false,
            public_url: String::new(),
            by_tag: Mutex::new(HashMap::new()),
            by_head: Mutex::new(HashMap::new()),
            capacity,
            hits: Default::default(),
            misses: Default::default(),
            known_size: Mutex::new(None),
        }
    }

    /// Lists that offer replay of archived copies (or not).
    pub fn offering_replay(mut self, replay: bool) -> Self {
        self.replay = replay;
        self
    }

    /// Lists whose pages name this public URL (oEmbed).
    pub fn served_at(mut self, public_url: &str) -> Self {
        self.public_url = public_url.to_owned();
        self
    }

    fn by_tag(&self, tag: &str) -> Option<Bytes> {
        self.by_tag.lock().ok()?.get(tag).cloned()
    }

    fn remember_tag(&self, tag: &str, body: Bytes) {
        bounded_insert(&self.by_tag, self.capacity, tag.to_owned(), body);
    }

    /// The log's size as last read, while this process wrote nothing since
    /// (`writes` is its write count now) and for at most [`SIZE_TRUSTED_FOR`].
    pub fn known_size(&self, writes: u64) -> Option<u64> {
        let known = *self.known_size.lock().ok()?;
        known
            .filter(|(_, at_writes, read)| {
                *at_writes == writes && read.elapsed() < SIZE_TRUSTED_FOR
            })
            .map(|(size, _, _)| size)
    }

    /// Remembers the log's size read when this process's write count was
    /// `writes` (read before the size was).
    pub fn record_size(&self, size: u64, writes: u64) {
        if let Ok(mut known) = self.known_size.lock() {
            *known = Some((size, writes, std::time::Instant::now()));
        }
    }

    /// The list of `slug` as a reader (`full`) or staff member would see it,
    /// built at log size `size`, if it is held and they may see it: served
    /// with no database hop at all.
    pub fn held(
        &self,
        slug: &str,
        full: bool,
        staff: bool,
        format: Format,
        size: u64,
    ) -> Option<(String, Bytes)> {
        let key = head_key(slug, full, format, size);
        let built = self
            .by_head(&key)
            .filter(|b| articles::visible_to(b.public, staff))?;
        self.hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Some((built.tag, built.body))
    }

    fn by_head(&self, key: &str) -> Option<Built> {
        self.by_head.lock().ok()?.get(key).cloned()
    }

    fn remember_head(&self, key: String, built: Built) {
        bounded_insert(&self.by_head, self.capacity, key, built);
    }
}

/// What anonymous readers see of an article's list: each source cited (once)
/// as the teaser shows it, counted by kind and language, and how many
/// citations were retracted.
fn teaser(
    article: &Article,
    rows: &[(Citation, CitedSource)],
    call_to_action: &CallToAction,
) -> SourceTeaser {
    let mut seen = std::collections::HashSet::new();
    let mut kinds = BTreeMap::new();
    let mut languages = BTreeMap::new();
    let mut sources = Vec::new();
    for (citation, source) in rows
        .iter()
        .filter(|(c, _)| c.status != CitationStatus::Retracted)
    {
        if !seen.insert(citation.source_id.clone()) {
            continue;
        }
        let locked = locked(source);
        if !locked.sealed {
            *languages.entry(locked.language.clone()).or_insert(0) += 1;
        }
        *kinds.entry(locked.kind.clone()).or_insert(0) += 1;
        sources.push(locked);
    }
    SourceTeaser {
        article: article.clone(),
        locked: true,
        message: call_to_action.text.clone(),
        subscribe_url: call_to_action.url.clone(),
        source_count: sources.len(),
        kinds,
        languages,
        sources,
        retracted_count: rows
            .iter()
            .filter(|(c, _)| c.status == CitationStatus::Retracted)
            .count(),
    }
}

/// What the teaser shows of a source: a sealed one not yet disclosed as its
/// kind and the day it was sealed.
fn locked(source: &CitedSource) -> LockedSource {
    match source {
        CitedSource::Open(source) => LockedSource::shown(
            &source.title,
            &source.publisher,
            source.kind.as_str(),
            &source.language,
            &source.record_sha256,
        ),
        // Disclosed: shown like any source (its hash still the commitment).
        CitedSource::Sealed(source) => match &source.disclosed {
            Some(record) => LockedSource::shown(
                &record.title,
                &record.publisher,
                &source.kind,
                &record.language,
                &source.commitment,
            ),
            None => LockedSource {
                sealed: true,
                ..LockedSource::shown(
                    &sealed_title(&source.recorded_at),
                    "",
                    &source.kind,
                    "",
                    &source.commitment,
                )
            },
        },
    }
}

/// Builds the list of `slug` for one tier, through the cache of built lists.
fn build(
    conn: &mut DbConnection,
    ledger: &Ledger,
    cache: &SourceLists,
    slug: &str,
    full: bool,
    format: Format,
) -> Result<Built, ApiError> {
    let article = articles::get(conn, slug)?;
    let rows = cited::of_article(conn, &article.slug)?;
    let public = article.is_public();
    let mut facts = facts_shown(&article, &rows);
    let cta = &cache.call_to_action;
    let (tag, body) = match format {
        Format::Json | Format::Html | Format::Embed => {
            facts.push(format.name().to_owned());
            // The embeddable view is framed by any site: the teaser, always.
            if full && format != Format::Embed {
                verified::build(conn, ledger, cache, &article, rows, format, facts)?
            } else {
                facts.push("teaser".into());
                let teaser = teaser(&article, &rows, cta);
                let body = teaser_body(&teaser, format, ledger.vkey(), &cache.public_url)?;
                (etag(&facts), body)
            }
        }
        _ => {
            facts.push(format!("{}:{full}", format.name()));
            let entries = if full {
                full_entries(&rows)
            } else {
                teaser_entries(&teaser(&article, &rows, cta))
            };
            (etag(&facts), render(format, &article, &entries)?)
        }
    };
    Ok(Built { tag, body, public })
}

/// What a list's tag depends on whatever the tier: the article's entry, and
/// each citation's with what it shows of its source.
fn facts_shown(article: &Article, rows: &[(Citation, CitedSource)]) -> Vec<String> {
    let mut facts = vec![article.slug.to_string(), article.ledger_index.to_string()];
    for (c, s) in rows {
        // The link monitor's findings are shown too: a new one, a new list.
        facts.push(format!(
            "{}:{}:{}:{}",
            c.id,
            c.ledger_index,
            c.quote_entry.unwrap_or(-1),
            s.fact()
        ));
    }
    facts
}

/// The teaser as JSON, or as its page with that JSON and its JSON-LD, or as
/// the embeddable view.
fn teaser_body(
    teaser: &SourceTeaser,
    format: Format,
    vkey: &str,
    public_url: &str,
) -> Result<Bytes, ApiError> {
    if format == Format::Embed {
        return Ok(Bytes::from(super::oembed::render_view(teaser, public_url)));
    }
    let json = serde_json::to_vec(teaser).map_err(ApiError::internal)?;
    Ok(Bytes::from(match format {
        Format::Html => {
            let ld = formats::json_ld(&teaser.article, &teaser_entries(teaser));
            source_page::render(Shown::Teaser(teaser), &json, &ld, vkey, public_url).into_bytes()
        }
        _ => json,
    }))
}

fn head_key(slug: &str, full: bool, format: Format, size: u64) -> String {
    format!("{slug}\n{full}\n{}\n{size}", format.name())
}

/// The source list of `slug` as `caller` may see it: the teaser for anonymous
/// callers, the verified list for subscribers and staff, 404 for a draft
/// unless the caller is staff. The token's key or subscriber is confirmed live
/// here, in the same database hop as the list. Also answers the log's size
/// read and the caller as confirmed.
pub fn for_caller(
    conn: &mut DbConnection,
    ledger: &Ledger,
    cache: &SourceLists,
    caller: Option<Unconfirmed>,
    slug: &str,
    format: Format,
    if_none_match: Option<&str>,
) -> Result<(Outcome, u64, Option<Caller>), ApiError> {
    let caller = caller.map(|c| c.confirm(conn)).transpose()?;
    let full = caller.as_ref().is_some_and(|c| c.is_reader());
    let staff = caller.as_ref().is_some_and(|c| c.is_staff());
    // Every change to what a list shows appends to the log: while the log's
    // size is unchanged, the list built at that size stands.
    let size = ledger.size(conn)?.0;
    let key = head_key(slug, full, format, size);
    let built = match cache.by_head(&key) {
        Some(built) => {
            cache
                .hits
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            built
        }
        None => {
            cache
                .misses
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let built = build(conn, ledger, cache, slug, full, format)?;
            cache.remember_head(key, built.clone());
            built
        }
    };
    if !articles::visible_to(built.public, staff) {
        return Err(ApiError::not_found(format!("no article {slug:?}")));
    }
    if not_modified(if_none_match, &built.tag) {
        return Ok((Outcome::NotModified(built.tag), size, caller));
    }
    Ok((Outcome::Body(built.tag, built.body), size, caller))
}
