//! Pure verification of RFC 6962 / RFC 9162 proofs, and a streaming tree-hash
//! builder. No storage, no I/O: the server, the auditor and the `verify` command
//! all check with these.

use tlog_tiles::tlog::{self, HASH_SIZE, Hash};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("index {index} is not in a tree of size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("a consistency proof needs 0 < first <= second (got {first}, {second})")]
    BadSizes { first: u64, second: u64 },
    #[error("a hash is not {HASH_SIZE} bytes long")]
    MalformedHash,
    #[error("the proof does not verify")]
    Invalid,
}

fn to_hash(bytes: &[u8]) -> Result<Hash, ProofError> {
    <[u8; HASH_SIZE]>::try_from(bytes)
        .map(Hash)
        .map_err(|_| ProofError::MalformedHash)
}

fn to_hashes(proof: &[Vec<u8>]) -> Result<Vec<Hash>, ProofError> {
    proof.iter().map(|h| to_hash(h)).collect()
}

/// Checks that the leaf with hash `leaf_hash` is at `index` in the tree of `size`
/// leaves whose root is `root`. `proof` is in RFC 9162 order, the leaf's sibling first.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf_hash: &[u8],
    root: &[u8],
    proof: &[Vec<u8>],
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let proof = to_hashes(proof)?;
    tlog::check_record(&proof, size, to_hash(root)?, index, to_hash(leaf_hash)?)
        .map_err(|_| ProofError::Invalid)
}

/// Checks that the tree of `first` leaves with root `first_root` is a prefix of
/// the tree of `second` leaves with root `second_root`.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &[u8],
    second_root: &[u8],
    proof: &[Vec<u8>],
) -> Result<(), ProofError> {
    if first == 0 || first > second {
        return Err(ProofError::BadSizes { first, second });
    }
    if first == second {
        return if proof.is_empty() && first_root == second_root {
            Ok(())
        } else {
            Err(ProofError::Invalid)
        };
    }
    let proof = to_hashes(proof)?;
    tlog::check_tree(
        &proof,
        second,
        to_hash(second_root)?,
        first,
        to_hash(first_root)?,
    )
    .map_err(|_| ProofError::Invalid)
}

/// How a tree head stands to one accepted before: the one rule every
/// verifier and the witness apply before asking for a consistency proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Growth {
    /// The same tree, or one grown from nothing: nothing to prove.
    NothingToProve,
    /// Grown: a consistency proof from the old size must verify.
    NeedsProof,
}

/// History broken between two tree heads.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Broken {
    #[error("the log went back from {old} entries to {new}: history was rolled back")]
    RolledBack { old: u64, new: u64 },
    #[error("two different trees of size {size}: the log has been forked or rewritten")]
    Forked { size: u64 },
}

/// Compares the tree head `new_size`/`new_root` with `old_size`/`old_root`
/// accepted before.
pub fn compare_heads(
    old_size: u64,
    old_root: &[u8],
    new_size: u64,
    new_root: &[u8],
) -> Result<Growth, Broken> {
    if new_size < old_size {
        return Err(Broken::RolledBack {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == new_size {
        return match old_root == new_root || old_size == 0 {
            true => Ok(Growth::NothingToProve),
            false => Err(Broken::Forked { size: old_size }),
        };
    }
    Ok(match old_size {
        0 => Growth::NothingToProve,
        _ => Growth::NeedsProof,
    })
}

/// Computes a tree's root from its leaf hashes, fed one by one, in O(log n) memory.
#[derive(Debug, Default, Clone)]
pub struct TreeBuilder {
    // Roots of the complete subtrees along the right edge, largest first, with
    // their sizes (powers of two, strictly decreasing).
    stack: Vec<(u64, Hash)>,
    size: u64,
}

impl TreeBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, leaf_hash: Hash) {
        self.push_with(leaf_hash, |_| {});
    }

    /// Pushes a leaf and hands `completed` each interior hash it completes,
    /// lowest first: with the leaf hash, what sumdb/tlog stores for that record.
    pub fn push_with(&mut self, leaf_hash: Hash, mut completed: impl FnMut(Hash)) {
        let mut node = (1u64, leaf_hash);
        while let Some(&(size, hash)) = self.stack.last() {
            if size != node.0 {
                break;
            }
            self.stack.pop();
            node = (size * 2, tlog::node_hash(hash, node.1));
            completed(node.1);
        }
        self.stack.push(node);
        self.size += 1;
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The RFC 6962 root of the leaves pushed so far.
    pub fn root(&self) -> Hash {
        let mut nodes = self.stack.iter().rev();
        let Some(&(_, mut root)) = nodes.next() else {
            return tlog::EMPTY_HASH;
        };
        for &(_, left) in nodes {
            root = tlog::node_hash(left, root);
        }
        root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_compare_as_grown_forked_or_rolled_back() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        assert_eq!(compare_heads(0, &a, 5, &b), Ok(Growth::NothingToProve));
        assert_eq!(compare_heads(5, &a, 5, &a), Ok(Growth::NothingToProve));
        assert_eq!(compare_heads(3, &a, 5, &b), Ok(Growth::NeedsProof));
        assert_eq!(compare_heads(5, &a, 5, &b), Err(Broken::Forked { size: 5 }));
        assert_eq!(
            compare_heads(5, &a, 3, &a),
            Err(Broken::RolledBack { old: 5, new: 3 })
        );
    }

    #[test]
    fn builder_matches_known_small_trees() {
        let leaves: Vec<Hash> = (0u8..5).map(|i| tlog::record_hash(&[i])).collect();
        let mut b = TreeBuilder::new();
        assert_eq!(b.root(), tlog::EMPTY_HASH);
        b.push(leaves[0]);
        assert_eq!(b.root(), leaves[0]);
        b.push(leaves[1]);
        let ab = tlog::node_hash(leaves[0], leaves[1]);
        assert_eq!(b.root(), ab);
        b.push(leaves[2]);
        assert_eq!(b.root(), tlog::node_hash(ab, leaves[2]));
        b.push(leaves[3]);
        b.push(leaves[4]);
        let cd = tlog::node_hash(leaves[2], leaves[3]);
        assert_eq!(
            b.root(),
            tlog::node_hash(tlog::node_hash(ab, cd), leaves[4])
        );
    }
}
