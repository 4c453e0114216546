//! Test vectors from outside this project (tests/vectors, where their
//! README says where each came from): transparency-dev's RFC 6962 proof
//! vectors and the C2SP signed-note example.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::Deserialize;
use sourceledger::ledger::checkpoint;
use sourceledger::ledger::proof::{verify_consistency, verify_inclusion};

/// The vectors kept in this repository, `tests/vectors`.
fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            json_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
}

fn b64(text: &Option<String>) -> Vec<u8> {
    text.as_deref()
        .map(|t| BASE64.decode(t).expect("base64"))
        .unwrap_or_default()
}

fn b64_list(list: &Option<Vec<String>>) -> Vec<Vec<u8>> {
    list.iter()
        .flatten()
        .map(|t| BASE64.decode(t).expect("base64"))
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct InclusionVector {
    leaf_idx: i128,
    tree_size: i128,
    root: Option<String>,
    leaf_hash: Option<String>,
    proof: Option<Vec<String>>,
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConsistencyVector {
    size1: i128,
    size2: i128,
    root1: Option<String>,
    root2: Option<String>,
    proof: Option<Vec<String>>,
    want_err: bool,
}

fn read<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path).expect("read vector");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_inclusion_vector() {
    let testdata = testdata();
    let mut files = Vec::new();
    json_files(&testdata.join("merkle/inclusion"), &mut files);
    assert!(files.len() > 80, "found only {} vectors", files.len());
    let (mut accepted, mut refused) = (0, 0);
    for path in &files {
        let v: InclusionVector = read(path);
        // A negative index or size can only be refused (our API takes u64).
        let result = match (u64::try_from(v.leaf_idx), u64::try_from(v.tree_size)) {
            (Ok(index), Ok(size)) => verify_inclusion(
                index,
                size,
                &b64(&v.leaf_hash),
                &b64(&v.root),
                &b64_list(&v.proof),
            ),
            _ => Err(sourceledger::ledger::proof::ProofError::Invalid),
        };
        assert_eq!(
            result.is_err(),
            v.want_err,
            "{}: {result:?}",
            path.display()
        );
        if v.want_err {
            refused += 1
        } else {
            accepted += 1
        }
    }
    assert!(
        accepted >= 5 && refused >= 70,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
fn every_consistency_vector() {
    let testdata = testdata();
    let mut files = Vec::new();
    json_files(&testdata.join("merkle/consistency"), &mut files);
    assert!(files.len() > 80, "found only {} vectors", files.len());
    let (mut accepted, mut refused) = (0, 0);
    for path in &files {
        let v: ConsistencyVector = read(path);
        let result = match (u64::try_from(v.size1), u64::try_from(v.size2)) {
            (Ok(first), Ok(second)) => verify_consistency(
                first,
                second,
                &b64(&v.root1),
                &b64(&v.root2),
                &b64_list(&v.proof),
            ),
            _ => Err(sourceledger::ledger::proof::ProofError::Invalid),
        };
        assert_eq!(
            result.is_err(),
            v.want_err,
            "{}: {result:?}",
            path.display()
        );
        if v.want_err {
            refused += 1
        } else {
            accepted += 1
        }
    }
    assert!(
        accepted >= 5 && refused >= 70,
        "{accepted} accepted, {refused} refused"
    );
}

#[test]
fn the_signed_note_example_verifies_and_no_altered_byte_does() {
    let testdata = testdata();
    let dir = testdata.join("signed-note");
    let note = std::fs::read(dir.join("example.note")).expect("note");
    let vkey = std::fs::read_to_string(dir.join("example.vkey")).expect("vkey");
    let verifier = || signed_note::StandardVerifier::new(vkey.trim()).expect("vkey parses");
    let text = checkpoint::verify_note(&note, verifier()).expect("the example verifies");
    assert_eq!(text, b"This is an example message.\n");

    // Flip each byte of the text and of the signature line, one at a time.
    for i in 0..note.len() {
        if note[i] == b'\n' {
            continue;
        }
        let mut altered = note.clone();
        altered[i] ^= 0x01;
        assert!(
            checkpoint::verify_note(&altered, verifier()).is_err(),
            "byte {i} ({:?}) altered and still accepted",
            note[i] as char
        );
    }
}
