//! Access tokens: HS256 JWTs signed with the data dir's `jwt.secret`. The
//! algorithm is pinned (a token's own header never chooses it), and `exp`, `iss`,
//! `aud` and `sub` are required and checked with a small leeway.

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
}

impl Claims {
    pub fn new(
        issuer: &str,
        subject: &Subject,
        role: Role,
        name: &str,
        lifetime_secs: i64,
    ) -> Self {
        let now = chrono::Utc::now().timestamp();
        Claims {
            iss: issuer.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: match subject {
                Subject::ApiKey(id) => format!("key:{id}"),
                Subject::Subscriber(id) => format!("subscriber:{id}"),
            },
            role,
            name: name.to_owned(),
            iat: now,
            nbf: now,
            exp: now + lifetime_secs,
        }
    }

    pub fn subject(&self) -> Option<Subject> {
        if let Some(id) = self.sub.strip_prefix("key:") {
            return Some(Subject::ApiKey(id.to_owned()));
        }
        self.sub
            .strip_prefix("subscriber:")
            .map(|id| Subject::Subscriber(id.to_owned()))
    }
}

/// Signs and checks tokens. Holds the secret; deliberately not `Debug`.
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    issuer: String,
}

impl TokenKeys {
    pub fn new(secret: &[u8], issuer: &str) -> Self {
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            issuer: issuer.to_owned(),
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
        let mut validation = Validation::new(ALGORITHM);
        validation.leeway = LEEWAY_SECS;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).map(|data| data.claims)
    }
}
