//! The log as C2SP tlog-tiles: `GET /checkpoint` and `GET /tile/…`. Hash
//! tiles are public (hashes say nothing of the records); entry bundles hold
//! the records themselves, so they are for readers (subscribers and staff),
//! like `/v1/ledger/entries`. Full tiles are immutable and cached for a year.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::auth::MaybeCaller;
use crate::error::ApiError;
use crate::ledger::tiles::{self, TileRef};
use crate::state::AppState;

/// `GET /checkpoint`: the latest signed checkpoint, as tlog-tiles clients
/// expect it next to the tiles.
pub async fn checkpoint(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    super::ledger::latest_note(&state).await
}

/// `GET /tile/<L>/<N>[.p/<W>]` and `GET /tile/entries/<N>[.p/<W>]`.
pub async fn tile(
    state: web::Data<AppState>,
    caller: MaybeCaller,
    tail: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tail = tail.into_inner();
    let tile = TileRef::parse(&tail)
        .ok_or_else(|| ApiError::not_found(format!("no such tile: tile/{tail}")))?;
    if tile.level.is_none() {
        match &caller.0 {
            None => {
                return Err(ApiError::unauthorized(
                    "entry bundles hold the records: send a reader's token",
                ));
            }
            Some(c) if !c.is_reader() => {
                return Err(ApiError::forbidden(
                    "entry bundles are for subscribers and staff",
                ));
            }
            Some(_) => {}
        }
    }
    let st = state.clone();
    let data = state
        .db
        .run(move |conn| tiles::read_within_log(conn, &st.ledger, tile))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("tile/{tail} is past the log's end")))?;
    let cache = if tile.is_full() {
        "public, max-age=31536000, immutable"
    } else {
        // The same bytes forever, but clients move on to the full tile.
        "public, max-age=3600"
    };
    let cache = if tile.level.is_none() {
        cache.replace("public", "private")
    } else {
        cache.to_owned()
    };
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header((header::CACHE_CONTROL, cache))
        .body(data))
}
