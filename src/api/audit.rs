//! Audit endpoints (auditor, admin): search, export, re-verification.

use actix_web::web::Bytes;
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::page_limit;
use crate::audit::export::{self as exports, ExportFormat, ExportRange};
use crate::audit::verify::{self, VerifyReport};
use crate::audit::{self, EventFilter, EventList};
use crate::auth::{Allowed, Audit};
use crate::error::{ApiError, Problem};
use crate::state::AppState;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// e.g. `citation.retracted`.
    kind: Option<String>,
    /// `role:name`, as entries record it.
    actor: Option<String>,
    /// An article's slug.
    article: Option<String>,
    /// A source's id.
    source: Option<String>,
    /// At or after this RFC 3339 time.
    #[param(format = DateTime)]
    from: Option<String>,
    /// Before this RFC 3339 time.
    #[param(format = DateTime)]
    to: Option<String>,
    /// The `next` of the previous page.
    cursor: Option<u64>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
    /// With each hit's inclusion proof to the latest checkpoint.
    proof: Option<bool>,
}

/// Searches the ledger by kind, actor, article, source and time.
#[utoipa::path(
    operation_id = "list_audit_events",
    tag = "audit",
    params(EventsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = EventList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/audit/events")]
pub async fn events(
    state: web::Data<AppState>,
    _caller: Allowed<Audit>,
    query: web::Query<EventsQuery>,
) -> Result<web::Json<EventList>, ApiError> {
    let q = query.into_inner();
    let limit = page_limit(q.limit)?;
    let filter = EventFilter {
        kind: q.kind,
        actor: q.actor,
        article: q.article,
        source: q.source,
        from: q.from,
        to: q.to,
    }
    .normalised()?;
    let with_proof = q.proof.unwrap_or(false);
    let cursor = q.cursor;
    let st = state.clone();
    let list = state
        .db
        .run(move |conn| audit::events(conn, &st.ledger, &filter, cursor, limit, with_proof))
        .await?;
    Ok(web::Json(list))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `ndjson` (default) or `csv`.
    #[param(pattern = "^(ndjson|csv)$")]
    format: Option<String>,
    /// At or after this RFC 3339 time.
    #[param(format = DateTime)]
    from: Option<String>,
    /// Before this RFC 3339 time.
    #[param(format = DateTime)]
    to: Option<String>,
    /// The first index (default 0).
    #[param(minimum = 0, maximum = 9223372036854775807_i64)]
    start: Option<u64>,
    /// The index to stop before (default: the end of the log).
    #[param(minimum = 0, maximum = 9223372036854775807_i64)]
    end: Option<u64>,
}

/// The ledger as a stream, by index range and time, in NDJSON
/// (`{"index", "at", "kind", "actor", "leaf", "leaf_hash"}` a line) or CSV
/// (`index,at,kind,actor,leaf_hash,leaf`), up to the latest signed checkpoint
/// when it starts. The last line (NDJSON) or row (CSV, `index` `end`) is the
/// closing record `{"export": "complete", "count", "last_index", "tree_size",
/// "checkpoint"}`; a stream that broke part-way has none. Memory stays flat
/// whatever the size.
#[utoipa::path(
    operation_id = "export_audit",
    tag = "audit",
    params(ExportQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the entries, one a line (NDJSON) or one a row (CSV)",
         content((String = "application/x-ndjson"), (String = "text/csv"))),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/audit/export")]
pub async fn export(
    state: web::Data<AppState>,
    _caller: Allowed<Audit>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let format = match q.format.as_deref() {
        None | Some("ndjson") => ExportFormat::Ndjson,
        Some("csv") => ExportFormat::Csv,
        Some(_) => return Err(ApiError::invalid_field("format", "must be ndjson or csv")),
    };
    let filter = EventFilter {
        from: q.from,
        to: q.to,
        ..EventFilter::default()
    }
    .normalised()?;
    // Indexes are int64 on the wire, as everywhere in the log.
    for (field, value) in [("start", q.start), ("end", q.end)] {
        if value.is_some_and(|v| i64::try_from(v).is_err()) {
            return Err(ApiError::invalid_field(field, "must be at most 2^63 - 1"));
        }
    }
    let range = ExportRange {
        filter,
        start: q.start.unwrap_or(0),
        end: q.end.unwrap_or(u64::MAX),
    };
    if range.end < range.start {
        return Err(ApiError::invalid_field("end", "must not be below start"));
    }
    // Check the database answers before promising a 200.
    let db = state.db.clone();
    let mut conn = web::block(move || db.get()).await??;

    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(4);
    let st = state.clone();
    actix_web::rt::task::spawn_blocking(move || {
        // A closed channel means the client went away.
        let send = |chunk| tx.blocking_send(Ok(chunk)).is_ok();
        if let Err(e) = exports::write(&mut conn, &st.ledger, format, &range, send) {
            tracing::error!(error = %e, "export stopped part-way");
            // The body ends in an error: the connection is cut without the
            // chunked body's last chunk, and the closing record was not sent.
            let _ = tx.blocking_send(Err(std::io::Error::other("the export stopped part-way")));
        }
    });
    let body = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
    });
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .streaming(body))
}

/// Re-reads every leaf and record, recomputes the tree, checks it against every
/// signed checkpoint and reports each problem found.
#[utoipa::path(
    operation_id = "verify_ledger",
    tag = "audit",
    security(("bearer" = [])),
    responses(
        (status = 200, body = VerifyReport),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/audit/verify")]
pub async fn verify_ledger(
    state: web::Data<AppState>,
    caller: Allowed<Audit>,
) -> Result<web::Json<VerifyReport>, ApiError> {
    let db = state.db.clone();
    let vkey = state.ledger.vkey().to_owned();
    let report = web::block(move || verify::run(&db, &vkey)).await??;
    tracing::info!(ok = report.ok, tree_size = report.tree_size, problems = report.problems.len(), by = %caller.actor(), "ledger verified");
    Ok(web::Json(report))
}
