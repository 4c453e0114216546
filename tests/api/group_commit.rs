//! Group commit: 64 writers at once (on PostgreSQL through two application
//! instances over one database, as two server processes would be) commit in
//! groups; every acknowledged write is in the log with its entry, the indexes
//! have no gap, and a write that fails inside a group, after it had appended,
//! leaves no trace while the rest of its group commits.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use serde_json::{Value, json};
use sourceledger::auth::Role;
use sourceledger::db::schema::ledger_entries;

use crate::helpers::{App, Backend, Reply, TestApp, call, metric_sample};
use crate::on_both_backends;

on_both_backends!(
    sixty_four_writers_commit_in_groups_and_a_failure_fails_alone,
    sixty_four_writers_under_embargo
);

const WRITERS: usize = 64;
const ROUNDS: usize = 8;

/// What one writer was told.
#[derive(Default)]
struct Outcome {
    /// Acknowledged writes: (ledger index, the record's id).
    acknowledged: Vec<(i64, String)>,
    /// Claims of citations whose batch was refused: never to be in the log.
    refused_claims: Vec<String>,
}

async fn post(app: &App, uri: &str, token: &str, body: Value) -> Reply {
    call(
        app,
        actix_web::test::TestRequest::post()
            .uri(uri)
            .insert_header(("Authorization", format!("Bearer {token}")))
            .set_json(body),
    )
    .await
}

async fn writer(
    app: App,
    state: actix_web::web::Data<sourceledger::state::AppState>,
    token: String,
    w: usize,
) -> Outcome {
    let mut out = Outcome::default();
    for round in 0..ROUNDS {
        let made = post(
            &app,
            "/v1/sources",
            &token,
            json!({"url": format!("https://source.example/{w}/{round}"), "title": format!("Source {w}/{round}"), "publisher": "P", "kind": "document", "language": "en"}),
        )
        .await;
        assert_eq!(made.status, 201, "{}", made.text());
        let source = made.json();
        out.acknowledged.push((
            source["ledger_index"].as_i64().expect("index"),
            source["id"].as_str().expect("id").to_owned(),
        ));
        if (w + round).is_multiple_of(4) {
            // A write that appends, then fails (as a citation batch would
            // if its article were retracted under it): the whole write rolls
            // back, inside whatever group it joined. A refusal HTTP can
            // cause (an unknown source) is found before the write queues.
            let claim = format!("doomed claim {w}/{round}");
            let doomed = claim.clone();
            let refused = state
                .writer
                .write(move |conn, seq| {
                    seq.append(conn, "test.doomed", "test:group", &json!({"claim": doomed}))?;
                    Err::<(), _>(sourceledger::error::ApiError::new(
                        sourceledger::error::ErrorCode::ArticleRetracted,
                        "retracted under the write",
                    ))
                })
                .await;
            assert!(refused.is_err());
            out.refused_claims.push(claim);
        } else {
            let cited = post(
                &app,
                "/v1/articles/grouped/citations",
                &token,
                json!({"source_id": source["id"], "claim": format!("claim {w}/{round}"), "locator": "p1"}),
            )
            .await;
            assert_eq!(cited.status, 201, "{}", cited.text());
            let citation = &cited.json()["citations"][0];
            out.acknowledged.push((
                citation["ledger_index"].as_i64().expect("index"),
                citation["id"].as_str().expect("id").to_owned(),
            ));
        }
    }
    out
}

async fn sixty_four_writers_commit_in_groups_and_a_failure_fails_alone(backend: Backend) {
    sixty_four_writers(backend, false).await
}

/// The same with every write committed to under embargo: what each
/// commitment hides is written with its group, and a refused item's with it
/// rolled back, so the audit opens every commitment with what is held.
async fn sixty_four_writers_under_embargo(backend: Backend) {
    sixty_four_writers(backend, true).await
}

