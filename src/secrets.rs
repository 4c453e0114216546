//! The data dir and the secrets made on first start: the ledger's Ed25519 signing
//! key and the JWT signing secret. Files are created with mode 0600, atomically,
//! so several processes starting on one data dir agree on one set of keys. No
//! secret is ever logged or printed; the types here do not implement `Debug`.

use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use rand::RngCore;

pub const LEDGER_KEY_FILE: &str = "ledger.key";
pub const JWT_SECRET_FILE: &str = "jwt.secret";
pub const BOOTSTRAP_ADMIN_KEY_FILE: &str = "bootstrap-admin.key";
pub const SEALING_KEY_FILE: &str = "platform.key";
pub const WITNESS_KEY_FILE: &str = "witness.key";
pub const WACZ_KEY_FILE: &str = "wacz.key";

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a valid {what}")]
    Malformed { path: PathBuf, what: &'static str },
    #[error(
        "{path} cosigns as {key_name:?} but SOURCELEDGER_WITNESS_NAME is {name:?}; a witness keeps its name for life"
    )]
    WitnessNameMismatch {
        path: PathBuf,
        key_name: String,
        name: String,
    },
    #[error(
        "{path} signs for origin {key_origin:?} but SOURCELEDGER_ORIGIN is {origin:?}; a log keeps its origin for life"
    )]
    OriginMismatch {
        path: PathBuf,
        key_origin: String,
        origin: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> SecretsError + '_ {
    move |source| SecretsError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The ledger signing key, as a signed-note signer key
/// (`PRIVATE+KEY+<name>+<id>+<base64(0x01 || seed)>`).
pub struct LedgerKey {
    signer: signed_note::StandardSigner,
    verifier_key: String,
}

impl LedgerKey {
    /// Parses a signed-note Ed25519 signer key.
    pub fn from_signer_key(skey: &str) -> Option<Self> {
        let skey = skey.trim();
        let signer = signed_note::StandardSigner::new(skey).ok()?;
        // Names hold no '+', but base64 may: split from the left.
        let (name, id_and_key) = skey.strip_prefix("PRIVATE+KEY+")?.split_once('+')?;
        let (_, key64) = id_and_key.split_once('+')?;
        let key = BASE64.decode(key64).ok()?;
        let seed: [u8; 32] = key.get(1..)?.try_into().ok()?;
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
        Some(Self {
            verifier_key: signed_note::new_ed25519_verifier_key(name, &public),
            signer,
        })
    }

    pub fn generate(origin: &str) -> String {
        signed_note::generate_key(&mut rand::rngs::OsRng, origin).0
    }

    pub fn signer(&self) -> &signed_note::StandardSigner {
        &self.signer
    }

    /// The public verifier key, `<name>+<hex id>+<base64(0x01 || public key)>`.
    pub fn verifier_key(&self) -> &str {
        &self.verifier_key
    }

    pub fn name(&self) -> &str {
        use signed_note::Signer;
        self.signer.name()
    }
}

/// The vkey type byte of a C2SP tlog-cosignature Ed25519 cosigner
/// (`cosignature/v1`).
pub const COSIGNATURE_V1: u8 = 0x04;

/// A cosigner's key ID: `SHA-256(<name> || "\n" || 0x04 || public key)[:4]`.
pub fn cosigner_key_id(name: &str, public: &ed25519_dalek::VerifyingKey) -> u32 {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(name.as_bytes());
    hash.update(b"\n");
    hash.update([COSIGNATURE_V1]);
    hash.update(public.as_bytes());
    let digest = hash.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// The key this server cosigns other logs' checkpoints with, as a witness,
/// kept as `PRIVATE+KEY+<name>+<id>+<base64(0x04 || seed)>` (the signed-note
/// layout with the cosignature type byte). Not `Debug`: it holds a secret.
pub struct WitnessKey {
    name: String,
    signing: ed25519_dalek::SigningKey,
}

impl WitnessKey {
    pub fn from_signer_key(skey: &str) -> Option<Self> {
        let (name, id_and_key) = skey.trim().strip_prefix("PRIVATE+KEY+")?.split_once('+')?;
        let (id, key64) = id_and_key.split_once('+')?;
        let key = BASE64.decode(key64).ok()?;
        let (&kind, seed) = key.split_first()?;
        let seed: [u8; 32] = seed.try_into().ok()?;
        let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
        let valid = kind == COSIGNATURE_V1
            && signed_note::is_key_name_valid(name)
            && u32::from_str_radix(id, 16).ok()? == cosigner_key_id(name, &signing.verifying_key());
        valid.then(|| Self {
            name: name.to_owned(),
            signing,
        })
    }

    pub fn generate(name: &str) -> String {
        let signing = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        let mut material = vec![COSIGNATURE_V1];
        material.extend_from_slice(signing.as_bytes());
        format!(
            "PRIVATE+KEY+{name}+{:08x}+{}",
            cosigner_key_id(name, &signing.verifying_key()),
            BASE64.encode(material)
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_id(&self) -> u32 {
        cosigner_key_id(&self.name, &self.signing.verifying_key())
    }

    /// The public verifier key, `<name>+<hex id>+<base64(0x04 || public key)>`.
    pub fn verifier_key(&self) -> String {
        let mut material = vec![COSIGNATURE_V1];
        material.extend_from_slice(self.signing.verifying_key().as_bytes());
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.key_id(),
            BASE64.encode(material)
        )
    }

    pub fn sign(&self, msg: &[u8]) -> ed25519_dalek::Signature {
        use ed25519_dalek::Signer as _;
        self.signing.sign(msg)
    }
}

/// What the server signs and seals with.
pub struct Secrets {
    pub ledger_key: LedgerKey,
    /// What this server cosigns other logs' checkpoints with, as a witness.
    pub witness_key: WitnessKey,
    pub jwt_secret: Vec<u8>,
    pub sealing_key: SealingKey,
    /// What this server signs its web archives (WACZ) with.
    pub wacz_key: WaczKey,
}

/// The key a WACZ package's `datapackage-digest.json` is signed with, as
/// Webrecorder's WACZ signing spec has an anonymous signer do it and as
/// ReplayWeb.page (`wabac.js`) checks it with WebCrypto: ECDSA on P-384
/// over the UTF-8 bytes of the package hash (`sha256:<hex>`) with SHA-256,
/// the signature raw `r || s` (96 bytes) and the public key SPKI DER, both
/// in standard base64. Kept as base64 PKCS#8 in `wacz.key`. Signatures are
/// deterministic (RFC 6979): a package reads the same at every request.
/// Not `Debug`: it holds a secret.
pub struct WaczKey(p384::ecdsa::SigningKey);

impl WaczKey {
    /// A new key, held only in memory (a newsroom's is `wacz.key`).
    pub fn random() -> Self {
        Self(p384::ecdsa::SigningKey::random(&mut rand::rngs::OsRng))
    }

    fn generate() -> String {
        use p384::pkcs8::EncodePrivateKey;
        let key = p384::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
        // Encoding a key just made cannot fail; an empty file would be
        // refused as malformed at the next start.
        key.to_pkcs8_der()
            .map(|der| BASE64.encode(der.as_bytes()))
            .unwrap_or_default()
    }

    fn from_file_text(text: &str) -> Option<Self> {
        use p384::pkcs8::DecodePrivateKey;
        let der = BASE64.decode(text.trim()).ok()?;
        p384::ecdsa::SigningKey::from_pkcs8_der(&der).ok().map(Self)
    }

    /// The public key, SPKI DER in standard base64 (`GET /v1/wacz/key`).
    pub fn public_key(&self) -> String {
        use p384::pkcs8::EncodePublicKey;
        self.0
            .verifying_key()
            .to_public_key_der()
            .map(|der| BASE64.encode(der.as_bytes()))
            .unwrap_or_default()
    }

    /// The signature of `hash` (the text, e.g. `sha256:<hex>`): ECDSA P-384
    /// over SHA-256 of its UTF-8 bytes, raw `r || s`, standard base64.
    pub fn sign(&self, hash: &str) -> Result<String, SecretsError> {
        use p384::ecdsa::signature::hazmat::PrehashSigner;
        use sha2::{Digest, Sha256};
        let signature: p384::ecdsa::Signature = self
            .0
            .sign_prehash(&Sha256::digest(hash.as_bytes()))
            .map_err(|_| SecretsError::Malformed {
                path: PathBuf::from(WACZ_KEY_FILE),
                what: "P-384 signing key",
            })?;
        Ok(BASE64.encode(signature.to_bytes()))
    }
}

/// Seals secrets the database must keep but a dump of it must not reveal (a
/// membership platform's webhook secret): ChaCha20-Poly1305 under a key that
/// lives only in the data dir, each sealed value bound to the row it belongs to.
pub struct SealingKey(chacha20poly1305::Key);

impl SealingKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(chacha20poly1305::Key::from(bytes))
    }

    /// A key of its own for `purpose`, derived from this one
    /// (HMAC-SHA256(key, purpose)): what the sealing key vouches for in
    /// another form never opens a sealed secret.
    /// (HMAC takes a key of any length: `None` cannot happen.)
    pub fn derive(&self, purpose: &str) -> Option<[u8; 32]> {
        use hmac::{Hmac, Mac};
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.0[..]).ok()?;
        mac.update(purpose.as_bytes());
        Some(mac.finalize().into_bytes().into())
    }

    /// `nonce || ciphertext`, authenticated together with `bound_to`.
    pub fn seal(&self, secret: &[u8], bound_to: &str) -> Vec<u8> {
        use chacha20poly1305::aead::{Aead, AeadCore, OsRng, Payload};
        use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
        let cipher = ChaCha20Poly1305::new(&self.0);
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let payload = Payload {
            msg: secret,
            aad: bound_to.as_bytes(),
        };
        // Encryption with a fresh nonce and an in-memory buffer cannot fail.
        let sealed = cipher.encrypt(&nonce, payload).unwrap_or_default();
        [&nonce[..], &sealed].concat()
    }

    /// The secret, or None when `sealed` was not made by this key for `bound_to`.
    pub fn open(&self, sealed: &[u8], bound_to: &str) -> Option<Vec<u8>> {
        use chacha20poly1305::aead::{Aead, Payload};
        use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce};
        let (nonce, ciphertext) = sealed.split_at_checked(12)?;
        let nonce = Nonce::from(<[u8; 12]>::try_from(nonce).ok()?);
        let payload = Payload {
            msg: ciphertext,
            aad: bound_to.as_bytes(),
        };
        ChaCha20Poly1305::new(&self.0).decrypt(&nonce, payload).ok()
    }
}

