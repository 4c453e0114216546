//! `sourceledger verify`: checks what a server claims, trusting nothing but the
//! publisher's vkey. It speaks only the HTTP contract and checks with the
//! ledger's pure functions, so it works against any conforming server.

pub mod export;
pub mod list;
mod replay;
pub mod tiles;
pub mod wacz;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ledger::checkpoint::{self, VerifiedCheckpoint};
use crate::ledger::proof::{Growth, compare_heads, verify_consistency};
pub(crate) use replay::Replay;

/// Why a run failed: the claims did not hold (exit 1), or the run could not be
/// made (exit 2).
#[derive(Debug)]
pub enum Failure {
    Refused(String),
    Trouble(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Refused(m) => write!(f, "REFUSED: {m}"),
            Failure::Trouble(m) => write!(f, "{m}"),
        }
    }
}

fn trouble(m: impl std::fmt::Display) -> Failure {
    Failure::Trouble(m.to_string())
}

/// A vkey given as itself or as a file holding it.
pub fn read_vkey(value: &str) -> Result<String, Failure> {
    let path = Path::new(value);
    let vkey = if path.is_file() {
        std::fs::read_to_string(path).map_err(|e| trouble(format!("{value}: {e}")))?
    } else {
        value.to_owned()
    };
    let vkey = vkey.trim().to_owned();
    signed_note::StandardVerifier::new(&vkey)
        .map_err(|_| trouble("the vkey is not a signed-note Ed25519 verifier key"))?;
    Ok(vkey)
}

fn print_report(report: &list::ListReport) {
    for line in &report.lines {
        println!("  {line}");
    }
    for failure in &report.failures {
        println!("  FAILED {failure}");
    }
}

/// Offline: a saved source list.
pub fn offline(vkey: &str, file: &Path) -> Result<(), Failure> {
    let text =
        std::fs::read_to_string(file).map_err(|e| trouble(format!("{}: {e}", file.display())))?;
    let list: Value = serde_json::from_str(&text)
        .map_err(|e| trouble(format!("{}: not JSON: {e}", file.display())))?;
    let report = list::check(&list, vkey);
    println!("{}:", file.display());
    print_report(&report);
    if report.ok() {
        println!("OK: every fact shown is in the log the publisher signed");
        println!(
            "(offline, this cannot show that each fact is still the latest, nor that none was left out: check online with --state for the log's history)"
        );
        Ok(())
    } else {
        Err(Failure::Refused(format!(
            "{} check(s) failed",
            report.failures.len().max(1)
        )))
    }
}

/// What a verifier remembers between runs: the last checkpoint it accepted, per origin.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    pub checkpoints: BTreeMap<String, Accepted>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Accepted {
    pub size: u64,
    pub root: String,
    pub note: String,
}

impl State {
    pub(crate) fn load(path: &Path) -> Result<State, Failure> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                serde_json::from_str(&text).map_err(|e| trouble(format!("{}: {e}", path.display())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(trouble(format!("{}: {e}", path.display()))),
        }
    }

    /// Remembers `accepted` as the checkpoint of `origin` now trusted, in the
    /// state file when there is one, and says OK.
    pub(crate) fn accept(
        &mut self,
        origin: String,
        accepted: Accepted,
        path: Option<&Path>,
    ) -> Result<(), Failure> {
        self.checkpoints.insert(origin, accepted);
        if let Some(path) = path {
            self.save(path)?;
        }
        println!("OK");
        Ok(())
    }

    pub(crate) fn save(&self, path: &Path) -> Result<(), Failure> {
        let text = serde_json::to_string_pretty(self).map_err(trouble)?;
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text)
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(|e| trouble(format!("{}: {e}", path.display())))
    }
}

/// The witnesses a reader trusts, and how many of them must have cosigned
/// the checkpoint (`--witness VKEY ... --quorum N`).
#[derive(Debug, Clone, Default)]
pub struct Witnessing {
    pub keys: Vec<crate::ledger::cosignature::CosignatureVerifier>,
    pub quorum: usize,
}

