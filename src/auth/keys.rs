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
use crate::error::{ApiError, ErrorCode};
use crate::secrets;
use crate::time::Timestamp;

pub const KEY_PREFIX: &str = "sl_";
const BOOTSTRAP_KEY_NAME: &str = "bootstrap-admin";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: String,
    pub name: String,
    pub role: String,
    pub key_hash: Vec<u8>,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
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

fn new_row(role: Role, name: &str) -> (ApiKeyRow, String) {
    let secret = generate_secret();
    let row = ApiKeyRow {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        role: role.as_str().to_owned(),
        key_hash: hash_key(&secret),
        created_at: Timestamp::now(),
        revoked_at: None,
    };
    (row, secret)
}

/// Checks a key's name: 1 to 100 printable characters.
pub fn validate_name(name: &str) -> Result<(), ApiError> {
    // The name stays the first-start key's, revoked or not, so the ledger's
    // `admin:bootstrap-admin` always means that one key.
    if name == BOOTSTRAP_KEY_NAME {
        return Err(ApiError::new(
            ErrorCode::NameTaken,
            "the name bootstrap-admin belongs to the key made on first start",
        ));
    }
    crate::fields::Rule::KeyName.check("name", name)?;
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
        )) => Err(ApiError::new(
            ErrorCode::NameTaken,
            format!("a live {role} key named {name:?} exists; revoke it first"),
        )),
        Err(e) => Err(e.into()),
    }
}

/// The role of the live (unrevoked) key `id`, if there is one.
pub fn live_role(conn: &mut DbConnection, id: &str) -> QueryResult<Option<Role>> {
    let role: Option<String> = api_keys::table
        .find(id)
        .filter(api_keys::revoked_at.is_null())
        .select(api_keys::role)
        .first(conn)
        .optional()?;
    Ok(role.as_deref().and_then(Role::parse))
}

/// The live key whose secret is `secret`, with its role.
pub fn find_live_by_secret(
    conn: &mut DbConnection,
    secret: &str,
) -> Result<Option<(ApiKeyRow, Role)>, ApiError> {
    if !secret.starts_with(KEY_PREFIX) || secret.len() > 200 {
        return Ok(None);
    }
    let row: Option<ApiKeyRow> = api_keys::table
        .filter(api_keys::key_hash.eq(hash_key(secret)))
        .filter(api_keys::revoked_at.is_null())
        .select(ApiKeyRow::as_select())
        .first(conn)
        .optional()?;
    match row {
        None => Ok(None),
        Some(row) => {
            let role = Role::parse(&row.role)
                .ok_or_else(|| ApiError::internal(format!("key {} has an unknown role", row.id)))?;
            Ok(Some((row, role)))
        }
    }
}

/// A page of keys by id, revoked ones included.
pub fn list(
    conn: &mut DbConnection,
    after: Option<&str>,
    limit: u32,
) -> QueryResult<Vec<ApiKeyRow>> {
    let mut query = api_keys::table
        .order(api_keys::id.asc())
        .limit(i64::from(limit))
        .select(ApiKeyRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(api_keys::id.gt(after.to_owned()));
    }
    query.load(conn)
}

/// Revokes key `id` (revoking a revoked key changes nothing) and returns it.
/// Refuses to revoke the last live admin key, which would leave the API with
/// no one able to make keys until someone with a shell runs `keys create`.
pub fn revoke(conn: &mut DbConnection, id: &str) -> Result<ApiKeyRow, ApiError> {
    conn.transaction(|conn| {
        // Two admins revoking each other at once must not both succeed: on
        // PostgreSQL revocations take turns on a lock; on SQLite the UPDATE
        // below, the transaction's first statement, takes the write lock.
        if let DbConnection::Postgres(pg) = conn {
            diesel::sql_query("SELECT pg_advisory_xact_lock(7262818)").execute(pg)?;
        }
        let now = crate::time::now();
        let revoked = diesel::update(
            api_keys::table
                .find(id)
                .filter(api_keys::revoked_at.is_null()),
        )
        .set(api_keys::revoked_at.eq(Some(now)))
        .execute(conn)?;
        let row = api_keys::table
            .find(id)
            .select(ApiKeyRow::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| ApiError::not_found(format!("no API key {id:?}")))?;
        if revoked > 0 && row.role == Role::Admin.as_str() {
            let live_admins: i64 = api_keys::table
                .filter(api_keys::role.eq(Role::Admin.as_str()))
                .filter(api_keys::revoked_at.is_null())
                .count()
                .get_result(conn)?;
            if live_admins == 0 {
                return Err(ApiError::new(
                    ErrorCode::LastAdmin,
                    "this is the last live admin key: make another admin key before revoking it",
                ));
            }
        }
        Ok(row)
    })
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
