//! A source's page captured into the archive and recorded as its next
//! version, in the ledger with the snapshot's row.

use super::embargo::Embargo;
use super::sources::{self, Captured, SourceVersion};
use crate::archive::Archive;
use crate::archive::snapshots;
use crate::db::Db;
use crate::error::ApiError;
use crate::fields::Sha256Hex;
use crate::ledger::GroupCommitter;

/// Where a newsroom serves an archived copy, under its public URL as
/// configured (the text the version's record is hashed over).
pub fn archive_url(public_url: &str, sha256: &Sha256Hex) -> String {
    format!("{public_url}/v1/snapshots/{sha256}")
}

/// Captures the latest version's URL of source `id` into `archive` and
/// records version n+1 with `snapshot_sha256` (the body's SHA-256),
/// `archive_url` (our copy) and `captured_at`, in one ledger write with the
/// snapshot's row.
pub async fn capture_source(
    db: &Db,
    writer: &GroupCommitter,
    archive: &Archive,
    (embargo, public_url): (Embargo, &str),
    id: String,
    actor: String,
) -> Result<SourceVersion, ApiError> {
    let lookup = id.clone();
    let source = db.run(move |conn| sources::latest(conn, &lookup)).await?;
    let row = archive
        .capture(source.url.into_string(), actor.clone())
        .await?;
    let sha256 = row.sha256.clone();
    let captured_at = row.stored_at.clone();
    let public_url = public_url.to_owned();
    writer
        .write(move |conn, seq| {
            // The same bytes captured before keep the WARC stored first: the
            // version names the one that stands.
            let (row, _) = snapshots::insert_if_absent(conn, row)?;
            let captured = Captured {
                archive_url: archive_url(&public_url, &sha256),
                snapshot_sha256: sha256,
                captured_at,
                warc_sha256: row.warc_sha256,
            };
            let version = sources::record_capture(conn, seq, embargo, &actor, &id, captured)?;
            // A capture publishing asked for and that failed is done now.
            super::follow_up::captured(conn, &id)?;
            Ok(version)
        })
        .await
}
