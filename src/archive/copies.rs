//! The archive's workflows: an upload streamed into the store, a page
//! captured into a WARC, and what a download of either answers (its ETag,
//! digest, byte range and disposition).

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use super::capture::{self, CaptureError, CaptureFiles};
use super::media_type::MediaType;
use super::snapshots::{self, Snapshot, is_active_content};
use super::store::{BlobStore, Stager, is_too_large};
use crate::db::Db;
use crate::error::{ApiError, ErrorCode};
use crate::fields::Sha256Hex;
use crate::outbound::{CaptureLimits, Fetcher};

/// A page fetched to be read, not kept.
#[derive(Debug)]
pub struct FetchedPage {
    /// Where it came from, after redirects.
    pub url: String,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl FetchedPage {
    /// Whether it is HTML (or XHTML).
    pub fn is_html(&self) -> bool {
        let essence = self.content_type.split(';').next().unwrap_or_default();
        matches!(
            essence.trim().to_ascii_lowercase().as_str(),
            "text/html" | "application/xhtml+xml"
        )
    }

    /// Its text, in the encoding it declares (`reading::encoding`).
    pub fn text(&self) -> String {
        crate::reading::encoding::decode(&self.body, &self.content_type).into_owned()
    }
}

/// Where archived copies come from and where they are kept: the store, the
/// one way out, the staging folder and the operator's size cap.
#[derive(Clone)]
pub struct Archive {
    pub store: Arc<dyn BlobStore>,
    fetcher: Fetcher,
    data_dir: PathBuf,
    max_bytes: u64,
}

/// Our storage failed: a full disk is 507, an object store that does not
/// answer 503 (both say try again later, and nothing was kept); anything
/// else is ours (500).
pub(crate) fn storage_failed(e: impl std::fmt::Display + 'static) -> ApiError {
    if let Some(io) = (&e as &dyn std::any::Any).downcast_ref::<std::io::Error>() {
        if crate::db::health::is_disk_full(io) {
            crate::db::health::failed(crate::db::health::Fault::DataDirFull, io);
            return ApiError::storage_full();
        }
        if super::store::is_object_store_failure(io) {
            crate::db::health::failed(crate::db::health::Fault::ObjectStore, io);
            return ApiError::object_store_unreachable();
        }
    }
    ApiError::internal(format!("snapshot storage: {e}"))
}

fn too_large(max: u64) -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        format!("a snapshot may be at most {max} bytes; nothing was stored"),
    )
}

fn empty() -> ApiError {
    ApiError::new(
        ErrorCode::InvalidBody,
        "the body is empty: a snapshot holds at least one byte",
    )
}

/// An upload as it arrives: its declared type and length and its bytes.
pub struct Upload<S> {
    /// The `Content-Type` header, if one was sent.
    pub content_type: Option<String>,
    /// The `Content-Length` header, if one was sent and is a number.
    pub declared_length: Option<u64>,
    pub body: S,
}

impl Archive {
    pub fn new(
        store: Arc<dyn BlobStore>,
        fetcher: Fetcher,
        data_dir: PathBuf,
        max_bytes: u64,
    ) -> Self {
        Self {
            store,
            fetcher,
            data_dir,
            max_bytes,
        }
    }

    /// Limits of one capture: the operator's size cap, 10 s to connect and
    /// to the first byte, 60 s in all, 5 redirects.
    fn capture_limits(&self) -> CaptureLimits {
        CaptureLimits {
            connect: Duration::from_secs(10),
            first_byte: Duration::from_secs(10),
            total: Duration::from_secs(60),
            max_bytes: self.max_bytes,
            max_redirects: 5,
        }
    }

    /// Fetches a page a user named (an article to read links from, a page
    /// to read metadata from) through the safe fetcher, as a capture would,
    /// keeping nothing: at most `max_bytes` of it, answered only when the
    /// last hop answered 2xx.
    pub async fn fetch_page(&self, url: String, max_bytes: u64) -> Result<FetchedPage, ApiError> {
        let fetcher = self.fetcher.clone();
        let limits = CaptureLimits {
            max_bytes: max_bytes.min(self.max_bytes),
            ..self.capture_limits()
        };
        let fetched = actix_web::rt::task::spawn_blocking(move || {
            let mut body = Vec::new();
            fetcher
                .capture(&url, limits, &mut body)
                .map(|captured| (captured, body))
        })
        .await
        .map_err(storage_failed)?;
        let (captured, body) = fetched.map_err(|e| match CaptureError::from(e) {
            CaptureError::Refused(detail) => ApiError::new(ErrorCode::FetchRefused, detail),
            CaptureError::Unusable(detail) => ApiError::new(ErrorCode::CaptureFailed, detail),
            CaptureError::TooLarge(max) => ApiError::new(
                ErrorCode::CaptureFailed,
                format!("the page is larger than {max} bytes"),
            ),
            CaptureError::Storage(e) => storage_failed(e),
        })?;
        let last = captured
            .hops
            .last()
            .ok_or_else(|| ApiError::new(ErrorCode::CaptureFailed, "no response"))?;
        if !(200..300).contains(&last.status) {
            return Err(ApiError::new(
                ErrorCode::CaptureFailed,
                format!("the page answered {} at {}", last.status, last.url),
            ));
        }
        Ok(FetchedPage {
            url: last.url.clone(),
            content_type: MediaType::normalise(captured.content_type.as_deref()),
            body,
        })
    }