async fn sixty_four_writers(backend: Backend, embargo: bool) {
    let is_postgres = matches!(backend, Backend::Postgres(_));
    let app = TestApp::spawn_with(backend, |s| s.embargo = embargo).await;
    let journalist = app.token_of(Role::Journalist).await;
    let article = app
        .post_as(
            "/v1/articles",
            &journalist,
            json!({"slug": "grouped", "title": "Grouped", "url": "https://news.example/grouped", "language": "en", "authors": ["A"]}),
        )
        .await;
    assert_eq!(article.status, 201, "{}", article.text());
    let before = app.ledger_size();

    let second = if is_postgres {
        Some(app.another_instance().await)
    } else {
        None
    };
    let writers = (0..WRITERS).map(|w| {
        let (target, state) = match &second {
            Some((other, state)) if w % 2 == 1 => (other.clone(), state.clone()),
            _ => (app.app.clone(), app.state.clone()),
        };
        writer(target, state, journalist.clone(), w)
    });
    let outcomes = futures_util::future::join_all(writers).await;

    let mut conn = app.state.db.get().expect("conn");
    let rows: Vec<(i64, String)> = ledger_entries::table
        .order(ledger_entries::idx.asc())
        .select((ledger_entries::idx, ledger_entries::leaf))
        .load(&mut *conn)
        .expect("entries");
    for (i, (idx, _)) in rows.iter().enumerate() {
        assert_eq!(*idx, i as i64, "the indexes have a gap or a duplicate");
    }
    // Under embargo a leaf is a commitment: what it hides is read as staff
    // would, from what the server holds for it.
    let held: HashMap<i64, Value> = sourceledger::newsroom::embargo::rows_at(
        &mut conn,
        &rows.iter().map(|(idx, _)| *idx).collect::<Vec<_>>(),
    )
    .expect("held")
    .into_iter()
    .map(|(idx, row)| {
        (
            idx,
            json!({"record": row.opening().expect("opening")["record"]}),
        )
    })
    .collect();
    assert_eq!(
        !held.is_empty() && held.len() == rows.len(),
        embargo,
        "under embargo every write is committed to, and none is otherwise"
    );
    let leaves: HashMap<i64, Value> = rows
        .iter()
        .map(|(idx, leaf)| {
            let leaf: Value = serde_json::from_str(leaf).expect("leaf json");
            (*idx, held.get(idx).cloned().unwrap_or(leaf))
        })
        .collect();
    let acknowledged: Vec<&(i64, String)> = outcomes.iter().flat_map(|o| &o.acknowledged).collect();
    let mut seen = HashSet::new();
    for (index, id) in &acknowledged {
        let leaf = leaves
            .get(index)
            .unwrap_or_else(|| panic!("acknowledged entry {index} is missing"));
        assert_eq!(
            leaf["record"]["id"],
            json!(id),
            "entry {index} is another record"
        );
        assert!(seen.insert(*index), "two writes were told entry {index}");
    }
    assert_eq!(
        rows.len() as u64,
        before + acknowledged.len() as u64,
        "the log holds exactly what was acknowledged"
    );
    let refused: HashSet<&String> = outcomes.iter().flat_map(|o| &o.refused_claims).collect();
    assert_eq!(refused.len(), WRITERS * ROUNDS / 4);
    for leaf in leaves.values() {
        if let Some(claim) = leaf["record"]["claim"].as_str() {
            assert!(
                !refused.contains(&claim.to_owned()),
                "a refused citation is in the log: {claim}"
            );
        }
    }
    // Every acknowledged source has its row (new sources' rows are written
    // together at the end of their group).
    let sources: i64 = sourceledger::db::schema::sources::table
        .count()
        .get_result(&mut *conn)
        .expect("sources");
    assert_eq!(
        sources as usize,
        WRITERS * ROUNDS,
        "a recorded source has no row"
    );
    drop(conn);

    // The writes did go in groups, and refused items were rolled back inside
    // groups that committed.
    let text = app
        .state
        .metrics
        .render(app.state.db.write_count().entries());
    let metric = |series: &str| {
        metric_sample(&text, series).unwrap_or_else(|| panic!("no {series} in the metrics"))
    };
    let groups = metric("sourceledger_write_group_size_count");
    let grouped = metric("sourceledger_write_group_size_sum");
    let failed = metric("sourceledger_write_group_failed_items_total");
    eprintln!("{grouped} writes in {groups} groups, {failed} failed alone (this instance)");
    assert!(
        grouped > groups,
        "no group held more than one write ({grouped} in {groups})"
    );
    assert!(failed >= 1.0, "no failing write went through a group");

    // The server's own audit re-derives every leaf, the tree and the checkpoint.
    let auditor = app.token_of(Role::Auditor).await;
    let audit = app
        .send("POST", "/v1/audit/verify", Some(&auditor), None)
        .await;
    assert_eq!(audit.status, 200, "{}", audit.text());
    assert_eq!(audit.json()["ok"], true, "audit: {}", audit.text());
}

on_both_backends!(a_batch_checked_before_it_queues_commits_what_holds_when_it_commits);

