//! Group commit: writes that arrive together commit together.
//!
//! Every request that appends to the log hands its work to one writer thread
//! per process. The thread takes whatever has queued since its last commit (up
//! to [`MAX_GROUP`] items), runs each item inside a savepoint of one
//! transaction that holds the log's write lock, and commits once: one durable
//! sync for the whole group. An item that fails rolls back to its savepoint and
//! fails alone; the others commit. Nobody hears back before the commit that
//! holds their write has returned, so an acknowledged write is durable, and a
//! record still commits in the same transaction as its entry.
//!
//! Work that cannot fail but for the database (a new source, checked and
//! encoded before it got here) may run without a savepoint of its own
//! ([`GroupCommitter::append`]): if it fails after all, its whole group rolls
//! back and every caller in it hears why, so nothing half-written commits.
//! On PostgreSQL a savepoint is a subtransaction and two round trips; a group
//! of many becomes one that PostgreSQL must track past its cache of 64.
//!
//! There is no waiting for a group to fill: while one group syncs, the next
//! queues, so a group is as large as the load makes it and a lone write goes
//! through at once. Across processes sharing a PostgreSQL database the head
//! row stays the arbiter: each process's group takes its lock in turn.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::mpsc;

use diesel::Connection;

use super::LedgerError;
use super::store::Sequencer;
use crate::db::health::{self, Fault};
use crate::db::{Db, DbConnection, Unavailable};

/// The most items one transaction carries.
pub const MAX_GROUP: usize = 128;

/// What a group's items are, to the writer thread: run inside a savepoint,
/// then told how the commit went.
trait Item: Send {
    /// Runs the work; `false` when it failed, and its savepoint must roll back.
    fn run(&mut self, conn: &mut DbConnection, seq: &mut Sequencer) -> bool;
    /// The group committed: the item's own outcome goes back to its caller.
    fn committed(self: Box<Self>);
    /// The group did not commit: a successful item reports why instead.
    fn lost(self: Box<Self>, why: GroupFailure);
    /// Whether the item runs in a savepoint of its own, so that its failure
    /// is its alone; when not, its failure fails the group.
    fn isolated(&self) -> bool;
}

/// Why a whole group failed to commit, for the log line and the answer: the
/// storage fault it showed, if any, and whether its transaction had begun
/// (if not, nothing of it can have committed).
#[derive(Debug, Clone)]
struct GroupFailure {
    why: String,
    fault: Option<Fault>,
    begun: bool,
}

impl GroupFailure {
    fn new(why: impl Into<String>, fault: Option<Fault>) -> Self {
        Self {
            why: why.into(),
            fault,
            begun: true,
        }
    }
}

struct Job<T, E, F> {
    work: Option<F>,
    isolated: bool,
    outcome: Option<Result<T, E>>,
    reply: tokio::sync::oneshot::Sender<Result<T, E>>,
}

impl<T, E, F> Item for Job<T, E, F>
where
    F: FnOnce(&mut DbConnection, &mut Sequencer) -> Result<T, E> + Send,
    T: Send,
    E: From<LedgerError> + Send,
{
    fn run(&mut self, conn: &mut DbConnection, seq: &mut Sequencer) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let outcome = work(conn, seq);
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn committed(self: Box<Self>) {
        if let Some(outcome) = self.outcome {
            // A caller that has gone away (its client disconnected) no longer
            // needs the answer; the write stands.
            let _ = self.reply.send(outcome);
        }
    }

    fn lost(self: Box<Self>, why: GroupFailure) {
        let outcome = match self.outcome {
            Some(Err(own)) => Err(own),
            _ => Err(E::from(why.into())),
        };
        let _ = self.reply.send(outcome);
    }

    fn isolated(&self) -> bool {
        self.isolated
    }
}

impl From<GroupFailure> for LedgerError {
    fn from(failure: GroupFailure) -> Self {
        let GroupFailure { why, fault, begun } = failure;
        LedgerError::Unavailable(match (begun, fault) {
            (false, _) => Unavailable::Unreachable(why),
            (true, Some(Fault::DiskFull)) => Unavailable::DiskFull(why),
            (true, Some(Fault::Unreachable)) => Unavailable::Cut(why),
            (true, _) => Unavailable::Lost(why),
        })
    }
}

