//! Where snapshot bytes live, behind one small trait: files under the data
//! dir, or an S3-compatible object store. A blob is named by the SHA-256 of
//! its bytes and never changes. Every blob arrives as a [`Staged`] file,
//! written and hashed on the way in, synced, and only then put under its
//! hash, so a crash never leaves a partial blob under a name.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use bytes::Bytes;
use futures_util::Stream;
use futures_util::future::BoxFuture;
use sha2::{Digest, Sha256};

/// A blob's bytes, as they are read.
pub type BlobStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// The bytes of one blob in `range`.
pub trait BlobStore: Send + Sync {
    /// Puts `staged` under its hash; a blob already there is kept as it is.
    fn put(&self, staged: Staged) -> BoxFuture<'_, io::Result<()>>;
    /// The blob's size, or `None` when there is no such blob.
    fn size<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, io::Result<Option<u64>>>;
    /// Bytes `range` of the blob.
    fn read<'a>(
        &'a self,
        sha256: &'a str,
        range: Range<u64>,
    ) -> BoxFuture<'a, io::Result<BlobStream>>;
}

/// A file being written into the store's staging folder, hashed on the way.
pub struct Stager {
    file: File,
    path: PathBuf,
    hasher: Sha256,
    size: u64,
    max_bytes: u64,
}

/// A finished, synced file and the hash of its bytes, not yet in the store.
/// Dropped without being put, it is removed.
#[derive(Debug)]
pub struct Staged {
    path: PathBuf,
    pub sha256: crate::fields::Sha256Hex,
    pub size: u64,
}

impl Staged {
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes the file out of this value: it is no longer removed on drop.
    fn into_path(mut self) -> PathBuf {
        std::mem::take(&mut self.path)
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// The staging folder: blobs in the making, swept at start-up (what a crash
/// left there was never acknowledged).
pub fn staging_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("snapshots").join("staging")
}

/// Removes whatever a previous process left half written.
pub fn sweep_staging(data_dir: &Path) -> io::Result<()> {
    let dir = staging_dir(data_dir);
    std::fs::create_dir_all(&dir)?;
    for entry in std::fs::read_dir(&dir)? {
        let _ = std::fs::remove_file(entry?.path());
    }
    Ok(())
}

/// More bytes than the store takes.
#[derive(Debug, thiserror::Error)]
#[error("larger than {0} bytes")]
pub struct TooLarge(pub u64);

impl Stager {
    /// A new staging file in `data_dir`'s staging folder.
    pub fn new(data_dir: &Path, max_bytes: u64) -> io::Result<Self> {
        let dir = staging_dir(data_dir);
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(uuid::Uuid::new_v4().to_string());
        let file = File::options().write(true).create_new(true).open(&path)?;
        Ok(Self {
            file,
            path,
            hasher: Sha256::new(),
            size: 0,
            max_bytes,
        })
    }

    /// Syncs the file and names its hash.
    pub fn finish(mut self) -> io::Result<Staged> {
        self.file.flush()?;
        self.file.sync_all()?;
        let path = std::mem::take(&mut self.path);
        Ok(Staged {
            path,
            sha256: crate::fields::Sha256Hex::of_digest(self.hasher.finalize_reset().into()),
            size: self.size,
        })
    }
}

impl Write for Stager {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.size + buf.len() as u64 > self.max_bytes {
            return Err(io::Error::other(TooLarge(self.max_bytes)));
        }
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for Stager {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Whether `error` is the stager's size cap.
pub fn is_too_large(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<TooLarge>().is_some())
}

/// The object store did not answer, or answered with a failure: a
/// dependency's fault, not ours (the answer is 503).
#[derive(Debug, thiserror::Error)]
#[error("object store, {0}")]
pub struct ObjectStoreFailed(pub String);

/// Whether `error` is the object store's failure.
pub fn is_object_store_failure(error: &io::Error) -> bool {
    error
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<ObjectStoreFailed>().is_some())
}

/// Only 64 lowercase hex digits name a blob (nothing else reaches a path).
pub fn valid_name(sha256: &str) -> bool {
    sha256.len() == 64
        && sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn bad_name() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "not a SHA-256 name")
}

