//! Sources from the article itself (SPEC "Sources from the article"): its
//! outbound links proposed as citations, and its links marked with their
//! archived copies (Robust Links).

use actix_web::{get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::body::Body;
use crate::auth::{Allowed, Write};
use crate::error::{ApiError, ErrorCode, Problem};
use crate::newsroom::from_article;
use crate::newsroom::proposals::{Origin, ProposalView};
use crate::state::AppState;

/// The largest article these endpoints take, as JSON.
pub const ARTICLE_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// One of the article's HTML, its Markdown, or its URL.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtractRequest {
    /// The article as HTML: a whole page or its body.
    html: Option<String>,
    /// The article as Markdown (CommonMark).
    markdown: Option<String>,
    /// The article's URL, fetched (SPEC "Outbound requests").
    url: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Proposals {
    /// The article's open proposals, in the article's order.
    proposals: Vec<ProposalView>,
}

/// Reads the article's outbound links as proposed citations, each with its
/// anchor text and the sentence around it (the claim), and keeps them for
/// the desk (journalist, editor, admin). Nothing is recorded until a person
/// accepts a proposal.
#[utoipa::path(
    operation_id = "extract_proposals",
    tag = "articles",
    request_body = ExtractRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = Proposals),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "the article is retracted"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "the URL could not be fetched"),
    )
)]
#[post("/v1/articles/{slug}/extract")]
pub async fn extract(
    state: web::Data<AppState>,
    _caller: Allowed<Write>,
    slug: web::Path<String>,
    body: Body<ExtractRequest>,
) -> Result<web::Json<Proposals>, ApiError> {
    let request = body.read_within(ARTICLE_BODY_LIMIT).await?;
    let article = from_article::article_to_read(&state.db, slug.into_inner()).await?;
    let (text, origin) = match (request.html, request.markdown, request.url) {
        (Some(html), None, None) => (from_article::Text::Html(html), Origin::Html),
        (None, Some(markdown), None) => (from_article::Text::Markdown(markdown), Origin::Markdown),
        (None, None, Some(url)) => {
            let url = crate::fields::HttpUrl::parse("url", &url)?;
            let page = state
                .archive
                .fetch_page(url.into_string(), ARTICLE_BODY_LIMIT as u64)
                .await?;
            if !page.is_html() {
                return Err(ApiError::new(
                    ErrorCode::CaptureFailed,
                    format!("the page is {}, not HTML", page.content_type),
                ));
            }
            (from_article::Text::Html(page.text()), Origin::Url)
        }
        _ => {
            return Err(ApiError::new(
                ErrorCode::InvalidBody,
                "give exactly one of html, markdown or url",
            ));
        }
    };
    let proposals = from_article::propose(&state.db, article, text, origin).await?;
    Ok(web::Json(Proposals { proposals }))
}

/// The article's open proposals, in the article's order (journalist,
/// editor, admin).
#[utoipa::path(
    operation_id = "list_proposals",
    tag = "articles",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Proposals),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/articles/{slug}/proposals")]
pub async fn list_proposals(
    state: web::Data<AppState>,
    _caller: Allowed<Write>,
    slug: web::Path<String>,
) -> Result<web::Json<Proposals>, ApiError> {
    let slug = slug.into_inner();
    let proposals = state
        .db
        .run(move |conn| {
            let article = crate::newsroom::articles::get(conn, &slug)?;
            crate::newsroom::proposals::of_article(
                conn,
                article.slug.as_str(),
                Some(crate::newsroom::proposals::ProposalState::Open),
            )
        })
        .await?;
    Ok(web::Json(Proposals { proposals }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RobustLinksRequest {
    /// The article's HTML, as the CMS stores it.
    html: String,
}

#[derive(Serialize, ToSchema)]
pub struct RobustLinks {
    /// The same HTML, each link to a cited source with an archived copy
    /// carrying `data-versionurl` and `data-versiondate`; nothing else
    /// changed.
    html: String,
    /// How many links were marked.
    decorated: usize,
}

/// Marks the article's links to its cited sources with their archived
/// copies (Robust Links: `data-versionurl`, `data-versiondate`), for the CMS
/// to store, so the article keeps a way to each source when a link dies
/// (journalist, editor, admin).
#[utoipa::path(
    operation_id = "robust_links",
    tag = "articles",
    request_body = RobustLinksRequest,
    security(("bearer" = [])),
    responses(
        (status = 200, body = RobustLinks),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/articles/{slug}/robust-links")]
pub async fn robust_links(
    state: web::Data<AppState>,
    _caller: Allowed<Write>,
    slug: web::Path<String>,
    body: Body<RobustLinksRequest>,
) -> Result<web::Json<RobustLinks>, ApiError> {
    let request = body.read_within(ARTICLE_BODY_LIMIT).await?;
    let (html, decorated) =
        from_article::robust_links(&state.db, slug.into_inner(), request.html).await?;
    Ok(web::Json(RobustLinks { html, decorated }))
}
