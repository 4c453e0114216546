//! Checks a verified source list (the subscriber response of
//! `GET /v1/articles/{slug}/sources`) with nothing but the publisher's vkey.

use serde_json::Value;

use crate::ledger::checkpoint::{self, VerifiedCheckpoint};
use crate::ledger::leaf::Leaf;
use crate::ledger::proof::verify_inclusion;

/// The outcome: a line per fact checked, and the failures.
#[derive(Debug, Default)]
pub struct ListReport {
    pub lines: Vec<String>,
    pub failures: Vec<String>,
    pub checkpoint: Option<VerifiedCheckpoint>,
}

impl ListReport {
    pub fn ok(&self) -> bool {
        self.failures.is_empty() && self.checkpoint.is_some()
    }
}

fn hex_list(value: &Value) -> Option<Vec<Vec<u8>>> {
    value
        .as_array()?
        .iter()
        .map(|h| h.as_str().and_then(|s| hex::decode(s).ok()))
        .collect()
}

/// Checks one proven leaf against the checkpoint; returns its parsed leaf.
fn check_leaf(proven: &Value, cp: &VerifiedCheckpoint) -> Result<Leaf, String> {
    let text = proven["leaf"].as_str().ok_or("no leaf text")?;
    let index = proven["index"].as_u64().ok_or("no index")?;
    let hash = crate::ledger::leaf_hash(text.as_bytes());
    if proven["leaf_hash"].as_str() != Some(hex::encode(hash.0).as_str()) {
        return Err(format!(
            "entry {index}: the leaf does not hash to its leaf_hash"
        ));
    }
    let proof = hex_list(&proven["proof"]).ok_or("the proof is not a list of hex hashes")?;
    verify_inclusion(index, cp.size, &hash.0, &cp.root.0, &proof).map_err(|e| {
        format!(
            "entry {index}: inclusion proof to checkpoint {}: {e}",
            cp.size
        )
    })?;
    Leaf::parse(text).map_err(|e| format!("entry {index}: {e}"))
}

/// A fact as its proof establishes it: what it records, the entry the row
/// names (the commitment, for one recorded under embargo), and since when the
/// newsroom held it.
pub(super) struct Fact {
    pub(super) leaf: Leaf,
    index: Value,
    held_since: String,
}

/// Checks a proven fact. A disclosure (`embargo.disclosed`) must come with
/// the commitment it opens, both proven, and stands for what it discloses,
/// held since the commitment's time; a commitment not yet disclosed (a
/// draft's, shown to staff) must come with its opening; any other entry
/// stands for itself.
pub(super) fn check_fact(proven: &Value, cp: &VerifiedCheckpoint) -> Result<Fact, String> {
    use crate::ledger::embargo;
    let leaf = check_leaf(proven, cp)?;
    let (commitment, commitment_proof, opening) = match leaf.kind.as_str() {
        embargo::DISCLOSED => {
            let committed = &proven["commitment"];
            if committed.is_null() {
                return Err(format!(
                    "entry {}: a disclosure shown without the commitment it opens",
                    proven["index"]
                ));
            }
            (
                check_leaf(committed, cp).map_err(|e| format!("commitment: {e}"))?,
                committed,
                &leaf.record,
            )
        }
        embargo::COMMITTED => {
            if proven["opening"].is_null() {
                return Err(format!(
                    "entry {} is committed to and not disclosed: nothing it records can be shown",
                    proven["index"]
                ));
            }
            (leaf.clone(), proven, &proven["opening"])
        }
        _ => {
            return Ok(Fact {
                held_since: leaf.at.clone(),
                index: proven["index"].clone(),
                leaf,
            });
        }
    };
    let index = commitment_proof["index"].as_u64().ok_or("no index")?;
    let opened = embargo::open(&commitment, index, opening)?;
    Ok(Fact {
        leaf: Leaf {
            v: leaf.v,
            kind: opened.kind,
            at: opened.at.clone(),
            actor: opened.actor,
            record: opened.record,
        },
        index: commitment_proof["index"].clone(),
        held_since: opened.at,
    })
}

/// `held_since`, where a list shows it, must be the fact's.
fn check_held_since(shown: &Value, fact: &Fact) -> Result<(), String> {
    match shown.get("held_since") {
        None => Ok(()),
        Some(held) if held.as_str() == Some(fact.held_since.as_str()) => Ok(()),
        Some(held) => Err(format!(
            "held_since shown as {held} but the ledger proves {:?}",
            fact.held_since
        )),
    }
}

