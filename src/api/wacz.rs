//! Web archives (WACZ, SPEC "Web archives (WACZ)"): the public key this
//! server signs its packages with.

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct WaczKey {
    /// The ECDSA P-384 public key, SPKI DER in standard base64, as a WACZ
    /// package's `signedData.publicKey` carries it.
    #[serde(rename = "publicKey")]
    public_key: String,
}

/// The key WACZ packages are signed with, to check a package's signature
/// against out of band (anyone).
#[utoipa::path(
    operation_id = "get_wacz_key",
    tag = "archives",
    responses((status = 200, body = WaczKey))
)]
#[get("/v1/wacz/key")]
pub async fn key(state: web::Data<AppState>) -> web::Json<WaczKey> {
    web::Json(WaczKey {
        public_key: state.wacz_key.public_key(),
    })
}
