//! The wall clock steps back two minutes while writes go on, then a day
//! forward and back, under libfaketime (Debian's `faketime`), in the real
//! server process only: the log's times never go back, nor do checkpoints',
//! tokens issued before the step back stay good, and the log verifies.
//!
//! Decided for the day forward: access tokens are judged by their `exp`
//! against the wall clock, so an API key's one-hour token minted before the
//! jump is expired after it (401 `unauthorized`, "expired"; the client mints
//! another from its key, as it does every hour), while a subscriber's token
//! (30 days) stays good. The log's own clock never goes back: after the clock
//! returns, entries carry the later time (plus a microsecond each) until the
//! wall clock passes it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::prelude::*;
use serde_json::Value;

use super::disk_full::eventually;
use super::load::{Load, verify_everything};
use crate::durability::{Staff, vkey};
use crate::helpers::Backend;
use crate::on_both_backends;
use crate::process::{ServerProcess, agent, request, subscriber_token, token_for};

on_both_backends!(the_clock_steps_back_and_forward_while_writing);

/// Debian's libfaketime, or `None` (said) when it is not installed, unless
/// `SOURCELEDGER_TEST_REQUIRE_FAULTS` is set.
fn faketime_library() -> Option<PathBuf> {
    let found = [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib",
    ]
    .iter()
    .map(|dir| Path::new(dir).join("faketime/libfaketime.so.1"))
    .find(|path| path.exists());
    if found.is_none() {
        assert!(
            std::env::var_os("SOURCELEDGER_TEST_REQUIRE_FAULTS").is_none(),
            "SOURCELEDGER_TEST_REQUIRE_FAULTS is set but libfaketime is missing (Debian package faketime)"
        );
        eprintln!("skipped: libfaketime is not installed (Debian package faketime)");
    }
    found
}

/// A token for a new API key of `role` named `name`.
fn named_token(agent: &ureq::Agent, base: &str, admin: &str, role: &str, name: &str) -> String {
    let key = request(
        agent,
        "POST",
        &format!("{base}/v1/keys"),
        Some(admin),
        Some(&serde_json::json!({"role": role, "name": name})),
    )
    .expect("create key");
    assert_eq!(key.status, 201, "{}", key.text);
    token_for(agent, base, key.body["key"].as_str().expect("key"))
}

/// How many seconds the server's clock is behind this process's, by the
/// `Date` header it answers with.
fn server_clock_behind(base: &str) -> i64 {
    let response = agent()
        .get(&format!("{base}/healthz"))
        .call()
        .expect("healthz");
    let date = response
        .headers()
        .get("date")
        .and_then(|v| v.to_str().ok())
        .expect("a Date header")
        .to_owned();
    let said = chrono::DateTime::parse_from_rfc2822(&date).expect("an HTTP date");
    chrono::Utc::now().timestamp() - said.timestamp()
}

/// Records a source named `name` as `token`; its acknowledged body.
fn record_source(base: &str, token: &str, name: &str) -> Value {
    let answer = request(
        &agent(),
        "POST",
        &format!("{base}/v1/sources"),
        Some(token),
        Some(&serde_json::json!({"url": format!("https://source.example/{name}"), "title": name, "publisher": "P", "kind": "document", "language": "en"})),
    )
    .expect("source");
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.body
}

/// Every entry's `at`, in index order.
fn entry_times(base: &str, token: &str) -> Vec<String> {
    let agent = agent();
    let mut times = Vec::new();
    let mut start = 0u64;
    loop {
        let page = request(
            &agent,
            "GET",
            &format!("{base}/v1/ledger/entries?start={start}&limit=1000"),
            Some(token),
            None,
        )
        .expect("entries");
        assert_eq!(page.status, 200, "{}", page.text);
        for entry in page.body["entries"].as_array().expect("entries") {
            let leaf: Value =
                serde_json::from_str(entry["leaf"].as_str().expect("leaf")).expect("leaf json");
            times.push(leaf["at"].as_str().expect("at").to_owned());
        }
        match page.body["next"].as_u64() {
            Some(next) => start = next,
            None => return times,
        }
    }
}

#[derive(QueryableByName)]
struct Signed {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    size: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    signed_at: String,
}

/// Every signed checkpoint's size and time, by size, read from the database.
fn checkpoint_times(data_dir: &Path, url: Option<&str>) -> Vec<(i64, String)> {
    let query = "SELECT size, signed_at FROM ledger_checkpoints ORDER BY size";
    let rows: Vec<Signed> = match url {
        Some(url) => {
            let mut conn = PgConnection::establish(url).expect("connect");
            diesel::sql_query(query)
                .load(&mut conn)
                .expect("checkpoints")
        }
        None => {
            let path = data_dir.join("sourceledger.db");
            let mut conn =
                SqliteConnection::establish(&path.display().to_string()).expect("connect");
            diesel::sql_query(query)
                .load(&mut conn)
                .expect("checkpoints")
        }
    };
    rows.into_iter().map(|r| (r.size, r.signed_at)).collect()
}

/// Times in the one form (RFC 3339, UTC, microseconds) never go back by
/// more than `slack` from one to the next.
fn assert_never_back(what: &str, times: &[String], slack: chrono::TimeDelta) {
    let parse = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .unwrap_or_else(|e| panic!("{what}: {t:?} is not a time: {e}"))
    };
    for pair in times.windows(2) {
        assert!(
            parse(&pair[0]) <= parse(&pair[1]) + slack,
            "{what} went back: {} then {}",
            pair[0],
            pair[1]
        );
    }
}

