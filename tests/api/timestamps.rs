//! RFC 3161 trusted time: OpenSSL's own `openssl ts` is the time-stamping
//! authority, behind a small loopback HTTP front, with a CA and a TSA
//! certificate made here. A server process stamps its checkpoints there; the
//! tokens are checked by `openssl ts -verify` and by `sourceledger verify
//! --tsa-cert`; a token from another TSA, or a changed one, is refused; and a
//! TSA that is down leaves writes as they were.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::Backend;
use crate::on_both_backends;
use crate::process::{ServerProcess, agent, key_token, request, token_for};
use crate::witnesses::database_url;

on_both_backends!(
    checkpoints_are_time_stamped_and_the_tokens_verify,
    a_tsa_that_is_down_leaves_writes_alone,
    no_time_is_claimed_from_a_reply_nobody_checked
);

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl is installed (the tests need its `ts` command)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a TSA certificate it issued (extended key usage timeStamping,
/// critical, as RFC 3161 asks), in `dir`: `ca.pem`, `tsa.pem`, `tsa.key` and
/// the `openssl ts` configuration `tsa.cnf`. `key` is `rsa` or `ec`.
fn make_tsa(dir: &Path, key: &str) {
    let new_key: &[&str] = match key {
        "ec" => &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        _ => &["-newkey", "rsa:2048"],
    };
    openssl(
        dir,
        &[
            &[
                "req", "-x509", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
            ][..],
            new_key,
            &[
                "-days",
                "2",
                "-subj",
                "/CN=sourceledger test CA",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        ]
        .concat(),
    );
    openssl(
        dir,
        &[
            &[
                "req", "-new", "-nodes", "-keyout", "tsa.key", "-out", "tsa.csr",
            ][..],
            new_key,
            &["-subj", "/CN=sourceledger test TSA"],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("tsa-ext.cnf"),
        "extendedKeyUsage=critical,timeStamping\nkeyUsage=critical,digitalSignature\nsubjectKeyIdentifier=hash\n",
    )
    .expect("ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "tsa.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "7",
            "-days",
            "2",
            "-extfile",
            "tsa-ext.cnf",
            "-out",
            "tsa.pem",
        ],
    );
    std::fs::write(dir.join("tsaserial"), "01\n").expect("serial");
    std::fs::write(
        dir.join("tsa.cnf"),
        format!(
            "[ tsa ]\ndefault_tsa = test_tsa\n\n[ test_tsa ]\ndir = {dir}\nserial = $dir/tsaserial\ncrypto_device = builtin\nsigner_cert = $dir/tsa.pem\ncerts = $dir/ca.pem\nsigner_key = $dir/tsa.key\nsigner_digest = sha256\ndefault_policy = 1.2.3.4.1\ndigests = sha256, sha384, sha512\naccuracy = secs:1\nordering = no\ntsa_name = yes\ness_cert_id_chain = no\ness_cert_id_alg = sha256\n",
            dir = dir.display()
        ),
    )
    .expect("config");
}

/// `openssl ts -reply` for one query, as a TSA answers it.
fn reply(dir: &Path, query: &[u8]) -> Vec<u8> {
    let work = tempfile::tempdir_in(dir).expect("dir");
    std::fs::write(work.path().join("q.tsq"), query).expect("query");
    let out = Command::new("openssl")
        .args(["ts", "-reply", "-config"])
        .arg(dir.join("tsa.cnf"))
        .arg("-queryfile")
        .arg(work.path().join("q.tsq"))
        .arg("-out")
        .arg(work.path().join("r.tsr"))
        .output()
        .expect("openssl ts -reply");
    assert!(
        out.status.success(),
        "openssl ts -reply: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(work.path().join("r.tsr")).expect("reply")
}

/// `openssl ts -reply` behind loopback HTTP (RFC 3161 section 3.4): each POSTed
/// query is answered with its reply. Returns the URL and the count of queries.
fn serve_tsa(dir: PathBuf) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/tsa", listener.local_addr().expect("addr"));
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = Vec::new();
            let mut byte = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            let typed = head.contains("content-type: application/timestamp-query");
            let mut query = vec![0u8; length];
            if stream.read_exact(&mut query).is_err() || !typed {
                let _ = stream.write_all(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
                continue;
            }
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let body = reply(&dir, &query);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/timestamp-reply\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    (url, count)
}

/// GET `url` as bytes: status, Content-Type, Content-Location, body.
fn get_bytes(url: &str) -> (u16, String, String, Vec<u8>) {
    let mut response = agent().get(url).call().expect("get");
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let (kind, location) = (header("content-type"), header("content-location"));
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_vec().expect("body");
    (status, kind, location, body)
}

fn record_sources(base: &str, token: &str, count: usize) {
    for n in 0..count {
        let made = request(
            &agent(),
            "POST",
            &format!("{base}/v1/sources"),
            Some(token),
            Some(&json!({"url": format!("https://example.org/report/{n}"), "title": "A report", "publisher": "Example", "kind": "news_report", "language": "en"})),
        )
        .expect("source");
        assert_eq!(made.status, 201, "{}", made.text);
    }
}

async fn checkpoints_are_time_stamped_and_the_tokens_verify(backend: Backend) {
    let tsa_dir = tempfile::tempdir().expect("dir");
    make_tsa(tsa_dir.path(), "rsa");
    let (tsa_url, queries) = serve_tsa(tsa_dir.path().to_owned());
    let data = tempfile::tempdir().expect("dir");
    let tsa_cert = tsa_dir.path().join("tsa.pem");
    let server = ServerProcess::start_with(
        data.path(),
        database_url(&backend).as_deref(),
        None,
        &[
            ("SOURCELEDGER_TSA_URL", &tsa_url),
            ("SOURCELEDGER_TSA_CERT", tsa_cert.to_str().expect("path")),
        ],
    );
    let base = server.url();
    let agent = agent();
    let admin = token_for(&agent, &base, &server.bootstrap_key());
    let journalist = key_token(&agent, &base, &admin, "journalist");
    record_sources(&base, &journalist, 3);

    // The stamping thread finds the new checkpoint within a few ticks.
    let timestamp_url = format!("{base}/v1/ledger/checkpoint/timestamp");
    let deadline = Instant::now() + Duration::from_secs(60);
    let (kind, location, token) = loop {
        let (status, kind, location, body) = get_bytes(&timestamp_url);
        if status == 200 {
            break (kind, location, body);
        }
        assert_eq!(status, 404, "{}", String::from_utf8_lossy(&body));
        assert!(Instant::now() < deadline, "no time stamp in time");
        std::thread::sleep(Duration::from_millis(200));
    };
    assert!(queries.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    assert_eq!(kind, "application/timestamp-reply");
    let size: u64 = location
        .rsplit_once("size=")
        .and_then(|(_, n)| n.parse().ok())
        .unwrap_or_else(|| panic!("Content-Location names the size: {location:?}"));
    assert!(size >= 3, "{size}");
    let (status, _, _, by_size) = get_bytes(&format!("{timestamp_url}?size={size}"));
    assert_eq!(
        (status, &by_size),
        (200, &token),
        "the same token by its size"
    );
    let missing = request(
        &agent,
        "GET",
        &format!("{timestamp_url}?size=1"),
        None,
        None,
    )
    .expect("get");
    assert_eq!(missing.status, 404, "{}", missing.text);
    assert_eq!(missing.body["code"], "not_found");
    for bad in ["x", "-1", "18446744073709551615"] {
        let bad = request(
            &agent,
            "GET",
            &format!("{timestamp_url}?size={bad}"),
            None,
            None,
        )
        .expect("get");
        assert_eq!(bad.status, 400, "{}", bad.text);
    }

    // The checkpoint it stamps, and what is stamped: the note's signed text.
    let page = request(
        &agent,
        "GET",
        &format!("{base}/v1/ledger/checkpoints?after={}&limit=1", size - 1),
        None,
        None,
    )
    .expect("checkpoints");
    let item = &page.body["checkpoints"][0];
    assert_eq!(item["size"], size);
    assert!(item["timestamped_at"].is_string(), "{item}");
    let note = item["note"].as_str().expect("note");
    let signed_text = &note[..=note.find("\n\n").expect("blank line")];

    // OpenSSL verifies the token over that text, with the CA as the trust anchor.
    let work = tempfile::tempdir().expect("dir");
    std::fs::write(work.path().join("token.tsr"), &token).expect("token");
    std::fs::write(work.path().join("checkpoint.txt"), signed_text).expect("text");
    let openssl_verify = |data: &str| {
        Command::new("openssl")
            .current_dir(work.path())
            .args(["ts", "-verify", "-in", "token.tsr", "-data", data])
            .arg("-CAfile")
            .arg(tsa_dir.path().join("ca.pem"))
            .arg("-untrusted")
            .arg(tsa_dir.path().join("tsa.pem"))
            .output()
            .expect("openssl ts -verify")
    };
    let verified = openssl_verify("checkpoint.txt");
    assert!(
        verified.status.success(),
        "openssl ts -verify: {}{}",
        String::from_utf8_lossy(&verified.stdout),
        String::from_utf8_lossy(&verified.stderr)
    );
    // And refuses it over any other text.
    std::fs::write(work.path().join("other.txt"), format!("{signed_text}x")).expect("text");
    let other = openssl_verify("other.txt");
    assert!(!other.status.success(), "openssl accepted another text");

    // sourceledger verify checks it against the TSA's certificate...
    let vkey = request(&agent, "GET", &format!("{base}/v1/ledger/key"), None, None)
        .expect("key")
        .body["vkey"]
        .as_str()
        .expect("vkey")
        .to_owned();
    let verify = |cert: &Path| {
        let out = Command::new(crate::process::BIN)
            .args([
                "verify", "--vkey", &vkey, "--url", &base, "--token", &admin, "--all",
            ])
            .arg("--tsa-cert")
            .arg(cert)
            .output()
            .expect("verify");
        (
            out.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ),
        )
    };
    let (code, text) = verify(&tsa_dir.path().join("tsa.pem"));
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&format!(
            "time-stamped: the first {size} entries existed by"
        )),
        "{text}"
    );
    // ...and refuses it against another TSA's, or against a certificate
    // that is not for time stamping (the CA's own).
    let stranger = tempfile::tempdir().expect("dir");
    make_tsa(stranger.path(), "rsa");
    let (code, text) = verify(&stranger.path().join("tsa.pem"));
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("REFUSED"), "{text}");
    let (code, text) = verify(&tsa_dir.path().join("ca.pem"));
    assert_eq!(code, Some(1), "{text}");

    // The library check, on a token with one bit changed.
    let digest = sourceledger::ledger::timestamp::imprint(note);
    let cert = std::fs::read(tsa_dir.path().join("tsa.pem")).expect("cert");
    assert!(sourceledger::ledger::timestamp::verify(&token, &digest, &cert).is_ok());
    let mut changed = token.clone();
    let last = changed.len() - 1;
    changed[last] ^= 1;
    assert!(sourceledger::ledger::timestamp::verify(&changed, &digest, &cert).is_err());
    let mut other_digest = digest;
    other_digest[0] ^= 1;
    assert!(sourceledger::ledger::timestamp::verify(&token, &other_digest, &cert).is_err());
}

