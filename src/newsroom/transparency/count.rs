//! The count itself: one consistent read of the newsroom (portable SQL for
//! both backends), then the checkpoint that covers it.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::{
    ArticleFigures, CheckpointFacts, CitationFigures, CorrectedCitation, Cosigner, Counted,
    Figures, HowToVerify, LISTED, LinkFigures, Newsroom, RetractedArticle, SealedFigures,
    SourceFigures, TimeStamped, Witnessed,
};
use crate::db::DbConnection;
use crate::db::schema::{checkpoint_timestamps, witness_cosignatures};
use crate::error::ApiError;
use crate::ledger::{Index, store};
use crate::state::AppState;

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

/// What the figures depend on besides the newsroom's records: the log's
/// size, the latest cosigned checkpoint and how many cosigned it, and the
/// latest time-stamped checkpoint.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Seen {
    size: u64,
    witnessed: Option<(u64, usize)>,
    time_stamped: Option<u64>,
}

impl Seen {
    pub(super) fn read(conn: &mut DbConnection) -> Result<Self, ApiError> {
        let size = store::size(conn)?;
        let witnessed: Option<i64> = witness_cosignatures::table
            .select(diesel::dsl::max(witness_cosignatures::size))
            .first(conn)?;
        let witnessed = match witnessed {
            None => None,
            Some(at) => {
                let cosigners: i64 = witness_cosignatures::table
                    .filter(witness_cosignatures::size.eq(at))
                    .count()
                    .get_result(conn)?;
                Some((number(at), usize::try_from(cosigners).unwrap_or(0)))
            }
        };
        let time_stamped: Option<i64> = checkpoint_timestamps::table
            .select(diesel::dsl::max(checkpoint_timestamps::size))
            .first(conn)?;
        Ok(Self {
            size,
            witnessed,
            time_stamped: time_stamped.map(number),
        })
    }

    pub(super) fn of(figures: &Figures) -> Self {
        Self {
            size: figures.counted.entries,
            witnessed: figures
                .witnessed
                .as_ref()
                .map(|w| (w.tree_size, w.witnesses.len())),
            time_stamped: figures.time_stamped.as_ref().map(|t| t.tree_size),
        }
    }
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
    corrections: Vec<CorrectedCitation>,
    retractions: Vec<RetractedArticle>,
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
        .map(|r| CorrectedCitation {
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
) -> Result<Vec<RetractedArticle>, ApiError> {
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
            RetractedArticle {
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
pub(super) fn count(conn: &mut DbConnection, state: &AppState) -> Result<Figures, ApiError> {
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
