//! Reading a stored WARC once, as it streams by, for what a WACZ needs before
//! it sends a byte: the file's CRC-32 (the ZIP headers carry it) and, for
//! every `response` record, where it sits in the file and what it answers
//! (the CDXJ index lines, WACZ's `indexes/`). Fed in chunks of any size; the
//! block of a record is skipped, never held (only the start of a response's
//! HTTP head is kept, to read its status and type).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The most a WARC record's header (or an HTTP head) may take.
const MAX_HEAD: usize = 64 * 1024;

/// One response record of a WARC, as an index line needs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexedRecord {
    /// `WARC-Target-URI`.
    pub url: String,
    /// `WARC-Date`, as written (RFC 3339, whole seconds).
    pub date: String,
    /// The response's media type (without parameters), or empty.
    pub mime: String,
    /// The HTTP status, as text (`"200"`).
    pub status: String,
    /// `WARC-Payload-Digest` (`sha256:<base32>`), or empty.
    pub digest: String,
    /// The record's first byte in the WARC, and its length up to and with
    /// the `\r\n\r\n` that ends it.
    pub offset: u64,
    pub length: u64,
    /// Hex SHA-256 of the payload (the block after the HTTP head), as read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_sha256: Option<String>,
}

/// What a WARC file is, read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarcIndex {
    pub crc32: u32,
    pub size: u64,
    pub records: Vec<IndexedRecord>,
}

#[derive(Debug, thiserror::Error)]
#[error("not a WARC this server wrote: {0}")]
pub struct NotAWarc(String);

enum State {
    /// Reading a record's header (`WARC/1.1` to the empty line).
    Head,
    /// Inside a record's block: `left` bytes to go.
    Block { left: u64 },
    /// The `\r\n\r\n` after a block: `left` bytes to go.
    Trailer { left: u64 },
}

/// The record being read.
struct Current {
    offset: u64,
    response: Option<IndexedRecord>,
    /// The start of a response's block, up to the end of its HTTP head.
    http_head: Vec<u8>,
    head_done: bool,
    /// The payload's hash, once the HTTP head was read (none when the head
    /// never ended).
    payload: Option<Sha256>,
}

/// Indexes a WARC fed to it in chunks.
pub struct WarcIndexer {
    crc: crc32fast::Hasher,
    position: u64,
    state: State,
    buffer: Vec<u8>,
    current: Option<Current>,
    records: Vec<IndexedRecord>,
}

impl Default for WarcIndexer {
    fn default() -> Self {
        Self::new()
    }
}

impl WarcIndexer {
    pub fn new() -> Self {
        Self {
            crc: crc32fast::Hasher::new(),
            position: 0,
            state: State::Head,
            buffer: Vec::new(),
            current: None,
            records: Vec::new(),
        }
    }

    /// Reads the next bytes of the file.
    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<(), NotAWarc> {
        self.crc.update(chunk);
        while !chunk.is_empty() {
            chunk = match self.state {
                State::Head => self.head(chunk)?,
                State::Block { left } => self.block(chunk, left),
                State::Trailer { left } => self.trailer(chunk, left)?,
            };
        }
        Ok(())
    }

    /// The index, once every byte was fed.
    pub fn finish(self) -> Result<WarcIndex, NotAWarc> {
        if !matches!(self.state, State::Head) || !self.buffer.is_empty() {
            return Err(NotAWarc("the file ends inside a record".into()));
        }
        Ok(WarcIndex {
            crc32: self.crc.finalize(),
            size: self.position,
            records: self.records,
        })
    }

