//! `sourceledger verify --tiles URL_OR_DIR`: the log checked from its C2SP
//! tlog-tiles alone (a static host, an object store, an exported folder):
//! the checkpoint's signature against the vkey; the tree hash rebuilt
//! through the hash tiles, each tile authenticated against the signed root
//! as it is read; every leaf of the entry bundles re-hashed into the signed
//! root; and, with `--state`, the checkpoint consistent with the one
//! accepted before, proven from the hash tiles.

use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;

use tlog_tiles::tlog::{self, Hash};
use tlog_tiles::{Tile, TileHashReader, TileReader};

use super::{Accepted, Failure, State, trouble};
use crate::ledger::checkpoint::{self, VerifiedCheckpoint};
use crate::ledger::tiles::{HEIGHT, TileRef, WIDTH};

pub struct FromTiles {
    pub vkey: String,
    pub witnesses: super::Witnessing,
    /// A base URL (`https://…`) or a folder.
    pub source: String,
    /// For entry bundles served to readers only.
    pub token: Option<String>,
    pub state: Option<PathBuf>,
}

/// Where the tiles come from.
struct Source {
    base: String,
    token: Option<String>,
    agent: Option<ureq::Agent>,
    /// Why the last read failed, for the message (the tile reader's error
    /// type has no room for it).
    last_error: RefCell<Option<String>>,
}

impl Source {
    fn new(base: &str, token: Option<String>) -> Self {
        let remote = base.starts_with("http://") || base.starts_with("https://");
        let agent = remote.then(|| {
            ureq::Agent::config_builder()
                .timeout_global(Some(std::time::Duration::from_secs(60)))
                .http_status_as_error(false)
                .build()
                .new_agent()
        });
        Source {
            base: base.trim_end_matches('/').to_owned(),
            token,
            agent,
            last_error: RefCell::new(None),
        }
    }

