//! `sourceledger verify --wacz FILE`: checks a WACZ package offline with
//! nothing but the publisher's vkey (and, when given, the newsroom's WACZ
//! key): every file's hash and size as `datapackage.json` lists them, the
//! digest and its anonymous signature (ECDSA P-384 over SHA-256 of the hash
//! text, raw `r || s`, as ReplayWeb.page checks it), and `ledger/proofs.json`:
//! each WARC proven by a ledger entry in the signed checkpoint that names its
//! bytes (or, for versions recorded before WARC hashes were, its payload),
//! and every index line pointing at a response record of that WARC.
//!
//! The ZIP is read by the `zip` crate, not by the code that writes it.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Read;
use std::path::Path;

use base64::Engine;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::list::check_fact;
use super::{Failure, trouble};
use crate::archive::wacz::index::{IndexedRecord, WarcIndexer, cdx_timestamp, surt};
use crate::ledger::checkpoint;

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// What was read of each file: its hash and size, and for a WARC its index.
struct FileRead {
    sha256: String,
    bytes: u64,
    records: Option<Vec<IndexedRecord>>,
    text: Option<Vec<u8>>,
}

/// The small files are kept to be parsed; WARCs are hashed and indexed as
/// they stream by.
const SMALL: u64 = 64 * 1024 * 1024;

fn read_all(path: &Path) -> Result<BTreeMap<String, FileRead>, Failure> {
    let file = File::open(path).map_err(|e| trouble(format!("{}: {e}", path.display())))?;
    let mut zip = zip::ZipArchive::new(file)
        .map_err(|e| Failure::Refused(format!("{}: not a ZIP file: {e}", path.display())))?;
    let mut out = BTreeMap::new();
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|e| Failure::Refused(format!("entry {i}: {e}")))?;
        let name = entry
            .name()
            .map_err(|e| Failure::Refused(format!("entry {i}: {e}")))?
            .into_owned();
        let warc = name.starts_with("archive/");
        let mut hasher = Sha256::new();
        let mut indexer = warc.then(WarcIndexer::new);
        let mut text = (!warc && entry.size() <= SMALL).then(Vec::new);
        let mut bytes = 0u64;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = entry
                .read(&mut buf)
                .map_err(|e| Failure::Refused(format!("{name}: {e}")))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            bytes += n as u64;
            if let Some(indexer) = indexer.as_mut() {
                indexer
                    .feed(&buf[..n])
                    .map_err(|e| Failure::Refused(format!("{name}: {e}")))?;
            }
            if let Some(text) = text.as_mut() {
                text.extend_from_slice(&buf[..n]);
            }
        }
        let records = match indexer {
            Some(indexer) => Some(
                indexer
                    .finish()
                    .map_err(|e| Failure::Refused(format!("{name}: {e}")))?
                    .records,
            ),
            None => None,
        };
        out.insert(
            name,
            FileRead {
                sha256: hex::encode(hasher.finalize()),
                bytes,
                records,
                text,
            },
        );
    }
    Ok(out)
}

fn json_of(files: &BTreeMap<String, FileRead>, name: &str) -> Result<Value, String> {
    let text = files
        .get(name)
        .and_then(|f| f.text.as_ref())
        .ok_or_else(|| format!("the package has no {name}"))?;
    serde_json::from_slice(text).map_err(|e| format!("{name} is not JSON: {e}"))
}

/// The outcome: a line per check passed, and the failures.
#[derive(Default)]
struct Report {
    lines: Vec<String>,
    failures: Vec<String>,
}

impl Report {
    fn check(&mut self, result: Result<String, String>) {
        match result {
            Ok(line) => self.lines.push(line),
            Err(failure) => self.failures.push(failure),
        }
    }
}

/// Checks the WACZ at `path` against `vkey` (and `wacz_key`, the newsroom's
/// `GET /v1/wacz/key`, when given).
pub fn verify(vkey: &str, wacz_key: Option<&str>, path: &Path) -> Result<(), Failure> {
    let files = read_all(path)?;
    let mut report = Report::default();
    report.check(check_resources(&files));
    report.check(check_signature(&files, wacz_key));
    match check_proofs(&files, vkey) {
        Ok(lines) => report.lines.extend(lines),
        Err(failures) => report.failures.extend(failures),
    }
    report.check(check_index(&files));
    for line in &report.lines {
        println!("  {line}");
    }
    for failure in &report.failures {
        println!("  FAILED {failure}");
    }
    if report.failures.is_empty() {
        println!("OK: the package's files, signature and ledger proofs verify");
        Ok(())
    } else {
        Err(Failure::Refused(format!(
            "{} check(s) of the package failed",
            report.failures.len()
        )))
    }
}

