//! The ledger endpoints of SPEC "The ledger".

use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::page_limit;
use crate::auth::{Allowed, Read};
use crate::error::{ApiError, Problem};
use crate::ledger::{self, Hash, Index, LedgerError, TreeSize, attestations, store};
use crate::state::AppState;
use crate::time::Timestamp;

fn hex_list(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(ledger::hex_hash).collect()
}

/// A ledger range error names the query field at fault.
fn in_field(field: &'static str) -> impl Fn(LedgerError) -> ApiError {
    move |error| match error {
        LedgerError::OutOfRange(detail) => ApiError::invalid_field(field, detail),
        other => other.into(),
    }
}

/// The latest signed checkpoint (C2SP tlog-checkpoint in a signed note). One
/// fetched after a write has returned covers that write.
#[utoipa::path(
    operation_id = "get_checkpoint",
    tag = "ledger",
    responses((status = 200, content_type = "text/plain", body = String, description = "signed note"))
)]
#[get("/v1/ledger/checkpoint")]
pub async fn checkpoint(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    latest_note(&state).await
}

/// The latest checkpoint's signed note, never cached: this route's and
/// tlog-tiles' `/checkpoint`.
pub(super) async fn latest_note(state: &web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    let note = state
        .db
        .run(move |conn| crate::witness::submit::latest_note(conn, &st.ledger))
        .await?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-cache"))
        .body(note))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TimestampQuery {
    /// The checkpoint's size; without it, the newest checkpoint that has a
    /// time stamp.
    size: Option<u64>,
}

