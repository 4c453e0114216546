//! Ledger benchmark: appends on SQLite (in batches and one per transaction),
//! proof cost and memory as the log grows, and start-up time on a large log.
//!
//! cargo bench --bench ledger -- [--entries N] [--batch N] [--singles N] [--sync-compare N] [--dir PATH] [--postgres URL]
//!
//! With `--postgres URL` (an empty database) the batched appends, proofs and
//! start-up run on PostgreSQL instead; the singles and sync comparison stay
//! on SQLite.

use std::time::{Duration, Instant};

use sourceledger::config::{DatabaseUrl, Settings};
use sourceledger::db::DbConnection;
use sourceledger::ledger::store::HashCache;
use sourceledger::ledger::{LedgerError, store, write_transaction};
use sourceledger::startup::AppState;

struct Args {
    entries: u64,
    batch: u64,
    singles: u64,
    sync_compare: u64,
    dir: Option<std::path::PathBuf>,
    postgres: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        entries: 1_000_000,
        batch: 1000,
        singles: 100_000,
        sync_compare: 0,
        dir: None,
        postgres: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().unwrap_or_default();
        match flag.as_str() {
            "--entries" => a.entries = value().parse().unwrap_or(a.entries),
            "--batch" => a.batch = value().parse().unwrap_or(a.batch),
            "--singles" => a.singles = value().parse().unwrap_or(a.singles),
            "--sync-compare" => a.sync_compare = value().parse().unwrap_or(a.sync_compare),
            "--dir" => a.dir = Some(value().into()),
            "--postgres" => a.postgres = Some(value()),
            _ => {}
        }
    }
    a
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn settings(dir: &std::path::Path) -> Settings {
    settings_on(dir, None)
}

fn settings_on(dir: &std::path::Path, postgres: Option<&str>) -> Settings {
    Settings {
        data_dir: dir.to_owned(),
        database: match postgres {
            Some(url) => DatabaseUrl::Postgres(url.to_owned()),
            None => DatabaseUrl::Sqlite(dir.join("sourceledger.db")),
        },
        bind: "127.0.0.1:0".into(),
        origin: "bench.sourceledger.example/ledger".into(),
        db_pool_size: 2,
        fetch_allow: Vec::new(),
        public_url: "http://127.0.0.1:0".into(),
        rate_limit_anon: 0,
        rate_limit_token: 0,
        trusted_proxies: Vec::new(),
        cta_text: sourceledger::config::DEFAULT_CTA_TEXT.into(),
        cta_url: None,
        embed_origins: Vec::new(),
        replay_origin: None,
        fetch_ports: sourceledger::outbound::DEFAULT_PORTS.to_vec(),
        archive: sourceledger::config::ArchiveSettings::default(),
        embargo: false,
        witnessing: sourceledger::config::WitnessSettings::none_for(
            "bench.sourceledger.example/ledger",
        ),
        staff_oidc: None,
        notify_retry_delay: sourceledger::config::DEFAULT_NOTIFY_RETRY_DELAY,
    }
}

fn append(conn: &mut DbConnection, count: u64, start: u64) {
    write_transaction::<_, LedgerError, _>(conn, &Default::default(), |conn, seq| {
        for i in 0..count {
            let record = serde_json::json!({
                "id": format!("src-{}", start + i),
                "url": format!("https://news.example/article/{}", start + i),
                "title": "A source of moderate length, as a newsroom would record it",
                "kind": "news_report",
            });
            seq.append(conn, "bench.entry", "journalist:bench", &record)?;
        }
        Ok(())
    })
    .expect("append");
}

