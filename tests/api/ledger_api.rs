//! The ledger endpoints over HTTP.

use diesel::prelude::*;
use sourceledger::auth::Role;
use sourceledger::ledger::checkpoint;
use sourceledger::ledger::proof::{verify_consistency, verify_inclusion};

use crate::helpers::{Backend, TestApp, append_entries, hex_list};
use crate::on_both_backends;

on_both_backends!(
    checkpoints_are_signed_once_per_growth_and_cover_every_write,
    proofs_from_the_api_verify_against_signed_checkpoints,
    bad_parameters_are_problem_400s,
    entries_are_for_subscribers_and_staff,
    the_database_refuses_to_rewrite_the_ledger,
    timestamps_never_go_back
);

async fn vkey(app: &TestApp) -> String {
    let key = app.get("/v1/ledger/key").await.json();
    assert_eq!(key["algorithm"], "ed25519");
    assert_eq!(key["origin"], "test.sourceledger.example/ledger");
    key["vkey"].as_str().expect("vkey").to_owned()
}

async fn checkpoint(app: &TestApp) -> checkpoint::VerifiedCheckpoint {
    let reply = app.get("/v1/ledger/checkpoint").await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/plain"))
    );
    checkpoint::open(&reply.body, &vkey(app).await).expect("the checkpoint verifies")
}

fn checkpoint_rows(app: &TestApp) -> i64 {
    use sourceledger::db::schema::ledger_checkpoints;
    let mut conn = app.state.db.get().expect("conn");
    ledger_checkpoints::table
        .count()
        .get_result(&mut *conn)
        .expect("count")
}

async fn checkpoints_are_signed_once_per_growth_and_cover_every_write(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let empty = checkpoint(&app).await;
    assert_eq!(empty.size, 0);
    assert_eq!(
        empty.root,
        sourceledger::ledger::proof::TreeBuilder::new().root()
    );

    append_entries(&app.state, 5, "a");
    assert_eq!(checkpoint(&app).await.size, 5, "covers the write");
    for _ in 0..3 {
        checkpoint(&app).await;
    }
    assert_eq!(
        checkpoint_rows(&app),
        2,
        "one signature per growth, none per read"
    );

    append_entries(&app.state, 3, "b");
    let latest = checkpoint(&app).await;
    assert_eq!(latest.size, 8);

    let list = app.get("/v1/ledger/checkpoints").await.json();
    let sizes: Vec<u64> = list["checkpoints"]
        .as_array()
        .expect("array")
        .iter()
        .map(|c| c["size"].as_u64().expect("size"))
        .collect();
    assert_eq!(sizes, vec![0, 5, 8]);
    assert!(list["next"].is_null());
    let last = &list["checkpoints"][2];
    let opened = checkpoint::open(
        last["note"].as_str().expect("note").as_bytes(),
        &vkey(&app).await,
    )
    .expect("verifies");
    assert_eq!(hex::encode(opened.root.0), last["root_hash"]);

    let page = app.get("/v1/ledger/checkpoints?limit=2").await.json();
    assert_eq!(page["checkpoints"].as_array().map(Vec::len), Some(2));
    assert_eq!(page["next"], 5);
    let rest = app
        .get("/v1/ledger/checkpoints?after=5&limit=2")
        .await
        .json();
    assert_eq!(rest["checkpoints"][0]["size"], 8);
}

async fn proofs_from_the_api_verify_against_signed_checkpoints(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    append_entries(&app.state, 7, "first");
    let old = checkpoint(&app).await;
    let appended = append_entries(&app.state, 13, "second");
    let new = checkpoint(&app).await;
    assert_eq!((old.size, new.size), (7, 20));

    for index in 0..new.size {
        let reply = app
            .get(&format!("/v1/ledger/proof/inclusion?index={index}"))
            .await;
        assert_eq!(reply.status, 200, "{}", reply.text());
        let p = reply.json();
        assert_eq!(p["tree_size"], 20);
        assert_eq!(p["root_hash"], hex::encode(new.root.0));
        let leaf_hash = hex::decode(p["leaf_hash"].as_str().expect("hex")).expect("hex");
        verify_inclusion(index, 20, &leaf_hash, &new.root.0, &hex_list(&p["proof"]))
            .expect("verifies");
    }
    // Against an older tree size too.
    let p = app
        .get("/v1/ledger/proof/inclusion?index=3&tree_size=7")
        .await
        .json();
    let leaf_hash = hex::decode(p["leaf_hash"].as_str().expect("hex")).expect("hex");
    verify_inclusion(3, 7, &leaf_hash, &old.root.0, &hex_list(&p["proof"])).expect("verifies at 7");
    let last = &appended[12];
    assert_eq!(
        hex::encode(last.leaf_hash.0),
        app.get("/v1/ledger/proof/inclusion?index=19").await.json()["leaf_hash"]
    );

    let c = app
        .get("/v1/ledger/proof/consistency?first=7&second=20")
        .await
        .json();
    assert_eq!(c["first_root"], hex::encode(old.root.0));
    assert_eq!(c["second_root"], hex::encode(new.root.0));
    verify_consistency(7, 20, &old.root.0, &new.root.0, &hex_list(&c["proof"]))
        .expect("consistent");
    let same = app
        .get("/v1/ledger/proof/consistency?first=20")
        .await
        .json();
    assert_eq!(same["second"], 20);
    assert_eq!(same["proof"], serde_json::json!([]));
}

