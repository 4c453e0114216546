//! A ZIP file laid out before it is written: every entry STOREd (WACZ keeps
//! WARCs uncompressed, and so every byte's place is known), sizes and CRC-32s
//! known up front, so the whole file is a list of pieces (headers made here,
//! blobs read from the store) and any byte range of it can be answered
//! without building the rest. ZIP64 records are written when a size or an
//! offset passes 32 bits (PKWARE's APPNOTE 6.3, sections 4.3 and 4.5.3).
//!
//! The `zip` crate writes an archive front to back into a seekable sink; a
//! file answered by ranges, each request on its own, needs the layout first,
//! which is why this small writer is ours. Python's `zipfile` (through
//! py-wacz) and ReplayWeb.page read what it lays out, in the tests.

use std::ops::Range;

use bytes::{BufMut, Bytes, BytesMut};

use crate::fields::Sha256Hex;

/// Where an entry's bytes come from.
#[derive(Debug, Clone)]
pub enum Body {
    /// A blob of the store, by name.
    Blob(Sha256Hex),
    /// Bytes made here.
    Bytes(Bytes),
}

/// One file of the archive.
#[derive(Debug, Clone)]
pub struct Entry {
    /// ASCII, `/`-separated.
    pub name: String,
    pub size: u64,
    pub crc32: u32,
    pub body: Body,
}

impl Entry {
    /// An entry of bytes made here.
    pub fn bytes(name: &str, bytes: Bytes) -> Self {
        Self {
            name: name.to_owned(),
            size: bytes.len() as u64,
            crc32: crc32fast::hash(&bytes),
            body: Body::Bytes(bytes),
        }
    }
}

/// A run of the file's bytes.
#[derive(Debug, Clone)]
enum Piece {
    Bytes(Bytes),
    Blob { name: Sha256Hex, size: u64 },
}

impl Piece {
    fn len(&self) -> u64 {
        match self {
            Piece::Bytes(b) => b.len() as u64,
            Piece::Blob { size, .. } => *size,
        }
    }
}

/// Part of a range asked for: bytes to send, or a blob's bytes to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slice {
    Bytes(Bytes),
    Blob { name: Sha256Hex, range: Range<u64> },
}

/// The archive's layout: its pieces, each with its first byte.
#[derive(Debug, Clone)]
pub struct Layout {
    pieces: Vec<(u64, Piece)>,
    size: u64,
}

/// A date and time as MS-DOS keeps them (2-second steps, from 1980).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DosTime {
    pub date: u16,
    pub time: u16,
}

impl DosTime {
    /// From an RFC 3339 time (`2026-12-06T10:20:30Z`); 1980-01-01 when it
    /// cannot be read or comes before.
    pub fn of_rfc3339(text: &str) -> Self {
        let parsed = chrono::DateTime::parse_from_rfc3339(text).ok();
        match parsed.map(|t| t.naive_utc()) {
            Some(t) if (1980..2108).contains(&chrono::Datelike::year(&t)) => {
                use chrono::{Datelike, Timelike};
                Self {
                    date: (((t.year() - 1980) as u16) << 9)
                        | ((t.month() as u16) << 5)
                        | t.day() as u16,
                    time: ((t.hour() as u16) << 11)
                        | ((t.minute() as u16) << 5)
                        | (t.second() as u16 / 2),
                }
            }
            _ => Self {
                date: (1 << 5) | 1,
                time: 0,
            },
        }
    }
}

const MAX32: u64 = 0xFFFF_FFFF;
const LOCAL: u32 = 0x0403_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const END: u32 = 0x0605_4b50;
const END64: u32 = 0x0606_4b50;
const LOCATOR64: u32 = 0x0706_4b50;
/// Version 2.0 (stored files), 4.5 (ZIP64).
const VERSION: u16 = 20;
const VERSION64: u16 = 45;

impl Layout {
    /// Lays out `entries` in order, each stamped with `modified`.
    pub fn new(entries: &[Entry], modified: DosTime) -> Self {
        let mut pieces = Vec::new();
        let mut at = 0u64;
        let push = |piece: Piece, pieces: &mut Vec<(u64, Piece)>, at: &mut u64| {
            let len = piece.len();
            pieces.push((*at, piece));
            *at += len;
        };
        let mut central = BytesMut::new();
        for entry in entries {
            let offset = at;
            push(
                Piece::Bytes(local_header(entry, modified).freeze()),
                &mut pieces,
                &mut at,
            );
            push(
                match &entry.body {
                    Body::Bytes(b) => Piece::Bytes(b.clone()),
                    Body::Blob(name) => Piece::Blob {
                        name: name.clone(),
                        size: entry.size,
                    },
                },
                &mut pieces,
                &mut at,
            );
            central_header(&mut central, entry, modified, offset);
        }
        let central_at = at;
        let central_len = central.len() as u64;
        push(Piece::Bytes(central.freeze()), &mut pieces, &mut at);
        let count = entries.len() as u64;
        let mut end = BytesMut::new();
        let zip64 = central_at >= MAX32 || central_len >= MAX32 || count >= 0xFFFF;
        if zip64 {
            let end64_at = at;
            end.put_u32_le(END64);
            end.put_u64_le(44);
            end.put_u16_le(VERSION64);
            end.put_u16_le(VERSION64);
            end.put_u32_le(0);
            end.put_u32_le(0);
            end.put_u64_le(count);
            end.put_u64_le(count);
            end.put_u64_le(central_len);
            end.put_u64_le(central_at);
            end.put_u32_le(LOCATOR64);
            end.put_u32_le(0);
            end.put_u64_le(end64_at);
            end.put_u32_le(1);
        }
        end.put_u32_le(END);
        end.put_u16_le(0);
        end.put_u16_le(0);
        let short_count = if zip64 { 0xFFFF } else { count as u16 };
        end.put_u16_le(short_count);
        end.put_u16_le(short_count);
        end.put_u32_le(if zip64 {
            MAX32 as u32
        } else {
            central_len as u32
        });
        end.put_u32_le(if zip64 {
            MAX32 as u32
        } else {
            central_at as u32
        });
        end.put_u16_le(0);
        push(Piece::Bytes(end.freeze()), &mut pieces, &mut at);
        Self { pieces, size: at }
    }

