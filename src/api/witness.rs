//! This server as a witness of other logs (C2SP tlog-witness): its key, and
//! `POST /witness/add-checkpoint`.

use actix_web::{HttpResponse, get, post, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorCode, Problem};
use crate::state::AppState;
use crate::witness::{MAX_REQUEST_BYTES, Refusal, WitnessError};

#[derive(Serialize, ToSchema)]
pub struct WitnessKey {
    /// The witness's name, as its cosignature lines carry it.
    name: String,
    /// C2SP tlog-cosignature verifier key: `<name>+<hex key id>+<base64(0x04 || public key)>`.
    vkey: String,
}

/// This server's witness key: what another newsroom puts in its
/// `SOURCELEDGER_WITNESSES` to be witnessed by this server.
#[utoipa::path(
    operation_id = "get_witness_key",
    tag = "witness",
    responses((status = 200, body = WitnessKey))
)]
#[get("/v1/witness/key")]
pub async fn key(state: web::Data<AppState>) -> web::Json<WitnessKey> {
    web::Json(WitnessKey {
        name: state.witness.name().to_owned(),
        vkey: state.witness.verifier_key(),
    })
}

/// C2SP tlog-witness `add-checkpoint`: cosigns a checkpoint of a log this
/// server witnesses (`SOURCELEDGER_WITNESS_FOR`) when it extends the last one
/// cosigned. 409 with `text/x.tlog.size` names the size to prove from.
#[utoipa::path(
    operation_id = "add_checkpoint",
    tag = "witness",
    request_body(content = String, content_type = "text/plain", description = "`old N`, the consistency proof lines, an empty line, the signed checkpoint"),
    responses(
        (status = 200, content_type = "text/plain", body = String, description = "the cosignature line"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json", description = "no valid signature by the log's key"),
        (status = 404, body = Problem, content_type = "application/problem+json", description = "a log this server does not witness"),
        (status = 409, description = "the size last cosigned (`text/x.tlog.size`), or a fork (problem+json)", content(
            (String = "text/x.tlog.size"),
            (Problem = "application/problem+json"),
        )),
        (status = 413, body = Problem, content_type = "application/problem+json"),
        (status = 422, body = Problem, content_type = "application/problem+json", description = "the consistency proof does not verify"),
    )
)]
#[post("/witness/add-checkpoint")]
pub async fn add_checkpoint(
    state: web::Data<AppState>,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    use futures_util::StreamExt;
    // Read no more than the spec's bound: a larger body is refused at its
    // first byte past it, never buffered whole.
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::new(ErrorCode::InvalidBody, "the request body could not be read")
        })?;
        if body.len() + chunk.len() > MAX_REQUEST_BYTES {
            return Err(ApiError::payload_too_large(MAX_REQUEST_BYTES));
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    let now = u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0);
    let st = state.clone();
    let outcome = state
        .db
        .run(move |conn| {
            Ok::<_, crate::db::Unavailable>(st.witness.add_checkpoint(conn, &body, now))
        })
        .await?;
    match outcome {
        Ok(line) => Ok(HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(line)),
        Err(WitnessError::Refused(Refusal::Stale(size))) => Ok(HttpResponse::Conflict()
            .content_type(crate::error::TLOG_SIZE)
            .body(format!("{size}\n"))),
        Err(WitnessError::Refused(refusal)) => {
            Err(ApiError::new(refusal.code(), refusal.to_string()))
        }
        Err(WitnessError::Db(error)) => Err(error.into()),
    }
}
