//! Web archives (WACZ, SPEC "Web archives (WACZ)"): an article's archived
//! copies as one signed package, and the public key packages are signed
//! with. (One capture's package is `GET /v1/snapshots/{sha256}?format=wacz`.)

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, head, web};
use futures_util::{StreamExt, TryStreamExt};
use serde::Serialize;
use utoipa::ToSchema;

use super::header_text;
use crate::archive::copies::{Answer, answer};
use crate::archive::store::BlobStream;
use crate::archive::wacz::{Package, Slice};
use crate::auth::{Allowed, Read, package_access};
use crate::error::{ApiError, Problem};
use crate::newsroom::packages::{self, Plan};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct WaczKey {
    /// The ECDSA P-384 public key, SPKI DER in standard base64, as a WACZ
    /// package's `signedData.publicKey` carries it.
    #[serde(rename = "publicKey")]
    public_key: String,
}

/// The key WACZ packages are signed with, to check a package's signature
/// against out of band (anyone).
#[utoipa::path(
    operation_id = "get_wacz_key",
    tag = "archives",
    responses((status = 200, body = WaczKey))
)]
#[get("/v1/wacz/key")]
pub async fn key(state: web::Data<AppState>) -> web::Json<WaczKey> {
    web::Json(WaczKey {
        public_key: state.wacz_key.public_key(),
    })
}

/// Every archived copy the article's source list shows, as one WACZ 1.1.1
/// package (subscribers and staff; a draft's, staff only): the WARCs as
/// captured, their CDXJ index, the pages, `ledger/proofs.json` (each WARC's
/// ledger entry and inclusion proof to one signed checkpoint) and
/// `datapackage-digest.json` signed with the key at `GET /v1/wacz/key`.
/// Streamed, with byte ranges (ReplayWeb.page reads a package by ranges)
/// and a strong ETag; the same bytes while the article's copies stay the same.
#[utoipa::path(
    operation_id = "get_article_wacz",
    tag = "archives",
    params(("slug" = String, Path), PackageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the package", content_type = "application/wacz"),
        (status = 206, description = "the range asked for"),
        (status = 304, description = "not modified"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "no such article (or a draft, to readers), or no archived copy to package"),
        (status = 416, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/articles/{slug}/archive.wacz")]
pub async fn article(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<PackageQuery>,
) -> Result<HttpResponse, ApiError> {
    article_package(&req, &state, &query, slug.into_inner()).await
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PackageQuery {
    /// A grant to read this package, in place of a token: what the replay
    /// page gives ReplayWeb.page's service worker, which sends no
    /// `Authorization` header (`GET /articles/{slug}/replay`).
    access: Option<String>,
}

/// The headers `GET /v1/articles/{slug}/archive.wacz` would answer, without
/// the body: a package's size, for readers that fetch it by ranges.
#[utoipa::path(
    operation_id = "head_article_wacz",
    tag = "archives",
    params(("slug" = String, Path), PackageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the package's headers"),
        (status = 206, description = "the range's headers"),
        (status = 304, description = "not modified"),
        (status = 401, description = "no valid token"),
        (status = 404, description = "no package"),
        (status = 416, description = "a range past the end"),
    )
)]
#[head("/v1/articles/{slug}/archive.wacz")]
pub async fn article_head(
    req: HttpRequest,
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<PackageQuery>,
) -> Result<HttpResponse, ApiError> {
    article_package(&req, &state, &query, slug.into_inner()).await
}

/// The package of `slug` for a reader holding a grant to it (as a
/// subscriber), or for the caller the token names.
async fn article_package(
    req: &HttpRequest,
    state: &AppState,
    query: &PackageQuery,
    slug: String,
) -> Result<HttpResponse, ApiError> {
    use actix_web::FromRequest;
    let staff = match &query.access {
        Some(grant) => {
            let now = chrono::Utc::now().timestamp();
            if !package_access::allows(&state.sealing, grant, &slug, now) {
                return Err(ApiError::unauthorized(
                    "the access grant is invalid or expired",
                ));
            }
            false
        }
        None => Allowed::<Read>::extract(req).await?.caller.is_staff(),
    };
    let ledger = state.ledger.clone();
    let filename = format!("{slug}.wacz");
    let plan = state
        .db
        .run(move |conn| packages::plan_article(conn, &ledger, &slug, staff))
        .await?;
    send(req, state, plan, &filename).await
}

/// A package as an answer: `application/wacz`, its strong ETag, byte
/// ranges, and never compressed on the way (ranges are of its bytes).
pub(crate) async fn send(
    req: &HttpRequest,
    state: &AppState,
    plan: Plan,
    filename: &str,
) -> Result<HttpResponse, ApiError> {
    let package = packages::lay_out(&state.db, &state.archive, &state.wacz_key, plan).await?;
    let tag = format!("\"{}\"", package.digest_sha256);
    let size = package.layout.size();
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::ETAG, tag.clone()))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        // A package changes when the article's copies do: revalidate.
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, "sandbox"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::VARY, "Authorization"))
        .insert_header((header::CONTENT_ENCODING, "identity"))
        .insert_header((header::CONTENT_TYPE, "application/wacz"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ));
    let answered = answer(
        &tag,
        size,
        header_text(req, header::IF_NONE_MATCH),
        header_text(req, header::RANGE),
    )?;
    let span = match answered {
        Answer::NotModified => return Ok(response.status(StatusCode::NOT_MODIFIED).finish()),
        Answer::Whole => 0..size,
        Answer::Part(span) => {
            response.status(StatusCode::PARTIAL_CONTENT);
            response.insert_header((
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{size}", span.start, span.end - 1),
            ));
            span
        }
    };
    let length = span.end - span.start;
    // The store must answer before the status line goes out: a byte of the
    // first WARC in the span is read first, so an object store that is down
    // is a 503, not a 200 whose body stops short.
    if req.method() != actix_web::http::Method::HEAD
        && let Some((name, range)) =
            package
                .layout
                .slices(span.clone())
                .into_iter()
                .find_map(|slice| match slice {
                    Slice::Blob { name, range } if !range.is_empty() => Some((name, range)),
                    _ => None,
                })
    {
        drop(
            state
                .archive
                .read(&name, range.start..range.start + 1)
                .await?,
        );
    }
    // A HEAD answer's body is never sent, only its length.
    let body = if req.method() == actix_web::http::Method::HEAD {
        Box::pin(futures_util::stream::empty())
    } else {
        bytes_of(state, &package, span)
    };
    Ok(response.body(actix_web::body::SizedStream::new(length, body)))
}

/// Bytes `span` of `package`: its own bytes as they are, its WARCs read
/// from the store a range at a time.
fn bytes_of(state: &AppState, package: &Package, span: std::ops::Range<u64>) -> BlobStream {
    let archive = state.archive.clone();
    let slices = package.layout.slices(span);
    Box::pin(
        futures_util::stream::iter(slices)
            .then(move |slice| {
                let archive = archive.clone();
                async move {
                    match slice {
                        Slice::Bytes(bytes) => {
                            Ok(
                                Box::pin(futures_util::stream::once(async move { Ok(bytes) }))
                                    as BlobStream,
                            )
                        }
                        Slice::Blob { name, range } => archive
                            .read(&name, range)
                            .await
                            .map_err(|e| std::io::Error::other(e.to_string())),
                    }
                }
            })
            .try_flatten(),
    )
}
