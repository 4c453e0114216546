//! A real S3 protocol server on loopback for the object-store tests: moto in
//! server mode (PyPI `moto[server]`), one per test, killed when the test ends.
//! Runs where `SOURCELEDGER_TEST_MOTO` names a `moto_server` program (CI
//! installs it and requires the tests).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};
use sourceledger::config::{S3Settings, SnapshotStore};

use crate::process::free_port;

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    /// A fresh moto server, or `None` (saying so) where there is none.
    pub fn start() -> Option<Self> {
        let Some(program) = std::env::var_os("SOURCELEDGER_TEST_MOTO") else {
            assert!(
                std::env::var_os("SOURCELEDGER_TEST_REQUIRE_MOTO").is_none(),
                "SOURCELEDGER_TEST_REQUIRE_MOTO is set but SOURCELEDGER_TEST_MOTO is not"
            );
            eprintln!("SKIPPED: no S3 server (set SOURCELEDGER_TEST_MOTO to moto_server)");
            return None;
        };
        let port = free_port();
        let child = Command::new(program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let agent = crate::process::agent();
        let started = Instant::now();
        while agent.get(&format!("{}/", moto.endpoint)).call().is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "moto did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(moto)
    }

    /// A new bucket, and the store settings that use it under a prefix.
    pub fn store(&self, bucket: &str) -> SnapshotStore {
        let credentials = Credentials::new("test-key", "test-secret");
        let endpoint = self.endpoint.parse().expect("endpoint");
        let made =
            Bucket::new(endpoint, UrlStyle::Path, bucket.to_owned(), "us-east-1").expect("bucket");
        let url = made
            .create_bucket(&credentials)
            .sign(Duration::from_secs(60));
        let response = crate::process::agent()
            .put(url.as_str())
            .send_empty()
            .expect("create bucket");
        assert!(response.status().is_success(), "{}", response.status());
        SnapshotStore::S3(S3Settings {
            bucket: bucket.to_owned(),
            prefix: "newsroom/snapshots".into(),
            endpoint: Some(self.endpoint.clone()),
            region: "us-east-1".into(),
            access_key: Some("test-key".into()),
            secret_key: Some("test-secret".into()),
            session_token: None,
        })
    }
}
