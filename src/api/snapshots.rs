//! Archived copies: upload (`PUT /v1/snapshots`), capture
//! (`POST /v1/sources/{id}/capture`) and download (`GET /v1/snapshots/{sha256}`).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};

use super::header_text;
use crate::archive::copies::{Answer, Representation, Upload};
use crate::archive::monitor::{self, Drift};
use crate::archive::snapshots::{self, Snapshot, StoredSnapshot};
use crate::archive::store::valid_name;
use crate::auth::{Allowed, Read, Staff, Write};
use crate::error::{ApiError, ErrorCode, Problem};
use crate::newsroom::captures;
use crate::newsroom::embargo;
use crate::newsroom::sources::SourceVersion;
use crate::state::AppState;

/// Stores the body's bytes as a snapshot, named by their SHA-256 (journalist,
/// editor, admin): a PDF from a source, a page saved by hand. Streamed to
/// storage, never held whole; idempotent (the same bytes again: 200).
#[utoipa::path(
    operation_id = "upload_snapshot",
    tag = "snapshots",
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "the bytes, with their own Content-Type"),
    security(("bearer" = [])),
    responses(
        (status = 201, body = StoredSnapshot, description = "stored"),
        (status = 200, body = StoredSnapshot, description = "these bytes were stored already"),
        (status = 400, body = Problem, content_type = "application/problem+json", description = "an empty body, or a Content-Type that is no media type"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json", description = "larger than SOURCELEDGER_SNAPSHOT_MAX_BYTES; nothing stored"),
    )
)]
#[put("/v1/snapshots")]
pub async fn upload(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Allowed<Write>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let upload = Upload {
        content_type: header_text(&req, header::CONTENT_TYPE).map(str::to_owned),
        declared_length: header_text(&req, header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
        body: payload.into_inner(),
    };
    let (row, created) = state
        .archive
        .upload(&state.db, upload, caller.actor())
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(StoredSnapshot::from(&row)))
}

/// Fetches the source's URL through the safe fetcher, stores the exchange as
/// a WARC/1.1 file and the response body as the snapshot, and records version
/// n+1 of the source with `snapshot_sha256` (the body's SHA-256),
/// `archive_url` (our copy) and `captured_at` (journalist, editor, admin).
#[utoipa::path(
    operation_id = "capture_source",
    tag = "sources",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 201, body = SourceVersion, description = "the new version"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`sealed_source`: a sealed source is never captured"),
        (status = 413, body = Problem, content_type = "application/problem+json", description = "the page is larger than SOURCELEDGER_SNAPSHOT_MAX_BYTES"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "`fetch_refused`: the URL or an address it leads to may not be fetched; `capture_failed`: it could not be fetched or did not answer 2xx"),
    )
)]
#[post("/v1/sources/{id}/capture")]
pub async fn capture(
    state: web::Data<AppState>,
    caller: Allowed<Write>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let version = capture_source(&state, id.into_inner(), caller.actor()).await?;
    Ok(HttpResponse::Created().json(version))
}

