//! Sealed sources: a source a journalist must not name yet, recorded today so
//! that its record can be shown, later, to be exactly what was held then.
//!
//! The ledger gets `source.sealed` with the source's id, its kind and a
//! commitment: lowercase hex `SHA-256(salt || JCS(record))`, where `salt` is
//! 32 random bytes and `record` what recording the source openly would have
//! put in the ledger. The leaf's time is the date it was sealed. The record
//! and the salt stay on the server, sealed under the data dir's key (a dump of
//! the database does not show them), readable by editors and admins only.
//! Disclosing appends `source.disclosed` with the record and the salt: anyone
//! can then hash them and compare with the sealed entry.
//!
//! Why a salted hash and not an HMAC: both bind (finding another record with
//! the same commitment means breaking SHA-256), and both hide (without the
//! 256-bit salt a guessed record cannot be checked). A plain hash of salt and
//! record is what a reader can recompute with any SHA-256 tool; the salt is
//! a fixed-length prefix, so no two (salt, record) pairs share an encoding.
//!
//! Sealed sources live in their own table: nothing that reads `sources` (the
//! lists, captures, the link monitor, exports) can see them.

use diesel::prelude::*;
use rand::RngCore;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

use super::ledger_index;
use super::sources::{self, NewSource, SourceVersion};
use crate::auth::Role;
use crate::db::DbConnection;
use crate::db::schema::sealed_sources;
use crate::error::{ApiError, ErrorCode};
use crate::ledger::leaf::sealed_commitment;
use crate::ledger::{About, Sequencer};
use crate::secrets::SealingKey;
use crate::time::Timestamp;

/// The ledger kinds of a seal and of its disclosure.
pub const SEALED: &str = "source.sealed";
pub const DISCLOSED: &str = "source.disclosed";

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = sealed_sources)]
struct SealedRow {
    id: String,
    kind: String,
    commitment: String,
    sealed_record: Vec<u8>,
    sealed_at: Timestamp,
    sealed_by: String,
    ledger_index: i64,
    disclosed_at: Option<Timestamp>,
    disclosed_by: Option<String>,
    disclosure_index: Option<i64>,
}

/// A sealed source as the API shows it. `record` is there for editors and
/// admins, and for everyone once disclosed; `salt` once disclosed.
#[derive(Debug, Serialize, ToSchema)]
pub struct SealedSource {
    pub id: String,
    /// Always true.
    pub sealed: bool,
    /// The source's kind (`interview`, `document`, …).
    pub kind: String,
    /// Lowercase hex SHA-256 of the salt and the record's canonical JSON.
    pub commitment: String,
    /// When it was sealed: the ledger entry's time.
    pub sealed_at: Timestamp,
    pub sealed_by: String,
    /// The `source.sealed` entry.
    pub ledger_index: i64,
    #[schema(value_type = Option<Object>)]
    pub record: Option<Value>,
    /// Hex, once disclosed.
    pub salt: Option<String>,
    pub disclosed_at: Option<Timestamp>,
    pub disclosed_by: Option<String>,
    /// The `source.disclosed` entry, once disclosed.
    pub disclosure_index: Option<i64>,
}

/// A source as recorded: open, or sealed (`"sealed": true`).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
// One is made per request and answered at once, never kept in numbers:
// boxing the larger variant would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum RecordedSource {
    Open(SourceVersion),
    Sealed(SealedSource),
}

/// A sealed source as a reader's list shows it: what its `source.sealed`
/// entry records (id, kind, commitment), that entry's time and actor, and
/// whether it has been disclosed. Never the record.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CitedSealed {
    pub id: String,
    /// Always 0: a citation of a sealed source records version 0.
    pub version: i64,
    /// Always true.
    pub sealed: bool,
    pub kind: String,
    /// SHA-256 over the salt and the record's canonical JSON, lowercase hex.
    pub commitment: String,
    /// When it was sealed (the entry's time), and by whom.
    pub recorded_at: Timestamp,
    pub recorded_by: String,
    /// The `source.sealed` entry.
    pub ledger_index: i64,
    /// When an editor disclosed it (the `source.disclosed` entry's time).
    pub disclosed_at: Option<Timestamp>,
    /// Once disclosed: who disclosed it, its `source.disclosed` entry (which
    /// holds the record and the salt that open the commitment), and the
    /// record's fields, shown like any source's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosed_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disclosure_index: Option<i64>,
    #[serde(flatten)]
    pub disclosed: Option<Box<DisclosedRecord>>,
}

/// What a disclosed sealed source's record says, as a source version shows
/// it (its `version` is the citation's: 0). Absent while it is sealed.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize, ToSchema)]
#[serde(default)]
pub struct DisclosedRecord {
    pub url: String,
    pub title: String,
    pub publisher: String,
    pub language: String,
    pub published_at: Option<String>,
    pub accessed_at: Option<String>,
    pub snapshot_sha256: Option<String>,
    pub archive_url: Option<String>,
    pub doi: Option<String>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = sealed_sources)]
