//! Signing in to the desk through the newsroom's OpenID provider ("Sign in
//! with SSO"); the protocol is [`crate::auth::oidc`]'s.
//!
//! `GET /desk/sso/start?csrf=…` (the sign-in page's link, carrying the token
//! of its strict cookie, so no other site can start a sign-in in this
//! browser's name) sets the sign-in's short-lived cookie and sends the
//! browser to the provider; `GET /desk/sso/callback` finishes it and opens a
//! desk session as an API key's sign-in does. Every refusal is a desk page
//! with its status (400, 401, 403, 503) and what went wrong in words.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::sign_in::{expired_login, login_token_matches, open_session};
use super::{cookie, cookie_name, error_page, page, pages};
use crate::auth::oidc::{Answer, FLOW_LIFETIME, Flow, SsoError};
use crate::state::AppState;

/// The flow cookie's name (see [`crate::auth::oidc`]).
const FLOW_COOKIE: &str = "sso";

fn refused(status: u16, detail: &str) -> HttpResponse {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    page(status, pages::error(None, status.as_u16(), detail))
}

fn not_configured() -> HttpResponse {
    refused(
        404,
        "This desk has no single sign-on: sign in with an API key.",
    )
}

/// `GET /desk/sso/start`: to the provider, with a new sign-in's cookie.
pub(super) async fn start(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if state.staff_sso.is_none() {
        return not_configured();
    }
    let csrf = url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(name, _)| name == "csrf")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    if !login_token_matches(&req, &state, &csrf) {
        return expired_login(&state);
    }
    let flow = Flow::begin();
    let cookie_value = flow.cookie_value().to_owned();
    let st = state.clone();
    let url = web::block(move || match &st.staff_sso {
        Some(sso) => sso.authorization_url(&flow),
        None => Err(SsoError::Unavailable("no single sign-on".into())),
    })
    .await;
    match url {
        Ok(Ok(url)) => {
            let mut response = HttpResponse::SeeOther()
                .insert_header((actix_web::http::header::LOCATION, url))
                .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
                .finish();
            let mut flow_cookie = cookie(&state, FLOW_COOKIE, cookie_value, false);
            flow_cookie.set_max_age(actix_web::cookie::time::Duration::seconds(
                FLOW_LIFETIME.num_seconds(),
            ));
            let _ = response.add_cookie(&flow_cookie);
            response
        }
        Ok(Err(error)) => refused(error.status(), &error.to_string()),
        Err(_) => refused(503, "The server is too busy to start a sign-in: try again."),
    }
}

/// `GET /desk/sso/callback`: the provider's answer; a session, or why not.
pub(super) async fn callback(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if state.staff_sso.is_none() {
        return not_configured();
    }
    let answer = Answer::from_query(req.query_string());
    let flow = req
        .cookie(&cookie_name(&state, FLOW_COOKIE))
        .and_then(|c| Flow::from_cookie(c.value()));
    let st = state.clone();
    let finished = web::block(move || match &st.staff_sso {
        Some(sso) => sso.finish(flow.as_ref(), &answer),
        None => Err(SsoError::Unavailable("no single sign-on".into())),
    })
    .await;
    let mut response = match finished {
        Ok(Ok(caller)) => {
            let (role, subject) = (caller.role, caller.subject.as_text());
            match open_session(&req, &state, move |_| Ok(Some(caller))).await {
                Ok(Some(response)) => {
                    tracing::info!(%role, %subject, "desk sign-in through single sign-on");
                    response
                }
                Ok(None) => refused(403, "The desk is for the newsroom's staff."),
                Err(error) => error_page(None, &error),
            }
        }
        Ok(Err(error)) => {
            tracing::info!(status = error.status(), reason = %error, "desk single sign-on refused");
            refused(error.status(), &error.to_string())
        }
        Err(_) => refused(
            503,
            "The server is too busy to finish the sign-in: try again.",
        ),
    };
    // One try: the sign-in's cookie goes, whatever came of it.
    let mut gone = cookie(&state, FLOW_COOKIE, String::new(), false);
    gone.make_removal();
    let _ = response.add_cookie(&gone);
    response
}
