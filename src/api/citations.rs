//! Citations: attach one or a batch (all or nothing), verify, retract.

use actix_web::{HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use crate::api::body::{Body, from_value};
use crate::auth::{Allowed, Edit, Write};
use crate::error::{ApiError, Problem};
use crate::newsroom::citations::{self, Citation, MAX_BATCH, NewCitation};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CitationBatch {
    /// 1 to 1000 citations, attached all or nothing.
    #[schema(min_items = 1, max_items = 1000)]
    pub citations: Vec<NewCitation>,
}

#[derive(Serialize, ToSchema)]
pub struct CitationList {
    pub citations: Vec<Citation>,
}

/// Reads one citation or `{"citations": [...]}`; the bool says which. A bad
/// field is named by its path (`citations[7].claim`).
fn parse_body(body: Value) -> Result<(Vec<NewCitation>, bool), ApiError> {
    let is_batch = body.get("citations").is_some();
    if is_batch {
        if body["citations"]
            .as_array()
            .is_some_and(|a| a.len() > MAX_BATCH)
        {
            return Err(ApiError::invalid_field(
                "citations",
                format!("must hold 1 to {MAX_BATCH} citations"),
            ));
        }
        let batch: CitationBatch = from_value(body)?;
        Ok((batch.citations, true))
    } else {
        Ok((vec![from_value(body)?], false))
    }
}

/// Attaches one citation, or a batch of up to 1000 all or nothing, to an article
/// (journalist, editor, admin). Each cites one source version (default: the latest).
#[utoipa::path(
    operation_id = "attach_citations",
    tag = "citations",
    params(("slug" = String, Path)),
    request_body(content = CitationBatch, description = "one NewCitation, or {\"citations\": [NewCitation, ...]}"),
    security(("bearer" = [])),
    responses(
        (status = 201, body = CitationList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "no such article"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "the article is retracted"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "no such source version"),
    )
)]
#[post("/v1/articles/{slug}/citations")]
pub async fn attach(
    state: web::Data<AppState>,
    caller: Allowed<Write>,
    slug: web::Path<String>,
    body: Body<Value>,
) -> Result<HttpResponse, ApiError> {
    let (batch, is_batch) = parse_body(body.read().await?)?;
    let caller = caller.caller;
    let slug = slug.into_inner();
    // Checked and encoded on a pool connection: the log's writer, which every
    // write waits on, is left only what needs its lock.
    let embargo = state.embargo();
    let prepared = state
        .db
        .run(move |conn| citations::prepare(conn, embargo, &caller, &slug, &batch, is_batch))
        .await?;
    let rows = state
        .writer
        .write(move |conn, seq| citations::attach(conn, seq, prepared))
        .await?;
    Ok(HttpResponse::Created().json(CitationList { citations: rows }))
}

/// Marks an attached citation verified (editor, admin).
#[utoipa::path(
    operation_id = "verify_citation",
    tag = "citations",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Citation),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "not in the attached state"),
    )
)]
#[post("/v1/citations/{id}/verify")]
pub async fn verify(
    state: web::Data<AppState>,
    caller: Allowed<Edit>,
    id: web::Path<String>,
) -> Result<web::Json<Citation>, ApiError> {
    let caller = caller.caller;
    let id = id.into_inner();
    let embargo = state.embargo();
    let row = state
        .writer
        .write(move |conn, seq| citations::verify(conn, seq, embargo, &caller, &id))
        .await?;
    Ok(web::Json(row))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CitationRetraction {
    /// Why the citation no longer stands.
    pub reason: String,
}

/// Retracts a citation with a reason (journalists their own; editors, admins any).
#[utoipa::path(
    operation_id = "retract_citation",
    tag = "citations",
    params(("id" = String, Path)),
    request_body = CitationRetraction,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Citation),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "retracted already"),
    )
)]
#[post("/v1/citations/{id}/retract")]
pub async fn retract(
    state: web::Data<AppState>,
    caller: Allowed<Write>,
    id: web::Path<String>,
    body: Body<CitationRetraction>,
) -> Result<web::Json<Citation>, ApiError> {
    let reason = body.read().await?.reason;
    let caller = caller.caller;
    let id = id.into_inner();
    let embargo = state.embargo();
    let row = state
        .writer
        .write(move |conn, seq| citations::retract(conn, seq, embargo, &caller, &id, &reason))
        .await?;
    Ok(web::Json(row))
}
