use crate::helpers::{Backend, TestApp};

/// The committed spec is what the code produces: regenerate it with
/// `cargo run -- openapi > openapi/openapi.json` after changing the API.
#[test]
fn committed_spec_matches_the_code() {
    let committed =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .expect("openapi/openapi.json is committed");
    let generated = sourceledger::api::openapi()
        .to_pretty_json()
        .expect("serialize");
    assert!(
        committed.trim_end() == generated.trim_end(),
        "openapi/openapi.json is stale: run `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[actix_web::test]
async fn served_spec_is_the_committed_one() {
    let app = TestApp::spawn(Backend::sqlite()).await;
    let reply = app.get("/openapi.json").await;
    assert_eq!(reply.status, 200);
    let served = reply.json();
    assert_eq!(served["openapi"], "3.1.0");
    let generated: serde_json::Value =
        serde_json::from_str(&sourceledger::api::openapi().to_json().expect("json"))
            .expect("parse");
    assert_eq!(served, generated);
    assert!(served["paths"]["/healthz"]["get"].is_object());
}
