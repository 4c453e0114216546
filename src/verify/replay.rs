//! The leaves of a whole log replayed in order (`verify --all`, `verify
//! --tiles`): re-hashed into the tree, and every disclosure, of a sealed source
//! or of an embargoed entry, checked against what it opens.

use std::time::Instant;

use serde_json::Value;

use super::{Failure, VerifiedCheckpoint};
use crate::ledger::leaf::Leaf;
use crate::ledger::proof::TreeBuilder;

/// Commitments, as the log's leaves go by: sealed sources' by id, and the
/// embargo's by index. Each disclosure must open the commitment it names,
/// once.
#[derive(Default)]
struct Seals {
    /// By id: the sealing entry, the commitment, the kind.
    commitments: std::collections::HashMap<String, (u64, String, String)>,
    opened: std::collections::HashSet<String>,
    disclosed: u64,
    /// The embargo's commitments not yet disclosed, by index.
    embargoed: std::collections::HashMap<u64, Leaf>,
    embargo_commitments: u64,
    embargo_disclosed: u64,
}

impl Seals {
    /// Prints what was found, when the log seals or embargoes anything.
    fn report(&self) {
        if self.disclosed > 0 || !self.commitments.is_empty() {
            println!(
                "sealed sources: {} sealed, {} disclosed, every disclosure opens its seal",
                self.commitments.len(),
                self.disclosed
            );
        }
        if self.embargo_commitments > 0 {
            println!(
                "embargo: {} entries committed, {} disclosed, every disclosure opens its commitment",
                self.embargo_commitments, self.embargo_disclosed
            );
        }
    }

    fn check(&mut self, index: u64, leaf: &Leaf) -> Result<(), Failure> {
        use crate::ledger::embargo;
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        match leaf.kind.as_str() {
            embargo::COMMITTED => {
                self.embargoed.insert(index, leaf.clone());
                self.embargo_commitments += 1;
            }
            embargo::DISCLOSED => {
                let Some(committed_at) = leaf.record["index"].as_u64() else {
                    return Err(Failure::Refused(format!(
                        "entry {index} discloses no commitment"
                    )));
                };
                let Some(commitment) = self.embargoed.remove(&committed_at) else {
                    return Err(Failure::Refused(format!(
                        "entry {index} discloses entry {committed_at}, which is no commitment before it or was disclosed already"
                    )));
                };
                embargo::open(&commitment, committed_at, &leaf.record)
                    .map_err(|e| Failure::Refused(format!("entry {index}: {e}")))?;
                self.embargo_disclosed += 1;
            }
            "source.sealed" => {
                let id = text(&leaf.record["id"]);
                if self.commitments.contains_key(&id) {
                    return Err(Failure::Refused(format!(
                        "entry {index} seals source {id:?} a second time"
                    )));
                }
                self.commitments.insert(
                    id,
                    (
                        index,
                        text(&leaf.record["commitment"]),
                        text(&leaf.record["kind"]),
                    ),
                );
            }
            "source.disclosed" => {
                let id = text(&leaf.record["id"]);
                let Some((sealed_at, commitment, kind)) = self.commitments.get(&id) else {
                    return Err(Failure::Refused(format!(
                        "entry {index} discloses source {id:?}, never sealed before it"
                    )));
                };
                if !crate::ledger::leaf::disclosure_opens_seal(
                    &leaf.record,
                    &id,
                    kind,
                    commitment,
                    *sealed_at,
                ) {
                    return Err(Failure::Refused(format!(
                        "entry {index}: the disclosed record and salt of source {id:?} are not what entry {sealed_at} sealed"
                    )));
                }
                if !self.opened.insert(id.clone()) {
                    return Err(Failure::Refused(format!(
                        "entry {index} discloses source {id:?} a second time"
                    )));
                }
                self.disclosed += 1;
            }
            _ => {}
        }
        Ok(())
    }
}

/// Every leaf of a log, in index order: parsed, re-hashed into the tree, and
/// every disclosure checked against what it opens. The one loop behind
/// `--all` and `--tiles`.
pub(crate) struct Replay {
    builder: TreeBuilder,
    seals: Seals,
    next: u64,
    started: Instant,
}

impl Replay {
    pub(crate) fn new() -> Self {
        Self {
            builder: TreeBuilder::new(),
            seals: Seals::default(),
            next: 0,
            started: Instant::now(),
        }
    }

    /// Leaves per second so far.
    pub(crate) fn rate(&self) -> f64 {
        self.next as f64 / self.started.elapsed().as_secs_f64().max(1e-9)
    }

    /// How many leaves so far.
    pub(crate) fn count(&self) -> u64 {
        self.next
    }

    /// The next leaf's text; answers its leaf hash.
    pub(crate) fn leaf(&mut self, text: &[u8]) -> Result<crate::ledger::Hash, Failure> {
        let index = self.next;
        let parsed = std::str::from_utf8(text)
            .map_err(|_| Failure::Refused(format!("entry {index} is not UTF-8")))
            .and_then(|t| {
                Leaf::parse(t).map_err(|e| Failure::Refused(format!("entry {index}: {e}")))
            })?;
        self.seals.check(index, &parsed)?;
        let hash = crate::ledger::leaf_hash(text);
        self.builder.push(hash);
        self.next += 1;
        Ok(hash)
    }

    /// The leaves' root must be the signed one; says so, with what was found.
    pub(crate) fn finish(self, cp: &VerifiedCheckpoint, leaves: &str) -> Result<(), Failure> {
        if self.next != cp.size || self.builder.root() != cp.root {
            return Err(Failure::Refused(format!(
                "the {} {leaves} do not give the signed root of {}",
                self.next, cp.size
            )));
        }
        println!(
            "all {} {leaves} re-hashed; their root is the signed root ({:.1} s)",
            cp.size,
            self.started.elapsed().as_secs_f64()
        );
        self.seals.report();
        Ok(())
    }
}
