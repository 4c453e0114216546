//! Every migration undoes: applied one by one, each is reverted and the schema
//! must be exactly what it was before it; then all are applied again and the
//! schema must be what it was the first time.

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness};
use sourceledger::db::{POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};

use crate::helpers::Backend;
use crate::on_both_backends;

on_both_backends!(migrations_go_up_down_and_up_again);

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

/// Everything a down migration could forget, one line an object.
const SQLITE_SCHEMA: &str =
    "SELECT type || ' ' || name || ' ON ' || tbl_name || ': ' || COALESCE(sql, '') AS line
     FROM sqlite_master
     WHERE name NOT LIKE '__diesel%' AND name NOT LIKE 'sqlite_%'
     ORDER BY type, name";

const POSTGRES_SCHEMA: &str = "
    SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' null=' || is_nullable
           || ' default=' || COALESCE(column_default, '') AS line
      FROM information_schema.columns WHERE table_schema = 'public' AND table_name NOT LIKE '__diesel%'
    UNION ALL
    SELECT 'index ' || indexname || ': ' || indexdef FROM pg_indexes
      WHERE schemaname = 'public' AND tablename NOT LIKE '__diesel%'
    UNION ALL
    SELECT 'constraint ' || c.conname || ' ON ' || t.relname || ': ' || pg_get_constraintdef(c.oid)
      FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = 'public' AND t.relname NOT LIKE '__diesel%'
    UNION ALL
    SELECT 'trigger ' || tg.tgname || ': ' || pg_get_triggerdef(tg.oid)
      FROM pg_trigger tg JOIN pg_class t ON t.oid = tg.tgrelid JOIN pg_namespace n ON n.oid = t.relnamespace
      WHERE n.nspname = 'public' AND NOT tg.tgisinternal
    UNION ALL
    SELECT 'function ' || p.proname || ': ' || pg_get_functiondef(p.oid)
      FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
    UNION ALL
    SELECT 'relation ' || c.relname || ' kind=' || c.relkind::text
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relname NOT LIKE '__diesel%'
    UNION ALL
    SELECT 'type ' || t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c') AND t.typname NOT LIKE '__diesel%'
    ORDER BY 1";

fn dump<C: Connection>(conn: &mut C, query: &str) -> Vec<String>
where
    C::Backend: diesel::backend::Backend,
    diesel::query_builder::SqlQuery: diesel::query_dsl::LoadQuery<'static, C, Line>,
{
    diesel::sql_query(query)
        .load::<Line>(conn)
        .expect("schema dump")
        .into_iter()
        .map(|l| l.line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

fn round_trip<C, D>(conn: &mut C, migrations: fn() -> EmbeddedMigrations, schema: D)
where
    C: MigrationHarness<C::Backend> + Connection,
    D: Fn(&mut C) -> Vec<String>,
{
    let count = MigrationSource::<C::Backend>::migrations(&migrations())
        .expect("migrations")
        .len();
    assert!(count > 0);
    // Up, one at a time, remembering the schema before each.
    let mut before = Vec::new();
    for _ in 0..count {
        before.push(schema(conn));
        conn.run_next_migration(migrations()).expect("up");
    }
    let full = schema(conn);
    // Down, newest first: each revert must leave what was there before it.
    for (step, expected) in before.iter().enumerate().rev() {
        let reverted = conn.revert_last_migration(migrations()).expect("down");
        let now = schema(conn);
        assert!(
            &now == expected,
            "reverting migration {} ({reverted}) does not undo it: {}",
            step + 1,
            difference(expected, &now)
        );
    }
    assert!(
        before[0].is_empty(),
        "the first migration starts from nothing"
    );
    // Up again: the same schema as the first time.
    conn.run_pending_migrations(migrations()).expect("up again");
    let again = schema(conn);
    assert!(
        again == full,
        "applied again, the schema differs: {}",
        difference(&full, &again)
    );
}

/// What `after` lacks and what it has more than `before`.
fn difference(before: &[String], after: &[String]) -> String {
    let lost: Vec<&String> = before.iter().filter(|l| !after.contains(l)).collect();
    let left: Vec<&String> = after.iter().filter(|l| !before.contains(l)).collect();
    format!("missing {lost:#?}, left over {left:#?}")
}

async fn migrations_go_up_down_and_up_again(backend: Backend) {
    match &backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("tempdir");
            let path = dir.path().join("migrations.db");
            let mut conn = SqliteConnection::establish(path.to_str().expect("path")).expect("open");
            conn.batch_execute("PRAGMA foreign_keys = ON;")
                .expect("pragma");
            round_trip(&mut conn, || SQLITE_MIGRATIONS, |c| dump(c, SQLITE_SCHEMA));
        }
        Backend::Postgres(db) => {
            let mut conn = PgConnection::establish(&db.url).expect("connect");
            round_trip(
                &mut conn,
                || POSTGRES_MIGRATIONS,
                |c| dump(c, POSTGRES_SCHEMA),
            );
        }
    }
}
