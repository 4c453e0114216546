//! `GET /metrics`: Prometheus text (OpenMetrics) exposition. The gauges that
//! live in the database (the log's size, the latest checkpoint's age, the
//! link monitor's states) are read at each scrape, in one short read.

use std::sync::atomic::Ordering;

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::error::ApiError;
use crate::metrics::StateLabels;
use crate::state::AppState;

pub async fn metrics(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let st = state.clone();
    // The figures read from the database: while it is down (or its disk
    // full), the last ones stay and the rest still answer, the storage
    // faults first among them.
    let read = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let size = st.ledger.size(conn)?.0;
            let signed_at = crate::ledger::store::newest_checkpoint_time(conn)?;
            let links = crate::archive::monitor::state_counts(conn)?;
            let witnesses = st.witnesses.vkeys();
            let quorum = crate::ledger::attestations::Quorum {
                witnesses: &witnesses,
                needed: st.witnesses.quorum,
            };
            let witnessed = crate::ledger::attestations::newest_witnessed(conn, quorum)?;
            Ok((size, signed_at, links, witnessed))
        })
        .await;
    let m = &state.metrics;
    let (open, idle) = state.db.pool_state();
    let set = |family: &prometheus_client::metrics::family::Family<
        StateLabels,
        prometheus_client::metrics::gauge::Gauge,
    >,
               state: &str,
               value: i64| {
        family
            .get_or_create(&StateLabels {
                state: state.to_owned(),
            })
            .set(value);
    };
    set(&m.pool_connections, "idle", i64::from(idle));
    set(
        &m.pool_connections,
        "in_use",
        i64::from(open.saturating_sub(idle)),
    );
    if let Ok((size, signed_at, links, witnessed)) = read {
        m.log_size.set(i64::try_from(size).unwrap_or(i64::MAX));
        let age = signed_at
            .map(|at| (chrono::Utc::now() - at.time()).num_seconds())
            .unwrap_or(-1);
        m.checkpoint_age_seconds.set(age);
        m.witnessed_size.set(witnessed.unwrap_or(0));
        for status in crate::archive::monitor::LinkStatus::FOUND {
            let n = links
                .iter()
                .find(|(s, _)| *s == status)
                .map_or(0, |(_, n)| *n);
            set(&m.links, status.as_str(), n);
        }
    }
    use crate::db::health::{self, Fault};
    for fault in [
        Fault::DiskFull,
        Fault::DataDirFull,
        Fault::Unreachable,
        Fault::ObjectStore,
    ] {
        let labels = crate::metrics::FaultLabels {
            fault: fault.as_str(),
        };
        m.storage_fault
            .get_or_create(&labels)
            .set(i64::from(health::is_on(fault)));
        let refused = m.storage_refusals.get_or_create(&labels);
        refused.inc_by(health::refusals(fault).saturating_sub(refused.get()));
    }
    let lists = &state.lists.built;
    let (hits, misses) = (
        lists.hits.load(Ordering::Relaxed),
        lists.misses.load(Ordering::Relaxed),
    );
    m.list_cache_hits
        .inc_by(hits.saturating_sub(m.list_cache_hits.get()));
    m.list_cache_misses
        .inc_by(misses.saturating_sub(m.list_cache_misses.get()));
    let runs = state.db.runs();
    m.db_calls.inc_by(runs.saturating_sub(m.db_calls.get()));
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(m.render(state.db.write_count().entries())))
}
