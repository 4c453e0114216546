//! Whether what a token was minted for is still live: the API key not revoked
//! (and still of that role), the subscriber not deleted (a staff member
//! signed in through single sign-on has nothing here to check). Checked on every
//! authenticated request, from memory when this process confirmed the
//! subject before and nothing was revoked since ([`Liveness`]), else from the
//! database; revocation and deletion take effect at once in the process that
//! made them and within [`TRUSTED_FOR`] in every other.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;

use super::Role;
use super::keys;
use super::token::Subject;
use crate::db::schema::{auth_changes, subscribers};
use crate::db::{Db, DbConnection};

pub fn subject_is_live(
    conn: &mut DbConnection,
    subject: &Subject,
    role: Role,
) -> QueryResult<bool> {
    match subject {
        Subject::ApiKey(id) => Ok(keys::live_role(conn, id)? == Some(role)),
        Subject::Subscriber(id) => Ok(role == Role::Subscriber
            && subscribers::table
                .find(id)
                .select(subscribers::id)
                .first::<String>(conn)
                .optional()?
                .is_some()),
        // Signed in through the newsroom's OpenID provider: nothing of ours
        // to revoke; its desk session lasts until it expires or is signed
        // out (see `Subject::Staff`).
        Subject::Staff(_) => Ok(super::STAFF.contains(&role)),
    }
}

/// How often each process reads the shared change counter.
pub const POLL_EVERY: Duration = Duration::from_millis(250);

/// How long the subjects known live are trusted after the last good read of
/// the counter: past this (the database unreachable, the poller stalled)
/// every request is confirmed against the database again. This is the bound
/// on how late a revocation made by another process takes effect here.
pub const TRUSTED_FOR: Duration = Duration::from_secs(1);

/// The subjects this process has confirmed live, so that a request with a
/// token confirms it without a database round trip.
///
/// A revocation or deletion through this process calls [`Liveness::forget`]
/// once it has committed: it takes effect at once. One through another
/// process moves the `auth_changes` counter (a trigger, in its transaction);
/// a thread here reads the counter every [`POLL_EVERY`] and forgets everything
/// when it moved, and the set is not used at all when the last good read is
/// older than [`TRUSTED_FOR`]. A confirmation read from the database is only
/// remembered when nothing was forgotten while it was being read, so a read
/// that raced a revocation cannot bring the revoked subject back.
pub struct Liveness {
    inner: Arc<Inner>,
    /// Dropped to stop the poller, which is then waited for: the database is
    /// closed when the application state that owns this is gone.
    stop: Option<std::sync::mpsc::Sender<()>>,
    poller: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Liveness {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(poller) = self.poller.take() {
            let _ = poller.join();
        }
    }
}

struct Inner {
    db: Db,
    known: Mutex<Known>,
}

#[derive(Default)]
struct Known {
    /// Moves on every forget: what was read before it is not remembered.
    generation: u64,
    live: HashSet<(Subject, Role)>,
    /// The counter as last read, and when that read started.
    counter: Option<(i64, Instant)>,
}

/// Subjects remembered at most (a newsroom's staff and its readers of the
/// moment); the set starts over when full.
const MAX_KNOWN: usize = 100_000;

impl Liveness {
    /// Starts the poller on `db`; it stops, and is waited for, when this is
    /// dropped.
    pub fn start(db: Db) -> Self {
        let inner = Arc::new(Inner {
            db,
            known: Mutex::new(Known::default()),
        });
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let polled = inner.clone();
        let spawned = std::thread::Builder::new()
            .name("auth-changes".into())
            .spawn(move || {
                loop {
                    polled.poll();
                    match stopped.recv_timeout(POLL_EVERY) {
                        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                        _ => break,
                    }
                }
            });
        let poller = match spawned {
            Ok(poller) => Some(poller),
            Err(error) => {
                // Without the poller the set is never trusted: every request
                // is confirmed against the database, correct but slower.
                tracing::warn!(%error, "cannot start the auth change poller");
                None
            }
        };
        Self {
            inner,
            stop: Some(stop),
            poller,
        }
    }

    /// Whether `subject` with `role` was confirmed live and nothing has been
    /// revoked since, as far as this process can tell within [`TRUSTED_FOR`].
    pub fn known_live(&self, subject: &Subject, role: Role) -> bool {
        let Ok(known) = self.inner.known.lock() else {
            return false;
        };
        let fresh = known
            .counter
            .is_some_and(|(_, read)| read.elapsed() < TRUSTED_FOR);
        fresh && known.live.contains(&(subject.clone(), role))
    }

    /// The generation to hand to [`Liveness::remember`] after a database read.
    pub fn generation(&self) -> u64 {
        self.inner.known.lock().map(|k| k.generation).unwrap_or(0)
    }

    /// Remembers a subject the database confirmed live, unless something was
    /// forgotten since `generation` was taken (before the read).
    pub fn remember(&self, subject: Subject, role: Role, generation: u64) {
        if let Ok(mut known) = self.inner.known.lock()
            && known.generation == generation
        {
            if known.live.len() >= MAX_KNOWN {
                known.live.clear();
            }
            known.live.insert((subject, role));
        }
    }

    /// Forgets every subject: a key was revoked or a subscriber deleted.
    pub fn forget(&self) {
        if let Ok(mut known) = self.inner.known.lock() {
            known.forget();
        }
    }
}

impl Known {
    fn forget(&mut self) {
        self.generation += 1;
        self.live.clear();
    }
}

impl Inner {
    fn poll(&self) {
        // The read sees every change committed before it started: that is
        // the time it vouches for.
        let started = Instant::now();
        let read = self
            .db
            .get()
            .map_err(|e| e.to_string())
            .and_then(|mut conn| {
                auth_changes::table
                    .find(1)
                    .select(auth_changes::counter)
                    .first::<i64>(&mut *conn)
                    .map_err(|e| e.to_string())
            });
        let Ok(mut known) = self.known.lock() else {
            return;
        };
        match read {
            Ok(counter) => {
                // The first read forgets too: what was remembered before
                // there was a baseline might predate a change.
                if known.counter.is_none_or(|(before, _)| before != counter) {
                    known.forget();
                }
                known.counter = Some((counter, started));
            }
            Err(error) => {
                // Left as it was: the set goes untrusted after TRUSTED_FOR.
                tracing::debug!(%error, "cannot read the auth change counter");
            }
        }
    }
}