struct CitedRow {
    id: String,
    kind: String,
    commitment: String,
    sealed_at: Timestamp,
    sealed_by: String,
    ledger_index: i64,
    disclosed_at: Option<Timestamp>,
    disclosed_by: Option<String>,
    disclosure_index: Option<i64>,
}

/// The sealed sources of `ids`, as lists show them: a disclosed one with the
/// record its `source.disclosed` entry holds (read from that entry, the
/// record readers check against the seal).
pub fn cited(conn: &mut DbConnection, ids: &[String]) -> Result<Vec<CitedSealed>, ApiError> {
    let rows: Vec<CitedRow> = sealed_sources::table
        .filter(sealed_sources::id.eq_any(ids))
        .select(CitedRow::as_select())
        .load(conn)?;
    let disclosures: Vec<u64> = rows
        .iter()
        .filter_map(|r| r.disclosure_index.and_then(|i| u64::try_from(i).ok()))
        .collect();
    let mut records: std::collections::HashMap<i64, Box<DisclosedRecord>> =
        std::collections::HashMap::new();
    for entry in crate::ledger::store::entries_at(conn, &disclosures)? {
        let leaf = crate::ledger::leaf::Leaf::parse(&entry.leaf)?;
        let record = serde_json::from_value(leaf.record["record"].clone()).map_err(|e| {
            ApiError::internal(format!(
                "disclosure entry {} holds no source record: {e}",
                entry.idx
            ))
        })?;
        records.insert(entry.idx, record);
    }
    rows.into_iter()
        .map(|row| {
            let disclosed = match row.disclosure_index {
                Some(index) => Some(records.remove(&index).ok_or_else(|| {
                    ApiError::internal(format!("no disclosure entry {index} for {}", row.id))
                })?),
                None => None,
            };
            Ok(CitedSealed {
                id: row.id,
                version: crate::newsroom::citations::SEALED_VERSION,
                sealed: true,
                kind: row.kind,
                commitment: row.commitment,
                recorded_at: row.sealed_at,
                recorded_by: row.sealed_by,
                ledger_index: row.ledger_index,
                disclosed_at: row.disclosed_at,
                disclosed_by: row.disclosed_by,
                disclosure_index: row.disclosure_index,
                disclosed,
            })
        })
        .collect()
}

/// Whether `id` is a sealed source (disclosed or not).
pub fn exists(conn: &mut DbConnection, id: &str) -> Result<bool, ApiError> {
    Ok(sealed_sources::table
        .find(id)
        .select(sealed_sources::id)
        .first::<String>(conn)
        .optional()?
        .is_some())
}

/// How lists, pages and formats name a sealed source: by the day it was
/// sealed (its entry's time).
pub fn sealed_title(sealed_at: &str) -> String {
    format!(
        "A confidential source, sealed on {}",
        sealed_at.get(..10).unwrap_or(sealed_at)
    )
}

/// Who may read a sealed record before it is disclosed.
pub fn may_read_sealed(role: Role) -> bool {
    matches!(role, Role::Editor | Role::Admin)
}

/// Source `id`'s latest version, or the sealed source `id` as `role` may see it.
pub fn lookup(
    conn: &mut DbConnection,
    key: &SealingKey,
    id: &str,
    role: Role,
) -> Result<RecordedSource, ApiError> {
    // Staff read what the embargo keeps; subscribers only what is out.
    let staff = role != Role::Subscriber;
    match sources::latest_shown(conn, id, staff) {
        Ok(version) => Ok(RecordedSource::Open(version)),
        Err(not_found) => match get(conn, key, id, may_read_sealed(role))? {
            Some(sealed) => Ok(RecordedSource::Sealed(sealed)),
            None => Err(not_found),
        },
    }
}

/// What is sealed: the salt and the record, as one sealed JSON text.
fn bound_to(id: &str) -> String {
    format!("sealed-source:{id}")
}

fn open_row(key: &SealingKey, row: &SealedRow) -> Result<(String, Value), ApiError> {
    let text = key
        .open(&row.sealed_record, &bound_to(&row.id))
        .ok_or_else(|| ApiError::internal(format!("sealed source {} cannot be opened", row.id)))?;
    let held: Value = serde_json::from_slice(&text).map_err(ApiError::internal)?;
    let salt = held["salt"].as_str().unwrap_or_default().to_owned();
    Ok((salt, held["record"].clone()))
}

fn view(key: &SealingKey, row: SealedRow, reveal: bool) -> Result<SealedSource, ApiError> {
    let disclosed = row.disclosed_at.is_some();
    let (salt, record) = if reveal || disclosed {
        let (salt, record) = open_row(key, &row)?;
        (disclosed.then_some(salt), Some(record))
    } else {
        (None, None)
    };
    Ok(SealedSource {
        id: row.id,
        sealed: true,
        kind: row.kind,
        commitment: row.commitment,
        sealed_at: row.sealed_at,
        sealed_by: row.sealed_by,
        ledger_index: row.ledger_index,
        record,
        salt,
        disclosed_at: row.disclosed_at,
        disclosed_by: row.disclosed_by,
        disclosure_index: row.disclosure_index,
    })
}

