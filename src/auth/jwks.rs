//! Tokens signed by someone else (a membership platform's identity token, the
//! staff's OpenID provider's ID token) and the keys that verify them: each
//! JWKS comes through the outbound fetcher, cached by its URL for as long as
//! its `Cache-Control` says (5 minutes when it says nothing, a day at most),
//! and fetched again, at most every 30 seconds per URL, when a token names a
//! `kid` the cache lacks. The algorithm comes from the key, never from the
//! token: an RSA key verifies RS256 or RS512 (only its own `alg`, when it
//! names one), a P-256 key ES256, an Ed25519 key EdDSA. RSA keys of 1024 bits
//! and more are taken, as Ghost's member keys are 1024.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::outbound::{FetchError, Fetcher, Limits};

const JWKS_LIMITS: Limits = Limits {
    timeout: Duration::from_secs(5),
    max_bytes: 256 * 1024,
};
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
const LONGEST_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// The least time between two fetches of one key set.
const REFETCH_EVERY: Duration = Duration::from_secs(30);
/// Clock skew forgiven on `exp`, `nbf` and `iat`.
pub const LEEWAY_SECS: u64 = 30;
const MIN_RSA_BITS: usize = 1024;

/// Why a token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The token does not verify.
    #[error("{0}")]
    Invalid(String),
    /// The keys cannot be had right now.
    #[error("the keys cannot be fetched: {0}")]
    Unavailable(String),
}

/// What a token must say to be taken.
pub struct Expected<'a> {
    /// Where the signer's keys are published.
    pub jwks_url: &'a str,
    pub issuer: &'a str,
    /// `aud` must hold this (alone or among others).
    pub audience: &'a str,
}

struct CachedKeys {
    keys: Vec<Jwk>,
    fresh_until: Instant,
    fetched_at: Instant,
}

/// The key sets this process holds, by URL. One per use, per process.
pub struct KeySets {
    fetcher: Fetcher,
    cache: Mutex<HashMap<String, CachedKeys>>,
}

