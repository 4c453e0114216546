//! What a request for a list answers: from memory while the log has not
//! grown and the caller is known live, else built (or found built) in the
//! database; with the tag for `If-None-Match` and whether the bytes are the
//! same for every caller of the tier.

use std::sync::Arc;

use bytes::Bytes;

use super::{Outcome, SourceLists, for_caller, not_modified};
use crate::auth::{Caller, Liveness, Unconfirmed};
use crate::db::Db;
use crate::error::ApiError;
use crate::ledger::Ledger;
use crate::newsroom::citation_formats::Format;

/// The list's parts the server keeps: the log, the built lists and the
/// callers confirmed live.
#[derive(Clone)]
pub struct Lists {
    pub db: Db,
    pub ledger: Arc<Ledger>,
    pub built: Arc<SourceLists>,
    pub liveness: Arc<Liveness>,
}

/// One request for a list.
pub struct ListRequest {
    pub caller: Option<Unconfirmed>,
    pub slug: String,
    pub format: Format,
    pub if_none_match: Option<String>,
}

/// What a list request answers.
#[derive(Debug)]
pub struct Answer {
    /// The list's strong ETag.
    pub tag: String,
    /// The bytes; `None` when `If-None-Match` named the tag (304).
    pub body: Option<Bytes>,
    /// The same bytes for every caller asking the same way (anonymous
    /// callers): shared caches may keep them briefly.
    pub shared: bool,
}

impl Lists {
    /// The list as `request.caller` may see it, in `request.format`.
    pub async fn answer(&self, request: ListRequest) -> Result<Answer, ApiError> {
        let shared = request.caller.is_none();
        let outcome = match self.held_in_memory(&request) {
            Some(outcome) => outcome,
            None => self.built_in_database(request).await?,
        };
        Ok(match outcome {
            Outcome::NotModified(tag) => Answer {
                tag,
                body: None,
                shared,
            },
            Outcome::Body(tag, body) => Answer {
                tag,
                body: Some(body),
                shared,
            },
        })
    }

    /// Straight from memory while the log has not grown: this process wrote
    /// nothing since the size was read, at most a second ago (other
    /// processes' writes show within that second), and the caller is
    /// anonymous or was confirmed live before with nothing revoked since
    /// ([`Liveness`]).
    fn held_in_memory(&self, request: &ListRequest) -> Option<Outcome> {
        let writes = self.db.writes();
        let confirmed = match &request.caller {
            None => None,
            Some(unconfirmed) => Some(unconfirmed.confirmed_in_memory(&self.liveness)?),
        };
        let full = confirmed.as_ref().is_some_and(Caller::is_reader);
        let staff = confirmed.as_ref().is_some_and(Caller::is_staff);
        let size = self.built.known_size(writes)?;
        let (tag, body) = self
            .built
            .held(&request.slug, full, staff, request.format, size)?;
        Some(if not_modified(request.if_none_match.as_deref(), &tag) {
            Outcome::NotModified(tag)
        } else {
            Outcome::Body(tag, body)
        })
    }

    /// Confirms the caller and builds the list, or finds it built, in the
    /// database; remembers the log's size and the caller's liveness.
    async fn built_in_database(&self, request: ListRequest) -> Result<Outcome, ApiError> {
        let writes = self.db.writes();
        let generation = self.liveness.generation();
        let (ledger, built) = (self.ledger.clone(), self.built.clone());
        let (outcome, size, confirmed) = self
            .db
            .run(move |conn| {
                for_caller(
                    conn,
                    &ledger,
                    &built,
                    request.caller,
                    &request.slug,
                    request.format,
                    request.if_none_match.as_deref(),
                )
            })
            .await?;
        self.built.record_size(size, writes);
        if let Some(caller) = confirmed {
            self.liveness
                .remember(caller.subject, caller.role, generation);
        }
        Ok(outcome)
    }
}
