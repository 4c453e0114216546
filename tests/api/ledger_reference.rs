//! Our stored tree against an implementation we did not write (`ct-merkle`), and
//! property tests of our proofs.

use ct_merkle::{ConsistencyProof, InclusionProof, RootHash, mem_backed_tree::MemoryBackedTree};
use proptest::prelude::*;
use sha2_011::Sha256;
use sourceledger::ledger::proof::{TreeBuilder, verify_consistency, verify_inclusion};
use sourceledger::ledger::{Hash, store};

use crate::helpers::{Backend, TestApp, append_entries};
use crate::on_both_backends;

on_both_backends!(roots_and_proofs_agree_with_ct_merkle);

fn bytes(hashes: &[Hash]) -> Vec<Vec<u8>> {
    hashes.iter().map(|h| h.0.to_vec()).collect()
}

fn flat(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.0).collect()
}

async fn roots_and_proofs_agree_with_ct_merkle(backend: Backend) {
    const SIZE: usize = 300;
    let app = TestApp::spawn(backend).await;
    let leaves: Vec<String> = append_entries(&app.state, SIZE, "reference")
        .into_iter()
        .map(|a| a.leaf)
        .collect();
    let mut conn = app.state.db.get().expect("conn");

    let mut theirs: MemoryBackedTree<Sha256, Vec<u8>> = MemoryBackedTree::new();
    let mut builder = TreeBuilder::new();
    for size in 0..=SIZE as u64 {
        if size > 0 {
            let leaf = leaves[size as usize - 1].as_bytes().to_vec();
            builder.push(sourceledger::ledger::leaf_hash(&leaf));
            theirs.push(leaf);
        }
        let root = store::root(&mut conn, app.state.ledger.hashes(), size).expect("root");
        let their_root = theirs.root();
        assert_eq!(
            root.0.as_slice(),
            their_root.as_bytes().as_slice(),
            "root at size {size}"
        );
        assert_eq!(builder.root(), root, "builder root at size {size}");
        if size == 0 {
            continue;
        }

        // A handful of indexes per size, all of them for small trees.
        let picks: Vec<u64> = if size <= 16 {
            (0..size).collect()
        } else {
            vec![0, 1, size / 3, size / 2, size - 2, size - 1]
        };
        for index in picks {
            let ours = store::prove_inclusion(&mut conn, app.state.ledger.hashes(), index, size)
                .expect("prove");
            let leaf = &leaves[index as usize];
            let leaf_hash = sourceledger::ledger::leaf_hash(leaf.as_bytes());
            verify_inclusion(index, size, &leaf_hash.0, &root.0, &bytes(&ours))
                .expect("ours verifies");
            their_root
                .verify_inclusion(
                    &leaf.as_bytes().to_vec(),
                    index,
                    &InclusionProof::<Sha256>::from_bytes(flat(&ours)),
                )
                .unwrap_or_else(|e| panic!("ct-merkle refuses our proof {index}/{size}: {e:?}"));
            let their_proof = theirs.prove_inclusion(index as usize);
            let their_hashes: Vec<Vec<u8>> = their_proof
                .as_bytes()
                .chunks(32)
                .map(<[u8]>::to_vec)
                .collect();
            verify_inclusion(index, size, &leaf_hash.0, &root.0, &their_hashes)
                .unwrap_or_else(|e| panic!("we refuse ct-merkle's proof {index}/{size}: {e}"));
        }

        // Consistency from a few older sizes.
        for first in [1, size / 2, size - 1, size]
            .into_iter()
            .filter(|f| *f >= 1)
        {
            let first_root =
                store::root(&mut conn, app.state.ledger.hashes(), first).expect("root");
            let ours = store::prove_consistency(&mut conn, app.state.ledger.hashes(), first, size)
                .expect("prove");
            verify_consistency(first, size, &first_root.0, &root.0, &bytes(&ours))
                .expect("ours verifies");
            if first < size {
                let old = RootHash::<Sha256>::new(first_root.0.into(), first);
                their_root
                    .verify_consistency(
                        &old,
                        &ConsistencyProof::<Sha256>::try_from_bytes(flat(&ours))
                            .expect("proof bytes"),
                    )
                    .unwrap_or_else(|e| {
                        panic!("ct-merkle refuses our consistency {first}->{size}: {e:?}")
                    });
                let their_proof = theirs.prove_consistency((size - first) as usize);
                let their_hashes: Vec<Vec<u8>> = their_proof
                    .as_bytes()
                    .chunks(32)
                    .map(<[u8]>::to_vec)
                    .collect();
                verify_consistency(first, size, &first_root.0, &root.0, &their_hashes)
                    .unwrap_or_else(|e| {
                        panic!("we refuse ct-merkle's consistency {first}->{size}: {e}")
                    });
            }
        }
    }
}

