//! Exchanging an API key for an access token.

use actix_web::{post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::body::Body;
use crate::auth::keys;
use crate::auth::token::{API_KEY_TOKEN_SECS, Subject, TokenResponse};
use crate::error::{ApiError, Problem};
use crate::state::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// An API key, `sl_…`.
    api_key: String,
}

/// Exchanges an API key for a bearer JWT of the key's role.
#[utoipa::path(
    operation_id = "issue_token",
    tag = "auth",
    request_body = TokenRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/auth/token")]
pub async fn token(
    state: web::Data<AppState>,
    body: Body<TokenRequest>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let key = body.read().await?.api_key;
    let found = state
        .db
        .run(move |conn| keys::find_live_by_secret(conn, &key))
        .await?;
    let (row, role) =
        found.ok_or_else(|| ApiError::unauthorized("the API key is invalid or revoked"))?;
    let token = state
        .tokens
        .issue(
            &Subject::ApiKey(row.id),
            role,
            &row.name,
            API_KEY_TOKEN_SECS,
        )
        .map_err(ApiError::internal)?;
    Ok(web::Json(token))
}
