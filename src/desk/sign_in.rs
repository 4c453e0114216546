//! Signing in to the desk with an API key, and out; what signing in
//! through the newsroom's provider (`sso.rs`) shares with it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::extract::{Csrf, DeskForm, DeskSession, checked_form, read_form};
use super::{cookie, cookie_name, error_page, page, pages, see_other};
use crate::auth::session;
use crate::auth::token::Subject;
use crate::auth::{Caller, keys};
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::state::AppState;

/// `GET /desk/login`: the sign-in form. Sets a fresh token in a strict
/// cookie and in the form, so a sign-in posted from elsewhere is refused.
pub(super) async fn login_form(state: web::Data<AppState>) -> HttpResponse {
    login_page(&state, StatusCode::OK, None)
}

/// The sign-in page with `status` and `problem`, and its fresh form token.
pub(super) fn login_page(
    state: &AppState,
    status: StatusCode,
    problem: Option<&str>,
) -> HttpResponse {
    let token = session::random_token();
    let sso = state.staff_sso.is_some();
    let mut response = page(status, pages::login(&token, problem, sso));
    let _ = response.add_cookie(&cookie(state, "login", token, true));
    response
}

/// Whether `token` is the one the sign-in page set in this browser's
/// strict cookie.
pub(super) fn login_token_matches(req: &HttpRequest, state: &AppState, token: &str) -> bool {
    req.cookie(&cookie_name(state, "login"))
        .is_some_and(|c| !c.value().is_empty() && c.value() == token)
}

/// The refusal of a sign-in whose form token is stale or missing.
pub(super) fn expired_login(state: &AppState) -> HttpResponse {
    login_page(
        state,
        StatusCode::FORBIDDEN,
        Some("The sign-in form had expired. Please sign in again."),
    )
}

/// Opens a desk session for `caller` (found by `find` inside the same
/// database work, `None` if nobody may sign in) and answers the redirect
/// to the desk with its cookie. Signing in again ends the session this
/// browser held: one at a time.
pub(super) async fn open_session(
    req: &HttpRequest,
    state: &AppState,
    find: impl FnOnce(&mut DbConnection) -> Result<Option<Caller>, ApiError> + Send + 'static,
) -> Result<Option<HttpResponse>, ApiError> {
    let previous = req
        .cookie(&cookie_name(state, "desk"))
        .map(|c| c.value().to_owned());
    let opened = state
        .db
        .run(move |conn| {
            if let Some(previous) = previous
                && let Some(old) = session::find(conn, &previous)?
            {
                session::end(conn, &old)?;
            }
            match find(conn)? {
                Some(caller) if caller.is_staff() => session::open(conn, &caller).map(Some),
                _ => Ok(None),
            }
        })
        .await?;
    Ok(opened.map(|opened| {
        let mut response = see_other("/desk");
        let _ = response.add_cookie(&cookie(state, "desk", opened.secret, false));
        let mut gone = cookie(state, "login", String::new(), true);
        gone.make_removal();
        let _ = response.add_cookie(&gone);
        response
    }))
}

#[derive(Deserialize)]
pub(super) struct SignIn {
    api_key: String,
    csrf: String,
}

/// `POST /desk/login`: an API key of a staff role opens a session.
pub(super) async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: DeskForm<SignIn>,
) -> HttpResponse {
    let SignIn { api_key, csrf } = read_form!(form, None);
    if !login_token_matches(&req, &state, &csrf) {
        return expired_login(&state);
    }
    let opened = open_session(&req, &state, move |conn| {
        let Some((key, role)) = keys::find_live_by_secret(conn, api_key.trim())? else {
            return Ok(None);
        };
        Ok(Some(Caller {
            role,
            name: key.name,
            subject: Subject::ApiKey(key.id),
        }))
    })
    .await;
    match opened {
        Ok(Some(response)) => response,
        Ok(None) => login_page(
            &state,
            StatusCode::UNAUTHORIZED,
            Some("That API key is not a live key of the newsroom's staff."),
        ),
        Err(error) => error_page(None, &error),
    }
}

/// `POST /desk/logout`: ends the session.
pub(super) async fn logout(
    state: web::Data<AppState>,
    DeskSession(session): DeskSession,
    form: DeskForm<Csrf>,
) -> HttpResponse {
    checked_form!(form, &session);
    let ending = session.clone();
    if let Err(error) = state.db.run(move |conn| session::end(conn, &ending)).await {
        return error_page(Some(&session), &error);
    }
    let mut response = see_other("/desk/login");
    let mut gone = cookie(&state, "desk", String::new(), false);
    gone.make_removal();
    let _ = response.add_cookie(&gone);
    response
}
