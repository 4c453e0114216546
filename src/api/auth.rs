//! Exchanging an API key, or a membership platform's identity token, for an
//! access token.

use actix_web::{post, web};
use serde::Deserialize;
use utoipa::ToSchema;

use crate::api::body::Body;
use crate::auth::Role;
use crate::auth::keys;
use crate::auth::token::{API_KEY_TOKEN_SECS, Subject, TokenResponse};
use crate::error::{ApiError, ErrorCode, Problem};
use crate::newsroom::subscribers;
use crate::platforms::{
    self,
    identity::{self, IdentityError},
};
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExchangeRequest {
    /// The identity token a membership platform issued to a signed-in reader
    /// (Ghost: what `GET {site}/members/api/session` answers).
    identity_token: String,
}

/// How long a subscriber token from an exchange lasts: the reader's page
/// exchanges again when it runs out.
const EXCHANGED_TOKEN_SECS: i64 = 3600;

/// Exchanges a membership platform's identity token for a subscriber token.
/// The platform is the one whose issuer the token names; 401 when the token
/// does not verify, 403 `not_a_subscriber` when no subscriber answers to it.
#[utoipa::path(
    operation_id = "exchange_identity",
    tag = "auth",
    request_body = ExchangeRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`not_a_subscriber`", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "`platform_unavailable`: its keys cannot be fetched", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/auth/exchange")]
pub async fn exchange(
    state: web::Data<AppState>,
    body: Body<ExchangeRequest>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let identity_token = body.read().await?.identity_token;
    let issuer = identity::claimed_issuer(&identity_token)
        .ok_or_else(|| ApiError::unauthorized("the identity token is not a JWT with an iss"))?;
    let platform = state
        .db
        .run(move |conn| platforms::find_by_issuer(conn, &issuer))
        .await?
        .ok_or_else(|| ApiError::unauthorized("no registered platform issues this token"))?;
    let st = state.clone();
    let checked = platform.clone();
    let identity = web::block(move || st.identity_keys.verify(&checked, &identity_token))
        .await
        .map_err(ApiError::internal)?
        .map_err(|error| match error {
            IdentityError::Invalid(detail) => ApiError::unauthorized(detail),
            IdentityError::Unavailable(detail) => {
                tracing::warn!(platform = %platform.id, %detail, "identity keys unavailable");
                ApiError::new(
                    ErrorCode::PlatformUnavailable,
                    "the platform's keys cannot be fetched right now",
                )
            }
        })?;
    let platform_id = platform.id.clone();
    let subscriber = state
        .db
        .run(move |conn| {
            subscribers::find_for_identity(
                conn,
                &platform_id,
                &identity.subject,
                identity.email.as_deref(),
            )
        })
        .await?
        .ok_or_else(|| {
            ApiError::new(
                ErrorCode::NotASubscriber,
                "the platform vouches for this reader, but no subscriber answers to them",
            )
        })?;
    let issued = state
        .tokens
        .issue(
            &Subject::Subscriber(subscriber.id.clone()),
            Role::Subscriber,
            &subscriber.id,
            EXCHANGED_TOKEN_SECS,
        )
        .map_err(ApiError::internal)?;
    Ok(web::Json(issued))
}
