//! The witness's decision, apart from its storage: which log a request's
//! checkpoint belongs to and whether that log signed it ([`TrustedLogs::signed`]),
//! then whether it extends what was cosigned before ([`decide`]). Pure: the
//! transaction in the parent module reads what is held and writes the result.

use std::collections::{HashMap, HashSet};

use signed_note::{Note, StandardVerifier, VerifierList};
use tlog_tiles::tlog::{self, Hash};

use super::{Refusal, Request};

/// The logs a witness witnesses: their signed-note verifier keys, by origin.
pub struct TrustedLogs(HashMap<String, Vec<StandardVerifier>>);

impl TrustedLogs {
    /// `vkeys`: the verifier keys of the logs to witness; each key's name is
    /// its log's origin.
    pub fn new(vkeys: &[String]) -> Result<Self, String> {
        let mut by_origin: HashMap<String, Vec<StandardVerifier>> = HashMap::new();
        let mut seen = HashSet::new();
        for vkey in vkeys.iter().filter(|vkey| seen.insert(vkey.trim())) {
            let verifier = StandardVerifier::new(vkey)
                .map_err(|_| format!("{vkey:?} is not a signed-note verifier key"))?;
            let origin = signed_note::Verifier::name(&verifier).to_owned();
            by_origin.entry(origin).or_default().push(verifier);
        }
        Ok(Self(by_origin))
    }

    /// Reads the checkpoint a request carries and checks that a log witnessed
    /// here signed it, and that its old size is not past it.
    pub fn signed(&self, request: Request) -> Result<Candidate, Refusal> {
        let note = Note::from_bytes(&request.note)
            .map_err(|_| Refusal::Malformed("the checkpoint is not a signed note".into()))?;
        let checkpoint = tlog_tiles::Checkpoint::from_bytes(note.text())
            .map_err(|_| Refusal::Malformed("the note is not a checkpoint".into()))?;
        let origin = checkpoint.origin().to_owned();
        let keys = self
            .0
            .get(&origin)
            .ok_or_else(|| Refusal::UnknownLog(origin.clone()))?;
        let verifiers = VerifierList::new(
            keys.iter()
                .map(|k| Box::new(k.clone()) as Box<dyn signed_note::Verifier>)
                .collect(),
        );
        if note.verify(&verifiers).is_err() {
            return Err(Refusal::NotSigned);
        }
        let size = checkpoint.size();
        if request.old > size {
            return Err(Refusal::OldSizeTooLarge {
                old: request.old,
                size,
            });
        }
        stored_size(size)?;
        Ok(Candidate {
            origin,
            size,
            root: *checkpoint.hash(),
            old: request.old,
            proof: request.proof,
            text: note.text().to_vec(),
            note: String::from_utf8_lossy(&request.note).into_owned(),
        })
    }
}

/// A size as the database stores it: a checkpoint too large for it is refused.
pub fn stored_size(size: u64) -> Result<i64, Refusal> {
    i64::try_from(size).map_err(|_| Refusal::Malformed("the checkpoint's size is too large".into()))
}

/// A checkpoint signed by a log witnessed here, with what its sender claims
/// this witness last cosigned and the proof from there.
#[derive(Debug)]
pub struct Candidate {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    pub old: u64,
    pub proof: Vec<Hash>,
    /// The checkpoint text a cosignature signs.
    pub text: Vec<u8>,
    /// The signed note as sent: kept when cosigned, or as evidence of a fork.
    pub note: String,
}

/// What this witness last cosigned for a log: its size and root hash (`None`
/// when the stored hash is not one, which nothing here writes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Held {
    pub size: u64,
    pub root: Option<Hash>,
}

/// Refuses a candidate whose old size is not the size this witness last
/// cosigned (0 when it never cosigned the log): its sender is behind, or
/// replays an old checkpoint. The refusal names the size to prove from.
pub fn stale(old: u64, held: Option<Held>) -> Result<(), Refusal> {
    let held_size = held.map_or(0, |h| h.size);
    if old == held_size {
        Ok(())
    } else {
        Err(Refusal::Stale(held_size))
    }
}

