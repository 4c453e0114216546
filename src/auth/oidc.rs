//! Single sign-on for the desk's staff (SPEC "The editor's desk"): OpenID
//! Connect's authorization code flow with PKCE (S256), `state` and `nonce`,
//! against the provider of `SOURCELEDGER_STAFF_OIDC_ISSUER`.
//!
//! What was decided:
//!
//! - Nothing of a sign-in under way is kept on the server. Its [`Flow`] is
//!   one short-lived cookie (HttpOnly, SameSite=Lax so that the provider's
//!   redirect back brings it, `__Host-` over https, ten minutes) holding the
//!   time it began and 256 random bits. `state`, `nonce` and the PKCE
//!   verifier are each a SHA-256 of that value under its own label: the
//!   browser that began the sign-in is the only one that can finish it, a
//!   cookie changed by hand (its time pushed on) no longer yields the `state`
//!   the provider sends back, and what the provider and the address bar see
//!   (`state`, `nonce`, the challenge) tells nothing of the verifier. The
//!   cookie is dropped by the callback, whatever its outcome: one try.
//! - The provider's discovery document and keys come through the outbound
//!   fetcher (a provider on a private address needs `SOURCELEDGER_FETCH_ALLOW`
//!   like any other); the document's `issuer` must be the configured one to
//!   the byte; it is kept for an hour, and the last good one is used while a
//!   new fetch fails. The keys are [`super::jwks`]'s.
//! - The code is exchanged with `client_secret_basic` (the method every
//!   provider must support) and the verifier. The ID token must verify by a
//!   key of the provider (algorithm from the key), name the provider as
//!   `iss`, this client in `aud` (and as `azp` when it names one, which it
//!   must when `aud` holds several), be unexpired, and carry this sign-in's
//!   `nonce`. The role is the claim `SOURCELEDGER_STAFF_OIDC_ROLE_CLAIM`
//!   names, a string naming a staff role (those that may sign in with a key:
//!   [`super::STAFF`]); the name shown and recorded as actor is `name`, else
//!   `email`, else `sub`.
//! - The client secret, the code, the verifier and the tokens are never
//!   logged nor shown; a refusal says what was wrong in words.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::Value;

mod claims;
mod flow;

pub use flow::{FLOW_LIFETIME, Flow};

use self::claims::staff_of;
use self::flow::same;
use super::Caller;
use super::jwks::{Expected, KeyError, KeySets};
use crate::config::StaffOidcSettings;
use crate::outbound::{Fetcher, Limits};

/// How long a discovery document is used before it is fetched again.
const DISCOVERY_FRESH: Duration = Duration::from_secs(3600);
const LIMITS: Limits = Limits {
    timeout: Duration::from_secs(10),
    max_bytes: 256 * 1024,
};

/// Why a sign-in through the provider did not open a session.
#[derive(Debug, thiserror::Error)]
pub enum SsoError {
    /// The answer does not belong to a sign-in this browser began: 400.
    #[error("{0}")]
    Mismatch(String),
    /// The provider did not sign the person in, or what it said does not
    /// verify: 401.
    #[error("{0}")]
    Refused(String),
    /// Signed in, but with no staff role: 403.
    #[error("{0}")]
    NotStaff(String),
    /// The provider cannot be reached or answers nonsense: 503.
    #[error("{0}")]
    Unavailable(String),
}

impl SsoError {
    pub fn status(&self) -> u16 {
        match self {
            SsoError::Mismatch(_) => 400,
            SsoError::Refused(_) => 401,
            SsoError::NotStaff(_) => 403,
            SsoError::Unavailable(_) => 503,
        }
    }
}

/// What the provider's redirect back carries (RFC 6749 4.1.2; `iss` by
/// RFC 9207 when the provider sends it).
#[derive(Debug, Default)]
pub struct Answer {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub iss: Option<String>,
}

