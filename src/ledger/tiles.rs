//! The log as C2SP tlog-tiles: tiles of height 8 of the tree's hashes
//! (`tile/<L>/<N>[.p/<W>]`) and entry bundles of the leaves
//! (`tile/entries/<N>[.p/<W>]`, each leaf as a 2-byte big-endian length and
//! its bytes). A full tile never changes; a partial one (`.p/<W>`, W < 256)
//! is the same bytes for the same W forever too. The hashes come from the
//! stored-hash table through the tlog tile math of `tlog_tiles` (Go sumdb's
//! tiling, whose paths differ: the C2SP paths are made here).

use diesel::prelude::*;
use tlog_tiles::Tile;
use tlog_tiles::tlog::HASH_SIZE;

use super::LedgerError;
use super::cache::HashCache;
use super::hashes::StoredHashes;
use super::store::to_i64;
use crate::db::DbConnection;
use crate::db::schema::ledger_entries;

/// Tiles are 2^8 = 256 hashes or entries wide.
pub const HEIGHT: u8 = 8;
pub const WIDTH: u64 = 1 << HEIGHT;

/// A tile coordinate, C2SP style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TileRef {
    /// `None` for an entry bundle, else the tile's level.
    pub level: Option<u8>,
    pub n: u64,
    /// 1..=256; 256 is a full tile.
    pub width: u32,
}

impl TileRef {
    /// Whether the tile's last hash or entry is within a tree of `size`.
    pub fn within(&self, size: u64) -> bool {
        let available = match self.level {
            None => size,
            Some(level) => size >> (u32::from(level) * u32::from(HEIGHT)),
        };
        self.n
            .checked_mul(WIDTH)
            .and_then(|start| start.checked_add(u64::from(self.width)))
            .is_some_and(|end| end <= available)
    }

    pub fn is_full(&self) -> bool {
        u64::from(self.width) == WIDTH
    }

    /// The C2SP path, `tile/…`.
    pub fn path(&self) -> String {
        let mut n = self.n;
        let mut digits = format!("{:03}", n % 1000);
        while n >= 1000 {
            n /= 1000;
            digits = format!("x{:03}/{digits}", n % 1000);
        }
        let level = match self.level {
            None => "entries".to_owned(),
            Some(l) => l.to_string(),
        };
        let partial = if self.is_full() {
            String::new()
        } else {
            format!(".p/{}", self.width)
        };
        format!("tile/{level}/{digits}{partial}")
    }

    /// Parses a C2SP tile path (after `tile/`); `None` for anything not in
    /// its one canonical form.
    pub fn parse(tail: &str) -> Option<Self> {
        let (body, width) = match tail.split_once(".p/") {
            Some((body, w)) => {
                let width: u32 = canonical_number(w)?;
                if !(1..WIDTH as u32).contains(&width) {
                    return None;
                }
                (body, width)
            }
            None => (tail, WIDTH as u32),
        };
        let mut parts = body.split('/');
        let level = match parts.next()? {
            "entries" => None,
            l => {
                let level: u8 = canonical_number(l)?;
                if level > 63 {
                    return None;
                }
                Some(level)
            }
        };
        let elements: Vec<&str> = parts.collect();
        let (last, prefixes) = elements.split_last()?;
        let mut n: u64 = 0;
        for element in prefixes {
            let digits = element.strip_prefix('x')?;
            n = n.checked_mul(1000)?.checked_add(three_digits(digits)?)?;
        }
        n = n.checked_mul(1000)?.checked_add(three_digits(last)?)?;
        // No leading zero groups: x000/001 is not a path of tile 1.
        if prefixes.first().is_some_and(|p| *p == "x000") {
            return None;
        }
        Some(TileRef { level, n, width })
    }
}

