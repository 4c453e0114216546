//! Tree heads as C2SP `tlog-checkpoint`s, signed as C2SP `signed-note`s.

use signed_note::{Note, Signer, StandardVerifier, VerifierList};
use tlog_tiles::tlog::Hash;

use super::LedgerError;

/// A checkpoint whose signature has been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedCheckpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

/// Signs the tree head `size`/`root` of the log `origin`; returns the note text.
pub fn sign(
    signer: &dyn Signer,
    origin: &str,
    size: u64,
    root: Hash,
) -> Result<String, LedgerError> {
    let checkpoint = tlog_tiles::Checkpoint::new(origin, size, root, "")
        .map_err(|_| LedgerError::Signing("the origin cannot form a checkpoint".into()))?;
    let mut note =
        Note::new(&checkpoint.to_bytes(), &[]).map_err(|e| LedgerError::Signing(e.to_string()))?;
    note.add_sigs(&[signer])
        .map_err(|e| LedgerError::Signing(e.to_string()))?;
    String::from_utf8(note.to_bytes()).map_err(|e| LedgerError::Signing(e.to_string()))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("the verifier key is malformed")]
    BadVerifierKey,
    #[error("the signed note is malformed or its signature does not verify: {0}")]
    BadSignature(String),
    #[error("the note is not a valid checkpoint")]
    Malformed,
    #[error("the checkpoint's origin {found:?} is not the key's name {expected:?}")]
    WrongOrigin { expected: String, found: String },
}

/// Checks a signed checkpoint against the publisher's verifier key and returns
/// what it says. The origin line must equal the key's name.
pub fn open(note_text: &[u8], vkey: &str) -> Result<VerifiedCheckpoint, CheckpointError> {
    let verifier =
        StandardVerifier::new(vkey.trim()).map_err(|_| CheckpointError::BadVerifierKey)?;
    let name = signed_note::Verifier::name(&verifier).to_owned();
    let text = verify_note(note_text, verifier)?;
    let checkpoint =
        tlog_tiles::Checkpoint::from_bytes(&text).map_err(|_| CheckpointError::Malformed)?;
    if checkpoint.origin() != name {
        return Err(CheckpointError::WrongOrigin {
            expected: name,
            found: checkpoint.origin().to_owned(),
        });
    }
    Ok(VerifiedCheckpoint {
        origin: checkpoint.origin().to_owned(),
        size: checkpoint.size(),
        root: *checkpoint.hash(),
    })
}

/// Verifies a signed note with one verifier key; returns its text.
pub fn verify_note(
    note_text: &[u8],
    verifier: StandardVerifier,
) -> Result<Vec<u8>, CheckpointError> {
    let note =
        Note::from_bytes(note_text).map_err(|e| CheckpointError::BadSignature(e.to_string()))?;
    let verifiers = VerifierList::new(vec![Box::new(verifier)]);
    let (verified, _) = note
        .verify(&verifiers)
        .map_err(|e| CheckpointError::BadSignature(e.to_string()))?;
    if verified.is_empty() {
        return Err(CheckpointError::BadSignature(
            "no signature by this key".into(),
        ));
    }
    Ok(note.text().to_vec())
}
