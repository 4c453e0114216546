//! The WACZ signing key (SPEC "Web archives (WACZ)"): made on first start
//! as `wacz.key` (mode 0600), kept across restarts, public at
//! `GET /v1/wacz/key`; its signatures verify under WebCrypto exactly as
//! ReplayWeb.page's wabac.js checks them (tests/web/wacz_signature.mjs, run
//! by Node), and a signature of another hash does not.

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use serde_json::Value;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(the_wacz_key_is_made_once_and_signs_as_wabac_checks);

fn verified_in_webcrypto(hash: &str, signature: &str, public_key: &str) -> bool {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/web/wacz_signature.mjs");
    let out = Command::new("node")
        .args([script, hash, signature, public_key])
        .output()
        .expect("node");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let verdict: Value = serde_json::from_slice(&out.stdout).expect("verdict");
    verdict["valid"] == true
}

async fn the_wacz_key_is_made_once_and_signs_as_wabac_checks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let reply = app.get("/v1/wacz/key").await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    let public_key = reply.json()["publicKey"]
        .as_str()
        .expect("publicKey")
        .to_owned();
    // SPKI DER of a P-384 key: 120 bytes.
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD
        .decode(&public_key)
        .expect("standard base64");
    assert_eq!(der.len(), 120);
    let file = app.data_dir.join("wacz.key");
    let mode = std::fs::metadata(&file)
        .expect("wacz.key")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    // The same key after a restart on the same data dir.
    let (_, again) = app.another_instance().await;
    assert_eq!(again.wacz_key.public_key(), public_key);

    let hash = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let signature = app.state.wacz_key.sign(hash).expect("sign");
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(&signature)
            .expect("base64")
            .len(),
        96,
        "raw r || s"
    );
    // Deterministic: a package reads the same at every request.
    assert_eq!(app.state.wacz_key.sign(hash).expect("sign"), signature);
    if crate::web_verifier::node_here() {
        assert!(verified_in_webcrypto(hash, &signature, &public_key));
        let other = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
        assert!(!verified_in_webcrypto(other, &signature, &public_key));
    }
}