/// Every field the leaf records must be shown with the same value; `rename`
/// maps record keys to the names the response uses.
fn check_shown(
    leaf: &Leaf,
    shown: &Value,
    rename: &[(&str, &str)],
    skip: &[&str],
) -> Result<(), String> {
    let record = leaf
        .record
        .as_object()
        .ok_or("the record is not an object")?;
    for (key, value) in record {
        if skip.contains(&key.as_str()) {
            continue;
        }
        let name = rename
            .iter()
            .find(|(r, _)| r == key)
            .map_or(key.as_str(), |(_, n)| n);
        if &shown[name] != value {
            return Err(format!(
                "{name} shown as {} but the ledger records {value}",
                shown[name]
            ));
        }
    }
    Ok(())
}

/// Fields the response derives from the entry itself must match that entry.
fn check_derived(fact: &Fact, shown: &Value, fields: &[(&str, &str)]) -> Result<(), String> {
    let leaf = &fact.leaf;
    if shown["ledger_index"] != fact.index {
        return Err("ledger_index is not the proven entry's index".into());
    }
    for (name, from) in fields {
        let expected = if *from == "at" { &leaf.at } else { &leaf.actor };
        if shown[*name].as_str() != Some(expected.as_str()) {
            return Err(format!(
                "{name} shown as {} but the entry says {expected:?}",
                shown[*name]
            ));
        }
    }
    Ok(())
}

/// A link state shown other than `unchecked` must be the one the link
/// monitor's last `source.link` entry for this source and URL records.
fn check_link(item: &Value, source: &Value, cp: &VerifiedCheckpoint) -> Result<(), String> {
    let shown = source["link_status"].as_str().unwrap_or("unchecked");
    let proven = &item["proof"]["link"];
    if proven.is_null() {
        return if shown == "unchecked" {
            Ok(())
        } else {
            Err(format!("link: the state {shown:?} is not proven"))
        };
    }
    let leaf = check_leaf(proven, cp).map_err(|e| format!("link: {e}"))?;
    let r = &leaf.record;
    if leaf.kind != "source.link" || r["source_id"] != source["id"] || r["url"] != source["url"] {
        return Err("link: the proof records another entry, source or URL".into());
    }
    if r["status"] != shown {
        return Err(format!(
            "link: shown as {shown:?} but the ledger records {}",
            r["status"]
        ));
    }
    Ok(())
}

/// An archived copy captured after the cited version must be what that
/// later version's `source.captured` entry records, for this source.
fn check_capture(item: &Value, source: &Value, cp: &VerifiedCheckpoint) -> Result<(), String> {
    let proven = &item["proof"]["capture"];
    if proven.is_null() {
        let shown = [
            "later_archive_url",
            "later_snapshot_sha256",
            "later_capture_version",
        ]
        .iter()
        .any(|f| !source[*f].is_null());
        return match shown {
            false => Ok(()),
            true => Err("capture: a later archived copy is shown but not proven".into()),
        };
    }
    let fact = check_fact(proven, cp).map_err(|e| format!("capture: {e}"))?;
    let r = &fact.leaf.record;
    if fact.leaf.kind != "source.captured"
        || r["id"] != source["id"]
        || r["version"] != source["later_capture_version"]
    {
        return Err("capture: the proof records another entry or source".into());
    }
    if r["archive_url"] != source["later_archive_url"]
        || r["snapshot_sha256"] != source["later_snapshot_sha256"]
        || r["captured_at"] != source["later_captured_at"]
    {
        return Err("capture: the later archived copy is not what the ledger records".into());
    }
    Ok(())
}

/// A quote state shown as `found` or `not_found` must be the one the
/// citation's last `citation.quote` entry records, with its selector.
fn check_quote(item: &Value, cp: &VerifiedCheckpoint) -> Result<(), String> {
    let shown = item["quote_status"].as_str();
    let proven = &item["proof"]["quote"];
    if proven.is_null() {
        return match shown {
            None | Some("unchecked") => Ok(()),
            Some(state) => Err(format!("quote: the state {state:?} is not proven")),
        };
    }
    let fact = check_fact(proven, cp).map_err(|e| format!("quote: {e}"))?;
    let r = &fact.leaf.record;
    if fact.leaf.kind != "citation.quote" || r["citation_id"] != item["id"] {
        return Err("quote: the proof records another entry or citation".into());
    }
    if r["status"].as_str() != shown {
        return Err(format!(
            "quote: shown as {shown:?} but the ledger records {}",
            r["status"]
        ));
    }
    if shown == Some("found") && r["selector"] != item["quote_selector"] {
        return Err("quote: where it was found is not what the ledger records".into());
    }
    Ok(())
}

