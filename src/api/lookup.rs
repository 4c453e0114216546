//! Looking a page up before it is recorded as a source (SPEC "Sources from
//! the article"): its title, publisher, authors, date, language and DOI, to
//! fill in a new source. Nothing is stored.

use actix_web::{post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::body::Body;
use crate::auth::{Allowed, Write};
use crate::error::{ApiError, Problem};
use crate::fields::HttpUrl;
use crate::newsroom::lookup::look_up;
use crate::reading::metadata::PageMetadata;
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceLookup {
    /// The page: an absolute http or https URL, at most 2048 characters.
    pub url: String,
}

/// What the page says about itself, and where it was read.
#[derive(Serialize, ToSchema)]
pub struct LookedUpPage {
    /// The URL the page was read from, after redirects.
    pub url: String,
    #[serde(flatten)]
    pub metadata: PageMetadata,
}

/// Reads a page's bibliographic metadata (title, publisher, authors,
/// issued date, language, DOI) from its JSON-LD, `citation_*`, Dublin Core
/// and OpenGraph meta, to fill in a new source (journalist, editor, admin).
/// The page is fetched as a capture is: public addresses only, unless the
/// operator allows others; at most 5 MiB of it.
#[utoipa::path(
    operation_id = "lookup_source",
    tag = "sources",
    request_body = SourceLookup,
    security(("bearer" = [])),
    responses(
        (status = 200, body = LookedUpPage),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`fetch_refused`: the URL or an address it leads to may not be fetched; `capture_failed`: it could not be fetched, did not answer 2xx, is not HTML, or is too large or too deeply nested to read"),
    )
)]
#[post("/v1/sources/lookup")]
pub async fn lookup(
    state: web::Data<AppState>,
    _caller: Allowed<Write>,
    body: Body<SourceLookup>,
) -> Result<web::Json<LookedUpPage>, ApiError> {
    let url = HttpUrl::parse("url", &body.read().await?.url)?;
    let found = look_up(&state.archive, url.into_string()).await?;
    Ok(web::Json(LookedUpPage {
        url: found.url,
        metadata: found.metadata,
    }))
}
