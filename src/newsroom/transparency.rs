//! The newsroom's public figures (`GET /transparency`, `GET /v1/transparency`):
//! what it published, what it cites, how much of it is archived and still
//! online, what it corrected and retracted, what it holds sealed, and how
//! anyone can check the log all of it is counted from.
//!
//! Every figure is counted from the records the log's entries hold (a record
//! and its entry commit together), in one consistent read of the database,
//! and names the number of entries it counted and the signed checkpoint that
//! covers them. Only what readers may see counts: published articles and
//! their live citations; a draft, its citations and the sources only drafts
//! cite are under embargo and count for nothing until the article is
//! published. A retracted article counts as retracted, not as published.
//!
//! Counting reads the whole newsroom (a few hundred milliseconds at a
//! million entries), so it is never done for a request: the figures are
//! counted again only when the log has grown and the last count is older than
//! [`FRESH`], by a background thread in a running server (and by the first
//! request that finds them stale when there is none); every other request is
//! answered from the JSON and HTML made at the last count.

use std::sync::{Arc, Mutex, RwLock, TryLockError};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use serde::Serialize;
use utoipa::ToSchema;

use crate::db::DbConnection;
use crate::db::schema::{checkpoint_timestamps, witness_cosignatures};
use crate::error::ApiError;
use crate::ledger::{Index, store};
use crate::state::AppState;

/// How long a count is served before the log is looked at again.
pub const FRESH: Duration = Duration::from_secs(5);
/// How many corrections and retractions the page lists (newest first).
pub const LISTED: i64 = 50;

