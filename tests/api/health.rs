use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(healthz_answers_ok, readyz_names_the_database);

async fn healthz_answers_ok(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let reply = app.get("/healthz").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), serde_json::json!({"status": "ok"}));
}

async fn readyz_names_the_database(backend: Backend) {
    let name = backend.name();
    let app = TestApp::spawn(backend).await;
    let reply = app.get("/readyz").await;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json(),
        serde_json::json!({"status": "ready", "database": name})
    );
}