async fn bad_parameters_are_problem_400s(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    append_entries(&app.state, 4, "x");
    for uri in [
        "/v1/ledger/proof/inclusion?index=4",
        "/v1/ledger/proof/inclusion?index=0&tree_size=5",
        "/v1/ledger/proof/inclusion?index=0&tree_size=0",
        "/v1/ledger/proof/inclusion?index=-1",
        "/v1/ledger/proof/inclusion?index=abc",
        "/v1/ledger/proof/inclusion",
        "/v1/ledger/proof/inclusion?index=1&bogus=2",
        "/v1/ledger/proof/inclusion?index=99999999999999999999999",
        "/v1/ledger/proof/inclusion?index=18446744073709551615&tree_size=18446744073709551615",
        "/v1/ledger/proof/consistency?first=0&second=4",
        "/v1/ledger/proof/consistency?first=3&second=2",
        "/v1/ledger/proof/consistency?first=1&second=5",
        "/v1/ledger/proof/consistency?first=-1",
        "/v1/ledger/proof/consistency?first=x",
        "/v1/ledger/checkpoints?limit=0",
        "/v1/ledger/checkpoints?limit=1001",
        "/v1/ledger/checkpoints?after=-3",
    ] {
        let reply = app.get(uri).await;
        assert_eq!(reply.status, 400, "{uri}: {}", reply.text());
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json"),
            "{uri}"
        );
    }
    let token = app.admin_token().await;
    for uri in [
        "/v1/ledger/entries?limit=0",
        "/v1/ledger/entries?start=-1",
        "/v1/ledger/entries/abc",
    ] {
        let reply = app.get_as(uri, &token).await;
        assert_eq!(reply.status, 400, "{uri}: {}", reply.text());
    }
    app.get_as("/v1/ledger/entries/4", &token)
        .await
        .assert_problem(404, "not_found");
}

async fn entries_are_for_subscribers_and_staff(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let written = append_entries(&app.state, 3, "entries");

    let anonymous = app.get("/v1/ledger/entries").await;
    anonymous.assert_problem(401, "unauthorized");
    assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));

    for role in [Role::Journalist, Role::Editor, Role::Auditor, Role::Admin] {
        let key = app.make_key(role, &format!("{role} person"));
        let token = app.token_for(&key.secret).await;
        let reply = app.get_as("/v1/ledger/entries", &token).await;
        assert_eq!(reply.status, 200, "{role}");
        let entries = reply.json()["entries"].as_array().expect("entries").clone();
        assert_eq!(entries.len(), 3);
        for (entry, appended) in entries.iter().zip(&written) {
            let leaf = entry["leaf"].as_str().expect("leaf");
            assert_eq!(leaf, appended.leaf);
            assert_eq!(
                entry["leaf_hash"],
                hex::encode(sourceledger::ledger::leaf_hash(leaf.as_bytes()).0)
            );
            assert_eq!(entry["at"], appended.at.as_str());
            assert_eq!(entry["kind"], "test.entry");
            assert_eq!(entry["actor"], "test:helper");
        }
    }
    let integration = app.make_key(Role::Integration, "newsletter");
    let token = app.token_for(&integration.secret).await;
    app.get_as("/v1/ledger/entries", &token)
        .await
        .assert_problem(403, "forbidden");

    let admin = app.admin_token().await;
    let one = app.get_as("/v1/ledger/entries/1", &admin).await.json();
    assert_eq!(one["index"], 1);
    assert_eq!(one["leaf"], written[1].leaf);
    let page = app
        .get_as("/v1/ledger/entries?start=1&limit=1", &admin)
        .await
        .json();
    assert_eq!(page["entries"][0]["index"], 1);
    assert_eq!(page["next"], 2);
}

async fn the_database_refuses_to_rewrite_the_ledger(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    append_entries(&app.state, 2, "fixed");
    checkpoint(&app).await;
    let mut conn = app.state.db.get().expect("conn");
    for sql in [
        "UPDATE ledger_entries SET kind = 'forged' WHERE idx = 0",
        "DELETE FROM ledger_entries WHERE idx = 1",
        "UPDATE ledger_hashes SET id = id + 1000",
        "DELETE FROM ledger_hashes",
        "DELETE FROM ledger_checkpoints",
    ] {
        // Refused by the append-only trigger itself, not by any other error.
        match diesel::sql_query(sql).execute(&mut *conn) {
            Err(e) => assert!(
                e.to_string().contains("the ledger is append-only"),
                "{sql} failed for another reason: {e}"
            ),
            Ok(n) => panic!("{sql} was allowed ({n} rows)"),
        }
    }
}