impl KeySets {
    pub fn new(fetcher: Fetcher) -> Self {
        Self {
            fetcher,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Verifies `token`: its signature by a key of `expected.jwks_url` (the
    /// algorithm the key's), `exp`, `nbf`, `iss` and `aud`, with `sub`
    /// required. Answers its claims. Blocks on a fetch of the keys when they
    /// are stale or lack the token's `kid`.
    pub fn verify(&self, token: &str, expected: &Expected<'_>) -> Result<Value, KeyError> {
        let invalid = |what: &str| KeyError::Invalid(what.to_owned());
        let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("not a JWT"))?;
        let jwk = self.key_for(expected.jwks_url, header.kid.as_deref())?;
        verify_with(&jwk, token, expected)
    }

    /// The key a token names, from the cache or a fresh fetch.
    fn key_for(&self, url: &str, kid: Option<&str>) -> Result<Jwk, KeyError> {
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
            if let Some(cached) = cache.get(url) {
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
        let fetched = self.fetch(url);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        match fetched {
            Ok((keys, max_age)) => {
                let key = pick(&keys);
                cache.insert(
                    url.to_owned(),
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
                let Some(cached) = cache.get_mut(url) else {
                    cache.insert(
                        url.to_owned(),
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

    /// The keys at `url` and how long they stay fresh.
    fn fetch(&self, url: &str) -> Result<(Vec<Jwk>, Duration), KeyError> {
        let unavailable = |e: FetchError| KeyError::Unavailable(e.to_string());
        let response = self.fetcher.get(url, JWKS_LIMITS).map_err(unavailable)?;
        if response.status != 200 {
            return Err(KeyError::Unavailable(format!(
                "{url} answered {}",
                response.status
            )));
        }
        let document: Value = serde_json::from_slice(&response.body)
            .map_err(|_| KeyError::Unavailable(format!("{url} is not a JWKS document")))?;
        // A key of a kind we do not know is skipped, not fatal.
        let keys = document
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| KeyError::Unavailable(format!("{url} has no keys")))?
            .iter()
            .filter_map(|key| serde_json::from_value::<Jwk>(key.clone()).ok())
            .collect();
        Ok((keys, max_age(response.cache_control.as_deref())))
    }
}

/// Verifies `token` with `jwk`, as [`KeySets::verify`] does once it holds
/// the key.
pub fn verify_with(jwk: &Jwk, token: &str, expected: &Expected<'_>) -> Result<Value, KeyError> {
    let invalid = |what: &str| KeyError::Invalid(what.to_owned());
    let header = jsonwebtoken::decode_header(token).map_err(|_| invalid("not a JWT"))?;
    if !algorithms_of(jwk)?.contains(&header.alg) {
        return Err(invalid("the token's algorithm is not its key's"));
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|_| invalid("the signer's key is unusable"))?;
    let mut validation = Validation::new(header.alg);
    validation.leeway = LEEWAY_SECS;
    validation.set_issuer(&[expected.issuer]);
    validation.set_audience(&[expected.audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| KeyError::Invalid(format!("the token does not verify ({e})")))
}

fn unknown_key() -> KeyError {
    KeyError::Invalid("the token names no key its signer publishes".into())
}

/// `max-age` from a `Cache-Control` header, within bounds; `no-store` and
/// `no-cache` mean the shortest wait between fetches.
pub fn max_age(cache_control: Option<&str>) -> Duration {
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
fn algorithms_of(jwk: &Jwk) -> Result<Vec<Algorithm>, KeyError> {
    let refuse = |what: &str| KeyError::Invalid(format!("the signer's key is {what}"));
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
        _ => return Err(refuse("of a type tokens here are not signed with")),
    };
    let named = match jwk.common.key_algorithm {
        None => return Ok(by_type),
        Some(KeyAlgorithm::RS256) => Algorithm::RS256,
        Some(KeyAlgorithm::RS512) => Algorithm::RS512,
        Some(KeyAlgorithm::ES256) => Algorithm::ES256,
        Some(KeyAlgorithm::EdDSA) => Algorithm::EdDSA,
        Some(_) => {
            return Err(refuse("for an algorithm tokens here are not signed with"));
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

    #[test]
    fn a_token_verifies_only_with_its_key_issuer_audience_and_time() {
        use ed25519_dalek::SigningKey;
        use ed25519_dalek::pkcs8::EncodePrivateKey;
        use serde_json::json;

        let signer = |seed: u8| {
            let key = SigningKey::from_bytes(&[seed; 32]);
            let der = key.to_pkcs8_der().expect("pkcs8");
            (key, jsonwebtoken::EncodingKey::from_ed_der(der.as_bytes()))
        };
        let (ours, ours_encoding) = signer(7);
        let (_, theirs_encoding) = signer(8);
        let jwk: Jwk = serde_json::from_value(json!({
            "kty": "OKP", "crv": "Ed25519", "kid": "k1",
            "x": BASE64URL.encode(ours.verifying_key().as_bytes()),
        }))
        .expect("jwk");
        let mut header = jsonwebtoken::Header::new(Algorithm::EdDSA);
        header.kid = Some("k1".into());
        let sign = |claims: &Value, key: &jsonwebtoken::EncodingKey| {
            jsonwebtoken::encode(&header, claims, key).expect("sign")
        };
        let expected = Expected {
            jwks_url: "https://id.news.example/jwks",
            issuer: "https://id.news.example",
            audience: "desk",
        };
        let now = chrono::Utc::now().timestamp();
        let good =
            json!({"iss": "https://id.news.example", "aud": "desk", "sub": "jo", "exp": now + 300});
        let claims = verify_with(&jwk, &sign(&good, &ours_encoding), &expected).expect("valid");
        assert_eq!(claims["sub"], "jo");
        let mut several = good.clone();
        several["aud"] = json!(["other", "desk"]);
        assert!(verify_with(&jwk, &sign(&several, &ours_encoding), &expected).is_ok());

        assert!(
            verify_with(&jwk, &sign(&good, &theirs_encoding), &expected).is_err(),
            "another key's signature"
        );
        for (claim, value) in [
            ("iss", json!("https://evil.example")),
            ("aud", json!("other")),
            ("aud", json!(["other"])),
            ("exp", json!(now - 2 * LEEWAY_SECS as i64)),
            ("sub", Value::Null),
        ] {
            let mut bad = good.clone();
            match value {
                Value::Null => {
                    if let Some(claims) = bad.as_object_mut() {
                        claims.remove(claim);
                    }
                }
                value => bad[claim] = value,
            }
            assert!(
                verify_with(&jwk, &sign(&bad, &ours_encoding), &expected).is_err(),
                "{claim} {bad}"
            );
        }
        // A token that names an algorithm its key does not use: HS256 keyed
        // with the public key's bytes.
        let hmac = jsonwebtoken::encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &good,
            &jsonwebtoken::EncodingKey::from_secret(ours.verifying_key().as_bytes()),
        )
        .expect("hs256");
        assert!(verify_with(&jwk, &hmac, &expected).is_err());
    }
}
