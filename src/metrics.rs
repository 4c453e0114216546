//! Prometheus metrics (`GET /metrics`, the text exposition format), with the
//! `prometheus-client` crate: requests by route and status with latency
//! histograms, rate-limit refusals, source-list cache hits and misses, and,
//! read when scraped, the log's size and appends, the latest checkpoint's
//! age, the database pool's connections and the link monitor's states.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route's pattern (`/v1/articles/{slug}/sources`), never the path
    /// itself: one series per route, not per article.
    pub route: Arc<str>,
    pub method: &'static str,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub route: Arc<str>,
    pub method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FaultLabels {
    pub fault: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub state: String,
}

/// What the server counts, and the gauges filled in at each scrape.
pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub latency: Family<RouteLabels, Histogram>,
    pub rate_limited: Counter,
    pub list_cache_hits: Counter,
    pub list_cache_misses: Counter,
    appends: Counter,
    pub group_sizes: Histogram,
    pub group_failed_items: Counter,
    /// Time from taking the log's lock to a durable commit, per group.
    pub group_seconds: Histogram,
    /// Storage faults in force (1) or not (0), and requests refused for each.
    pub storage_fault: Family<FaultLabels, Gauge>,
    pub storage_refusals: Family<FaultLabels, Counter>,
    pub log_size: Gauge,
    pub checkpoint_age_seconds: Gauge,
    pub witnessed_size: Gauge,
    pub pool_connections: Family<StateLabels, Gauge>,
    pub db_calls: Counter,
    pub links: Family<StateLabels, Gauge>,
    /// Notification delivery tries, by outcome (`delivered`, `retry`, `failed`).
    pub notifications: Family<StateLabels, Counter>,
    /// Route patterns by path, see [`Metrics::route_of`].
    routes: RwLock<HashMap<String, Arc<str>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("sourceledger");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route pattern, method and status",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 0.1 ms to about 3 s.
            Histogram::new(exponential_buckets(0.0001, 2.0, 16))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer, by route pattern and method",
            latency.clone(),
        );
        let rate_limited = Counter::default();
        registry.register(
            "rate_limited",
            "Requests refused with 429 by the rate limits",
            rate_limited.clone(),
        );
        let list_cache_hits = Counter::default();
        registry.register(
            "source_list_cache_hits",
            "Source lists served from the built-list cache",
            list_cache_hits.clone(),
        );
        let list_cache_misses = Counter::default();
        registry.register(
            "source_list_cache_misses",
            "Source lists built because the cache did not hold them",
            list_cache_misses.clone(),
        );
        let appends = Counter::default();
        registry.register(
            "ledger_appends",
            "Ledger entries appended by this process",
            appends.clone(),
        );
        let group_sizes = Histogram::new(exponential_buckets(1.0, 2.0, 8));
        registry.register(
            "write_group_size",
            "Writes committed together in one transaction (group commit)",
            group_sizes.clone(),
        );
        let group_failed_items = Counter::default();
        registry.register(
            "write_group_failed_items",
            "Writes that failed and rolled back alone inside a committed group",
            group_failed_items.clone(),
        );
        let group_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 15));
        registry.register(
            "write_group_duration_seconds",
            "Time from taking the log's write lock to a durable commit, per group of writes (the sync to disk included: a slow disk shows here)",
            group_seconds.clone(),
        );
        let storage_fault = Family::<FaultLabels, Gauge>::default();
        registry.register(
            "storage_fault",
            "1 while the process knows of a storage fault (disk_full, data_dir_full, database_unreachable, object_store_unreachable), else 0",
            storage_fault.clone(),
        );
        let storage_refusals = Family::<FaultLabels, Counter>::default();
        registry.register(
            "storage_refusals",
            "Requests and background writes refused for a storage fault since the process started",
            storage_refusals.clone(),
        );
        let log_size = Gauge::default();
        registry.register("ledger_size", "Entries in the log", log_size.clone());
        let checkpoint_age_seconds = Gauge::default();
        registry.register(
            "checkpoint_age_seconds",
            "Seconds since the latest signed checkpoint was made",
            checkpoint_age_seconds.clone(),
        );
        let witnessed_size = Gauge::default();
        registry.register(
            "witnessed_size",
            "Size of the newest checkpoint the quorum of witnesses cosigned (0: none, or no witnesses)",
            witnessed_size.clone(),
        );
        let pool_connections = Family::<StateLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "This process's database connections, idle or in use",
            pool_connections.clone(),
        );
        let db_calls = Counter::default();
        registry.register(
            "db_calls",
            "Pieces of request work that went to the database (a hop each); reads served from memory make none",
            db_calls.clone(),
        );
        let links = Family::<StateLabels, Gauge>::default();
        registry.register(
            "links",
            "Cited links by the link monitor's last finding",
            links.clone(),
        );
        let notifications = Family::<StateLabels, Counter>::default();
        registry.register(
            "notification_deliveries",
            "Notification delivery tries, by outcome",
            notifications.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            rate_limited,
            list_cache_hits,
            list_cache_misses,
            appends,
            group_sizes,
            group_failed_items,
            group_seconds,
            storage_fault,
            storage_refusals,
            log_size,
            checkpoint_age_seconds,
            witnessed_size,
            pool_connections,
            db_calls,
            links,
            notifications,
            routes: RwLock::default(),
        }
    }
}

/// Paths whose route pattern is remembered (a few thousand articles'
/// lists and pages); the map starts over when full.
const ROUTES_KNOWN: usize = 4096;

impl Metrics {
    /// The route pattern `path` matched, `unmatched` for none. Finding it
    /// walks every route again, a regular expression for each with a path
    /// parameter: it is done once per path and remembered.
    pub fn route_of(&self, path: &str, find: impl FnOnce() -> Option<String>) -> Arc<str> {
        if let Some(route) = self.routes.read().ok().and_then(|r| r.get(path).cloned()) {
            return route;
        }
        let route: Arc<str> = find().unwrap_or_else(|| "unmatched".to_owned()).into();
        if let Ok(mut routes) = self.routes.write() {
            if routes.len() >= ROUTES_KNOWN {
                routes.clear();
            }
            routes.insert(path.to_owned(), route.clone());
        }
        route
    }

    /// One answered request. Labels share the route's text and name the
    /// method by a constant: nothing is allocated per request.
    pub fn observe(
        &self,
        route: &Arc<str>,
        method: &actix_web::http::Method,
        status: u16,
        seconds: f64,
    ) {
        use actix_web::http::Method;
        let method = match *method {
            Method::GET => "GET",
            Method::POST => "POST",
            Method::PUT => "PUT",
            Method::PATCH => "PATCH",
            Method::DELETE => "DELETE",
            Method::HEAD => "HEAD",
            Method::OPTIONS => "OPTIONS",
            _ => "other",
        };
        self.requests
            .get_or_create(&RequestLabels {
                route: route.clone(),
                method,
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                route: route.clone(),
                method,
            })
            .observe(seconds);
    }

    /// The text exposition, after bringing in the entries this server's
    /// writes appended.
    pub fn render(&self, appended: u64) -> String {
        self.appends
            .inc_by(appended.saturating_sub(self.appends.get()));
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            text.clear();
        }
        text
    }
}
