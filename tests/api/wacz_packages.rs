//! WACZ packages (SPEC "Web archives (WACZ)"): an article's archived copies
//! and one capture's, read by tools nobody here wrote (py-wacz's
//! `wacz validate`, Python's zipfile and warcio through
//! tests/archive/read_wacz.py; `SOURCELEDGER_TEST_WARC_TOOLS` names a venv
//! with both, CI installs it), checked by `sourceledger verify --wacz`, byte
//! ranges equal to slices of the whole, and never shown to readers before
//! publication. In the file store and in S3 (moto).

use std::io::{Cursor, Read, Write};
use std::path::Path;
use std::process::Command;

use actix_web::test::TestRequest;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{Backend, Reply, TestApp};
use crate::moto::Moto;
use crate::on_both_backends;
use crate::site::HostSite;
use sourceledger::auth::Role;
use sourceledger::config::SnapshotStore;

on_both_backends!(packages_in_files, packages_in_s3);

const BIN: &str = env!("CARGO_BIN_EXE_sourceledger");

async fn packages_in_files(backend: Backend) {
    packages_are_valid_signed_proven_and_ranged(backend, None).await
}

async fn packages_in_s3(backend: Backend) {
    if let Some(moto) = Moto::start() {
        let store = moto.store("packages");
        packages_are_valid_signed_proven_and_ranged(backend, Some(store)).await
    }
}

/// The venv with warcio and py-wacz, when there is one.
fn tools() -> Option<std::path::PathBuf> {
    match std::env::var_os("SOURCELEDGER_TEST_WARC_TOOLS") {
        Some(tools) => Some(tools.into()),
        None => {
            assert!(
                std::env::var_os("SOURCELEDGER_TEST_REQUIRE_WARC_TOOLS").is_none(),
                "SOURCELEDGER_TEST_REQUIRE_WARC_TOOLS is set but SOURCELEDGER_TEST_WARC_TOOLS is not"
            );
            eprintln!("SKIPPED: py-wacz and warcio (set SOURCELEDGER_TEST_WARC_TOOLS)");
            None
        }
    }
}

/// py-wacz's `wacz validate -f` on `file`: whether it accepts it.
fn wacz_validate(tools: &Path, file: &Path) -> (bool, String) {
    let out = Command::new(tools.join("bin/wacz"))
        .args(["validate", "-f"])
        .arg(file)
        .output()
        .expect("wacz");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.success() && text.contains("Validation succeeded"),
        text,
    )
}

/// tests/archive/read_wacz.py's reading of `file`.
fn read_wacz(tools: &Path, file: &Path) -> Value {
    let out = Command::new(tools.join("bin/python"))
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/archive/read_wacz.py"
        ))
        .arg(file)
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "zipfile or warcio refused the package: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("read_wacz.py's JSON")
}

