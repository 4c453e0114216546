//! Rate limits: a burst over the limit gets 429 with `Retry-After`; limits do
//! not leak between tokens or addresses; health checks are exempt; a trusted
//! proxy's `X-Forwarded-For` names the client, an untrusted one's is ignored.

use actix_web::test::TestRequest;
use sourceledger::auth::Role;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(bursts_over_the_limit_get_429_per_token_and_per_address);

fn from(ip: &str) -> TestRequest {
    TestRequest::get()
        .uri("/v1/articles")
        .peer_addr(format!("{ip}:40000").parse().expect("addr"))
}

async fn bursts_over_the_limit_get_429_per_token_and_per_address(backend: Backend) {
    let app = TestApp::spawn_with(backend, |s| {
        s.rate_limit_anon = 5;
        s.rate_limit_token = 8;
        s.trusted_proxies = vec!["10.0.0.0/8".parse().expect("cidr")];
    })
    .await;
    let editor_key = app.make_key(Role::Editor, "desk");
    let editor = app.token_for(&editor_key.secret).await;
    let auditor = app.token_of(Role::Auditor).await;

    // Anonymous, by address: 5 pass, the 6th waits.
    for _ in 0..5 {
        assert_eq!(app.call(from("203.0.113.5")).await.status, 200);
    }
    let refused = app.call(from("203.0.113.5")).await;
    refused.assert_problem(429, "too_many_requests");
    let wait: u64 = refused
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    // Another address is not affected; health checks never are.
    assert_eq!(app.call(from("203.0.113.6")).await.status, 200);
    for _ in 0..10 {
        let health = TestRequest::get()
            .uri("/healthz")
            .peer_addr("203.0.113.5:1".parse().expect("addr"));
        assert_eq!(app.call(health).await.status, 200);
    }
    // Made-up tokens count against the address, not a token of their own.
    let forged = from("203.0.113.5").insert_header(("Authorization", "Bearer made.up.token"));
    app.call(forged)
        .await
        .assert_problem(429, "too_many_requests");

    // By token: 8 pass from one address, the 9th is refused; another token
    // from the same address goes on.
    let with = |token: &str| {
        from("198.51.100.1").insert_header(("Authorization", format!("Bearer {token}")))
    };
    for _ in 0..8 {
        assert_eq!(app.call(with(&editor)).await.status, 200);
    }
    app.call(with(&editor))
        .await
        .assert_problem(429, "too_many_requests");
    assert_eq!(app.call(with(&auditor)).await.status, 200);
    // The limit is the key's, not the token string's: a token minted again
    // (a second later, so its text differs) is refused as well, and so is
    // one sent with the scheme in lower case from another address.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let reminted = app.token_for(&editor_key.secret).await;
    assert_ne!(reminted, editor);
    app.call(with(&reminted))
        .await
        .assert_problem(429, "too_many_requests");
    let lower =
        from("198.51.100.77").insert_header(("Authorization", format!("bearer {reminted}")));
    app.call(lower)
        .await
        .assert_problem(429, "too_many_requests");

    // Behind a trusted proxy the client is the right-most untrusted hop.
    let via_proxy = |forwarded: &str| {
        TestRequest::get()
            .uri("/v1/articles")
            .peer_addr("10.0.0.2:40000".parse().expect("addr"))
            .insert_header(("X-Forwarded-For", forwarded.to_owned()))
    };
    for _ in 0..5 {
        assert_eq!(
            app.call(via_proxy("192.0.2.99, 192.0.2.10, 10.0.0.7"))
                .await
                .status,
            200
        );
    }
    app.call(via_proxy("192.0.2.10"))
        .await
        .assert_problem(429, "too_many_requests");
    assert_eq!(app.call(via_proxy("192.0.2.11")).await.status, 200);
    // An untrusted peer cannot pick its address with the header.
    let spoofed = from("203.0.113.5").insert_header(("X-Forwarded-For", "192.0.2.200"));
    app.call(spoofed)
        .await
        .assert_problem(429, "too_many_requests");
}
