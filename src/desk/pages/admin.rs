//! The admins' pages: API keys and membership platforms.

use maud::html;

use super::{csrf, field, layout};
use crate::auth::Role;
use crate::auth::keys::ApiKeyRow;
use crate::auth::session::Session;
use crate::platforms::{Platform, webhook_url};

/// A key just made: the one time its secret is shown.
pub struct MadeKey {
    pub name: String,
    pub role: String,
    pub secret: String,
}

/// The keys, live and revoked; the form for a new one; `made` once.
pub fn keys(
    session: &Session,
    rows: &[ApiKeyRow],
    made: Option<&MadeKey>,
    problem: Option<&str>,
) -> String {
    layout(
        "API keys",
        Some(session),
        html! {
            h1 { "API keys" }
            @if let Some(problem) = problem {
                p class="problem" role="alert" { (problem) }
            }
            @if let Some(made) = made {
                section class="card secret" aria-labelledby="made" {
                    h2 id="made" { "New key for " (made.name) " (" (made.role) ")" }
                    p { "Copy it now: it is shown this once and cannot be read again." }
                    label for="secret" { "Key" }
                    input id="secret" type="text" readonly data-copy value=(made.secret) class="secret-value";
                }
            }
            table class="articles" {
                thead { tr { th scope="col" { "Name" } th scope="col" { "Role" } th scope="col" { "Created" } th scope="col" { "State" } } }
                tbody {
                    @for key in rows {
                        tr {
                            td { (key.name) }
                            td { (key.role) }
                            td { time datetime=(&*key.created_at) { (key.created_at.get(..10).unwrap_or_default()) } }
                            td {
                                @if let Some(revoked) = &key.revoked_at {
                                    "revoked " (revoked.get(..10).unwrap_or_default())
                                } @else {
                                    form class="inline" method="post" action=(format!("/desk/keys/{}/revoke", key.id)) data-confirm=(format!("Revoke the key of {}? It stops working at once.", key.name)) {
                                        (csrf(session))
                                        button type="submit" aria-label=(format!("Revoke key {}", key.name)) { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section class="card" aria-labelledby="new-key" {
                h2 id="new-key" { "New key" }
                form method="post" action="/desk/keys" {
                    (csrf(session))
                    (field("name", "Name", "text", "", Some("Who or what holds it, such as a person or a CMS.")))
                    div class="field" {
                        label for="role" { "Role" }
                        select id="role" name="role" {
                            @for role in Role::ALL.into_iter().filter(|r| r.may_hold_api_key()) {
                                option value=(role.as_str()) { (role.as_str()) }
                            }
                        }
                    }
                    button type="submit" { "Create key" }
                }
            }
        },
    )
}

/// A platform just registered: the one time its webhook secret is shown.
pub struct MadePlatform {
    pub name: String,
    pub webhook_url: String,
    pub secret: String,
}

/// What the platforms page shows.
pub struct PlatformsView<'a> {
    pub found: &'a [Platform],
    pub public_url: &'a str,
    pub made: Option<&'a MadePlatform>,
    pub problem: Option<&'a str>,
}

/// The membership platforms, each with its webhook URL; the form for a new
/// one; `made` once.
pub fn platforms(session: &Session, view: &PlatformsView) -> String {
    layout(
        "Platforms",
        Some(session),
        html! {
            h1 { "Membership platforms" }
            @if let Some(problem) = view.problem {
                p class="problem" role="alert" { (problem) }
            }
            @if let Some(made) = view.made {
                section class="card secret" aria-labelledby="made" {
                    h2 id="made" { (made.name) " is registered" }
                    p { "Give the platform this webhook URL and secret. The secret is shown this once and cannot be read again." }
                    label for="webhook-url" { "Webhook URL" }
                    input id="webhook-url" type="text" readonly data-copy value=(made.webhook_url) class="secret-value";
                    label for="secret" { "Webhook secret" }
                    input id="secret" type="text" readonly data-copy value=(made.secret) class="secret-value";
                }
            }
            @if view.found.is_empty() {
                p { "No platform is registered: readers cannot sign in yet." }
            } @else {
                table class="articles" {
                    thead { tr { th scope="col" { "Name" } th scope="col" { "Kind" } th scope="col" { "Webhook URL" } th scope="col" { span class="visually-hidden" { "Actions" } } } }
                    tbody {
                        @for p in view.found {
                            tr {
                                td { (p.name) @if let Some(issuer) = &p.issuer { br; small { (issuer) } } }
                                td { (p.kind.as_str()) }
                                td { code { (webhook_url(view.public_url, &p.id)) } }
                                td {
                                    form class="inline" method="post" action=(format!("/desk/platforms/{}/remove", p.id)) data-confirm=(format!("Remove {}? Its webhooks and sign-ins stop being accepted.", p.name)) {
                                        (csrf(session))
                                        button type="submit" aria-label=(format!("Remove platform {}", p.name)) { "Remove" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            section class="card" aria-labelledby="new-platform" {
                h2 id="new-platform" { "Register a platform" }
                form method="post" action="/desk/platforms" {
                    (csrf(session))
                    div class="field" {
                        label for="kind" { "Kind" }
                        select id="kind" name="kind" {
                            option value="ghost" { "Ghost" }
                            option value="oidc" { "OpenID Connect" }
                            option value="standard-webhooks" { "Standard Webhooks" }
                        }
                    }
                    (field("name", "Name", "text", "", None))
                    fieldset {
                        legend { "Ghost" }
                        (optional("site", "Site", "url", "The site's address, such as https://news.example."))
                    }
                    fieldset {
                        legend { "OpenID Connect" }
                        (optional("issuer", "Issuer", "url", "Exactly as its tokens' iss."))
                        (optional("jwks_url", "JWKS URL", "url", "Where the issuer's keys are."))
                        (optional("audience", "Audience", "text", "The aud its tokens carry for this newsroom."))
                    }
                    button type="submit" { "Register platform" }
                }
            }
        },
    )
}

/// A field only some kinds use.
fn optional(id: &str, label: &str, kind: &str, hint: &str) -> maud::Markup {
    html! {
        div class="field" {
            label for=(id) { (label) }
            input id=(id) name=(id) type=(kind) aria-describedby=(format!("{id}-hint"));
            small id=(format!("{id}-hint")) { (hint) }
        }
    }
}