/// Seals `new`: the ledger gets the commitment, the kind and the date.
pub fn seal(
    conn: &mut DbConnection,
    seq: &mut Sequencer,
    key: &SealingKey,
    actor: &str,
    new: &NewSource,
) -> Result<SealedSource, ApiError> {
    let id = uuid::Uuid::now_v7().to_string();
    let record = sources::record_of_new(new, &id, actor)?;
    let mut salt = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    let commitment = sealed_commitment(&salt, &record)?;
    let kind = new.kind.as_str().to_owned();
    let appended = seq.append_about(
        conn,
        SEALED,
        actor,
        &json!({"id": id, "kind": kind, "commitment": commitment}),
        About {
            article: None,
            source: Some(&id),
        },
    )?;
    let held = json!({"salt": hex::encode(salt), "record": record}).to_string();
    let row = SealedRow {
        sealed_record: key.seal(held.as_bytes(), &bound_to(&id)),
        id,
        kind,
        commitment,
        sealed_at: appended.at.clone(),
        sealed_by: actor.to_owned(),
        ledger_index: ledger_index(&appended),
        disclosed_at: None,
        disclosed_by: None,
        disclosure_index: None,
    };
    diesel::insert_into(sealed_sources::table)
        .values(&row)
        .execute(conn)?;
    view(key, row, false)
}

fn find(conn: &mut DbConnection, id: &str) -> Result<Option<SealedRow>, ApiError> {
    Ok(sealed_sources::table
        .find(id)
        .select(SealedRow::as_select())
        .first(conn)
        .optional()?)
}

/// The sealed source `id`, if there is one; `reveal` shows the record before
/// it is disclosed (editors and admins).
pub fn get(
    conn: &mut DbConnection,
    key: &SealingKey,
    id: &str,
    reveal: bool,
) -> Result<Option<SealedSource>, ApiError> {
    find(conn, id)?
        .map(|row| view(key, row, reveal))
        .transpose()
}

/// Appends the record and the salt to the ledger (`source.disclosed`); for a
/// source the embargo keeps (no published article cites it), discloses its
/// commitments (`embargo.disclosed`): an editor's choice to make it public.
pub fn disclose(
    conn: &mut DbConnection,
    seq: &mut Sequencer,
    key: &SealingKey,
    actor: &str,
    id: &str,
) -> Result<RecordedSource, ApiError> {
    let Some(mut row) = find(conn, id)? else {
        // No source at all is a 404; an open one in the open has nothing to disclose.
        let latest = sources::latest(conn, id)?;
        if super::embargo::disclose_sources(conn, seq, actor, &[id])? == 0 {
            return Err(ApiError::new(
                ErrorCode::InvalidTransition,
                format!(
                    "source {id:?} is neither sealed nor embargoed: it is in the ledger already"
                ),
            ));
        }
        return Ok(RecordedSource::Open(latest));
    };
    if row.disclosed_at.is_some() {
        return Err(ApiError::new(
            ErrorCode::InvalidTransition,
            "the source is disclosed already",
        ));
    }
    let (salt, record) = open_row(key, &row)?;
    let appended = seq.append_about(
        conn,
        DISCLOSED,
        actor,
        &json!({
            "id": row.id,
            "commitment": row.commitment,
            "sealed_index": row.ledger_index,
            "salt": salt,
            "record": record,
        }),
        About {
            article: None,
            source: Some(&row.id),
        },
    )?;
    row.disclosed_at = Some(appended.at.clone());
    row.disclosed_by = Some(actor.to_owned());
    row.disclosure_index = Some(ledger_index(&appended));
    diesel::update(sealed_sources::table.find(&row.id))
        .set((
            sealed_sources::disclosed_at.eq(&row.disclosed_at),
            sealed_sources::disclosed_by.eq(&row.disclosed_by),
            sealed_sources::disclosure_index.eq(row.disclosure_index),
        ))
        .execute(conn)?;
    view(key, row, true).map(RecordedSource::Sealed)
}

/// The sealed sources, newest first, at most `limit`; `reveal` shows the
/// records not yet disclosed (editors and admins).
pub fn list(
    conn: &mut DbConnection,
    key: &SealingKey,
    limit: u32,
    reveal: bool,
) -> Result<Vec<SealedSource>, ApiError> {
    sealed_sources::table
        .order(sealed_sources::sealed_at.desc())
        .limit(i64::from(limit))
        .select(SealedRow::as_select())
        .load(conn)?
        .into_iter()
        .map(|row| view(key, row, reveal))
        .collect()
}
