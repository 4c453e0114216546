//! Every signed checkpoint: its signature, and that it says what its row says.

use tlog_tiles::tlog::{self, Hash};

use super::{ProblemKind, Problems};
use crate::ledger::checkpoint;
use crate::ledger::store::CheckpointRow;

/// Checks each checkpoint row; returns the roots the leaves must give, by
/// size, smallest first (the empty tree's root is checked here).
pub(super) fn check(
    rows: &[CheckpointRow],
    vkey: &str,
    head: u64,
    problems: &mut Problems,
) -> Vec<(u64, Hash)> {
    let mut roots_due = Vec::new();
    for row in rows {
        let Ok(size) = u64::try_from(row.size) else {
            problems.add(
                ProblemKind::CheckpointMismatch,
                None,
                format!("a checkpoint row has size {}", row.size),
            );
            continue;
        };
        match checkpoint::open(row.note.as_bytes(), vkey) {
            Err(e) => problems.add(
                ProblemKind::CheckpointSignature,
                Some(size),
                format!("checkpoint {size}: {e}"),
            ),
            Ok(cp) if cp.size != size || cp.root.0.as_slice() != row.root_hash.as_slice() => {
                problems.add(
                    ProblemKind::CheckpointMismatch,
                    Some(size),
                    format!(
                        "checkpoint {size}: the signed note says size {} root {}",
                        cp.size,
                        hex::encode(cp.root.0)
                    ),
                )
            }
            Ok(_) if size > head => problems.add(
                ProblemKind::CheckpointBeyondHead,
                Some(size),
                format!("checkpoint {size} is beyond the tree head {head}"),
            ),
            Ok(cp) if size == 0 => {
                if cp.root != tlog::EMPTY_HASH {
                    problems.add(
                        ProblemKind::CheckpointRootMismatch,
                        Some(0),
                        "the empty tree's checkpoint has another root",
                    );
                }
            }
            Ok(cp) => roots_due.push((size, cp.root)),
        }
    }
    roots_due
}
