//! Exchanging an API key for an access token.

use actix_web::{post, web};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::body::Body;
use crate::auth::Role;
use crate::auth::keys::{self, KEY_PREFIX};
use crate::auth::token::{API_KEY_TOKEN_SECS, Claims, Subject};
use crate::db::schema::api_keys;
use crate::error::{ApiError, Problem};
use crate::startup::AppState;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// An API key, `sl_…`.
    api_key: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: i64,
}

/// Exchanges an API key for a bearer JWT of the key's role.
#[utoipa::path(
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
    let invalid = || ApiError::unauthorized("the API key is invalid or revoked");
    let key = body.into_inner().api_key;
    if !key.starts_with(KEY_PREFIX) || key.len() > 200 {
        return Err(invalid());
    }
    let hash = keys::hash_key(&key);
    let row: Option<(String, String, String)> = state
        .db
        .run(move |conn| {
            Ok(api_keys::table
                .filter(api_keys::key_hash.eq(hash))
                .filter(api_keys::revoked_at.is_null())
                .select((api_keys::id, api_keys::name, api_keys::role))
                .first(conn)
                .optional()?)
        })
        .await?;
    let (id, name, role) = row.ok_or_else(invalid)?;
    let role = Role::parse(&role)
        .ok_or_else(|| ApiError::internal(format!("key {id} has an unknown role")))?;
    let claims = Claims::new(
        state.tokens.issuer(),
        &Subject::ApiKey(id),
        role,
        &name,
        API_KEY_TOKEN_SECS,
    );
    let access_token = state.tokens.mint(&claims).map_err(ApiError::internal)?;
    Ok(web::Json(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: API_KEY_TOKEN_SECS,
    }))
}