/// Captures source `id` and records the result (also run in the background
/// for new sources under `SOURCELEDGER_CAPTURE_ON_RECORD`).
pub async fn capture_source(
    state: &AppState,
    id: String,
    actor: String,
) -> Result<SourceVersion, ApiError> {
    let newsroom = (state.embargo(), state.settings.public_url.as_str());
    captures::capture_source(
        &state.db,
        &state.writer,
        &state.archive,
        newsroom,
        id,
        actor,
    )
    .await
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SnapshotQuery {
    /// `warc` for the WARC a capture was archived in, `wacz` for it as a
    /// signed WACZ package with its ledger proof; absent for the bytes.
    #[param(pattern = "^(warc|wacz)$")]
    format: Option<String>,
}

/// The snapshot's bytes (subscribers and staff), with `Repr-Digest`
/// (RFC 9530), an `ETag`, byte ranges, and never as a page of ours: every
/// response is `Content-Security-Policy: sandbox` and `nosniff`, and anything
/// a browser would run (HTML, SVG, XML, scripts…) is an attachment.
/// `?format=warc` gives a capture's WARC, for replay tools; `?format=wacz`
/// the capture as a signed WACZ package with its ledger proof (as
/// `GET /v1/articles/{slug}/archive.wacz` packages an article's copies).
#[utoipa::path(
    operation_id = "get_snapshot",
    tag = "snapshots",
    params(("sha256" = String, Path, pattern = "^[0-9a-f]{64}$"), SnapshotQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the bytes", content_type = "application/octet-stream"),
        (status = 206, description = "the range asked for"),
        (status = 304, description = "not modified"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 416, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/snapshots/{sha256}")]
pub async fn download(
    req: HttpRequest,
    state: web::Data<AppState>,
    caller: Allowed<Read>,
    sha256: web::Path<String>,
    query: web::Query<SnapshotQuery>,
) -> Result<HttpResponse, ApiError> {
    let sha256 = sha256.into_inner();
    if !valid_name(&sha256) {
        return Err(ApiError::new(
            ErrorCode::InvalidPath,
            "a snapshot is named by 64 lowercase hex digits (its SHA-256)",
        ));
    }
    let (warc, wacz) = match query.format.as_deref() {
        None => (false, false),
        Some("warc") => (true, false),
        Some("wacz") => (true, true),
        Some(other) => {
            return Err(ApiError::new(
                ErrorCode::InvalidQuery,
                format!("format: {other:?} is neither warc nor wacz"),
            ));
        }
    };
    let lookup = sha256.clone();
    let staff = caller.caller.is_staff();
    let embargo = state.embargo();
    let row = state
        .db
        .run(move |conn| {
            // Under embargo, what only a draft's sources name is the
            // newsroom's: to other readers it does not exist.
            match snapshots::find(conn, &lookup)? {
                Some(row) if staff || embargo::snapshot_is_public(conn, embargo, &lookup)? => {
                    Ok::<_, ApiError>(Some(row))
                }
                _ => Ok(None),
            }
        })
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no snapshot {sha256}")))?;
    if wacz {
        // Uploads have no WARC: 404 as for ?format=warc.
        crate::archive::copies::Representation::of(&row, true)?;
        let ledger = state.ledger.clone();
        let plan = state
            .db
            .run(move |conn| {
                crate::newsroom::packages::plan_snapshot(conn, &ledger, &sha256, staff)
            })
            .await?;
        let filename = format!("{}.wacz", row.sha256);
        return super::wacz::send(&req, &state, plan, &filename).await;
    }
    send(&req, &state, &row, warc).await
}

/// A stored snapshot's bytes (or its capture's WARC) as an answer: digests,
/// ranges and conditional requests, and never run as a page of ours. The API
/// and the desk serve copies alike.
pub(crate) async fn send(
    req: &HttpRequest,
    state: &AppState,
    row: &Snapshot,
    warc: bool,
) -> Result<HttpResponse, ApiError> {
    let shown = Representation::of(row, warc)?;
    let tag = shown.etag();
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::ETAG, tag))
        .insert_header(("Repr-Digest", shown.repr_digest()))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((
            header::CACHE_CONTROL,
            "private, max-age=31536000, immutable",
        ))
        .insert_header((header::CONTENT_SECURITY_POLICY, "sandbox"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::VARY, "Authorization"))
        // The bytes as stored: what Repr-Digest and ranges are of.
        .insert_header((header::CONTENT_ENCODING, "identity"));
    if shown.is_attachment() {
        response.insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}\"", shown.filename),
        ));
    }
    let answer = shown.answer(
        header_text(req, header::IF_NONE_MATCH),
        header_text(req, header::RANGE),
    )?;
    let (status, span) = match answer {
        Answer::NotModified => return Ok(response.status(StatusCode::NOT_MODIFIED).finish()),
        Answer::Whole => (StatusCode::OK, 0..shown.size),
        Answer::Part(span) => {
            response.insert_header((
                header::CONTENT_RANGE,
                format!("bytes {}-{}/{}", span.start, span.end - 1, shown.size),
            ));
            (StatusCode::PARTIAL_CONTENT, span)
        }
    };
    let length = span.end - span.start;
    let body = state.archive.read(&shown.blob, span).await?;
    response.status(status);
    response.insert_header((
        header::CONTENT_TYPE,
        content_type_value(&shown.content_type),
    ));
    Ok(response.body(actix_web::body::SizedStream::new(length, body)))
}

fn content_type_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

/// The article's citations whose source links changed or vanished since the
/// article was published, as the link monitor found them (staff): for the
/// corrections desk.
#[utoipa::path(
    operation_id = "article_drift",
    tag = "articles",
    params(("slug" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Drift),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/articles/{slug}/drift")]
pub async fn drift(
    state: web::Data<AppState>,
    _caller: Allowed<Staff>,
    slug: web::Path<String>,
) -> Result<web::Json<Drift>, ApiError> {
    let slug = slug.into_inner();
    let drift = state
        .db
        .run(move |conn| monitor::drift(conn, &slug))
        .await?;
    Ok(web::Json(drift))
}
