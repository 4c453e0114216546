//! C2SP tlog-cosignature, Ed25519 (`cosignature/v1`, key type `0x04`): a
//! witness's timestamped signature on a checkpoint, written as one more
//! signature line of the checkpoint's signed note.
//!
//! The signed message is `cosignature/v1\ntime <T>\n` followed by the
//! checkpoint's note text; the signature bytes are the timestamp (big-endian
//! u64) and the Ed25519 signature, after the note's usual 4-byte key ID.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::VerifyingKey;

use crate::secrets::{COSIGNATURE_V1, WitnessKey, cosigner_key_id as key_id};

/// The bytes after the key ID: the timestamp and the signature.
const SIGNATURE_LEN: usize = 8 + 64;

/// What a cosigner signs: the header, the time, the checkpoint's text.
pub fn signed_message(checkpoint_text: &[u8], timestamp: u64) -> Vec<u8> {
    let mut msg = format!("cosignature/v1\ntime {timestamp}\n").into_bytes();
    msg.extend_from_slice(checkpoint_text);
    msg
}

/// The signature line (`— <name> <base64>\n`) over `checkpoint_text` (the
/// note's text, without its signature lines) at `timestamp`.
pub fn cosign(key: &WitnessKey, checkpoint_text: &[u8], timestamp: u64) -> String {
    let signature = key.sign(&signed_message(checkpoint_text, timestamp));
    let mut bytes = key.key_id().to_be_bytes().to_vec();
    bytes.extend_from_slice(&timestamp.to_be_bytes());
    bytes.extend_from_slice(&signature.to_bytes());
    format!("\u{2014} {} {}\n", key.name(), BASE64.encode(bytes))
}

/// Checks cosignatures by one cosigner; a signed-note [`signed_note::Verifier`],
/// so a note's cosignature lines verify like any other signature.
#[derive(Debug, Clone)]
pub struct CosignatureVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
    vkey: String,
}

impl CosignatureVerifier {
    /// Parses a cosigner vkey (type `0x04`); the key ID must be the one the
    /// name and key give.
    pub fn new(vkey: &str) -> Result<Self, String> {
        let vkey = vkey.trim();
        let bad = || format!("{vkey:?} is not a cosignature/v1 verifier key");
        let (name, rest) = vkey.split_once('+').ok_or_else(bad)?;
        let (id_hex, key64) = rest.split_once('+').ok_or_else(bad)?;
        if !signed_note::is_key_name_valid(name) || id_hex.len() != 8 {
            return Err(bad());
        }
        let id = u32::from_str_radix(id_hex, 16).map_err(|_| bad())?;
        let material = BASE64.decode(key64).map_err(|_| bad())?;
        let (&kind, public) = material.split_first().ok_or_else(bad)?;
        if kind != COSIGNATURE_V1 {
            return Err(format!(
                "{vkey:?} is not a cosignature/v1 key (type 0x{kind:02x}, not 0x04)"
            ));
        }
        let public: [u8; 32] = public.try_into().map_err(|_| bad())?;
        let key = VerifyingKey::from_bytes(&public).map_err(|_| bad())?;
        if key_id(name, &key) != id {
            return Err(format!("{vkey:?}: the key ID does not match the key"));
        }
        Ok(Self {
            name: name.to_owned(),
            id,
            key,
            vkey: vkey.to_owned(),
        })
    }

    pub fn vkey(&self) -> &str {
        &self.vkey
    }

    /// The time a verified signature (the bytes after the key ID) states.
    pub fn timestamp(sig: &[u8]) -> Option<u64> {
        let time: [u8; 8] = sig.get(..8)?.try_into().ok()?;
        Some(u64::from_be_bytes(time))
    }
}

impl signed_note::Verifier for CosignatureVerifier {
    fn name(&self) -> &str {
        &self.name
    }

    fn key_id(&self) -> u32 {
        self.id
    }

    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        if sig.len() != SIGNATURE_LEN {
            return false;
        }
        let Some(timestamp) = Self::timestamp(sig) else {
            return false;
        };
        if timestamp > i64::MAX as u64 {
            return false;
        }
        let Ok(signature) = ed25519_dalek::Signature::from_slice(&sig[8..]) else {
            return false;
        };
        self.key
            .verify_strict(&signed_message(msg, timestamp), &signature)
            .is_ok()
    }
}

/// The cosignatures on `note` that verify under `witnesses`, one per
/// witness at most: each as (the witness's vkey, its signature line).
/// Signatures by any other key are ignored, as the spec asks.
pub fn verified(note: &[u8], witnesses: &[CosignatureVerifier]) -> Vec<(String, String)> {
    let Ok(parsed) = signed_note::Note::from_bytes(note) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for witness in witnesses {
        let list = signed_note::VerifierList::new(vec![Box::new(witness.clone())]);
        if let Ok((sigs, _)) = parsed.verify(&list)
            && let Some(sig) = sigs.first()
        {
            let line = String::from_utf8_lossy(&sig.to_bytes()).into_owned();
            found.push((witness.vkey().to_owned(), line));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint() -> &'static [u8] {
        b"example.com/log\n3\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    }

    #[test]
    fn a_cosignature_verifies_and_a_changed_one_does_not() {
        let cosigner =
            WitnessKey::from_signer_key(&WitnessKey::generate("witness.example/w1")).expect("key");
        let verifier = CosignatureVerifier::new(&cosigner.verifier_key()).expect("vkey");
        let line = cosign(&cosigner, checkpoint(), 1_679_315_147);
        let note = [checkpoint(), b"\n", line.as_bytes()].concat();
        let found = verified(&note, std::slice::from_ref(&verifier));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1.trim_end(), line.trim_end());

        let other = [&checkpoint()[..16], b"4\n", &checkpoint()[18..]].concat();
        let moved = [&other[..], b"\n", line.as_bytes()].concat();
        assert!(verified(&moved, &[verifier]).is_empty());
    }

    #[test]
    fn vkeys_must_be_cosigner_keys_with_their_own_id() {
        let cosigner = WitnessKey::from_signer_key(&WitnessKey::generate("w")).expect("key");
        let vkey = cosigner.verifier_key();
        assert!(CosignatureVerifier::new(&vkey).is_ok());
        let wrong_id = format!("w+00000000+{}", vkey.rsplit('+').next().unwrap_or(""));
        assert!(CosignatureVerifier::new(&wrong_id).is_err());
        let (_, ordinary) = signed_note::generate_key(&mut rand::rngs::OsRng, "w");
        assert!(CosignatureVerifier::new(&ordinary).is_err());
    }
}