impl Witnessing {
    /// Reads `--witness` values (each a vkey or a file holding one).
    pub fn read(values: &[String], quorum: Option<usize>) -> Result<Self, Failure> {
        let keys = values
            .iter()
            .map(|value| {
                let path = Path::new(value);
                let vkey = if path.is_file() {
                    std::fs::read_to_string(path)
                        .map_err(|e| trouble(format!("{}: {e}", path.display())))?
                } else {
                    value.clone()
                };
                crate::ledger::cosignature::CosignatureVerifier::new(vkey.trim()).map_err(trouble)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let quorum = quorum.unwrap_or(keys.len());
        if quorum > keys.len() {
            return Err(trouble(format!(
                "--quorum {quorum} is more than the {} witnesses given",
                keys.len()
            )));
        }
        Ok(Self { keys, quorum })
    }

    /// Refuses a checkpoint with fewer valid cosignatures than the quorum.
    pub fn check(&self, note: &[u8]) -> Result<(), Failure> {
        if self.keys.is_empty() {
            return Ok(());
        }
        let found = crate::ledger::cosignature::verified(note, &self.keys);
        if found.len() < self.quorum {
            return Err(Failure::Refused(format!(
                "the checkpoint carries {} valid cosignature(s) of the {} witnesses given; {} required",
                found.len(),
                self.keys.len(),
                self.quorum
            )));
        }
        println!(
            "witnessed: {} of {} witnesses cosigned (quorum {})",
            found.len(),
            self.keys.len(),
            self.quorum
        );
        Ok(())
    }
}

pub struct Online {
    pub vkey: String,
    pub witnesses: Witnessing,
    pub url: String,
    pub token: String,
    pub article: Option<String>,
    pub all: bool,
    pub state: Option<PathBuf>,
    /// The TSA's certificate, to check the newest time stamp against.
    pub tsa_cert: Option<PathBuf>,
}

/// A body and the `Content-Location` it came with.
struct Located {
    body: Vec<u8>,
    location: Option<String>,
}

struct Client {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl Client {
    fn get(&self, path: &str, auth: bool) -> Result<String, Failure> {
        let url = format!("{}{path}", self.base);
        let mut request = self.agent.get(&url);
        if auth {
            request = request.header("Authorization", &format!("Bearer {}", self.token));
        }
        let mut response = request
            .call()
            .map_err(|e| trouble(format!("GET {path}: {e}")))?;
        response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| trouble(format!("GET {path}: {e}")))
    }

    /// A public binary resource and its `Content-Location`; `None` on 404.
    fn bytes(&self, path: &str) -> Result<Option<Located>, Failure> {
        let url = format!("{}{path}", self.base);
        let mut response = match self.agent.get(&url).call() {
            Ok(response) => response,
            Err(ureq::Error::StatusCode(404)) => return Ok(None),
            Err(e) => return Err(trouble(format!("GET {path}: {e}"))),
        };
        let location = response
            .headers()
            .get("content-location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .body_mut()
            .with_config()
            .limit(1024 * 1024)
            .read_to_vec()
            .map_err(|e| trouble(format!("GET {path}: {e}")))?;
        Ok(Some(Located { body, location }))
    }

    fn json(&self, path: &str, auth: bool) -> Result<Value, Failure> {
        serde_json::from_str(&self.get(path, auth)?)
            .map_err(|e| trouble(format!("GET {path}: not JSON: {e}")))
    }
}

fn hashes(value: &Value) -> Result<Vec<Vec<u8>>, Failure> {
    value
        .as_array()
        .ok_or_else(|| Failure::Refused("a proof is not a list".into()))?
        .iter()
        .map(|h| {
            h.as_str()
                .and_then(|s| hex::decode(s).ok())
                .ok_or_else(|| Failure::Refused("a proof hash is not hex".into()))
        })
        .collect()
}

/// Requires a valid consistency proof from `old` to `new`, fetched from the server.
fn require_consistency(
    client: &Client,
    old: (u64, &[u8]),
    new: &VerifiedCheckpoint,
) -> Result<(), Failure> {
    let (old_size, old_root) = old;
    match compare_heads(old_size, old_root, new.size, &new.root.0) {
        Err(broken) => return Err(Failure::Refused(broken.to_string())),
        Ok(Growth::NothingToProve) => return Ok(()),
        Ok(Growth::NeedsProof) => {}
    }
    let proof = client.json(
        &format!(
            "/v1/ledger/proof/consistency?first={old_size}&second={}",
            new.size
        ),
        false,
    )?;
    verify_consistency(old_size, new.size, old_root, &new.root.0, &hashes(&proof["proof"])?).map_err(|e| {
        Failure::Refused(format!(
            "no valid consistency proof from {old_size} to {} ({e}): the log was rewritten or forked",
            new.size
        ))
    })
}

/// Online: a live server, remembering the last accepted checkpoint.
pub fn online(opts: &Online) -> Result<(), Failure> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(120)))
        .build()
        .into();
    let client = Client {
        base: opts.url.trim_end_matches('/').to_owned(),
        token: opts.token.clone(),
        agent,
    };
    let mut state = match &opts.state {
        Some(path) => State::load(path)?,
        None => State::default(),
    };

    // The source list first, so the checkpoint fetched after covers it.
    let list = match &opts.article {
        Some(slug) => Some(client.json(&format!("/v1/articles/{slug}/sources"), true)?),
        None => None,
    };

    let note = client.get("/v1/ledger/checkpoint", false)?;
    let latest = checkpoint::open(note.as_bytes(), &opts.vkey)
        .map_err(|e| Failure::Refused(format!("the checkpoint: {e}")))?;
    opts.witnesses.check(note.as_bytes())?;
    println!(
        "checkpoint: {} entries, root {}",
        latest.size,
        hex::encode(latest.root.0)
    );
    if let Some(previous) = state.checkpoints.get(&latest.origin) {
        let root =
            hex::decode(&previous.root).map_err(|_| trouble("the state file's root is not hex"))?;
        require_consistency(&client, (previous.size, &root), &latest)?;
        println!(
            "consistent with the checkpoint accepted before ({} entries)",
            previous.size
        );
    } else {
        println!(
            "no checkpoint accepted before for {}: trusting this one from now on",
            latest.origin
        );
    }

