//! oEmbed 1.0 (SPEC "The public face"): `GET /oembed` for a reader's page,
//! and the embeddable view its `html` frames, `GET /articles/{slug}/embed`.
//! The rules are [`newsroom::oembed`](crate::newsroom::oembed)'s.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, get, web};

use super::encoding::encode;
use super::header_text;
use crate::error::{ApiError, Problem};
use crate::newsroom::articles;
use crate::newsroom::citation_formats::Format;
use crate::newsroom::oembed::{self, Embed, OembedResponse};
use crate::newsroom::source_list::ListRequest;
use crate::state::AppState;

#[derive(serde::Deserialize, utoipa::IntoParams)]
pub struct OembedQuery {
    /// A reader's page of this server: its public URL, then
    /// `/articles/{slug}/sources` (a trailing slash, a query and a fragment
    /// are ignored).
    url: String,
    /// `json` (or absent); `xml` answers 501.
    #[param(pattern = "^(json|xml)$")]
    format: Option<String>,
    /// The widest the embed may be, in pixels.
    #[param(value_type = Option<u32>, minimum = 1)]
    maxwidth: Option<String>,
    /// The tallest the embed may be, in pixels.
    #[param(value_type = Option<u32>, minimum = 1)]
    maxheight: Option<String>,
}

/// oEmbed 1.0 for a reader's page of a published article: a `rich` response
/// whose `html` frames the article's embeddable view (what an anonymous
/// reader sees: the teaser), within `maxwidth` and `maxheight`. Other
/// parameters a consumer adds (WordPress's `dnt`) are ignored. Any site may
/// call it from a browser.
#[utoipa::path(
    operation_id = "oembed",
    tag = "articles",
    params(OembedQuery),
    responses(
        (status = 200, description = "the rich response", body = OembedResponse, content_type = "application/json"),
        (status = 400, description = "no url, or a format or bound that is not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "not a reader's page of this server, or no published article there", body = Problem, content_type = "application/problem+json"),
        (status = 501, description = "format=xml: only JSON is offered", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/oembed")]
pub async fn endpoint(
    state: web::Data<AppState>,
    query: web::Query<OembedQuery>,
) -> Result<HttpResponse, ApiError> {
    let maxwidth = oembed::bound("maxwidth", query.maxwidth.as_deref())?;
    let maxheight = oembed::bound("maxheight", query.maxheight.as_deref())?;
    oembed::check_format(query.format.as_deref())?;
    let public_url = state.settings.public_url.clone();
    // An unknown URL, an unknown article and a draft all answer alike.
    let not_found = || ApiError::not_found("no published reader's page at this url");
    let slug = oembed::slug_of(&public_url, &query.url).ok_or_else(not_found)?;
    let article = state
        .db
        .run({
            let slug = slug.clone();
            move |conn| articles::visible(conn, &slug, false)
        })
        .await
        .map_err(|e| match e.status() {
            StatusCode::NOT_FOUND => not_found(),
            _ => e,
        })?;
    let provider_name = oembed::provider_name(&public_url);
    let response = oembed::response(Embed {
        public_url: &public_url,
        provider_name: &provider_name,
        slug: &slug,
        title: &article.title,
        maxwidth,
        maxheight,
    });
    Ok(HttpResponse::Ok()
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .insert_header((
            header::CACHE_CONTROL,
            format!("public, max-age={}", oembed::CACHE_AGE),
        ))
        .json(response))
}

/// `GET /articles/{slug}/embed`: the teaser as a small page any site may
/// frame. It reads no token, whether in the query, a header or a cookie.
pub async fn view(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let answer = state
        .lists
        .answer(ListRequest {
            caller: None,
            slug: slug.into_inner(),
            format: Format::Embed,
            if_none_match: header_text(&req, header::IF_NONE_MATCH).map(str::to_owned),
        })
        .await?;
    let mut response = HttpResponse::build(match answer.body {
        Some(_) => StatusCode::OK,
        None => StatusCode::NOT_MODIFIED,
    });
    response
        .insert_header((header::ETAG, answer.tag.clone()))
        .insert_header((
            header::CACHE_CONTROL,
            "public, max-age=10, stale-while-revalidate=60",
        ))
        .insert_header((header::CONTENT_SECURITY_POLICY, oembed::VIEW_CSP))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    Ok(match answer.body {
        Some(body) => {
            let body = encode(
                &req,
                &mut response,
                &state.compressed,
                (&answer.tag, ""),
                body,
                false,
            );
            response
                .content_type(Format::Embed.content_type())
                .body(body)
        }
        None => response
            .insert_header((header::VARY, "Accept-Encoding"))
            .finish(),
    })
}

/// A file from the binary.
fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

/// The embeddable view's stylesheet.
pub async fn stylesheet() -> HttpResponse {
    asset("text/css; charset=utf-8", oembed::STYLESHEET)
}

/// The embeddable view's script.
pub async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", oembed::SCRIPT)
}
