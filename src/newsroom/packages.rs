//! What goes into a WACZ package of an article's archived copies, or of one
//! capture (SPEC "Web archives (WACZ)"): the WARCs a caller may have, each
//! with the source version whose ledger entry proves it, and those proofs
//! (`ledger/proofs.json`) to the oldest checkpoint that covers them all, so
//! a package's bytes stay the same while the log grows.
//!
//! A version recorded since WARC hashes were logged names its WARC's SHA-256
//! (`warc_sha256`); an older one names the payload (`snapshot_sha256`),
//! which the WARC's last response record holds: `sourceledger verify --wacz`
//! checks either.

use diesel::prelude::*;
use serde::Serialize;

use super::articles;
use super::cited::{self, CitedSource};
use super::source_list::prove_facts;
use super::sources::{self, SourceVersion};
use crate::archive::snapshots;
use crate::archive::wacz::{self, PackedWarc};
use crate::archive::{Archive, wacz::stored};
use crate::db::schema::sources as sources_table;
use crate::db::{Db, DbConnection};
use crate::error::ApiError;
use crate::fields::Sha256Hex;
use crate::ledger::{Ledger, ProvenLeaf};
use crate::secrets::WaczKey;

/// The format of `ledger/proofs.json`, named inside it.
pub const PROOFS_FORMAT: &str = "sourceledger-wacz-proofs/1";

/// A WARC to package, and the version that proves it.
struct Chosen {
    warc: Sha256Hex,
    size: u64,
    version: SourceVersion,
}

/// What a package holds, before its WARCs are indexed.
pub struct Plan {
    title: String,
    description: String,
    created: String,
    warcs: Vec<(Sha256Hex, u64, String)>,
    proofs: Vec<u8>,
}

#[derive(Serialize)]
struct ProofsFile<'a> {
    format: &'static str,
    /// The signed checkpoint (C2SP signed note) every proof leads to.
    checkpoint: &'a str,
    tree_size: i64,
    warcs: Vec<ProvenWarc<'a>>,
}

#[derive(Serialize)]
struct ProvenWarc<'a> {
    path: String,
    sha256: &'a str,
    bytes: u64,
    source_id: &'a str,
    version: i64,
    /// The version's entry (or its disclosure and commitment), proven.
    proof: ProvenLeaf,
}

/// The WARC the version archived its capture in, when it has one.
fn warc_of(conn: &mut DbConnection, version: SourceVersion) -> Result<Option<Chosen>, ApiError> {
    let Some(snapshot) = &version.snapshot_sha256 else {
        return Ok(None);
    };
    if version.captured_at.is_none() {
        return Ok(None);
    }
    let Some(row) = snapshots::find(conn, snapshot)? else {
        return Ok(None);
    };
    let (Some(warc), Some(size)) = (
        version.warc_sha256.clone().or(row.warc_sha256),
        row.warc_size,
    ) else {
        return Ok(None);
    };
    let size = u64::try_from(size).map_err(ApiError::internal)?;
    Ok(Some(Chosen {
        warc,
        size,
        version,
    }))
}

/// Every WARC of the archived copies the list of `slug` shows (the cited
/// versions' and the later captures'), each once. A draft's only for staff;
/// sealed sources' never.
fn of_article(
    conn: &mut DbConnection,
    slug: &str,
    staff: bool,
) -> Result<(String, Vec<Chosen>), ApiError> {
    let article = articles::get(conn, slug)?;
    if !articles::visible_to(article.is_public(), staff) {
        return Err(ApiError::not_found(format!("no article {slug:?}")));
    }
    let mut chosen: Vec<Chosen> = Vec::new();
    for (_, source) in cited::of_article(conn, &article.slug)? {
        let CitedSource::Open(source) = source else {
            continue;
        };
        let later = match source.later_capture_version {
            Some(v) => sources::version(conn, &source.id, v)?,
            None => None,
        };
        for version in std::iter::once(*source).chain(later) {
            if let Some(c) = warc_of(conn, version)?
                && !chosen.iter().any(|k| k.warc == c.warc)
            {
                chosen.push(c);
            }
        }
    }
    Ok((article.title, chosen))
}

/// The WARC of the capture whose payload is `sha256`, with the first
/// version that recorded it.
fn of_snapshot(conn: &mut DbConnection, sha256: &str) -> Result<Vec<Chosen>, ApiError> {
    let versions: Vec<SourceVersion> = sources_table::table
        .filter(sources_table::snapshot_sha256.eq(sha256))
        .filter(sources_table::captured_at.is_not_null())
        .order(sources_table::ledger_index.asc())
        .select(SourceVersion::as_select())
        .load(conn)?;
    let mut chosen = Vec::new();
    for version in versions {
        if let Some(c) = warc_of(conn, version)? {
            chosen.push(c);
        }
    }
    Ok(chosen)
}