/// An item's savepoint rolled back on purpose, an item without one failed
/// (the group rolls back), or the database failed.
enum Rollback {
    Item,
    Unisolated,
    Db(diesel::result::Error),
}

impl From<diesel::result::Error> for Rollback {
    fn from(e: diesel::result::Error) -> Self {
        Rollback::Db(e)
    }
}

/// What a committed group looked like, for the metrics.
#[derive(Debug, Clone, Copy)]
pub struct GroupStats {
    pub items: usize,
    pub failed: usize,
    /// From taking the log's lock to the commit's return, the sync to disk
    /// included.
    pub seconds: f64,
}

/// Hands writes to the process's writer thread. Dropping it lets the thread
/// finish what is queued and waits for it, so the database is closed when
/// the application state that owns this is gone.
pub struct GroupCommitter {
    queue: Option<mpsc::Sender<Box<dyn Item>>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Hung up on drop: the checkpointer stops.
    stop_checkpoints: Option<mpsc::Sender<()>>,
    checkpointer: Option<std::thread::JoinHandle<()>>,
}

impl Drop for GroupCommitter {
    fn drop(&mut self) {
        drop(self.queue.take());
        drop(self.stop_checkpoints.take());
        for thread in [self.thread.take(), self.checkpointer.take()]
            .into_iter()
            .flatten()
        {
            let _ = thread.join();
        }
    }
}

/// How often the WAL is checkpointed (SQLite), off the writer's thread.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(250);

/// Checkpoints the WAL every [`CHECKPOINT_EVERY`] until `stop` hangs up.
/// A failure is logged once, not every 250 ms while it lasts (a full disk
/// fails every checkpoint that must grow the database file), and so is its
/// end.
fn checkpointer(db: Db, stop: mpsc::Receiver<()>) {
    let mut failing = false;
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(CHECKPOINT_EVERY) {
        let done = db
            .get()
            .map_err(|e| e.to_string())
            .and_then(|mut conn| crate::db::checkpoint_wal(&mut conn).map_err(|e| e.to_string()));
        match done {
            Err(error) if !failing => {
                failing = true;
                tracing::warn!(%error, "the WAL checkpoint failed; it is tried again every 250 ms");
            }
            Ok(()) if failing => {
                failing = false;
                tracing::info!("the WAL checkpoint succeeds again");
            }
            _ => {}
        }
    }
}

impl GroupCommitter {
    /// Starts the writer thread on `db` (and on SQLite the WAL checkpointer);
    /// `on_commit` hears of every committed group. Fails when a thread cannot
    /// be started: a server without them could not write.
    pub fn start(
        db: Db,
        on_commit: Arc<dyn Fn(GroupStats) + Send + Sync>,
    ) -> std::io::Result<Self> {
        let (queue, items) = mpsc::channel::<Box<dyn Item>>();
        let (stop_checkpoints, stop) = mpsc::channel::<()>();
        let checkpointer = if db.backend() != "sqlite" {
            None
        } else {
            let db = db.clone();
            Some(
                std::thread::Builder::new()
                    .name("wal-checkpointer".into())
                    .spawn(move || checkpointer(db, stop))?,
            )
        };
        let thread = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || writer(db, items, on_commit))?;
        Ok(Self {
            queue: Some(queue),
            thread: Some(thread),
            stop_checkpoints: Some(stop_checkpoints),
            checkpointer,
        })
    }

    /// Runs `work` in the next group's transaction, with the log's sequencer,
    /// in a savepoint of its own, and answers once that transaction has
    /// committed (or failed).
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection, &mut Sequencer) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<LedgerError> + Send + 'static,
    {
        self.send(work, true).await
    }

    /// Like [`GroupCommitter::write`], for work that fails only when the
    /// database does (everything a request could get wrong was checked
    /// before): no savepoint of its own, and if it fails after all, its
    /// whole group rolls back and each of its callers hears why.
    pub async fn append<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection, &mut Sequencer) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<LedgerError> + Send + 'static,
    {
        self.send(work, false).await
    }

    async fn send<T, E, F>(&self, work: F, isolated: bool) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection, &mut Sequencer) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<LedgerError> + Send + 'static,
    {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job: Box<dyn Item> = Box::new(Job {
            work: Some(work),
            isolated,
            outcome: None,
            reply,
        });
        let sent = self.queue.as_ref().map(|queue| queue.send(job));
        if !matches!(sent, Some(Ok(()))) {
            return Err(E::from(LedgerError::Unavailable(Unavailable::WorkerGone)));
        }
        answer
            .await
            .unwrap_or_else(|_| Err(E::from(LedgerError::Unavailable(Unavailable::WorkerGone))))
    }
}

