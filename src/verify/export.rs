//! `sourceledger verify --export FILE`: an audit export (NDJSON or CSV) checked
//! offline. Complete means its closing record is there and counts what came
//! before it; every entry's `leaf_hash` is its leaf's RFC 6962 hash, in index
//! order; the closing record's checkpoint is signed by the publisher; and an
//! export of the whole log (every index below the checkpoint's size) hashes
//! to the checkpoint's root.

use std::io::BufRead;
use std::path::Path;

use serde::Deserialize;

// The export's wire format, as the README states it (the verifier speaks only
// the HTTP contract, not the server's code).
const CSV_HEADER: &str = "index,at,kind,actor,leaf_hash,leaf";
const CSV_CLOSING_KIND: &str = "export.complete";

use super::{Failure, trouble};
use crate::ledger::checkpoint;
use crate::ledger::proof::TreeBuilder;
use crate::ledger::{Hash, leaf_hash};

#[derive(Deserialize)]
struct Line {
    index: u64,
    leaf: String,
    leaf_hash: String,
}

/// The closing record's fields the verifier relies on.
#[derive(Deserialize)]
struct Closing {
    export: String,
    count: u64,
    last_index: Option<u64>,
    tree_size: u64,
    checkpoint: String,
}

struct Check {
    count: u64,
    last_index: Option<u64>,
    tree: TreeBuilder,
    /// Every index so far is its position: the export is the log from 0.
    contiguous: bool,
}

impl Check {
    fn entry(&mut self, index: u64, leaf: &str, stated_hash: &str) -> Result<(), Failure> {
        if self.last_index.is_some_and(|last| index <= last) {
            return Err(Failure::Refused(format!(
                "entry {index} comes after entry {}: not in index order",
                self.last_index.unwrap_or_default()
            )));
        }
        let hash = leaf_hash(leaf.as_bytes());
        if hex::encode(hash.0) != stated_hash {
            return Err(Failure::Refused(format!(
                "entry {index}: its leaf_hash is not the hash of its leaf"
            )));
        }
        self.contiguous &= index == self.count;
        self.tree.push(hash);
        self.count += 1;
        self.last_index = Some(index);
        Ok(())
    }

    fn close(self, closing: &Closing, vkey: &str) -> Result<String, Failure> {
        if closing.export != "complete" {
            return Err(Failure::Refused(
                "the closing record is not `complete`".into(),
            ));
        }
        if closing.count != self.count || closing.last_index != self.last_index {
            return Err(Failure::Refused(format!(
                "the closing record counts {} entries up to {:?}; the export holds {} up to {:?}",
                closing.count, closing.last_index, self.count, self.last_index
            )));
        }
        let signed = checkpoint::open(closing.checkpoint.as_bytes(), vkey)
            .map_err(|e| Failure::Refused(format!("the closing record's checkpoint: {e}")))?;
        if signed.size != closing.tree_size {
            return Err(Failure::Refused(format!(
                "the closing record says size {}, its checkpoint {}",
                closing.tree_size, signed.size
            )));
        }
        if self.last_index.is_some_and(|last| last >= signed.size) {
            return Err(Failure::Refused(
                "the export holds entries past its checkpoint".into(),
            ));
        }
        if self.contiguous && self.count == signed.size {
            let root: Hash = self.tree.root();
            if root != signed.root {
                return Err(Failure::Refused(format!(
                    "the {} leaves do not hash to the signed root of size {}",
                    self.count, signed.size
                )));
            }
            return Ok(format!(
                "OK: the whole log, {} entries, complete; its leaves hash to the root the publisher signed",
                self.count
            ));
        }
        Ok(format!(
            "OK: {} entries, complete, each leaf hash checked, within the signed log of size {} \
             (a part of the log: check an entry's inclusion with --url or --tiles)",
            self.count, signed.size
        ))
    }
}

/// Checks the export in `file` against `vkey`.
pub fn verify(vkey: &str, file: &Path) -> Result<(), Failure> {
    let opened =
        std::fs::File::open(file).map_err(|e| trouble(format!("{}: {e}", file.display())))?;
    let mut lines = std::io::BufReader::new(opened).lines();
    let first = match lines.next() {
        Some(line) => line.map_err(trouble)?,
        None => {
            return Err(Failure::Refused(
                "the export is empty: no closing record".into(),
            ));
        }
    };
    let mut check = Check {
        count: 0,
        last_index: None,
        tree: TreeBuilder::new(),
        contiguous: true,
    };
    let closing = if first == CSV_HEADER {
        csv_export(&mut check, file)?
    } else {
        ndjson_export(&mut check, std::iter::once(Ok(first)).chain(lines))?
    };
    let Some(closing) = closing else {
        return Err(Failure::Refused(format!(
            "no closing record after {} entries: the export is incomplete",
            check.count
        )));
    };
    let message = check.close(&closing, vkey)?;
    println!("{}: {message}", file.display());
    Ok(())
}

fn ndjson_export(
    check: &mut Check,
    lines: impl Iterator<Item = std::io::Result<String>>,
) -> Result<Option<Closing>, Failure> {
    let mut closing = None;
    for line in lines {
        let line = line.map_err(trouble)?;
        if closing.is_some() {
            return Err(Failure::Refused("lines after the closing record".into()));
        }
        let value: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| Failure::Refused(format!("a line is not JSON: {e}")))?;
        if value.get("export").is_some() {
            closing = Some(
                serde_json::from_value::<Closing>(value)
                    .map_err(|e| Failure::Refused(format!("the closing record: {e}")))?,
            );
            continue;
        }
        let entry: Line = serde_json::from_value(value)
            .map_err(|e| Failure::Refused(format!("an entry line: {e}")))?;
        check.entry(entry.index, &entry.leaf, &entry.leaf_hash)?;
    }
    Ok(closing)
}

fn csv_export(check: &mut Check, file: &Path) -> Result<Option<Closing>, Failure> {
    let mut reader = csv::Reader::from_path(file).map_err(trouble)?;
    let mut closing = None;
    for record in reader.records() {
        let record = record.map_err(|e| Failure::Refused(format!("a CSV row: {e}")))?;
        if closing.is_some() {
            return Err(Failure::Refused("rows after the closing record".into()));
        }
        let field = |i: usize| record.get(i).unwrap_or_default();
        if field(0) == "end" && field(2) == CSV_CLOSING_KIND {
            closing = Some(
                serde_json::from_str::<Closing>(field(5))
                    .map_err(|e| Failure::Refused(format!("the closing record: {e}")))?,
            );
            continue;
        }
        let index = field(0)
            .parse()
            .map_err(|_| Failure::Refused(format!("a row's index {:?}", field(0))))?;
        check.entry(index, field(5), field(4))?;
    }
    Ok(closing)
}
