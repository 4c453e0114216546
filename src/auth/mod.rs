//! Who is calling: API keys, roles, the JWTs they are exchanged for, and the
//! extractor that checks them on every request.

mod caller;
pub mod jwks;
pub mod keys;
mod live;
pub mod oidc;
pub mod package_access;
pub mod session;
pub mod token;

pub use caller::{
    Administer, Allowed, Audit, Caller, Edit, ManageSubscribers, MaybeCaller, MaybeUnconfirmed,
    Permission, READERS, Read, STAFF, Staff, Unconfirmed, Write, bearer_of,
};
pub use live::Liveness;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A caller's role, as SPEC "Who uses it" lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Subscriber,
    Journalist,
    Editor,
    Auditor,
    Integration,
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Subscriber,
        Role::Journalist,
        Role::Editor,
        Role::Auditor,
        Role::Integration,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Subscriber => "subscriber",
            Role::Journalist => "journalist",
            Role::Editor => "editor",
            Role::Auditor => "auditor",
            Role::Integration => "integration",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// Subscribers hold tokens minted by the newsletter platform, never API keys.
    pub fn may_hold_api_key(self) -> bool {
        self != Role::Subscriber
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
