//! The editor's desk's sessions: a browser signed in as staff.
//!
//! The cookie carries 256 random bits; the server keeps only their SHA-256,
//! beside the session's CSRF token, who it is (role, name, the API key it was
//! opened with) and when it ends. A session ends when it expires, when its
//! holder signs out, or when its key is revoked or changes role: every request
//! checks the key is still live with the same role, as a token's would be.
//! A session opened through single sign-on ([`Subject::Staff`]) has no key:
//! it ends when it expires or is signed out, and the role it holds is the
//! one the provider's ID token gave at sign-in.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::token::Subject;
use super::{Caller, Role, STAFF, live};
use crate::db::DbConnection;
use crate::db::schema::desk_sessions;
use crate::error::ApiError;
use crate::time::Timestamp;

/// How long a desk session lasts: a working day.
pub const LIFETIME: chrono::Duration = chrono::Duration::hours(12);

/// How long an expired session's row is kept before a sign-in clears it.
const KEPT_AFTER_EXPIRY: chrono::Duration = chrono::Duration::days(1);

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = desk_sessions, treat_none_as_default_value = false)]
struct SessionRow {
    id_hash: Vec<u8>,
    csrf: String,
    role: String,
    subject: String,
    name: String,
    created_at: Timestamp,
    expires_at: Timestamp,
    ended_at: Option<Timestamp>,
}

/// A live session: who it is, and the token its forms carry.
#[derive(Debug, Clone)]
pub struct Session {
    pub caller: Caller,
    csrf: String,
    id_hash: Vec<u8>,
}

/// A session just opened, with the one copy of its cookie's secret.
pub struct Opened {
    pub session: Session,
    pub secret: String,
}

/// 256 random bits, URL-safe: a session secret or a form token.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(text: &str) -> Vec<u8> {
    Sha256::digest(text.as_bytes()).to_vec()
}

impl Session {
    /// The token every state-changing form of this session carries.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Whether `token` is this session's CSRF token (compared as digests,
    /// so the comparison's time says nothing of the token).
    pub fn csrf_matches(&self, token: &str) -> bool {
        digest(token) == digest(&self.csrf)
    }
}

/// Opens a session for `caller` (staff only), valid for [`LIFETIME`].
pub fn open(conn: &mut DbConnection, caller: &Caller) -> Result<Opened, ApiError> {
    if !STAFF.contains(&caller.role) {
        return Err(ApiError::forbidden("the desk is for the newsroom's staff"));
    }
    let secret = random_token();
    let now = chrono::Utc::now();
    let row = SessionRow {
        id_hash: digest(&secret),
        csrf: random_token(),
        role: caller.role.as_str().to_owned(),
        subject: caller.subject.as_text(),
        name: caller.name.clone(),
        created_at: Timestamp::at(now),
        expires_at: Timestamp::at(now + LIFETIME),
        ended_at: None,
    };
    diesel::insert_into(desk_sessions::table)
        .values(&row)
        .execute(conn)?;
    // Sessions that expired a day ago are of no use to anyone: each sign-in
    // clears them, so the table holds about a day of sign-ins.
    diesel::delete(desk_sessions::table)
        .filter(desk_sessions::expires_at.lt(Timestamp::at(now - KEPT_AFTER_EXPIRY)))
        .execute(conn)?;
    Ok(Opened {
        session: Session {
            caller: caller.clone(),
            csrf: row.csrf,
            id_hash: row.id_hash,
        },
        secret,
    })
}

/// The live session whose cookie secret is `secret`: not expired, not
/// signed out, its key still live with the same role.
pub fn find(conn: &mut DbConnection, secret: &str) -> Result<Option<Session>, ApiError> {
    if secret.is_empty() || secret.len() > 100 {
        return Ok(None);
    }
    let row: Option<SessionRow> = desk_sessions::table
        .find(digest(secret))
        .filter(desk_sessions::ended_at.is_null())
        .select(SessionRow::as_select())
        .first(conn)
        .optional()?;
    let Some(row) = row else {
        return Ok(None);
    };
    if row.expires_at.time() <= chrono::Utc::now() {
        return Ok(None);
    }
    let (Some(role), Some(subject)) = (Role::parse(&row.role), Subject::parse(&row.subject)) else {
        return Err(ApiError::internal(
            "a desk session names an unknown role or subject",
        ));
    };
    if !live::subject_is_live(conn, &subject, role)? {
        return Ok(None);
    }
    Ok(Some(Session {
        caller: Caller {
            role,
            name: row.name,
            subject,
        },
        csrf: row.csrf,
        id_hash: row.id_hash,
    }))
}

/// Signs a session out: its cookie opens nothing from now on.
pub fn end(conn: &mut DbConnection, session: &Session) -> Result<(), ApiError> {
    diesel::update(desk_sessions::table.find(&session.id_hash))
        .set(desk_sessions::ended_at.eq(Some(Timestamp::now())))
        .execute(conn)?;
    Ok(())
}