    /// Stores an upload's bytes as a snapshot named by their SHA-256,
    /// streamed to storage and never held whole: the row that stands, and
    /// whether it is new (the same bytes again are not).
    pub async fn upload<S, E>(
        &self,
        db: &Db,
        upload: Upload<S>,
        actor: String,
    ) -> Result<(Snapshot, bool), ApiError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let content_type = uploaded_type(upload.content_type.as_deref())?;
        let max = self.max_bytes;
        if upload.declared_length.is_some_and(|n| n > max) {
            return Err(too_large(max));
        }
        if upload.declared_length == Some(0) {
            return Err(empty());
        }
        // The bytes go to a blocking writer that hashes them on the way.
        let data_dir = self.data_dir.clone();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(8);
        let writer = actix_web::rt::task::spawn_blocking(move || {
            let mut stager = Stager::new(&data_dir, max)?;
            while let Some(chunk) = rx.blocking_recv() {
                std::io::Write::write_all(&mut stager, &chunk)?;
            }
            stager.finish()
        });
        let mut body = upload.body;
        let mut read_error = None;
        while let Some(chunk) = body.next().await {
            match chunk {
                Ok(chunk) => {
                    if tx.send(chunk).await.is_err() {
                        break; // the writer stopped: its error says why
                    }
                }
                Err(e) => {
                    read_error = Some(e.to_string());
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
            size: i64::try_from(staged.size).map_err(storage_failed)?,
            content_type,
            origin: "upload".into(),
            url: None,
            warc_sha256: None,
            warc_size: None,
            stored_at: crate::time::Timestamp::now(),
            stored_by: actor,
        };
        // The bytes are in the store (synced) before the row names them.
        self.store.put(staged).await.map_err(storage_failed)?;
        crate::db::health::stored();
        db.run(move |conn| snapshots::insert_if_absent(conn, row))
            .await
    }

    /// Fetches `url` through the safe fetcher and keeps the exchange as a
    /// WARC/1.1 file and the response body as a snapshot, both in the store
    /// before this returns: the snapshot's row, not yet stored (the caller
    /// stores it with what names it).
    pub async fn capture(&self, url: String, actor: String) -> Result<Snapshot, ApiError> {
        let (fetcher, data_dir, limits) = (
            self.fetcher.clone(),
            self.data_dir.clone(),
            self.capture_limits(),
        );
        let files: CaptureFiles = actix_web::rt::task::spawn_blocking(move || {
            capture::capture(&fetcher, &data_dir, &url, limits)
        })
        .await
        .map_err(storage_failed)?
        .map_err(|e| match e {
            CaptureError::Refused(detail) => ApiError::new(ErrorCode::FetchRefused, detail),
            CaptureError::Unusable(detail) => ApiError::new(ErrorCode::CaptureFailed, detail),
            CaptureError::TooLarge(max) => too_large(max),
            CaptureError::Storage(e) => storage_failed(e),
        })?;
        let size = |n: u64| i64::try_from(n).map_err(storage_failed);
        let row = Snapshot {
            sha256: files.payload.sha256.clone(),
            size: size(files.payload.size)?,
            content_type: files.content_type,
            origin: "capture".into(),
            url: Some(files.final_url),
            warc_sha256: Some(files.warc.sha256.clone()),
            warc_size: Some(size(files.warc.size)?),
            stored_at: files.captured_at,
            stored_by: actor,
        };
        // The bytes are in the store (synced) before any row names them.
        self.store
            .put(files.payload)
            .await
            .map_err(storage_failed)?;
        self.store.put(files.warc).await.map_err(storage_failed)?;
        crate::db::health::stored();
        Ok(row)
    }

    /// Bytes `span` of the blob `sha256`.
    pub async fn read(
        &self,
        sha256: &str,
        span: Range<u64>,
    ) -> Result<super::store::BlobStream, ApiError> {
        self.store.read(sha256, span).await.map_err(storage_failed)
    }
}

/// The content type the uploader named: a valid media type, as a browser
/// would read it from the header, or `application/octet-stream` when none
/// was given.
fn uploaded_type(header: Option<&str>) -> Result<String, ApiError> {
    let Some(header) = header else {
        return Ok("application/octet-stream".into());
    };
    match MediaType::extract(header).map(|t| t.to_string()) {
        Some(parsed) if parsed.len() <= 255 => Ok(parsed),
        _ => Err(ApiError::new(
            ErrorCode::InvalidField,
            "Content-Type is not a media type (type/subtype)",
        )),
    }
}

/// One stored representation a download may send: a snapshot's bytes, or
/// the WARC a capture was archived in.
#[derive(Debug, Clone)]
pub struct Representation {
    /// The blob holding the bytes.
    pub blob: Sha256Hex,
    pub size: u64,
    pub content_type: String,
    pub filename: String,
}

/// What a download answers, given the request's conditions.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// `If-None-Match` names this representation.
    NotModified,
    /// All the bytes.
    Whole,
    /// One satisfiable range, `[start, end)`.
    Part(Range<u64>),
}

