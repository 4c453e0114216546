//! The verified list (subscribers and staff): which ledger entries it shows,
//! the proof each fact goes with (embargo decides between the entry, its
//! disclosure and commitment, or its opening), and the reads that fetch them.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;

use super::entries::full_entries_of;
use super::{
    CitationProofs, HeldSource, ProvenArticle, ProvenCitation, SourceLists, VerifiedSourceList,
    etag,
};
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::ledger::{Index, Ledger, ProvenLeaf};
use crate::newsroom::articles::Article;
use crate::newsroom::citation_formats::{self as formats, Format};
use crate::newsroom::citations::{Citation, CitationStatus};
use crate::newsroom::cited::CitedSource;
use crate::newsroom::embargo::{self, EmbargoedRow};
use crate::newsroom::source_page::{self, Shown};

/// Builds the verified list of `article` as JSON or its page (`format`),
/// through the cache by tag. `facts` are the tag's parts so far; answers the
/// tag and the body.
pub(super) fn build(
    conn: &mut DbConnection,
    ledger: &Ledger,
    cache: &SourceLists,
    article: &Article,
    rows: Vec<(Citation, CitedSource)>,
    format: Format,
    mut facts: Vec<String>,
) -> Result<(String, Bytes), ApiError> {
    let shown = entries_shown(article, &rows);
    let embargoed = embargo::rows_at(conn, &shown)?;
    let indexes = entries_proven(&shown, &embargoed)?;
    let checkpoint = ledger.checkpoint_covering(conn, &indexes)?;
    let size = checkpoint.tree_size()?;
    facts.push(format!("full:{size}"));
    let tag = etag(&facts);
    if let Some(body) = cache.by_tag(&tag) {
        return Ok((tag, body));
    }
    let proofs = Proofs {
        proven: ledger.prove_many(conn, &indexes, size)?,
        embargoed,
        public: article.is_public(),
    };
    let article_proof = proofs.of(article.ledger_index)?;
    let (citations, retracted) = proven_citations(rows, &proofs)?;
    let list = VerifiedSourceList {
        article: ProvenArticle {
            article: article.clone(),
            proof: article_proof,
        },
        checkpoint: checkpoint.note,
        tree_size: size.0,
        locked: false,
        citations,
        retracted,
        replay: cache
            .replay
            .then(|| format!("/articles/{}/replay", article.slug)),
    };
    let body = render(&list, format, ledger.vkey(), &cache.public_url)?;
    cache.remember_tag(&tag, body.clone());
    Ok((tag, body))
}

/// The ledger entries the list shows: the article's, and each citation's,
/// its source's, and the source's link check and disclosure when it has them.
fn entries_shown(article: &Article, rows: &[(Citation, CitedSource)]) -> Vec<i64> {
    let mut shown = vec![article.ledger_index];
    for (c, s) in rows {
        shown.push(c.ledger_index);
        shown.extend(c.quote_entry);
        shown.push(s.ledger_index());
        shown.extend(
            [
                s.link_entry(),
                s.disclosure_entry(),
                s.later_capture_entry(),
            ]
            .into_iter()
            .flatten(),
        );
    }
    shown
}

/// The entries to prove, in order and once each: those shown, and the
/// disclosures of those recorded under embargo.
fn entries_proven(
    shown: &[i64],
    embargoed: &HashMap<i64, EmbargoedRow>,
) -> Result<Vec<Index>, ApiError> {
    let disclosures = embargoed.values().filter_map(|r| r.disclosure_index);
    let mut indexes: Vec<Index> = shown
        .iter()
        .copied()
        .chain(disclosures)
        .map(ledger_index)
        .collect::<Result<_, _>>()?;
    indexes.sort_unstable();
    indexes.dedup();
    Ok(indexes)
}

/// Proves the facts recorded at entries `shown` (and the disclosures of
/// those recorded under embargo) to the oldest signed checkpoint that covers
/// them all. `public`: whether what is shown reaches readers, who never get
/// the opening of a commitment not yet disclosed (staff do).
pub(crate) fn prove_facts(
    conn: &mut DbConnection,
    ledger: &Ledger,
    shown: &[i64],
    public: bool,
) -> Result<(crate::ledger::store::CheckpointRow, Proofs), ApiError> {
    let embargoed = embargo::rows_at(conn, shown)?;
    let indexes = entries_proven(shown, &embargoed)?;
    let checkpoint = ledger.checkpoint_covering(conn, &indexes)?;
    let size = checkpoint.tree_size()?;
    let proofs = Proofs {
        proven: ledger.prove_many(conn, &indexes, size)?,
        embargoed,
        public,
    };
    Ok((checkpoint, proofs))
}