    /// The file's length in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// What makes up bytes `range` of the file (within its size), in order.
    pub fn slices(&self, range: Range<u64>) -> Vec<Slice> {
        let end = range.end.min(self.size);
        let mut out = Vec::new();
        // The last piece that starts at or before the range's start.
        let first = self
            .pieces
            .partition_point(|(start, _)| *start <= range.start)
            .saturating_sub(1);
        for (start, piece) in &self.pieces[first..] {
            if *start >= end {
                break;
            }
            let from = range.start.max(*start) - start;
            let to = (end - start).min(piece.len());
            if from >= to {
                continue;
            }
            out.push(match piece {
                Piece::Bytes(b) => Slice::Bytes(b.slice(from as usize..to as usize)),
                Piece::Blob { name, .. } => Slice::Blob {
                    name: name.clone(),
                    range: from..to,
                },
            });
        }
        out
    }
}

fn local_header(entry: &Entry, modified: DosTime) -> BytesMut {
    let zip64 = entry.size >= MAX32;
    let mut out = BytesMut::new();
    out.put_u32_le(LOCAL);
    out.put_u16_le(if zip64 { VERSION64 } else { VERSION });
    put_fields(&mut out, entry, modified, zip64);
    out.put_u16_le(entry.name.len() as u16);
    out.put_u16_le(if zip64 { 20 } else { 0 });
    out.put_slice(entry.name.as_bytes());
    if zip64 {
        out.put_u16_le(1);
        out.put_u16_le(16);
        out.put_u64_le(entry.size);
        out.put_u64_le(entry.size);
    }
    out
}

/// The fields local and central headers share: flags (none: sizes and CRC
/// are in the header), method (stored), time, date, CRC-32 and both sizes
/// (0xFFFFFFFF when the ZIP64 extra holds them).
fn put_fields(out: &mut BytesMut, entry: &Entry, modified: DosTime, zip64: bool) {
    out.put_u16_le(0);
    out.put_u16_le(0);
    out.put_u16_le(modified.time);
    out.put_u16_le(modified.date);
    out.put_u32_le(entry.crc32);
    let size = if zip64 {
        MAX32 as u32
    } else {
        entry.size as u32
    };
    out.put_u32_le(size);
    out.put_u32_le(size);
}

