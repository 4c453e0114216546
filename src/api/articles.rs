//! Articles: create (journalists, editors), publish and retract (editors), read.

use actix_web::{HttpResponse, get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::page_limit;
use crate::api::body::Body;
use crate::auth::{Allowed, Edit, MaybeCaller, Write};
use crate::error::{ApiError, Problem};
use crate::newsroom::articles::{self, Article, ArticleStatus, NewArticle};
use crate::state::AppState;

/// Creates a draft article (journalist, editor, admin).
#[utoipa::path(
    operation_id = "create_article",
    tag = "articles",
    request_body = NewArticle,
    security(("bearer" = [])),
    responses(
        (status = 201, body = Article),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "the slug is taken"),
    )
)]
#[post("/v1/articles")]
pub async fn create(
    state: web::Data<AppState>,
    caller: Allowed<Write>,
    body: Body<NewArticle>,
) -> Result<HttpResponse, ApiError> {
    let article = body.read().await?;
    let actor = caller.actor();
    let embargo = state.embargo();
    let row = state
        .writer
        .write(move |conn, seq| articles::create(conn, seq, embargo, &actor, &article))
        .await?;
    Ok(HttpResponse::Created().json(row))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ArticlesQuery {
    /// The `next` of the previous page (a slug).
    after: Option<String>,
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct ArticleList {
    articles: Vec<Article>,
    next: Option<String>,
}

/// Lists articles by slug: published and retracted ones for everyone, drafts too for staff.
#[utoipa::path(
    operation_id = "list_articles",
    tag = "articles",
    params(ArticlesQuery),
    responses(
        (status = 200, body = ArticleList),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/articles")]
pub async fn list(
    state: web::Data<AppState>,
    caller: MaybeCaller,
    query: web::Query<ArticlesQuery>,
) -> Result<web::Json<ArticleList>, ApiError> {
    let limit = page_limit(query.limit)?;
    let after = query.after.clone();
    let staff = caller.is_staff();
    let rows = state
        .db
        .run(move |conn| articles::list(conn, after.as_deref(), limit, staff))
        .await?;
    let next = (rows.len() == limit as usize)
        .then(|| rows.last().map(|r| r.slug.to_string()))
        .flatten();
    Ok(web::Json(ArticleList {
        articles: rows,
        next,
    }))
}

/// One article (drafts for staff only).
#[utoipa::path(
    operation_id = "get_article",
    tag = "articles",
    params(("slug" = String, Path)),
    responses(
        (status = 200, body = Article),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/v1/articles/{slug}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: MaybeCaller,
    slug: web::Path<String>,
) -> Result<web::Json<Article>, ApiError> {
    let staff = caller.is_staff();
    let slug = slug.into_inner();
    let row = state
        .db
        .run(move |conn| articles::visible(conn, &slug, staff))
        .await?;
    Ok(web::Json(row))
}

async fn change_status(
    state: web::Data<AppState>,
    caller: Allowed<Edit>,
    slug: String,
    to: ArticleStatus,
    reason: Option<String>,
) -> Result<web::Json<Article>, ApiError> {
    let actor = caller.actor();
    let row = state
        .writer
        .write(move |conn, seq| {
            articles::change_status(conn, seq, &actor, &slug, to, reason.as_deref())
        })
        .await?;
    Ok(web::Json(row))
}

/// Publishes a draft (editor, admin).
#[utoipa::path(
    operation_id = "publish_article",
    tag = "articles",
    params(("slug" = String, Path)),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Article),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "not a draft"),
    )
)]
#[post("/v1/articles/{slug}/publish")]
pub async fn publish(
    state: web::Data<AppState>,
    caller: Allowed<Edit>,
    slug: web::Path<String>,
) -> Result<web::Json<Article>, ApiError> {
    change_status(
        state,
        caller,
        slug.into_inner(),
        ArticleStatus::Published,
        None,
    )
    .await
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Retraction {
    pub reason: Option<String>,
}

/// Retracts a published article; the body `{"reason"}` is optional (editor, admin).
#[utoipa::path(
    operation_id = "retract_article",
    tag = "articles",
    params(("slug" = String, Path)),
    request_body(content = Option<Retraction>),
    security(("bearer" = [])),
    responses(
        (status = 200, body = Article),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, body = Problem, content_type = "application/problem+json"),
        (status = 403, body = Problem, content_type = "application/problem+json"),
        (status = 404, body = Problem, content_type = "application/problem+json"),
        (status = 409, body = Problem, content_type = "application/problem+json", description = "not published"),
    )
)]
#[post("/v1/articles/{slug}/retract")]
pub async fn retract(
    state: web::Data<AppState>,
    caller: Allowed<Edit>,
    slug: web::Path<String>,
    body: Body<Retraction>,
) -> Result<web::Json<Article>, ApiError> {
    let reason = body.read_optional().await?.and_then(|r| r.reason);
    change_status(
        state,
        caller,
        slug.into_inner(),
        ArticleStatus::Retracted,
        reason,
    )
    .await
}