/// Proves `chosen` and writes `ledger/proofs.json`. Readers get only WARCs
/// whose versions are in the open (or disclosed).
fn plan(
    conn: &mut DbConnection,
    ledger: &Ledger,
    chosen: Vec<Chosen>,
    staff: bool,
    (title, description): (String, String),
) -> Result<Plan, ApiError> {
    let shown: Vec<i64> = chosen.iter().map(|c| c.version.ledger_index).collect();
    if shown.is_empty() {
        return Err(ApiError::not_found("there is no archived copy to package"));
    }
    let (checkpoint, proofs) = prove_facts(conn, ledger, &shown, !staff)?;
    let mut warcs = Vec::new();
    let mut proven = Vec::new();
    let mut taken: Vec<&Chosen> = Vec::new();
    for c in &chosen {
        let i = c.version.ledger_index;
        if !staff && proofs.undisclosed(i) {
            continue;
        }
        // One WARC once, proven by the first version that names it.
        if taken.iter().any(|k| k.warc == c.warc) {
            continue;
        }
        taken.push(c);
        proven.push(ProvenWarc {
            path: format!("archive/{}.warc", c.warc),
            sha256: c.warc.as_str(),
            bytes: c.size,
            source_id: &c.version.id,
            version: c.version.version,
            proof: proofs.of(i)?,
        });
        warcs.push((c.warc.clone(), c.size, c.version.title.clone()));
    }
    if warcs.is_empty() {
        return Err(ApiError::not_found("there is no archived copy to package"));
    }
    let file = ProofsFile {
        format: PROOFS_FORMAT,
        checkpoint: &checkpoint.note,
        tree_size: checkpoint.size,
        warcs: proven,
    };
    let proofs = serde_json::to_vec_pretty(&file).map_err(ApiError::internal)?;
    Ok(Plan {
        title,
        description,
        created: checkpoint.signed_at.to_string(),
        warcs,
        proofs,
    })
}

/// The package plan of the article `slug`'s archived copies.
pub fn plan_article(
    conn: &mut DbConnection,
    ledger: &Ledger,
    slug: &str,
    staff: bool,
) -> Result<Plan, ApiError> {
    let (title, chosen) = of_article(conn, slug, staff)?;
    let description = format!(
        "The archived copies of the sources cited by \u{201c}{title}\u{201d}, with the ledger's proofs of each WARC (ledger/proofs.json)."
    );
    plan(conn, ledger, chosen, staff, (title, description))
}

/// The package plan of one capture, by its payload's SHA-256.
pub fn plan_snapshot(
    conn: &mut DbConnection,
    ledger: &Ledger,
    sha256: &str,
    staff: bool,
) -> Result<Plan, ApiError> {
    let chosen = of_snapshot(conn, sha256)?;
    let title = chosen
        .first()
        .map(|c| c.version.title.clone())
        .unwrap_or_default();
    let description = format!(
        "An archived copy of {title:?} (snapshot {sha256}), with the ledger's proof of its WARC (ledger/proofs.json)."
    );
    plan(conn, ledger, chosen, staff, (title, description))
}

/// Lays out the package `plan` describes: each WARC's index read from what
/// is kept, or from the store the first time.
pub async fn lay_out(
    db: &Db,
    archive: &Archive,
    key: &WaczKey,
    plan: Plan,
) -> Result<wacz::Package, ApiError> {
    let names: Vec<(String, u64)> = plan
        .warcs
        .iter()
        .map(|(w, size, _)| (w.to_string(), *size))
        .collect();
    let lookup = names.clone();
    let mut kept = db.run(move |conn| stored::kept(conn, &lookup)).await?;
    let mut warcs = Vec::new();
    for (warc, size, title) in plan.warcs {
        let index = match kept.remove(warc.as_str()) {
            Some(index) => index,
            None => stored::index_and_keep(db, archive, &warc, size).await?,
        };
        warcs.push(PackedWarc {
            sha256: warc,
            size,
            crc32: index.crc32,
            records: index.records,
            title,
        });
    }
    wacz::lay_out(wacz::Contents {
        title: plan.title,
        description: plan.description,
        created: plan.created,
        warcs,
        proofs: plan.proofs,
        key,
    })
    .map_err(ApiError::internal)
}
