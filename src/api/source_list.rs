//! `GET /v1/articles/{slug}/sources`: the teaser for anonymous readers, and for
//! subscribers and staff the verified source list, in which every fact shown
//! comes with its ledger leaf and an inclusion proof to one signed checkpoint.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use actix_web::web::Bytes;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::auth::MaybeUnconfirmed;
use crate::db::DbConnection;
use crate::db::schema::{citations, sources};
use crate::error::{ApiError, Problem};
use crate::ledger::store;
use crate::newsroom::articles::{self, Article, ArticleRow};
use crate::newsroom::citations::{Citation, CitationRow};
use crate::newsroom::sources::SourceVersion;
use crate::startup::AppState;

pub const TEASER_MESSAGE: &str = "Subscribe to our free newsletter to unlock direct links to all sources used in this article. We believe you deserve to verify everything we write.";

/// A fact's ledger entry and its inclusion proof to the response's checkpoint.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProvenLeaf {
    pub index: u64,
    /// The exact leaf text; its `record` is the fact shown.
    pub leaf: String,
    pub leaf_hash: String,
    /// RFC 9162 order, the leaf's sibling first.
    pub proof: Vec<String>,
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
}

#[derive(Serialize, ToSchema)]
pub struct ProvenCitation {
    #[serde(flatten)]
    pub citation: Citation,
    pub source: SourceVersion,
    pub proof: CitationProofs,
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
}

#[derive(Serialize, ToSchema)]
pub struct LockedSource {
    pub title: String,
    pub publisher: String,
    pub kind: String,
    pub language: String,
    pub record_sha256: String,
    /// Always null here: subscribe to unlock.
    pub url: Option<String>,
    pub archive_url: Option<String>,
    pub snapshot_sha256: Option<String>,
    pub quote: Option<String>,
    pub locked: bool,
}

/// What anonymous readers see.
#[derive(Serialize, ToSchema)]
pub struct SourceTeaser {
    pub article: Article,
    pub locked: bool,
    pub message: &'static str,
    pub source_count: usize,
    pub kinds: BTreeMap<String, usize>,
    pub languages: BTreeMap<String, usize>,
    pub sources: Vec<LockedSource>,
    pub retracted_count: usize,
}

fn load_citations(
    conn: &mut DbConnection,
    slug: &str,
) -> Result<Vec<(CitationRow, SourceVersion)>, ApiError> {
    use diesel::prelude::*;
    Ok(citations::table
        .inner_join(
            sources::table.on(sources::id
                .eq(citations::source_id)
                .and(sources::version.eq(citations::source_version))),
        )
        .filter(citations::article_slug.eq(slug))
        .order((citations::attached_at.asc(), citations::id.asc()))
        .select((CitationRow::as_select(), SourceVersion::as_select()))
        .load(conn)?)
}

fn etag(parts: &[String]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    format!("\"{}\"", hex::encode(&hasher.finalize()[..16]))
}

fn not_modified(if_none_match: Option<&str>, tag: &str) -> bool {
    if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"))
}

/// What the database work decided, made into a response on the async side.
enum Outcome {
    NotModified(String),
    Body(String, Bytes),
}

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
pub struct ListCache {
    by_tag: Mutex<HashMap<String, Bytes>>,
    by_head: Mutex<HashMap<String, Built>>,
    capacity: usize,
}

fn bounded_insert<V>(map: &Mutex<HashMap<String, V>>, capacity: usize, key: String, value: V) {
    if let Ok(mut map) = map.lock() {
        if map.len() >= capacity {
            map.clear();
        }
        map.insert(key, value);
    }
}

