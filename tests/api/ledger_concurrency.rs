//! Many writers at once, in threads and (on PostgreSQL) in two application
//! instances over one database: the log stays a single, gapless, verifiable chain.

use std::sync::Arc;

use diesel::prelude::*;
use sourceledger::ledger::proof::{TreeBuilder, verify_inclusion};
use sourceledger::ledger::{checkpoint, store, write_transaction};
use sourceledger::startup::AppState;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(concurrent_writers_make_one_gapless_log);

const THREADS: usize = 8;
const ENTRIES_PER_THREAD: usize = 300;

fn write(state: Arc<actix_web::web::Data<AppState>>, writer: usize) {
    let mut written = 0;
    let mut round = 0;
    while written < ENTRIES_PER_THREAD {
        // Transactions of 1 to 4 entries.
        let batch = (1 + (writer + round) % 4).min(ENTRIES_PER_THREAD - written);
        let mut conn = state.db.get().expect("conn");
        write_transaction::<_, sourceledger::ledger::LedgerError, _>(
            &mut conn,
            state.db.write_count(),
            |conn, seq| {
                for i in 0..batch {
                    let record = serde_json::json!({"writer": writer, "n": written + i});
                    seq.append(
                        conn,
                        "test.concurrent",
                        &format!("test:writer-{writer}"),
                        &record,
                    )?;
                }
                Ok(())
            },
        )
        .expect("append");
        written += batch;
        round += 1;
    }
}

async fn concurrent_writers_make_one_gapless_log(backend: Backend) {
    let is_postgres = matches!(backend, Backend::Postgres(_));
    let app = TestApp::spawn(backend).await;
    let first = Arc::new(app.state.clone());
    // On PostgreSQL half the writers go through a second application instance,
    // as a second server process sharing the database would.
    let second = if is_postgres {
        Arc::new(app.another_instance().await.1)
    } else {
        first.clone()
    };
    let handles: Vec<_> = (0..THREADS)
        .map(|w| {
            let state = if w % 2 == 0 {
                first.clone()
            } else {
                second.clone()
            };
            std::thread::spawn(move || write(state, w))
        })
        .collect();
    for h in handles {
        h.join().expect("writer thread");
    }

    use sourceledger::db::schema::ledger_entries;
    let mut conn = app.state.db.get().expect("conn");
    let rows: Vec<(i64, String, String, Vec<u8>)> = ledger_entries::table
        .order(ledger_entries::idx.asc())
        .select((
            ledger_entries::idx,
            ledger_entries::at,
            ledger_entries::leaf,
            ledger_entries::leaf_hash,
        ))
        .load(&mut *conn)
        .expect("entries");
    let n = THREADS * ENTRIES_PER_THREAD;
    assert_eq!(rows.len(), n);
    let mut builder = TreeBuilder::new();
    let mut seen = std::collections::HashSet::new();
    for (i, (idx, at, leaf, leaf_hash)) in rows.iter().enumerate() {
        assert_eq!(*idx, i as i64, "no gap, no duplicate");
        if i > 0 {
            assert!(at >= &rows[i - 1].1, "time went back at {i}");
        }
        let recomputed = sourceledger::ledger::leaf_hash(leaf.as_bytes());
        assert_eq!(recomputed.0.as_slice(), leaf_hash.as_slice());
        builder.push(recomputed);
        let parsed = sourceledger::ledger::leaf::Leaf::parse(leaf).expect("leaf");
        assert!(
            seen.insert((parsed.record["writer"].clone(), parsed.record["n"].clone())),
            "entry written twice"
        );
    }

    let note = store::latest_checkpoint(
        &mut conn,
        app.state.ledger.hashes(),
        app.state.ledger.key().signer(),
        app.state.ledger.origin(),
        store::KeepWait::AsWrites,
    )
    .expect("checkpoint");
    let opened = checkpoint::open(note.note.as_bytes(), app.state.ledger.vkey()).expect("verifies");
    assert_eq!(opened.size, n as u64);
    assert_eq!(
        opened.root,
        builder.root(),
        "the signed root is the root of the leaves"
    );
    for index in 0..n as u64 {
        let proof: Vec<Vec<u8>> =
            store::prove_inclusion(&mut conn, app.state.ledger.hashes(), index, opened.size)
                .expect("prove")
                .iter()
                .map(|h| h.0.to_vec())
                .collect();
        verify_inclusion(
            index,
            opened.size,
            &rows[index as usize].3,
            &opened.root.0,
            &proof,
        )
        .expect("proof verifies");
    }
}
