//! The admins' pages: API keys and membership platforms. A key or a webhook
//! secret is shown once, on the page that answers the form that made it
//! (never stored in the clear, never shown again, never cached).

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::extract::{Csrf, DeskAs, DeskForm, checked_form};
use super::{error_page, page, pages, see_other, status_after};
use crate::auth::session::Session;
use crate::auth::{Administer, Role, keys};
use crate::error::ApiError;
use crate::platforms::{self, NewGhostPlatform, NewOidcPlatform, NewPlatform, NewWebhooksPlatform};
use crate::state::AppState;

/// How many keys the page lists.
const KEYS_LISTED: u32 = 1000;

/// `GET /desk/keys`.
pub(super) async fn keys_page(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Administer>,
) -> HttpResponse {
    show_keys(&state, &session, None, None).await
}

/// The keys page, with a key just made or why the form was refused.
async fn show_keys(
    state: &AppState,
    session: &Session,
    made: Option<pages::admin::MadeKey>,
    problem: Option<ApiError>,
) -> HttpResponse {
    let listed = state
        .db
        .run(|conn| Ok::<_, ApiError>(keys::list(conn, None, KEYS_LISTED)?))
        .await;
    match listed {
        Ok(rows) => {
            let status = status_after(problem.as_ref());
            let detail = problem.as_ref().map(|p| p.detail());
            page(
                status,
                pages::admin::keys(session, &rows, made.as_ref(), detail),
            )
        }
        Err(error) => error_page(Some(session), &error),
    }
}

#[derive(Deserialize)]
pub(super) struct NewKeyForm {
    csrf: String,
    name: String,
    role: String,
}

/// `POST /desk/keys`: makes a key and shows it, once.
pub(super) async fn create_key(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Administer>,
    form: DeskForm<NewKeyForm>,
) -> HttpResponse {
    let form = checked_form!(form, &session);
    let Some(role) = Role::parse(form.role.trim()) else {
        let refused = ApiError::invalid_field("role", "choose one of the roles listed");
        return show_keys(&state, &session, None, Some(refused)).await;
    };
    let name = form.name.trim().to_owned();
    match state
        .db
        .run(move |conn| keys::create(conn, role, &name))
        .await
    {
        Ok(key) => {
            tracing::info!(id = %key.row.id, role = %key.row.role, by = %session.caller.actor(), "API key created on the desk");
            let made = pages::admin::MadeKey {
                name: key.row.name,
                role: key.row.role,
                secret: key.secret,
            };
            show_keys(&state, &session, Some(made), None).await
        }
        Err(error) => show_keys(&state, &session, None, Some(error)).await,
    }
}

/// `POST /desk/keys/{id}/revoke`.
pub(super) async fn revoke_key(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Administer>,
    id: web::Path<String>,
    form: DeskForm<Csrf>,
) -> HttpResponse {
    checked_form!(form, &session);
    let id = id.into_inner();
    match state.db.run(move |conn| keys::revoke(conn, &id)).await {
        Ok(row) => {
            // Its tokens and desk sessions stop at once.
            state.liveness.forget();
            tracing::info!(id = %row.id, by = %session.caller.actor(), "API key revoked on the desk");
            see_other("/desk/keys")
        }
        Err(error) => show_keys(&state, &session, None, Some(error)).await,
    }
}

/// `GET /desk/platforms`.
pub(super) async fn platforms_page(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Administer>,
) -> HttpResponse {
    show_platforms(&state, &session, None, None).await
}

async fn show_platforms(
    state: &AppState,
    session: &Session,
    made: Option<pages::admin::MadePlatform>,
    problem: Option<ApiError>,
) -> HttpResponse {
    match state.db.run(platforms::list).await {
        Ok(found) => {
            let status = status_after(problem.as_ref());
            let shown = pages::admin::PlatformsView {
                found: &found,
                public_url: &state.settings.public_url,
                made: made.as_ref(),
                problem: problem.as_ref().map(|p| p.detail()),
            };
            page(status, pages::admin::platforms(session, &shown))
        }
        Err(error) => error_page(Some(session), &error),
    }
}

#[derive(Deserialize)]
pub(super) struct NewPlatformForm {
    csrf: String,
    kind: String,
    name: String,
    #[serde(default)]
    site: String,
    #[serde(default)]
    issuer: String,
    #[serde(default)]
    jwks_url: String,
    #[serde(default)]
    audience: String,
}

impl NewPlatformForm {
    /// The registration the form asks for; the fields of other kinds are
    /// ignored.
    fn new_platform(&self) -> Result<NewPlatform, ApiError> {
        let name = self.name.trim().to_owned();
        let text = |s: &str| s.trim().to_owned();
        Ok(match self.kind.as_str() {
            "ghost" => NewPlatform::Ghost(NewGhostPlatform {
                name,
                site: text(&self.site),
                tiers: None,
                webhook_secret: None,
            }),
            "oidc" => NewPlatform::Oidc(NewOidcPlatform {
                name,
                issuer: text(&self.issuer),
                jwks_url: text(&self.jwks_url),
                audience: text(&self.audience),
                email_claim: None,
                tiers: None,
                webhook_secret: None,
            }),
            "standard-webhooks" => NewPlatform::StandardWebhooks(NewWebhooksPlatform {
                name,
                tiers: None,
                webhook_secret: None,
            }),
            _ => {
                return Err(ApiError::invalid_field(
                    "kind",
                    "choose Ghost, OpenID Connect or Standard Webhooks",
                ));
            }
        })
    }
}

/// `POST /desk/platforms`: registers a platform and shows its webhook
/// secret, once.
pub(super) async fn register_platform(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Administer>,
    form: DeskForm<NewPlatformForm>,
) -> HttpResponse {
    let form = checked_form!(form, &session);
    let new = match form.new_platform() {
        Ok(new) => new,
        Err(error) => return show_platforms(&state, &session, None, Some(error)).await,
    };
    let st = state.clone();
    match state
        .db
        .run(move |conn| platforms::create(conn, &st.sealing, &new))
        .await
    {
        Ok(registered) => {
            tracing::info!(id = %registered.platform.id, by = %session.caller.actor(), "platform registered on the desk");
            let made = pages::admin::MadePlatform {
                webhook_url: platforms::webhook_url(
                    &state.settings.public_url,
                    &registered.platform.id,
                ),
                name: registered.platform.name,
                secret: registered.webhook_secret,
            };
            show_platforms(&state, &session, Some(made), None).await
        }
        Err(error) => show_platforms(&state, &session, None, Some(error)).await,
    }
}

/// `POST /desk/platforms/{id}/remove`.
pub(super) async fn remove_platform(
    state: web::Data<AppState>,
    DeskAs(session, _): DeskAs<Administer>,
    id: web::Path<String>,
    form: DeskForm<Csrf>,
) -> HttpResponse {
    checked_form!(form, &session);
    let id = id.into_inner();
    let target = id.clone();
    match state
        .db
        .run(move |conn| platforms::remove(conn, &target))
        .await
    {
        Ok(true) => {
            tracing::info!(%id, by = %session.caller.actor(), "platform removed on the desk");
            see_other("/desk/platforms")
        }
        Ok(false) => error_page(
            Some(&session),
            &ApiError::not_found(format!("no platform {id:?}")),
        ),
        Err(error) => error_page(Some(&session), &error),
    }
}