/// Every file but the two datapackage files is listed, with its hash and
/// size; every listed file is there.
fn check_resources(files: &BTreeMap<String, FileRead>) -> Result<String, String> {
    let package = json_of(files, "datapackage.json")?;
    if package["wacz_version"] != "1.1.1" || package["profile"] != "data-package" {
        return Err("datapackage.json is not a WACZ 1.1.1 data package".into());
    }
    let resources = package["resources"]
        .as_array()
        .ok_or("datapackage.json lists no resources")?;
    let mut listed = HashMap::new();
    for r in resources {
        let path = r["path"].as_str().ok_or("a resource without a path")?;
        let file = files
            .get(path)
            .ok_or_else(|| format!("{path} is listed but not in the package"))?;
        if r["hash"].as_str() != Some(format!("sha256:{}", file.sha256).as_str()) {
            return Err(format!("{path}: its bytes do not hash to the listed hash"));
        }
        if r["bytes"].as_u64() != Some(file.bytes) {
            return Err(format!("{path}: not the listed size"));
        }
        listed.insert(path, ());
    }
    for name in files.keys() {
        let own = matches!(
            name.as_str(),
            "datapackage.json" | "datapackage-digest.json"
        );
        if !own && !name.ends_with('/') && !listed.contains_key(name.as_str()) {
            return Err(format!("{name} is in the package but not listed"));
        }
    }
    Ok(format!(
        "{} files hash to what datapackage.json lists",
        listed.len()
    ))
}

/// The digest names datapackage.json's hash, and its signature verifies as
/// wabac.js checks it.
fn check_signature(
    files: &BTreeMap<String, FileRead>,
    wacz_key: Option<&str>,
) -> Result<String, String> {
    use p384::ecdsa::signature::hazmat::PrehashVerifier;
    use p384::pkcs8::DecodePublicKey;
    let digest = json_of(files, "datapackage-digest.json")?;
    let package = files
        .get("datapackage.json")
        .ok_or("the package has no datapackage.json")?;
    let hash = format!("sha256:{}", package.sha256);
    if digest["path"] != "datapackage.json" || digest["hash"].as_str() != Some(hash.as_str()) {
        return Err("datapackage-digest.json does not name datapackage.json's hash".into());
    }
    let signed = &digest["signedData"];
    if signed["hash"].as_str() != Some(hash.as_str()) {
        return Err("signedData.hash is not datapackage.json's hash".into());
    }
    let created = json_of(files, "datapackage.json")?["created"].clone();
    if signed["created"] != created {
        return Err("signedData.created is not datapackage.json's created".into());
    }
    let public_key = signed["publicKey"]
        .as_str()
        .ok_or("no signedData.publicKey")?;
    if wacz_key.is_some_and(|expected| public_key != expected.trim()) {
        return Err("the package is signed with another key than the newsroom's".into());
    }
    let der = BASE64
        .decode(public_key)
        .map_err(|_| "signedData.publicKey is not base64")?;
    let key = p384::ecdsa::VerifyingKey::from_public_key_der(&der)
        .map_err(|_| "signedData.publicKey is not an ECDSA P-384 SPKI key")?;
    let raw = BASE64
        .decode(signed["signature"].as_str().unwrap_or_default())
        .map_err(|_| "signedData.signature is not base64")?;
    let signature = p384::ecdsa::Signature::from_slice(&raw)
        .map_err(|_| "signedData.signature is not a raw P-384 signature (r || s)")?;
    key.verify_prehash(&Sha256::digest(hash.as_bytes()), &signature)
        .map_err(|_| "the package's signature does not verify")?;
    Ok(match wacz_key {
        Some(_) => "signed with the newsroom's WACZ key; the signature verifies".into(),
        None => format!("the signature verifies (signed with key {public_key})"),
    })
}

