//! CORS for the embeddable panel (SPEC "The reader's side"): only the origins
//! in `SOURCELEDGER_EMBED_ORIGINS` may call, from a reader's browser, what the
//! panel needs: an article's source list, the identity exchange and the
//! ledger's public reads. No credentials: the panel sends a bearer token, never
//! a cookie of ours. A preflight from an allowed origin is answered here
//! (204); from any other origin it gets no CORS headers, so the browser stops.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};

/// The origins allowed, as `scheme://host[:port]`.
pub struct EmbedOrigins(pub Vec<String>);

fn panel_path(path: &str) -> bool {
    (path.starts_with("/v1/articles/") && path.ends_with("/sources"))
        || path == "/v1/auth/exchange"
        || path.starts_with("/v1/ledger/")
}

pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let allowed = origin.filter(|origin| {
        panel_path(req.path())
            && req
                .app_data::<web::Data<EmbedOrigins>>()
                .is_some_and(|allowed| allowed.0.iter().any(|a| a == origin))
    });
    let preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if preflight && let Some(origin) = &allowed {
        let response = HttpResponse::NoContent()
            .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.as_str()))
            .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"))
            .insert_header((
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "Authorization, Content-Type, If-None-Match",
            ))
            .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"))
            .insert_header((header::VARY, "Origin"))
            .finish();
        return Ok(req.into_response(response).map_into_right_body());
    }
    let mut response = next.call(req).await?;
    if let Some(origin) = allowed
        && let Ok(value) = header::HeaderValue::from_str(&origin)
    {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            header::HeaderValue::from_static("ETag, Retry-After"),
        );
        headers.append(header::VARY, header::HeaderValue::from_static("Origin"));
    }
    Ok(response.map_into_left_body())
}
