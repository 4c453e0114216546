//! Go's own sumdb packages (golang.org/x/mod/sumdb/note and sumdb/tlog, from
//! Debian's golang-golang-x-mod-dev) check our checkpoints and proofs as served.
//! CI installs Go and sets SOURCELEDGER_TEST_REQUIRE_GO=1, so there it always runs.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::{Backend, TestApp, append_entries};
use crate::on_both_backends;

on_both_backends!(go_sumdb_accepts_our_checkpoints_and_proofs);

pub fn go_available() -> bool {
    let found = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
        && Path::new("/usr/share/gocode/src/golang.org/x/mod/sumdb/tlog").exists();
    if !found {
        assert!(
            std::env::var_os("SOURCELEDGER_TEST_REQUIRE_GO").is_none(),
            "SOURCELEDGER_TEST_REQUIRE_GO is set but go or golang-golang-x-mod-dev is missing"
        );
        eprintln!(
            "SKIPPED: Go interop test, install golang-go and golang-golang-x-mod-dev to run it"
        );
    }
    found
}

/// `go run tests/go/<program>/main.go` against Debian's GOPATH, with its
/// build cache under `work`; add the program's arguments.
pub fn go_run(program: &str, work: &Path) -> Command {
    let mut command = Command::new("go");
    command
        .arg("run")
        .arg(format!(
            "{}/tests/go/{program}/main.go",
            env!("CARGO_MANIFEST_DIR")
        ))
        .env("GO111MODULE", "off")
        .env("GOPATH", "/usr/share/gocode")
        .env("GOCACHE", work.join("gocache"))
        .env("GOFLAGS", "");
    command
}

/// Runs the Go checker on `input`; true when it accepts.
fn go_check(input: &Value, work: &Path) -> (bool, String) {
    let file = work.join("input.json");
    std::fs::write(&file, serde_json::to_vec(input).expect("json")).expect("write");
    let out = go_run("sumdbcheck", work)
        .arg(&file)
        .output()
        .expect("go run");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn go_sumdb_accepts_our_checkpoints_and_proofs(backend: Backend) {
    if !go_available() {
        return;
    }
    let app = TestApp::spawn(backend).await;
    append_entries(&app.state, 11, "old");
    let old = app.get("/v1/ledger/checkpoint").await.text();
    append_entries(&app.state, 26, "new");
    let new = app.get("/v1/ledger/checkpoint").await.text();
    let vkey = app.get("/v1/ledger/key").await.json()["vkey"].clone();
    let admin = app.admin_token().await;

    let mut inclusion = Vec::new();
    for index in 0..37 {
        let proof = app
            .get(&format!(
                "/v1/ledger/proof/inclusion?index={index}&tree_size=37"
            ))
            .await
            .json();
        let entry = app
            .get_as(&format!("/v1/ledger/entries/{index}"), &admin)
            .await
            .json();
        inclusion.push(json!({"index": index, "leaf": entry["leaf"], "proof": proof["proof"]}));
    }
    let consistency = app
        .get("/v1/ledger/proof/consistency?first=11&second=37")
        .await
        .json();
    let input = json!({
        "vkey": vkey,
        "checkpoint": new,
        "old_checkpoint": old,
        "inclusion": inclusion,
        "consistency": consistency["proof"],
    });
    let work = tempfile::tempdir().expect("tempdir");
    let (ok, output) = go_check(&input, work.path());
    assert!(ok, "Go's sumdb refused: {output}");
    assert!(
        output.starts_with("ok: 37 inclusion proofs to size 37, consistency 11 -> 37"),
        "{output}"
    );

    // The checker can fail: one altered proof hash, or a leaf, is refused.
    let mut bad = input.clone();
    let first_hash = bad["inclusion"][5]["proof"][0]
        .as_str()
        .expect("hash")
        .to_owned();
    let flipped = if first_hash.starts_with('0') {
        "1"
    } else {
        "0"
    };
    bad["inclusion"][5]["proof"][0] = json!(format!("{flipped}{}", &first_hash[1..]));
    assert!(!go_check(&bad, work.path()).0);
    let mut bad = input.clone();
    bad["inclusion"][3]["leaf"] = json!("{\"forged\":true}");
    assert!(!go_check(&bad, work.path()).0);
    let mut bad = input;
    bad["checkpoint"] = json!(new.replacen("\n37\n", "\n38\n", 1));
    assert!(!go_check(&bad, work.path()).0);
}
