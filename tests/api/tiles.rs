//! The log as C2SP tlog-tiles: at every size from 0 to 600 and at a few
//! thousand, every hash tile and entry bundle the log has equals what an
//! independent RFC 6962 computation over the served leaves says; tiles past
//! the end and malformed paths are 404; entry bundles are for readers; and
//! `sourceledger tiles export` writes the same bytes, incrementally.

use std::collections::BTreeMap;
use std::path::Path;

use actix_web::test::TestRequest;
use sha2::{Digest, Sha256};

use crate::helpers::{Backend, TestApp, append_entries};
use crate::on_both_backends;
use crate::process::BIN;
use sourceledger::auth::Role;

on_both_backends!(
    every_tile_is_what_the_leaves_say,
    tiles_export_to_a_directory_incrementally
);

/// RFC 6962 MTH over leaf hashes.
fn mth(hashes: &[[u8; 32]]) -> [u8; 32] {
    match hashes.len() {
        0 => Sha256::digest([]).into(),
        1 => hashes[0],
        n => {
            let k = n.next_power_of_two() / 2;
            let mut h = Sha256::new();
            h.update([1u8]);
            h.update(mth(&hashes[..k]));
            h.update(mth(&hashes[k..]));
            h.finalize().into()
        }
    }
}

/// Every leaf of the log, in order.
async fn leaves(app: &TestApp, token: &str, size: u64) -> Vec<String> {
    let mut out = Vec::new();
    while (out.len() as u64) < size {
        let page = app
            .get_as(
                &format!("/v1/ledger/entries?start={}&limit=1000", out.len()),
                token,
            )
            .await
            .json();
        for e in page["entries"].as_array().expect("entries") {
            out.push(e["leaf"].as_str().expect("leaf").to_owned());
        }
    }
    out.truncate(size as usize);
    out
}

fn leaf_hash(leaf: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(leaf.as_bytes());
    h.finalize().into()
}

fn tile_path(level: Option<u32>, n: u64, width: u64) -> String {
    let mut rest = n;
    let mut digits = format!("{:03}", rest % 1000);
    while rest >= 1000 {
        rest /= 1000;
        digits = format!("x{:03}/{digits}", rest % 1000);
    }
    let level = level.map_or("entries".to_owned(), |l| l.to_string());
    let partial = if width == 256 {
        String::new()
    } else {
        format!(".p/{width}")
    };
    format!("tile/{level}/{digits}{partial}")
}

/// Every tile a log of `leaves` has, path to bytes, computed here from the
/// leaves alone.
fn expected_tiles(leaves: &[String]) -> BTreeMap<String, Vec<u8>> {
    let hashes: Vec<[u8; 32]> = leaves.iter().map(|l| leaf_hash(l)).collect();
    let size = hashes.len() as u64;
    let mut tiles = BTreeMap::new();
    let mut level = 0u32;
    while size >> (8 * level) > 0 {
        let span = 1u64 << (8 * level);
        let count = size >> (8 * level);
        for n in 0..count.div_ceil(256) {
            let width = (count - n * 256).min(256);
            let mut data = Vec::new();
            for i in 0..width {
                let start = ((n * 256 + i) * span) as usize;
                data.extend_from_slice(&mth(&hashes[start..start + span as usize]));
            }
            tiles.insert(tile_path(Some(level), n, width), data);
        }
        level += 1;
    }
    for n in 0..size.div_ceil(256) {
        let width = (size - n * 256).min(256);
        let mut bundle = Vec::new();
        for leaf in &leaves[(n * 256) as usize..(n * 256 + width) as usize] {
            bundle.extend_from_slice(&(leaf.len() as u16).to_be_bytes());
            bundle.extend_from_slice(leaf.as_bytes());
        }
        tiles.insert(tile_path(None, n, width), bundle);
    }
    tiles
}

async fn get_tile(app: &TestApp, path: &str, token: Option<&str>) -> crate::helpers::Reply {
    let mut req = TestRequest::get().uri(&format!("/{path}"));
    if let Some(token) = token {
        req = req.insert_header(("Authorization", format!("Bearer {token}")));
    }
    app.call(req).await
}

