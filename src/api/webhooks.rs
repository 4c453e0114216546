//! `POST /v1/webhooks/{platform_id}`: a membership platform's deliveries.
//! The signature is checked over the raw bytes before they are parsed; a body
//! over 1 MiB is refused before it is read; a removed platform's webhook
//! answers 410, which makes Ghost delete it.

use actix_web::{HttpRequest, post, web};
use futures_util::StreamExt;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ErrorCode, Problem};
use crate::platforms;
use crate::platforms::deliveries::{self, Outcome};
use crate::platforms::webhooks::{self, Event, MAX_BODY_BYTES, Refusal, Signatures};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Received {
    pub outcome: Outcome,
}

fn too_large() -> ApiError {
    ApiError::new(
        ErrorCode::PayloadTooLarge,
        "a webhook body is at most 1 MiB",
    )
}

/// The body, refused past [`MAX_BODY_BYTES`] as soon as that is known.
async fn read_body(req: &HttpRequest, mut payload: web::Payload) -> Result<Vec<u8>, ApiError> {
    refuse_declared_excess(req)?;
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|_| ApiError::new(ErrorCode::BadRequest, "the body could not be read"))?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A body declared larger than [`MAX_BODY_BYTES`] is refused before any work.
fn refuse_declared_excess(req: &HttpRequest) -> Result<(), ApiError> {
    let declared = super::header_text(req, actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    Ok(())
}

fn refusal(refusal: Refusal) -> ApiError {
    match refusal {
        Refusal::Unsigned(detail) => ApiError::new(ErrorCode::InvalidSignature, detail),
        Refusal::Malformed(detail) => ApiError::new(ErrorCode::InvalidBody, detail),
    }
}

/// Receives a membership platform's webhook (signed; see SPEC "Membership
/// platforms"). A delivery seen before, or older than what is applied, changes
/// nothing and answers 200 all the same.
#[utoipa::path(
    operation_id = "receive_webhook",
    tag = "platforms",
    params(("platform_id" = String, Path)),
    request_body(content = Object, description = "the platform's delivery, as it signed it"),
    responses(
        (status = 200, body = Received),
        (status = 400, body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_signature`", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "`gone`: no such platform (any more)", body = Problem, content_type = "application/problem+json"),
        (status = 413, body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/v1/webhooks/{platform_id}")]
pub async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    platform_id: web::Path<String>,
    payload: web::Payload,
) -> Result<web::Json<Received>, ApiError> {
    refuse_declared_excess(&req)?;
    let platform_id = platform_id.into_inner();
    let st = state.clone();
    let found = {
        let id = platform_id.clone();
        state
            .db
            .run(move |conn| platforms::with_secret(conn, &st.sealing, &id))
            .await?
    };
    let Some((platform, secret)) = found else {
        return Err(ApiError::new(
            ErrorCode::Gone,
            format!("no platform {platform_id:?}: stop sending"),
        ));
    };
    let body = read_body(&req, payload).await?;
    let header = |name: &'static str| super::header_text(&req, name);
    let signatures = Signatures {
        ghost: header("x-ghost-signature"),
        webhook_id: header("webhook-id"),
        webhook_timestamp: header("webhook-timestamp"),
        webhook_signature: header("webhook-signature"),
    };
    let now = chrono::Utc::now();
    let (delivery_id, event) =
        webhooks::authenticate(platform.kind, &secret, signatures, &body, now).map_err(refusal)?;
    let applied = platform.clone();
    let writes = state.db.write_count().clone();
    let deletion = matches!(event, Event::MemberDeleted { .. });
    let published = match &event {
        Event::PostPublished(post) if post.html.is_some() => Some(post.clone()),
        _ => None,
    };
    let outcome = state
        .db
        .run(move |conn| deliveries::apply(conn, &writes, &applied, &delivery_id, &event, now))
        .await?;
    if deletion && outcome == Outcome::Applied {
        // The member's tokens stop here at once (elsewhere within a second).
        state.liveness.forget();
    }
    if let Some(post) = published.filter(|_| outcome != Outcome::Duplicate) {
        propose_from_post(&state, platform.clone(), post).await;
    }
    tracing::info!(platform = %platform.id, ?outcome, "webhook delivery");
    Ok(web::Json(Received { outcome }))
}

/// A published (or edited) post's links, proposed as its article's
/// citations. The delivery took effect whatever this finds: a failure here
/// is logged, not answered (the platform would send the delivery again).
async fn propose_from_post(
    state: &web::Data<AppState>,
    platform: platforms::Platform,
    post: webhooks::Post,
) {
    let html = post.html.clone().unwrap_or_default();
    let found = state
        .db
        .run(move |conn| deliveries::article_of(conn, &platform, &post))
        .await;
    let proposed = match found {
        Ok(Some(article))
            if article.status != crate::newsroom::articles::ArticleStatus::Retracted =>
        {
            crate::newsroom::from_article::propose(
                &state.db,
                article,
                crate::newsroom::from_article::Text::Html(html),
                crate::newsroom::proposals::Origin::Ghost,
            )
            .await
            .map(|open| open.len())
        }
        Ok(_) => return,
        Err(error) => Err(error),
    };
    match proposed {
        Ok(open) => tracing::info!(open, "proposals read from a published post"),
        Err(error) => tracing::warn!(%error, "the post's links could not be proposed"),
    }
}
