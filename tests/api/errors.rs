use actix_web::test::TestRequest;
use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    unknown_path_is_a_pinned_404,
    wrong_method_is_a_405_with_allow
);

async fn unknown_path_is_a_pinned_404(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let reply = app.get("/no/such/thing").await;
    reply.assert_problem(404, "not_found");
    assert_eq!(
        reply.json(),
        json!({
            "type": "urn:sourceledger:problem:not_found",
            "title": "Not Found",
            "status": 404,
            "detail": "no such resource: /no/such/thing",
            "code": "not_found"
        })
    );
}

async fn wrong_method_is_a_405_with_allow(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let reply = app.call(TestRequest::delete().uri("/healthz")).await;
    assert_eq!(
        reply.assert_problem(405, "method_not_allowed")["detail"],
        "DELETE is not allowed here; allowed: GET"
    );
    assert_eq!(reply.header("allow"), Some("GET"));
}
