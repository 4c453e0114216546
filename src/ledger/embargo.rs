//! Commit now, reveal later: an entry can be appended as a commitment to what
//! it would have recorded, and disclosed by a later entry.
//!
//! - The commitment entry: kind `embargo.committed`, actor the role alone
//!   (`journalist`), record `{"kind", "commitment"}`: the kind the entry
//!   would have had, and lowercase hex `SHA-256(salt || JCS({"actor",
//!   "record"}))` over the actor and record it would have had. Its time is the
//!   time the newsroom held the record: nobody can backdate it.
//! - The disclosure entry: kind `embargo.disclosed`, record `{"index", "kind",
//!   "actor", "record", "salt"}`: the commitment's index, what it committed to,
//!   and the salt.
//!
//! It is the sealed sources' mechanism ([`super::leaf::sealed_commitment`]),
//! applied to whole entries: the same salted SHA-256 over canonical JSON, with
//! a fresh 32-byte salt from the operating system's generator for every
//! entry. 256 bits make the commitment hiding (a guessed record, say a
//! rival's guess at a URL, cannot be checked without the salt) and per-entry
//! salts make one disclosure reveal nothing about another entry; SHA-256 makes
//! it binding; and the salt's fixed length keeps the encoding unambiguous.
//! Anyone recomputes it with any SHA-256 and JCS implementation.

use diesel::prelude::*;
use rand::RngCore;
use serde_json::{Value, json};

use super::leaf::{Leaf, PreparedLeaf, prepare, sealed_opens};
use super::{About, LedgerError};
use crate::db::schema::embargoed_entries;

pub const COMMITTED: &str = "embargo.committed";
pub const DISCLOSED: &str = "embargo.disclosed";

/// An entry committed to but not shown: what the commitment hides.
#[derive(Debug, Clone)]
pub struct Commitment {
    pub kind: String,
    pub actor: String,
    pub record: Value,
    /// The record's canonical JSON (made once: it is hashed and kept).
    pub record_jcs: String,
    /// 32 bytes, lowercase hex.
    pub salt: String,
    /// Lowercase hex SHA-256 of the salt and `{"actor", "record"}`.
    pub commitment: String,
}

fn committed_value(actor: &str, record: &Value) -> Value {
    json!({"actor": actor, "record": record})
}

/// The role part of an actor (`journalist:ana` → `journalist`): all a
/// commitment entry says of who made it.
pub fn role_of(actor: &str) -> &str {
    actor.split(':').next().unwrap_or(actor)
}

impl Commitment {
    /// Commits to the entry `kind`/`actor`/`record` with a fresh salt.
    pub fn new(kind: &str, actor: &str, record: &Value) -> Result<Self, LedgerError> {
        use sha2::{Digest, Sha256};
        let canonical = |v: &Value| {
            serde_json_canonicalizer::to_string(v)
                .map_err(|e| LedgerError::MalformedLeaf(e.to_string()))
        };
        let mut salt = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut salt);
        let record_jcs = canonical(record)?;
        // JCS of {"actor", "record"}: the keys in that order, the values
        // canonical; the same bytes `sealed_commitment` would hash.
        let committed = format!(
            "{{\"actor\":{},\"record\":{record_jcs}}}",
            canonical(&Value::from(actor))?
        );
        let mut hash = Sha256::new();
        hash.update(salt);
        hash.update(committed.as_bytes());
        Ok(Self {
            kind: kind.to_owned(),
            actor: actor.to_owned(),
            record: record.clone(),
            record_jcs,
            salt: hex::encode(salt),
            commitment: hex::encode(hash.finalize()),
        })
    }

    /// The commitment entry's leaf, but for its time.
    pub fn prepare(&self) -> Result<PreparedLeaf, LedgerError> {
        prepare(
            COMMITTED,
            role_of(&self.actor),
            &json!({"kind": self.kind, "commitment": self.commitment}),
        )
    }
}

/// What a commitment entry hides, kept on the server until disclosed
/// (`embargoed_entries`): written with its entry by the sequencer.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = embargoed_entries, treat_none_as_default_value = false)]
pub struct EmbargoedRow {
    /// The commitment entry.
    pub idx: i64,
    pub kind: String,
    pub actor: String,
    /// The record's canonical JSON.
    pub record: String,
    pub salt: String,
    pub article: Option<String>,
    pub source: Option<String>,
    pub disclosure_index: Option<i64>,
}

impl EmbargoedRow {
    pub fn of(index: u64, c: &Commitment, about: About<'_>) -> Result<Self, LedgerError> {
        Ok(Self {
            idx: i64::try_from(index).map_err(|e| LedgerError::OutOfRange(e.to_string()))?,
            kind: c.kind.clone(),
            actor: c.actor.clone(),
            record: c.record_jcs.clone(),
            salt: c.salt.clone(),
            article: about.article.map(str::to_owned),
            source: about.source.map(str::to_owned),
            disclosure_index: None,
        })
    }