    /// The bytes at `path`, or `None` when there are none.
    fn fetch(&self, path: &str) -> Result<Option<Vec<u8>>, Failure> {
        let Some(agent) = &self.agent else {
            let file = std::path::Path::new(&self.base).join(path);
            return match std::fs::read(&file) {
                Ok(bytes) => Ok(Some(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(trouble(format!("{}: {e}", file.display()))),
            };
        };
        let mut request = agent.get(&format!("{}/{path}", self.base));
        if let Some(token) = &self.token {
            request = request.header("Authorization", &format!("Bearer {token}"));
        }
        let mut response = request
            .call()
            .map_err(|e| trouble(format!("GET {path}: {e}")))?;
        match response.status().as_u16() {
            200 => response
                .body_mut()
                .with_config()
                .limit(64 * 1024 * 1024)
                .read_to_vec()
                .map(Some)
                .map_err(|e| trouble(format!("GET {path}: {e}"))),
            404 => Ok(None),
            other => Err(trouble(format!("GET {path}: status {other}"))),
        }
    }

    fn required(&self, path: &str) -> Result<Vec<u8>, Failure> {
        self.fetch(path)?
            .ok_or_else(|| Failure::Refused(format!("{path} is missing")))
    }
}

impl TileReader for Source {
    fn height(&self) -> u8 {
        HEIGHT
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, tlog::Error> {
        tiles
            .iter()
            .map(|t| {
                let path = TileRef {
                    level: Some(t.level()),
                    n: t.level_index(),
                    width: t.width(),
                }
                .path();
                match self.fetch(&path) {
                    Ok(Some(data)) if data.len() == t.width() as usize * tlog::HASH_SIZE => {
                        Ok(data)
                    }
                    Ok(Some(_)) => {
                        *self.last_error.borrow_mut() =
                            Some(format!("{path} has the wrong length"));
                        Err(tlog::Error::InvalidTile)
                    }
                    Ok(None) => {
                        *self.last_error.borrow_mut() = Some(format!("{path} is missing"));
                        Err(tlog::Error::InvalidTile)
                    }
                    Err(e) => {
                        *self.last_error.borrow_mut() = Some(e.to_string());
                        Err(tlog::Error::InvalidTile)
                    }
                }
            })
            .collect()
    }

    fn save_tiles(&self, _tiles: &[Tile], _data: &[Vec<u8>]) {}
}

/// Checks the log from its tiles; remembers the checkpoint in `--state`.
pub fn verify(opts: &FromTiles) -> Result<(), Failure> {
    let source = Source::new(&opts.source, opts.token.clone());
    let note = source.required("checkpoint")?;
    let cp = checkpoint::open(&note, &opts.vkey)
        .map_err(|e| Failure::Refused(format!("the checkpoint: {e}")))?;
    opts.witnesses.check(&note)?;
    println!(
        "checkpoint: {} entries, root {}",
        cp.size,
        hex::encode(cp.root.0)
    );
    let tiles = TileHashReader::new(cp.size, cp.root, &source);
    let tile_error = |what: &str, e: tlog::Error| {
        let why = source
            .last_error
            .borrow()
            .clone()
            .unwrap_or_else(|| e.to_string());
        Failure::Refused(format!("{what}: {why}"))
    };
    if cp.size > 0 {
        let root = tlog::tree_hash(cp.size, &tiles)
            .map_err(|e| tile_error("the hash tiles do not prove the signed root", e))?;
        if root != cp.root {
            return Err(Failure::Refused(
                "the hash tiles give another root than the signed one".into(),
            ));
        }
        println!("hash tiles: authenticated against the signed root");
    }
    let mut state = match &opts.state {
        Some(path) => State::load(path)?,
        None => State::default(),
    };
    if let Some(previous) = state.checkpoints.get(&cp.origin) {
        let old_root = hex::decode(&previous.root)
            .ok()
            .and_then(|r| <[u8; 32]>::try_from(r).ok())
            .ok_or_else(|| trouble("the state file's root is not 32 bytes of hex"))?;
        consistent(&tiles, previous.size, Hash(old_root), &cp).map_err(|e| match e {
            Failure::Refused(m) => Failure::Refused(m),
            other => other,
        })?;
        println!(
            "consistent with the checkpoint accepted before ({} entries)",
            previous.size
        );
    } else {
        println!(
            "no checkpoint accepted before for {}: trusting this one from now on",
            cp.origin
        );
    }
    rehash_bundles(&source, &cp, &tiles)?;
    let accepted = Accepted {
        size: cp.size,
        root: hex::encode(cp.root.0),
        note: String::from_utf8_lossy(&note).into_owned(),
    };
    state.accept(cp.origin.clone(), accepted, opts.state.as_deref())
}

fn consistent(
    tiles: &TileHashReader,
    old_size: u64,
    old_root: Hash,
    cp: &VerifiedCheckpoint,
) -> Result<(), Failure> {
    use crate::ledger::proof::{Growth, compare_heads};
    match compare_heads(old_size, &old_root.0, cp.size, &cp.root.0) {
        Err(broken) => return Err(Failure::Refused(broken.to_string())),
        Ok(Growth::NothingToProve) => return Ok(()),
        Ok(Growth::NeedsProof) => {}
    }
    let proof = tlog::prove_tree(cp.size, old_size, tiles)
        .map_err(|e| Failure::Refused(format!("no consistency proof from the tiles: {e}")))?;
    tlog::check_tree(&proof, cp.size, cp.root, old_size, old_root).map_err(|e| {
        Failure::Refused(format!(
            "the tree of {old_size} entries accepted before is not a prefix of this one ({e}): the log was rewritten or forked"
        ))
    })
}

/// Every leaf from the entry bundles, re-hashed into the signed root, and
/// every level-0 hash tile read (authenticated against the root) and
/// compared with the leaves it stands for.
fn rehash_bundles(
    source: &Source,
    cp: &VerifiedCheckpoint,
    tiles: &TileHashReader,
) -> Result<(), Failure> {
    let mut replay = super::Replay::new();
    let mut stderr = std::io::stderr();
    let bundles = cp.size.div_ceil(WIDTH);
    for n in 0..bundles {
        let width = (cp.size - n * WIDTH).min(WIDTH);
        let path = TileRef {
            level: None,
            n,
            width: width as u32,
        }
        .path();
        let bundle = source.required(&path)?;
        let indexes: Vec<u64> = (0..width)
            .map(|i| tlog::stored_hash_index(0, n * WIDTH + i))
            .collect();
        let tiled = tlog::HashReader::read_hashes(tiles, &indexes).map_err(|e| {
            let why = source
                .last_error
                .borrow()
                .clone()
                .unwrap_or_else(|| e.to_string());
            Failure::Refused(format!(
                "the hash tiles do not prove entries {}..: {why}",
                n * WIDTH
            ))
        })?;
        let mut rest = bundle.as_slice();
        for i in 0..width {
            let index = n * WIDTH + i;
            let (len, tail) = rest
                .split_first_chunk::<2>()
                .ok_or_else(|| Failure::Refused(format!("{path}: entry {index} is cut short")))?;
            let len = usize::from(u16::from_be_bytes(*len));
            if tail.len() < len {
                return Err(Failure::Refused(format!(
                    "{path}: entry {index} is cut short"
                )));
            }
            let (leaf, tail) = tail.split_at(len);
            let hash = replay.leaf(leaf)?;
            if tiled[i as usize] != hash {
                return Err(Failure::Refused(format!(
                    "entry {index}: its leaf is not the hash the hash tiles hold for it"
                )));
            }
            rest = tail;
        }
        if !rest.is_empty() {
            return Err(Failure::Refused(format!(
                "{path} holds more than its {width} entries"
            )));
        }
        let _ = write!(
            stderr,
            "\rre-hashed {}/{} leaves",
            (n * WIDTH + width),
            cp.size
        );
    }
    let _ = writeln!(stderr);
    replay.finish(cp, "leaves of the entry bundles")
}