async fn check_all_tiles(app: &TestApp, token: &str, size: u64) {
    let leaves = leaves(app, token, size).await;
    for (path, expected) in expected_tiles(&leaves) {
        let got = get_tile(app, &path, Some(token)).await;
        assert_eq!(got.status, 200, "size {size}: {path}: {}", got.text());
        assert!(got.body == expected, "size {size}: {path} differs");
    }
}

async fn every_tile_is_what_the_leaves_say(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let auditor = app.token_of(Role::Auditor).await;
    let admin = app.admin_token().await;
    let (_, reader) = app.member(&admin, "reader").await;
    let start = app.ledger_size();
    // Every size from here to 600, one entry at a time (a subscriber's bundle
    // and a bootstrap's few entries first).
    for size in start..=600 {
        if size > start {
            append_entries(&app.state, 1, &format!("entry {size}"));
        }
        check_all_tiles(&app, &reader, size).await;
    }
    append_entries(&app.state, 2_900, "a few thousand");
    check_all_tiles(&app, &auditor, 3_500).await;

    // Full tiles are immutable; partial ones are not kept as long.
    let full = get_tile(&app, "tile/0/000", None).await;
    assert_eq!(
        full.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    let partial = get_tile(&app, "tile/0/013.p/172", None).await;
    assert_eq!(partial.status, 200, "{}", partial.text());
    assert_eq!(
        partial.header("cache-control"),
        Some("public, max-age=3600")
    );
    // Past the end, malformed: 404. Bundles: readers only.
    for path in [
        "tile/0/013",
        "tile/0/013.p/173",
        "tile/1/000",
        "tile/2/000.p/1",
        "tile/entries/014",
        "tile/0/13",
        "tile/0/x000/013",
        "tile/0/013.p/0",
        "tile/0/013.p/256",
        "tile/data/000",
        "tile/x/000",
    ] {
        assert_eq!(
            get_tile(&app, path, Some(&reader)).await.status,
            404,
            "{path}"
        );
    }
    get_tile(&app, "tile/entries/000", None)
        .await
        .assert_problem(401, "unauthorized");
    let integration = app.token_of(Role::Integration).await;
    get_tile(&app, "tile/entries/000", Some(&integration))
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(get_tile(&app, "tile/0/000", None).await.status, 200);
    let checkpoint = app.get("/checkpoint").await;
    assert_eq!(checkpoint.status, 200);
    assert!(
        checkpoint.text().lines().nth(1) == Some("3500"),
        "{}",
        checkpoint.text()
    );
}

/// Every file under `dir`, by its path relative to `dir`.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let name = path
                    .strip_prefix(root)
                    .expect("under root")
                    .to_string_lossy()
                    .into_owned();
                out.insert(name, std::fs::read(&path).expect("read"));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

pub fn export(app: &TestApp, dir: &Path) -> String {
    let mut command = std::process::Command::new(BIN);
    command
        .args(["tiles", "export"])
        .arg(dir)
        .env("SOURCELEDGER_DATA_DIR", &app.data_dir)
        .env("SOURCELEDGER_ORIGIN", &app.state.settings.origin)
        .env_remove("SOURCELEDGER_DATABASE_URL")
        .env_remove("DATABASE_URL");
    if let sourceledger::config::DatabaseUrl::Postgres(url) = &app.state.settings.database {
        command.env("SOURCELEDGER_DATABASE_URL", url);
    }
    let out = command.output().expect("tiles export");
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{said}");
    said
}

async fn tiles_export_to_a_directory_incrementally(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let (_, reader) = app.member(&admin, "reader").await;
    let start = app.ledger_size();
    append_entries(&app.state, (700 - start) as usize, "first");
    let dir = tempfile::tempdir().expect("tempdir");
    let said = export(&app, dir.path());
    assert!(said.contains("tree size 700 (was 0)"), "{said}");
    let first = files(dir.path());
    let expected = expected_tiles(&leaves(&app, &reader, 700).await);
    for (path, data) in &expected {
        assert!(first.get(path) == Some(data), "{path} missing or different");
    }
    let note = String::from_utf8(first["checkpoint"].clone()).expect("note");
    assert_eq!(note.lines().nth(1), Some("700"));
    assert_eq!(
        first.len(),
        expected.len() + 1,
        "only tiles and the checkpoint"
    );

    // Grown by 300: only the new tiles are written; the old ones stay as
    // they were (a partial tile of the old size stays, still true).
    append_entries(&app.state, 300, "second");
    let said = export(&app, dir.path());
    assert!(said.contains("tree size 1000 (was 700)"), "{said}");
    let second = files(dir.path());
    for (path, data) in &first {
        if path != "checkpoint" {
            assert!(second.get(path) == Some(data), "{path} changed");
        }
    }
    for (path, data) in expected_tiles(&leaves(&app, &reader, 1000).await) {
        assert!(
            second.get(&path) == Some(&data),
            "{path} missing or different"
        );
    }
    let note = String::from_utf8(second["checkpoint"].clone()).expect("note");
    assert_eq!(note.lines().nth(1), Some("1000"));
    let said = export(&app, dir.path());
    assert!(said.contains("exported 0 tiles"), "{said}");
}

fn verify_tiles(vkey: &str, source: &str, extra: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(BIN)
        .args(["verify", "--vkey", vkey, "--tiles", source])
        .args(extra)
        .output()
        .expect("verify");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

on_both_backends!(the_log_verifies_from_a_tiles_folder_alone);

async fn the_log_verifies_from_a_tiles_folder_alone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let vkey = app.state.ledger.vkey().to_owned();
    let start = app.ledger_size();
    append_entries(&app.state, (700 - start) as usize, "first");
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().join("tiles");
    export(&app, &dir);
    let at_700 = work.path().join("at-700");
    copy_tree(&dir, &at_700);
    let state = work.path().join("reader.state");
    let state_arg = state.to_str().expect("path");
    let dir_arg = dir.to_str().expect("path");

    let (ok, said) = verify_tiles(&vkey, dir_arg, &["--state", state_arg]);
    assert!(ok, "{said}");
    assert!(
        said.contains("all 700 leaves of the entry bundles re-hashed"),
        "{said}"
    );
    assert!(said.contains("hash tiles: authenticated"), "{said}");

    // Grown, exported again: consistent with what was accepted.
    append_entries(&app.state, 333, "second");
    export(&app, &dir);
    let (ok, said) = verify_tiles(&vkey, dir_arg, &["--state", state_arg]);
    assert!(ok, "{said}");
    assert!(
        said.contains("consistent with the checkpoint accepted before (700 entries)"),
        "{said}"
    );

    // Rolled back to the old folder: refused.
    let (ok, said) = verify_tiles(
        &vkey,
        at_700.to_str().expect("path"),
        &["--state", state_arg],
    );
    assert!(!ok && said.contains("rolled back"), "{said}");

    // A reader who accepted another tree of 700 entries (a fork): refused.
    let forked_state = work.path().join("forked.state");
    let mut accepted: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&state).expect("state")).expect("json");
    for (_, cp) in accepted["checkpoints"].as_object_mut().expect("map") {
        cp["size"] = serde_json::json!(700);
        cp["root"] = serde_json::json!("ab".repeat(32));
    }
    std::fs::write(&forked_state, accepted.to_string()).expect("write");
    let (ok, said) = verify_tiles(
        &vkey,
        dir_arg,
        &["--state", forked_state.to_str().expect("path")],
    );
    assert!(!ok && said.contains("not a prefix"), "{said}");

    // One byte of a leaf, one byte of a hash tile, a missing bundle: refused.
    for (file, why) in [
        ("tile/entries/001", "not the hash the hash tiles hold"),
        ("tile/0/002", "hash tiles"),
    ] {
        let altered = work
            .path()
            .join(format!("altered-{}", file.replace('/', "-")));
        copy_tree(&dir, &altered);
        let path = altered.join(file);
        let mut bytes = std::fs::read(&path).expect("read");
        // In a bundle, a letter of a record ("first" → "firsu"), so the leaf
        // still parses; in a hash tile, a bit of a hash.
        let at = bytes
            .windows(5)
            .rposition(|w| w == b"first")
            .map_or(bytes.len() - 3, |i| i + 4);
        bytes[at] ^= 1;
        std::fs::write(&path, bytes).expect("write");
        let (ok, said) = verify_tiles(&vkey, altered.to_str().expect("path"), &[]);
        assert!(!ok && said.contains(why), "{file}: {said}");
    }
    let missing = work.path().join("missing");
    copy_tree(&dir, &missing);
    std::fs::remove_file(missing.join("tile/entries/003")).expect("remove");
    let (ok, said) = verify_tiles(&vkey, missing.to_str().expect("path"), &[]);
    assert!(
        !ok && said.contains("tile/entries/003 is missing"),
        "{said}"
    );
    // Another key: refused.
    let other = sourceledger::secrets::LedgerKey::from_signer_key(
        &sourceledger::secrets::LedgerKey::generate(&app.state.settings.origin),
    )
    .expect("key")
    .verifier_key()
    .to_owned();
    let (ok, said) = verify_tiles(&other, dir_arg, &[]);
    assert!(!ok && said.contains("checkpoint"), "{said}");
}