/// Creates the data dir (mode 0700) when absent.
pub fn ensure_data_dir(data_dir: &Path) -> Result<(), SecretsError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(data_dir)
        .map_err(io_error(data_dir))
}

/// Loads the secrets from the data dir, creating any that are missing.
pub fn load_or_create(
    data_dir: &Path,
    origin: &str,
    witness_name: &str,
) -> Result<Secrets, SecretsError> {
    ensure_data_dir(data_dir)?;

    let key_path = data_dir.join(LEDGER_KEY_FILE);
    let skey = read_or_create(&key_path, || LedgerKey::generate(origin))?;
    let ledger_key = LedgerKey::from_signer_key(&skey).ok_or_else(|| SecretsError::Malformed {
        path: key_path.clone(),
        what: "signed-note Ed25519 signer key",
    })?;
    if ledger_key.name() != origin {
        return Err(SecretsError::OriginMismatch {
            path: key_path,
            key_origin: ledger_key.name().to_owned(),
            origin: origin.to_owned(),
        });
    }

    let jwt_secret = random_secret(&data_dir.join(JWT_SECRET_FILE))?;
    let sealing = random_secret(&data_dir.join(SEALING_KEY_FILE))?;
    let sealing_key = sealing
        .get(..32)
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .map(|bytes| SealingKey(chacha20poly1305::Key::from(bytes)))
        .ok_or_else(|| SecretsError::Malformed {
            path: data_dir.join(SEALING_KEY_FILE),
            what: "base64 secret of at least 32 bytes",
        })?;

    let witness_path = data_dir.join(WITNESS_KEY_FILE);
    let witness_skey = read_or_create(&witness_path, || WitnessKey::generate(witness_name))?;
    let witness_key =
        WitnessKey::from_signer_key(&witness_skey).ok_or_else(|| SecretsError::Malformed {
            path: witness_path.clone(),
            what: "cosignature/v1 Ed25519 signer key",
        })?;
    if witness_key.name() != witness_name {
        return Err(SecretsError::WitnessNameMismatch {
            path: witness_path,
            key_name: witness_key.name().to_owned(),
            name: witness_name.to_owned(),
        });
    }

    let wacz_path = data_dir.join(WACZ_KEY_FILE);
    let wacz_text = read_or_create(&wacz_path, WaczKey::generate)?;
    let wacz_key = WaczKey::from_file_text(&wacz_text).ok_or(SecretsError::Malformed {
        path: wacz_path,
        what: "base64 PKCS#8 P-384 key",
    })?;

    Ok(Secrets {
        ledger_key,
        witness_key,
        jwt_secret,
        sealing_key,
        wacz_key,
    })
}

