//! What a citation cites, as readers' lists show it: an open source's
//! version, or a sealed source as its seal records it.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::citations::{Citation, SEALED_VERSION};
use super::sealed::{self, CitedSealed};
use super::sources::SourceVersion;
use crate::db::DbConnection;
use crate::db::schema::{citations, sources};
use crate::error::ApiError;

/// What a citation cites: a source's version, or a sealed source (`"sealed":
/// true`), shown as what its `source.sealed` entry records.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum CitedSource {
    Open(Box<SourceVersion>),
    Sealed(Box<CitedSealed>),
}

impl CitedSource {
    pub fn ledger_index(&self) -> i64 {
        match self {
            CitedSource::Open(s) => s.ledger_index,
            CitedSource::Sealed(s) => s.ledger_index,
        }
    }

    /// The entry of a later version made by a capture, if there is one.
    pub fn later_capture_entry(&self) -> Option<i64> {
        match self {
            CitedSource::Open(s) => s.later_capture_entry,
            CitedSource::Sealed(_) => None,
        }
    }

    pub fn link_entry(&self) -> Option<i64> {
        match self {
            CitedSource::Open(s) => s.link_entry,
            CitedSource::Sealed(_) => None,
        }
    }

    /// A disclosed sealed source's `source.disclosed` entry.
    pub fn disclosure_entry(&self) -> Option<i64> {
        match self {
            CitedSource::Open(_) => None,
            CitedSource::Sealed(s) => s.disclosure_index,
        }
    }

    /// What the list's tag depends on.
    pub fn fact(&self) -> String {
        match self {
            CitedSource::Open(s) => format!(
                "{}:{}:{}:{}",
                s.ledger_index,
                s.link_status,
                s.link_checked_at.as_deref().unwrap_or_default(),
                s.later_capture_entry.unwrap_or(-1)
            ),
            CitedSource::Sealed(s) => format!(
                "{}:sealed:{}",
                s.ledger_index,
                s.disclosed_at.as_deref().unwrap_or_default()
            ),
        }
    }
}

/// The citations of article `slug`, each with what it cites, in the order
/// they were attached.
pub fn of_article(
    conn: &mut DbConnection,
    slug: &str,
) -> Result<Vec<(Citation, CitedSource)>, ApiError> {
    let open: Vec<(Citation, SourceVersion)> = citations::table
        .inner_join(
            sources::table.on(sources::id
                .eq(citations::source_id)
                .and(sources::version.eq(citations::source_version))),
        )
        .filter(citations::article_slug.eq(slug))
        .select((Citation::as_select(), SourceVersion::as_select()))
        .load(conn)?;
    let of_sealed: Vec<Citation> = citations::table
        .filter(citations::article_slug.eq(slug))
        .filter(citations::source_version.eq(SEALED_VERSION))
        .select(Citation::as_select())
        .load(conn)?;
    let mut rows: Vec<(Citation, CitedSource)> = open
        .into_iter()
        .map(|(c, s)| (c, CitedSource::Open(Box::new(s))))
        .collect();
    if !of_sealed.is_empty() {
        let ids: Vec<String> = of_sealed.iter().map(|c| c.source_id.clone()).collect();
        let found: HashMap<String, CitedSealed> = sealed::cited(conn, &ids)?
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
        for citation in of_sealed {
            let source = found.get(&citation.source_id).cloned().ok_or_else(|| {
                ApiError::internal(format!(
                    "citation {} cites sealed source {}, which is not kept",
                    citation.id, citation.source_id
                ))
            })?;
            rows.push((citation, CitedSource::Sealed(Box::new(source))));
        }
    }
    rows.sort_by(|(a, _), (b, _)| (&a.attached_at, &a.id).cmp(&(&b.attached_at, &b.id)));
    Ok(rows)
}
