//! Archived copies: upload (`PUT /v1/snapshots`), capture
//! (`POST /v1/sources/{id}/capture`) and download (`GET /v1/snapshots/{sha256}`).

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ByteRangeSpec, HeaderValue, Range};
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use base64::Engine;
use futures_util::StreamExt;

use crate::archive::capture::{self as capturing, CaptureError};
use crate::archive::media_type::MediaType;
use crate::archive::monitor::{self, Drift};
use crate::archive::snapshots::{self, Snapshot, StoredSnapshot, is_active_content};
use crate::archive::store::{Stager, is_too_large, valid_name};
use crate::auth::{Allowed, Read, Staff, Write};
use crate::error::{ApiError, ErrorCode, Problem};
use crate::newsroom::embargo;
use crate::newsroom::sources::{self, SourceVersion};
use crate::outbound::CaptureLimits;
use crate::state::AppState;

fn now() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

fn storage_failed(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("snapshot storage: {e}"))
}

/// The content type the uploader named: a valid media type, or
/// `application/octet-stream` when none was given.
fn uploaded_type(req: &HttpRequest) -> Result<String, ApiError> {
    if !req.headers().contains_key(header::CONTENT_TYPE) {
        return Ok("application/octet-stream".into());
    }
    // Stored as the one type a browser would read from the header.
    let parsed = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(MediaType::extract)
        .map(|t| t.to_string());
    match parsed {
        Some(parsed) if parsed.len() <= 255 => Ok(parsed),
        _ => Err(ApiError::new(
            ErrorCode::InvalidField,
            "Content-Type is not a media type (type/subtype)",
        )),
    }
}

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
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let max = state.settings.archive.max_bytes;
    let content_type = uploaded_type(&req)?;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max) {
        return Err(too_large(max));
    }
    let empty = || {
        ApiError::new(
            ErrorCode::InvalidBody,
            "the body is empty: a snapshot holds at least one byte",
        )
    };
    if declared == Some(0) {
        return Err(empty());
    }
    // The bytes go to a blocking writer that hashes them on the way.
    let data_dir = state.settings.data_dir.clone();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(8);
    let writer = actix_web::rt::task::spawn_blocking(move || {
        let mut stager = Stager::new(&data_dir, max)?;
        while let Some(chunk) = rx.blocking_recv() {
            std::io::Write::write_all(&mut stager, &chunk)?;
        }
        stager.finish()
    });
    let mut read_error = None;
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(chunk) => {
                if tx.send(chunk).await.is_err() {
                    break; // the writer stopped: its error says why
                }
            }
            Err(e) => {
                read_error = Some(e);
                break;
            }
        }
    }
    drop(tx);
    let staged = writer.await.map_err(storage_failed)?;
    if let Some(e) = read_error {
        return Err(ApiError::new(
            ErrorCode::BadRequest,
            format!("the body could not be read: {e}"),
        ));
    }
    let staged = match staged {
        Ok(staged) => staged,
        Err(e) if is_too_large(&e) => return Err(too_large(max)),
        Err(e) => return Err(storage_failed(e)),
    };
    if staged.size == 0 {
        return Err(empty());
    }
    let row = Snapshot {
        sha256: staged.sha256.clone(),
        size: staged.size as i64,
        content_type,
        origin: "upload".into(),
        url: None,
        warc_sha256: None,
        warc_size: None,
        stored_at: now(),
        stored_by: caller.actor(),
    };
    // The bytes are in the store (synced) before the row names them.
    state.snapshots.put(staged).await.map_err(storage_failed)?;
    let (row, created) = state
        .db
        .run(move |conn| snapshots::insert_if_absent(conn, row))
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(StoredSnapshot::from(&row)))
}

fn too_large(max: u64) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("a snapshot may be at most {max} bytes; nothing was stored"),
    )
}

/// Limits of one capture: the operator's size cap, 10 s to connect and to
/// the first byte, 60 s in all, 5 redirects.
fn capture_limits(max_bytes: u64) -> CaptureLimits {
    CaptureLimits {
        connect: Duration::from_secs(10),
        first_byte: Duration::from_secs(10),
        total: Duration::from_secs(60),
        max_bytes,
        max_redirects: 5,
    }
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
    let version = capture_source(state, id.into_inner(), caller.actor()).await?;
    Ok(HttpResponse::Created().json(version))
}