async fn timestamps_never_go_back(backend: Backend) {
    use sourceledger::db::schema::ledger_head;
    let app = TestApp::spawn(backend).await;
    append_entries(&app.state, 1, "before");
    // As if the clock had stepped back an hour after the last write.
    let future = chrono::Utc::now() + chrono::TimeDelta::hours(1);
    let future_text = sourceledger::time::format(future);
    {
        let mut conn = app.state.db.get().expect("conn");
        diesel::update(ledger_head::table)
            .set(ledger_head::last_at.eq(&future_text))
            .execute(&mut *conn)
            .expect("set head time");
    }
    let after = append_entries(&app.state, 2, "after");
    let after_future = sourceledger::time::format(future + chrono::TimeDelta::microseconds(1));
    assert_eq!(after[0].at.as_str(), after_future);
    assert!(after[1].at > after[0].at, "times strictly increase");
}

on_both_backends!(a_rolled_back_append_leaves_no_trace);

async fn a_rolled_back_append_leaves_no_trace(backend: Backend) {
    use sourceledger::ledger::proof::TreeBuilder;
    use sourceledger::ledger::{LedgerError, store, write_transaction};
    let app = TestApp::spawn(backend).await;
    {
        let mut conn = app.state.db.get().expect("conn");
        let result = write_transaction::<(), LedgerError, _>(
            &mut conn,
            app.state.db.write_count(),
            |conn, seq| {
                for i in 0..130 {
                    seq.append(conn, "test.doomed", "test:x", &serde_json::json!({"i": i}))?;
                }
                // The hashes and head as a commit would write them.
                seq.finish(conn)?;
                // Read the doomed tree inside the transaction, through the shared cache.
                store::root(conn, app.state.ledger.hashes(), 130)?;
                store::prove_inclusion(conn, app.state.ledger.hashes(), 3, 130)?;
                Err(LedgerError::OutOfRange("roll back".into()))
            },
        );
        assert!(result.is_err());
        assert_eq!(store::size(&mut conn).expect("size"), 0);
    }
    let kept = append_entries(&app.state, 130, "kept");
    let mut builder = TreeBuilder::new();
    for a in &kept {
        builder.push(a.leaf_hash);
    }
    let mut conn = app.state.db.get().expect("conn");
    // Twice: the second pass reads the upper levels from the cache.
    for _ in 0..2 {
        let root = store::root(&mut conn, app.state.ledger.hashes(), 130).expect("root");
        assert_eq!(root, builder.root());
        for index in [0u64, 3, 64, 129] {
            let proof: Vec<Vec<u8>> =
                store::prove_inclusion(&mut conn, app.state.ledger.hashes(), index, 130)
                    .expect("prove")
                    .iter()
                    .map(|h| h.0.to_vec())
                    .collect();
            verify_inclusion(
                index,
                130,
                &kept[index as usize].leaf_hash.0,
                &root.0,
                &proof,
            )
            .expect("verifies");
        }
    }
    assert_eq!(checkpoint(&app).await.root, builder.root());
}

on_both_backends!(a_warmed_cache_gives_the_same_roots_and_proofs);

async fn a_warmed_cache_gives_the_same_roots_and_proofs(backend: Backend) {
    use sourceledger::ledger::store::{self, HashCache};
    let app = TestApp::spawn(backend).await;
    append_entries(&app.state, 1000, "warm");
    let mut conn = app.state.db.get().expect("conn");
    let warmed = HashCache::new(1 << 10);
    let count = store::warm_cache(&mut conn, &warmed).expect("warm");
    assert_eq!(
        count,
        1000 / 64 + 1000 / 128 + 1000 / 256 + 1000 / 512,
        "every hash of 64 leaves or more"
    );
    let none = HashCache::disabled();
    for size in [1u64, 64, 65, 500, 999, 1000] {
        assert_eq!(
            store::root(&mut conn, &warmed, size).expect("root"),
            store::root(&mut conn, &none, size).expect("root")
        );
        for index in [0, size / 2, size - 1] {
            assert_eq!(
                store::prove_inclusion(&mut conn, &warmed, index, size).expect("prove"),
                store::prove_inclusion(&mut conn, &none, index, size).expect("prove")
            );
        }
        assert_eq!(
            store::prove_consistency(&mut conn, &warmed, 1, size).expect("prove"),
            store::prove_consistency(&mut conn, &none, 1, size).expect("prove")
        );
    }
}
