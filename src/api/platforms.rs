//! Membership platforms, registered by admins (SPEC "Membership platforms").

use actix_web::{HttpResponse, delete, get, post, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::body::Body;
use crate::auth::{Administer, Allowed};
use crate::error::{ApiError, Problem};
use crate::platforms::{self, NewPlatform, Platform, PlatformKind};
use crate::state::AppState;
use crate::time::Timestamp;

/// A platform just registered: the only response that holds its webhook secret.
#[derive(Serialize, ToSchema)]
pub struct RegisteredPlatform {
    id: String,
    kind: PlatformKind,
    name: String,
    issuer: Option<String>,
    /// Where the platform sends its webhooks.
    webhook_url: String,
    /// The secret webhooks are signed with: shown in this response only.
    webhook_secret: String,
    created_at: Timestamp,
}

/// A platform as listed: everything but its secret.
#[derive(Serialize, ToSchema)]
pub struct PlatformInfo {
    #[serde(flatten)]
    platform: Platform,
    webhook_url: String,
}

#[derive(Serialize, ToSchema)]
pub struct PlatformList {
    platforms: Vec<PlatformInfo>,
}

impl RegisteredPlatform {
    /// The answer to a registration, for the API and `sourceledger platforms add`.
    pub fn new(registered: platforms::Registered, public_url: &str) -> Self {
        let platform = registered.platform;
        Self {
            webhook_url: platforms::webhook_url(public_url, &platform.id),
            id: platform.id,
            kind: platform.kind,
            name: platform.name,
            issuer: platform.issuer,
            webhook_secret: registered.webhook_secret,
            created_at: platform.created_at,
        }
    }
}

impl PlatformList {
    pub fn new(found: Vec<Platform>, public_url: &str) -> Self {
        Self {
            platforms: found
                .into_iter()
                .map(|platform| PlatformInfo {
                    webhook_url: platforms::webhook_url(public_url, &platform.id),
                    platform,
                })
                .collect(),
        }
    }
}

/// Registers a membership platform (admin).
#[utoipa::path(
    operation_id = "register_platform",
    tag = "platforms",
    request_body = NewPlatform,
    security(("bearer" = [])),
    responses(
        (status = 201, body = RegisteredPlatform),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "a platform of that name or issuer exists", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/platforms")]
pub async fn register(
    state: web::Data<AppState>,
    caller: Allowed<Administer>,
    body: Body<NewPlatform>,
) -> Result<HttpResponse, ApiError> {
    let new = body.read().await?;
    let st = state.clone();
    let registered = state
        .db
        .run(move |conn| platforms::create(conn, &st.sealing, &new))
        .await?;
    let answer = RegisteredPlatform::new(registered, &state.settings.public_url);
    tracing::info!(id = %answer.id, kind = answer.kind.as_str(), by = %caller.actor(), "platform registered");
    Ok(HttpResponse::Created().json(answer))
}

/// Lists the membership platforms, without their secrets (admin).
#[utoipa::path(
    operation_id = "list_platforms",
    tag = "platforms",
    security(("bearer" = [])),
    responses(
        (status = 200, body = PlatformList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/platforms")]
pub async fn list(
    state: web::Data<AppState>,
    _caller: Allowed<Administer>,
) -> Result<web::Json<PlatformList>, ApiError> {
    let found = state.db.run(platforms::list).await?;
    Ok(web::Json(PlatformList::new(
        found,
        &state.settings.public_url,
    )))
}

/// Removes a membership platform (admin): its webhooks and identity tokens
/// stop being accepted; its subscribers stay.
#[utoipa::path(
    operation_id = "remove_platform",
    tag = "platforms",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "removed"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/platforms/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    caller: Allowed<Administer>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let removed = {
        let id = id.clone();
        state
            .db
            .run(move |conn| platforms::remove(conn, &id))
            .await?
    };
    if !removed {
        return Err(ApiError::not_found(format!("no platform {id:?}")));
    }
    tracing::info!(%id, by = %caller.actor(), "platform removed");
    Ok(HttpResponse::NoContent().finish())
}
