//! The load every fault test runs while it injects its fault, what the
//! clients saw, and the check every fault test ends with.
//!
//! Writers add sources (every third also cited in the article "durable") and
//! keep what was acknowledged; readers fetch checkpoints, inclusion proofs,
//! entries and the article's source list. Every answer is sorted: what a
//! client may meet while a dependency is down is a 503 or 507 problem with
//! `Retry-After`; anything else that is not a success is `bad`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::durability::{Acknowledged, Staff, check_after_restart};
use crate::process::{BIN, ServerProcess};

/// How long a client waits for any answer.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
/// How many `bad` answers (and transport errors) are kept.
const KEPT: usize = 20;
/// How many served checkpoints are kept (thinned evenly beyond that).
const CHECKPOINTS_KEPT: usize = 300;
/// A client told to come back later waits this long (no tight loops).
const BACKOFF: Duration = Duration::from_millis(100);

/// Every `Load` writes URLs of its own, so two loads never write the same source.
static LOADS: AtomicUsize = AtomicUsize::new(0);

/// Answers of one kind of request, by how they ended: `ok` 2xx, `refused`
/// 503 or 507 (come back later), `transport` no answer (connection refused
/// or reset, the client's timeout), `other` any other status.
#[derive(Clone, Copy, Debug, Default)]
pub struct Tally {
    pub ok: usize,
    pub refused: usize,
    pub transport: usize,
    pub other: usize,
}

/// What the clients saw.
#[derive(Clone, Debug, Default)]
pub struct Seen {
    /// Answers by status; 0 counts transport errors.
    pub statuses: BTreeMap<u16, usize>,
    /// The longest any request took, answered or not.
    pub slowest: Duration,
    /// Which request that was, and how it ended.
    pub slowest_request: String,
    /// Answers no client should ever get (the first 20): a 5xx other than
    /// 503 or 507, an error that is not `application/problem+json`, a 503 or
    /// 507 without `Retry-After`.
    pub bad: Vec<String>,
    /// The first 20 transport errors, with their request.
    pub transport_errors: Vec<String>,
    /// Writes (`POST /v1/sources`, `POST .../citations`).
    pub writes: Tally,
    /// Reads.
    pub reads: Tally,
}

impl Seen {
    fn record(&mut self, write: bool, what: &str, outcome: &Outcome, took: Duration) {
        let status = outcome.as_ref().map_or(0, |r| r.status);
        *self.statuses.entry(status).or_default() += 1;
        if took > self.slowest {
            self.slowest = took;
            self.slowest_request = format!("{what} -> {status} after {took:?}");
        }
        let tally = if write {
            &mut self.writes
        } else {
            &mut self.reads
        };
        match outcome {
            Err(error) => {
                tally.transport += 1;
                if self.transport_errors.len() < KEPT {
                    self.transport_errors
                        .push(format!("{what}: {error} after {took:?}"));
                }
            }
            Ok(reply) => {
                match reply.status {
                    200..=299 => tally.ok += 1,
                    503 | 507 => tally.refused += 1,
                    _ => tally.other += 1,
                }
                if let Some(why) = reply.wrong()
                    && self.bad.len() < KEPT
                {
                    let body: String = reply.text.chars().take(400).collect();
                    self.bad.push(format!(
                        "{what} -> {} ({why}; content-type {:?}, retry-after {:?}): {body}",
                        reply.status, reply.content_type, reply.retry_after
                    ));
                }
            }
        }
    }
}

/// A reply as the load client keeps it.
struct Reply {
    status: u16,
    body: Value,
    text: String,
    content_type: Option<String>,
    retry_after: Option<String>,
}

impl Reply {
    fn read(mut response: ureq::http::Response<ureq::Body>) -> Result<Reply, ureq::Error> {
        let header = |name: &str| {
            let value = response.headers().get(name)?;
            value.to_str().ok().map(str::to_owned)
        };
        let (content_type, retry_after) = (header("content-type"), header("retry-after"));
        let status = response.status().as_u16();
        let body = response.body_mut().with_config().limit(64 << 20);
        let text = body.read_to_string()?;
        Ok(Reply {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
            content_type,
            retry_after,
        })
    }