impl ListCache {
    pub fn new(capacity: usize) -> Self {
        Self {
            by_tag: Mutex::new(HashMap::new()),
            by_head: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    fn by_tag(&self, tag: &str) -> Option<Bytes> {
        self.by_tag.lock().ok()?.get(tag).cloned()
    }

    fn remember_tag(&self, tag: &str, body: Bytes) {
        bounded_insert(&self.by_tag, self.capacity, tag.to_owned(), body);
    }

    fn by_head(&self, key: &str) -> Option<Built> {
        self.by_head.lock().ok()?.get(key).cloned()
    }

    fn remember_head(&self, key: String, built: Built) {
        bounded_insert(&self.by_head, self.capacity, key, built);
    }
}

fn teaser(article: &ArticleRow, rows: &[(CitationRow, SourceVersion)]) -> SourceTeaser {
    let mut seen = std::collections::HashSet::new();
    let mut kinds = BTreeMap::new();
    let mut languages = BTreeMap::new();
    let mut sources = Vec::new();
    for (citation, source) in rows.iter().filter(|(c, _)| c.status != "retracted") {
        if !seen.insert(citation.source_id.clone()) {
            continue;
        }
        *kinds.entry(source.kind.clone()).or_insert(0) += 1;
        *languages.entry(source.language.clone()).or_insert(0) += 1;
        sources.push(LockedSource {
            title: source.title.clone(),
            publisher: source.publisher.clone(),
            kind: source.kind.clone(),
            language: source.language.clone(),
            record_sha256: source.record_sha256.clone(),
            url: None,
            archive_url: None,
            snapshot_sha256: None,
            quote: None,
            locked: true,
        });
    }
    SourceTeaser {
        article: article.to_api(),
        locked: true,
        message: TEASER_MESSAGE,
        source_count: sources.len(),
        kinds,
        languages,
        sources,
        retracted_count: rows.iter().filter(|(c, _)| c.status == "retracted").count(),
    }
}

/// Builds the list of `slug` for one tier, through the cache of built lists.
fn build(
    conn: &mut DbConnection,
    st: &AppState,
    slug: &str,
    full: bool,
) -> Result<Built, ApiError> {
    let article = articles::get(conn, slug)?;
    let public = article.is_public();
    let rows = load_citations(conn, &article.slug)?;
    let mut facts: Vec<String> = vec![article.slug.clone(), article.ledger_index.to_string()];
    for (c, s) in &rows {
        facts.push(format!("{}:{}:{}", c.id, c.ledger_index, s.ledger_index));
    }
    if !full {
        facts.push("teaser".into());
        let tag = etag(&facts);
        let body = serde_json::to_vec(&teaser(&article, &rows)).map_err(ApiError::internal)?;
        return Ok(Built {
            tag,
            body: Bytes::from(body),
            public,
        });
    }
    let mut indexes: Vec<i64> = vec![article.ledger_index];
    for (c, s) in &rows {
        indexes.push(c.ledger_index);
        indexes.push(s.ledger_index);
    }
    indexes.sort_unstable();
    indexes.dedup();
    let min_size = indexes.last().map_or(0, |i| (*i as u64) + 1);
    let checkpoint = store::checkpoint_covering(
        conn,
        &st.hash_cache,
        st.secrets.ledger_key.signer(),
        &st.settings.origin,
        min_size,
    )?;
    facts.push(format!("full:{}", checkpoint.size));
    let tag = etag(&facts);
    if let Some(body) = st.source_lists.by_tag(&tag) {
        return Ok(Built { tag, body, public });
    }
    let size = u64::try_from(checkpoint.size).map_err(ApiError::internal)?;
    let proofs = prove(conn, st, &indexes, size)?;
    let proof_of = |i: i64| {
        proofs
            .get(&i)
            .cloned()
            .ok_or_else(|| ApiError::internal(format!("no ledger entry {i}")))
    };
    let article_proof = proof_of(article.ledger_index)?;
    let mut live = Vec::new();
    let mut retracted = Vec::new();
    for (c, s) in rows {
        let item = ProvenCitation {
            proof: CitationProofs {
                citation: proof_of(c.ledger_index)?,
                source: proof_of(s.ledger_index)?,
            },
            citation: c.to_api(),
            source: s,
        };
        if item.citation.status == "retracted" {
            retracted.push(item);
        } else {
            live.push(item);
        }
    }
    let body = VerifiedSourceList {
        article: ProvenArticle {
            article: article.to_api(),
            proof: article_proof,
        },
        checkpoint: checkpoint.note,
        tree_size: size,
        locked: false,
        citations: live,
        retracted,
    };
    let body = Bytes::from(serde_json::to_vec(&body).map_err(ApiError::internal)?);
    st.source_lists.remember_tag(&tag, body.clone());
    Ok(Built { tag, body, public })
}

/// Builds the proofs of `indexes` to the tree of `size` entries.
fn prove(
    conn: &mut DbConnection,
    state: &AppState,
    indexes: &[i64],
    size: u64,
) -> Result<HashMap<i64, ProvenLeaf>, ApiError> {
    let entries = store::entries_at(conn, indexes)?;
    let mut out = HashMap::with_capacity(entries.len());
    for entry in entries {
        let index = u64::try_from(entry.idx).map_err(ApiError::internal)?;
        let proof = store::prove_inclusion(conn, &state.hash_cache, index, size)?;
        out.insert(
            entry.idx,
            ProvenLeaf {
                index,
                leaf: entry.leaf,
                leaf_hash: hex::encode(entry.leaf_hash),
                proof: proof.iter().map(crate::ledger::hex_hash).collect(),
            },
        );
    }
    Ok(out)
}

/// The source list of an article: a teaser for anonymous readers; for
/// subscribers and staff, every citation with its source version in full and
/// the proofs that let a reader holding only the publisher's `vkey` check it
/// offline. Sends an ETag; `If-None-Match` gets 304 while nothing changed.
#[utoipa::path(
    tag = "articles",
    params(("slug" = String, Path)),
    responses(
        (status = 200, description = "SourceTeaser for anonymous readers, VerifiedSourceList for subscribers and staff",
         body = VerifiedSourceList),
        (status = 304, description = "not modified"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/articles/{slug}/sources")]
pub async fn source_list(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: MaybeUnconfirmed,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let slug = slug.into_inner();
    let st = state.clone();
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let outcome = state
        .db
        .run(move |conn| {
            // The token's key or subscriber is confirmed live in this same hop.
            let caller = caller.0.map(|c| c.confirm(conn)).transpose()?;
            let full = caller.as_ref().is_some_and(|c| c.is_reader());
            let staff = caller.as_ref().is_some_and(|c| c.is_staff());
            // Every change to what a list shows appends to the log: while the
            // log's size is unchanged, the list built at that size stands.
            let key = format!("{slug}\n{full}\n{}", store::size(conn)?);
            let built = match st.source_lists.by_head(&key) {
                Some(built) => built,
                None => {
                    let built = build(conn, &st, &slug, full)?;
                    st.source_lists.remember_head(key, built.clone());
                    built
                }
            };
            if !built.public && !staff {
                return Err(ApiError::not_found(format!("no article {slug:?}")));
            }
            if not_modified(if_none_match.as_deref(), &built.tag) {
                return Ok(Outcome::NotModified(built.tag));
            }
            Ok(Outcome::Body(built.tag, built.body))
        })
        .await?;
    Ok(match outcome {
        Outcome::NotModified(tag) => HttpResponse::NotModified()
            .insert_header((header::ETAG, tag))
            .insert_header((header::VARY, "Authorization"))
            .insert_header((header::CACHE_CONTROL, "private, no-cache"))
            .finish(),
        Outcome::Body(tag, body) => HttpResponse::Ok()
            .insert_header((header::ETAG, tag))
            .insert_header((header::VARY, "Authorization"))
            .insert_header((header::CACHE_CONTROL, "private, no-cache"))
            .content_type("application/json")
            .body(body),
    })
}
