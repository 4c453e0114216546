//! Membership platforms: registration, and the identity exchange against a
//! test issuer made here with real RSA 1024 and 2048, P-256 and Ed25519 keys,
//! its JWKS served over real loopback HTTP.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sourceledger::auth::Role;

use crate::helpers::{Backend, TestApp};
use crate::on_both_backends;

on_both_backends!(
    platforms_are_registered_listed_and_removed_by_admins_only,
    identity_tokens_exchange_for_subscriber_tokens,
    the_algorithm_comes_from_the_key_never_the_token,
    unknown_kids_do_not_flood_the_issuer
);

/// One signing key of the test issuer: how to sign, and its public JWK.
struct TestKey {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
    jwk: Value,
}

fn rsa_key(kid: &str, bits: usize, alg: Algorithm) -> TestKey {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, bits).expect("rsa key");
    let der = private.to_pkcs1_der().expect("der");
    let public = private.to_public_key();
    TestKey {
        kid: kid.into(),
        alg,
        encoding: EncodingKey::from_rsa_der(der.as_bytes()),
        // As Ghost publishes its member key: no alg, no use.
        jwk: json!({
            "kty": "RSA",
            "kid": kid,
            "n": B64URL.encode(public.n().to_bytes_be()),
            "e": B64URL.encode(public.e().to_bytes_be()),
        }),
    }
}

fn p256_key(kid: &str) -> TestKey {
    use p256::pkcs8::EncodePrivateKey;
    let secret = p256::SecretKey::random(&mut rand::rngs::OsRng);
    let point =
        p256::elliptic_curve::sec1::ToEncodedPoint::to_encoded_point(&secret.public_key(), false);
    let der = secret.to_pkcs8_der().expect("der");
    TestKey {
        kid: kid.into(),
        alg: Algorithm::ES256,
        encoding: EncodingKey::from_ec_der(der.as_bytes()),
        jwk: json!({
            "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256",
            "x": B64URL.encode(point.x().expect("x")),
            "y": B64URL.encode(point.y().expect("y")),
        }),
    }
}

fn ed25519_key(kid: &str) -> TestKey {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    let signing = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let der = signing.to_pkcs8_der().expect("der");
    TestKey {
        kid: kid.into(),
        alg: Algorithm::EdDSA,
        encoding: EncodingKey::from_ed_der(der.as_bytes()),
        jwk: json!({
            "kty": "OKP", "crv": "Ed25519", "kid": kid,
            "x": B64URL.encode(signing.verifying_key().as_bytes()),
        }),
    }
}

/// A JWKS document served over loopback HTTP, counting its fetches.
struct JwksServer {
    url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    fetches: Arc<AtomicUsize>,
}

impl JwksServer {
    fn start(keys: Vec<Value>) -> Self {
        Self::start_with_max_age(keys, 600)
    }

    fn start_with_max_age(keys: Vec<Value>, max_age: u32) -> Self {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}/jwks.json", listener.local_addr().expect("addr"));
        let keys = Arc::new(Mutex::new(keys));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (served, counted) = (keys.clone(), fetches.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut request = [0u8; 4096];
                let _ = stream.read(&mut request);
                counted.fetch_add(1, Ordering::SeqCst);
                let body = json!({"keys": *served.lock().expect("keys")}).to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nCache-Control: public, max-age={max_age}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self { url, keys, fetches }
    }
}

const ISSUER: &str = "https://members.example/members/api";

fn sign(key: &TestKey, claims: Value) -> String {
    let mut header = Header::new(key.alg);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, &claims, &key.encoding).expect("sign")
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn claims(sub: &str) -> Value {
    json!({"sub": sub, "email": sub, "email_verified": true, "iss": ISSUER, "aud": "sourceledger-test", "iat": now(), "exp": now() + 600})
}

