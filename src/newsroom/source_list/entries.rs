//! A built list as the entries of the citation formats (CSL-JSON, BibTeX,
//! RIS, JSON-LD): the full list's for readers, the teaser's for everyone.

use bytes::Bytes;

use super::{SourceTeaser, VerifiedSourceList};
use crate::error::ApiError;
use crate::newsroom::articles::Article;
use crate::newsroom::citation_formats::{self as formats, Entry, Format};
use crate::newsroom::citations::{Citation, CitationStatus};
use crate::newsroom::cited::CitedSource;
use crate::newsroom::sealed::sealed_title;
use crate::newsroom::sources::SourceVersion;

/// Every live citation with its source in full (a sealed source as its kind
/// and the day it was sealed).
pub(super) fn full_entries(rows: &[(Citation, CitedSource)]) -> Vec<Entry> {
    rows.iter()
        .filter(|(c, _)| c.status != CitationStatus::Retracted)
        .map(|(c, s)| match s {
            CitedSource::Open(s) => open_entry(c, s),
            CitedSource::Sealed(s) => match &s.disclosed {
                Some(record) => Entry {
                    id: c.id.clone(),
                    title: record.title.clone(),
                    publisher: record.publisher.clone(),
                    kind: s.kind.as_str().to_owned(),
                    language: record.language.clone(),
                    url: Some(record.url.clone()),
                    accessed: record.accessed_at.clone(),
                    issued: record.published_at.clone(),
                    archive_url: record.archive_url.clone(),
                    doi: record.doi.clone(),
                    claim: Some(format!("{} ({})", c.claim, c.locator)),
                    link: Some(format!(
                        "held sealed since {}; disclosed {}",
                        s.recorded_at.get(..10).unwrap_or(&s.recorded_at),
                        s.disclosed_at
                            .as_deref()
                            .and_then(|d| d.get(..10))
                            .unwrap_or_default()
                    )),
                },
                None => Entry {
                    id: c.id.clone(),
                    title: sealed_title(&s.recorded_at),
                    publisher: String::new(),
                    kind: s.kind.as_str().to_owned(),
                    language: String::new(),
                    url: None,
                    accessed: None,
                    issued: None,
                    archive_url: None,
                    doi: None,
                    claim: Some(format!("{} ({})", c.claim, c.locator)),
                    link: None,
                },
            },
        })
        .collect()
}

fn open_entry(c: &Citation, s: &SourceVersion) -> Entry {
    Entry {
        id: c.id.clone(),
        title: s.title.clone(),
        publisher: s.publisher.clone(),
        kind: s.kind.as_str().to_owned(),
        language: s.language.to_string(),
        url: Some(s.url.to_string()),
        accessed: s.accessed_at.clone(),
        issued: s.published_at.clone(),
        archive_url: s.archive_url.clone(),
        doi: s.doi.as_deref().map(str::to_owned),
        claim: Some(format!("{} ({})", c.claim, c.locator)),
        link: formats::link_line(
            s.link_status,
            s.link_checked_at.as_deref(),
            s.captured_at.as_deref(),
        ),
    }
}

/// The live citations of a built list, as entries.
pub(super) fn full_entries_of(list: &VerifiedSourceList) -> Vec<Entry> {
    let rows: Vec<(Citation, CitedSource)> = list
        .citations
        .iter()
        .map(|c| (c.citation.clone(), c.source.source.clone()))
        .collect();
    full_entries(&rows)
}

/// What the teaser shows of each source, and nothing more.
pub(super) fn teaser_entries(teaser: &SourceTeaser) -> Vec<Entry> {
    teaser
        .sources
        .iter()
        .map(|s| Entry {
            id: s.record_sha256.chars().take(16).collect(),
            title: s.title.clone(),
            publisher: s.publisher.clone(),
            kind: s.kind.as_str().to_owned(),
            language: s.language.clone(),
            url: None,
            accessed: None,
            issued: None,
            archive_url: None,
            doi: None,
            claim: None,
            link: None,
        })
        .collect()
}

pub(super) fn render(
    format: Format,
    article: &Article,
    entries: &[Entry],
) -> Result<Bytes, ApiError> {
    let bytes = match format {
        Format::Json | Format::Html | Format::Embed => {
            return Err(ApiError::internal(
                "the JSON list and the pages are built, not rendered",
            ));
        }
        Format::CslJson => serde_json::to_vec(&formats::csl_json(entries)),
        Format::JsonLd => serde_json::to_vec(&formats::json_ld(article, entries)),
        Format::Bibtex => Ok(formats::bibtex(entries).into_bytes()),
        Format::Ris => Ok(formats::ris(entries).into_bytes()),
    };
    bytes.map(Bytes::from).map_err(ApiError::internal)
}
