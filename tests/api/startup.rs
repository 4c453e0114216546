use std::os::unix::fs::PermissionsExt;

use diesel::prelude::*;
use sourceledger::db::schema::api_keys;

use crate::helpers::{Backend, TestApp, start};
use crate::on_both_backends;

on_both_backends!(
    first_start_writes_private_secrets_and_a_bootstrap_key,
    a_restart_keeps_keys_and_data,
    servers_starting_together_make_one_bootstrap_key
);

fn key_count(app: &TestApp) -> i64 {
    let mut conn = app.state.db.get().expect("conn");
    api_keys::table
        .count()
        .get_result(&mut *conn)
        .expect("count")
}

async fn first_start_writes_private_secrets_and_a_bootstrap_key(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    for name in ["ledger.key", "jwt.secret", "bootstrap-admin.key"] {
        let meta = std::fs::metadata(app.data_dir.join(name)).expect(name);
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{name}");
    }
    let key = app.bootstrap_key();
    assert!(key.starts_with("sl_") && key.len() >= 3 + 43, "{key}");
    assert_eq!(key_count(&app), 1);
}

async fn a_restart_keeps_keys_and_data(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let key = app.bootstrap_key();
    let vkey = app.state.ledger.vkey().to_owned();
    let (_, again) = app.another_instance().await;
    assert_eq!(again.ledger.vkey(), vkey);
    assert_eq!(
        app.bootstrap_key(),
        key,
        "a restart must not make a new bootstrap key"
    );
    assert_eq!(key_count(&app), 1);
}

async fn servers_starting_together_make_one_bootstrap_key(backend: Backend) {
    let dir = tempfile::tempdir().expect("tempdir");
    let settings = crate::helpers::settings_for(&backend, &dir.path().join("data"));
    let starts = (0..4).map(|_| start(settings.clone()));
    let apps = futures_join_all(starts).await;
    let vkeys: Vec<String> = apps
        .iter()
        .map(|(_, s)| s.ledger.vkey().to_owned())
        .collect();
    assert!(
        vkeys.windows(2).all(|w| w[0] == w[1]),
        "one signing key: {vkeys:?}"
    );
    let mut conn = apps[0].1.db.get().expect("conn");
    let count: i64 = api_keys::table
        .count()
        .get_result(&mut *conn)
        .expect("count");
    assert_eq!(count, 1);
    let key = std::fs::read_to_string(dir.path().join("data/bootstrap-admin.key")).expect("file");
    let stored: Vec<u8> = api_keys::table
        .select(api_keys::key_hash)
        .first(&mut *conn)
        .expect("row");
    assert_eq!(
        sourceledger::auth::keys::hash_key(key.trim()),
        stored,
        "the file holds the stored key"
    );
}

/// Runs the futures concurrently on this thread.
async fn futures_join_all<F: std::future::Future + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: 'static,
{
    let handles: Vec<_> = futures.map(|f| actix_web::rt::spawn(f)).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

/// A PostgreSQL that would not make commits durable is refused at start, with
/// a reason an operator can act on; SQLite always syncs its commits.
#[actix_web::test]
async fn a_database_that_would_lose_acknowledged_writes_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = crate::helpers::settings_for(&Backend::sqlite(), &dir.path().join("sqlite"));
    let state = sourceledger::state::AppState::prepare(sqlite).expect("sqlite starts");
    let mut conn = state.db.get().expect("conn");
    if let sourceledger::db::DbConnection::Sqlite(c) = &mut *conn {
        #[derive(QueryableByName)]
        struct Sync {
            #[diesel(sql_type = diesel::sql_types::Integer)]
            synchronous: i32,
        }
        let mode: Sync = diesel::sql_query("PRAGMA synchronous")
            .get_result(c)
            .expect("pragma");
        assert_eq!(
            mode.synchronous, 2,
            "SQLite commits with synchronous = FULL"
        );
    }

    let Some(backend) = Backend::postgres() else {
        return;
    };
    let Backend::Postgres(db) = &backend else {
        unreachable!()
    };
    let mut admin = PgConnection::establish(&db.url).expect("connect");
    diesel::sql_query(format!(
        "ALTER DATABASE {} SET synchronous_commit = off",
        db.name
    ))
    .execute(&mut admin)
    .expect("alter database");
    drop(admin);
    let mut settings = crate::helpers::settings_for(&backend, &dir.path().join("pg"));
    settings.db_pool_size = 1;
    let error = match sourceledger::state::AppState::prepare(settings) {
        Ok(_) => panic!("a server on a database with synchronous_commit = off must not start"),
        Err(error) => error.to_string(),
    };
    assert!(error.contains("synchronous_commit"), "{error}");
}
