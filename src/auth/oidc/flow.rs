//! A sign-in under way, held only by the browser that began it (see
//! [`super`]'s notes): its cookie's value, and `state`, `nonce` and the PKCE
//! verifier derived from it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// How long a browser has from "Sign in with SSO" to coming back.
pub const FLOW_LIFETIME: chrono::Duration = chrono::Duration::minutes(10);

/// A sign-in under way: the value of its cookie (see the module's notes).
pub struct Flow {
    value: String,
}

impl Flow {
    /// A new sign-in, begun now.
    pub fn begin() -> Self {
        Self {
            value: format!(
                "{}.{}",
                chrono::Utc::now().timestamp(),
                crate::auth::session::random_token()
            ),
        }
    }

    /// The sign-in a cookie holds, unless it is malformed or older than
    /// [`FLOW_LIFETIME`].
    pub fn from_cookie(value: &str) -> Option<Self> {
        let (began, random) = value.split_once('.')?;
        let began = chrono::DateTime::from_timestamp(began.parse().ok()?, 0)?;
        let age = chrono::Utc::now() - began;
        let fresh = age >= -chrono::Duration::minutes(1) && age <= FLOW_LIFETIME;
        (fresh && random.len() == 43).then(|| Self {
            value: value.to_owned(),
        })
    }

    pub fn cookie_value(&self) -> &str {
        &self.value
    }

    fn derived(&self, label: &str) -> String {
        let mut hash = Sha256::new();
        hash.update(label.as_bytes());
        hash.update([0]);
        hash.update(self.value.as_bytes());
        URL_SAFE_NO_PAD.encode(hash.finalize())
    }

    pub fn state(&self) -> String {
        self.derived("state")
    }

    pub fn nonce(&self) -> String {
        self.derived("nonce")
    }

    /// The PKCE code verifier: 43 characters of base64url (RFC 7636 4.1).
    pub(super) fn verifier(&self) -> String {
        self.derived("pkce")
    }

    /// The S256 code challenge of the verifier.
    pub(super) fn challenge(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(self.verifier().as_bytes()))
    }
}

/// Text compared as digests, so the time taken says nothing of either.
pub(super) fn same(a: &str, b: &str) -> bool {
    Sha256::digest(a.as_bytes()) == Sha256::digest(b.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flow_binds_state_nonce_and_verifier_to_its_cookie() {
        let flow = Flow::begin();
        let again = Flow::from_cookie(flow.cookie_value()).expect("fresh");
        assert_eq!(flow.state(), again.state());
        assert_ne!(flow.state(), flow.nonce());
        assert_eq!(flow.verifier().len(), 43);
        assert_ne!(flow.state(), Flow::begin().state());
        let (_, random) = flow.cookie_value().split_once('.').expect("dot");
        let old = chrono::Utc::now().timestamp() - FLOW_LIFETIME.num_seconds() - 1;
        assert!(Flow::from_cookie(&format!("{old}.{random}")).is_none());
        let moved = format!("{}.{random}", chrono::Utc::now().timestamp() + 1);
        if let Some(moved) = Flow::from_cookie(&moved) {
            assert_ne!(
                moved.state(),
                flow.state(),
                "a changed cookie yields another state"
            );
        }
        assert!(Flow::from_cookie("garbage").is_none());
    }
}