async fn the_clock_steps_back_and_forward_while_writing(backend: Backend) {
    let Some(library) = faketime_library() else {
        return;
    };
    let work = tempfile::tempdir().expect("tempdir");
    let clock = work.path().join("clock");
    let set_clock = |offset: &str| std::fs::write(&clock, format!("{offset}\n")).expect("clock");
    set_clock("+0");
    let data_dir = work.path().join("data");
    let url = backend.database_url().map(str::to_owned);
    let log = work.path().join("server.log");
    let library = library.display().to_string();
    let clock_file = clock.display().to_string();
    let server = ServerProcess::start_with(
        &data_dir,
        url.as_deref(),
        Some(&log),
        &[
            ("LD_PRELOAD", library.as_str()),
            ("FAKETIME_TIMESTAMP_FILE", clock_file.as_str()),
            // Read the offset at every call, so that writing the file steps
            // the running server's clock; monotonic clocks (timers) are not
            // stepped, as NTP does not step them either.
            ("FAKETIME_NO_CACHE", "1"),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ],
    );
    let base = server.url();
    let agent = agent();
    let staff = Staff::make(&server);
    let vkey = vkey(&server);
    let admin = token_for(&agent, &base, &server.bootstrap_key());
    let subscriber = subscriber_token(&agent, &base, &admin, "reader-before");
    let load = Load::start(&server, &staff, 4, 2);
    assert!(load.wait_for_acknowledged(60, Duration::from_secs(60)));
    // Minted just before the step, first shown to the server after it.
    let fresh = named_token(&agent, &base, &admin, "journalist", "before the step");

    set_clock("-120");
    // The server's own clock did step (its `Date` header, renewed every
    // half second, says so).
    assert!(
        eventually(Duration::from_secs(5), || (100..=140)
            .contains(&server_clock_behind(&base))),
        "the server's clock is {} s behind, not two minutes",
        server_clock_behind(&base)
    );
    let before = load.acknowledged();
    assert!(
        load.wait_for_acknowledged(before + 60, Duration::from_secs(60)),
        "writes stopped when the clock stepped back"
    );
    let list = request(
        &agent,
        "GET",
        &format!("{base}/v1/articles/durable/sources"),
        Some(&fresh),
        None,
    )
    .expect("list");
    assert_eq!(
        list.status, 200,
        "a token issued a minute before the step back is refused: {}",
        list.text
    );
    let minted_after = named_token(&agent, &base, &admin, "auditor", "after the step");
    let audit = request(
        &agent,
        "GET",
        &format!("{base}/v1/ledger/entries/0"),
        Some(&minted_after),
        None,
    )
    .expect("entry");
    assert_eq!(audit.status, 200, "{}", audit.text);
    let (mut acked, seen) = load.stop();
    assert!(seen.bad.is_empty(), "{:#?}", seen.bad);

    // A day forward: the hour-long staff tokens have expired, the
    // subscriber's month-long one has not, and new ones are made as usual.
    set_clock("+1d");
    let expired = request(
        &agent,
        "GET",
        &format!("{base}/v1/articles/durable/sources"),
        Some(&staff.journalist),
        None,
    )
    .expect("list");
    assert_eq!(expired.status, 401, "{}", expired.text);
    assert!(expired.text.contains("expired"), "{}", expired.text);
    let reading = request(
        &agent,
        "GET",
        &format!("{base}/v1/ledger/entries/0"),
        Some(&subscriber),
        None,
    )
    .expect("entry");
    assert_eq!(reading.status, 200, "{}", reading.text);
    let admin_later = token_for(&agent, &base, &server.bootstrap_key());
    let journalist_later = named_token(&agent, &base, &admin_later, "journalist", "a day later");
    acked
        .writes
        .push(record_source(&base, &journalist_later, "day-later"));

    // And back: the log keeps its later time, a microsecond at a time.
    set_clock("+0");
    acked
        .writes
        .push(record_source(&base, &journalist_later, "back"));
    assert!(
        eventually(Duration::from_secs(10), || request(
            &agent,
            "GET",
            &format!("{base}/v1/ledger/checkpoint"),
            None,
            None
        )
        .is_ok_and(|a| a.status == 200)),
        "no checkpoint after the clock came back"
    );

    let times = entry_times(&base, &staff.auditor);
    assert!(times.len() > 120, "{} entries", times.len());
    assert_never_back("the log's time", &times, chrono::TimeDelta::zero());
    let checkpoints = checkpoint_times(&data_dir, url.as_deref());
    assert!(checkpoints.len() > 3, "{checkpoints:?}");
    let signed: Vec<String> = checkpoints.iter().map(|(_, at)| at.clone()).collect();
    // Each checkpoint is dated no earlier than the one before it when it
    // was signed; two readers signing two sizes at the same moment may date
    // them in either order, within the moment (never the clock's step).
    assert_never_back(
        "the checkpoints' time",
        &signed,
        chrono::TimeDelta::seconds(1),
    );

    // The staff tokens of the start are good again now the clock is back.
    verify_everything(&server, &staff, &acked, &vkey, url.as_deref(), &data_dir);
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(!log_text.contains("panicked"), "{log_text}");
}