/// Captures the latest version's URL of source `id` and records the result
/// (also run in the background for new sources under
/// `SOURCELEDGER_CAPTURE_ON_RECORD`).
pub async fn capture_source(
    state: web::Data<AppState>,
    id: String,
    actor: String,
) -> Result<SourceVersion, ApiError> {
    let lookup = id.clone();
    let source = state
        .db
        .run(move |conn| sources::latest(conn, &lookup))
        .await?;
    let fetcher = state.fetcher.clone();
    let data_dir = state.settings.data_dir.clone();
    let limits = capture_limits(state.settings.archive.max_bytes);
    let url = source.url.clone();
    let files = actix_web::rt::task::spawn_blocking(move || {
        capturing::capture(&fetcher, &data_dir, &url, limits)
    })
    .await
    .map_err(storage_failed)?
    .map_err(|e| match e {
        CaptureError::Refused(detail) => ApiError::new(ErrorCode::FetchRefused, detail),
        CaptureError::Unusable(detail) => ApiError::new(ErrorCode::CaptureFailed, detail),
        CaptureError::TooLarge(max) => too_large(max),
        CaptureError::Storage(e) => storage_failed(e),
    })?;
    let row = Snapshot {
        sha256: files.payload.sha256.clone(),
        size: files.payload.size as i64,
        content_type: files.content_type.clone(),
        origin: "capture".into(),
        url: Some(files.final_url.clone()),
        warc_sha256: Some(files.warc.sha256.clone()),
        warc_size: Some(files.warc.size as i64),
        stored_at: files.captured_at.clone(),
        stored_by: actor.clone(),
    };
    let sha256 = files.payload.sha256.clone();
    let captured_at = files.captured_at.clone();
    // The bytes are in the store (synced) before any row names them.
    state
        .snapshots
        .put(files.payload)
        .await
        .map_err(storage_failed)?;
    state
        .snapshots
        .put(files.warc)
        .await
        .map_err(storage_failed)?;
    let archive_url = format!("{}/v1/snapshots/{sha256}", state.settings.public_url);
    let embargo = state.embargo();
    state
        .writer
        .write(move |conn, seq| {
            snapshots::insert_if_absent(conn, row)?;
            let captured = sources::Captured {
                snapshot_sha256: sha256,
                archive_url,
                captured_at,
            };
            sources::record_capture(conn, seq, embargo, &actor, &id, captured)
        })
        .await
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SnapshotQuery {
    /// `warc` for the WARC a capture was archived in; absent for the bytes.
    #[param(pattern = "^warc$")]
    format: Option<String>,
}

/// The snapshot's bytes (subscribers and staff), with `Repr-Digest`
/// (RFC 9530), an `ETag`, byte ranges, and never as a page of ours: every
/// response is `Content-Security-Policy: sandbox` and `nosniff`, and anything
/// a browser would run (HTML, SVG, XML, scripts…) is an attachment.
/// `?format=warc` gives a capture's WARC, for replay tools.
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
    let warc = match query.format.as_deref() {
        None => false,
        Some("warc") => true,
        Some(other) => {
            return Err(ApiError::new(
                ErrorCode::InvalidQuery,
                format!("format: {other:?} is not warc"),
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
    let (blob, size, content_type, filename) = if warc {
        match (&row.warc_sha256, row.warc_size) {
            (Some(blob), Some(size)) => (
                blob.clone(),
                size as u64,
                "application/warc".to_owned(),
                format!("{sha256}.warc"),
            ),
            _ => {
                return Err(ApiError::not_found(format!(
                    "snapshot {sha256} was uploaded, not captured: it has no WARC"
                )));
            }
        }
    } else {
        (
            row.sha256.clone(),
            row.size as u64,
            // Rows stored before types were parsed are parsed here.
            MediaType::normalise(Some(&row.content_type)),
            sha256.clone(),
        )
    };
    let digest = hex::decode(&blob).map_err(ApiError::internal)?;
    let tag = format!("\"{blob}\"");
    let mut response = HttpResponse::Ok();
    response
        .insert_header((header::ETAG, tag.clone()))
        .insert_header((
            "Repr-Digest",
            format!(
                "sha-256=:{}:",
                base64::engine::general_purpose::STANDARD.encode(&digest)
            ),
        ))
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
    if warc || is_active_content(&content_type) {
        response.insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ));
    }
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    if crate::etag::matches(if_none_match, &tag) {
        return Ok(response.status(StatusCode::NOT_MODIFIED).finish());
    }
    let range = requested_range(&req, size)?;
    let (status, span) = match range {
        Some((start, end)) => {
            response.insert_header((
                header::CONTENT_RANGE,
                format!("bytes {start}-{}/{size}", end - 1),
            ));
            (StatusCode::PARTIAL_CONTENT, start..end)
        }
        None => (StatusCode::OK, 0..size),
    };
    let length = span.end - span.start;
    let body = state
        .snapshots
        .read(&blob, span)
        .await
        .map_err(storage_failed)?;
    response.status(status);
    response.insert_header((header::CONTENT_TYPE, content_type_value(&content_type)));
    Ok(response.body(actix_web::body::SizedStream::new(length, body)))
}

fn content_type_value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

/// One satisfiable byte range, `[start, end)`; several ranges, or none, are
/// answered whole; an unsatisfiable one is 416.
fn requested_range(req: &HttpRequest, size: u64) -> Result<Option<(u64, u64)>, ApiError> {
    let Some(value) = req.headers().get(header::RANGE) else {
        return Ok(None);
    };
    let Ok(Range::Bytes(specs)) = value.to_str().unwrap_or_default().parse::<Range>() else {
        return Ok(None);
    };
    let [spec]: [ByteRangeSpec; 1] = match specs.try_into() {
        Ok(one) => one,
        Err(_) => return Ok(None),
    };
    match spec.to_satisfiable_range(size) {
        Some((start, last)) => Ok(Some((start, last + 1))),
        None => Err(ApiError::new(
            ErrorCode::RangeNotSatisfiable,
            format!("the snapshot has {size} bytes"),
        )),
    }
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
