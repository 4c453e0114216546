//! Leaf encoding: the RFC 8785 (JCS) canonical JSON of
//! `{"v":1,"kind":…,"at":…,"actor":…,"record":{…}}`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::LedgerError;

pub const LEAF_VERSION: u32 = 1;
pub const MAX_LEAF_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Leaf {
    pub v: u32,
    pub kind: String,
    pub at: String,
    pub actor: String,
    pub record: Value,
}

impl Leaf {
    /// Parses a leaf's text, as a verifier reads it.
    pub fn parse(text: &str) -> Result<Self, LedgerError> {
        let leaf: Leaf =
            serde_json::from_str(text).map_err(|e| LedgerError::MalformedLeaf(e.to_string()))?;
        if leaf.v != LEAF_VERSION {
            return Err(LedgerError::MalformedLeaf(format!(
                "unknown version {}",
                leaf.v
            )));
        }
        if !leaf.record.is_object() {
            return Err(LedgerError::MalformedLeaf("record is not an object".into()));
        }
        Ok(leaf)
    }
}

/// The canonical text of a leaf; refuses records that are not JSON objects and
/// leaves over 64 KiB.
pub fn encode(kind: &str, at: &str, actor: &str, record: &Value) -> Result<String, LedgerError> {
    prepare(kind, actor, record)?.at(at)
}

/// The length of every `at` that [`crate::time::format`] writes.
const AT_LEN: usize = "2026-01-01T00:00:00.000000Z".len();

/// A leaf encoded before its time is known: the canonical text on either side
/// of the `at` value. JCS orders the keys `actor`, `at`, `kind`, `record`, `v`,
/// so the time sits between two fixed parts, and the costly part (the record's
/// canonical form) can be made outside the log's write lock.
#[derive(Debug, Clone)]
pub struct PreparedLeaf {
    kind: String,
    actor: String,
    /// `{"actor":…,"at":"`
    head: String,
    /// `","kind":…,"record":{…},"v":1}`
    tail: String,
}

/// Encodes everything of a leaf but its time; refuses records that are not
/// JSON objects and leaves that would be over 64 KiB.
pub fn prepare(kind: &str, actor: &str, record: &Value) -> Result<PreparedLeaf, LedgerError> {
    if !record.is_object() {
        return Err(LedgerError::MalformedLeaf("record is not an object".into()));
    }
    let canonical = |value: &Value| {
        serde_json_canonicalizer::to_string(value)
            .map_err(|e| LedgerError::MalformedLeaf(e.to_string()))
    };
    let head = format!("{{\"actor\":{},\"at\":\"", canonical(&Value::from(actor))?);
    let tail = format!(
        "\",\"kind\":{},\"record\":{},\"v\":{LEAF_VERSION}}}",
        canonical(&Value::from(kind))?,
        canonical(record)?
    );
    let len = head.len() + AT_LEN + tail.len();
    if len > MAX_LEAF_BYTES {
        return Err(LedgerError::LeafTooLarge(len));
    }
    Ok(PreparedLeaf {
        kind: kind.to_owned(),
        actor: actor.to_owned(),
        head,
        tail,
    })
}

impl PreparedLeaf {
    pub fn kind(&self) -> &str {
        &self.kind
    }

    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// The leaf's canonical text at time `at`. A time is written as printable
    /// ASCII with nothing JSON escapes; anything else is refused rather than
    /// spliced.
    pub fn at(&self, at: &str) -> Result<String, LedgerError> {
        if !at
            .bytes()
            .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        {
            return Err(LedgerError::MalformedLeaf(format!(
                "the time {at:?} cannot stand in a leaf"
            )));
        }
        let len = self.head.len() + at.len() + self.tail.len();
        if len > MAX_LEAF_BYTES {
            return Err(LedgerError::LeafTooLarge(len));
        }
        let mut text = String::with_capacity(len);
        text.push_str(&self.head);
        text.push_str(at);
        text.push_str(&self.tail);
        Ok(text)
    }
}

/// Lowercase hex SHA-256 of a record's RFC 8785 canonical JSON: how a source
/// version's `record_sha256` is made, and how any verifier re-makes it.
pub fn record_sha256(record: &Value) -> Result<String, LedgerError> {
    use sha2::{Digest, Sha256};
    let canonical = serde_json_canonicalizer::to_vec(record)
        .map_err(|e| LedgerError::MalformedLeaf(e.to_string()))?;
    Ok(hex::encode(Sha256::digest(canonical)))
}

/// A sealed source's commitment: lowercase hex `SHA-256(salt || JCS(record))`.
pub fn sealed_commitment(salt: &[u8], record: &Value) -> Result<String, LedgerError> {
    use sha2::{Digest, Sha256};
    let canonical = serde_json_canonicalizer::to_vec(record)
        .map_err(|e| LedgerError::MalformedLeaf(e.to_string()))?;
    let mut hash = Sha256::new();
    hash.update(salt);
    hash.update(&canonical);
    Ok(hex::encode(hash.finalize()))
}