/// Median time of `f` over `runs` calls.
fn median(runs: usize, mut f: impl FnMut(usize)) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|i| {
            let t = Instant::now();
            f(i);
            t.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

/// Median proof and root times at `size`: first on a cold cache (a fresh
/// process's first requests), then warm (after 5,000 other proofs, as a running
/// server would be).
fn proofs(conn: &mut DbConnection, size: u64) {
    let cache = HashCache::new(1 << 18);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ size;
    let mut next = move |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    for phase in ["cold", "warmed at start", "warm"] {
        if phase == "warmed at start" {
            let cache = HashCache::new(1 << 18);
            let t = Instant::now();
            let count = store::warm_cache(conn, &cache).expect("warm");
            let warm_ms = t.elapsed().as_secs_f64() * 1e3;
            let indexes: Vec<u64> = (0..501).map(|_| next(size)).collect();
            let inclusion = median(501, |i| {
                store::prove_inclusion(conn, &cache, indexes[i], size).expect("prove");
            });
            println!(
                "size {size:>8}, warmed at start ({count} hashes in {warm_ms:.1} ms): inclusion proof {:>6.1} µs (median)",
                inclusion.as_secs_f64() * 1e6
            );
            continue;
        }
        if phase == "warm" {
            for _ in 0..5000 {
                store::prove_inclusion(conn, &cache, next(size), size).expect("prove");
            }
        }
        let indexes: Vec<u64> = (0..501).map(|_| next(size)).collect();
        let firsts: Vec<u64> = (0..501).map(|_| 1 + next(size)).collect();
        let inclusion = median(501, |i| {
            store::prove_inclusion(conn, &cache, indexes[i], size).expect("prove");
        });
        let consistency = median(501, |i| {
            store::prove_consistency(conn, &cache, firsts[i], size).expect("prove");
        });
        let root = median(101, |_| {
            store::root(conn, &cache, size).expect("root");
        });
        println!(
            "size {size:>8}, {phase} cache: inclusion proof {:>6.1} µs, consistency proof {:>6.1} µs, root {:>6.1} µs (medians), RSS {} KiB",
            inclusion.as_secs_f64() * 1e6,
            consistency.as_secs_f64() * 1e6,
            root.as_secs_f64() * 1e6,
            rss_kib()
        );
    }
}

fn main() {
    let a = args();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = a.dir.clone().unwrap_or_else(|| tmp.path().join("batched"));
    println!(
        "ledger benchmark: {} entries in batches of {} on {}, then {} one per transaction",
        a.entries,
        a.batch,
        if a.postgres.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        a.singles
    );

    let state = AppState::prepare(settings_on(&dir, a.postgres.as_deref())).expect("prepare");
    let mut conn = state.db.get().expect("conn");
    let milestones = [1_000u64, 10_000, 100_000, 1_000_000, 10_000_000];
    let started = Instant::now();
    let mut size = store::size(&mut conn).expect("size");
    let mut last = (Instant::now(), size);
    while size < a.entries {
        let target = milestones
            .iter()
            .copied()
            .find(|m| *m > size)
            .unwrap_or(a.entries)
            .min(a.entries);
        let count = a.batch.min(target - size);
        append(&mut conn, count, size);
        size += count;
        if size == target {
            let elapsed = last.0.elapsed().as_secs_f64();
            println!(
                "appended to {size:>8} in batches: {:>9.0} entries/s over the last {} (total {:.1} s)",
                (size - last.1) as f64 / elapsed,
                size - last.1,
                started.elapsed().as_secs_f64()
            );
            proofs(&mut conn, size);
            last = (Instant::now(), size);
        }
    }
    drop(conn);
    drop(state);

    // Start-up on the large log: open, migrate-check, first checkpoint.
    let t = Instant::now();
    let state = AppState::prepare(settings_on(&dir, a.postgres.as_deref())).expect("prepare");
    let prepared = t.elapsed();
    let mut conn = state.db.get().expect("conn");
    let checkpoint = store::latest_checkpoint(
        &mut conn,
        state.ledger.hashes(),
        state.ledger.key().signer(),
        state.ledger.origin(),
        store::KeepWait::AsWrites,
    )
    .expect("checkpoint");
    println!(
        "start-up on {} entries: prepare {:.1} ms, + first checkpoint {:.1} ms",
        checkpoint.size,
        prepared.as_secs_f64() * 1e3,
        t.elapsed().as_secs_f64() * 1e3
    );
    if a.postgres.is_none() {
        let file = dir.join("sourceledger.db");
        let bytes = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0)
            + std::fs::metadata(dir.join("sourceledger.db-wal"))
                .map(|m| m.len())
                .unwrap_or(0);
        println!(
            "database size: {:.1} MiB ({:.0} bytes/entry)",
            bytes as f64 / 1048576.0,
            bytes as f64 / checkpoint.size.max(1) as f64
        );
    }
    drop(conn);
    drop(state);

    if a.singles > 0 {
        let dir = tmp.path().join("singles");
        let state = AppState::prepare(settings(&dir)).expect("prepare");
        let mut conn = state.db.get().expect("conn");
        let t = Instant::now();
        let mut last = (Instant::now(), 0u64);
        for i in 0..a.singles {
            append(&mut conn, 1, i);
            if (i + 1) % 100_000 == 0 || i + 1 == a.singles {
                println!(
                    "one per transaction, to {:>8}: {:>7.0} entries/s over the last {} (total {:.1} s), RSS {} KiB",
                    i + 1,
                    (i + 1 - last.1) as f64 / last.0.elapsed().as_secs_f64(),
                    i + 1 - last.1,
                    t.elapsed().as_secs_f64(),
                    rss_kib()
                );
                last = (Instant::now(), i + 1);
            }
        }
        proofs(&mut conn, a.singles);
    }

    if a.sync_compare > 0 {
        sync_compare(&tmp.path().join("sync"), a.sync_compare);
    }
}

/// What `synchronous = FULL` (the server's setting: every commit synced) costs
/// single appends next to `NORMAL` (synced only at WAL checkpoints): the same
/// connection, blocks of 200 appends taking turns, so both see the same disk.
fn sync_compare(dir: &std::path::Path, total: u64) {
    use diesel::connection::SimpleConnection;
    let state = AppState::prepare(settings(dir)).expect("prepare");
    let mut conn = state.db.get().expect("conn");
    let mut spent = [0f64; 2];
    let mut done = [0u64; 2];
    let mut size = store::size(&mut conn).expect("size");
    for block in 0..total.div_ceil(200) * 2 {
        let mode = (block % 2) as usize;
        conn.batch_execute(if mode == 0 {
            "PRAGMA synchronous = FULL"
        } else {
            "PRAGMA synchronous = NORMAL"
        })
        .expect("pragma");
        let t = Instant::now();
        for _ in 0..200 {
            append(&mut conn, 1, size);
            size += 1;
        }
        spent[mode] += t.elapsed().as_secs_f64();
        done[mode] += 200;
    }
    let rate = |m: usize| done[m] as f64 / spent[m];
    println!(
        "single appends: synchronous = FULL {:.0}/s, NORMAL {:.0}/s ({} each, interleaved): FULL runs at {:.2} of NORMAL",
        rate(0),
        rate(1),
        done[0],
        rate(0) / rate(1)
    );
}
