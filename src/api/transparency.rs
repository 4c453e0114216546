//! `GET /v1/transparency` and `GET /transparency`: the newsroom's figures, as
//! data and as a page, answered from the last count
//! ([`newsroom::transparency`](crate::newsroom::transparency)).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, web};

use super::encoding::encode;
use super::header_text;
use crate::error::{ApiError, Problem};
use crate::newsroom::transparency::{Figures, Page};
use crate::state::AppState;

/// The page and its data may be cached this long (the figures are counted
/// again at most every few seconds).
const CACHE_CONTROL: &str = "public, max-age=5";

const PAGE_CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

fn answer(
    req: &HttpRequest,
    state: &AppState,
    page: &Page,
    content_type: &str,
    body: bytes::Bytes,
    kind: &str,
) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::ETAG, page.etag.clone()))
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if crate::etag::matches(header_text(req, header::IF_NONE_MATCH), &page.etag) {
        return response
            .status(StatusCode::NOT_MODIFIED)
            .insert_header((header::VARY, "Accept-Encoding"))
            .finish();
    }
    let key = format!("transparency:{kind}:{}", page.etag);
    let body = encode(
        req,
        &mut response,
        &state.compressed,
        (&key, ""),
        body,
        false,
    );
    response.content_type(content_type).body(body)
}

/// The newsroom's figures: published articles, the sources they cite and
/// how many are archived and still online, corrections and retractions
/// with their dates and reasons, sealed sources held and disclosed, the
/// checkpoint that covers the count, its witnesses and time stamp, and how
/// to verify it all. Public; nothing under embargo counts. Counted again
/// when the log has grown, at most every few seconds; sends a strong ETag.
#[utoipa::path(
    operation_id = "transparency",
    tag = "transparency",
    responses(
        (status = 200, body = Figures),
        (status = 304, description = "not modified since the ETag given"),
        (status = 503, body = Problem, content_type = "application/problem+json", description = "the database is not reachable"),
    )
)]
#[get("/v1/transparency")]
pub async fn figures(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let page = state.transparency.page(&state).await?;
    Ok(answer(
        &req,
        &state,
        &page,
        "application/json",
        page.json.clone(),
        "json",
    ))
}

/// `GET /transparency`: the figures as a page of their own, readable without
/// scripts.
pub async fn page(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let page = state.transparency.page(&state).await?;
    let mut response = answer(
        &req,
        &state,
        &page,
        "text/html; charset=utf-8",
        page.html.clone(),
        "html",
    );
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        header::HeaderValue::from_static(PAGE_CSP),
    );
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}
