//! API keys: 256 random bits behind an `sl_` prefix, stored only as a SHA-256
//! hash, shown once.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::prelude::*;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::Role;
use crate::db::DbConnection;
use crate::db::schema::api_keys;
use crate::error::ApiError;
use crate::secrets;

pub const KEY_PREFIX: &str = "sl_";
const BOOTSTRAP_KEY_NAME: &str = "bootstrap-admin";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: String,
    pub name: String,
    pub role: String,
    pub key_hash: Vec<u8>,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

/// A key just made: its row and the one and only copy of its secret.
pub struct NewKey {
    pub row: ApiKeyRow,
    pub secret: String,
}

pub fn hash_key(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

fn generate_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

pub fn now_text() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn new_row(role: Role, name: &str) -> (ApiKeyRow, String) {
    let secret = generate_secret();
    let row = ApiKeyRow {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        role: role.as_str().to_owned(),
        key_hash: hash_key(&secret),
        created_at: now_text(),
        revoked_at: None,
    };
    (row, secret)
}

/// Checks a key's name: 1 to 100 printable characters.
pub fn validate_name(name: &str) -> Result<(), ApiError> {
    if name == BOOTSTRAP_KEY_NAME {
        return Err(ApiError::invalid_field(
            "name",
            "is reserved for the key made on first start",
        ));
    }
    let len = name.chars().count();
    if !(1..=100).contains(&len) || name.chars().any(char::is_control) || name.trim() != name {
        return Err(ApiError::invalid_field(
            "name",
            "must be 1 to 100 printable characters without leading or trailing spaces",
        ));
    }
    Ok(())
}

pub fn create(conn: &mut DbConnection, role: Role, name: &str) -> Result<NewKey, ApiError> {
    validate_name(name)?;
    if !role.may_hold_api_key() {
        return Err(ApiError::invalid_field(
            "role",
            "subscribers get tokens from the newsletter integration, not API keys",
        ));
    }
    let (row, secret) = new_row(role, name);
    match diesel::insert_into(api_keys::table)
        .values(&row)
        .execute(conn)
    {
        Ok(_) => Ok(NewKey { row, secret }),
        // Ledger entries name actors `role:name`: one live key per name and role.
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Err(ApiError::conflict(
            "name_taken",
            format!("a live {role} key named {name:?} exists; revoke it first"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// While no API key exists, makes an admin key and writes it to
/// `bootstrap-admin.key` in the data dir. Safe when several servers start at once:
/// a unique index admits one key under the bootstrap name, so the servers that
/// lose the race see a unique violation and leave the file to the winner.
pub fn ensure_bootstrap_admin(conn: &mut DbConnection, data_dir: &Path) -> Result<(), String> {
    let fail = |e: diesel::result::Error| format!("cannot create the bootstrap admin key: {e}");
    let existing: i64 = api_keys::table.count().get_result(conn).map_err(fail)?;
    let path = data_dir.join(secrets::BOOTSTRAP_ADMIN_KEY_FILE);
    if existing > 0 {
        if path.exists() {
            tracing::warn!(path = %path.display(), "the bootstrap admin key file is still present; delete it once you hold your own admin key");
        }
        return Ok(());
    }
    let (row, secret) = new_row(Role::Admin, BOOTSTRAP_KEY_NAME);
    match diesel::insert_into(api_keys::table)
        .values(&row)
        .execute(conn)
    {
        Ok(_) => {}
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => return Ok(()),
        Err(e) => return Err(fail(e)),
    }
    secrets::replace_private_file(&path, &secret).map_err(|e| e.to_string())?;
    tracing::warn!(
        path = %path.display(),
        "no API key existed: wrote a bootstrap admin API key to this file; make your own admin key, then delete it"
    );
    Ok(())
}
