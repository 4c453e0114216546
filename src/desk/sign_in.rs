//! Signing in to the desk with an API key, and out.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::extract::{Csrf, DeskForm, DeskSession, checked_form, read_form};
use super::{cookie, cookie_name, error_page, ok_page, page, pages, see_other};
use crate::auth::session;
use crate::auth::token::Subject;
use crate::auth::{Caller, keys};
use crate::state::AppState;

/// `GET /desk/login`: the sign-in form. Sets a fresh token in a strict
/// cookie and in the form, so a sign-in posted from elsewhere is refused.
pub(super) async fn login_form(state: web::Data<AppState>) -> HttpResponse {
    let token = session::random_token();
    let mut response = ok_page(pages::login(&token, None));
    let _ = response.add_cookie(&cookie(&state, "login", token, true));
    response
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
    let expected = req.cookie(&cookie_name(&state, "login"));
    if expected.is_none_or(|c| c.value().is_empty() || c.value() != csrf) {
        let token = session::random_token();
        let mut response = page(
            actix_web::http::StatusCode::FORBIDDEN,
            pages::login(
                &token,
                Some("The sign-in form had expired. Please sign in again."),
            ),
        );
        let _ = response.add_cookie(&cookie(&state, "login", token, true));
        return response;
    }
    // Signing in again ends the session this browser held: one at a time.
    let previous = req
        .cookie(&cookie_name(&state, "desk"))
        .map(|c| c.value().to_owned());
    let opened = state
        .db
        .run(move |conn| {
            if let Some(previous) = previous
                && let Some(old) = session::find(conn, &previous)?
            {
                session::end(conn, &old)?;
            }
            let Some((key, role)) = keys::find_live_by_secret(conn, api_key.trim())? else {
                return Ok(None);
            };
            let caller = Caller {
                role,
                name: key.name,
                subject: Subject::ApiKey(key.id),
            };
            if !caller.is_staff() {
                return Ok(None);
            }
            session::open(conn, &caller).map(Some)
        })
        .await;
    match opened {
        Ok(Some(opened)) => {
            let mut response = see_other("/desk");
            let _ = response.add_cookie(&cookie(&state, "desk", opened.secret, false));
            let mut gone = cookie(&state, "login", String::new(), true);
            gone.make_removal();
            let _ = response.add_cookie(&gone);
            response
        }
        Ok(None) => {
            let token = session::random_token();
            let mut response = page(
                actix_web::http::StatusCode::UNAUTHORIZED,
                pages::login(
                    &token,
                    Some("That API key is not a live key of the newsroom's staff."),
                ),
            );
            let _ = response.add_cookie(&cookie(&state, "login", token, true));
            response
        }
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