fn writer(
    db: Db,
    items: mpsc::Receiver<Box<dyn Item>>,
    on_commit: Arc<dyn Fn(GroupStats) + Send + Sync>,
) {
    while let Ok(first) = items.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match items.try_recv() {
                Ok(item) => group.push(item),
                Err(_) => break,
            }
        }
        // A panic in one item's work (a bug) takes its group down: each
        // caller's reply is dropped and answers 500; the connection, in an
        // unknown state, is discarded by the pool; the thread goes on.
        let committed = std::panic::catch_unwind(AssertUnwindSafe(|| commit_group(&db, group)));
        match committed {
            Ok(Some(stats)) => on_commit(stats),
            Ok(None) => {}
            Err(_) => tracing::error!("a write panicked; its group was rolled back"),
        }
    }
}

/// Runs one group in one transaction; `None` when it did not commit.
fn commit_group(db: &Db, mut group: Vec<Box<dyn Item>>) -> Option<GroupStats> {
    let mut conn = match db.get() {
        Ok(conn) => conn,
        Err(e) => {
            let why = GroupFailure {
                why: e.to_string(),
                fault: Some(Fault::Unreachable),
                begun: false,
            };
            group.into_iter().for_each(|item| item.lost(why.clone()));
            return None;
        }
    };
    let mut failed = 0;
    let started = std::time::Instant::now();
    health::take_noted();
    let done = conn.transaction(|conn| -> Result<u64, Rollback> {
        let mut seq = Sequencer::lock(conn).map_err(ledger_to_rollback)?;
        for item in group.iter_mut() {
            if !item.isolated() {
                if !item.run(conn, &mut seq) {
                    return Err(Rollback::Unisolated);
                }
                continue;
            }
            let mark = seq.mark();
            let ran = conn.transaction(|conn| match item.run(conn, &mut seq) {
                true => Ok(()),
                false => Err(Rollback::Item),
            });
            match ran {
                Ok(()) => {}
                Err(Rollback::Item) => {
                    seq.rewind(mark).map_err(ledger_to_rollback)?;
                    failed += 1;
                }
                Err(e) => return Err(e),
            }
        }
        seq.finish(conn).map_err(ledger_to_rollback)
    });
    match done {
        Ok(appended) => {
            db.write_count().note(appended);
            if appended > 0 {
                health::wrote();
            }
            let stats = GroupStats {
                items: group.len(),
                failed,
                seconds: started.elapsed().as_secs_f64(),
            };
            group.into_iter().for_each(Item::committed);
            Some(stats)
        }
        Err(e) => {
            let why = match e {
                Rollback::Db(e) => GroupFailure::new(
                    format!("the group's transaction failed: {e}"),
                    health::classify(&e),
                ),
                // The item's own error, made on this thread, noted the
                // fault it showed (a full disk on PostgreSQL's insert).
                Rollback::Unisolated => GroupFailure::new(
                    "a write in the group failed; the group rolled back",
                    health::take_noted(),
                ),
                // Only an item's own savepoint ever rolls back for Item.
                Rollback::Item => GroupFailure::new("the group's transaction rolled back", None),
            };
            match why.fault {
                // A storage fault is logged once as it begins (by `health`,
                // as each answer is made), not once per group.
                Some(_) => {}
                None => tracing::error!(
                    items = group.len(),
                    reason = ?why,
                    "a group of writes did not commit"
                ),
            }
            group.into_iter().for_each(|item| item.lost(why.clone()));
            None
        }
    }
}

fn ledger_to_rollback(e: LedgerError) -> Rollback {
    match e {
        LedgerError::Db(e) => Rollback::Db(e),
        other => Rollback::Db(diesel::result::Error::QueryBuilderError(
            other.to_string().into(),
        )),
    }
}
