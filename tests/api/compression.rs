//! Compression by `Accept-Encoding`: a source list, the page and the panel
//! script in brotli or gzip (each compressed once, then served as made),
//! identity when the reader asks for neither or refuses them; the rest of
//! the API through the same negotiation; snapshots never (their digest and
//! ranges are of the stored bytes).

use std::io::Read;
use std::sync::atomic::Ordering;

use actix_web::test::TestRequest;
use serde_json::json;

use crate::helpers::{Backend, Reply, TestApp};
use crate::on_both_backends;
use sourceledger::auth::Role;

on_both_backends!(bodies_are_compressed_as_the_reader_accepts);

fn decode(reply: &Reply) -> Vec<u8> {
    let mut out = Vec::new();
    match reply.header("content-encoding") {
        Some("br") => {
            brotli::Decompressor::new(&reply.body[..], 4096)
                .read_to_end(&mut out)
                .expect("brotli");
        }
        Some("gzip") => {
            flate2::read::GzDecoder::new(&reply.body[..])
                .read_to_end(&mut out)
                .expect("gzip");
        }
        _ => out = reply.body.clone(),
    }
    out
}

async fn get(app: &TestApp, uri: &str, token: Option<&str>, accept: Option<&str>) -> Reply {
    let mut req = TestRequest::get().uri(uri);
    if let Some(token) = token {
        req = req.insert_header(("Authorization", format!("Bearer {token}")));
    }
    if let Some(accept) = accept {
        req = req.insert_header(("Accept-Encoding", accept));
    }
    app.call(req).await
}

async fn bodies_are_compressed_as_the_reader_accepts(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    app.post_as(
        "/v1/articles",
        &journalist,
        json!({"slug": "story", "title": "S", "url": "https://news.example/s", "language": "en", "authors": ["A"]}),
    )
    .await;
    let mut citations = Vec::new();
    for i in 0..20 {
        let source = app
            .post_as(
                "/v1/sources",
                &journalist,
                json!({"url": format!("https://s{i}.example/report"), "title": format!("Report {i}"), "publisher": "Ministry", "kind": "document", "language": "en"}),
            )
            .await
            .json();
        citations.push(json!({"source_id": source["id"], "claim": "A claim the source supports.", "locator": "p1"}));
    }
    app.post_as(
        "/v1/articles/story/citations",
        &journalist,
        json!({"citations": citations}),
    )
    .await;
    app.post_as("/v1/articles/story/publish", &editor, json!({}))
        .await;

    for uri in [
        "/v1/articles/story/sources",
        "/articles/story/sources",
        "/embed.js",
    ] {
        let plain = get(&app, uri, Some(&editor), None).await;
        assert_eq!(plain.status, 200, "{uri}");
        assert_eq!(plain.header("content-encoding"), Some("identity"), "{uri}");
        for (accept, expected) in [
            ("gzip, br", "br"),
            ("br;q=0.5, gzip", "gzip"),
            ("gzip", "gzip"),
            ("br", "br"),
        ] {
            let made = app.state.compressed.made.load(Ordering::Relaxed);
            let first = get(&app, uri, Some(&editor), Some(accept)).await;
            let again = get(&app, uri, Some(&editor), Some(accept)).await;
            assert_eq!(
                first.header("content-encoding"),
                Some(expected),
                "{uri} {accept}"
            );
            assert!(
                first
                    .header("vary")
                    .is_some_and(|v| v.contains("Accept-Encoding")),
                "{uri}: {:?}",
                first.header("vary")
            );
            assert_eq!(decode(&first), plain.body, "{uri} {accept}");
            assert!(
                first.body.len() < plain.body.len(),
                "{uri} {accept} not smaller"
            );
            assert_eq!(first.body, again.body);
            assert!(
                app.state.compressed.made.load(Ordering::Relaxed) <= made + 1,
                "{uri} {accept}: compressed more than once"
            );
        }
        let refused = get(&app, uri, Some(&editor), Some("gzip;q=0, br;q=0")).await;
        assert_eq!(refused.header("content-encoding"), Some("identity"));
        assert_eq!(refused.body, plain.body);
    }

    // Other answers through the same negotiation.
    let entries = get(
        &app,
        "/v1/ledger/entries?limit=50",
        Some(&editor),
        Some("gzip"),
    )
    .await;
    assert_eq!(entries.header("content-encoding"), Some("gzip"));
    assert!(serde_json::from_slice::<serde_json::Value>(&decode(&entries)).is_ok());

    // A snapshot: the stored bytes, never re-encoded.
    let bytes = "text that compresses well ".repeat(200);
    let stored = app
        .call(
            TestRequest::put()
                .uri("/v1/snapshots")
                .insert_header(("Authorization", format!("Bearer {journalist}")))
                .insert_header(("Content-Type", "text/plain"))
                .set_payload(bytes.clone()),
        )
        .await
        .json();
    let sha = stored["sha256"].as_str().expect("sha");
    let got = get(
        &app,
        &format!("/v1/snapshots/{sha}"),
        Some(&editor),
        Some("gzip, br"),
    )
    .await;
    assert_eq!(got.header("content-encoding"), Some("identity"));
    assert_eq!(got.body, bytes.as_bytes());
}
