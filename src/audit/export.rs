//! The ledger as a stream for auditors: NDJSON or CSV, bounded by the latest
//! signed checkpoint when the export starts, and closed by a record that a
//! stream cut short does not have.
//!
//! The closing record is `{"export": "complete", "count", "last_index",
//! "tree_size", "checkpoint"}`: NDJSON's last line, and in CSV the `leaf` of a
//! last row whose `index` is `end` and `kind` `export.complete`. A client that
//! does not find it, or finds a count other than the lines it read, holds an
//! incomplete export. `sourceledger verify --export FILE` checks it, and
//! checks the leaves of a whole-log export against the signed checkpoint.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::{EventFilter, search};
use crate::db::DbConnection;
use crate::error::ApiError;
use crate::ledger::Ledger;
use crate::ledger::store::EntryRow;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExportFormat {
    Ndjson,
    Csv,
}

impl ExportFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Ndjson => "application/x-ndjson",
            ExportFormat::Csv => "text/csv; charset=utf-8",
        }
    }
}

/// The CSV header row.
pub const CSV_HEADER: &str = "index,at,kind,actor,leaf_hash,leaf";
/// The `kind` of the CSV closing row, whose `index` is `end`.
pub const CSV_CLOSING_KIND: &str = "export.complete";

/// What the last record of a complete export says.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct Closing {
    /// Always `complete`.
    pub export: String,
    /// Entries in the export.
    pub count: u64,
    /// The index of the last entry exported; null when none matched.
    pub last_index: Option<u64>,
    /// The size of the log the export was bounded by.
    pub tree_size: u64,
    /// The signed checkpoint of that size.
    pub checkpoint: String,
}

/// Which entries an export holds: `filter`'s times, indexes in `start..end`.
pub struct ExportRange {
    pub filter: EventFilter,
    pub start: u64,
    pub end: u64,
}

const EXPORT_PAGE: u32 = 1000;

fn entry_line(format: ExportFormat, row: EntryRow, out: &mut Vec<u8>) -> Result<(), ApiError> {
    match format {
        ExportFormat::Ndjson => {
            let line = serde_json::json!({
                "index": row.idx,
                "at": row.at,
                "kind": row.kind,
                "actor": row.actor,
                "leaf": row.leaf,
                "leaf_hash": hex::encode(&row.leaf_hash),
            });
            serde_json::to_writer(&mut *out, &line).map_err(ApiError::internal)?;
            out.push(b'\n');
        }
        ExportFormat::Csv => csv_row(
            out,
            [
                row.idx.to_string(),
                row.at.to_string(),
                row.kind,
                row.actor,
                hex::encode(&row.leaf_hash),
                row.leaf,
            ],
        )?,
    }
    Ok(())
}

fn csv_row(out: &mut Vec<u8>, fields: [String; 6]) -> Result<(), ApiError> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(&mut *out);
    writer.write_record(fields).map_err(ApiError::internal)?;
    writer.flush().map_err(ApiError::internal)
}

fn closing_line(
    format: ExportFormat,
    closing: &Closing,
    out: &mut Vec<u8>,
) -> Result<(), ApiError> {
    let json = serde_json::to_string(closing).map_err(ApiError::internal)?;
    match format {
        ExportFormat::Ndjson => {
            out.extend_from_slice(json.as_bytes());
            out.push(b'\n');
            Ok(())
        }
        ExportFormat::Csv => csv_row(
            out,
            [
                "end".into(),
                String::new(),
                CSV_CLOSING_KIND.into(),
                String::new(),
                String::new(),
                json,
            ],
        ),
    }
}

/// Writes the export of `range` in chunks to `send`, which answers false once
/// the client has gone away. Entries appended after the export starts are not
/// in it: it ends at the latest checkpoint's size, which the closing record
/// names. An error part-way returns before the closing record is written.
pub fn write(
    conn: &mut DbConnection,
    ledger: &Ledger,
    format: ExportFormat,
    range: &ExportRange,
    mut send: impl FnMut(Bytes) -> bool,
) -> Result<(), ApiError> {
    let checkpoint = ledger.latest_checkpoint(conn)?;
    let tree_size = u64::try_from(checkpoint.size)
        .map_err(|_| ApiError::internal(format!("checkpoint size {}", checkpoint.size)))?;
    let end = range.end.min(tree_size);
    if format == ExportFormat::Csv && !send(Bytes::from(format!("{CSV_HEADER}\n"))) {
        return Ok(());
    }
    let mut after = range.start.checked_sub(1);
    let mut count = 0u64;
    let mut last_index = None;
    loop {
        let rows = search(conn, &range.filter, after, EXPORT_PAGE)?;
        let mut done = rows.len() < EXPORT_PAGE as usize;
        let mut chunk = Vec::with_capacity(256 * rows.len());
        for row in rows {
            let index = row.index()?.0;
            if index >= end {
                done = true;
                break;
            }
            after = Some(index);
            last_index = Some(index);
            count += 1;
            entry_line(format, row, &mut chunk)?;
        }
        if done {
            let closing = Closing {
                export: "complete".into(),
                count,
                last_index,
                tree_size,
                checkpoint: checkpoint.note.clone(),
            };
            closing_line(format, &closing, &mut chunk)?;
            send(Bytes::from(chunk));
            return Ok(());
        }
        if !send(Bytes::from(chunk)) {
            return Ok(());
        }
    }
}
