//! `GET /v1/articles/{slug}/sources`: the article's source list, built by
//! [`newsroom::source_list`](crate::newsroom::source_list).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, web};

use crate::auth::MaybeUnconfirmed;
use crate::error::{ApiError, Problem};
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

/// The source list of an article: a teaser for anonymous readers; for
/// subscribers and staff, every citation with its source version in full and
/// the proofs that let a reader holding only the publisher's `vkey` check it
/// offline. Sends an ETag; `If-None-Match` gets 304 while nothing changed.
#[utoipa::path(
    tag = "articles",
    params(("slug" = String, Path)),
    responses(
        (status = 200, description = "SourceTeaser for anonymous readers, VerifiedSourceList for subscribers and staff",
         body = SourceList),
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
) -> Result<HttpResponse, ApiError> {
    let slug = slug.into_inner();
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
        .insert_header((header::VARY, "Authorization"))
        .insert_header((header::CACHE_CONTROL, "private, no-cache"));
    Ok(match body {
        Some(body) => response.content_type("application/json").body(body),
        None => response.finish(),
    })
}