/// What a disclosed sealed source shows of its record, like any source.
const DISCLOSED_FIELDS: [&str; 9] = [
    "url",
    "title",
    "publisher",
    "language",
    "published_at",
    "accessed_at",
    "snapshot_sha256",
    "archive_url",
    "doi",
];

/// A sealed source's disclosure: shown only with its `source.disclosed`
/// entry, which must be of this seal and whose record and salt must open the
/// seal's commitment; everything shown of the record is what it records.
fn check_disclosure(
    item: &Value,
    source: &Value,
    seal: &Leaf,
    cp: &VerifiedCheckpoint,
) -> Result<(), String> {
    let proven = &item["proof"]["disclosure"];
    if proven.is_null() {
        if !source["disclosed_at"].is_null() {
            return Err("disclosure: disclosed_at is shown but not proven".into());
        }
        if let Some(field) = DISCLOSED_FIELDS.iter().find(|f| !source[**f].is_null()) {
            return Err(format!(
                "disclosure: {field} is shown for a sealed source with no proven disclosure"
            ));
        }
        return Ok(());
    }
    let leaf = check_leaf(proven, cp).map_err(|e| format!("disclosure: {e}"))?;
    let r = &leaf.record;
    if leaf.kind != "source.disclosed"
        || r["id"] != source["id"]
        || r["commitment"] != seal.record["commitment"]
        || r["sealed_index"] != item["proof"]["source"]["index"]
    {
        return Err("disclosure: the proof is not the disclosure of this seal".into());
    }
    let record = &r["record"];
    let salt = r["salt"].as_str().unwrap_or_default();
    let commitment = seal.record["commitment"].as_str().unwrap_or_default();
    if !crate::ledger::leaf::sealed_opens(commitment, salt, record) {
        return Err(
            "disclosure: the disclosed record and salt do not open the seal's commitment".into(),
        );
    }
    if record["id"] != source["id"] || record["kind"] != source["kind"] {
        return Err("disclosure: the record is of another source or kind".into());
    }
    for field in DISCLOSED_FIELDS {
        if source[field] != record[field] {
            return Err(format!(
                "disclosure: {field} shown as {} but the disclosed record says {}",
                source[field], record[field]
            ));
        }
    }
    if source["disclosure_index"] != proven["index"]
        || source["disclosed_at"].as_str() != Some(leaf.at.as_str())
        || source["disclosed_by"].as_str() != Some(leaf.actor.as_str())
    {
        return Err("disclosure: when and by whom are not what the entry says".into());
    }
    Ok(())
}