/// A base64 file of at least 32 random bytes, made on first start.
fn random_secret(path: &Path) -> Result<Vec<u8>, SecretsError> {
    let text = read_or_create(path, || {
        let mut secret = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        BASE64.encode(secret)
    })?;
    BASE64
        .decode(text.trim())
        .ok()
        .filter(|s| s.len() >= 32)
        .ok_or_else(|| SecretsError::Malformed {
            path: path.to_owned(),
            what: "base64 secret of at least 32 bytes",
        })
}

/// Reads `path`, or creates it with what `make` returns. Creation writes a private
/// temporary file and links it into place, so a reader never sees a half-written
/// file and, when two processes race, both end up reading the one that won.
fn read_or_create(path: &Path, make: impl FnOnce() -> String) -> Result<String, SecretsError> {
    match fs::read_to_string(path) {
        Ok(text) => {
            warn_if_readable_by_others(path);
            return Ok(text);
        }
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(path)(e)),
    }
    write_new_private_file(path, &make())?;
    tracing::info!(path = %path.display(), "created secret file");
    fs::read_to_string(path).map_err(io_error(path))
}

/// Writes `contents` to a new file at `path` with mode 0600; if `path` appeared in
/// the meantime, keeps the existing file and returns Ok.
pub fn write_new_private_file(path: &Path, contents: &str) -> Result<(), SecretsError> {
    write_private(path, contents, |tmp, path| match fs::hard_link(tmp, path) {
        Err(e) if e.kind() != ErrorKind::AlreadyExists => Err(e),
        _ => Ok(()),
    })
}