    /// Why this answer is one no client should get, if it is.
    fn wrong(&self) -> Option<&'static str> {
        let problem = self
            .content_type
            .as_deref()
            .is_some_and(|t| t.starts_with("application/problem+json"));
        match self.status {
            500..=599 if !matches!(self.status, 503 | 507) => Some("a server error"),
            400..=599 if !problem => Some("an error that is not problem+json"),
            503 | 507 if self.retry_after.is_none() => Some("no Retry-After"),
            _ => None,
        }
    }
}

/// A reply, or why there was none.
type Outcome = Result<Reply, String>;

/// What the threads share.
#[derive(Default)]
struct Shared {
    writes: Mutex<Vec<Value>>,
    acknowledged: AtomicUsize,
    /// Served checkpoints by size.
    checkpoints: Mutex<BTreeMap<u64, String>>,
    /// Everything seen, and what was seen since the last `window()`.
    seen: Mutex<(Seen, Seen)>,
}

impl Shared {
    fn record(&self, write: bool, what: &str, outcome: &Outcome, took: Duration) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.0.record(write, what, outcome, took);
            seen.1.record(write, what, outcome, took);
        }
    }

    /// Keeps a write as soon as it was acknowledged.
    fn acknowledge(&self, write: Value) {
        if let Ok(mut writes) = self.writes.lock() {
            writes.push(write);
            self.acknowledged.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn served(&self, text: &str) {
        let Some(size) = text.lines().nth(1).and_then(|l| l.parse::<u64>().ok()) else {
            return;
        };
        if let Ok(mut kept) = self.checkpoints.lock() {
            kept.entry(size).or_insert_with(|| text.to_owned());
            if kept.len() > CHECKPOINTS_KEPT {
                // Every other one goes: what stays still spans the run.
                let sizes: Vec<u64> = kept.keys().copied().collect();
                for size in sizes.iter().skip(1).step_by(2) {
                    kept.remove(size);
                }
            }
        }
    }
}

/// Writers and readers against one server, until [`Load::stop`].
pub struct Load {
    stop: Arc<AtomicBool>,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Load {
    /// `writers` threads writing (`POST /v1/sources`; every third source also
    /// cited: `POST /v1/articles/durable/citations`) and `readers` threads
    /// reading (the checkpoint, an inclusion proof, an entry and the
    /// article's source list) against `server` until [`Load::stop`]. Every
    /// request has a client timeout of 30 s.
    pub fn start(server: &ServerProcess, staff: &Staff, writers: usize, readers: usize) -> Load {
        let load = LOADS.fetch_add(1, Ordering::SeqCst);
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared::default());
        let threads = (0..writers + readers)
            .map(|i| {
                let (stop, shared) = (stop.clone(), shared.clone());
                let (base, token) = (server.url(), staff.journalist.clone());
                std::thread::spawn(move || {
                    let client = Client::new(&base, &token, &shared);
                    match i.checked_sub(writers) {
                        None => write(&client, &format!("{load}/{i}"), &stop),
                        Some(reader) => read(&client, reader, &stop),
                    }
                })
            })
            .collect();
        Load {
            stop,
            shared,
            threads,
        }
    }

    /// Writes acknowledged so far (sources and citations).
    pub fn acknowledged(&self) -> usize {
        self.shared.acknowledged.load(Ordering::SeqCst)
    }

    /// Waits until at least `n` writes were acknowledged; false if not `within`.
    pub fn wait_for_acknowledged(&self, n: usize, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while self.acknowledged() < n {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }

    /// What was seen so far.
    pub fn seen(&self) -> Seen {
        self.shared
            .seen
            .lock()
            .map(|s| s.0.clone())
            .unwrap_or_default()
    }

    /// What was seen since the last call (or the start), and a new window
    /// begun: what a test measures over one fault.
    pub fn window(&self) -> Seen {
        self.shared
            .seen
            .lock()
            .map(|mut s| std::mem::take(&mut s.1))
            .unwrap_or_default()
    }

    /// Stops the clients (each finishes the request it is in) and answers
    /// what was acknowledged, with the checkpoints served, and what was seen.
    pub fn stop(mut self) -> (Acknowledged, Seen) {
        self.join();
        let writes = std::mem::take(&mut *self.shared.writes.lock().expect("writes"));
        let kept = std::mem::take(&mut *self.shared.checkpoints.lock().expect("checkpoints"));
        let checkpoints = kept.into_values().collect();
        let acked = Acknowledged {
            writes,
            checkpoints,
        };
        (acked, self.seen())
    }

    fn join(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.join();
    }
}

/// One client thread's connection to the server, recording what it sees.
struct Client<'a> {
    agent: ureq::Agent,
    base: String,
    token: String,
    shared: &'a Shared,
}

impl<'a> Client<'a> {
    fn new(base: &str, token: &str, shared: &'a Shared) -> Client<'a> {
        let config = ureq::Agent::config_builder().timeout_global(Some(CLIENT_TIMEOUT));
        let agent = config.http_status_as_error(false).build().into();
        let (base, token) = (base.to_owned(), token.to_owned());
        Client {
            agent,
            base,
            token,
            shared,
        }
    }

    /// A GET, as the journalist when `staff`, else anonymous.
    fn get(&self, path: &str, staff: bool) -> Option<Reply> {
        let mut req = self.agent.get(format!("{}{path}", self.base));
        if staff {
            req = req.header("Authorization", format!("Bearer {}", self.token));
        }
        self.timed("GET", path, || req.call())
    }

    /// A POST of `body` as the journalist.
    fn post(&self, path: &str, body: &Value) -> Option<Reply> {
        let req = self.agent.post(format!("{}{path}", self.base));
        let req = req.header("Authorization", format!("Bearer {}", self.token));
        self.timed("POST", path, || req.send_json(body))
    }

    /// Sends, reads the whole answer, and records it with how long it took.
    fn timed(
        &self,
        method: &str,
        path: &str,
        send: impl FnOnce() -> Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Option<Reply> {
        let started = Instant::now();
        let outcome = send().and_then(Reply::read).map_err(|e| e.to_string());
        let what = format!("{method} {path}");
        let write = method == "POST";
        self.shared
            .record(write, &what, &outcome, started.elapsed());
        outcome.ok()
    }
}

/// A writer: sources, every third cited, until `stop`.
fn write(client: &Client, name: &str, stop: &AtomicBool) {
    for n in 0.. {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let source = json!({"url": format!("https://source.example/{name}/{n}"), "title": format!("Source {name}/{n}"), "publisher": "P", "kind": "document", "language": "en"});
        let made = client.post("/v1/sources", &source);
        let Some(made) = made.filter(|m| m.status == 201) else {
            std::thread::sleep(BACKOFF);
            continue;
        };
        client.shared.acknowledge(made.body.clone());
        if n % 3 == 0 {
            let citation = json!({"source_id": made.body["id"], "claim": format!("claim {name}/{n}"), "locator": "p1"});
            match client.post("/v1/articles/durable/citations", &citation) {
                Some(cited) if cited.status == 201 => client
                    .shared
                    .acknowledge(cited.body["citations"][0].clone()),
                _ => std::thread::sleep(BACKOFF),
            }
        }
    }
}

/// A reader: the checkpoint, a proof of an entry in it, that entry, and now
/// and then the article's source list, until `stop`.
fn read(client: &Client, reader: usize, stop: &AtomicBool) {
    let ok = |reply: Option<Reply>| reply.is_some_and(|r| r.status == 200);
    let mut size = 0u64;
    for n in 0u64.. {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let mut refused = false;
        match client.get("/v1/ledger/checkpoint", false) {
            Some(cp) if cp.status == 200 => {
                client.shared.served(&cp.text);
                if let Some(s) = cp.text.lines().nth(1).and_then(|l| l.parse().ok()) {
                    size = s;
                }
            }
            _ => refused = true,
        }
        if size > 0 {
            let index = (n * 7919 + reader as u64 * 104_729) % size;
            let proof = format!("/v1/ledger/proof/inclusion?index={index}&tree_size={size}");
            refused |= !ok(client.get(&proof, false));
            refused |= !ok(client.get(&format!("/v1/ledger/entries/{index}"), true));
        }
        if n % 4 == 0 {
            refused |= !ok(client.get("/v1/articles/durable/sources", true));
        }
        if refused {
            std::thread::sleep(BACKOFF);
        }
    }
}

/// The check every fault test ends with, on `server` (data dir `data_dir`,
/// database `database_url`, or SQLite in the data dir): every acknowledged
/// write is there, every served checkpoint is a prefix, the log verifies
/// (`sourceledger verify --all`, `/v1/audit/verify`); then the log exported
/// as tiles holds every acknowledged entry and Go's sumdb tile code proves
/// every entry included and served sizes prefixes.
pub fn verify_everything(
    server: &ServerProcess,
    staff: &Staff,
    acked: &Acknowledged,
    vkey: &str,
    database_url: Option<&str>,
    data_dir: &Path,
) {
    check_after_restart(server, staff, acked, vkey);

    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().join("tiles");
    let mut command = std::process::Command::new(BIN);
    command
        .args(["tiles", "export"])
        .arg(&dir)
        .env("SOURCELEDGER_DATA_DIR", data_dir)
        .env_remove("SOURCELEDGER_DATABASE_URL")
        .env_remove("DATABASE_URL");
    if let Some(url) = database_url {
        command.env("SOURCELEDGER_DATABASE_URL", url);
    }
    let out = command.output().expect("tiles export");
    assert!(out.status.success(), "tiles export: {}", said(&out));
    let size_of = |note: &[u8]| match sourceledger::ledger::checkpoint::open(note, vkey) {
        Ok(checkpoint) => checkpoint.size,
        Err(e) => panic!("a checkpoint does not verify: {e:?}"),
    };
    let size = size_of(&std::fs::read(dir.join("checkpoint")).expect("exported checkpoint"));
    let last = (acked.writes.iter())
        .filter_map(|w| w["ledger_index"].as_u64())
        .max();
    assert!(
        last.is_none_or(|i| i < size),
        "the exported log ({size} entries) lacks acknowledged entry {last:?}"
    );
    let mut served: Vec<u64> = (acked.checkpoints.iter())
        .map(|t| size_of(t.as_bytes()))
        .collect();
    served.sort_unstable();
    served.dedup();
    assert!(
        served.last().is_none_or(|l| *l <= size),
        "the exported log ({size}) is smaller than a served checkpoint ({served:?})"
    );
    eprintln!(
        "verified: {} acknowledged writes, {} served checkpoints, {size} entries exported as tiles",
        acked.writes.len(),
        served.len()
    );

    if !crate::interop_go::go_available() {
        return;
    }
    // A few served sizes, spread over the run, each proven a prefix.
    let older: Vec<u64> = served
        .into_iter()
        .filter(|s| (1..size).contains(s))
        .collect();
    let k = older.len().min(6);
    let mut picked: Vec<String> = (0..k)
        .map(|i| older[i * (older.len() - 1) / (k - 1).max(1)].to_string())
        .collect();
    picked.dedup();
    let out = crate::interop_go::go_run("tilecheck", work.path())
        .arg(&dir)
        .arg(vkey)
        .args(&picked)
        .output()
        .expect("go run tilecheck");
    let said = said(&out);
    let ok = format!(
        "OK: {size} entries included in the tree of {size}, {} consistency proofs",
        picked.len()
    );
    assert!(out.status.success(), "Go refused the tiles: {said}");
    assert!(said.starts_with(&ok), "{said}");
}

fn said(out: &std::process::Output) -> String {
    let (stdout, stderr) = (&out.stdout, &out.stderr);
    String::from_utf8_lossy(&[&stdout[..], &stderr[..]].concat()).into_owned()
}