/// Whether `record` and `salt` (hex, 32 bytes) are what `commitment` was made of.
pub fn sealed_opens(commitment: &str, salt_hex: &str, record: &Value) -> bool {
    hex::decode(salt_hex)
        .ok()
        .filter(|salt| salt.len() == 32)
        .and_then(|salt| sealed_commitment(&salt, record).ok())
        .is_some_and(|made| made == commitment)
}

/// Whether a `source.disclosed` record (`{"id", "commitment",
/// "sealed_index", "salt", "record"}`) opens the seal of source `id`, of
/// `kind`, made with `commitment` by entry `sealed_index`: the rule every
/// checker of a log applies to a seal's disclosure.
pub fn disclosure_opens_seal(
    disclosure: &Value,
    id: &str,
    kind: &str,
    commitment: &str,
    sealed_index: u64,
) -> bool {
    let record = &disclosure["record"];
    sealed_opens(
        commitment,
        disclosure["salt"].as_str().unwrap_or_default(),
        record,
    ) && disclosure["sealed_index"].as_u64() == Some(sealed_index)
        && record["id"] == id
        && record["kind"] == kind
}

/// The current time truncated to microseconds, always after `floor` (by a
/// microsecond at least), so entries' times never decrease and order them.
pub fn next_at(floor: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let now = Utc::now();
    let now = now
        .with_timezone(&Utc)
        .checked_sub_signed(chrono::TimeDelta::nanoseconds(i64::from(
            now.timestamp_subsec_nanos() % 1000,
        )))
        .unwrap_or(now);
    match floor {
        Some(floor) if floor >= now => floor + chrono::TimeDelta::microseconds(1),
        _ => now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_are_canonical() {
        let record = serde_json::json!({"z": 1, "a": "é\u{2028}", "m": [true, null]});
        let text = encode(
            "source.recorded",
            "2026-01-01T00:00:00.000000Z",
            "journalist:ana",
            &record,
        )
        .expect("encode");
        assert_eq!(
            text,
            "{\"actor\":\"journalist:ana\",\"at\":\"2026-01-01T00:00:00.000000Z\",\"kind\":\"source.recorded\",\"record\":{\"a\":\"é\u{2028}\",\"m\":[true,null],\"z\":1},\"v\":1}"
        );
        assert_eq!(Leaf::parse(&text).expect("parse").record, record);
    }

    #[test]
    fn a_prepared_leaf_is_the_canonical_form_of_the_whole() {
        let record = serde_json::json!({
            "claim": "\"quoted\" \\ and \u{7f}\u{1f} \u{1F600}",
            "n": 1.5e300,
            "nested": {"b": [1, {"z": null, "a": false}], "a": "é"},
        });
        let at = "2026-01-01T00:00:00.000001Z";
        let whole = serde_json::json!({
            "v": LEAF_VERSION, "kind": "citation.attached", "at": at,
            "actor": "journalist:\"zoë\"", "record": record,
        });
        let spliced = prepare("citation.attached", "journalist:\"zoë\"", &record)
            .expect("prepare")
            .at(at)
            .expect("at");
        assert_eq!(
            spliced,
            serde_json_canonicalizer::to_string(&whole).expect("canonical")
        );
        let prepared = prepare("k", "a", &serde_json::json!({})).expect("prepare");
        assert!(prepared.at("2026\"").is_err());
    }

    #[test]
    fn oversized_and_non_object_records_are_refused() {
        let big = serde_json::json!({"x": "a".repeat(MAX_LEAF_BYTES)});
        assert!(matches!(
            encode("k", "t", "a", &big),
            Err(LedgerError::LeafTooLarge(_))
        ));
        assert!(encode("k", "t", "a", &serde_json::json!([1])).is_err());
    }

    #[test]
    fn a_commitment_opens_with_its_record_and_salt_only() {
        let salt = [9u8; 32];
        let record = serde_json::json!({"id": "s", "title": "Café", "url": "https://a.example/", "doi": null});
        let made = sealed_commitment(&salt, &record).expect("commitment");
        assert!(sealed_opens(&made, &hex::encode(salt), &record));
        let mut changed = record.clone();
        changed["title"] = serde_json::json!("Cafe");
        assert!(!sealed_opens(&made, &hex::encode(salt), &changed));
        assert!(!sealed_opens(&made, &hex::encode([8u8; 32]), &record));
        assert!(!sealed_opens(&made, "not hex", &record));
    }

    #[test]
    fn time_never_goes_back_and_has_microseconds() {
        let future = Utc::now() + chrono::TimeDelta::hours(1);
        assert_eq!(
            next_at(Some(future)),
            future + chrono::TimeDelta::microseconds(1)
        );
        let now = next_at(None);
        assert_eq!(now.timestamp_subsec_nanos() % 1000, 0);
        let text = crate::time::format(now);
        assert_eq!(text.len(), "2026-01-01T00:00:00.000000Z".len(), "{text}");
        assert_eq!(crate::time::parse(&text), Some(now));
    }
}
