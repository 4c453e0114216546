//! Archive figures (issue 11): captures, upload memory, the link monitor's
//! pace. Nothing here is asserted about speed.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{Backend, TestApp};
use crate::process::{ServerProcess, agent, key_token, request, token_for};
use crate::site::HostSite;
use sourceledger::archive::monitor::{self, Pace};
use sourceledger::auth::Role;

/// The server's peak resident memory so far, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or_default()
}

fn upload(base: &str, token: &str, bytes: u64) -> Duration {
    let address = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    let started = Instant::now();
    write!(
        stream,
        "PUT /v1/snapshots HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/pdf\r\nContent-Length: {bytes}\r\nConnection: close\r\n\r\n"
    )
    .expect("head");
    let mut chunk = vec![0u8; 1 << 20];
    let mut sent = 0;
    while sent < bytes {
        let n = chunk.len().min((bytes - sent) as usize);
        // Different bytes each time: nothing is already stored.
        chunk[0] = chunk[0].wrapping_add(1);
        chunk[1..9].copy_from_slice(&(sent ^ bytes).to_le_bytes());
        stream.write_all(&chunk[..n]).expect("body");
        sent += n as u64;
    }
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
    started.elapsed()
}

pub fn capture_throughput_and_upload_memory() {
    let site = HostSite::start();
    let page =
        "<html><body>".to_owned() + &"<p>Figures for the year.</p>".repeat(1800) + "</body></html>";
    let url = site.page("/report", "", page.clone());
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServerProcess::start(dir.path(), None);
    let base = server.url();
    let http = agent();
    let admin = token_for(&http, &base, &server.bootstrap_key());
    let journalist = key_token(&http, &base, &admin, "journalist");

    // Captures: 200 sources of one 50 KB page, 8 at a time.
    let ids: Vec<String> = (0..200)
        .map(|i| {
            let made = request(
                &http,
                "POST",
                &format!("{base}/v1/sources"),
                Some(&journalist),
                Some(&json!({"url": format!("{url}?n={i}"), "title": "R", "publisher": "P", "kind": "document", "language": "en"})),
            )
            .expect("source");
            made.body["id"].as_str().expect("id").to_owned()
        })
        .collect();
    for i in 0..200 {
        site.page(&format!("/report?n={i}"), "", page.clone());
    }
    let started = Instant::now();
    std::thread::scope(|scope| {
        for part in ids.chunks(25) {
            let (http, base, journalist) = (&http, &base, &journalist);
            scope.spawn(move || {
                for id in part {
                    let done = request(
                        http,
                        "POST",
                        &format!("{base}/v1/sources/{id}/capture"),
                        Some(journalist),
                        None,
                    )
                    .expect("capture");
                    assert_eq!(done.status, 201, "{}", done.text);
                }
            });
        }
    });
    let took = started.elapsed();
    println!(
        "captures: 200 of a {} byte page, 8 at a time, in {:.2} s: {:.0} pages/s",
        page.len(),
        took.as_secs_f64(),
        200.0 / took.as_secs_f64()
    );

    // Uploads: peak memory after 5 MiB, then after 50 MiB.
    let before = peak_rss_kib(server.pid());
    let small = upload(&base, &journalist, 5 << 20);
    let after_small = peak_rss_kib(server.pid());
    let large = upload(&base, &journalist, 50 << 20);
    let after_large = peak_rss_kib(server.pid());
    println!(
        "upload 5 MiB: {:.0} ms; 50 MiB: {:.0} ms ({:.0} MiB/s)",
        small.as_secs_f64() * 1000.0,
        large.as_secs_f64() * 1000.0,
        50.0 / large.as_secs_f64()
    );
    println!(
        "server peak RSS: {before} KiB before, {after_small} KiB after 5 MiB, {after_large} KiB after 50 MiB"
    );
}

pub async fn monitor_pace_over_ten_thousand_links() {
    const LINKS: usize = 10_000;
    let app = TestApp::spawn(Backend::sqlite()).await;
    let journalist = app.token_of(Role::Journalist).await;
    let editor = app.token_of(Role::Editor).await;
    let site = HostSite::start();
    app.post_as(
        "/v1/articles",
        &journalist,
        json!({"slug": "big", "title": "Big", "url": "https://news.example/big", "language": "en", "authors": ["A"]}),
    )
    .await;
    let mut citations = Vec::new();
    for i in 0..LINKS {
        let url = site.page(&format!("/doc/{i}"), "", format!("<p>document {i}</p>"));
        let source = app
            .post_as(
                "/v1/sources",
                &journalist,
                json!({"url": url, "title": format!("Doc {i}"), "publisher": "P", "kind": "document", "language": "en"}),
            )
            .await
            .json();
        citations.push(json!({"source_id": source["id"], "claim": "c", "locator": "l"}));
        if citations.len() == 1000 {
            let attached = app
                .post_as(
                    "/v1/articles/big/citations",
                    &journalist,
                    json!({"citations": std::mem::take(&mut citations)}),
                )
                .await;
            assert_eq!(attached.status, 201, "{}", attached.text());
        }
    }
    app.post_as("/v1/articles/big/publish", &editor, json!({}))
        .await;
    for concurrency in [1, 8] {
        let state = app.state.clone();
        let pace = Pace {
            interval: Duration::ZERO,
            per_host_delay: Duration::ZERO,
            concurrency,
            lease: Duration::from_secs(600),
        };
        let started = Instant::now();
        let round = actix_web::web::block(move || {
            monitor::run_round(
                &state.db,
                &state.fetcher,
                pace,
                state.settings.archive.max_bytes,
            )
        })
        .await
        .expect("block")
        .expect("round");
        let took = started.elapsed();
        println!(
            "monitor round, concurrency {concurrency}: {} links checked ({} changes recorded) in {:.2} s: {:.0} links/s",
            round.checked,
            round.changed,
            took.as_secs_f64(),
            round.checked as f64 / took.as_secs_f64()
        );
    }
}
