//! Capturing a source's URL: the response body staged under its hash (the
//! snapshot's payload) and a WARC of the whole exchange (every redirect hop's
//! request and response, then the last response with the payload), both
//! staged for the store. The payload digest is of the bytes received, so the
//! same bytes captured twice have the same hash; the WARC is made once and
//! kept, never rebuilt on download.

use std::fs::File;
use std::io::{Read, Write};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::store::{Staged, Stager, is_too_large};
use super::warc::{Record, WarcWriter, record_id, sha256_of};
use crate::outbound::{CaptureLimits, Captured, FetchError, Fetcher};

/// The staged payload and WARC of one capture.
pub struct CaptureFiles {
    pub payload: Staged,
    pub warc: Staged,
    pub content_type: String,
    /// The URL the payload came from (after redirects).
    pub final_url: String,
    pub captured_at: crate::time::Timestamp,
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The URL or an address it leads to may not be fetched.
    #[error("{0}")]
    Refused(String),
    /// The source answered, but not with a page to keep.
    #[error("{0}")]
    Unusable(String),
    #[error("the response is larger than {0} bytes")]
    TooLarge(u64),
    /// Our own storage failed.
    #[error("{0}")]
    Storage(#[from] std::io::Error),
}

impl From<FetchError> for CaptureError {
    fn from(e: FetchError) -> Self {
        match e {
            FetchError::TooLarge(n) => Self::TooLarge(n),
            FetchError::BadUrl(_) | FetchError::Refused(_) => Self::Refused(e.to_string()),
            FetchError::Sink(e) => Self::Storage(e),
            other => Self::Unusable(format!("the source could not be fetched: {other}")),
        }
    }
}

/// Fetches `url` and stages its payload and WARC (blocking: run it off the
/// async executor).
pub fn capture(
    fetcher: &Fetcher,
    data_dir: &Path,
    url: &str,
    limits: CaptureLimits,
) -> Result<CaptureFiles, CaptureError> {
    let captured_at = crate::time::Timestamp::now();
    let mut payload = Stager::new(data_dir, limits.max_bytes)?;
    let fetched = fetcher.capture(url, limits, &mut payload)?;
    let payload = payload.finish()?;
    let last = fetched
        .hops
        .last()
        .ok_or_else(|| CaptureError::Unusable("no response".into()))?;
    if !(200..300).contains(&last.status) {
        return Err(CaptureError::Unusable(format!(
            "the source answered {} at {}: nothing to archive",
            last.status, last.url
        )));
    }
    let final_url = last.url.clone();
    // One parsed type, as a browser would read the remote header.
    let content_type = super::media_type::MediaType::normalise(fetched.content_type.as_deref());
    let warc = write_warc(data_dir, &fetched, &payload, &captured_at, limits.max_bytes)?;
    Ok(CaptureFiles {
        payload,
        warc,
        content_type,
        final_url,
        captured_at,
    })
}

fn write_warc(
    data_dir: &Path,
    fetched: &Captured,
    payload: &Staged,
    date: &str,
    max_bytes: u64,
) -> Result<Staged, CaptureError> {
    // Heads and redirect bodies are small; the payload is capped.
    let mut warc = WarcWriter::new(Stager::new(data_dir, max_bytes.saturating_add(1 << 20))?);
    let date = &date[..19];
    let date = format!("{date}Z");
    let info_id = record_id();
    let info = format!(
        "software: sourceledger/{}\r\nformat: WARC File Format 1.1\r\nconformsTo: http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/\r\n",
        env!("CARGO_PKG_VERSION")
    );
    warc.write(
        &Record {
            warc_type: "warcinfo",
            id: &info_id,
            date: &date,
            content_type: "application/warc-fields",
            fields: vec![],
        },
        &Sha256::digest(info.as_bytes()),
        info.len() as u64,
        &mut info.as_bytes(),
    )?;
    let last = fetched.hops.len() - 1;
    for (i, hop) in fetched.hops.iter().enumerate() {
        let request_id = record_id();
        let response_id = record_id();
        warc.write(
            &Record {
                warc_type: "request",
                id: &request_id,
                date: &date,
                content_type: "application/http;msgtype=request",
                fields: vec![
                    ("WARC-Target-URI", hop.url.clone()),
                    ("WARC-Warcinfo-ID", info_id.clone()),
                    ("WARC-Concurrent-To", response_id.clone()),
                ],
            },
            &Sha256::digest(&hop.request_head),
            hop.request_head.len() as u64,
            &mut hop.request_head.as_slice(),
        )?;
        let mut head = hop.response_head.clone();
        let body_len = if i == last {
            payload.size
        } else {
            hop.body.len() as u64
        };
        let has_length = String::from_utf8_lossy(&head)
            .lines()
            .any(|l| l.to_ascii_lowercase().starts_with("content-length:"));
        if !has_length {
            head.extend_from_slice(format!("content-length: {body_len}\r\n").as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        let (payload_digest, block_digest) = if i == last {
            let mut body = File::open(payload.path())?;
            let block = sha256_of(&mut head.as_slice().chain(&mut body))?;
            (payload.sha256.digest().to_vec(), block)
        } else {
            let block = Sha256::digest([head.as_slice(), hop.body.as_slice()].concat()).to_vec();
            (Sha256::digest(&hop.body).to_vec(), block)
        };
        let fields = vec![
            ("WARC-Target-URI", hop.url.clone()),
            ("WARC-Warcinfo-ID", info_id.clone()),
            (
                "WARC-Payload-Digest",
                super::warc::digest_field(&payload_digest),
            ),
        ];
        let len = head.len() as u64 + body_len;
        let body: Box<dyn Read> = if i == last {
            Box::new(File::open(payload.path())?)
        } else {
            Box::new(hop.body.as_slice())
        };
        warc.write(
            &Record {
                warc_type: "response",
                id: &response_id,
                date: &date,
                content_type: "application/http;msgtype=response",
                fields,
            },
            &block_digest,
            len,
            &mut head.as_slice().chain(body),
        )?;
    }
    let mut stager = warc.into_inner();
    stager.flush()?;
    stager.finish().map_err(|e| {
        if is_too_large(&e) {
            CaptureError::TooLarge(max_bytes)
        } else {
            e.into()
        }
    })
}
