//! `GET /v1/articles/{slug}/sources`: the article's source list, built by
//! [`newsroom::source_list`](crate::newsroom::source_list).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, web};

use crate::auth::MaybeUnconfirmed;
use crate::error::{ApiError, ErrorCode, Problem};
use crate::newsroom::citation_formats::Format;
use crate::newsroom::source_list::{self as lists, Outcome, SourceTeaser, VerifiedSourceList};
use crate::state::AppState;

/// The two shapes the list comes in, for the OpenAPI document: the builder
/// serialises each itself. `locked` tells them apart.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum SourceList {
    Verified(VerifiedSourceList),
    Teaser(SourceTeaser),
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `csl-json`, `bibtex`, `ris` or `jsonld` for a citation format (also by
    /// `Accept`); `json` or absent for the list itself.
    #[param(pattern = "^(json|csl-json|bibtex|ris|jsonld)$")]
    format: Option<String>,
}

/// `?format=` first, then `Accept`, else the JSON list.
fn requested_format(req: &HttpRequest, query: &ListQuery) -> Result<Format, ApiError> {
    if let Some(name) = &query.format {
        return Format::from_name(name).ok_or_else(|| {
            ApiError::bad_request(
                ErrorCode::InvalidQuery,
                format!("format: {name:?} is not json, csl-json, bibtex, ris or jsonld"),
            )
        });
    }
    Ok(req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .and_then(Format::from_accept)
        .unwrap_or(Format::Json))
}

/// The source list of an article: a teaser for anonymous readers; for
/// subscribers and staff, every citation with its source version in full and
/// the proofs that let a reader holding only the publisher's `vkey` check it
/// offline. Sends an ETag; `If-None-Match` gets 304 while nothing changed.
#[utoipa::path(
    tag = "articles",
    params(("slug" = String, Path), ListQuery),
    responses(
        (status = 200, description = "SourceTeaser for anonymous readers, VerifiedSourceList for subscribers and staff; or the list as CSL-JSON, BibTeX, RIS or schema.org JSON-LD (anonymous callers: only what the teaser shows)",
         content(
            (SourceList = "application/json"),
            (Vec<serde_json::Value> = "application/vnd.citationstyles.csl+json"),
            (String = "application/x-bibtex"),
            (String = "application/x-research-info-systems"),
            (serde_json::Value = "application/ld+json"),
         )),
        (status = 304, description = "not modified"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/articles/{slug}/sources")]
pub async fn source_list(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: MaybeUnconfirmed,
    slug: web::Path<String>,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, ApiError> {
    let slug = slug.into_inner();
    let format = requested_format(&req, &query)?;
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let st = state.clone();
    let outcome = state
        .db
        .run(move |conn| {
            lists::for_caller(
                conn,
                &st.ledger,
                &st.source_lists,
                caller.0,
                &slug,
                format,
                if_none_match.as_deref(),
            )
        })
        .await?;
    let (status, tag, body) = match outcome {
        Outcome::NotModified(tag) => (StatusCode::NOT_MODIFIED, tag, None),
        Outcome::Body(tag, body) => (StatusCode::OK, tag, Some(body)),
    };
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::ETAG, tag))
        .insert_header((header::VARY, "Authorization, Accept"))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"));
    Ok(match body {
        Some(body) => response.content_type(format.content_type()).body(body),
        None => response.finish(),
    })
}
