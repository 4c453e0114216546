//! Verifies a platform's identity token (SPEC `POST /v1/auth/exchange`): the
//! platform's keys, their cache and the algorithm rules are
//! [`crate::auth::jwks`]'s; what the token says of the reader is read here.

use serde_json::Value;

use super::{Platform, PlatformKind};
use crate::auth::jwks::{Expected, KeyError, KeySets};
use crate::outbound::Fetcher;

/// Why a token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// The token does not verify: 401.
    #[error("{0}")]
    Invalid(String),
    /// The platform's keys cannot be had right now: 503.
    #[error("the platform's keys cannot be fetched: {0}")]
    Unavailable(String),
}

impl From<KeyError> for IdentityError {
    fn from(error: KeyError) -> Self {
        match error {
            KeyError::Invalid(detail) => Self::Invalid(detail),
            KeyError::Unavailable(detail) => Self::Unavailable(detail),
        }
    }
}

/// Who the platform says the reader is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The token's `sub`.
    pub subject: String,
    /// The reader's email, lowercased, when the platform vouches for it:
    /// Ghost's `sub`, an OIDC issuer's email claim when `email_verified`.
    pub email: Option<String>,
}

/// The platforms' keys this process holds. One per process.
pub struct IdentityKeys {
    keys: KeySets,
}

/// The `iss` a token claims, read without verifying anything, to pick the
/// platform that must then verify it.
pub fn claimed_issuer(token: &str) -> Option<String> {
    let claims: Value = jsonwebtoken::dangerous::insecure_decode_claims(token).ok()?;
    claims.get("iss")?.as_str().map(str::to_owned)
}

impl IdentityKeys {
    pub fn new(fetcher: Fetcher) -> Self {
        Self {
            keys: KeySets::new(fetcher),
        }
    }

    /// Verifies `token` as an identity token of `platform`. Blocks on a fetch
    /// of the platform's keys when they are stale or lack the token's `kid`.
    pub fn verify(&self, platform: &Platform, token: &str) -> Result<Identity, IdentityError> {
        let invalid = |what: &str| IdentityError::Invalid(what.to_owned());
        let (Some(issuer), Some(audience), Some(jwks_url)) =
            (&platform.issuer, &platform.audience, &platform.jwks_url)
        else {
            return Err(invalid("this platform issues no identity tokens"));
        };
        let claims = self.keys.verify(
            token,
            &Expected {
                jwks_url,
                issuer,
                audience,
            },
        )?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
        let subject = text("sub").ok_or_else(|| invalid("the token has no sub"))?;
        // An email names a reader only when the platform vouches for it:
        // Ghost's member tokens carry the address its magic link proved; an
        // OpenID provider's must say `email_verified` (true, or "true" as some
        // providers write it). An unverified address is anybody's to type.
        let email = match platform.kind {
            PlatformKind::Ghost => Some(subject.clone()),
            _ if email_verified(&claims) => {
                text(platform.email_claim.as_deref().unwrap_or("email"))
            }
            _ => None,
        };
        Ok(Identity {
            subject,
            email: email.map(|e| e.to_lowercase()),
        })
    }
}

fn email_verified(claims: &Value) -> bool {
    match claims.get("email_verified") {
        Some(Value::Bool(verified)) => *verified,
        Some(Value::String(text)) => text == "true",
        _ => false,
    }
}
