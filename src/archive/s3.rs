//! Blobs in an S3-compatible object store, for several servers sharing one
//! database: requests signed with `rusty-s3` (sans-IO SigV4) and sent with
//! ureq, off the async executor. Objects are `<prefix>/blobs/<sha256>`;
//! an object is written once (a HEAD first: the same bytes are never sent
//! twice), streamed from the staged file with its length, never held whole.
//! The store is the operator's own infrastructure, not a user-typed URL, so
//! it does not go through the outbound fetcher's address policy.

use std::io::{self, Read};
use std::ops::Range;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

use super::store::{BlobStore, BlobStream, Staged, valid_name};
use crate::config::S3Settings;

const SIGNED_FOR: Duration = Duration::from_secs(300);

pub struct S3Store {
    bucket: Bucket,
    credentials: Option<Credentials>,
    prefix: String,
    http: ureq::Agent,
}

fn failed(what: &str, e: impl std::fmt::Display) -> io::Error {
    io::Error::other(super::store::ObjectStoreFailed(format!("{what}: {e}")))
}

/// An answer the store should not have given: a 5xx is the store's trouble
/// (503 to our client); anything else (403, a 404 for a blob we hold) is
/// ours to look into, not to retry.
fn answered(what: &str, status: u16) -> io::Error {
    if status >= 500 {
        failed(what, format!("status {status}"))
    } else {
        io::Error::other(format!("object store, {what}: status {status}"))
    }
}

impl S3Store {
    pub fn new(settings: &S3Settings) -> Result<Self, String> {
        let (endpoint, style) = match &settings.endpoint {
            Some(url) => (url.clone(), UrlStyle::Path),
            None => (
                format!("https://s3.{}.amazonaws.com", settings.region),
                UrlStyle::VirtualHost,
            ),
        };
        let endpoint = endpoint
            .parse()
            .map_err(|_| format!("{endpoint:?} is not a URL"))?;
        let bucket = Bucket::new(
            endpoint,
            style,
            settings.bucket.clone(),
            settings.region.clone(),
        )
        .map_err(|e| format!("bucket {:?}: {e}", settings.bucket))?;
        let credentials = match (&settings.access_key, &settings.secret_key) {
            (Some(key), Some(secret)) => Some(match &settings.session_token {
                Some(token) => {
                    Credentials::new_with_token(key.clone(), secret.clone(), token.clone())
                }
                None => Credentials::new(key.clone(), secret.clone()),
            }),
            _ => None,
        };
        let http = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(10)))
            .timeout_recv_response(Some(Duration::from_secs(60)))
            .build()
            .new_agent();
        Ok(Self {
            bucket,
            credentials,
            prefix: settings.prefix.clone(),
            http,
        })
    }

    fn key(&self, sha256: &str) -> io::Result<String> {
        if !valid_name(sha256) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a SHA-256 name",
            ));
        }
        Ok(if self.prefix.is_empty() {
            format!("blobs/{sha256}")
        } else {
            format!("{}/blobs/{sha256}", self.prefix)
        })
    }

    fn head(&self, key: &str) -> io::Result<Option<u64>> {
        let url = self
            .bucket
            .head_object(self.credentials.as_ref(), key)
            .sign(SIGNED_FOR);
        let response = self
            .http
            .head(url.as_str())
            .call()
            .map_err(|e| failed("HEAD", e))?;
        let status = response.status().as_u16();
        if matches!(status, 200 | 404) {
            crate::db::health::store_answered();
        }
        match status {
            200 => Ok(response
                .headers()
                .get("content-length")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok())),
            404 => Ok(None),
            other => Err(answered("HEAD", other)),
        }
    }

    fn put_blocking(&self, staged: &Staged) -> io::Result<()> {
        let key = self.key(&staged.sha256)?;
        if self.head(&key)?.is_some() {
            return Ok(());
        }
        let url = self
            .bucket
            .put_object(self.credentials.as_ref(), &key)
            .sign(SIGNED_FOR);
        let mut file = std::fs::File::open(staged.path())?;
        let response = self
            .http
            .put(url.as_str())
            .header("Content-Length", staged.size.to_string())
            .header("Content-Type", "application/octet-stream")
            .send(ureq::SendBody::from_reader(&mut file))
            .map_err(|e| failed("PUT", e))?;
        match response.status().as_u16() {
            200..=299 => {
                crate::db::health::store_answered();
                Ok(())
            }
            other => Err(answered("PUT", other)),
        }
    }

    /// Sends bytes `range` of `key` into `tx`, a chunk at a time.
    fn get_blocking(
        &self,
        key: &str,
        range: Range<u64>,
        tx: tokio::sync::mpsc::Sender<io::Result<Bytes>>,
    ) {
        let url = self
            .bucket
            .get_object(self.credentials.as_ref(), key)
            .sign(SIGNED_FOR);
        let sent = self
            .http
            .get(url.as_str())
            .header("Range", format!("bytes={}-{}", range.start, range.end - 1))
            .call()
            .map_err(|e| failed("GET", e))
            .and_then(|response| match response.status().as_u16() {
                200 | 206 => {
                    crate::db::health::store_answered();
                    Ok(response)
                }
                other => Err(answered("GET", other)),
            });
        let response = match sent {
            Ok(response) => response,
            Err(e) => {
                let _ = tx.blocking_send(Err(e));
                return;
            }
        };
        let mut body = response
            .into_body()
            .into_with_config()
            .limit(u64::MAX)
            .reader()
            .take(range.end - range.start);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match body.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if tx
                        .blocking_send(Ok(Bytes::copy_from_slice(&buf[..n])))
                        .is_err()
                    {
                        return; // the reader went away
                    }
                }
                Err(e) => {
                    let _ = tx.blocking_send(Err(failed("GET body", e)));
                    return;
                }
            }
        }
    }
}

impl BlobStore for std::sync::Arc<S3Store> {
    fn put(&self, staged: Staged) -> BoxFuture<'_, io::Result<()>> {
        let store = self.clone();
        Box::pin(async move {
            actix_web::rt::task::spawn_blocking(move || store.put_blocking(&staged))
                .await
                .map_err(io::Error::other)?
        })
    }

    fn size<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, io::Result<Option<u64>>> {
        let store = self.clone();
        let key = self.key(sha256);
        Box::pin(async move {
            let key = key?;
            actix_web::rt::task::spawn_blocking(move || store.head(&key))
                .await
                .map_err(io::Error::other)?
        })
    }

    fn read<'a>(
        &'a self,
        sha256: &'a str,
        range: Range<u64>,
    ) -> BoxFuture<'a, io::Result<BlobStream>> {
        let store = self.clone();
        let key = self.key(sha256);
        Box::pin(async move {
            let key = key?;
            if range.is_empty() {
                return Ok(Box::pin(futures_util::stream::empty()) as BlobStream);
            }
            let (tx, mut rx) = tokio::sync::mpsc::channel(4);
            actix_web::rt::task::spawn_blocking(move || store.get_blocking(&key, range, tx));
            // The first chunk, or the store's failure, before the caller
            // answers: an object store that is down is a 503, never a 200
            // whose body stops short.
            let first = match rx.recv().await {
                Some(Ok(chunk)) => chunk,
                Some(Err(e)) => return Err(e),
                None => return Err(failed("GET", "no bytes")),
            };
            let rest = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|item| (item, rx))
            });
            Ok(
                Box::pin(futures_util::stream::once(async move { Ok(first) }).chain(rest))
                    as BlobStream,
            )
        })
    }
}