fn central_header(out: &mut BytesMut, entry: &Entry, modified: DosTime, offset: u64) {
    let big_size = entry.size >= MAX32;
    let big_offset = offset >= MAX32;
    let mut extra = BytesMut::new();
    if big_size || big_offset {
        let mut fields = BytesMut::new();
        if big_size {
            fields.put_u64_le(entry.size);
            fields.put_u64_le(entry.size);
        }
        if big_offset {
            fields.put_u64_le(offset);
        }
        extra.put_u16_le(1);
        extra.put_u16_le(fields.len() as u16);
        extra.put_slice(&fields);
    }
    let version = if extra.is_empty() { VERSION } else { VERSION64 };
    out.put_u32_le(CENTRAL);
    out.put_u16_le(version); // made by: MS-DOS attributes, this version
    out.put_u16_le(version);
    put_fields(out, entry, modified, big_size);
    out.put_u16_le(entry.name.len() as u16);
    out.put_u16_le(extra.len() as u16);
    out.put_u16_le(0); // comment
    out.put_u16_le(0); // disk
    out.put_u16_le(0); // internal attributes
    out.put_u32_le(0); // external attributes
    out.put_u32_le(if big_offset {
        MAX32 as u32
    } else {
        offset as u32
    });
    out.put_slice(entry.name.as_bytes());
    out.put_slice(&extra);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> (Layout, Vec<u8>) {
        let blob = Sha256Hex::of_digest([7; 32]);
        let entries = vec![
            Entry {
                name: "archive/a.warc".into(),
                size: 5,
                crc32: crc32fast::hash(b"hello"),
                body: Body::Blob(blob),
            },
            Entry::bytes("pages/pages.jsonl", Bytes::from_static(b"{}\n")),
        ];
        let layout = Layout::new(&entries, DosTime::of_rfc3339("2026-12-06T10:20:31Z"));
        let whole = read(&layout, 0..layout.size());
        (layout, whole)
    }

    /// Bytes `range` of the layout, its one blob being `hello`.
    fn read(layout: &Layout, range: Range<u64>) -> Vec<u8> {
        let mut out = Vec::new();
        for slice in layout.slices(range) {
            match slice {
                Slice::Bytes(b) => out.extend_from_slice(&b),
                Slice::Blob { range, .. } => {
                    out.extend_from_slice(&b"hello"[range.start as usize..range.end as usize])
                }
            }
        }
        out
    }

    #[test]
    fn any_range_is_the_same_bytes_as_the_whole() {
        let (layout, whole) = layout();
        assert_eq!(whole.len() as u64, layout.size());
        for start in 0..whole.len() as u64 {
            for end in start..=whole.len() as u64 {
                let mut part = Vec::new();
                for slice in layout.slices(start..end) {
                    match slice {
                        Slice::Bytes(b) => part.extend_from_slice(&b),
                        Slice::Blob { range, .. } => part
                            .extend_from_slice(&b"hello"[range.start as usize..range.end as usize]),
                    }
                }
                assert_eq!(part, whole[start as usize..end as usize]);
            }
        }
    }

    #[test]
    fn headers_name_the_entries_where_they_are() {
        let (_, whole) = layout();
        assert_eq!(&whole[..4], b"PK\x03\x04");
        assert_eq!(&whole[30..44], b"archive/a.warc");
        assert_eq!(&whole[44..49], b"hello");
        let end = &whole[whole.len() - 22..];
        assert_eq!(&end[..4], b"PK\x05\x06");
        assert_eq!(u16::from_le_bytes([end[10], end[11]]), 2);
        let central_at = u32::from_le_bytes([end[16], end[17], end[18], end[19]]) as usize;
        assert_eq!(&whole[central_at..central_at + 4], b"PK\x01\x02");
    }

    /// Past 4 GiB, Python's zipfile (another reader) finds every entry
    /// where the ZIP64 records say. The big entry is a hole in a sparse file:
    /// its CRC is of zeros, which is what the hole reads as.
    #[test]
    fn past_four_gib_python_reads_the_zip64_records() {
        use std::io::{Seek, SeekFrom, Write};
        if std::process::Command::new("python3")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("SKIPPED: no python3");
            return;
        }
        let big: u64 = (1 << 32) + 10;
        let mut crc = crc32fast::Hasher::new();
        let zeros = vec![0u8; 1 << 20];
        let mut left = big;
        while left > 0 {
            let n = left.min(zeros.len() as u64) as usize;
            crc.update(&zeros[..n]);
            left -= n as u64;
        }
        let entries = vec![
            Entry {
                name: "archive/big.warc".into(),
                size: big,
                crc32: crc.finalize(),
                body: Body::Blob(Sha256Hex::of_digest([1; 32])),
            },
            Entry::bytes("pages/pages.jsonl", Bytes::from_static(b"{}\n")),
        ];
        let layout = Layout::new(&entries, DosTime::of_rfc3339("2026-12-06T10:20:31Z"));
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big.zip");
        let mut file = std::fs::File::create(&path).expect("file");
        let mut at = 0u64;
        for slice in layout.slices(0..layout.size()) {
            match slice {
                Slice::Bytes(b) => {
                    file.seek(SeekFrom::Start(at)).expect("seek");
                    file.write_all(&b).expect("write");
                    at += b.len() as u64;
                }
                Slice::Blob { range, .. } => at += range.end - range.start,
            }
        }
        file.set_len(layout.size()).expect("length");
        drop(file);
        let script = "import json, sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nprint(json.dumps({'entries': [[i.filename, i.file_size, i.header_offset] for i in z.infolist()], 'pages': z.read('pages/pages.jsonl').decode()}))";
        let out = std::process::Command::new("python3")
            .args(["-c", script])
            .arg(&path)
            .output()
            .expect("python3");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let read: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(
            read["entries"][0],
            serde_json::json!(["archive/big.warc", big, 0])
        );
        assert_eq!(read["entries"][1][0], "pages/pages.jsonl");
        // After the big entry's header (30 + name + ZIP64 extra) and bytes.
        assert_eq!(read["entries"][1][2], serde_json::json!(30 + 16 + 20 + big));
        assert_eq!(read["pages"], "{}\n");
    }

    #[test]
    fn dos_times_keep_two_second_steps() {
        let t = DosTime::of_rfc3339("2026-12-06T10:20:31Z");
        assert_eq!(t.date, ((2026 - 1980) << 9) | (12 << 5) | 6);
        assert_eq!(t.time, (10 << 11) | (20 << 5) | 15);
        assert_eq!(DosTime::of_rfc3339("nonsense").date, 33);
    }
}