async fn oidc_platform(app: &TestApp, admin: &str, jwks_url: &str) -> Value {
    let reply = app
        .post_as(
            "/v1/platforms",
            admin,
            json!({"kind": "oidc", "name": "members", "issuer": ISSUER, "jwks_url": jwks_url, "audience": "sourceledger-test"}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    reply.json()
}

/// An OIDC platform with the subscriber `r@example.org` behind it.
async fn reader_of_oidc_platform(app: &TestApp, admin: &str, jwks_url: &str) {
    oidc_platform(app, admin, jwks_url).await;
    let made = app
        .post_as(
            "/v1/subscribers",
            admin,
            json!({"external_id": "x", "email": "r@example.org", "tier": "free"}),
        )
        .await;
    assert_eq!(made.status, 201, "{}", made.text());
}

async fn exchange(app: &TestApp, token: &str) -> crate::helpers::Reply {
    app.send(
        "POST",
        "/v1/auth/exchange",
        None,
        Some(json!({"identity_token": token})),
    )
    .await
}

async fn platforms_are_registered_listed_and_removed_by_admins_only(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let editor = app.token_of(Role::Editor).await;
    let ghost = json!({"kind": "ghost", "name": "Our Ghost", "site": "https://news.example/"});

    app.post_as("/v1/platforms", &editor, ghost.clone())
        .await
        .assert_problem(403, "forbidden");
    let made = app.post_as("/v1/platforms", &admin, ghost.clone()).await;
    assert_eq!(made.status, 201, "{}", made.text());
    let made = made.json();
    assert_eq!(made["issuer"], "https://news.example/members/api");
    let id = made["id"].as_str().expect("id").to_owned();
    assert_eq!(
        made["webhook_url"],
        format!("http://127.0.0.1:0/v1/webhooks/{id}")
    );
    let secret = made["webhook_secret"].as_str().expect("secret").to_owned();
    assert!(
        secret.starts_with("whsec_") && secret.len() > 40,
        "{secret}"
    );

    // Listed with everything Ghost's setup derives, never the secret.
    let listed = app.get_as("/v1/platforms", &admin).await;
    assert_eq!(listed.status, 200);
    let text = listed.text();
    assert!(
        !text.contains(&secret) && !text.contains("webhook_secret"),
        "{text}"
    );
    let platform = &listed.json()["platforms"][0];
    assert_eq!(
        platform["jwks_url"],
        "https://news.example/members/.well-known/jwks.json"
    );
    assert_eq!(platform["audience"], "https://news.example/members/api");
    assert_eq!(
        platform["tiers"],
        json!({"comped": "member", "free": "free", "gift": "member", "paid": "member"})
    );

    // The database holds the secret sealed, not as text.
    let stored: Vec<u8> = {
        use diesel::prelude::*;
        use sourceledger::db::schema::platforms;
        let mut conn = app.state.db.get().expect("conn");
        platforms::table
            .select(platforms::webhook_secret)
            .first(&mut conn)
            .expect("row")
    };
    assert!(!stored.windows(secret.len()).any(|w| w == secret.as_bytes()));
    assert!(
        app.state
            .sealing
            .open(&stored, &id)
            .is_some_and(|s| s == secret.as_bytes())
    );
    assert!(app.state.sealing.open(&stored, "another-row").is_none());

    app.post_as("/v1/platforms", &admin, ghost)
        .await
        .assert_problem(409, "conflict");
    for (body, field) in [
        (json!({"kind": "ghost", "name": "g2"}), "site"),
        (
            json!({"kind": "ghost", "name": "g3", "site": "ftp://x.example"}),
            "site",
        ),
        (
            json!({"kind": "ghost", "name": "g4", "site": "https://g.example", "issuer": "x"}),
            "issuer",
        ),
        (
            json!({"kind": "oidc", "name": "o1", "issuer": "i", "audience": "a"}),
            "jwks_url",
        ),
        (
            json!({"kind": "standard-webhooks", "name": "s1", "webhook_secret": "short"}),
            "webhook_secret",
        ),
        (
            json!({"kind": "standard-webhooks", "name": "s2", "tiers": {}}),
            "tiers",
        ),
        (
            json!({"kind": "standard-webhooks", "name": "s3", "tiers": {"é".repeat(101): "member"}}),
            "tiers",
        ),
    ] {
        let reply = app.post_as("/v1/platforms", &admin, body).await;
        assert_eq!(reply.status, 400, "{}", reply.text());
        let problem = reply.json();
        let named = problem["field"] == field
            || problem["detail"]
                .as_str()
                .is_some_and(|d| d.contains(&format!("`{field}`")));
        assert!(named, "{field}: {problem}");
    }
    app.post_as(
        "/v1/platforms",
        &admin,
        json!({"kind": "mastodon", "name": "m"}),
    )
    .await
    .assert_problem(400, "invalid_field");
    let given = app
        .post_as(
            "/v1/platforms",
            &admin,
            json!({"kind": "standard-webhooks", "name": "sw", "webhook_secret": "a-secret-of-our-own"}),
        )
        .await
        .json();
    assert_eq!(given["webhook_secret"], "a-secret-of-our-own");
    // A member state's length counts characters, as the schema's maxLength does,
    // not UTF-8 bytes: 100 four-byte characters are allowed.
    let wide = "𝕋".repeat(100);
    let reply = app
        .post_as(
            "/v1/platforms",
            &admin,
            json!({"kind": "standard-webhooks", "name": "wide", "tiers": {wide: "member"}}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert!(given["issuer"].is_null());

    let delete = |id: String| {
        let app = &app;
        let admin = admin.clone();
        async move {
            app.send("DELETE", &format!("/v1/platforms/{id}"), Some(&admin), None)
                .await
        }
    };
    assert_eq!(delete(id.clone()).await.status, 204);
    delete(id).await.assert_problem(404, "not_found");
    assert_eq!(
        app.get_as("/v1/platforms", &admin).await.json()["platforms"]
            .as_array()
            .map(Vec::len),
        Some(2),
        "sw and wide are left"
    );
}

async fn identity_tokens_exchange_for_subscriber_tokens(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let keys = [
        rsa_key("ghost-like", 1024, Algorithm::RS512),
        rsa_key("rsa-2048", 2048, Algorithm::RS256),
        p256_key("p256"),
        ed25519_key("ed"),
    ];
    let jwks = JwksServer::start(keys.iter().map(|k| k.jwk.clone()).collect());
    oidc_platform(&app, &admin, &jwks.url).await;

    // Known to the newsroom: a subscriber whose email the issuer vouches for.
    let subscriber = app
        .post_as(
            "/v1/subscribers",
            &admin,
            json!({"external_id": "m-1", "email": "Reader@Example.org", "tier": "member"}),
        )
        .await
        .json();
    for key in &keys {
        let reply = exchange(&app, &sign(key, claims("reader@example.org"))).await;
        assert_eq!(reply.status, 200, "{:?}: {}", key.alg, reply.text());
        let body = reply.json();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 3600);
        let token = body["access_token"].as_str().expect("token");
        // The token is a subscriber's: the subscriber list opens for it.
        let list = app.get_as("/v1/articles?limit=1", token).await;
        assert_ne!(list.status, 401, "{}", list.text());
    }

    let key = &keys[0];
    let mut wrong = claims("reader@example.org");
    wrong["iss"] = json!("https://members.example/other");
    exchange(&app, &sign(key, wrong))
        .await
        .assert_problem(401, "unauthorized");
    let mut wrong = claims("reader@example.org");
    wrong["aud"] = json!("someone-else");
    exchange(&app, &sign(key, wrong))
        .await
        .assert_problem(401, "unauthorized");
    let mut expired = claims("reader@example.org");
    expired["exp"] = json!(now() - 120);
    exchange(&app, &sign(key, expired))
        .await
        .assert_problem(401, "unauthorized");
    let mut no_exp = claims("reader@example.org");
    no_exp.as_object_mut().expect("object").remove("exp");
    exchange(&app, &sign(key, no_exp))
        .await
        .assert_problem(401, "unauthorized");
    exchange(&app, "not a token")
        .await
        .assert_problem(401, "unauthorized");

    // A valid identity with no subscriber behind it: nothing is created.
    exchange(&app, &sign(key, claims("stranger@example.org")))
        .await
        .assert_problem(403, "not_a_subscriber");

    // Another reader's email, not verified by the platform (said false, said
    // nothing): an address anyone can type opens nobody's subscription.
    for verified in [json!(false), json!("false"), Value::Null] {
        let mut unverified = claims("mallory-sub");
        unverified["email"] = json!("reader@example.org");
        match verified {
            Value::Null => {
                unverified
                    .as_object_mut()
                    .expect("object")
                    .remove("email_verified");
            }
            said => unverified["email_verified"] = said,
        }
        exchange(&app, &sign(key, unverified))
            .await
            .assert_problem(403, "not_a_subscriber");
    }
    // A `sub` equal to the external id the integration gave another
    // subscriber: not this platform's subscriber, not theirs to claim.
    let mut borrowed = claims("m-1");
    borrowed["email"] = json!("mallory@example.org");
    exchange(&app, &sign(key, borrowed))
        .await
        .assert_problem(403, "not_a_subscriber");

    // Deleted: the exchange stops, and so does the token it gave.
    let token = exchange(&app, &sign(key, claims("reader@example.org")))
        .await
        .json()["access_token"]
        .as_str()
        .expect("token")
        .to_owned();
    let id = subscriber["id"].as_str().expect("id");
    let removed = app
        .send(
            "DELETE",
            &format!("/v1/subscribers/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert!(removed.status.is_success(), "{}", removed.text());
    app.get_as("/v1/articles?limit=1", &token)
        .await
        .assert_problem(401, "unauthorized");
    exchange(&app, &sign(key, claims("reader@example.org")))
        .await
        .assert_problem(403, "not_a_subscriber");
}

async fn the_algorithm_comes_from_the_key_never_the_token(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let rsa = rsa_key("rsa", 2048, Algorithm::RS256);
    let ec = p256_key("ec");
    let small = rsa_key("small", 512, Algorithm::RS256);
    let jwks = JwksServer::start(vec![rsa.jwk.clone(), ec.jwk.clone(), small.jwk.clone()]);
    reader_of_oidc_platform(&app, &admin, &jwks.url).await;
    assert_eq!(
        exchange(&app, &sign(&rsa, claims("r@example.org")))
            .await
            .status,
        200
    );

    // HS256 signed with the RSA key's public modulus as the secret.
    let modulus = B64URL
        .decode(rsa.jwk["n"].as_str().expect("n"))
        .expect("b64");
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some("rsa".into());
    let confused = jsonwebtoken::encode(
        &header,
        &claims("r@example.org"),
        &EncodingKey::from_secret(&modulus),
    )
    .expect("sign");
    exchange(&app, &confused)
        .await
        .assert_problem(401, "unauthorized");

    // alg none: the signature part empty.
    let none_header = B64URL.encode(br#"{"alg":"none","kid":"rsa","typ":"JWT"}"#);
    let payload = B64URL.encode(claims("r@example.org").to_string());
    exchange(&app, &format!("{none_header}.{payload}."))
        .await
        .assert_problem(401, "unauthorized");

    // An RSA signature presented under the EC key's kid.
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("ec".into());
    let crossed =
        jsonwebtoken::encode(&header, &claims("r@example.org"), &rsa.encoding).expect("sign");
    exchange(&app, &crossed)
        .await
        .assert_problem(401, "unauthorized");

    // RS512 from an RS256-only key is fine (the key names no alg); an RSA key under
    // 1024 bits never verifies.
    exchange(&app, &sign(&small, claims("r@example.org")))
        .await
        .assert_problem(401, "unauthorized");
}

async fn unknown_kids_do_not_flood_the_issuer(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let admin = app.admin_token().await;
    let known = rsa_key("known", 2048, Algorithm::RS256);
    let jwks = JwksServer::start(vec![known.jwk.clone()]);
    reader_of_oidc_platform(&app, &admin, &jwks.url).await;
    assert_eq!(
        exchange(&app, &sign(&known, claims("r@example.org")))
            .await
            .status,
        200
    );
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1);

    // A key the issuer has not published yet: each try is refused, and the
    // issuer is asked at most once per 30 seconds.
    let rotated = rsa_key("rotated", 2048, Algorithm::RS256);
    for _ in 0..20 {
        exchange(&app, &sign(&rotated, claims("r@example.org")))
            .await
            .assert_problem(401, "unauthorized");
    }
    assert_eq!(
        jwks.fetches.load(Ordering::SeqCst),
        1,
        "the unknown kid was fetched for"
    );
    // The known key is still served from the cache meanwhile.
    assert_eq!(
        exchange(&app, &sign(&known, claims("r@example.org")))
            .await
            .status,
        200
    );
    jwks.keys.lock().expect("keys").push(rotated.jwk.clone());
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1);
}

/// The fetcher refuses loopback unless allowed, also behind a name that
/// resolves to it, and takes plain http only to allowed addresses.
#[test]
fn the_fetcher_reaches_private_addresses_only_when_allowed() {
    use sourceledger::outbound::{FetchError, Fetcher, Limits};
    let jwks = JwksServer::start(vec![]);
    let limits = Limits {
        timeout: std::time::Duration::from_secs(5),
        max_bytes: 1024,
    };
    let closed = Fetcher::new(vec![], vec![80, 443], "http://sourceledger.test");
    let by_name = jwks.url.replace("127.0.0.1", "localhost");
    for url in [
        &jwks.url,
        &by_name,
        &jwks.url.replace("http://", "https://"),
    ] {
        match closed.get(url, limits) {
            Err(FetchError::Refused(_)) => {}
            other => panic!("{url}: {other:?}"),
        }
    }
    let open = Fetcher::new(
        vec![
            "127.0.0.1/32".parse().expect("cidr"),
            "::1/128".parse().expect("cidr"),
        ],
        vec![80, 443],
        "http://sourceledger.test",
    );
    let fetched = open.get(&jwks.url, limits).expect("allowed");
    assert_eq!(fetched.status, 200);
    assert_eq!(
        fetched.cache_control.as_deref(),
        Some("public, max-age=600")
    );
    let tiny = Limits {
        max_bytes: 5,
        ..limits
    };
    assert!(matches!(
        open.get(&jwks.url, tiny),
        Err(FetchError::TooLarge(5))
    ));
    assert!(matches!(
        open.get("file:///etc/passwd", limits),
        Err(FetchError::BadUrl(_))
    ));
}

/// Key rotation and removal, as the cache sees them: a new `kid` is fetched
/// for once 30 s have passed since the last fetch, and a removed key stops
/// verifying once a fetch no longer finds it. Waits 31 s; the cache holds no
/// database state, so SQLite alone.
#[actix_web::test]
async fn rotated_and_removed_keys_take_effect_at_the_next_allowed_fetch() {
    let app = TestApp::spawn(Backend::sqlite()).await;
    let admin = app.admin_token().await;
    let old = rsa_key("old", 2048, Algorithm::RS256);
    let new = ed25519_key("new");
    let jwks = JwksServer::start_with_max_age(vec![old.jwk.clone()], 1);
    reader_of_oidc_platform(&app, &admin, &jwks.url).await;
    assert_eq!(
        exchange(&app, &sign(&old, claims("r@example.org")))
            .await
            .status,
        200
    );

    // The issuer rotates: the new key published, the old one withdrawn.
    *jwks.keys.lock().expect("keys") = vec![new.jwk.clone()];
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // Within 30 s of the last fetch: the new kid is not fetched for, the old
    // key (stale, but the latest we have) still verifies.
    exchange(&app, &sign(&new, claims("r@example.org")))
        .await
        .assert_problem(401, "unauthorized");
    assert_eq!(
        exchange(&app, &sign(&old, claims("r@example.org")))
            .await
            .status,
        200
    );
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 1);

    std::thread::sleep(std::time::Duration::from_secs(30));
    assert_eq!(
        exchange(&app, &sign(&new, claims("r@example.org")))
            .await
            .status,
        200
    );
    assert_eq!(jwks.fetches.load(Ordering::SeqCst), 2);
    exchange(&app, &sign(&old, claims("r@example.org")))
        .await
        .assert_problem(401, "unauthorized");
}