/// The RFC 3161 time-stamp reply kept for a checkpoint: the whole
/// TimeStampResp (DER) of the TSA in `SOURCELEDGER_TSA_URL`, over SHA-256 of
/// the checkpoint's signed text (the note above its blank line).
/// `Content-Location` names the checkpoint's size.
#[utoipa::path(
    operation_id = "get_checkpoint_timestamp",
    tag = "ledger",
    params(TimestampQuery),
    responses(
        (status = 200, content_type = "application/timestamp-reply", description = "TimeStampResp, DER"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "no time stamp kept for that checkpoint (yet)"),
    )
)]
#[get("/v1/ledger/checkpoint/timestamp")]
pub async fn checkpoint_timestamp(
    state: web::Data<AppState>,
    query: web::Query<TimestampQuery>,
) -> Result<HttpResponse, ApiError> {
    let size = query.size;
    let row = state
        .db
        .run(move |conn| attestations::timestamp(conn, size).map_err(in_field("size")))
        .await?
        .ok_or_else(|| match size {
            Some(size) => ApiError::not_found(format!(
                "no time stamp is kept for the checkpoint of size {size}"
            )),
            None => ApiError::not_found("no checkpoint has a time stamp yet"),
        })?;
    // A size's reply never changes; the newest is looked up again each time.
    let cache = match size {
        Some(_) => "public, max-age=31536000, immutable",
        None => "no-cache",
    };
    Ok(HttpResponse::Ok()
        .content_type(ledger::timestamp::REPLY_TYPE)
        .insert_header(("Cache-Control", cache))
        .insert_header((
            "Content-Location",
            format!("/v1/ledger/checkpoint/timestamp?size={}", row.size),
        ))
        .body(row.reply))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CheckpointsQuery {
    /// Only checkpoints of a larger size than this (the `next` of the previous page).
    after: Option<u64>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct CheckpointItem {
    size: u64,
    /// Lowercase hex.
    root_hash: String,
    /// The signed note text, with the witnesses' cosignatures kept for it.
    note: String,
    /// Whether the configured quorum of witnesses has cosigned it (false
    /// when the log has no witnesses).
    witnessed: bool,
    /// The time an RFC 3161 time-stamping authority stated for it, when one
    /// has (`GET /v1/ledger/checkpoint/timestamp?size=` gives the token).
    timestamped_at: Option<Timestamp>,
}

#[derive(Serialize, ToSchema)]
pub struct CheckpointList {
    /// Oldest first.
    checkpoints: Vec<CheckpointItem>,
    /// Pass as `after` for the next page; null on the last page.
    next: Option<u64>,
}

/// Every signed checkpoint, oldest first.
#[utoipa::path(
    operation_id = "list_checkpoints",
    tag = "ledger",
    params(CheckpointsQuery),
    responses(
        (status = 200, body = CheckpointList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/ledger/checkpoints")]
pub async fn checkpoints(
    state: web::Data<AppState>,
    query: web::Query<CheckpointsQuery>,
) -> Result<web::Json<CheckpointList>, ApiError> {
    let limit = page_limit(query.limit)?;
    let after = query.after;
    let witnesses = state.witnesses.vkeys();
    let needed = state.witnesses.quorum;
    let history = state
        .db
        .run(move |conn| {
            let quorum = attestations::Quorum {
                witnesses: &witnesses,
                needed,
            };
            attestations::history(conn, after, limit, quorum)
        })
        .await?;
    let checkpoints: Vec<CheckpointItem> = history
        .into_iter()
        .map(|attested| CheckpointItem {
            size: u64::try_from(attested.checkpoint.size).unwrap_or_default(),
            root_hash: hex::encode(attested.checkpoint.root_hash),
            note: attested.note,
            witnessed: attested.witnessed,
            timestamped_at: attested.timestamped_at,
        })
        .collect();
    let next = (checkpoints.len() == limit as usize)
        .then(|| checkpoints.last().map(|c| c.size))
        .flatten();
    Ok(web::Json(CheckpointList { checkpoints, next }))
}

#[derive(Serialize, ToSchema)]
pub struct LedgerKey {
    origin: String,
    /// Signed-note verifier key: `<name>+<hex key id>+<base64(0x01 || public key)>`.
    vkey: String,
    algorithm: &'static str,
}

/// The publisher's public key, as a signed-note verifier key.
#[utoipa::path(
    operation_id = "get_ledger_key",tag = "ledger", responses((status = 200, body = LedgerKey)))]
#[get("/v1/ledger/key")]
pub async fn key(state: web::Data<AppState>) -> web::Json<LedgerKey> {
    web::Json(LedgerKey {
        origin: state.ledger.origin().to_owned(),
        vkey: state.ledger.vkey().to_owned(),
        algorithm: "ed25519",
    })
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct InclusionQuery {
    /// The entry's index.
    index: u64,
    /// The tree size to prove against (default: the latest checkpoint's).
    tree_size: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct InclusionProof {
    index: u64,
    tree_size: u64,
    leaf_hash: String,
    root_hash: String,
    /// RFC 9162 order: the leaf's sibling first.
    proof: Vec<String>,
}

/// Proves that entry `index` is in the tree of `tree_size` entries.
#[utoipa::path(
    operation_id = "inclusion_proof",
    tag = "ledger",
    params(InclusionQuery),
    responses(
        (status = 200, body = InclusionProof),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/ledger/proof/inclusion")]
pub async fn inclusion_proof(
    state: web::Data<AppState>,
    query: web::Query<InclusionQuery>,
) -> Result<web::Json<InclusionProof>, ApiError> {
    let InclusionQuery { index, tree_size } = query.into_inner();
    let st = state.clone();
    let proof = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let ledger = &st.ledger;
            let tree_size = ledger
                .resolve_size(conn, tree_size)
                .map_err(in_field("tree_size"))?;
            let proof = ledger
                .inclusion(conn, Index(index), tree_size)
                .map_err(in_field("index"))?;
            Ok(InclusionProof {
                index,
                tree_size: tree_size.0,
                leaf_hash: ledger::hex_hash(&proof.leaf_hash),
                root_hash: ledger::hex_hash(&proof.root),
                proof: hex_list(&proof.proof),
            })
        })
        .await?;
    Ok(web::Json(proof))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The older tree size, at least 1.
    #[param(minimum = 1)]
    first: u64,
    /// The newer tree size (default: the latest checkpoint's).
    second: Option<u64>,
}

#[derive(Serialize, ToSchema)]
pub struct ConsistencyProof {
    first: u64,
    second: u64,
    first_root: String,
    second_root: String,
    /// RFC 9162 order.
    proof: Vec<String>,
}

/// Proves that the tree of `first` entries is a prefix of the tree of `second`.
#[utoipa::path(
    operation_id = "consistency_proof",
    tag = "ledger",
    params(ConsistencyQuery),
    responses(
        (status = 200, body = ConsistencyProof),
        (status = 400, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/ledger/proof/consistency")]
pub async fn consistency_proof(
    state: web::Data<AppState>,
    query: web::Query<ConsistencyQuery>,
) -> Result<web::Json<ConsistencyProof>, ApiError> {
    let ConsistencyQuery { first, second } = query.into_inner();
    let st = state.clone();
    let proof = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let ledger = &st.ledger;
            let second = ledger
                .resolve_size(conn, second)
                .map_err(in_field("second"))?;
            let proof = ledger
                .consistency(conn, TreeSize(first), second)
                .map_err(in_field("first"))?;
            Ok(ConsistencyProof {
                first,
                second: second.0,
                first_root: ledger::hex_hash(&proof.first_root),
                second_root: ledger::hex_hash(&proof.second_root),
                proof: hex_list(&proof.proof),
            })
        })
        .await?;
    Ok(web::Json(proof))
}

#[derive(Serialize, ToSchema)]
pub struct Entry {
    index: u64,
    at: Timestamp,
    kind: String,
    actor: String,
    /// The exact leaf text: hash `0x00 || leaf` to get `leaf_hash`.
    leaf: String,
    leaf_hash: String,
}

impl From<store::EntryRow> for Entry {
    fn from(row: store::EntryRow) -> Self {
        Entry {
            index: u64::try_from(row.idx).unwrap_or_default(),
            at: row.at,
            kind: row.kind,
            actor: row.actor,
            leaf: row.leaf,
            leaf_hash: hex::encode(row.leaf_hash),
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EntriesQuery {
    /// The first index (default 0).
    start: Option<u64>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct EntryList {
    entries: Vec<Entry>,
    /// Pass as `start` for the next page; null on the last page.
    next: Option<u64>,
}

/// Ledger entries in index order (subscribers and staff).
#[utoipa::path(
    operation_id = "list_entries",
    tag = "ledger",
    params(EntriesQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = EntryList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/ledger/entries")]
pub async fn entries(
    state: web::Data<AppState>,
    _caller: Allowed<Read>,
    query: web::Query<EntriesQuery>,
) -> Result<web::Json<EntryList>, ApiError> {
    let limit = page_limit(query.limit)?;
    let start = query.start.unwrap_or(0);
    let rows = state
        .db
        .run(move |conn| store::entries(conn, start, limit))
        .await?;
    let entries: Vec<Entry> = rows.into_iter().map(Entry::from).collect();
    let next = (entries.len() == limit as usize)
        .then(|| entries.last().map(|e| e.index + 1))
        .flatten();
    Ok(web::Json(EntryList { entries, next }))
}

/// One ledger entry (subscribers and staff).
#[utoipa::path(
    operation_id = "get_entry",
    tag = "ledger",
    params(("index" = u64, Path, description = "the entry's index")),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Entry),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/ledger/entries/{index}")]
pub async fn entry(
    state: web::Data<AppState>,
    _caller: Allowed<Read>,
    index: web::Path<u64>,
) -> Result<web::Json<Entry>, ApiError> {
    let index = index.into_inner();
    let row = state
        .db
        .run(move |conn| store::entry(conn, index))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no entry {index}")))?;
    Ok(web::Json(row.into()))
}