/// Replaces `path` with `contents`, mode 0600, atomically.
pub fn replace_private_file(path: &Path, contents: &str) -> Result<(), SecretsError> {
    write_private(path, contents, |tmp, path| fs::rename(tmp, path))
}

/// Writes a private temporary file beside `path`, then lets `place` move it into place.
fn write_private(
    path: &Path,
    contents: &str,
    place: impl FnOnce(&Path, &Path) -> std::io::Result<()>,
) -> Result<(), SecretsError> {
    let mut nonce = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let tmp = path.with_extension(format!("tmp-{}", hex::encode(nonce)));
    let result = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        file.write_all(contents.as_bytes())?;
        file.write_all(b"\n")?;
        file.sync_all()?;
        place(&tmp, path)
    })();
    let _ = fs::remove_file(&tmp);
    result
        .and_then(|()| sync_parent_dir(path))
        .map_err(io_error(path))
}

/// Makes a new or renamed directory entry survive a power cut: the file's own
/// `sync_all` covers its bytes, not the name that points at them.
fn sync_parent_dir(path: &Path) -> std::io::Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(dir) => fs::File::open(dir)?.sync_all(),
        None => fs::File::open(".")?.sync_all(),
    }
}

fn warn_if_readable_by_others(path: &Path) {
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(path = %path.display(), "secret file is readable by group or others; chmod 600 it");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_start_creates_private_files_and_a_restart_keeps_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        let first =
            load_or_create(&data, "news.example/log", "news.example/witness").expect("create");
        for name in [LEDGER_KEY_FILE, JWT_SECRET_FILE] {
            let mode = fs::metadata(data.join(name))
                .expect("file")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        let again =
            load_or_create(&data, "news.example/log", "news.example/witness").expect("load");
        assert_eq!(
            first.ledger_key.verifier_key(),
            again.ledger_key.verifier_key()
        );
        assert_eq!(first.jwt_secret, again.jwt_secret);
        assert!(
            first
                .ledger_key
                .verifier_key()
                .starts_with("news.example/log+")
        );
    }

    #[test]
    fn a_key_for_another_origin_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        load_or_create(dir.path(), "a.example/log", "a.example/witness").expect("create");
        let err = load_or_create(dir.path(), "b.example/log", "a.example/witness")
            .err()
            .expect("mismatch");
        assert!(matches!(err, SecretsError::OriginMismatch { .. }));
        let text = err.to_string();
        assert!(!text.contains("PRIVATE"), "{text}");
    }
}