/// Whether to cosign a candidate, given what this witness last cosigned for
/// its log: only when it extends that, or is that checkpoint again.
pub fn decide(candidate: &Candidate, held: Option<Held>) -> Result<(), Refusal> {
    stale(candidate.old, held)?;
    let Candidate {
        old, size, root, ..
    } = *candidate;
    if old == size {
        return match held {
            // The log's own signature on two roots for one size: a fork.
            Some(h) if h.root != Some(root) => Err(Refusal::Fork(size)),
            _ => Ok(()),
        };
    }
    let proof = &candidate.proof;
    let consistent = if old == 0 {
        proof.is_empty()
    } else {
        held.and_then(|h| h.root)
            .is_some_and(|old_root| tlog::check_tree(proof, size, root, old, old_root).is_ok())
    };
    if consistent {
        Ok(())
    } else {
        Err(Refusal::BadProof)
    }
}

#[cfg(test)]
mod tests {
    use signed_note::StandardSigner;
    use tlog_tiles::tlog::HashReader;

    use super::*;
    use crate::ledger::checkpoint;

    const ORIGIN: &str = "log.test/ledger";

    /// A log's tree in memory: its stored hashes, leaf by leaf.
    struct Tree(Vec<Hash>);

    impl HashReader for Tree {
        fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog::Error> {
            indexes
                .iter()
                .map(|&i| {
                    usize::try_from(i)
                        .ok()
                        .and_then(|i| self.0.get(i).copied())
                        .ok_or(tlog::Error::IndexesNotInTree)
                })
                .collect()
        }
    }

    impl Tree {
        /// A tree of `size` leaves, each its index's text after `prefix`.
        fn of(prefix: &str, size: u64) -> Self {
            let mut tree = Tree(Vec::new());
            for n in 0..size {
                let data = format!("{prefix}{n}");
                let hashes = tlog::stored_hashes(n, data.as_bytes(), &tree).expect("hashes");
                tree.0.extend(hashes);
            }
            tree
        }

        fn root(&self, size: u64) -> Hash {
            tlog::tree_hash(size, self).expect("root")
        }

        fn proof(&self, old: u64, size: u64) -> Vec<Hash> {
            tlog::prove_tree(size, old, self).expect("proof")
        }
    }

    fn key(origin: &str) -> (StandardSigner, String) {
        let (skey, vkey) = signed_note::generate_key(&mut rand::rngs::OsRng, origin);
        (StandardSigner::new(&skey).expect("signer"), vkey)
    }

    fn request(
        old: u64,
        proof: Vec<Hash>,
        signer: &StandardSigner,
        size: u64,
        root: Hash,
    ) -> Request {
        let note = checkpoint::sign(signer, ORIGIN, size, root).expect("sign");
        Request {
            old,
            proof,
            note: note.into_bytes(),
        }
    }

    fn held(tree: &Tree, size: u64) -> Option<Held> {
        Some(Held {
            size,
            root: Some(tree.root(size)),
        })
    }

    /// A candidate from `tree` at `size`, claiming `old` was cosigned, with
    /// the proof from `old` (none from 0).
    fn candidate(
        logs: &TrustedLogs,
        signer: &StandardSigner,
        tree: &Tree,
        old: u64,
        size: u64,
    ) -> Candidate {
        let proof = if old == 0 {
            Vec::new()
        } else {
            tree.proof(old, size)
        };
        logs.signed(request(old, proof, signer, size, tree.root(size)))
            .expect("signed")
    }

    #[test]
    fn a_checkpoint_is_read_only_when_a_witnessed_log_signed_it() {
        let (signer, vkey) = key(ORIGIN);
        let logs = TrustedLogs::new(&[vkey]).expect("logs");
        let tree = Tree::of("log", 5);
        let root = tree.root(5);

        let candidate = logs
            .signed(request(0, Vec::new(), &signer, 5, root))
            .expect("signed");
        assert_eq!((candidate.origin.as_str(), candidate.size), (ORIGIN, 5));
        assert_eq!(candidate.root, root);
        assert!(
            candidate
                .note
                .starts_with(&String::from_utf8_lossy(&candidate.text).into_owned())
        );

        let (stranger, _) = key("other.test/ledger");
        let note = checkpoint::sign(&stranger, "other.test/ledger", 5, root).expect("sign");
        let unknown = Request {
            old: 0,
            proof: Vec::new(),
            note: note.into_bytes(),
        };
        assert_eq!(
            logs.signed(unknown).map(|_| ()),
            Err(Refusal::UnknownLog("other.test/ledger".into()))
        );

        let (impostor, _) = key(ORIGIN);
        assert_eq!(
            logs.signed(request(0, Vec::new(), &impostor, 5, root))
                .map(|_| ()),
            Err(Refusal::NotSigned),
            "the log's name, another key"
        );

        assert_eq!(
            logs.signed(request(6, Vec::new(), &signer, 5, root))
                .map(|_| ()),
            Err(Refusal::OldSizeTooLarge { old: 6, size: 5 })
        );

        let garbled = Request {
            old: 0,
            proof: Vec::new(),
            note: b"not a note\n".to_vec(),
        };
        assert!(matches!(logs.signed(garbled), Err(Refusal::Malformed(_))));
    }

