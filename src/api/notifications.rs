//! Notifications out (SPEC "The public face"), managed by admins.

use actix_web::{HttpResponse, delete, get, post, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::body::Body;
use crate::auth::{Administer, Allowed};
use crate::error::{ApiError, Problem};
use crate::notifications::{self, NewSubscription, Subscription};
use crate::state::AppState;

/// A subscription just made: the only response that holds its secret.
#[derive(Serialize, ToSchema)]
pub struct CreatedSubscription {
    #[serde(flatten)]
    subscription: Subscription,
    /// The Standard Webhooks secret (`whsec_` and base64) the deliveries are
    /// signed with: shown in this response only.
    secret: String,
}

#[derive(Serialize, ToSchema)]
pub struct SubscriptionList {
    subscriptions: Vec<Subscription>,
}

/// Subscribes a URL to the newsroom's events (admin): each is sent there as a
/// Standard Webhooks request signed with the secret in the answer.
#[utoipa::path(
    operation_id = "create_notification",
    tag = "notifications",
    request_body = NewSubscription,
    security(("bearer" = [])),
    responses(
        (status = 201, body = CreatedSubscription),
        (status = 400, description = "a malformed body, a URL that is not http(s), or events that are empty, repeated or unknown", body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "as many subscriptions as are kept exist", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "a URL on an address the server may not send to", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/notifications")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Allowed<Administer>,
    body: Body<NewSubscription>,
) -> Result<HttpResponse, ApiError> {
    let new = body.read().await?;
    let st = state.clone();
    let actor = caller.actor();
    let created = state
        .db
        .run(move |conn| {
            notifications::create(conn, &st.sealing, &st.settings.fetch_allow, &actor, &new)
        })
        .await?;
    tracing::info!(id = %created.subscription.id, by = %caller.actor(), "notification subscription made");
    Ok(HttpResponse::Created().json(CreatedSubscription {
        subscription: created.subscription,
        secret: created.secret,
    }))
}

/// Lists the subscriptions with their last delivery, without their secrets
/// (admin).
#[utoipa::path(
    operation_id = "list_notifications",
    tag = "notifications",
    security(("bearer" = [])),
    responses(
        (status = 200, body = SubscriptionList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/notifications")]
pub async fn list(
    state: web::Data<AppState>,
    _caller: Allowed<Administer>,
) -> Result<web::Json<SubscriptionList>, ApiError> {
    let subscriptions = state.db.run(notifications::list).await?;
    Ok(web::Json(SubscriptionList { subscriptions }))
}

/// Removes a subscription (admin): nothing more is sent to it.
#[utoipa::path(
    operation_id = "remove_notification",
    tag = "notifications",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "removed"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/notifications/{id}")]
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
            .run(move |conn| notifications::remove(conn, &id))
            .await?
    };
    if !removed {
        return Err(ApiError::not_found(format!("no subscription {id:?}")));
    }
    tracing::info!(%id, by = %caller.actor(), "notification subscription removed");
    Ok(HttpResponse::NoContent().finish())
}