impl Answer {
    /// Reads a callback's query string; unknown fields are ignored.
    pub fn from_query(query: &str) -> Self {
        let mut answer = Answer::default();
        for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let value = Some(value.into_owned());
            match &*name {
                "code" => answer.code = value,
                "state" => answer.state = value,
                "error" => answer.error = value,
                "iss" => answer.iss = value,
                _ => {}
            }
        }
        answer
    }
}

/// The parts of the provider's discovery document used here.
#[derive(Debug, Clone, Deserialize)]
struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
}

/// The staff's OpenID provider and this server's client there. One per
/// process, when single sign-on is configured.
pub struct StaffSso {
    settings: StaffOidcSettings,
    redirect_uri: String,
    fetcher: Fetcher,
    keys: KeySets,
    discovery: Mutex<Option<(Discovery, Instant)>>,
}

impl StaffSso {
    /// The provider of `settings`; the provider sends browsers back to
    /// `{public_url}/desk/sso/callback`.
    pub fn new(settings: StaffOidcSettings, fetcher: Fetcher, public_url: &str) -> Self {
        Self {
            settings,
            redirect_uri: format!("{public_url}/desk/sso/callback"),
            keys: KeySets::new(fetcher.clone()),
            fetcher,
            discovery: Mutex::new(None),
        }
    }

    /// Where to send the browser that begins `flow`: the provider's
    /// authorization endpoint with this sign-in's parameters. Blocks on a
    /// fetch of the discovery document when it is not held.
    pub fn authorization_url(&self, flow: &Flow) -> Result<String, SsoError> {
        let discovery = self.discovery()?;
        let mut url = url::Url::parse(&discovery.authorization_endpoint)
            .map_err(|_| unusable("its authorization_endpoint is not a URL"))?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("scope", "openid profile email")
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("state", &flow.state())
            .append_pair("nonce", &flow.nonce())
            .append_pair("code_challenge", &flow.challenge())
            .append_pair("code_challenge_method", "S256");
        Ok(url.into())
    }

    /// Finishes the sign-in `flow` (none: the browser holds no sign-in under
    /// way) with the provider's `answer`: the staff member it signs in.
    /// Blocks on the code exchange and, when needed, the provider's keys.
    pub fn finish(&self, flow: Option<&Flow>, answer: &Answer) -> Result<Caller, SsoError> {
        let Some(flow) = flow else {
            return Err(SsoError::Mismatch(
                "This browser has no sign-in under way (it began in another browser, or more than ten minutes ago, or was already used). Sign in again.".into(),
            ));
        };
        if !answer
            .state
            .as_deref()
            .is_some_and(|s| same(s, &flow.state()))
        {
            return Err(SsoError::Mismatch(
                "The sign-in provider's answer does not belong to the sign-in this browser began (its state does not match). Sign in again.".into(),
            ));
        }
        if answer
            .iss
            .as_deref()
            .is_some_and(|iss| iss != self.settings.issuer)
        {
            return Err(SsoError::Mismatch(
                "The answer came from another sign-in provider than the newsroom's.".into(),
            ));
        }
        if let Some(error) = &answer.error {
            // The provider's error code only (RFC 6749's characters), short.
            let error: String = error
                .chars()
                .filter(|c| c.is_ascii_graphic() || *c == ' ')
                .take(80)
                .collect();
            return Err(SsoError::Refused(format!(
                "The sign-in provider did not sign you in ({error})."
            )));
        }
        let Some(code) = answer.code.as_deref().filter(|c| !c.is_empty()) else {
            return Err(SsoError::Mismatch(
                "The sign-in provider's answer carries no code.".into(),
            ));
        };
        let discovery = self.discovery()?;
        let id_token = self.exchange(&discovery, code, flow)?;
        let claims = self
            .keys
            .verify(
                &id_token,
                &Expected {
                    jwks_url: &discovery.jwks_uri,
                    issuer: &self.settings.issuer,
                    audience: &self.settings.client_id,
                },
            )
            .map_err(|error| match error {
                KeyError::Invalid(why) => SsoError::Refused(format!(
                    "The sign-in provider's ID token was refused: {why}."
                )),
                KeyError::Unavailable(why) => SsoError::Unavailable(format!(
                    "The sign-in provider's keys cannot be had: {why}."
                )),
            })?;
        staff_of(&claims, &self.settings, &flow.nonce())
    }

