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

use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

mod count;

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
    pub corrections: Vec<CorrectedCitation>,
    /// Articles retracted, newest first (at most 50).
    pub retractions: Vec<RetractedArticle>,
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
pub struct CorrectedCitation {
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
pub struct RetractedArticle {
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
            // What a new count would change: the log's size, and the
            // cosignatures and time stamps, which come without an entry.
            let now = count::Seen::read(&mut conn)?;
            let page = match transparency.current() {
                Some(page) if count::Seen::of(&page.figures) == now => Page {
                    checked: Instant::now(),
                    ..(*page).clone()
                },
                _ => render(count::count(&mut conn, &state)?),
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
                        crate::db::health::background_failed(
                            "the transparency figures could not be counted",
                            &error,
                        );
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