    /// The disclosure entry's record: `{"index"}` and the opening.
    pub fn disclosure(&self) -> Result<Value, LedgerError> {
        let mut record = self.opening()?;
        record["index"] = json!(self.idx);
        Ok(record)
    }

    /// What a reader checks the commitment against: `{"kind", "actor",
    /// "record", "salt"}`.
    pub fn opening(&self) -> Result<Value, LedgerError> {
        let record: Value = serde_json::from_str(&self.record)
            .map_err(|e| LedgerError::MalformedLeaf(e.to_string()))?;
        Ok(json!({
            "kind": self.kind,
            "actor": self.actor,
            "record": record,
            "salt": self.salt,
        }))
    }
}

/// What an entry records once opened: its kind, actor and record, with the
/// commitment's time and index (the time it was held since).
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    pub kind: String,
    pub actor: String,
    pub record: Value,
    /// The commitment entry's time.
    pub at: String,
    /// The commitment entry's index.
    pub index: u64,
}

/// Whether `opening` (a disclosure's record: `{"kind", "actor", "record",
/// "salt"}`, and `"index"` when it is one) opens the commitment entry
/// `commitment` at `index`. Returns what it records.
pub fn open(commitment: &Leaf, index: u64, opening: &Value) -> Result<Opened, String> {
    if commitment.kind != COMMITTED {
        return Err(format!(
            "entry {index} is a {} entry, not a commitment",
            commitment.kind
        ));
    }
    if opening
        .get("index")
        .is_some_and(|i| i.as_u64() != Some(index))
    {
        return Err(format!(
            "the disclosure names another commitment than entry {index}"
        ));
    }
    let kind = opening["kind"].as_str().unwrap_or_default();
    let actor = opening["actor"].as_str().unwrap_or_default();
    let record = &opening["record"];
    if commitment.record["kind"] != kind || role_of(actor) != commitment.actor {
        return Err(format!(
            "the disclosure's kind or actor is not what entry {index} committed to"
        ));
    }
    let salt = opening["salt"].as_str().unwrap_or_default();
    let committed = commitment.record["commitment"].as_str().unwrap_or_default();
    if !record.is_object() || !sealed_opens(committed, salt, &committed_value(actor, record)) {
        return Err(format!(
            "the disclosed record and salt do not open the commitment of entry {index}"
        ));
    }
    Ok(Opened {
        kind: kind.to_owned(),
        actor: actor.to_owned(),
        record: record.clone(),
        at: commitment.at.clone(),
        index,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn disclosure_of(c: &Commitment, index: u64) -> Value {
        EmbargoedRow::of(index, c, About::default())
            .and_then(|row| row.disclosure())
            .expect("disclosure")
    }

    fn leaf_of(c: &Commitment, at: &str) -> Leaf {
        Leaf::parse(&c.prepare().expect("prepare").at(at).expect("at")).expect("leaf")
    }

    #[test]
    fn a_disclosure_opens_its_commitment_and_nothing_else() {
        let record = json!({"slug": "s", "title": "Scoop"});
        let c = Commitment::new("article.created", "journalist:ana", &record).expect("commit");
        let leaf = leaf_of(&c, "2026-12-06T10:00:00.000000Z");
        assert_eq!(leaf.actor, "journalist");
        assert!(!leaf.record.to_string().contains("Scoop"));
        let opened = open(&leaf, 7, &disclosure_of(&c, 7)).expect("opens");
        assert_eq!(opened.record, record);
        assert_eq!(opened.at, "2026-12-06T10:00:00.000000Z");

        let mut changed = disclosure_of(&c, 7);
        changed["record"]["title"] = json!("Scoop!");
        assert!(open(&leaf, 7, &changed).is_err());
        let mut other_salt = disclosure_of(&c, 7);
        other_salt["salt"] = json!("00".repeat(32));
        assert!(open(&leaf, 7, &other_salt).is_err());
        assert!(
            open(&leaf, 8, &disclosure_of(&c, 7)).is_err(),
            "another index"
        );
        let mut other_actor = disclosure_of(&c, 7);
        other_actor["actor"] = json!("journalist:bo");
        assert!(open(&leaf, 7, &other_actor).is_err());
        // The commitment is the sealed sources' construction over
        // {"actor", "record"}.
        let salt = hex::decode(&c.salt).expect("hex");
        assert_eq!(
            c.commitment,
            crate::ledger::leaf::sealed_commitment(
                &salt,
                &committed_value("journalist:ana", &record)
            )
            .expect("hash")
        );
        // Two commitments to the same record differ: the salts are fresh.
        let again = Commitment::new("article.created", "journalist:ana", &record).expect("commit");
        assert_ne!(again.commitment, c.commitment);
        assert!(open(&leaf, 7, &disclosure_of(&again, 7)).is_err());
    }
}