/// Blobs as files: `<data dir>/snapshots/blobs/<first two hex>/<sha256>`.
pub struct FileStore {
    root: PathBuf,
}

impl FileStore {
    pub fn new(data_dir: &Path) -> io::Result<Self> {
        let root = data_dir.join("snapshots").join("blobs");
        std::fs::create_dir_all(&root)?;
        Ok(Self { root })
    }

    fn path(&self, sha256: &str) -> io::Result<PathBuf> {
        if !valid_name(sha256) {
            return Err(bad_name());
        }
        Ok(self.root.join(&sha256[..2]).join(sha256))
    }

    fn put_blocking(&self, staged: Staged) -> io::Result<()> {
        let target = self.path(&staged.sha256)?;
        if target.exists() {
            return Ok(());
        }
        let dir = target.parent().ok_or_else(bad_name)?.to_owned();
        std::fs::create_dir_all(&dir)?;
        let source = staged.into_path();
        // The staging folder is on the same file system: rename is atomic.
        if let Err(e) = std::fs::rename(&source, &target) {
            let _ = std::fs::remove_file(&source);
            return Err(e);
        }
        File::open(&dir)?.sync_all()
    }
}

/// Reads `range` of `file` in chunks, each read off the async executor.
fn file_stream(mut file: File, range: Range<u64>) -> BlobStream {
    const CHUNK: u64 = 64 * 1024;
    let state = (
        Some(file_at(&mut file, range.start)),
        file,
        range.end - range.start,
    );
    Box::pin(futures_util::stream::unfold(
        state,
        |(seeked, file, left)| async move {
            if let Some(Err(e)) = seeked {
                return Some((Err(e), (None, file, 0)));
            }
            if left == 0 {
                return None;
            }
            let result = actix_web::rt::task::spawn_blocking(move || {
                let mut file = file;
                let mut buf = vec![0; CHUNK.min(left) as usize];
                let n = file.read(&mut buf).inspect(|&n| buf.truncate(n));
                (file, buf, n)
            })
            .await;
            match result {
                Ok((file, buf, Ok(n))) if n > 0 => {
                    Some((Ok(Bytes::from(buf)), (None, file, left - n as u64)))
                }
                Ok((file, _, Ok(_))) => Some((
                    Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "blob shorter than its size",
                    )),
                    (None, file, 0),
                )),
                Ok((file, _, Err(e))) => Some((Err(e), (None, file, 0))),
                Err(_) => None,
            }
        },
    ))
}

fn file_at(file: &mut File, at: u64) -> io::Result<()> {
    file.seek(SeekFrom::Start(at)).map(|_| ())
}

impl BlobStore for FileStore {
    fn put(&self, staged: Staged) -> BoxFuture<'_, io::Result<()>> {
        Box::pin(async move {
            let root = self.root.clone();
            actix_web::rt::task::spawn_blocking(move || FileStore { root }.put_blocking(staged))
                .await
                .map_err(io::Error::other)?
        })
    }

    fn size<'a>(&'a self, sha256: &'a str) -> BoxFuture<'a, io::Result<Option<u64>>> {
        Box::pin(async move {
            let path = self.path(sha256)?;
            match std::fs::metadata(path) {
                Ok(meta) => Ok(Some(meta.len())),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        })
    }

    fn read<'a>(
        &'a self,
        sha256: &'a str,
        range: Range<u64>,
    ) -> BoxFuture<'a, io::Result<BlobStream>> {
        Box::pin(async move {
            let file = File::open(self.path(sha256)?)?;
            Ok(file_stream(file, range))
        })
    }
}