/// The same from a live server's own /tile/ URLs (bundles with a reader's token).
#[test]
fn the_log_verifies_from_a_servers_tiles() {
    use crate::process::{ServerProcess, agent, key_token, request, token_for};
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServerProcess::start(dir.path(), None);
    let base = server.url();
    let http = agent();
    let admin = token_for(&http, &base, &server.bootstrap_key());
    let journalist = key_token(&http, &base, &admin, "journalist");
    for i in 0..300 {
        let made = request(
            &http,
            "POST",
            &format!("{base}/v1/sources"),
            Some(&journalist),
            Some(&serde_json::json!({"url": format!("https://s{i}.example/"), "title": "T", "publisher": "P", "kind": "document", "language": "en"})),
        )
        .expect("source");
        assert_eq!(made.status, 201);
    }
    let vkey = crate::durability::vkey(&server);
    let (ok, said) = verify_tiles(&vkey, &base, &["--token", &journalist]);
    assert!(ok, "{said}");
    assert!(said.contains("all 300 leaves"), "{said}");
    let (ok, said) = verify_tiles(&vkey, &base, &[]);
    assert!(!ok, "entry bundles without a token: {said}");
}

on_both_backends!(go_reads_the_exported_tiles);

/// Go's own sumdb/tlog tile code (tests/go/tilecheck) reads the exported
/// folder: every entry proven included, older sizes proven prefixes.
async fn go_reads_the_exported_tiles(backend: Backend) {
    if !crate::interop_go::go_available() {
        return;
    }
    let app = TestApp::spawn(backend).await;
    let vkey = app.state.ledger.vkey().to_owned();
    let start = app.ledger_size();
    append_entries(&app.state, (1033 - start) as usize, "go");
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path().join("tiles");
    export(&app, &dir);
    let run = |dir: &Path| {
        let out = crate::interop_go::go_run("tilecheck", work.path())
            .arg(dir)
            .arg(&vkey)
            .args(["1", "255", "256", "257", "700", "1024", "1033"])
            .output()
            .expect("go run");
        (
            out.status.success(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (ok, said) = run(&dir);
    assert!(ok, "Go refused the tiles: {said}");
    assert!(
        said.starts_with("OK: 1033 entries included in the tree of 1033, 7 consistency proofs"),
        "{said}"
    );
    // One bit of one hash tile: Go's tile reader refuses it.
    let altered = work.path().join("altered");
    copy_tree(&dir, &altered);
    let tile = altered.join("tile/0/001");
    let mut bytes = std::fs::read(&tile).expect("read");
    bytes[40] ^= 1;
    std::fs::write(&tile, bytes).expect("write");
    let (ok, said) = run(&altered);
    assert!(!ok, "Go accepted an altered tile: {said}");
}