    /// The ID token the token endpoint gives for `code`.
    fn exchange(&self, discovery: &Discovery, code: &str, flow: &Flow) -> Result<String, SsoError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "authorization_code")
            .append_pair("code", code)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("code_verifier", &flow.verifier())
            .finish();
        // RFC 6749 2.3.1: id and secret form-encoded, then base64.
        let encode =
            |text: &str| url::form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
        let basic = format!(
            "Basic {}",
            STANDARD.encode(format!(
                "{}:{}",
                encode(&self.settings.client_id),
                encode(&self.settings.client_secret)
            ))
        );
        let response = self
            .fetcher
            .post_with(
                &discovery.token_endpoint,
                &[
                    ("authorization", basic.as_str()),
                    ("accept", "application/json"),
                ],
                "application/x-www-form-urlencoded",
                body.as_bytes(),
                LIMITS,
            )
            .map_err(|e| {
                SsoError::Unavailable(format!("The sign-in provider cannot be reached ({e})."))
            })?;
        let answer: Option<Value> = serde_json::from_slice(&response.body).ok();
        let field = |name: &str| {
            answer
                .as_ref()
                .and_then(|a| a.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        match response.status {
            200 => field("id_token").ok_or_else(|| {
                SsoError::Unavailable(
                    "The sign-in provider's token answer holds no ID token.".into(),
                )
            }),
            400..=499 => {
                let error = field("error").unwrap_or_else(|| response.status.to_string());
                let error: String = error
                    .chars()
                    .filter(char::is_ascii_graphic)
                    .take(80)
                    .collect();
                tracing::info!(%error, "the staff sign-in provider refused a code");
                Err(SsoError::Refused(format!(
                    "The sign-in provider refused this sign-in's code ({error}): it may have been used already or have expired. Sign in again."
                )))
            }
            status => Err(SsoError::Unavailable(format!(
                "The sign-in provider answered {status}."
            ))),
        }
    }

    /// The discovery document: held, or fetched and checked.
    fn discovery(&self) -> Result<Discovery, SsoError> {
        let held = self
            .discovery
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some((discovery, fetched)) = &held
            && fetched.elapsed() < DISCOVERY_FRESH
        {
            return Ok(discovery.clone());
        }
        match self.fetch_discovery() {
            Ok(discovery) => {
                *self.discovery.lock().unwrap_or_else(|e| e.into_inner()) =
                    Some((discovery.clone(), Instant::now()));
                Ok(discovery)
            }
            Err(error) => {
                tracing::warn!(%error, "cannot read the staff sign-in provider's discovery document");
                held.map(|(discovery, _)| discovery).ok_or(error)
            }
        }
    }

    fn fetch_discovery(&self) -> Result<Discovery, SsoError> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.settings.issuer.trim_end_matches('/')
        );
        let response = self.fetcher.get(&url, LIMITS).map_err(|e| {
            SsoError::Unavailable(format!("The sign-in provider cannot be reached ({e})."))
        })?;
        if response.status != 200 {
            return Err(unusable(&format!(
                "its discovery document answered {}",
                response.status
            )));
        }
        let discovery: Discovery = serde_json::from_slice(&response.body)
            .map_err(|_| unusable("its discovery document lacks an endpoint"))?;
        if discovery.issuer != self.settings.issuer {
            return Err(unusable("its discovery document names another issuer"));
        }
        for endpoint in [
            &discovery.authorization_endpoint,
            &discovery.token_endpoint,
            &discovery.jwks_uri,
        ] {
            if !endpoint.starts_with("https://") && !endpoint.starts_with("http://") {
                return Err(unusable(
                    "an endpoint of its discovery document is not a URL",
                ));
            }
        }
        Ok(discovery)
    }
}

fn unusable(why: &str) -> SsoError {
    SsoError::Unavailable(format!("The sign-in provider is not usable: {why}."))
}