impl Representation {
    /// The bytes of `row` (`warc`: its capture's WARC; an upload has none).
    pub fn of(row: &Snapshot, warc: bool) -> Result<Self, ApiError> {
        if !warc {
            return Ok(Self {
                blob: row.sha256.clone(),
                size: u64::try_from(row.size).map_err(storage_failed)?,
                // Rows stored before types were parsed are parsed here.
                content_type: MediaType::normalise(Some(&row.content_type)),
                filename: row.sha256.to_string(),
            });
        }
        match (&row.warc_sha256, row.warc_size) {
            (Some(blob), Some(size)) => Ok(Self {
                blob: blob.clone(),
                size: u64::try_from(size).map_err(storage_failed)?,
                content_type: "application/warc".to_owned(),
                filename: format!("{}.warc", row.sha256),
            }),
            _ => Err(ApiError::not_found(format!(
                "snapshot {} was uploaded, not captured: it has no WARC",
                row.sha256
            ))),
        }
    }

    /// Its strong ETag: the blob's hash.
    pub fn etag(&self) -> String {
        format!("\"{}\"", self.blob)
    }

    /// Its `Repr-Digest` (RFC 9530): the SHA-256 of the bytes as stored.
    pub fn repr_digest(&self) -> String {
        format!(
            "sha-256=:{}:",
            base64::engine::general_purpose::STANDARD.encode(self.blob.digest())
        )
    }

    /// Whether a browser must save it rather than show it: a WARC, and
    /// anything a browser would run or render as a document of our origin.
    pub fn is_attachment(&self) -> bool {
        is_active_content(&self.content_type)
    }

    /// What to send for these request headers: 304 while `If-None-Match`
    /// names it; one satisfiable byte range as a part; several ranges, an
    /// unparsable `Range` or none, all the bytes; an unsatisfiable one is 416.
    pub fn answer(
        &self,
        if_none_match: Option<&str>,
        range: Option<&str>,
    ) -> Result<Answer, ApiError> {
        answer(&self.etag(), self.size, if_none_match, range)
    }
}

/// What to send of `size` bytes tagged `tag` for these request headers: 304
/// while `If-None-Match` names it; one satisfiable byte range as a part;
/// several ranges, an unparsable `Range` or none, all the bytes; an
/// unsatisfiable one is 416.
pub fn answer(
    tag: &str,
    size: u64,
    if_none_match: Option<&str>,
    range: Option<&str>,
) -> Result<Answer, ApiError> {
    use actix_web::http::header::{ByteRangeSpec, Range as RangeHeader};
    if crate::etag::matches(if_none_match, tag) {
        return Ok(Answer::NotModified);
    }
    let Some(Ok(RangeHeader::Bytes(specs))) = range.map(str::parse::<RangeHeader>) else {
        return Ok(Answer::Whole);
    };
    let Ok([spec]) = <[ByteRangeSpec; 1]>::try_from(specs) else {
        return Ok(Answer::Whole);
    };
    match spec.to_satisfiable_range(size) {
        Some((start, last)) => Ok(Answer::Part(start..last + 1)),
        None => Err(ApiError::new(
            ErrorCode::RangeNotSatisfiable,
            format!("the file has {size} bytes"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdf() -> Representation {
        Representation {
            blob: Sha256Hex::parse("blob", &"ab".repeat(32)).expect("hex"),
            size: 100,
            content_type: "application/pdf".into(),
            filename: "ab".repeat(32),
        }
    }

    #[test]
    fn a_download_answers_its_conditions() {
        let r = pdf();
        assert_eq!(
            r.answer(Some(&r.etag()), Some("bytes=0-9")).ok(),
            Some(Answer::NotModified)
        );
        assert_eq!(r.answer(None, None).ok(), Some(Answer::Whole));
        assert_eq!(
            r.answer(None, Some("bytes=10-19")).ok(),
            Some(Answer::Part(10..20))
        );
        assert_eq!(
            r.answer(None, Some("bytes=-10")).ok(),
            Some(Answer::Part(90..100))
        );
        assert_eq!(
            r.answer(None, Some("bytes=0-1,5-6")).ok(),
            Some(Answer::Whole)
        );
        assert_eq!(r.answer(None, Some("pages=1")).ok(), Some(Answer::Whole));
        assert!(r.answer(None, Some("bytes=200-300")).is_err());
    }

    #[test]
    fn what_a_browser_would_run_is_an_attachment() {
        let mut r = pdf();
        r.content_type = "image/png".into();
        assert!(!r.is_attachment());
        r.content_type = "text/html".into();
        assert!(r.is_attachment());
        r.content_type = "application/warc".into();
        assert!(r.is_attachment());
    }
}