    if let (Some(slug), Some(list)) = (&opts.article, &list) {
        let report = list::check(list, &opts.vkey);
        println!("article {slug}:");
        print_report(&report);
        let Some(cp) = report.checkpoint.as_ref().filter(|_| report.ok()) else {
            return Err(Failure::Refused(format!(
                "the source list of {slug} does not verify"
            )));
        };
        // The list may be proven to an older checkpoint: it must be a prefix of the latest.
        require_consistency(&client, (cp.size, cp.root.0.as_slice()), &latest)?;
    }

    if opts.all {
        rehash_all(&client, &latest)?;
    }

    if let Some(cert) = &opts.tsa_cert {
        check_timestamp(&client, &opts.vkey, cert, &latest)?;
    }

    let accepted = Accepted {
        size: latest.size,
        root: hex::encode(latest.root.0),
        note,
    };
    state.accept(latest.origin.clone(), accepted, opts.state.as_deref())
}

/// Checks the server's newest RFC 3161 time stamp: a token over a checkpoint
/// the publisher signed, which the latest checkpoint extends, signed by the
/// TSA whose certificate the reader gave.
fn check_timestamp(
    client: &Client,
    vkey: &str,
    cert: &Path,
    latest: &VerifiedCheckpoint,
) -> Result<(), Failure> {
    let cert = std::fs::read(cert).map_err(|e| trouble(format!("{}: {e}", cert.display())))?;
    let Some(Located {
        body: reply,
        location,
    }) = client.bytes("/v1/ledger/checkpoint/timestamp")?
    else {
        return Err(Failure::Refused(
            "the server has no RFC 3161 time stamp for any checkpoint".into(),
        ));
    };
    let size = location
        .as_deref()
        .and_then(|l| l.rsplit_once("size="))
        .and_then(|(_, n)| n.parse::<u64>().ok())
        .ok_or_else(|| trouble("the time stamp does not name its checkpoint's size"))?;
    if size == 0 {
        return Err(Failure::Refused("a time stamp for an empty log".into()));
    }
    let page = client.json(
        &format!("/v1/ledger/checkpoints?after={}&limit=1", size - 1),
        false,
    )?;
    let note = page["checkpoints"][0]["note"]
        .as_str()
        .ok_or_else(|| Failure::Refused(format!("no checkpoint of size {size} is served")))?;
    let stamped = checkpoint::open(note.as_bytes(), vkey)
        .map_err(|e| Failure::Refused(format!("the time-stamped checkpoint: {e}")))?;
    if stamped.size != size {
        return Err(Failure::Refused(format!(
            "the time stamp names size {size}, the checkpoint served for it has {}",
            stamped.size
        )));
    }
    let digest = crate::ledger::timestamp::imprint(note);
    let at = crate::ledger::timestamp::verify(&reply, &digest, &cert)
        .map_err(|e| Failure::Refused(format!("the time stamp of size {size}: {e}")))?;
    require_consistency(client, (stamped.size, stamped.root.0.as_slice()), latest)?;
    println!(
        "time-stamped: the first {size} entries existed by {} (RFC 3161, by the TSA certificate given)",
        at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    Ok(())
}

/// Downloads every leaf up to the checkpoint, re-hashes it and recomputes the root.
fn rehash_all(client: &Client, cp: &VerifiedCheckpoint) -> Result<(), Failure> {
    const PAGE: u64 = 1000;
    let mut replay = Replay::new();
    let mut stderr = std::io::stderr();
    while replay.count() < cp.size {
        let next = replay.count();
        let limit = PAGE.min(cp.size - next);
        let page = client.json(
            &format!("/v1/ledger/entries?start={next}&limit={limit}"),
            true,
        )?;
        let entries = page["entries"]
            .as_array()
            .ok_or_else(|| trouble("entries: not a list"))?;
        if entries.is_empty() {
            return Err(Failure::Refused(format!(
                "the server has no entry {next} below its checkpoint {}",
                cp.size
            )));
        }
        for entry in entries.iter().take((cp.size - next) as usize) {
            let index = replay.count();
            if entry["index"].as_u64() != Some(index) {
                return Err(Failure::Refused(format!(
                    "expected entry {index}, got {}",
                    entry["index"]
                )));
            }
            let leaf = entry["leaf"]
                .as_str()
                .ok_or_else(|| Failure::Refused(format!("entry {index} has no leaf")))?;
            let hash = replay.leaf(leaf.as_bytes())?;
            if entry["leaf_hash"].as_str() != Some(hex::encode(hash.0).as_str()) {
                return Err(Failure::Refused(format!(
                    "entry {index}: the leaf does not hash to its leaf_hash"
                )));
            }
        }
        let done = replay.count();
        let rate = replay.rate();
        let _ = write!(
            stderr,
            "\rre-hashed {done}/{} leaves ({:.0}%), {rate:.0} leaves/s   ",
            cp.size,
            100.0 * done as f64 / cp.size as f64
        );
    }
    let _ = writeln!(stderr);
    replay.finish(cp, "leaves")
}
