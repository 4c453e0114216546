//! API keys, managed by admins.

use actix_web::{HttpResponse, delete, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::page_limit;
use crate::api::body::Body;
use crate::auth::keys::{self, ApiKeyRow};
use crate::auth::{Administer, Allowed, Role};
use crate::error::{ApiError, Problem};
use crate::state::AppState;
use crate::time::Timestamp;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// journalist, editor, auditor, integration or admin.
    role: Role,
    name: String,
}

#[derive(Serialize, ToSchema)]
pub struct CreatedKey {
    id: String,
    name: String,
    role: String,
    /// The key itself: shown in this response only.
    key: String,
    created_at: Timestamp,
}

#[derive(Serialize, ToSchema)]
pub struct KeyInfo {
    id: String,
    name: String,
    role: String,
    created_at: Timestamp,
    revoked_at: Option<Timestamp>,
}

impl From<ApiKeyRow> for KeyInfo {
    fn from(row: ApiKeyRow) -> Self {
        KeyInfo {
            id: row.id,
            name: row.name,
            role: row.role,
            created_at: row.created_at,
            revoked_at: row.revoked_at,
        }
    }
}

/// Creates an API key (admin).
#[utoipa::path(
    operation_id = "create_key",
    tag = "keys",
    request_body = NewKey,
    security(("bearer" = [])),
    responses(
        (status = 201, body = CreatedKey),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "a live key of that role has that name (`name_taken`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/keys")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Allowed<Administer>,
    body: Body<NewKey>,
) -> Result<HttpResponse, ApiError> {
    let NewKey { role, name } = body.read().await?;
    let key = state
        .db
        .run(move |conn| keys::create(conn, role, &name))
        .await?;
    tracing::info!(id = %key.row.id, role = %key.row.role, by = %caller.actor(), "API key created");
    Ok(HttpResponse::Created().json(CreatedKey {
        id: key.row.id,
        name: key.row.name,
        role: key.row.role,
        key: key.secret,
        created_at: key.row.created_at,
    }))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct KeysQuery {
    /// The `next` of the previous page.
    after: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct KeyList {
    keys: Vec<KeyInfo>,
    next: Option<String>,
}

/// Lists API keys, revoked ones included (admin).
#[utoipa::path(
    operation_id = "list_keys",
    tag = "keys",
    params(KeysQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, body = KeyList),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/keys")]
pub async fn list(
    state: web::Data<AppState>,
    _caller: Allowed<Administer>,
    query: web::Query<KeysQuery>,
) -> Result<web::Json<KeyList>, ApiError> {
    let limit = page_limit(query.limit)?;
    let after = query.after.clone();
    let rows = state
        .db
        .run(move |conn| -> Result<_, ApiError> { Ok(keys::list(conn, after.as_deref(), limit)?) })
        .await?;
    let next = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.id.clone()))
        .flatten();
    Ok(web::Json(KeyList {
        keys: rows.into_iter().map(KeyInfo::from).collect(),
        next,
    }))
}

/// Revokes an API key (admin); its tokens stop working at once.
#[utoipa::path(
    operation_id = "revoke_key",
    tag = "keys",
    params(("id" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = KeyInfo),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "`last_admin`: the last live admin key"),
    )
)]
#[delete("/v1/keys/{id}")]
pub async fn revoke(
    state: web::Data<AppState>,
    caller: Allowed<Administer>,
    id: web::Path<String>,
) -> Result<web::Json<KeyInfo>, ApiError> {
    let id = id.into_inner();
    let row = state.db.run(move |conn| keys::revoke(conn, &id)).await?;
    // Its tokens stop here at once (other processes: within a second).
    state.liveness.forget();
    tracing::info!(id = %row.id, by = %caller.actor(), "API key revoked");
    Ok(web::Json(row.into()))
}