fn three_digits(text: &str) -> Option<u64> {
    (text.len() == 3 && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn canonical_number<T: std::str::FromStr>(text: &str) -> Option<T> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    canonical.then(|| text.parse().ok()).flatten()
}

/// The tile's bytes while the log reaches it (`None` past its end).
pub fn read_within_log(
    conn: &mut DbConnection,
    ledger: &super::Ledger,
    tile: TileRef,
) -> Result<Option<Vec<u8>>, LedgerError> {
    if !tile.within(ledger.size(conn)?.0) {
        return Ok(None);
    }
    read(conn, ledger.hashes(), tile).map(Some)
}

/// The tile's bytes: `width` hashes of 32 bytes, or the entry bundle.
/// The caller has checked that the tile is within the log.
pub fn read(
    conn: &mut DbConnection,
    cache: &HashCache,
    tile: TileRef,
) -> Result<Vec<u8>, LedgerError> {
    match tile.level {
        Some(level) => {
            let t = Tile::new(HEIGHT, level, tile.n, tile.width, false);
            let data = t
                .read_data(&StoredHashes::new(conn, cache))
                .map_err(|e| LedgerError::Tree(e.to_string()))?;
            debug_assert_eq!(data.len(), tile.width as usize * HASH_SIZE);
            Ok(data)
        }
        None => {
            let start = to_i64(tile.n * WIDTH)?;
            let end = start + i64::from(tile.width);
            let leaves: Vec<String> = ledger_entries::table
                .filter(ledger_entries::idx.ge(start))
                .filter(ledger_entries::idx.lt(end))
                .order(ledger_entries::idx.asc())
                .select(ledger_entries::leaf)
                .load(conn)?;
            if leaves.len() != tile.width as usize {
                return Err(LedgerError::Corrupt(format!(
                    "entries {start}..{end} are not all stored"
                )));
            }
            let mut bundle = Vec::with_capacity(leaves.iter().map(|l| l.len() + 2).sum());
            for leaf in leaves {
                let len = u16::try_from(leaf.len())
                    .map_err(|_| LedgerError::Corrupt("a leaf longer than 65535 bytes".into()))?;
                bundle.extend_from_slice(&len.to_be_bytes());
                bundle.extend_from_slice(leaf.as_bytes());
            }
            Ok(bundle)
        }
    }
}

/// The tiles a tree of `new_size` has that one of `old_size` did not (full
/// tiles completed since, and the new partial tiles), hash tiles and entry
/// bundles: what an export adds.
pub fn new_tiles(old_size: u64, new_size: u64) -> Vec<TileRef> {
    let mut tiles: Vec<TileRef> = Tile::new_tiles(HEIGHT, old_size, new_size)
        .into_iter()
        .map(|t| TileRef {
            level: Some(t.level()),
            n: t.level_index(),
            width: t.width(),
        })
        .collect();
    let (old_n, new_n) = (old_size / WIDTH, new_size / WIDTH);
    for n in old_n..new_n {
        tiles.push(TileRef {
            level: None,
            n,
            width: WIDTH as u32,
        });
    }
    let rest = new_size % WIDTH;
    if rest > 0 && new_size != old_size {
        tiles.push(TileRef {
            level: None,
            n: new_n,
            width: rest as u32,
        });
    }
    tiles
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_the_c2sp_ones_and_only_those() {
        let t = |level, n, width| TileRef { level, n, width };
        for (tile, path) in [
            (t(Some(0), 0, 256), "tile/0/000"),
            (t(Some(1), 1234067, 256), "tile/1/x001/x234/067"),
            (t(Some(0), 1234067, 8), "tile/0/x001/x234/067.p/8"),
            (t(None, 5, 256), "tile/entries/005"),
            (t(None, 1000, 17), "tile/entries/x001/000.p/17"),
        ] {
            assert_eq!(tile.path(), path);
            assert_eq!(
                TileRef::parse(path.strip_prefix("tile/").expect("prefix")),
                Some(tile)
            );
        }
        for bad in [
            "0/5",
            "0/0005",
            "0/x000/005",
            "0/005.p/0",
            "0/005.p/256",
            "0/005.p/07",
            "00/005",
            "64/000",
            "0/1234",
            "data/000",
            "0/x1/000",
            "entries/",
            "0/005/",
        ] {
            assert_eq!(TileRef::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_tile_is_within_the_log_only_when_all_of_it_is() {
        let t = |level, n, width| TileRef { level, n, width };
        assert!(t(Some(0), 0, 256).within(256));
        assert!(!t(Some(0), 0, 256).within(255));
        assert!(t(Some(0), 0, 255).within(255));
        assert!(t(Some(1), 0, 1).within(256));
        assert!(!t(Some(1), 0, 2).within(511));
        assert!(t(None, 1, 4).within(260));
        assert!(!t(None, 1, 5).within(260));
        assert!(!t(Some(0), u64::MAX, 256).within(u64::MAX));
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    pub old_size: u64,
    pub size: u64,
    pub tiles: usize,
}

/// Writes the tiles a static host needs into `dir`: those the tree grew by
/// since the checkpoint already there (none there: all of them), each to a
/// temporary name then renamed, and the new checkpoint last, so a reader of
/// the directory never finds a checkpoint whose tiles are missing.
pub fn export(
    conn: &mut DbConnection,
    ledger: &super::Ledger,
    dir: &std::path::Path,
) -> Result<Exported, LedgerError> {
    let io = |e: std::io::Error| LedgerError::Corrupt(format!("{}: {e}", dir.display()));
    let checkpoint = ledger.latest_checkpoint(conn)?;
    let size = checkpoint.tree_size()?.0;
    let old_size = match std::fs::read_to_string(dir.join("checkpoint")) {
        Ok(note) => {
            let opened = super::checkpoint::open(note.as_bytes(), ledger.vkey()).map_err(|e| {
                LedgerError::Corrupt(format!("the checkpoint already in {}: {e}", dir.display()))
            })?;
            if opened.size > size {
                return Err(LedgerError::Corrupt(format!(
                    "{} holds a checkpoint of {} entries, more than the log's {size}",
                    dir.display(),
                    opened.size
                )));
            }
            opened.size
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(io(e)),
    };
    let tiles = new_tiles(old_size, size);
    for tile in &tiles {
        let data = read(conn, ledger.hashes(), *tile)?;
        write_atomically(&dir.join(tile.path()), &data).map_err(io)?;
    }
    let note = super::attestations::cosigned_note(conn, &checkpoint)?;
    write_atomically(&dir.join("checkpoint"), note.as_bytes()).map_err(io)?;
    Ok(Exported {
        old_size,
        size,
        tiles: tiles.len(),
    })
}

fn write_atomically(path: &std::path::Path, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let parent = path
        .parent()
        .ok_or_else(|| std::io::Error::other("a tile path has no folder"))?;
    std::fs::create_dir_all(parent)?;
    let temporary = parent.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("tile")
    ));
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(data)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}
