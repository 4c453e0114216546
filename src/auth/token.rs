//! Access tokens: HS256 JWTs signed with the data dir's `jwt.secret`. The
//! algorithm is pinned (a token's own header never chooses it), and `exp`, `iss`,
//! `aud` and `sub` are required and checked with a small leeway.

use std::collections::HashMap;
use std::sync::Mutex;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Role;

const ALGORITHM: Algorithm = Algorithm::HS256;
pub const AUDIENCE: &str = "sourceledger-api";
const LEEWAY_SECS: u64 = 30;
/// Lifetime of a token minted from an API key.
pub const API_KEY_TOKEN_SECS: i64 = 3600;
/// Lifetime of a subscriber token: 30 days.
pub const SUBSCRIBER_TOKEN_SECS: i64 = 30 * 24 * 3600;

/// What every token endpoint answers: `/v1/auth/token` and a subscriber's token.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    /// `key:<api key id>` or `subscriber:<subscriber id>`.
    pub sub: String,
    pub role: Role,
    /// Who, as the ledger's `actor` names them.
    pub name: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
}

/// The token's subject: what must still be live for the token to work.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Subject {
    ApiKey(String),
    Subscriber(String),
    /// A staff member signed in to the desk through the newsroom's OpenID
    /// provider: `{iss}#{sub}`, the pair OpenID Connect makes unique. Only a
    /// desk session has this subject (no token is minted for it); there is
    /// no key here to revoke, so such a session ends when it expires or is
    /// signed out (`auth::session`), and the provider decides who may open
    /// the next one.
    Staff(String),
}

impl Claims {
    pub fn new(
        issuer: &str,
        subject: &Subject,
        role: Role,
        name: &str,
        lifetime_secs: i64,
    ) -> Self {
        let now = latest_seen();
        Claims {
            iss: issuer.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: subject.as_text(),
            role,
            name: name.to_owned(),
            iat: now,
            nbf: now,
            exp: now + lifetime_secs,
        }
    }

    pub fn subject(&self) -> Option<Subject> {
        Subject::parse(&self.sub)
    }
}

impl Subject {
    /// `key:ID`, `subscriber:ID` or `staff:ISS#SUB`, as a token's `sub`
    /// and a desk session name what must stay live.
    pub fn as_text(&self) -> String {
        match self {
            Subject::ApiKey(id) => format!("key:{id}"),
            Subject::Subscriber(id) => format!("subscriber:{id}"),
            Subject::Staff(id) => format!("staff:{id}"),
        }
    }

    pub fn parse(text: &str) -> Option<Subject> {
        if let Some(id) = text.strip_prefix("key:") {
            return Some(Subject::ApiKey(id.to_owned()));
        }
        if let Some(id) = text.strip_prefix("staff:") {
            return Some(Subject::Staff(id.to_owned()));
        }
        text.strip_prefix("subscriber:")
            .map(|id| Subject::Subscriber(id.to_owned()))
    }
}

/// Tokens kept verified, at most: a few hundred KiB.
const VERIFIED_TOKENS: usize = 4096;

/// Signs and checks tokens. Holds the secret; deliberately not `Debug`.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
    /// Tokens that verified, with their claims: a token seen again (every
    /// request checks its token twice, in the rate limiter and in the
    /// extractor, and a reader's browser sends the same token for weeks) is
    /// not verified again (an HMAC, base64 and a JSON parse) while its `exp`
    /// holds. Emptied when full. Revocation is not a token's business: the
    /// subject's liveness is checked after this (`auth::Liveness`).
    verified: Mutex<HashMap<String, Claims>>,
}

impl TokenKeys {
    pub fn new(secret: &[u8], issuer: &str) -> Self {
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            issuer: issuer.to_owned(),
            verified: Mutex::default(),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn mint(&self, claims: &Claims) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(&Header::new(ALGORITHM), claims, &self.encoding)
    }

