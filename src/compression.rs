//! Compressed bodies: gzip (flate2) and brotli, made once per body and kept,
//! so a list read by many readers is compressed once, not per request.

use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    Brotli,
    Gzip,
}

impl Encoding {
    /// The `Content-Encoding` token.
    pub fn name(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Gzip => "gzip",
        }
    }
}

/// `data` compressed; `best` for bodies made once per process (assets).
pub fn compress(encoding: Encoding, data: &[u8], best: bool) -> Bytes {
    match encoding {
        Encoding::Brotli => {
            let mut out = Vec::with_capacity(data.len() / 4);
            let params = brotli::enc::BrotliEncoderParams {
                quality: if best { 11 } else { 6 },
                ..Default::default()
            };
            // Writing into a Vec cannot fail.
            let _ = brotli::BrotliCompress(&mut &data[..], &mut out, &params);
            Bytes::from(out)
        }
        Encoding::Gzip => {
            let level = if best { 9 } else { 6 };
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
            let _ = encoder.write_all(data);
            Bytes::from(encoder.finish().unwrap_or_default())
        }
    }
}

/// Compressed bodies by a key that names their content (an ETag, an asset).
pub struct Compressed {
    by_key: Mutex<HashMap<(String, Encoding), Bytes>>,
    capacity: usize,
    /// How many bodies were compressed (the tests and the metrics read it).
    pub made: AtomicU64,
}

impl Compressed {
    pub fn new(capacity: usize) -> Self {
        Self {
            by_key: Mutex::new(HashMap::new()),
            capacity,
            made: AtomicU64::new(0),
        }
    }

    /// The body compressed with `encoding`, made on first use of `key`.
    pub fn get_or_make(&self, key: &str, encoding: Encoding, body: &[u8], best: bool) -> Bytes {
        let wanted = (key.to_owned(), encoding);
        if let Some(found) = self
            .by_key
            .lock()
            .ok()
            .and_then(|m| m.get(&wanted).cloned())
        {
            return found;
        }
        let made = compress(encoding, body, best);
        self.made.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut map) = self.by_key.lock() {
            if map.len() >= self.capacity {
                map.clear();
            }
            map.insert(wanted, made.clone());
        }
        made
    }
}
