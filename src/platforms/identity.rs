//! Verifies a platform's identity token (SPEC `POST /v1/auth/exchange`): the
//! platform's keys come from its JWKS through the outbound fetcher, cached for
//! as long as its `Cache-Control` says (5 minutes when it says nothing, a day
//! at most), and fetched again, at most every 30 seconds per platform, when a
//! token names a `kid` the cache lacks. The algorithm comes from the key,
//! never from the token: an RSA key verifies RS256 or RS512 (only its own
//! `alg`, when it names one), a P-256 key ES256, an Ed25519 key EdDSA.
//! RSA keys of 1024 bits and more are taken, as Ghost's member keys are 1024.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::{Platform, PlatformKind};
use crate::outbound::{FetchError, Fetcher, Limits};

const JWKS_LIMITS: Limits = Limits {
    timeout: Duration::from_secs(5),
    max_bytes: 256 * 1024,
};
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
const LONGEST_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// The least time between two fetches of one platform's keys.
const REFETCH_EVERY: Duration = Duration::from_secs(30);
/// Clock skew forgiven on `exp`, `nbf` and `iat`.
const LEEWAY_SECS: u64 = 30;
const MIN_RSA_BITS: usize = 1024;

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

/// Who the platform says the reader is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The token's `sub`.
    pub subject: String,
    /// The reader's email, lowercased, when the platform vouches for it:
    /// Ghost's `sub`, an OIDC issuer's email claim when `email_verified`.
    pub email: Option<String>,
}

struct CachedKeys {
    keys: Vec<Jwk>,
    fresh_until: Instant,
    fetched_at: Instant,
}

/// The platforms' keys this process holds. One per process.
pub struct IdentityKeys {
    fetcher: Fetcher,
    cache: Mutex<HashMap<String, CachedKeys>>,
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
            fetcher,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Verifies `token` as an identity token of `platform`. Blocks on a fetch
    /// of the platform's keys when they are stale or lack the token's `kid`.
    pub fn verify(&self, platform: &Platform, token: &str) -> Result<Identity, IdentityError> {
        let invalid = |what: &str| IdentityError::Invalid(what.to_owned());
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("not a JWT"))?;
        let jwk = self.key_for(platform, header.kid.as_deref())?;
        if !algorithms_of(&jwk)?.contains(&header.alg) {
            return Err(invalid("the token's algorithm is not its key's"));
        }
        let key =
            DecodingKey::from_jwk(&jwk).map_err(|_| invalid("the platform's key is unusable"))?;
        let (Some(issuer), Some(audience)) = (&platform.issuer, &platform.audience) else {
            return Err(invalid("this platform issues no identity tokens"));
        };
        let mut validation = Validation::new(header.alg);
        validation.leeway = LEEWAY_SECS;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map_err(|e| IdentityError::Invalid(format!("the token does not verify ({e})")))?
            .claims;
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

    /// The key a token names, from the cache or a fresh fetch.
    fn key_for(&self, platform: &Platform, kid: Option<&str>) -> Result<Jwk, IdentityError> {
        let now = Instant::now();
        let pick = |keys: &[Jwk]| -> Option<Jwk> {
            match kid {
                Some(kid) => keys
                    .iter()
                    .find(|k| k.common.key_id.as_deref() == Some(kid))
                    .cloned(),
                None if keys.len() == 1 => keys.first().cloned(),
                None => None,
            }
        };
        {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(cached) = cache.get(&platform.id) {
                let fresh = now < cached.fresh_until;
                let fetched_lately = now.duration_since(cached.fetched_at) < REFETCH_EVERY;
                if fresh || fetched_lately {
                    if let Some(key) = pick(&cached.keys) {
                        return Ok(key);
                    }
                    if fetched_lately {
                        return Err(unknown_key());
                    }
                }
            }
        }
        let fetched = self.fetch(platform);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        match fetched {
            Ok((keys, max_age)) => {
                let key = pick(&keys);
                cache.insert(
                    platform.id.clone(),
                    CachedKeys {
                        keys,
                        fresh_until: now + max_age,
                        fetched_at: now,
                    },
                );
                key.ok_or_else(unknown_key)
            }
            Err(error) => {
                // Keep serving the keys we hold; try again after REFETCH_EVERY.
                let Some(cached) = cache.get_mut(&platform.id) else {
                    cache.insert(
                        platform.id.clone(),
                        CachedKeys {
                            keys: Vec::new(),
                            fresh_until: now,
                            fetched_at: now,
                        },
                    );
                    return Err(error);
                };
                cached.fetched_at = now;
                pick(&cached.keys).ok_or(error)
            }
        }
    }