    /// Issues a token for `subject`, acting as `role` under `name`: the one
    /// place tokens are made, for API keys and subscribers alike.
    pub fn issue(
        &self,
        subject: &Subject,
        role: Role,
        name: &str,
        lifetime_secs: i64,
    ) -> Result<TokenResponse, jsonwebtoken::errors::Error> {
        let claims = Claims::new(&self.issuer, subject, role, name, lifetime_secs);
        Ok(TokenResponse {
            access_token: self.mint(&claims)?,
            token_type: "Bearer",
            expires_in: lifetime_secs,
        })
    }

    /// Checks signature, algorithm, `exp`, `nbf`, `iss` and `aud`.
    pub fn check(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        let now = chrono::Utc::now().timestamp();
        let known = self
            .verified
            .lock()
            .ok()
            .and_then(|verified| verified.get(token).cloned());
        match known {
            // Verified before: only time can have changed its answer.
            Some(claims) if claims.exp >= now - LEEWAY_SECS as i64 => return Ok(claims),
            Some(_) => {
                if let Ok(mut verified) = self.verified.lock() {
                    verified.remove(token);
                }
                return Err(jsonwebtoken::errors::ErrorKind::ExpiredSignature.into());
            }
            None => {}
        }
        let claims = self.verify(token)?;
        if let Ok(mut verified) = self.verified.lock() {
            if verified.len() >= VERIFIED_TOKENS {
                verified.clear();
            }
            verified.insert(token.to_owned(), claims.clone());
        }
        Ok(claims)
    }

    fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        let mut validation = Validation::new(ALGORITHM);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        // `nbf` is judged below, against the latest time this process has
        // seen rather than the wall clock alone.
        validation.validate_nbf = false;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)?.claims;
        if claims.nbf > latest_seen() + LEEWAY_SECS as i64 {
            return Err(jsonwebtoken::errors::ErrorKind::ImmatureSignature.into());
        }
        Ok(claims)
    }
}

/// The latest wall-clock second this process has seen (Unix time). A token's
/// `nbf` is judged against it, not against the wall clock alone: when the
/// clock steps back (NTP, a VM resumed), a token issued in the minutes
/// before the step is still good, while one dated to the future of every
/// clock this process has read is not. (A process started after the step
/// knows only the wall clock: such tokens wait for it, at most the step.)
fn latest_seen() -> i64 {
    static LATEST: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
    let now = chrono::Utc::now().timestamp();
    LATEST
        .fetch_max(now, std::sync::atomic::Ordering::AcqRel)
        .max(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(b"a test secret of enough length!!", "test-origin")
    }

    #[test]
    fn a_token_verified_before_is_refused_once_it_expires() {
        let keys = keys();
        let subject = Subject::Subscriber("s".into());
        let token = keys
            .issue(&subject, Role::Subscriber, "s", 3600)
            .expect("token")
            .access_token;
        let claims = keys.check(&token).expect("valid");
        // Kept as verified; now let its time run out.
        let expired = Claims {
            exp: chrono::Utc::now().timestamp() - LEEWAY_SECS as i64 - 1,
            ..claims
        };
        keys.verified
            .lock()
            .expect("lock")
            .insert(token.clone(), expired);
        assert!(keys.check(&token).is_err());
        assert!(keys.verified.lock().expect("lock").get(&token).is_none());
    }

    #[test]
    fn a_changed_token_is_verified_afresh_and_refused() {
        let keys = keys();
        let subject = Subject::ApiKey("k".into());
        let token = keys
            .issue(&subject, Role::Editor, "k", 3600)
            .expect("token")
            .access_token;
        assert!(keys.check(&token).is_ok());
        let mut changed = token.clone();
        changed.pop();
        changed.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert!(keys.check(&changed).is_err());
        let other = TokenKeys::new(b"another secret of enough length!", "test-origin");
        assert!(other.check(&token).is_err());
    }
}