async fn a_tsa_that_is_down_leaves_writes_alone(backend: Backend) {
    // Nothing listens on this port: every time-stamp request fails.
    let down = format!("http://127.0.0.1:{}/tsa", crate::process::free_port());
    let data = tempfile::tempdir().expect("dir");
    let log = data.path().join("server.log");
    let server = ServerProcess::start_with(
        data.path(),
        database_url(&backend).as_deref(),
        Some(&log),
        &[("SOURCELEDGER_TSA_URL", &down)],
    );
    let base = server.url();
    let agent = agent();
    let admin = token_for(&agent, &base, &server.bootstrap_key());
    let journalist = key_token(&agent, &base, &admin, "journalist");
    // Every write is acknowledged while every time-stamp request fails.
    record_sources(&base, &journalist, 5);
    let checkpoint = request(
        &agent,
        "GET",
        &format!("{base}/v1/ledger/checkpoint"),
        None,
        None,
    )
    .expect("checkpoint");
    assert_eq!(checkpoint.status, 200);
    let size: u64 = checkpoint
        .text
        .lines()
        .nth(1)
        .and_then(|l| l.parse().ok())
        .expect("size");
    assert!(size >= 5, "{}", checkpoint.text);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("the time-stamping authority gave no token") {
            break;
        }
        assert!(Instant::now() < deadline, "no warning logged: {text}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, _, _, _) = get_bytes(&format!("{base}/v1/ledger/checkpoint/timestamp"));
    assert_eq!(status, 404);
}

/// The newest checkpoint's `timestamped_at`, once a token is kept for it
/// (within 60 s), or what the server says after 8 s without one.
fn claimed_time(base: &str, log: &Path, expect_token: bool) -> serde_json::Value {
    let timestamp_url = format!("{base}/v1/ledger/checkpoint/timestamp");
    let deadline = Instant::now() + Duration::from_secs(if expect_token { 60 } else { 8 });
    loop {
        let (status, _, location, _) = get_bytes(&timestamp_url);
        if status == 200 {
            assert!(expect_token, "a token was kept");
            let size: u64 = location
                .rsplit_once("size=")
                .and_then(|(_, n)| n.parse().ok())
                .expect("size");
            let page = request(
                &agent(),
                "GET",
                &format!("{base}/v1/ledger/checkpoints?after={}&limit=1", size - 1),
                None,
                None,
            )
            .expect("checkpoints");
            return page.body["checkpoints"][0]["timestamped_at"].clone();
        }
        if Instant::now() > deadline {
            assert!(
                !expect_token,
                "no token in time: {}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
            return serde_json::Value::Null;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Without `SOURCELEDGER_TSA_CERT` the TSA's token is kept and served, but
/// no time is claimed from it; with the certificate of another TSA the reply
/// does not verify: nothing is kept, no time claimed, and the log says why.
async fn no_time_is_claimed_from_a_reply_nobody_checked(backend: Backend) {
    let tsa_dir = tempfile::tempdir().expect("dir");
    make_tsa(tsa_dir.path(), "rsa");
    let (tsa_url, _) = serve_tsa(tsa_dir.path().to_owned());
    let stranger = tempfile::tempdir().expect("dir");
    make_tsa(stranger.path(), "rsa");
    let wrong_cert = std::fs::read_to_string(stranger.path().join("tsa.pem")).expect("pem");
    for (name, cert) in [("unchecked", None), ("wrong", Some(wrong_cert.as_str()))] {
        let data = tempfile::tempdir().expect("dir");
        let log = data.path().join("server.log");
        let mut env = vec![("SOURCELEDGER_TSA_URL", tsa_url.as_str())];
        // PEM text works as well as a path.
        if let Some(cert) = cert {
            env.push(("SOURCELEDGER_TSA_CERT", cert));
        }
        // A database of its own for each server.
        let fresh = match &backend {
            Backend::Sqlite => Backend::sqlite(),
            Backend::Postgres(_) => Backend::postgres().expect("postgres"),
        };
        let server = ServerProcess::start_with(
            data.path(),
            database_url(&fresh).as_deref(),
            Some(&log),
            &env,
        );
        let base = server.url();
        let agent = agent();
        let admin = token_for(&agent, &base, &server.bootstrap_key());
        let journalist = key_token(&agent, &base, &admin, "journalist");
        record_sources(&base, &journalist, 2);
        let time = claimed_time(&base, &log, cert.is_none());
        assert!(time.is_null(), "{name}: a time is claimed: {time}");
        if cert.is_some() {
            let deadline = Instant::now() + Duration::from_secs(30);
            while !std::fs::read_to_string(&log)
                .unwrap_or_default()
                .contains("does not verify against SOURCELEDGER_TSA_CERT")
            {
                assert!(Instant::now() < deadline, "{name}: no reason logged");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

/// Tokens from an ECDSA P-256 TSA verify too; the same token against a
/// certificate with the same name but another key does not.
#[test]
fn an_ecdsa_tsa_token_verifies() {
    let dir = tempfile::tempdir().expect("dir");
    make_tsa(dir.path(), "ec");
    let note =
        "ec.test/log\n5\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n— ec.test/log sig\n";
    let digest = sourceledger::ledger::timestamp::imprint(note);
    let query = sourceledger::ledger::timestamp::request(digest).expect("query");
    let token = reply(dir.path(), &query.der);
    let at = sourceledger::ledger::timestamp::accept(&token, &query).expect("accepted");
    assert!((chrono::Utc::now() - at).num_seconds().abs() < 120, "{at}");
    let cert = std::fs::read(dir.path().join("tsa.pem")).expect("cert");
    assert_eq!(
        sourceledger::ledger::timestamp::verify(&token, &digest, &cert).expect("verifies"),
        at
    );
    let other = tempfile::tempdir().expect("dir");
    make_tsa(other.path(), "ec");
    let other_cert = std::fs::read(other.path().join("tsa.pem")).expect("cert");
    assert!(sourceledger::ledger::timestamp::verify(&token, &digest, &other_cert).is_err());
    // A reply to another query (another nonce) is not accepted for this one.
    let second = sourceledger::ledger::timestamp::request(digest).expect("query");
    assert!(sourceledger::ledger::timestamp::accept(&token, &second).is_err());
}