/// `sourceledger verify --wacz`: whether it accepts, and what it said.
fn verify(file: &Path, vkey: &str, wacz_key: Option<&str>) -> (bool, String) {
    let mut command = Command::new(BIN);
    command.args(["verify", "--vkey", vkey, "--wacz"]).arg(file);
    if let Some(key) = wacz_key {
        command.args(["--wacz-key", key]);
    }
    let out = command.output().expect("sourceledger verify");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Every member of a package, in order.
fn members(package: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(Cursor::new(package)).expect("a ZIP");
    (0..zip.len())
        .map(|i| {
            let mut entry = zip.by_index(i).expect("entry");
            let mut data = Vec::new();
            entry.read_to_end(&mut data).expect("read");
            (entry.name().expect("name").into_owned(), data)
        })
        .collect()
}

fn sha256_field(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// `package` written again by the `zip` crate with `change` made to its
/// members; with `resign`, its datapackage.json and signed digest made
/// anew for the changed bytes, as a forger holding that key would.
fn repack(
    package: &[u8],
    change: impl Fn(&str, Vec<u8>) -> Vec<u8>,
    resign: Option<&sourceledger::secrets::WaczKey>,
) -> Vec<u8> {
    let mut files: Vec<(String, Vec<u8>)> = members(package)
        .into_iter()
        .map(|(name, data)| {
            let data = change(&name, data);
            (name, data)
        })
        .collect();
    if let Some(key) = resign {
        let find = |files: &[(String, Vec<u8>)], name: &str| {
            files.iter().position(|(n, _)| n == name).expect("member")
        };
        let at = find(&files, "datapackage.json");
        let mut datapackage: Value = serde_json::from_slice(&files[at].1).expect("json");
        for resource in datapackage["resources"].as_array_mut().expect("resources") {
            let path = resource["path"].as_str().expect("path").to_owned();
            let data = &files[find(&files, &path)].1;
            resource["hash"] = json!(sha256_field(data));
            resource["bytes"] = json!(data.len());
        }
        let bytes = serde_json::to_vec(&datapackage).expect("json");
        let hash = sha256_field(&bytes);
        files[at].1 = bytes;
        let at = find(&files, "datapackage-digest.json");
        let mut digest: Value = serde_json::from_slice(&files[at].1).expect("json");
        digest["hash"] = json!(hash);
        digest["signedData"]["hash"] = json!(hash);
        digest["signedData"]["signature"] = json!(key.sign(&hash).expect("sign"));
        digest["signedData"]["publicKey"] = json!(key.public_key());
        files[at].1 = serde_json::to_vec(&digest).expect("json");
    }
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in files {
        writer.start_file(name, options).expect("start");
        writer.write_all(&data).expect("write");
    }
    writer.finish().expect("finish").into_inner()
}

async fn ranged(app: &TestApp, uri: &str, token: &str, range: &str) -> Reply {
    app.call(
        TestRequest::get()
            .uri(uri)
            .insert_header(("Authorization", format!("Bearer {token}")))
            .insert_header(("Range", range)),
    )
    .await
}

async fn packages_are_valid_signed_proven_and_ranged(
    backend: Backend,
    store: Option<SnapshotStore>,
) {
    let app = TestApp::spawn_with(backend, |s| {
        // What a draft cites is the newsroom's alone until publication.
        s.embargo = true;
        if let Some(store) = store {
            s.archive.store = store;
        }
    })
    .await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let admin = app.admin_token().await;
    let (_, reader) = app.member(&admin, "reader").await;
    let site = HostSite::start();
    let pages = [
        (
            "/budget",
            "Budget",
            "<html><body><h1>Budget 2026</h1><p>Spending rose 4%.</p></body></html>",
        ),
        (
            "/census",
            "Census",
            "<html><body><h1>Census</h1><p>The population grew.</p></body></html>",
        ),
    ];
    let mut ids = Vec::new();
    let mut snapshots = Vec::new();
    for (path, title, body) in pages {
        let url = site.page(path, "", body.to_owned());
        let source = app
            .record_source(
                &journalist,
                json!({"url": url, "title": title, "publisher": "Ministry", "kind": "document", "language": "en"}),
            )
            .await;
        let id = source["id"].as_str().expect("id").to_owned();
        let captured = app
            .post_as(&format!("/v1/sources/{id}/capture"), &journalist, json!({}))
            .await;
        assert_eq!(captured.status, 201, "{}", captured.text());
        let version = captured.json();
        assert!(
            version["warc_sha256"].is_string(),
            "a capture records its WARC's hash: {version}"
        );
        snapshots.push(version["snapshot_sha256"].as_str().expect("sha").to_owned());
        ids.push(id);
    }
    let created = app
        .post_as(
            "/v1/articles",
            &journalist,
            json!({"slug": "budget-story", "title": "The budget", "url": "https://news.example/budget-story", "language": "en", "authors": ["A"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text());
    for id in &ids {
        let cited = app
            .post_as(
                "/v1/articles/budget-story/citations",
                &journalist,
                json!({"citations": [{"source_id": id, "claim": "a claim", "locator": "p1"}]}),
            )
            .await;
        assert_eq!(cited.status, 201, "{}", cited.text());
    }
    let uri = "/v1/articles/budget-story/archive.wacz";
    let snapshot_uri = format!("/v1/snapshots/{}?format=wacz", snapshots[0]);

    // Before publication: the newsroom's alone.
    app.get_as(uri, &reader)
        .await
        .assert_problem(404, "not_found");
    app.get_as(&snapshot_uri, &reader)
        .await
        .assert_problem(404, "not_found");
    let draft = app.get_as(uri, &journalist).await;
    assert_eq!(draft.status, 200, "{}", draft.text());
    app.get(uri).await.assert_problem(401, "unauthorized");

    let published = app
        .post_as("/v1/articles/budget-story/publish", &editor, json!({}))
        .await;
    assert_eq!(published.status, 200, "{}", published.text());
    let whole = app.get_as(uri, &reader).await;
    assert_eq!(whole.status, 200, "{}", whole.text());
    assert_eq!(whole.header("content-type"), Some("application/wacz"));
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));
    assert_eq!(whole.header("content-encoding"), Some("identity"));
    let etag = whole.header("etag").expect("etag").to_owned();
    let package = whole.body.to_vec();

    // The same bytes at every request (a reader fetches by ranges), and
    // while the log grows with other things.
    app.record_source(
        &journalist,
        json!({"url": "https://elsewhere.example/x", "title": "Other", "publisher": "P", "kind": "document", "language": "en"}),
    )
    .await;
    let again = app.get_as(uri, &reader).await;
    assert_eq!(again.body, package, "a package's bytes do not change");
    assert_eq!(again.header("etag"), Some(etag.as_str()));
    let cached = app
        .call(
            TestRequest::get()
                .uri(uri)
                .insert_header(("Authorization", format!("Bearer {reader}")))
                .insert_header(("If-None-Match", etag.as_str())),
        )
        .await;
    assert_eq!(cached.status, 304);

    // Ranges at any offset are the same bytes as the whole.
    let size = package.len();
    let mut spans = vec![(0, 0), (0, 29), (size - 22, size - 1), (size / 3, size / 2)];
    for step in [97, 389, 1021] {
        let mut at = 0;
        while at < size {
            spans.push((at, (at + step * 3).min(size - 1)));
            at += step * 7;
        }
    }
    for (start, last) in spans {
        let part = ranged(&app, uri, &reader, &format!("bytes={start}-{last}")).await;
        assert_eq!(part.status, 206);
        assert_eq!(part.body, package[start..=last], "bytes {start}-{last}");
        assert_eq!(
            part.header("content-range"),
            Some(format!("bytes {start}-{last}/{size}").as_str())
        );
    }
    // The ZIP's tail as ReplayWeb.page asks for it: larger than the file.
    let tail = ranged(&app, uri, &reader, "bytes=-65558").await;
    assert_eq!(tail.status, 206);
    assert_eq!(tail.body, package);
    let tail = ranged(&app, uri, &reader, "bytes=-100").await;
    assert_eq!(tail.body, package[size - 100..]);
    ranged(&app, uri, &reader, &format!("bytes={size}-"))
        .await
        .assert_problem(416, "range_not_satisfiable");
    let head = app
        .call(
            TestRequest::default()
                .method(actix_web::http::Method::HEAD)
                .uri(uri)
                .insert_header(("Authorization", format!("Bearer {reader}"))),
        )
        .await;
    assert_eq!(head.status, 200);
    assert_eq!(head.header("etag"), Some(etag.as_str()));
    assert!(head.body.is_empty());

    // What is inside.
    let files = members(&package);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.len(), 2 + 5, "{names:?}");
    assert!(
        names[..2]
            .iter()
            .all(|n| n.starts_with("archive/") && n.ends_with(".warc"))
    );
    assert_eq!(
        &names[2..],
        [
            "indexes/index.cdxj",
            "pages/pages.jsonl",
            "ledger/proofs.json",
            "datapackage.json",
            "datapackage-digest.json"
        ]
    );
    let file = |name: &str| {
        files
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.clone())
            .expect("member")
    };
    let digest: Value = serde_json::from_slice(&file("datapackage-digest.json")).expect("json");
    let public_key = app.get("/v1/wacz/key").await.json()["publicKey"]
        .as_str()
        .expect("key")
        .to_owned();
    assert_eq!(digest["signedData"]["publicKey"], public_key);
    assert_eq!(digest["hash"], sha256_field(&file("datapackage.json")));
    let proofs: Value = serde_json::from_slice(&file("ledger/proofs.json")).expect("json");
    assert_eq!(proofs["warcs"].as_array().expect("warcs").len(), 2);

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("budget-story.wacz");
    std::fs::write(&path, &package).expect("write");
    let vkey = app.state.ledger.vkey().to_owned();

    // `sourceledger verify --wacz` accepts it, and ties it to the log.
    let (ok, said) = verify(&path, &vkey, Some(&public_key));
    assert!(ok, "{said}");
    assert!(
        said.contains("index lines point at their response records"),
        "{said}"
    );

    // Python's zipfile, warcio and py-wacz accept it.
    if let Some(tools) = tools() {
        let read = read_wacz(&tools, &path);
        assert_eq!(read["index_lines"], 2, "{read}");
        assert_eq!(read["pages"].as_array().map(Vec::len), Some(2), "{read}");
        let (valid, said) = wacz_validate(&tools, &path);
        assert!(valid, "wacz validate refused the package: {said}");
        // The check has teeth: one byte of a WARC changed.
        let tampered = repack(&package, tamper_warc, None);
        let bad = dir.path().join("tampered.wacz");
        std::fs::write(&bad, &tampered).expect("write");
        let (valid, said) = wacz_validate(&tools, &bad);
        assert!(!valid, "wacz validate accepted a changed WARC: {said}");
    }

    // Refused: a WARC byte changed; a proof changed, even re-signed with
    // the newsroom's own key; another key.
    let cases: [(&str, Vec<u8>, &str); 3] = [
        (
            "a changed WARC byte",
            repack(&package, tamper_warc, None),
            "do not hash",
        ),
        (
            "a changed WARC byte, re-signed",
            repack(&package, tamper_warc, Some(&app.state.wacz_key)),
            "ledger",
        ),
        (
            "a changed proof, re-signed",
            repack(&package, tamper_proof, Some(&app.state.wacz_key)),
            "inclusion proof",
        ),
    ];
    for (what, bytes, expected) in cases {
        let bad = dir.path().join("bad.wacz");
        std::fs::write(&bad, bytes).expect("write");
        let (ok, said) = verify(&bad, &vkey, Some(&public_key));
        assert!(!ok, "{what} was accepted: {said}");
        assert!(said.contains(expected), "{what}: {said}");
    }
    let other = sourceledger::secrets::LedgerKey::from_signer_key(
        &sourceledger::secrets::LedgerKey::generate("other.example/log"),
    )
    .expect("key");
    let (ok, said) = verify(&path, other.verifier_key(), None);
    assert!(!ok, "another vkey was accepted: {said}");
    let forger = sourceledger::secrets::WaczKey::random();
    let resigned = repack(&package, |_, d| d, Some(&forger));
    let bad = dir.path().join("forged.wacz");
    std::fs::write(&bad, resigned).expect("write");
    let (ok, said) = verify(&bad, &vkey, Some(&public_key));
    assert!(
        !ok,
        "a package signed with another key was accepted: {said}"
    );

    // One capture's package, valid on its own.
    let single = app.get_as(&snapshot_uri, &reader).await;
    assert_eq!(single.status, 200, "{}", single.text());
    let one = dir.path().join("one.wacz");
    std::fs::write(&one, &single.body).expect("write");
    let (ok, said) = verify(&one, &vkey, Some(&public_key));
    assert!(ok, "{said}");
    if let Some(tools) = tools() {
        let (valid, said) = wacz_validate(&tools, &one);
        assert!(valid, "wacz validate refused the capture's package: {said}");
    }

    // Nothing to package: 404; an upload has no WARC: 404.
    app.post_as(
        "/v1/articles",
        &journalist,
        json!({"slug": "empty", "title": "Empty", "url": "https://news.example/empty", "language": "en", "authors": ["A"]}),
    )
    .await;
    app.get_as("/v1/articles/empty/archive.wacz", &journalist)
        .await
        .assert_problem(404, "not_found");
    app.get_as("/v1/articles/none/archive.wacz", &reader)
        .await
        .assert_problem(404, "not_found");
}

/// One payload byte of each WARC changed.
fn tamper_warc(name: &str, mut data: Vec<u8>) -> Vec<u8> {
    let found = data
        .windows(6)
        .position(|w| w == b"Budget" || w == b"Census");
    if let Some(at) = found.filter(|_| name.starts_with("archive/")) {
        data[at] = b'F';
    }
    data
}

/// The first proof hash of ledger/proofs.json changed.
fn tamper_proof(name: &str, data: Vec<u8>) -> Vec<u8> {
    if name != "ledger/proofs.json" {
        return data;
    }
    let mut proofs: Value = serde_json::from_slice(&data).expect("json");
    let proof = &mut proofs["warcs"][0]["proof"];
    let proof = if proof["commitment"].is_object() {
        &mut proof["commitment"]["proof"]
    } else {
        &mut proof["proof"]
    };
    proof[0] = json!("00".repeat(32));
    serde_json::to_vec(&proofs).expect("json")
}