    /// The platform's keys and how long they stay fresh.
    fn fetch(&self, platform: &Platform) -> Result<(Vec<Jwk>, Duration), IdentityError> {
        let url = platform
            .jwks_url
            .as_deref()
            .ok_or_else(|| IdentityError::Invalid("this platform has no keys".into()))?;
        let unavailable = |e: FetchError| IdentityError::Unavailable(e.to_string());
        let response = self.fetcher.get(url, JWKS_LIMITS).map_err(unavailable)?;
        if response.status != 200 {
            return Err(IdentityError::Unavailable(format!(
                "{url} answered {}",
                response.status
            )));
        }
        let document: Value = serde_json::from_slice(&response.body)
            .map_err(|_| IdentityError::Unavailable(format!("{url} is not a JWKS document")))?;
        // A key of a kind we do not know is skipped, not fatal.
        let keys = document
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| IdentityError::Unavailable(format!("{url} has no keys")))?
            .iter()
            .filter_map(|key| serde_json::from_value::<Jwk>(key.clone()).ok())
            .collect();
        Ok((keys, max_age(response.cache_control.as_deref())))
    }
}

fn email_verified(claims: &Value) -> bool {
    match claims.get("email_verified") {
        Some(Value::Bool(verified)) => *verified,
        Some(Value::String(text)) => text == "true",
        _ => false,
    }
}

fn unknown_key() -> IdentityError {
    IdentityError::Invalid("the token names no key the platform publishes".into())
}

/// `max-age` from a `Cache-Control` header, within bounds; `no-store` and
/// `no-cache` mean the shortest wait between fetches.
fn max_age(cache_control: Option<&str>) -> Duration {
    let Some(header) = cache_control else {
        return DEFAULT_MAX_AGE;
    };
    let mut age = DEFAULT_MAX_AGE;
    for directive in header.split(',').map(str::trim) {
        let directive = directive.to_ascii_lowercase();
        if directive == "no-store" || directive == "no-cache" {
            return Duration::ZERO;
        }
        if let Some(seconds) = directive.strip_prefix("max-age=")
            && let Ok(seconds) = seconds.trim_matches('"').parse::<u64>()
        {
            age = Duration::from_secs(seconds);
        }
    }
    age.min(LONGEST_MAX_AGE)
}

/// The algorithms a key verifies: its own `alg` if it names one we take, else
/// those its type allows. Never an HMAC or `none`.
fn algorithms_of(jwk: &Jwk) -> Result<Vec<Algorithm>, IdentityError> {
    let refuse = |what: &str| IdentityError::Invalid(format!("the platform's key is {what}"));
    let by_type = match &jwk.algorithm {
        AlgorithmParameters::RSA(rsa) => {
            let modulus = BASE64URL.decode(&rsa.n).map_err(|_| refuse("malformed"))?;
            let leading_zeros = modulus.iter().take_while(|b| **b == 0).count();
            let bits = (modulus.len() - leading_zeros) * 8;
            if bits < MIN_RSA_BITS {
                return Err(refuse("an RSA key under 1024 bits"));
            }
            vec![Algorithm::RS256, Algorithm::RS512]
        }
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            vec![Algorithm::ES256]
        }
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            vec![Algorithm::EdDSA]
        }
        _ => return Err(refuse("of a type identity tokens are not signed with")),
    };
    let named = match jwk.common.key_algorithm {
        None => return Ok(by_type),
        Some(KeyAlgorithm::RS256) => Algorithm::RS256,
        Some(KeyAlgorithm::RS512) => Algorithm::RS512,
        Some(KeyAlgorithm::ES256) => Algorithm::ES256,
        Some(KeyAlgorithm::EdDSA) => Algorithm::EdDSA,
        Some(_) => {
            return Err(refuse(
                "for an algorithm identity tokens are not signed with",
            ));
        }
    };
    if by_type.contains(&named) {
        Ok(vec![named])
    } else {
        Err(refuse("of another type than its alg says"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_bounds_the_cache() {
        assert_eq!(max_age(None), DEFAULT_MAX_AGE);
        assert_eq!(max_age(Some("public, max-age=60")), Duration::from_secs(60));
        assert_eq!(max_age(Some("max-age=99999999")), LONGEST_MAX_AGE);
        assert_eq!(max_age(Some("no-store")), Duration::ZERO);
        assert_eq!(max_age(Some("max-age=abc")), DEFAULT_MAX_AGE);
    }
}
