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

/// The article's HTML (a whole page or its body), its Markdown
/// (CommonMark), or its URL, fetched (SPEC "Outbound requests"): exactly one.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
pub enum ExtractRequest {
    Html(ArticleHtml),
    Markdown(ArticleMarkdown),
    Url(ArticleUrl),
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleHtml {
    html: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleMarkdown {
    markdown: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ArticleUrl {
    url: String,
}

/// An article's text as given: no NUL character (as no text the server
/// keeps holds one).
fn article_text(field: &str, text: String) -> Result<String, ApiError> {
    match text.contains('\0') {
        true => Err(ApiError::new(
            ErrorCode::InvalidText,
            format!("{field}: holds a NUL character"),
        )),
        false => Ok(text),
    }
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
    let (text, origin) = match request {
        ExtractRequest::Html(ArticleHtml { html }) => (
            from_article::Text::Html(article_text("html", html)?),
            Origin::Html,
        ),
        ExtractRequest::Markdown(ArticleMarkdown { markdown }) => (
            from_article::Text::Markdown(article_text("markdown", markdown)?),
            Origin::Markdown,
        ),
        ExtractRequest::Url(ArticleUrl { url }) => {
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
    let html = article_text("html", request.html)?;
    let (html, decorated) = from_article::robust_links(&state.db, slug.into_inner(), html).await?;
    Ok(web::Json(RobustLinks { html, decorated }))
}
