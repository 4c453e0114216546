//! Sources: record (journalists, editors), revise into a new version, read.

use actix_web::{HttpResponse, get, patch, post, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::body::Body;
use crate::auth::{Allowed, Edit, Read, Write};
use crate::error::{ApiError, Problem};
use crate::newsroom::sealed::{self, RecordedSource};
use crate::newsroom::sources::{self, NewSource, SourcePatch, SourceVersion};
use crate::state::AppState;

/// Records a new source, version 1 (journalist, editor, admin). With
/// `"sealed": true` the source is confidential: the ledger gets only a
/// commitment to it, its kind and the date.
#[utoipa::path(
    operation_id = "create_source",
    tag = "sources",
    request_body = NewSource,
    security(("bearer" = [])),
    responses(
        (status = 201, body = RecordedSource),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/sources")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Allowed<Write>,
    body: Body<NewSource>,
) -> Result<HttpResponse, ApiError> {
    let source = body.read().await?;
    let actor = caller.actor();
    if source.sealed {
        let st = state.clone();
        let sealed = state
            .writer
            .write(move |conn, seq| sealed::seal(conn, seq, &st.sealing, &actor, &source))
            .await?;
        return Ok(HttpResponse::Created().json(RecordedSource::Sealed(sealed)));
    }
    let prepared = sources::prepare_new(state.embargo(), &actor, &source)?;
    let version = state
        .writer
        .append(move |conn, seq| sources::create(conn, seq, prepared))
        .await?;
    AppState::capture_when_recorded(&state, version.id.clone(), actor);
    Ok(HttpResponse::Created().json(RecordedSource::Open(version)))
}

/// Discloses a sealed source: its record and salt go into the ledger
/// (`source.disclosed`), so anyone can check them against the commitment made
/// when it was sealed (editor, admin). For a source the embargo keeps (no
/// published article cites it), discloses the commitments of its versions
/// (`embargo.disclosed`) and answers its latest version.
#[utoipa::path(
    operation_id = "disclose_source",
    tag = "sources",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = RecordedSource),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "no source with this id"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "disclosed already, or neither sealed nor embargoed"),
    )
)]
#[post("/v1/sources/{id}/disclose")]
pub async fn disclose(
    state: web::Data<AppState>,
    caller: Allowed<Edit>,
    id: web::Path<String>,
) -> Result<web::Json<RecordedSource>, ApiError> {
    let actor = caller.actor();
    let id = id.into_inner();
    let st = state.clone();
    let disclosed = state
        .writer
        .write(move |conn, seq| sealed::disclose(conn, seq, &st.sealing, &actor, &id))
        .await?;
    Ok(web::Json(disclosed))
}

/// Records version n+1 of a source: the fields given replace version n's,
/// `null` clears an optional field (journalist, editor, admin).
#[utoipa::path(
    operation_id = "revise_source",
    tag = "sources",
    params(("id" = String, Path)),
    request_body = SourcePatch,
    security(("bearer" = [])),
    responses(
        (status = 200, body = SourceVersion),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`sealed_source`: a sealed source is not revised"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "the patch changes nothing"),
    )
)]
#[patch("/v1/sources/{id}")]
pub async fn revise(
    state: web::Data<AppState>,
    caller: Allowed<Write>,
    id: web::Path<String>,
    body: Body<SourcePatch>,
) -> Result<web::Json<SourceVersion>, ApiError> {
    let patch = body.read().await?;
    let actor = caller.actor();
    let id = id.into_inner();
    let embargo = state.embargo();
    let version = state
        .writer
        .write(move |conn, seq| sources::revise(conn, seq, embargo, &actor, &id, &patch))
        .await?;
    Ok(web::Json(version))
}

/// The latest version of a source (subscribers and staff).
#[utoipa::path(
    operation_id = "get_source",
    tag = "sources",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = RecordedSource, description = "a sealed source shows its record to editors and admins only, until it is disclosed"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/sources/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: Allowed<Read>,
    id: web::Path<String>,
) -> Result<web::Json<RecordedSource>, ApiError> {
    let id = id.into_inner();
    let role = caller.caller.role;
    let st = state.clone();
    Ok(web::Json(
        state
            .db
            .run(move |conn| sealed::lookup(conn, &st.sealing, &id, role))
            .await?,
    ))
}

#[derive(Serialize, ToSchema)]
pub struct SourceVersions {
    /// Oldest first.
    versions: Vec<SourceVersion>,
}

/// Every version of a source, oldest first (subscribers and staff).
#[utoipa::path(
    operation_id = "list_source_versions",
    tag = "sources",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = SourceVersions),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`sealed_source`: a sealed source has no open versions until it is disclosed"),
    )
)]
#[get("/v1/sources/{id}/versions")]
pub async fn versions(
    state: web::Data<AppState>,
    caller: Allowed<Read>,
    id: web::Path<String>,
) -> Result<web::Json<SourceVersions>, ApiError> {
    let id = id.into_inner();
    let staff = caller.caller.is_staff();
    let versions = state
        .db
        .run(move |conn| sources::versions(conn, &id, staff))
        .await?;
    Ok(web::Json(SourceVersions { versions }))
}
