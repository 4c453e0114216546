//! Benchmarks that drive the real server the way the integration tests do
//! (and with their helpers): not tests, nothing here is asserted about speed.
//!
//! cargo bench --bench scenarios -- [capture] [monitor] [panel]
//!
//! - `capture`: 200 captures of a 50 KB loopback page, 8 at a time, and the
//!   server's peak memory through uploads of 5 and 50 MiB;
//! - `monitor`: one link-monitor round over 10,000 cited links, 1 and 8 at once;
//! - `panel`: the reader's browser verifying a 20- and a 200-source list in
//!   Chromium (needs `SOURCELEDGER_TEST_BROWSER_TOOLS`, as the tests do), and
//!   the page's server time.
//!
//! With no name, all three run.

// The test helpers are shared with tests/api; not every one is used here.
#![allow(dead_code, unused_imports, unused_macros)]

#[path = "../tests/api/helpers.rs"]
#[macro_use]
mod helpers;
#[path = "../tests/api/durability.rs"]
mod durability;
#[path = "../tests/api/interop_go.rs"]
mod interop_go;
#[path = "../tests/api/panel.rs"]
mod panel;
#[path = "../tests/api/process.rs"]
mod process;
#[path = "../tests/api/site.rs"]
mod site;
#[path = "../tests/api/witnesses.rs"]
mod witnesses;

mod scenarios {
    pub mod archive;
    pub mod panel;
}

fn main() {
    let asked: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |name: &str| asked.is_empty() || asked.iter().any(|a| a == name);
    if wants("capture") {
        scenarios::archive::capture_throughput_and_upload_memory();
    }
    if wants("monitor") {
        actix_web::rt::System::new()
            .block_on(scenarios::archive::monitor_pace_over_ten_thousand_links());
    }
    if wants("panel") {
        scenarios::panel::timings();
    }
}
