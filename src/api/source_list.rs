//! `GET /v1/articles/{slug}/sources`: the article's source list, built by
//! [`newsroom::source_list`](crate::newsroom::source_list).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, web};

use actix_web::FromRequest;

use super::encoding::encode;
use super::header_text;
use crate::auth::{MaybeUnconfirmed, Unconfirmed};
use crate::error::{ApiError, ErrorCode, Problem};
use crate::newsroom::citation_formats::Format;
use crate::newsroom::source_list::{ListRequest, SourceTeaser, VerifiedSourceList};
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
            ApiError::new(
                ErrorCode::InvalidQuery,
                format!("format: {name:?} is not json, csl-json, bibtex, ris or jsonld"),
            )
        });
    }
    Ok(header_text(req, header::ACCEPT)
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
    let (mut response, tag, body) = list_response(&req, &state, caller.0, slug, format).await?;
    Ok(match body {
        Some(body) => {
            let vary = (tag.as_str(), "Authorization, Accept");
            let body = encode(&req, &mut response, &state.compressed, vary, body, false);
            response.content_type(format.content_type()).body(body)
        }
        None => response
            .insert_header((header::VARY, "Authorization, Accept, Accept-Encoding"))
            .finish(),
    })
}

/// The list as `caller` may see it, in `format`: the response begun (status,
/// ETag, caching), the tag, and the body, none for a 304.
async fn list_response(
    req: &HttpRequest,
    state: &AppState,
    caller: Option<Unconfirmed>,
    slug: String,
    format: Format,
) -> Result<(actix_web::HttpResponseBuilder, String, Option<bytes::Bytes>), ApiError> {
    let if_none_match = header_text(req, header::IF_NONE_MATCH).map(str::to_owned);
    let answer = state
        .lists
        .answer(ListRequest {
            caller,
            slug,
            format,
            if_none_match,
        })
        .await?;
    let status = match answer.body {
        Some(_) => StatusCode::OK,
        None => StatusCode::NOT_MODIFIED,
    };
    let caching = if answer.shared {
        "public, max-age=10, stale-while-revalidate=60"
    } else {
        "private, no-cache"
    };
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::ETAG, answer.tag.clone()))
        .insert_header((header::CACHE_CONTROL, caching));
    Ok((response, answer.tag, answer.body))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// A subscriber token, for the link a newsletter sends each subscriber.
    token: Option<String>,
}

/// The page's own policy: its scripts and styles only, and framed only by the
/// newsroom's embed origins.
fn page_csp(embed_origins: &[String]) -> String {
    let ancestors = if embed_origins.is_empty() {
        "'none'".to_owned()
    } else {
        embed_origins.join(" ")
    };
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
    )
}

/// `GET /articles/{slug}/sources`: the list as a page. The teaser for
/// everyone, or the full list for a subscriber or staff token in the
/// `Authorization` header or in `?token=` (the personalised newsletter link;
/// query strings are never logged and the page sends no referrer). A token
/// that is invalid, expired or revoked shows the teaser.
pub async fn page(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let slug = slug.into_inner();
    let from_header = MaybeUnconfirmed::extract(&req).await.ok().and_then(|c| c.0);
    let caller = match (&query.token, from_header) {
        (Some(token), _) => Unconfirmed::from_token(&state.tokens, token).ok(),
        (None, caller) => caller,
    };
    let shown = match list_response(&req, &state, caller, slug.clone(), Format::Html).await {
        Err(e) if e.status() == StatusCode::UNAUTHORIZED => {
            list_response(&req, &state, None, slug, Format::Html).await
        }
        other => other,
    };
    let (mut response, tag, body) = shown?;
    response
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            page_csp(&state.settings.embed_origins),
        ))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    Ok(match body {
        Some(body) => {
            let vary = (tag.as_str(), "Authorization");
            let body = encode(&req, &mut response, &state.compressed, vary, body, false);
            response
                .content_type(Format::Html.content_type())
                .body(body)
        }
        None => response
            .insert_header((header::VARY, "Authorization, Accept-Encoding"))
            .finish(),
    })
}

/// A file from the binary, compressed once per process at the best level.
fn asset(
    req: &HttpRequest,
    state: &AppState,
    content_type: &'static str,
    body: &'static str,
) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"));
    let key = format!("asset:{}", req.path());
    let body = encode(
        req,
        &mut response,
        &state.compressed,
        (&key, ""),
        bytes::Bytes::from_static(body.as_bytes()),
        true,
    );
    response.body(body)
}

/// The page's stylesheet, from the binary.
pub async fn stylesheet(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    asset(
        &req,
        &state,
        "text/css; charset=utf-8",
        crate::newsroom::source_page::STYLESHEET,
    )
}

/// The verifier every page and panel runs, from the binary.
pub async fn verify_script(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    asset(
        &req,
        &state,
        "text/javascript; charset=utf-8",
        crate::newsroom::source_page::VERIFY_JS,
    )
}

/// The page's check, from the binary.
pub async fn page_script(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    asset(
        &req,
        &state,
        "text/javascript; charset=utf-8",
        crate::newsroom::source_page::PAGE_JS,
    )
}

/// The embeddable source panel, from the binary.
pub async fn embed_script(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    asset(
        &req,
        &state,
        "text/javascript; charset=utf-8",
        crate::newsroom::source_page::EMBED_JS,
    )
}
