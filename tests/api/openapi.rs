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

/// Client generators name a method after each operationId, and OpenAPI requires
/// them to be unique.
#[test]
fn every_operation_has_its_own_id() {
    let spec = serde_json::to_value(sourceledger::api::openapi()).expect("serialize");
    let mut seen = std::collections::BTreeMap::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            let id = operation["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            if let Some(other) = seen.insert(id.to_owned(), format!("{method} {path}")) {
                panic!("operationId {id} names both {other} and {method} {path}");
            }
        }
    }
    assert!(seen.len() > 25, "only {} operations", seen.len());
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

/// `/docs` serves the browsable API page from assets inside the binary: the
/// page, its script and its styles, pointed at the served document.
#[actix_web::test]
async fn the_docs_page_is_served_from_the_binary() {
    let app = crate::helpers::TestApp::spawn(crate::helpers::Backend::sqlite()).await;
    let reply = app.get("/docs").await;
    assert_eq!(reply.status, 308);
    assert_eq!(reply.header("location"), Some("/docs/"));
    let page = app.get("/docs/").await;
    assert_eq!(page.status, 200);
    assert!(
        page.header("content-type")
            .unwrap_or_default()
            .starts_with("text/html")
    );
    let csp = page.header("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    let html = page.text();
    for asset in [
        "swagger-ui-bundle.js",
        "swagger-ui.css",
        "swagger-initializer.js",
    ] {
        assert!(html.contains(asset), "the page loads {asset}");
        let reply = app.get(&format!("/docs/{asset}")).await;
        assert_eq!(reply.status, 200, "{asset}");
        assert!(reply.text().len() > 100, "{asset} has content");
    }
    let initializer = app.get("/docs/swagger-initializer.js").await.text();
    assert!(initializer.contains("/openapi.json"), "{initializer}");
    assert_eq!(
        app.get("/openapi.json")
            .await
            .header("content-security-policy"),
        Some("default-src 'none'; frame-ancestors 'none'")
    );
}