/// A batch is checked and encoded before it reaches the writer; what changed
/// in between is checked again under the lock: a source cited at its latest
/// version that gained a version is cited at the new one (its leaf says so),
/// and an article retracted in between refuses the batch, appending nothing.
async fn a_batch_checked_before_it_queues_commits_what_holds_when_it_commits(backend: Backend) {
    use sourceledger::auth::Caller;
    use sourceledger::auth::token::Subject;
    use sourceledger::newsroom::citations::{self, NewCitation};
    let app = TestApp::spawn(backend).await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let admin = app.admin_token().await;
    let made = app
        .post_as(
            "/v1/articles",
            &journalist,
            json!({"slug": "moving", "title": "Moving", "url": "https://news.example/moving", "language": "en", "authors": ["A"]}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text());
    let source = app
        .record_source(
            &journalist,
            json!({"url": "https://source.example/moving", "title": "Before", "publisher": "P", "kind": "document", "language": "en"}),
        )
        .await;
    let id = source["id"].as_str().expect("id").to_owned();
    let caller = Caller {
        role: Role::Journalist,
        name: "tester".into(),
        subject: Subject::ApiKey("tester".into()),
    };
    let batch: Vec<NewCitation> = serde_json::from_value(json!([
        {"source_id": id, "claim": "latest", "locator": "p1"},
        {"source_id": id, "source_version": 1, "claim": "first", "locator": "p2"},
    ]))
    .expect("batch");
    let prepare = |batch: &[NewCitation]| {
        let mut conn = app.state.db.get().expect("conn");
        citations::prepare(
            &mut conn,
            app.state.embargo(),
            &caller,
            "moving",
            batch,
            true,
        )
        .expect("prepare")
    };

    let prepared = prepare(&batch);
    let revised = app
        .send(
            "PATCH",
            &format!("/v1/sources/{id}"),
            Some(&journalist),
            Some(json!({"title": "After"})),
        )
        .await;
    assert_eq!(revised.status, 200, "{}", revised.text());
    let rows = app
        .state
        .writer
        .write(move |conn, seq| citations::attach(conn, seq, prepared))
        .await
        .expect("attach");
    assert_eq!(rows[0].source_version, 2, "the latest when it committed");
    assert_eq!(rows[1].source_version, 1, "the version named");
    for row in &rows {
        let entry = app
            .get_as(&format!("/v1/ledger/entries/{}", row.ledger_index), &admin)
            .await
            .json();
        let leaf: Value =
            serde_json::from_str(entry["leaf"].as_str().expect("leaf")).expect("json");
        assert_eq!(leaf["record"]["source_version"], row.source_version);
        assert_eq!(leaf["record"]["id"], json!(row.id));
        assert_eq!(leaf["at"], json!(row.attached_at));
    }

    let prepared = prepare(&batch);
    for step in ["publish", "retract"] {
        let done = app
            .post_as(&format!("/v1/articles/moving/{step}"), &editor, json!({}))
            .await;
        assert_eq!(done.status, 200, "{step}: {}", done.text());
    }
    let size = app.ledger_size();
    let refused = app
        .state
        .writer
        .write(move |conn, seq| citations::attach(conn, seq, prepared))
        .await
        .expect_err("retracted under the batch");
    assert_eq!(refused.status().as_u16(), 409);
    assert_eq!(app.ledger_size(), size, "nothing appended");
}

on_both_backends!(
    work_without_a_savepoint_that_fails_takes_its_group_with_it,
    a_finish_that_fails_midway_takes_its_group_with_it
);

/// Appends one entry while holding the writer for 400 ms, once the writer
/// has started on it: writes sent meanwhile queue, and go in one group after.
async fn hold_the_writer(
    app: &TestApp,
) -> actix_web::rt::task::JoinHandle<
    Result<sourceledger::ledger::Appended, sourceledger::error::ApiError>,
> {
    let state = app.state.clone();
    let blocker = actix_web::rt::spawn(async move {
        state
            .writer
            .write(|conn, seq| {
                std::thread::sleep(std::time::Duration::from_millis(400));
                seq.append(conn, "test.blocker", "test:group", &json!({"n": 1}))
                    .map_err(sourceledger::error::ApiError::from)
            })
            .await
    });
    actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    blocker
}

/// Work that finishes the sequencer itself (to read the tree it grew) and
/// fails in the middle of that finish, after an earlier write of its group
/// appended: the finish had taken the group's pending rows out of memory, so
/// the group cannot go on; it rolls back whole, and nothing half-written
/// (an entry counted in the head without its row) commits.
async fn a_finish_that_fails_midway_takes_its_group_with_it(backend: Backend) {
    use sourceledger::error::{ApiError, ErrorCode};
    let app = TestApp::spawn(backend).await;
    let before = app.ledger_size();
    let blocker = hold_the_writer(&app).await;
    let earlier = app.state.writer.write(|conn, seq| {
        seq.append(conn, "test.earlier", "test:group", &json!({"n": 2}))
            .map_err(ApiError::from)
    });
    let failing = app.state.writer.write(|conn, seq| {
        seq.append(conn, "test.failing", "test:group", &json!({"n": 3}))?;
        seq.defer(
            "test",
            |_, _| Err(sourceledger::ledger::LedgerError::Corrupt("refused".into())),
            (),
        );
        seq.finish(conn)?;
        Err::<(), _>(ApiError::new(ErrorCode::Conflict, "not reached"))
    });
    let (earlier, failing) = futures_util::future::join(earlier, failing).await;
    blocker
        .await
        .expect("joined")
        .expect("the blocker commits alone");
    assert!(failing.is_err());
    assert!(
        earlier.is_err(),
        "the earlier write's rows went with the failed finish"
    );
    assert_eq!(
        app.ledger_size(),
        before + 1,
        "only the blocker is in the log"
    );
    let auditor = app.token_of(Role::Auditor).await;
    let audit = app
        .send("POST", "/v1/audit/verify", Some(&auditor), None)
        .await;
    assert_eq!(audit.json()["ok"], true, "audit: {}", audit.text());
}

/// Work sent with `append` runs without a savepoint of its own (a new
/// source: everything a request can get wrong is checked before it queues).
/// Should it fail after all, having appended and deferred its row, its whole
/// group rolls back: it hears its own error, the writes that shared its group
/// hear that the group failed, none of them is in the log, and the next write
/// takes the next index.
async fn work_without_a_savepoint_that_fails_takes_its_group_with_it(backend: Backend) {
    use sourceledger::error::{ApiError, ErrorCode};
    let app = TestApp::spawn(backend).await;
    let journalist = app.token_of(Role::Journalist).await;
    let before = app.ledger_size();
    // The three writes below queue while the writer is held, and go in one
    // group after it.
    let blocker = hold_the_writer(&app).await;
    let source = app.post_as(
        "/v1/sources",
        &journalist,
        json!({"url": "https://source.example/bystander", "title": "Bystander", "publisher": "P", "kind": "document", "language": "en"}),
    );
    let failing = app.state.writer.append(|conn, seq| {
        seq.append(conn, "test.doomed", "test:group", &json!({"n": 2}))?;
        seq.defer("test", |_, _| Ok(()), ());
        Err::<(), _>(ApiError::new(ErrorCode::Conflict, "failed after appending"))
    });
    let isolated = app.state.writer.write(|conn, seq| {
        seq.append(conn, "test.isolated", "test:group", &json!({"n": 3}))
            .map_err(ApiError::from)
    });
    let (source, failing, isolated) = futures_util::future::join3(source, failing, isolated).await;
    blocker
        .await
        .expect("joined")
        .expect("the blocker commits alone");

    let own = failing.expect_err("the failing work fails");
    assert_eq!(own.status().as_u16(), 409, "it hears its own error");
    let bystander = isolated.expect_err("the group rolled back");
    assert_eq!(bystander.status().as_u16(), 503, "the group's failure");
    assert_eq!(source.status, 503, "{}", source.text());
    assert_eq!(
        app.ledger_size(),
        before + 1,
        "only the blocker is in the log"
    );
    let mut conn = app.state.db.get().expect("conn");
    let sources: i64 = sourceledger::db::schema::sources::table
        .count()
        .get_result(&mut *conn)
        .expect("sources");
    assert_eq!(sources, 0, "the bystander's row rolled back with its entry");
    drop(conn);

    let next = app
        .post_as(
            "/v1/sources",
            &journalist,
            json!({"url": "https://source.example/next", "title": "Next", "publisher": "P", "kind": "document", "language": "en"}),
        )
        .await;
    assert_eq!(next.status, 201, "{}", next.text());
    assert_eq!(next.json()["ledger_index"], json!(before + 1), "no gap");
    let auditor = app.token_of(Role::Auditor).await;
    let audit = app
        .send("POST", "/v1/audit/verify", Some(&auditor), None)
        .await;
    assert_eq!(audit.json()["ok"], true, "audit: {}", audit.text());
}