/// The inclusion proofs read for a list, and what embargo says of each entry.
pub(crate) struct Proofs {
    proven: BTreeMap<Index, ProvenLeaf>,
    embargoed: HashMap<i64, EmbargoedRow>,
    /// A draft's list is shown to staff alone.
    public: bool,
}

impl Proofs {
    /// Entry `i`'s inclusion proof, as read.
    fn entry(&self, i: i64) -> Result<ProvenLeaf, ApiError> {
        let index = ledger_index(i)?;
        self.proven
            .get(&index)
            .cloned()
            .ok_or_else(|| ApiError::internal(format!("no ledger entry {index}")))
    }

    /// Whether the fact at entry `i` was recorded under embargo and not
    /// disclosed since: readers may not see it.
    pub(crate) fn undisclosed(&self, i: i64) -> bool {
        self.embargoed
            .get(&i)
            .is_some_and(|row| row.disclosure_index.is_none())
    }

    /// The proof of the fact recorded at entry `i`. A fact recorded under
    /// embargo is proven by its disclosure and its commitment; a draft's (shown
    /// to staff alone) by its commitment and what it commits to.
    pub(crate) fn of(&self, i: i64) -> Result<ProvenLeaf, ApiError> {
        let proven = self.entry(i)?;
        Ok(match self.embargoed.get(&i) {
            None => proven,
            Some(row) => match row.disclosure_index {
                Some(disclosure) => ProvenLeaf {
                    commitment: Some(Box::new(proven)),
                    ..self.entry(disclosure)?
                },
                None if !self.public => ProvenLeaf {
                    opening: Some(row.opening()?),
                    ..proven
                },
                // Never disclosed, yet in a published list: shown as the
                // commitment alone, which no verifier accepts as the fact.
                None => proven,
            },
        })
    }

    /// The proofs that go with a citation: its own, its source's, and the
    /// source's link check and disclosure when it has them.
    fn of_citation(&self, c: &Citation, s: &CitedSource) -> Result<CitationProofs, ApiError> {
        Ok(CitationProofs {
            citation: self.of(c.ledger_index)?,
            source: self.of(s.ledger_index())?,
            link: s.link_entry().map(|i| self.of(i)).transpose()?,
            disclosure: s.disclosure_entry().map(|i| self.of(i)).transpose()?,
            quote: c.quote_entry.map(|i| self.of(i)).transpose()?,
            capture: s.later_capture_entry().map(|i| self.of(i)).transpose()?,
        })
    }
}

/// Each citation with its proofs: the live ones, then the retracted ones,
/// each in the order they were attached.
fn proven_citations(
    rows: Vec<(Citation, CitedSource)>,
    proofs: &Proofs,
) -> Result<(Vec<ProvenCitation>, Vec<ProvenCitation>), ApiError> {
    let mut live = Vec::new();
    let mut retracted = Vec::new();
    for (c, s) in rows {
        let proof = proofs.of_citation(&c, &s)?;
        let item = ProvenCitation {
            held_since: held_since(&proof.citation)?,
            source: HeldSource {
                held_since: held_since(&proof.source)?,
                source: s,
            },
            proof,
            citation: c,
        };
        if item.citation.status == CitationStatus::Retracted {
            retracted.push(item);
        } else {
            live.push(item);
        }
    }
    Ok((live, retracted))
}

/// The list as JSON, or as its page with that JSON and its JSON-LD.
fn render(
    list: &VerifiedSourceList,
    format: Format,
    vkey: &str,
    public_url: &str,
) -> Result<Bytes, ApiError> {
    let json = serde_json::to_vec(list).map_err(ApiError::internal)?;
    Ok(Bytes::from(match format {
        Format::Html => {
            let ld = formats::json_ld(&list.article.article, &full_entries_of(list));
            source_page::render(Shown::Verified(list), &json, &ld, vkey, public_url).into_bytes()
        }
        _ => json,
    }))
}

/// The time a proven fact was held since: its commitment's, when it has one.
fn held_since(proven: &ProvenLeaf) -> Result<String, ApiError> {
    let entry = proven.commitment.as_deref().unwrap_or(proven);
    Ok(crate::ledger::leaf::Leaf::parse(&entry.leaf)?.at)
}

fn ledger_index(stored: i64) -> Result<Index, ApiError> {
    u64::try_from(stored)
        .map(Index)
        .map_err(|_| ApiError::internal(format!("ledger index {stored}")))
}