/// Large trees: roots at sizes around powers of two agree with ct-merkle.
#[actix_web::test]
async fn large_roots_agree_with_ct_merkle() {
    let app = TestApp::spawn(Backend::sqlite()).await;
    let mut theirs: MemoryBackedTree<Sha256, Vec<u8>> = MemoryBackedTree::new();
    let mut conn = app.state.db.get().expect("conn");
    let checkpoints = [1023u64, 1024, 1025, 4095, 4096, 4097, 5000];
    let mut written = 0u64;
    for &size in &checkpoints {
        for appended in append_entries(&app.state, (size - written) as usize, "large") {
            theirs.push(appended.leaf.into_bytes());
        }
        written = size;
        let root = store::root(&mut conn, app.state.ledger.hashes(), size).expect("root");
        assert_eq!(
            root.0.as_slice(),
            theirs.root().as_bytes().as_slice(),
            "size {size}"
        );
        for index in [0, size / 2, size - 1] {
            let proof = store::prove_inclusion(&mut conn, app.state.ledger.hashes(), index, size)
                .expect("prove");
            let leaf = theirs.get(index as usize).expect("leaf").clone();
            theirs
                .root()
                .verify_inclusion(
                    &leaf,
                    index,
                    &InclusionProof::<Sha256>::from_bytes(flat(&proof)),
                )
                .expect("ct-merkle accepts");
        }
    }
}

fn tamper(hashes: &mut [Vec<u8>], which: usize) {
    if let Some(h) = hashes.get_mut(which)
        && let Some(b) = h.get_mut(0)
    {
        *b ^= 1;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// For random sizes and indexes: proofs from the stored tree verify, and a
    /// proof with any hash altered, or checked against another index, does not.
    #[test]
    fn stored_proofs_verify_and_tampered_ones_do_not(
        size in 1u64..200,
        index_seed in any::<u64>(),
        first_seed in any::<u64>(),
        flip in any::<usize>(),
    ) {
        let index = index_seed % size;
        let first = 1 + first_seed % size;
        actix_web::rt::System::new().block_on(async move {
            let app = TestApp::spawn(Backend::sqlite()).await;
            let leaves = append_entries(&app.state, size as usize, "prop");
            let mut conn = app.state.db.get().expect("conn");
            let root = store::root(&mut conn, app.state.ledger.hashes(), size).expect("root");

            let proof = bytes(&store::prove_inclusion(&mut conn, app.state.ledger.hashes(), index, size).expect("prove"));
            let leaf_hash = leaves[index as usize].leaf_hash;
            assert!(verify_inclusion(index, size, &leaf_hash.0, &root.0, &proof).is_ok());
            if !proof.is_empty() {
                let mut bad = proof.clone();
                tamper(&mut bad, flip % proof.len());
                assert!(verify_inclusion(index, size, &leaf_hash.0, &root.0, &bad).is_err());
            }
            if size > 1 {
                let other = (index + 1) % size;
                assert!(verify_inclusion(other, size, &leaf_hash.0, &root.0, &proof).is_err());
            }

            let first_root = store::root(&mut conn, app.state.ledger.hashes(), first).expect("root");
            let proof = bytes(&store::prove_consistency(&mut conn, app.state.ledger.hashes(), first, size).expect("prove"));
            assert!(verify_consistency(first, size, &first_root.0, &root.0, &proof).is_ok());
            if !proof.is_empty() {
                let mut bad = proof.clone();
                tamper(&mut bad, flip % proof.len());
                assert!(verify_consistency(first, size, &first_root.0, &root.0, &bad).is_err());
            }
        });
    }
}
