//! A small WARC/1.1 writer (ISO 28500:2017): the records a capture needs
//! (`warcinfo`, `request`, `response`), uncompressed, with
//! `WARC-Block-Digest` and `WARC-Payload-Digest` in SHA-256 (base32, as
//! replay and validation tools expect). Blocks are streamed from a reader,
//! never held whole. The `warc` crate writes only blocks held in memory, so
//! this is ours; `warcio` reads what it writes in the tests.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha256};

/// `sha256:<base32>`, the digest form WARC tools read.
pub fn digest_field(sha256: &[u8]) -> String {
    format!("sha256:{}", data_encoding::BASE32.encode(sha256))
}

/// A new record id, `<urn:uuid:…>`.
pub fn record_id() -> String {
    format!("<urn:uuid:{}>", uuid::Uuid::new_v4())
}

/// One record's header fields after the version line (each a name and a
/// value without line breaks).
pub struct Record<'a> {
    pub warc_type: &'a str,
    pub id: &'a str,
    pub date: &'a str,
    pub content_type: &'a str,
    pub fields: Vec<(&'a str, String)>,
}

/// Writes records to `out`.
pub struct WarcWriter<W: Write> {
    out: W,
}

impl<W: Write> WarcWriter<W> {
    pub fn new(out: W) -> Self {
        Self { out }
    }

    /// Writes `record` with a block of `len` bytes read from `block`, whose
    /// SHA-256 is `block_sha256` (the caller hashed it on the way in).
    pub fn write(
        &mut self,
        record: &Record,
        block_sha256: &[u8],
        len: u64,
        block: &mut dyn Read,
    ) -> io::Result<()> {
        let mut head = format!(
            "WARC/1.1\r\nWARC-Type: {}\r\nWARC-Record-ID: {}\r\nWARC-Date: {}\r\nContent-Type: {}\r\n",
            record.warc_type, record.id, record.date, record.content_type
        );
        for (name, value) in &record.fields {
            if value.contains(['\r', '\n']) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a WARC header value holds a line break",
                ));
            }
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!(
            "WARC-Block-Digest: {}\r\nContent-Length: {len}\r\n\r\n",
            digest_field(block_sha256)
        ));
        self.out.write_all(head.as_bytes())?;
        let copied = io::copy(&mut block.take(len), &mut self.out)?;
        if copied != len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "a WARC block is shorter than its length",
            ));
        }
        self.out.write_all(b"\r\n\r\n")
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// SHA-256 of everything `reader` yields.
pub fn sha256_of(reader: &mut dyn Read) -> io::Result<Vec<u8>> {
    let mut hasher = Sha256::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(hasher.finalize().to_vec());
        }
        hasher.update(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_has_its_length_digest_and_terminator() {
        let mut out = Vec::new();
        let mut writer = WarcWriter::new(&mut out);
        let block = b"hello";
        let digest = Sha256::digest(block);
        writer
            .write(
                &Record {
                    warc_type: "resource",
                    id: "<urn:uuid:00000000-0000-4000-8000-000000000000>",
                    date: "2026-11-30T00:00:00Z",
                    content_type: "text/plain",
                    fields: vec![("WARC-Target-URI", "https://example.org/".into())],
                },
                &digest,
                5,
                &mut &block[..],
            )
            .expect("write");
        let text = String::from_utf8(out).expect("text");
        assert!(text.starts_with("WARC/1.1\r\nWARC-Type: resource\r\n"));
        assert!(text.contains("Content-Length: 5\r\n\r\nhello\r\n\r\n"));
        assert!(text.contains(&format!(
            "WARC-Block-Digest: sha256:{}",
            data_encoding::BASE32.encode(&digest)
        )));
        let mut refused = WarcWriter::new(Vec::new());
        let bad = Record {
            warc_type: "resource",
            id: "<urn:uuid:x>",
            date: "d",
            content_type: "t",
            fields: vec![("WARC-Target-URI", "a\r\nWARC-Type: evil".into())],
        };
        assert!(refused.write(&bad, &digest, 5, &mut &block[..]).is_err());
    }
}
