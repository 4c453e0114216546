//! Logging: tracing to stderr, the level from `RUST_LOG` (default `info`), and one
//! line per request with method, path, status and latency. Query strings and
//! headers are never logged, so no token or key can reach the log.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let output = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_filter(filter_fn(|meta| !is_connection_fault(meta)));
    // A second init (as in tests) is harmless: the first subscriber stays.
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(output)
        .with(ConnectionFaults)
        .try_init();
}

/// actix-http answers a request it cannot parse (a head over its 128 KiB
/// buffer: 431; a URI over 64 KiB or malformed HTTP: 400) before the
/// application sees it, and logs the connection's end at ERROR. Those are the
/// client's faults: left at ERROR, any anonymous client could flood the log
/// with ERRORs. They are logged at INFO instead, as the request lines are.
fn is_connection_fault(meta: &Metadata<'_>) -> bool {
    *meta.level() == Level::ERROR && meta.target() == "actix_http::h1::dispatcher"
}

struct ConnectionFaults;

impl<S: Subscriber> Layer<S> for ConnectionFaults {
    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        if is_connection_fault(event.metadata()) {
            let mut message = Message(String::new());
            event.record(&mut message);
            tracing::info!(reason = %message.0, "connection closed by the HTTP layer");
        }
    }
}

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            self.0 = format!("{value:?}");
        }
    }
}

pub async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let metrics = req
        .app_data::<actix_web::web::Data<crate::metrics::Metrics>>()
        .cloned();
    let response = next.call(req).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Some(metrics) = metrics {
        let (route, status) = match &response {
            Ok(res) => (
                metrics.route_of(&path, || res.request().match_pattern()),
                res.status().as_u16(),
            ),
            Err(error) => (
                std::sync::Arc::from("unmatched"),
                error.as_response_error().status_code().as_u16(),
            ),
        };
        metrics.observe(&route, &method, status, latency_ms / 1000.0);
    }
    match &response {
        Ok(res) => tracing::info!(
            %method,
            path,
            status = res.status().as_u16(),
            latency_ms = format_args!("{latency_ms:.2}"),
            "request"
        ),
        Err(error) => tracing::info!(
            %method,
            path,
            status = error.as_response_error().status_code().as_u16(),
            latency_ms = format_args!("{latency_ms:.2}"),
            "request"
        ),
    }
    response
}