fn check_citation(
    item: &Value,
    slug: &str,
    retracted: bool,
    cp: &VerifiedCheckpoint,
) -> Result<String, String> {
    let source = &item["source"];
    let source_fact =
        check_fact(&item["proof"]["source"], cp).map_err(|e| format!("source: {e}"))?;
    check_held_since(source, &source_fact).map_err(|e| format!("source: {e}"))?;
    let source_leaf = &source_fact.leaf;
    // A sealed source is shown as what its seal records; an open one as its
    // recorded version. Neither may pass for the other.
    let sealed = source_leaf.kind == "source.sealed";
    if !source_leaf.kind.starts_with("source.") || sealed != (source["sealed"] == true) {
        return Err(format!(
            "the source proof is a {} entry{}",
            source_leaf.kind,
            if source["sealed"] == true {
                ", not a seal"
            } else {
                ""
            }
        ));
    }
    check_shown(source_leaf, source, &[], &[]).map_err(|e| format!("source: {e}"))?;
    check_derived(
        &source_fact,
        source,
        &[("recorded_at", "at"), ("recorded_by", "actor")],
    )
    .map_err(|e| format!("source: {e}"))?;
    if sealed {
        if !item["proof"]["link"].is_null() || source["version"] != 0 {
            return Err("source: a sealed source has no link and no versions".into());
        }
        check_disclosure(item, source, source_leaf, cp)?;
    } else {
        let recomputed = crate::ledger::leaf::record_sha256(&source_leaf.record)
            .map_err(|e| format!("source: the recorded source cannot be hashed: {e}"))?;
        if source["record_sha256"].as_str() != Some(recomputed.as_str()) {
            return Err("source: record_sha256 is not the hash of the recorded source".into());
        }
        check_link(item, source, cp)?;
        check_capture(item, source, cp)?;
    }
    let citation_fact =
        check_fact(&item["proof"]["citation"], cp).map_err(|e| format!("citation: {e}"))?;
    check_held_since(item, &citation_fact).map_err(|e| format!("citation: {e}"))?;
    let citation_leaf = &citation_fact.leaf;
    if !citation_leaf.kind.starts_with("citation.") {
        return Err(format!(
            "the citation proof is a {} entry",
            citation_leaf.kind
        ));
    }
    check_shown(citation_leaf, item, &[("reason", "retraction_reason")], &[])
        .map_err(|e| format!("citation: {e}"))?;
    // The proven entry is the citation's current state: who made it and when.
    let made_by: &[(&str, &str)] = match citation_leaf.kind.as_str() {
        "citation.verified" => &[("verified_by", "actor"), ("verified_at", "at")],
        "citation.retracted" => &[("retracted_by", "actor"), ("retracted_at", "at")],
        _ => &[("attached_by", "actor"), ("attached_at", "at")],
    };
    check_derived(&citation_fact, item, made_by).map_err(|e| format!("citation: {e}"))?;
    let r = &citation_leaf.record;
    if r["article"] != slug
        || r["source_id"] != source["id"]
        || r["source_version"] != source["version"]
    {
        return Err("the citation records another article or source version".into());
    }
    check_quote(item, cp)?;
    if (r["status"] == "retracted") != retracted {
        return Err(format!(
            "a {} citation is listed {}",
            r["status"],
            if retracted { "as retracted" } else { "as live" }
        ));
    }
    let disclosed = sealed && !item["proof"]["disclosure"].is_null();
    let (title, url) = if disclosed {
        (
            format!(
                "{} (held sealed since {}, disclosed)",
                source["title"].as_str().unwrap_or("?"),
                source_leaf.at.get(..10).unwrap_or(&source_leaf.at)
            ),
            source["url"].as_str().unwrap_or("?").to_owned(),
        )
    } else if sealed {
        (
            format!(
                "A confidential source, sealed on {}",
                source_leaf.at.get(..10).unwrap_or(&source_leaf.at)
            ),
            format!(
                "commitment {}",
                source["commitment"].as_str().unwrap_or("?")
            ),
        )
    } else {
        (
            source["title"].as_str().unwrap_or("?").to_owned(),
            source["url"].as_str().unwrap_or("?").to_owned(),
        )
    };
    Ok(format!(
        "{} [{}] {title} — {url} (v{}, entries {} and {})",
        if retracted { "retracted" } else { "ok" },
        r["status"].as_str().unwrap_or("?"),
        source["version"],
        item["proof"]["source"]["index"],
        item["proof"]["citation"]["index"],
    ))
}

/// Checks a saved or fetched verified source list against `vkey`.
pub fn check(list: &Value, vkey: &str) -> ListReport {
    let mut report = ListReport::default();
    let Some(note) = list["checkpoint"].as_str() else {
        report
            .failures
            .push("no checkpoint: is this a subscriber's source list?".into());
        return report;
    };
    let cp = match checkpoint::open(note.as_bytes(), vkey) {
        Ok(cp) => cp,
        Err(e) => {
            report.failures.push(format!("checkpoint: {e}"));
            return report;
        }
    };
    report.lines.push(format!(
        "checkpoint {} signed by {} verifies",
        cp.size, cp.origin
    ));
    if list
        .get("tree_size")
        .is_some_and(|s| s.as_u64() != Some(cp.size))
    {
        report
            .failures
            .push("tree_size is not the checkpoint's size".into());
    }
    let article = &list["article"];
    let slug = article["slug"].as_str().unwrap_or_default().to_owned();
    let article_checks = |fact: Fact| {
        check_shown(&fact.leaf, article, &[], &["reason"])?;
        check_derived(&fact, article, &[("updated_at", "at")])?;
        Ok(fact.leaf)
    };
    match check_fact(&article["proof"], &cp).and_then(article_checks) {
        Ok(leaf) if leaf.kind.starts_with("article.") => report
            .lines
            .push(format!("article {slug}: {} as recorded", article["status"])),
        Ok(leaf) => report.failures.push(format!(
            "article {slug}: the proof is a {} entry",
            leaf.kind
        )),
        Err(e) => report.failures.push(format!("article {slug}: {e}")),
    }
    for (key, retracted) in [("citations", false), ("retracted", true)] {
        let Some(items) = list[key].as_array() else {
            report.failures.push(format!("{key} is not a list"));
            continue;
        };
        for (i, item) in items.iter().enumerate() {
            match check_citation(item, &slug, retracted, &cp) {
                Ok(line) => report.lines.push(line),
                Err(e) => report.failures.push(format!(
                    "{key}[{i}] ({}): {e}",
                    item["source"]["title"].as_str().unwrap_or("?")
                )),
            }
        }
    }
    report.checkpoint = Some(cp);
    report
}