    fn head<'a>(&mut self, chunk: &'a [u8]) -> Result<&'a [u8], NotAWarc> {
        let before = self.buffer.len();
        // Look for the end of the header across the chunk boundary.
        let from = before.saturating_sub(3);
        self.buffer.extend_from_slice(chunk);
        let Some(end) = find(&self.buffer[from..], b"\r\n\r\n").map(|i| from + i + 4) else {
            if self.buffer.len() > MAX_HEAD {
                return Err(NotAWarc("a record header is too long".into()));
            }
            self.position += chunk.len() as u64;
            return Ok(&[]);
        };
        let used = end - before;
        let offset = self.position - before as u64;
        self.position += used as u64;
        let head = std::mem::take(&mut self.buffer);
        let fields = parse_head(&head[..end])?;
        let length = fields
            .get("content-length")
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| NotAWarc("a record without a Content-Length".into()))?;
        let response =
            (fields.get("warc-type").map(String::as_str) == Some("response")).then(|| {
                IndexedRecord {
                    url: fields.get("warc-target-uri").cloned().unwrap_or_default(),
                    date: fields.get("warc-date").cloned().unwrap_or_default(),
                    mime: String::new(),
                    status: String::new(),
                    digest: fields
                        .get("warc-payload-digest")
                        .cloned()
                        .unwrap_or_default(),
                    offset,
                    length: 0,
                    payload_sha256: None,
                }
            });
        self.current = Some(Current {
            offset,
            response,
            http_head: Vec::new(),
            head_done: false,
            payload: None,
        });
        self.state = if length == 0 {
            State::Trailer { left: 4 }
        } else {
            State::Block { left: length }
        };
        Ok(&chunk[used..])
    }

    fn block<'a>(&mut self, chunk: &'a [u8], left: u64) -> &'a [u8] {
        let take = usize::try_from(left).map_or(chunk.len(), |l| l.min(chunk.len()));
        if let Some(current) = self.current.as_mut().filter(|c| c.response.is_some()) {
            current.read_block(&chunk[..take]);
        }
        self.position += take as u64;
        let left = left - take as u64;
        self.state = if left == 0 {
            State::Trailer { left: 4 }
        } else {
            State::Block { left }
        };
        &chunk[take..]
    }

    fn trailer<'a>(&mut self, chunk: &'a [u8], left: u64) -> Result<&'a [u8], NotAWarc> {
        let take = usize::try_from(left).map_or(chunk.len(), |l| l.min(chunk.len()));
        let expected = &b"\r\n\r\n"[(4 - left as usize)..][..take];
        if &chunk[..take] != expected {
            return Err(NotAWarc("a record does not end with a blank line".into()));
        }
        self.position += take as u64;
        let left = left - take as u64;
        if left > 0 {
            self.state = State::Trailer { left };
            return Ok(&chunk[take..]);
        }
        self.state = State::Head;
        if let Some(Current {
            response: Some(mut record),
            offset,
            http_head,
            payload,
            ..
        }) = self.current.take()
        {
            let (status, mime) = http_status_and_type(&http_head);
            record.status = status;
            record.mime = mime;
            record.length = self.position - offset;
            record.payload_sha256 = payload.map(|h| hex::encode(h.finalize()));
            self.records.push(record);
        }
        Ok(&chunk[take..])
    }
}