/// The newsroom's figures, at one point of its log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Figures {
    pub newsroom: Newsroom,
    /// What was counted: the first `entries` entries of the log, covered by
    /// `checkpoint`.
    pub counted: Counted,
    pub articles: ArticleFigures,
    pub sources: SourceFigures,
    pub citations: CitationFigures,
    pub sealed_sources: SealedFigures,
    /// Citations retracted after their article was published, newest first
    /// (at most 50).
    pub corrections: Vec<Correction>,
    /// Articles retracted, newest first (at most 50).
    pub retractions: Vec<Retraction>,
    /// The latest checkpoint the log's witnesses cosigned, and who did.
    pub witnessed: Option<Witnessed>,
    /// The latest checkpoint with an RFC 3161 time stamp.
    pub time_stamped: Option<TimeStamped>,
    /// How to check all of this without trusting this server.
    pub verify: HowToVerify,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Newsroom {
    /// The newsroom's public site as this server knows it (its host).
    pub name: String,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Counted {
    /// How many of the log's entries the figures count.
    pub entries: u64,
    /// The oldest signed checkpoint covering them.
    pub checkpoint: CheckpointFacts,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckpointFacts {
    pub tree_size: u64,
    /// Lowercase hex.
    pub root_hash: String,
    pub signed_at: String,
    /// The signed note itself (C2SP tlog-checkpoint).
    pub note: String,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct ArticleFigures {
    /// Articles published and not retracted.
    pub published: u64,
    /// Published articles with a citation retracted after publication.
    pub corrected: u64,
    /// Articles published, then retracted.
    pub retracted: u64,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct SourceFigures {
    /// Sources (not sealed) that published articles cite through a live
    /// citation.
    pub cited: u64,
    /// Of those, the ones with an archived copy (captured or uploaded here,
    /// or an archive URL).
    pub archived: u64,
    /// `archived / cited`, 0 when nothing is cited.
    pub archived_share: f64,
    /// The link monitor's last finding on each cited source's URL.
    pub links: LinkFigures,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct LinkFigures {
    /// Online as archived.
    pub live: u64,
    /// Online, but no longer what was archived.
    pub changed: u64,
    /// No longer online.
    pub gone: u64,
    /// The last check could not tell (a network error, a refused address).
    pub error: u64,
    /// Not checked yet.
    pub unchecked: u64,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct CitationFigures {
    /// Live citations in published articles.
    pub live: u64,
    /// Citations in published articles retracted, before or after publication.
    pub retracted: u64,
    /// Of those, retracted after the article was published: corrections.
    pub retracted_after_publication: u64,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct SealedFigures {
    /// Sealed sources that published articles cite, still sealed.
    pub held: u64,
    /// Sealed sources that published articles cite, since disclosed.
    pub disclosed: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Correction {
    pub article: String,
    pub article_title: String,
    pub article_url: String,
    pub citation_id: String,
    pub retracted_at: String,
    pub reason: Option<String>,
    /// The `citation.retracted` entry.
    pub ledger_index: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Retraction {
    pub article: String,
    pub title: String,
    pub url: String,
    pub retracted_at: String,
    pub reason: Option<String>,
    /// The `article.retracted` entry.
    pub ledger_index: u64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Witnessed {
    pub tree_size: u64,
    pub witnesses: Vec<Cosigner>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Cosigner {
    /// The witness's name (its key's name).
    pub name: String,
    pub cosigned_at: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimeStamped {
    pub tree_size: u64,
    /// The time the authority put in its token.
    pub gen_time: String,
    /// The RFC 3161 reply (DER).
    pub url: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HowToVerify {
    /// The log's name (the checkpoint's first line).
    pub origin: String,
    /// The publisher's verifier key (signed-note format).
    pub vkey: String,
    pub checkpoint_url: String,
    /// Where the C2SP tiles are (`<tiles_url>/tile/...`, `<tiles_url>/checkpoint`).
    pub tiles_url: String,
    /// A command that checks the log from its tiles: every entry re-hashed
    /// and the signed root recomputed (entry bundles are for subscribers:
    /// `$TOKEN` is a subscriber's token).
    pub command: String,
}

/// Figures and their two renderings, made once per count.
#[derive(Debug, Clone)]
pub struct Page {
    pub figures: Arc<Figures>,
    pub json: bytes::Bytes,
    pub html: bytes::Bytes,
    /// Strong: a hash of the JSON.
    pub etag: String,
    /// When the log was last looked at for this count.
    checked: Instant,
}

/// The figures last counted, and one count at a time.
#[derive(Debug, Default)]
pub struct Transparency {
    page: RwLock<Option<Arc<Page>>>,
    counting: Mutex<()>,
}

impl Transparency {
    fn current(&self) -> Option<Arc<Page>> {
        self.page.read().ok().and_then(|p| p.clone())
    }

    /// The figures for a request: the last count while it is fresh, or
    /// while another count is under way; otherwise counted now (only when the
    /// log grew since: looking costs one read).
    pub async fn page(
        &self,
        state: &actix_web::web::Data<AppState>,
    ) -> Result<Arc<Page>, ApiError> {
        self.refreshed(state, FRESH).await
    }

    /// Counts again if the last count is older than `max_age` and the log
    /// has grown since; the background thread calls it ahead of [`FRESH`].
    pub async fn refreshed(
        &self,
        state: &actix_web::web::Data<AppState>,
        max_age: Duration,
    ) -> Result<Arc<Page>, ApiError> {
        let current = self.current();
        if let Some(page) = &current
            && page.checked.elapsed() < max_age
        {
            return Ok(page.clone());
        }
        let state = state.clone();
        let previous = current.clone();
        let counted = actix_web::web::block(move || -> Result<Arc<Page>, ApiError> {
            let transparency = &state.transparency;
            // One count at a time; a request that finds one under way is
            // answered from the last count, when there is one.
            let _counting = match (transparency.counting.try_lock(), &previous) {
                (Ok(guard), _) => guard,
                // A count that panicked left nothing half-made: the page is
                // swapped whole.
                (Err(TryLockError::Poisoned(poisoned)), _) => poisoned.into_inner(),
                (Err(TryLockError::WouldBlock), Some(page)) => return Ok(page.clone()),
                (Err(TryLockError::WouldBlock), None) => transparency
                    .counting
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner()),
            };
            if let Some(page) = transparency.current()
                && page.checked.elapsed() < max_age
            {
                return Ok(page);
            }
            let mut conn = state.db.get()?;
            let size = store::size(&mut conn)?;
            let page = match transparency.current() {
                Some(page) if page.figures.counted.entries == size => Page {
                    checked: Instant::now(),
                    ..(*page).clone()
                },
                _ => render(count(&mut conn, &state)?),
            };
            let page = Arc::new(page);
            if let Ok(mut slot) = transparency.page.write() {
                *slot = Some(page.clone());
            }
            Ok(page)
        })
        .await
        .map_err(|_| ApiError::from(crate::db::Unavailable::WorkerGone))??;
        Ok(counted)
    }
}

/// Keeps the figures fresh for the life of the process, so that no
/// request waits for a count.
pub fn spawn(state: actix_web::web::Data<AppState>) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("transparency".into())
        .spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                loop {
                    let ahead = FRESH.saturating_sub(Duration::from_secs(2));
                    if let Err(error) = state.transparency.refreshed(&state, ahead).await {
                        tracing::warn!(%error, "the transparency figures could not be counted");
                    }
                    actix_web::rt::time::sleep(Duration::from_secs(1)).await;
                }
            })
        })
        .map(|_| ())
}

fn render(figures: Figures) -> Page {
    let json = serde_json::to_vec(&figures).unwrap_or_default();
    let etag = format!(
        "\"{}\"",
        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&json))
    );
    let html = super::transparency_page::render(&figures, &json);
    Page {
        figures: Arc::new(figures),
        json: json.into(),
        html: html.into(),
        etag,
        checked: Instant::now(),
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct WordCount {
    #[diesel(sql_type = Text)]
    word: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct CorrectionRow {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    article_slug: String,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = Nullable<Text>)]
    retracted_at: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    retraction_reason: Option<String>,
    #[diesel(sql_type = BigInt)]
    ledger_index: i64,
}

#[derive(QueryableByName)]
struct RetractedRow {
    #[diesel(sql_type = Text)]
    slug: String,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = Text)]
    updated_at: String,
    #[diesel(sql_type = BigInt)]
    ledger_index: i64,
}

/// The live citations of published articles (`c`, joined to `a`).
const LIVE_IN_PUBLISHED: &str = "FROM citations c JOIN articles a ON a.slug = c.article_slug \
     WHERE a.status = 'published' AND c.status <> 'retracted'";

/// A citation retracted after its article's publication: a published
/// article's `updated_at` is its publication's time.
const CORRECTED: &str = "FROM citations c JOIN articles a ON a.slug = c.article_slug \
     WHERE a.status = 'published' AND c.status = 'retracted' AND c.retracted_at > a.updated_at";

fn number(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn one(conn: &mut DbConnection, sql: &str) -> QueryResult<u64> {
    diesel::sql_query(sql)
        .get_result::<Count>(conn)
        .map(|c| number(c.n))
}

fn by_word(conn: &mut DbConnection, sql: &str) -> QueryResult<Vec<(String, u64)>> {
    Ok(diesel::sql_query(sql)
        .load::<WordCount>(conn)?
        .into_iter()
        .map(|w| (w.word, number(w.n)))
        .collect())
}

fn of(counts: &[(String, u64)], word: &str) -> u64 {
    counts
        .iter()
        .filter(|(w, _)| w == word)
        .map(|(_, n)| n)
        .sum()
}

/// What one consistent read of the database says, and the log's size then.
struct Snapshot {
    size: u64,
    articles: ArticleFigures,
    sources: SourceFigures,
    citations: CitationFigures,
    sealed_sources: SealedFigures,
    corrections: Vec<Correction>,
    retractions: Vec<Retraction>,
    witnessed: Option<(i64, Vec<(String, String)>)>,
    time_stamped: Option<(i64, String)>,
}

fn snapshot(conn: &mut DbConnection) -> Result<Snapshot, ApiError> {
    conn.transaction::<_, ApiError, _>(|conn| {
        if let DbConnection::Postgres(_) = conn {
            // READ COMMITTED would let each count see a newer newsroom.
            diesel::sql_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(conn)?;
        }
        let size = store::size(conn)?;
        let statuses = by_word(
            conn,
            "SELECT status AS word, COUNT(*) AS n FROM articles GROUP BY status",
        )?;
        let cited = format!("SELECT DISTINCT c.source_id AS id {LIVE_IN_PUBLISHED} AND c.source_version <> 0");
        let cited_count = one(conn, &format!("SELECT COUNT(*) AS n FROM ({cited}) cited"))?;
        let archived = one(
            conn,
            &format!(
                "SELECT COUNT(*) AS n FROM ({cited}) cited WHERE EXISTS (SELECT 1 FROM sources s \
                 WHERE s.id = cited.id AND (s.snapshot_sha256 IS NOT NULL OR s.archive_url IS NOT NULL))"
            ),
        )?;
        // The monitor checks each source's latest URL.
        let links = by_word(
            conn,
            &format!(
                "SELECT COALESCE(l.status, 'unchecked') AS word, COUNT(*) AS n FROM ({cited}) cited \
                 JOIN sources s ON s.id = cited.id \
                  AND s.version = (SELECT MAX(v.version) FROM sources v WHERE v.id = cited.id) \
                 LEFT JOIN link_checks l ON l.source_id = s.id AND l.url = s.url \
                 GROUP BY COALESCE(l.status, 'unchecked')"
            ),
        )?;
        let citations = by_word(
            conn,
            "SELECT c.status AS word, COUNT(*) AS n FROM citations c \
             JOIN articles a ON a.slug = c.article_slug WHERE a.status = 'published' \
             GROUP BY c.status",
        )?;
        let corrections_count = one(conn, &format!("SELECT COUNT(*) AS n {CORRECTED}"))?;
        let corrected_articles = one(
            conn,
            &format!("SELECT COUNT(DISTINCT c.article_slug) AS n {CORRECTED}"),
        )?;
        let sealed = format!(
            "FROM sealed_sources ss WHERE EXISTS (SELECT 1 {LIVE_IN_PUBLISHED} AND c.source_id = ss.id)"
        );
        let held = one(
            conn,
            &format!("SELECT COUNT(*) AS n {sealed} AND ss.disclosed_at IS NULL"),
        )?;
        let disclosed = one(
            conn,
            &format!("SELECT COUNT(*) AS n {sealed} AND ss.disclosed_at IS NOT NULL"),
        )?;
        let corrections = diesel::sql_query(format!(
            "SELECT c.id, c.article_slug, a.title, a.url, c.retracted_at, c.retraction_reason, \
             c.ledger_index {CORRECTED} ORDER BY c.retracted_at DESC, c.id LIMIT {LISTED}"
        ))
        .load::<CorrectionRow>(conn)?
        .into_iter()
        .map(|r| Correction {
            article: r.article_slug,
            article_title: r.title,
            article_url: r.url,
            citation_id: r.id,
            retracted_at: r.retracted_at.unwrap_or_default(),
            reason: r.retraction_reason,
            ledger_index: number(r.ledger_index),
        })
        .collect();
        let retracted = diesel::sql_query(format!(
            "SELECT slug, title, url, updated_at, ledger_index FROM articles \
             WHERE status = 'retracted' ORDER BY updated_at DESC, slug LIMIT {LISTED}"
        ))
        .load::<RetractedRow>(conn)?;
        let retractions = retractions(conn, retracted)?;
        let latest_witnessed: Option<i64> = witness_cosignatures::table
            .select(diesel::dsl::max(witness_cosignatures::size))
            .first(conn)?;
        let witnessed = match latest_witnessed {
            None => None,
            Some(size) => Some((
                size,
                witness_cosignatures::table
                    .filter(witness_cosignatures::size.eq(size))
                    .order(witness_cosignatures::witness.asc())
                    .select((witness_cosignatures::witness, witness_cosignatures::cosigned_at))
                    .load::<(String, String)>(conn)?,
            )),
        };
        let time_stamped = checkpoint_timestamps::table
            .order(checkpoint_timestamps::size.desc())
            .select((checkpoint_timestamps::size, checkpoint_timestamps::gen_time))
            .first::<(i64, String)>(conn)
            .optional()?;
        let published = of(&statuses, "published");
        let cited_share = if cited_count == 0 {
            0.0
        } else {
            // Three decimals: a share, not a measurement.
            (archived as f64 / cited_count as f64 * 1000.0).round() / 1000.0
        };
        Ok(Snapshot {
            size,
            articles: ArticleFigures {
                published,
                corrected: corrected_articles,
                retracted: of(&statuses, "retracted"),
            },
            sources: SourceFigures {
                cited: cited_count,
                archived,
                archived_share: cited_share,
                links: LinkFigures {
                    live: of(&links, "live"),
                    changed: of(&links, "changed"),
                    gone: of(&links, "gone"),
                    error: of(&links, "error"),
                    unchecked: of(&links, "unchecked"),
                },
            },
            citations: CitationFigures {
                live: of(&citations, "attached") + of(&citations, "verified"),
                retracted: of(&citations, "retracted"),
                retracted_after_publication: corrections_count,
            },
            sealed_sources: SealedFigures { held, disclosed },
            corrections,
            retractions,
            witnessed,
            time_stamped,
        })
    })
}

/// Each retracted article with the reason its `article.retracted` entry
/// gives (the article's row points at that entry).
fn retractions(
    conn: &mut DbConnection,
    rows: Vec<RetractedRow>,
) -> Result<Vec<Retraction>, ApiError> {
    let indexes: Vec<u64> = rows.iter().map(|r| number(r.ledger_index)).collect();
    let entries = store::entries_at(conn, &indexes)?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let reason = entries
                .iter()
                .find(|e| e.idx == r.ledger_index && e.kind == "article.retracted")
                .and_then(|e| crate::ledger::leaf::Leaf::parse(&e.leaf).ok())
                .and_then(|leaf| {
                    leaf.record
                        .get("reason")
                        .and_then(|v| v.as_str())
                        .map(str::to_owned)
                });
            Retraction {
                article: r.slug,
                title: r.title,
                url: r.url,
                retracted_at: r.updated_at,
                reason,
                ledger_index: number(r.ledger_index),
            }
        })
        .collect())
}

/// Counts everything, then names the checkpoint that covers what was
/// counted (signing one if the log has grown past the last).
fn count(conn: &mut DbConnection, state: &AppState) -> Result<Figures, ApiError> {
    let counted = snapshot(conn)?;
    let checkpoint = match counted.size {
        0 => state.ledger.latest_checkpoint(conn)?,
        size => state.ledger.checkpoint_covering(conn, &[Index(size - 1)])?,
    };
    let public = state.settings.public_url.trim_end_matches('/').to_owned();
    let name = url::Url::parse(&public)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| public.clone());
    Ok(Figures {
        newsroom: Newsroom {
            name,
            url: public.clone(),
        },
        counted: Counted {
            entries: counted.size,
            checkpoint: CheckpointFacts {
                tree_size: number(checkpoint.size),
                root_hash: hex::encode(&checkpoint.root_hash),
                signed_at: checkpoint.signed_at.as_str().to_owned(),
                note: checkpoint.note.clone(),
            },
        },
        articles: counted.articles,
        sources: counted.sources,
        citations: counted.citations,
        sealed_sources: counted.sealed_sources,
        corrections: counted.corrections,
        retractions: counted.retractions,
        witnessed: counted.witnessed.map(|(size, witnesses)| Witnessed {
            tree_size: number(size),
            witnesses: witnesses
                .into_iter()
                .map(|(name, cosigned_at)| Cosigner { name, cosigned_at })
                .collect(),
        }),
        time_stamped: counted.time_stamped.map(|(size, gen_time)| TimeStamped {
            tree_size: number(size),
            gen_time,
            url: format!("{public}/v1/ledger/checkpoint/timestamp?size={size}"),
        }),
        verify: HowToVerify {
            origin: state.ledger.origin().to_owned(),
            vkey: state.ledger.vkey().to_owned(),
            checkpoint_url: format!("{public}/v1/ledger/checkpoint"),
            tiles_url: public.clone(),
            command: format!(
                "sourceledger verify --vkey '{}' --tiles {public} --token \"$TOKEN\"",
                state.ledger.vkey()
            ),
        },
    })
}