    #[test]
    fn a_witness_cosigns_the_first_checkpoint_an_extension_and_the_same_again() {
        let (signer, vkey) = key(ORIGIN);
        let logs = TrustedLogs::new(&[vkey]).expect("logs");
        let tree = Tree::of("log", 8);

        assert_eq!(
            decide(&candidate(&logs, &signer, &tree, 0, 5), None),
            Ok(())
        );
        assert_eq!(
            decide(&candidate(&logs, &signer, &tree, 5, 8), held(&tree, 5)),
            Ok(())
        );
        assert_eq!(
            decide(&candidate(&logs, &signer, &tree, 8, 8), held(&tree, 8)),
            Ok(())
        );
    }

    #[test]
    fn a_sender_behind_or_replaying_is_told_the_size_to_prove_from() {
        let (signer, vkey) = key(ORIGIN);
        let logs = TrustedLogs::new(&[vkey]).expect("logs");
        let tree = Tree::of("log", 8);

        // Behind: it thinks nothing was cosigned.
        let behind = candidate(&logs, &signer, &tree, 0, 8);
        assert_eq!(decide(&behind, held(&tree, 5)), Err(Refusal::Stale(5)));
        // A rollback: the log's own older checkpoint, sent as new.
        let rolled = candidate(&logs, &signer, &tree, 0, 5);
        assert_eq!(decide(&rolled, held(&tree, 8)), Err(Refusal::Stale(8)));
        assert!(!Refusal::Stale(8).is_evidence());
        // It claims a size this witness never cosigned.
        let claimed = candidate(&logs, &signer, &tree, 5, 8);
        assert_eq!(decide(&claimed, None), Err(Refusal::Stale(0)));
        assert_eq!(stale(5, None), Err(Refusal::Stale(0)));
        assert_eq!(stale(5, held(&tree, 5)), Ok(()));
    }

    #[test]
    fn another_root_for_a_cosigned_size_is_a_fork_kept_as_evidence() {
        let (signer, vkey) = key(ORIGIN);
        let logs = TrustedLogs::new(&[vkey]).expect("logs");
        let (tree, forked) = (Tree::of("log", 8), Tree::of("fork", 8));

        let fork = candidate(&logs, &signer, &forked, 8, 8);
        let refusal = decide(&fork, held(&tree, 8)).expect_err("a fork");
        assert_eq!(refusal, Refusal::Fork(8));
        assert!(refusal.is_evidence());
    }

    #[test]
    fn a_proof_that_does_not_verify_is_refused_and_not_kept() {
        let (signer, vkey) = key(ORIGIN);
        let logs = TrustedLogs::new(&[vkey]).expect("logs");
        let (tree, forked) = (Tree::of("log", 12), Tree::of("fork", 12));

        // The fork's growth, proven from its own history.
        let grown = candidate(&logs, &signer, &forked, 8, 12);
        let refusal = decide(&grown, held(&tree, 8)).expect_err("a bad proof");
        assert_eq!(refusal, Refusal::BadProof);
        assert!(!refusal.is_evidence());
        // A true proof for other sizes.
        let mut misproven = candidate(&logs, &signer, &tree, 8, 12);
        misproven.proof = tree.proof(4, 12);
        assert_eq!(decide(&misproven, held(&tree, 8)), Err(Refusal::BadProof));
        // From nothing, there is nothing to prove.
        let mut from_nothing = candidate(&logs, &signer, &tree, 0, 12);
        from_nothing.proof = tree.proof(8, 12);
        assert_eq!(decide(&from_nothing, None), Err(Refusal::BadProof));
        // What was held is not a hash: nothing proves from it.
        let unreadable = Some(Held {
            size: 8,
            root: None,
        });
        let extension = candidate(&logs, &signer, &tree, 8, 12);
        assert_eq!(decide(&extension, unreadable), Err(Refusal::BadProof));
    }
}
