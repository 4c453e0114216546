//! Reading the log's entries and stored hashes: by index, by range, by
//! attribute. (Appending is `store`'s; these only read.)

use std::collections::HashMap;

use diesel::prelude::*;

use super::LedgerError;
use super::embargo::EmbargoedRow;
use super::store::{EntryRow, to_i64};
use crate::db::DbConnection;
use crate::db::schema::{embargoed_entries, ledger_entries, ledger_hashes};

/// Entry `index`, if the log holds it.
pub fn entry(conn: &mut DbConnection, index: u64) -> Result<Option<EntryRow>, LedgerError> {
    Ok(ledger_entries::table
        .find(to_i64(index)?)
        .select(EntryRow::as_select())
        .first(conn)
        .optional()?)
}

/// Up to `limit` entries from `start`, in index order.
pub fn entries(
    conn: &mut DbConnection,
    start: u64,
    limit: u32,
) -> Result<Vec<EntryRow>, LedgerError> {
    Ok(ledger_entries::table
        .filter(ledger_entries::idx.ge(to_i64(start)?))
        .order(ledger_entries::idx.asc())
        .limit(i64::from(limit))
        .select(EntryRow::as_select())
        .load(conn)?)
}

/// The entries with indexes in `start..end`, in index order (an audit's page).
pub fn entries_between(
    conn: &mut DbConnection,
    start: i64,
    end: i64,
) -> Result<Vec<EntryRow>, LedgerError> {
    Ok(ledger_entries::table
        .filter(ledger_entries::idx.ge(start))
        .filter(ledger_entries::idx.lt(end))
        .order(ledger_entries::idx.asc())
        .select(EntryRow::as_select())
        .load(conn)?)
}

/// The stored hashes with stored-hash indexes in `from..to`, by index.
pub fn stored_hashes_between(
    conn: &mut DbConnection,
    from: i64,
    to: i64,
) -> Result<HashMap<i64, Vec<u8>>, LedgerError> {
    Ok(ledger_hashes::table
        .filter(ledger_hashes::id.ge(from))
        .filter(ledger_hashes::id.lt(to))
        .select((ledger_hashes::id, ledger_hashes::hash))
        .load::<(i64, Vec<u8>)>(conn)?
        .into_iter()
        .collect())
}

/// Which entries a search wants; every part optional. Times are the ledger's
/// own RFC 3339 form (text order is time order).
#[derive(Debug, Default, Clone, Copy)]
pub struct EntryFilter<'a> {
    pub kind: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub article: Option<&'a str>,
    pub source: Option<&'a str>,
    /// At or after.
    pub from: Option<&'a str>,
    /// Before.
    pub to: Option<&'a str>,
}

/// Up to `limit` entries matching `filter` with an index above `after`, in
/// index order (each attribute is indexed).
pub fn entries_matching(
    conn: &mut DbConnection,
    filter: &EntryFilter<'_>,
    after: Option<u64>,
    limit: u32,
) -> Result<Vec<EntryRow>, LedgerError> {
    let mut query = ledger_entries::table
        .order(ledger_entries::idx.asc())
        .limit(i64::from(limit))
        .select(EntryRow::as_select())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(ledger_entries::idx.gt(to_i64(after)?));
    }
    if let Some(kind) = filter.kind {
        query = query.filter(ledger_entries::kind.eq(kind.to_owned()));
    }
    if let Some(actor) = filter.actor {
        query = query.filter(ledger_entries::actor.eq(actor.to_owned()));
    }
    if let Some(article) = filter.article {
        query = query.filter(ledger_entries::article.eq(article.to_owned()));
    }
    if let Some(source) = filter.source {
        query = query.filter(ledger_entries::source.eq(source.to_owned()));
    }
    if let Some(from) = filter.from {
        query = query.filter(ledger_entries::at.ge(from.to_owned()));
    }
    if let Some(to) = filter.to {
        query = query.filter(ledger_entries::at.lt(to.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// The entries at `indexes`, in any order.
pub fn entries_at(conn: &mut DbConnection, indexes: &[u64]) -> Result<Vec<EntryRow>, LedgerError> {
    let indexes = indexes
        .iter()
        .map(|&i| to_i64(i))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ledger_entries::table
        .filter(ledger_entries::idx.eq_any(indexes))
        .select(EntryRow::as_select())
        .load(conn)?)
}

/// The largest index the log holds, if any.
pub fn max_index(conn: &mut DbConnection) -> Result<Option<i64>, LedgerError> {
    Ok(ledger_entries::table
        .select(diesel::dsl::max(ledger_entries::idx))
        .first(conn)?)
}

/// What the server holds for the commitments at indexes `start..end` and for
/// those that disclosures at `start..end` disclose, by the commitment's index.
pub fn embargoed_between(
    conn: &mut DbConnection,
    start: i64,
    end: i64,
) -> Result<HashMap<i64, EmbargoedRow>, LedgerError> {
    Ok(embargoed_entries::table
        .filter(
            embargoed_entries::idx
                .ge(start)
                .and(embargoed_entries::idx.lt(end))
                .or(embargoed_entries::disclosure_index
                    .ge(start)
                    .and(embargoed_entries::disclosure_index.lt(end))),
        )
        .select(EmbargoedRow::as_select())
        .load::<EmbargoedRow>(conn)?
        .into_iter()
        .map(|r| (r.idx, r))
        .collect())
}
