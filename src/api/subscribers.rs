//! Subscribers, managed by the newsletter platform.

use crate::api::body::Body;
use crate::auth::token::{SUBSCRIBER_TOKEN_SECS, Subject, TokenResponse};
use crate::auth::{Allowed, ManageSubscribers, Role};
use crate::error::{ApiError, Problem};
use crate::newsroom::subscribers::{self, NewSubscriber, Subscriber};
use crate::state::AppState;
use actix_web::{HttpResponse, delete, post, web};

/// Creates a subscriber, or returns the one with this `external_id` (integration, admin).
#[utoipa::path(
    operation_id = "create_subscriber",
    tag = "subscribers",
    request_body = NewSubscriber,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Subscriber, description = "created"),
        (status = 200, body = Subscriber, description = "already existed"),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/subscribers")]
pub async fn create(
    state: web::Data<AppState>,
    _caller: Allowed<ManageSubscribers>,
    body: Body<NewSubscriber>,
) -> Result<HttpResponse, ApiError> {
    let new = body.read().await?;
    let (row, created) = state
        .db
        .run(move |conn| subscribers::create(conn, &new))
        .await?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response.json(row.to_api()))
}

/// Deletes a subscriber and its personal data; its tokens stop working at once.
#[utoipa::path(
    operation_id = "remove_subscriber",
    tag = "subscribers",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 204),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/v1/subscribers/{id}")]
pub async fn remove(
    state: web::Data<AppState>,
    _caller: Allowed<ManageSubscribers>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    state
        .db
        .run(move |conn| subscribers::delete(conn, &id))
        .await?;
    // Their tokens stop here at once (other processes: within a second).
    state.liveness.forget();
    Ok(HttpResponse::NoContent().finish())
}

/// Mints a subscriber token, valid 30 days (integration, admin).
#[utoipa::path(
    operation_id = "issue_subscriber_token",
    tag = "subscribers",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/subscribers/{id}/token")]
pub async fn token(
    state: web::Data<AppState>,
    _caller: Allowed<ManageSubscribers>,
    id: web::Path<String>,
) -> Result<web::Json<TokenResponse>, ApiError> {
    let id = id.into_inner();
    let row = {
        let id = id.clone();
        state
            .db
            .run(move |conn| subscribers::find(conn, &id))
            .await?
    }
    .ok_or_else(|| ApiError::not_found(format!("no subscriber {id:?}")))?;
    // The token names the subscriber by id only: no personal data in tokens or the ledger.
    let token = state
        .tokens
        .issue(
            &Subject::Subscriber(row.id.clone()),
            Role::Subscriber,
            &row.id,
            SUBSCRIBER_TOKEN_SECS,
        )
        .map_err(ApiError::internal)?;
    Ok(web::Json(token))
}
