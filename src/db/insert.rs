//! Many rows in few statements, on either backend.

use diesel::prelude::*;

use super::DbConnection;

/// Rows per insert statement: under both backends' limits on bound values
/// (SQLite 32,766, PostgreSQL 65,535) for the widest row written so.
pub const ROWS_PER_INSERT: usize = 500;

/// From this many rows on, [`insert_all!`] sends them to PostgreSQL as one
/// binary `COPY`: no statement to parse, analyse and plan, which was a
/// quarter of the server's work for a batch of citations. Below it, the
/// `COPY` protocol's extra round trip costs more than it saves.
pub const COPY_FROM_ROWS: usize = 64;

/// Inserts every row of `$rows` (a slice or `Vec` of `Insertable` rows of
/// `$table`, which must treat `None` as NULL) in as few statements as the
/// backend takes: one binary `COPY` on PostgreSQL when there are
/// [`COPY_FROM_ROWS`] or more, else multi-row inserts of [`ROWS_PER_INSERT`].
/// (On SQLite, one prepared single-row insert run for each row measured no
/// faster.) `owned` copies the rows it sends, for rows that insert only by
/// value.
macro_rules! insert_all {
    ($conn:expr, $table:expr, $rows:expr) => {
        insert_all!(@run $conn, $table, $rows, |rows| rows)
    };
    ($conn:expr, $table:expr, $rows:expr, owned) => {
        insert_all!(@run $conn, $table, $rows, |rows| rows.to_vec())
    };
    (@run $conn:expr, $table:expr, $rows:expr, |$some:ident| $values:expr) => {{
        let conn: &mut $crate::db::DbConnection = $conn;
        let rows = $rows;
        match &mut *conn {
            $crate::db::DbConnection::Postgres(pg)
                if rows.len() >= $crate::db::insert::COPY_FROM_ROWS =>
            {
                let $some = rows;
                diesel::prelude::ExecuteCopyFromDsl::execute(
                    diesel::copy_from($table).from_insertable($values),
                    pg,
                )
                .map(|_| ())
            }
            _ => rows
                .chunks($crate::db::insert::ROWS_PER_INSERT)
                .try_for_each(|$some| {
                    $crate::db::insert::insert_rows(
                        conn,
                        diesel::insert_into($table).values($values),
                    )
                    .map(|_| ())
                }),
        }
    }};
}
pub(crate) use insert_all;

/// Runs a multi-row insert: diesel's multi-backend connection cannot build
/// one, each backend's own connection can.
pub fn insert_rows<Q>(conn: &mut DbConnection, insert: Q) -> QueryResult<usize>
where
    Q: diesel::query_dsl::methods::ExecuteDsl<SqliteConnection>
        + diesel::query_dsl::methods::ExecuteDsl<PgConnection>,
{
    match conn {
        DbConnection::Sqlite(c) => {
            diesel::query_dsl::methods::ExecuteDsl::<SqliteConnection>::execute(insert, c)
        }
        DbConnection::Postgres(c) => {
            diesel::query_dsl::methods::ExecuteDsl::<PgConnection>::execute(insert, c)
        }
    }
}

/// Whether an insert went in: a unique violation (another writer had made
/// the same row first) is `false`, for the caller to read what stands.
pub fn inserted_unless_taken(result: QueryResult<usize>) -> QueryResult<bool> {
    match result {
        Ok(_) => Ok(true),
        Err(diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::UniqueViolation,
            _,
        )) => Ok(false),
        Err(e) => Err(e),
    }
}
