//! Each WARC's index, read from the store once and kept (table
//! `warc_indexes`): a blob never changes under its name, so neither does
//! what is derived from it.

use diesel::prelude::*;
use futures_util::StreamExt;

use super::index::{IndexedRecord, WarcIndex, WarcIndexer};
use crate::archive::Archive;
use crate::db::schema::warc_indexes;
use crate::db::{Db, DbConnection};
use crate::error::ApiError;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = warc_indexes)]
struct Row {
    warc_sha256: String,
    crc32: i64,
    records: String,
    indexed_at: String,
}

fn corrupt(e: impl std::fmt::Display) -> ApiError {
    ApiError::internal(format!("a stored WARC index: {e}"))
}

impl Row {
    fn index(&self, size: u64) -> Result<WarcIndex, ApiError> {
        let records = self
            .records
            .lines()
            .map(serde_json::from_str::<IndexedRecord>)
            .collect::<Result<Vec<_>, _>>()
            .map_err(corrupt)?;
        Ok(WarcIndex {
            crc32: u32::try_from(self.crc32).map_err(corrupt)?,
            size,
            records,
        })
    }
}

/// The indexes already kept for `warcs`, by name.
pub fn kept(
    conn: &mut DbConnection,
    warcs: &[(String, u64)],
) -> Result<std::collections::HashMap<String, WarcIndex>, ApiError> {
    let names: Vec<&str> = warcs.iter().map(|(n, _)| n.as_str()).collect();
    let rows: Vec<Row> = warc_indexes::table
        .filter(warc_indexes::warc_sha256.eq_any(&names))
        .select(Row::as_select())
        .load(conn)?;
    let mut out = std::collections::HashMap::new();
    for row in rows {
        if let Some((_, size)) = warcs.iter().find(|(n, _)| *n == row.warc_sha256) {
            out.insert(row.warc_sha256.clone(), row.index(*size)?);
        }
    }
    Ok(out)
}

/// Reads the WARC `name` (of `size` bytes) from the store, indexes it and
/// keeps the index.
pub async fn index_and_keep(
    db: &Db,
    archive: &Archive,
    name: &str,
    size: u64,
) -> Result<WarcIndex, ApiError> {
    let mut stream = archive.read(name, 0..size).await?;
    let mut indexer = WarcIndexer::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(crate::archive::copies::storage_failed)?;
        indexer.feed(&chunk).map_err(corrupt)?;
    }
    let index = indexer.finish().map_err(corrupt)?;
    if index.size != size {
        return Err(corrupt(format!(
            "WARC {name} has {} bytes, not {size}",
            index.size
        )));
    }
    let mut records = String::new();
    for record in &index.records {
        records.push_str(&serde_json::to_string(record).map_err(corrupt)?);
        records.push('\n');
    }
    let row = Row {
        warc_sha256: name.to_owned(),
        crc32: i64::from(index.crc32),
        records,
        indexed_at: crate::time::now(),
    };
    db.run(move |conn| -> Result<(), ApiError> {
        // Two readers indexing the same WARC at once find the same index.
        crate::db::insert::inserted_unless_taken(
            diesel::insert_into(warc_indexes::table)
                .values(&row)
                .execute(conn),
        )?;
        Ok(())
    })
    .await?;
    Ok(index)
}
