//! The editor's desk (SPEC "The editor's desk"): the newsroom's own web app at
//! `/desk`, rendered on the server, every task a plain form that works with
//! JavaScript off.
//!
//! Handlers here are like the API's: extract, call one domain function,
//! answer (a page, or a redirect after a form). Who is calling is a desk
//! session ([`crate::auth::session`]) in a cookie; every form that changes
//! something carries the session's CSRF token, checked before anything else
//! is done with the form; a role may do on the desk exactly what it may do
//! through the API. Pages carry a strict CSP: scripts and styles only from
//! the desk's own two files (`/desk/desk.js`, `/desk/desk.css`; no inline
//! script), forms only to this origin, never framed. The script only
//! enhances: every task is a plain form that works with JavaScript off.

mod admin;
mod archive;
mod extract;
mod newsroom;
mod pages;
mod proposals;
mod sign_in;
mod sources;
mod sso;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{HttpResponse, web};

use self::extract::FORM_LIMIT;
use self::newsroom::{
    article, cite, create_article, home, publish, record_source, retract, verify,
};
use self::sign_in::{login, login_form, logout};
use self::sources::{disclose, source, source_list};
use crate::auth::Permission;
use crate::auth::session::Session;
use crate::error::ApiError;
use crate::state::AppState;

/// The stylesheet every desk page links to.
const STYLESHEET: &str = include_str!("desk.css");

/// The desk's one script: enhancements only (copy buttons, a question
/// before what cannot be undone); every task works without it.
const SCRIPT: &str = include_str!("desk.js");

/// The desk's pages' media type.
pub const HTML: &str = "text/html; charset=utf-8";

/// The desk's content security policy: nothing runs but the desk's own
/// script file (no inline script), nothing loads but it and the desk's
/// stylesheet, forms post only here, no page is framed.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Registers the desk's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::FormConfig::default().limit(FORM_LIMIT))
        .route("/desk", web::get().to(home))
        .route("/desk/desk.css", web::get().to(stylesheet))
        .route("/desk/desk.js", web::get().to(script))
        .route("/desk/login", web::get().to(login_form))
        .route("/desk/login", web::post().to(login))
        .route("/desk/logout", web::post().to(logout))
        .route("/desk/sso/start", web::get().to(sso::start))
        .route("/desk/sso/callback", web::get().to(sso::callback))
        .route("/desk/articles", web::post().to(create_article))
        .route("/desk/sources", web::get().to(source_list))
        .route("/desk/sources/{id}", web::get().to(source))
        .route("/desk/articles/{slug}", web::get().to(article))
        .route(
            "/desk/articles/{slug}/sources",
            web::post().to(record_source),
        )
        .route("/desk/articles/{slug}/citations", web::post().to(cite))
        .service(
            web::resource("/desk/articles/{slug}/extract")
                .app_data(web::FormConfig::default().limit(proposals::ARTICLE_FORM_LIMIT))
                .route(web::post().to(proposals::extract)),
        )
        .route(
            "/desk/articles/{slug}/proposals/accept",
            web::post().to(proposals::accept),
        )
        .route(
            "/desk/articles/{slug}/proposals/accept-all",
            web::post().to(proposals::accept_all),
        )
        .route(
            "/desk/articles/{slug}/proposals/drop",
            web::post().to(proposals::drop),
        )
        .route(
            "/desk/articles/{slug}/lookup",
            web::post().to(proposals::lookup),
        )
        .route("/desk/articles/{slug}/publish", web::post().to(publish))
        .route("/desk/citations/{id}/verify", web::post().to(verify))
        .route("/desk/citations/{id}/retract", web::post().to(retract))
        .route(
            "/desk/sources/{id}/capture",
            web::post().to(archive::capture),
        )
        .route("/desk/sources/{id}/upload", web::post().to(archive::upload))
        .route("/desk/snapshots/{sha256}", web::get().to(archive::snapshot))
        .route("/desk/sources/{id}/disclose", web::post().to(disclose))
        .route("/desk/drift", web::get().to(archive::drift_queue))
        .route("/desk/drift/review", web::post().to(archive::review))
        .route("/desk/keys", web::get().to(admin::keys_page))
        .route("/desk/keys", web::post().to(admin::create_key))
        .route("/desk/keys/{id}/revoke", web::post().to(admin::revoke_key))
        .route("/desk/platforms", web::get().to(admin::platforms_page))
        .route("/desk/platforms", web::post().to(admin::register_platform))
        .route(
            "/desk/platforms/{id}/remove",
            web::post().to(admin::remove_platform),
        );
}

/// The session cookie's name: with the `__Host-` prefix (the browser then
/// insists on `Secure`, `Path=/` and no `Domain`) when the desk is served
/// over https, as it is in production.
fn cookie_name(state: &AppState, what: &str) -> String {
    match secure(state) {
        true => format!("__Host-sourceledger-{what}"),
        false => format!("sourceledger-{what}"),
    }
}

fn secure(state: &AppState) -> bool {
    state.settings.public_url.starts_with("https://")
}

fn cookie<'c>(state: &AppState, what: &str, value: String, strict: bool) -> Cookie<'c> {
    Cookie::build(cookie_name(state, what), value)
        .path("/")
        .http_only(true)
        .secure(secure(state))
        .same_site(if strict {
            SameSite::Strict
        } else {
            SameSite::Lax
        })
        .finish()
}

/// A page, with the desk's headers.
fn page(status: actix_web::http::StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, HTML))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// A page's status after a form: 200, or the refusal's when the page shows
/// why the form was refused.
fn status_after(problem: Option<&ApiError>) -> actix_web::http::StatusCode {
    problem.map_or(actix_web::http::StatusCode::OK, ApiError::status)
}

fn ok_page(body: String) -> HttpResponse {
    page(actix_web::http::StatusCode::OK, body)
}

/// After a form: where to look next (303, so a reload does not post again).
fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// An error as a desk page: its status, and what went wrong in words.
fn error_page(session: Option<&Session>, error: &ApiError) -> HttpResponse {
    page(
        error.status(),
        pages::error(session, error.status().as_u16(), error.detail()),
    )
}

/// Whether the session's role may do what permission `P` allows.
fn may<P: Permission>(session: &Session) -> bool {
    P::ROLES.contains(&session.caller.role)
}

async fn script() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/javascript; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(SCRIPT)
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(STYLESHEET)
}