impl Current {
    /// A response's block: its HTTP head kept, its payload hashed.
    fn read_block(&mut self, part: &[u8]) {
        if self.head_done {
            if let Some(payload) = self.payload.as_mut() {
                payload.update(part);
            }
            return;
        }
        let from = self.http_head.len().saturating_sub(3);
        self.http_head.extend_from_slice(part);
        match find(&self.http_head[from..], b"\r\n\r\n").map(|i| from + i + 4) {
            Some(end) => {
                let mut payload = Sha256::new();
                payload.update(&self.http_head[end..]);
                self.http_head.truncate(end);
                self.payload = Some(payload);
                self.head_done = true;
            }
            // No head after this much: read no further.
            None if self.http_head.len() > MAX_HEAD => self.head_done = true,
            None => {}
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A WARC record header's fields, names lowercased.
fn parse_head(head: &[u8]) -> Result<std::collections::HashMap<String, String>, NotAWarc> {
    let text = std::str::from_utf8(head).map_err(|_| NotAWarc("a header is not UTF-8".into()))?;
    let mut lines = text.split("\r\n");
    if !lines.next().is_some_and(|l| l.starts_with("WARC/1.")) {
        return Err(NotAWarc("a record does not start with WARC/1.x".into()));
    }
    Ok(lines
        .filter_map(|l| l.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect())
}

/// The status code and media type an HTTP response head gives.
fn http_status_and_type(head: &[u8]) -> (String, String) {
    let end = find(head, b"\r\n\r\n").unwrap_or(head.len());
    let text = String::from_utf8_lossy(&head[..end]);
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .filter(|s| s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()))
        .unwrap_or("200")
        .to_owned();
    let mime = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-type"))
        .map(|(_, value)| {
            value
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    (status, mime)
}

/// The SURT form of `url` that CDXJ lines sort by: scheme dropped, host
/// labels reversed and joined by commas, then `)` and the path and query,
/// lowercased (`https://www.Example.org/a?b` -> `org,example,www)/a?b`).
pub fn surt(url: &str) -> String {
    let Ok(parsed) = url::Url::parse(url) else {
        return url.to_ascii_lowercase();
    };
    let host = parsed.host_str().unwrap_or_default();
    let mut key: String = host.split('.').rev().collect::<Vec<_>>().join(",");
    if let Some(port) = parsed.port() {
        key.push_str(&format!(":{port}"));
    }
    key.push(')');
    key.push_str(parsed.path());
    if let Some(query) = parsed.query() {
        key.push('?');
        key.push_str(query);
    }
    key.to_ascii_lowercase()
}

/// `YYYYMMDDhhmmss` of an RFC 3339 date.
pub fn cdx_timestamp(date: &str) -> String {
    date.bytes()
        .filter(u8::is_ascii_digit)
        .take(14)
        .map(char::from)
        .collect()
}

/// The JSON of a CDXJ line, in the order the CDXJ spec lists the fields.
#[derive(Serialize)]
struct CdxFields<'a> {
    url: &'a str,
    digest: &'a str,
    mime: &'a str,
    offset: u64,
    length: u64,
    status: &'a str,
    filename: &'a str,
}

/// The CDXJ line of `record`, kept in the WARC `filename` (relative to
/// `archive/`).
pub fn cdxj_line(record: &IndexedRecord, filename: &str) -> String {
    let fields = CdxFields {
        url: &record.url,
        digest: &record.digest,
        mime: &record.mime,
        offset: record.offset,
        length: record.length,
        status: &record.status,
        filename,
    };
    // Serialising plain strings and numbers cannot fail.
    let json = serde_json::to_string(&fields).unwrap_or_default();
    format!(
        "{} {} {json}",
        surt(&record.url),
        cdx_timestamp(&record.date)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::warc::{Record, WarcWriter};

    fn warc() -> Vec<u8> {
        let mut out = Vec::new();
        let mut writer = WarcWriter::new(&mut out);
        let mut write = |kind: &str, body: &[u8], uri: &str| {
            writer
                .write(
                    &Record {
                        warc_type: kind,
                        id: "<urn:uuid:00000000-0000-4000-8000-000000000000>",
                        date: "2026-12-01T10:20:30Z",
                        content_type: "application/http;msgtype=response",
                        fields: vec![
                            ("WARC-Target-URI", uri.into()),
                            ("WARC-Payload-Digest", "sha256:AAAA".into()),
                        ],
                    },
                    &Sha256::digest(body),
                    body.len() as u64,
                    &mut &body[..],
                )
                .expect("write");
        };
        write("warcinfo", b"software: test\r\n", "");
        write("request", b"GET / HTTP/1.1\r\n\r\n", "https://example.org/");
        write(
            "response",
            b"HTTP/1.1 301 Moved\r\nLocation: /a\r\n\r\n",
            "https://example.org/",
        );
        write(
            "response",
            b"HTTP/1.1 200 OK\r\nContent-Type: Text/HTML; charset=utf-8\r\n\r\n<p>hi</p>",
            "https://Example.org:8443/a?b=1",
        );
        out
    }

    #[test]
    fn every_response_is_found_at_its_offset_in_any_chunking() {
        let bytes = warc();
        for size in [1, 2, 3, 7, 64, bytes.len()] {
            let mut indexer = WarcIndexer::new();
            for chunk in bytes.chunks(size) {
                indexer.feed(chunk).expect("feed");
            }
            let index = indexer.finish().expect("finish");
            assert_eq!(index.size, bytes.len() as u64);
            assert_eq!(index.crc32, crc32fast::hash(&bytes));
            assert_eq!(index.records.len(), 2, "chunks of {size}");
            for record in &index.records {
                let at = record.offset as usize;
                let slice = &bytes[at..at + record.length as usize];
                assert!(slice.starts_with(b"WARC/1.1\r\nWARC-Type: response"));
                assert!(slice.ends_with(b"\r\n\r\n"));
            }
            let last = &index.records[1];
            assert_eq!(
                (last.status.as_str(), last.mime.as_str()),
                ("200", "text/html")
            );
            assert_eq!(
                last.payload_sha256.as_deref(),
                Some(hex::encode(Sha256::digest(b"<p>hi</p>")).as_str())
            );
            assert_eq!(index.records[0].status, "301");
            assert_eq!(last.offset + last.length, bytes.len() as u64);
        }
    }

    #[test]
    fn a_truncated_or_foreign_file_is_refused() {
        let bytes = warc();
        let mut indexer = WarcIndexer::new();
        indexer.feed(&bytes[..bytes.len() - 2]).expect("feed");
        assert!(indexer.finish().is_err());
        let mut indexer = WarcIndexer::new();
        assert!(indexer.feed(b"PK\x03\x04 not a warc\r\n\r\n").is_err());
    }

    #[test]
    fn lines_sort_by_surt_and_timestamp() {
        assert_eq!(
            surt("https://www.Example.org/A?b=1#x"),
            "org,example,www)/a?b=1"
        );
        assert_eq!(surt("http://example.org:8080/"), "org,example:8080)/");
        let record = IndexedRecord {
            url: "https://example.org/".into(),
            date: "2026-12-01T10:20:30Z".into(),
            mime: "text/html".into(),
            status: "200".into(),
            digest: "sha256:AAAA".into(),
            offset: 10,
            length: 20,
            payload_sha256: None,
        };
        assert_eq!(
            cdxj_line(&record, "x.warc"),
            "org,example)/ 20261201102030 {\"url\":\"https://example.org/\",\"digest\":\"sha256:AAAA\",\"mime\":\"text/html\",\"offset\":10,\"length\":20,\"status\":\"200\",\"filename\":\"x.warc\"}"
        );
    }
}
