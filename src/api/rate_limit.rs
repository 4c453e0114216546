//! The rate-limit middleware: counts each request against the token's subject
//! (its API key or subscriber, so minting new tokens buys no room) when the
//! token verifies, else against the client's address (so made-up tokens buy no
//! extra room), and answers 429 problem+json with `Retry-After` over the limit.
//! Health checks are exempt.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web;

use crate::auth::bearer_of;
use crate::auth::token::TokenKeys;
use crate::error::ApiError;
use crate::limits::{Counted, RateLimits};

/// Paths never limited: a load balancer's checks must not be refused.
/// Probes and the metrics scrape are never limited.
const EXEMPT: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

fn counted(req: &ServiceRequest, limits: &RateLimits) -> Option<Counted> {
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_of);
    let tokens = req.app_data::<web::Data<TokenKeys>>();
    if let Some(claims) = bearer.and_then(|t| tokens.and_then(|keys| keys.check(t).ok())) {
        return Some(Counted::Subject(claims.sub));
    }
    let peer = req.peer_addr()?.ip();
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok());
    Some(Counted::Address(limits.client_address(peer, forwarded)))
}

pub async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if !EXEMPT.contains(&req.path())
        && let Some(limits) = req.app_data::<web::Data<RateLimits>>()
        && let Some(who) = counted(&req, limits)
        && let Err(wait) = limits.check(who)
    {
        if let Some(metrics) = req.app_data::<web::Data<crate::metrics::Metrics>>() {
            metrics.rate_limited.inc();
        }
        let response = actix_web::ResponseError::error_response(&ApiError::too_many_requests(wait));
        return Ok(req.into_response(response).map_into_right_body());
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}