/// Each WARC is proven by a ledger entry that names its bytes, in the
/// checkpoint the vkey signed; no WARC goes unproven.
fn check_proofs(
    files: &BTreeMap<String, FileRead>,
    vkey: &str,
) -> Result<Vec<String>, Vec<String>> {
    let one = |m: String| vec![m];
    let proofs = json_of(files, "ledger/proofs.json").map_err(one)?;
    let note = proofs["checkpoint"]
        .as_str()
        .ok_or_else(|| one("ledger/proofs.json has no checkpoint".into()))?;
    let cp = checkpoint::open(note.as_bytes(), vkey)
        .map_err(|e| one(format!("ledger/proofs.json: checkpoint: {e}")))?;
    let mut lines = vec![format!(
        "checkpoint {} signed by {} verifies",
        cp.size, cp.origin
    )];
    let mut failures = Vec::new();
    let mut proven = HashMap::new();
    for item in proofs["warcs"].as_array().into_iter().flatten() {
        let path = item["path"].as_str().unwrap_or_default();
        match check_warc(files, item, &cp) {
            Ok(line) => {
                proven.insert(path.to_owned(), ());
                lines.push(line);
            }
            Err(e) => failures.push(format!("{path}: {e}")),
        }
    }
    for name in files.keys().filter(|n| n.starts_with("archive/")) {
        if !proven.contains_key(name) && !failures.iter().any(|f| f.starts_with(name.as_str())) {
            failures.push(format!("{name}: no ledger proof"));
        }
    }
    if failures.is_empty() {
        Ok(lines)
    } else {
        Err(failures)
    }
}

fn check_warc(
    files: &BTreeMap<String, FileRead>,
    item: &Value,
    cp: &checkpoint::VerifiedCheckpoint,
) -> Result<String, String> {
    let path = item["path"].as_str().ok_or("no path")?;
    let file = files.get(path).ok_or("not in the package")?;
    let fact = check_fact(&item["proof"], cp)?;
    let record = &fact.leaf.record;
    if !fact.leaf.kind.starts_with("source.")
        || record["id"] != item["source_id"]
        || record["version"] != item["version"]
    {
        return Err("the proof records another entry or source".into());
    }
    let index = item["proof"]["commitment"]["index"]
        .as_u64()
        .or(item["proof"]["index"].as_u64())
        .unwrap_or_default();
    if let Some(warc) = record["warc_sha256"].as_str() {
        if warc != file.sha256 {
            return Err(format!(
                "the ledger records WARC {warc}, but these bytes hash to {}",
                file.sha256
            ));
        }
        return Ok(format!(
            "{path}: its bytes are what ledger entry {index} records (source {}, version {})",
            record["id"], record["version"]
        ));
    }
    // Recorded before WARC hashes were: the payload is what it records.
    let payload = record["snapshot_sha256"]
        .as_str()
        .ok_or("the proven version names no archived copy")?;
    let last = file
        .records
        .as_ref()
        .and_then(|r| r.last())
        .and_then(|r| r.payload_sha256.as_deref());
    if last != Some(payload) {
        return Err("its last response's payload is not what the ledger records".into());
    }
    Ok(format!(
        "{path}: its payload is what ledger entry {index} records (source {}, version {})",
        record["id"], record["version"]
    ))
}

/// Every index line names a response record of its WARC, at its offset.
fn check_index(files: &BTreeMap<String, FileRead>) -> Result<String, String> {
    let text = files
        .get("indexes/index.cdxj")
        .and_then(|f| f.text.as_ref())
        .ok_or("the package has no indexes/index.cdxj")?;
    let text = std::str::from_utf8(text).map_err(|_| "indexes/index.cdxj is not UTF-8")?;
    let mut count = 0;
    for line in text.lines() {
        let (key, json) = line
            .split_once(" {")
            .ok_or_else(|| format!("an index line is not CDXJ: {line}"))?;
        let fields: Value = serde_json::from_str(&format!("{{{json}"))
            .map_err(|_| format!("an index line's JSON does not parse: {line}"))?;
        let warc = format!(
            "archive/{}",
            fields["filename"].as_str().unwrap_or_default()
        );
        let records = files
            .get(&warc)
            .and_then(|f| f.records.as_ref())
            .ok_or_else(|| format!("an index line names {warc}, which is not in the package"))?;
        let found = records.iter().find(|r| {
            Some(r.offset) == fields["offset"].as_u64()
                && Some(r.length) == fields["length"].as_u64()
        });
        let record = found.ok_or_else(|| {
            format!("an index line points into {warc} where no response record is")
        })?;
        let expected = format!("{} {}", surt(&record.url), cdx_timestamp(&record.date));
        if record.url != fields["url"].as_str().unwrap_or_default() || key != expected {
            return Err(format!(
                "an index line names {} but its record is of {}",
                fields["url"], record.url
            ));
        }
        count += 1;
    }
    Ok(format!(
        "{count} index lines point at their response records"
    ))
}
