//! Webhooks from membership platforms: the signature checked over the raw
//! bytes before anything is parsed, then the delivery read into one [`Event`].
//!
//! - Ghost: `X-Ghost-Signature: sha256=<hex>, t=<ms>`, the hex being
//!   HMAC-SHA256(secret, body bytes followed by the decimal `t`). Ghost names
//!   no event in the body, so it is read from the body's shape:
//!   `{"member": {"current", "previous"}}` is an add or edit when `current`
//!   holds a member and a delete when only `previous` does;
//!   `{"post": {...}}` publishes when `current.status` is `published` and
//!   retracts when the post stops being published.
//! - Standard Webhooks (for the `standard-webhooks` and `oidc` kinds):
//!   `webhook-id`, `webhook-timestamp` (seconds) and `webhook-signature`, a
//!   space-separated list of `v1,<base64 HMAC-SHA256>` over `id.timestamp.body`
//!   with the key the base64 after `whsec_`; any one matching signature will do
//!   (key rotation). Body `{"type", "timestamp", "data": {"external_id",
//!   "email", "tier"}}` with types `subscriber.created`, `.updated`, `.deleted`.
//!
//! Both refuse a timestamp more than 5 minutes from the server's clock.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The largest body a webhook may have.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// How far a delivery's timestamp may be from the server's clock.
pub const WINDOW_SECS: i64 = 300;

/// Why a delivery is refused.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// No valid signature, or a timestamp out of the window: 401.
    #[error("{0}")]
    Unsigned(String),
    /// Signed, but not a delivery we can read: 400.
    #[error("{0}")]
    Malformed(String),
}

/// What a delivery asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A member added or changed: `status` is the platform's word for their
    /// standing, mapped to a tier by the platform's `tiers`.
    Member {
        external_id: String,
        email: Option<String>,
        status: String,
        /// The platform's time of this state, when it gives one.
        at: Option<DateTime<Utc>>,
    },
    MemberDeleted {
        external_id: String,
        at: Option<DateTime<Utc>>,
    },
    PostPublished(Post),
    PostUnpublished(Post),
    /// Signed and well-formed, but nothing we act on.
    Ignored(String),
}

/// A platform's post, as a delivery names it: it acts only on the article
/// linked to it, or, while none is, the article whose `url` is its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    /// The platform's own id of the post.
    pub id: String,
    /// The post's public URL.
    pub url: Option<String>,
    /// The post's HTML, when the delivery carries it (Ghost's do): its
    /// links are proposed as the article's citations.
    pub html: Option<String>,
}

/// The headers a delivery may be signed with.
#[derive(Debug, Default, Clone, Copy)]
pub struct Signatures<'a> {
    pub ghost: Option<&'a str>,
    pub webhook_id: Option<&'a str>,
    pub webhook_timestamp: Option<&'a str>,
    pub webhook_signature: Option<&'a str>,
}

fn unsigned(what: &str) -> Refusal {
    Refusal::Unsigned(what.to_owned())
}

fn within_window(seconds: i64, now: DateTime<Utc>) -> Result<(), Refusal> {
    if (now.timestamp() - seconds).abs() > WINDOW_SECS {
        return Err(unsigned(
            "the delivery's timestamp is more than 5 minutes from ours",
        ));
    }
    Ok(())
}

/// HMAC takes a key of any length; the error cannot happen.
fn mac(key: &[u8]) -> Result<Hmac<Sha256>, Refusal> {
    <Hmac<Sha256> as Mac>::new_from_slice(key)
        .map_err(|_| Refusal::Malformed("the platform's secret is unusable".into()))
}

/// Checks a delivery's signature the way its platform's kind signs and reads
/// its body: the delivery's id and what it asks for.
pub fn authenticate(
    kind: super::PlatformKind,
    secret: &str,
    signatures: Signatures,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<(String, Event), Refusal> {
    match kind {
        super::PlatformKind::Ghost => Ok((
            verify_ghost(secret.as_bytes(), signatures, body, now)?,
            parse_ghost(body)?,
        )),
        super::PlatformKind::Oidc | super::PlatformKind::StandardWebhooks => Ok((
            verify_standard(secret, signatures, body, now)?,
            parse_standard(body)?,
        )),
    }
}

/// Checks a Ghost delivery; its id is the SHA-256 of the body, as Ghost sends
/// a retry with the same body.
pub fn verify_ghost(
    secret: &[u8],
    signatures: Signatures,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<String, Refusal> {
    let header = signatures
        .ghost
        .ok_or_else(|| unsigned("no X-Ghost-Signature header"))?;
    let (mut hex_mac, mut millis) = (None, None);
    for part in header.split(',').map(str::trim) {
        if let Some(value) = part.strip_prefix("sha256=") {
            hex_mac = Some(value);
        } else if let Some(value) = part.strip_prefix("t=") {
            millis = value.parse::<i64>().ok();
        }
    }
    let (Some(hex_mac), Some(millis)) = (hex_mac, millis) else {
        return Err(unsigned("X-Ghost-Signature is not sha256=<hex>, t=<ms>"));
    };
    within_window(millis.div_euclid(1000), now)?;
    let expected = hex::decode(hex_mac).map_err(|_| unsigned("the signature is not hex"))?;
    let mut check = mac(secret)?;
    check.update(body);
    check.update(millis.to_string().as_bytes());
    check
        .verify_slice(&expected)
        .map_err(|_| unsigned("the signature does not match"))?;
    Ok(hex::encode(Sha256::digest(body)))
}

/// Checks a Standard Webhooks delivery; its id is `webhook-id`.
pub fn verify_standard(
    secret: &str,
    signatures: Signatures,
    body: &[u8],
    now: DateTime<Utc>,
) -> Result<String, Refusal> {
    let (Some(id), Some(timestamp), Some(signature)) = (
        signatures.webhook_id,
        signatures.webhook_timestamp,
        signatures.webhook_signature,
    ) else {
        return Err(unsigned(
            "webhook-id, webhook-timestamp and webhook-signature are required",
        ));
    };
    let seconds = timestamp
        .parse::<i64>()
        .map_err(|_| unsigned("webhook-timestamp is not whole seconds"))?;
    within_window(seconds, now)?;
    if id.is_empty() || id.len() > 200 {
        return Err(unsigned("webhook-id must be 1 to 200 characters"));
    }
    let key = match secret.strip_prefix("whsec_") {
        Some(encoded) => BASE64.decode(encoded).map_err(|_| {
            Refusal::Malformed("the platform's secret is not whsec_<base64>".into())
        })?,
        None => secret.as_bytes().to_vec(),
    };
    let signer = mac(&key)?;
    let matches = signature.split(' ').any(|candidate| {
        let Some(encoded) = candidate.strip_prefix("v1,") else {
            return false;
        };
        let Ok(expected) = BASE64.decode(encoded) else {
            return false;
        };
        let mut check = signer.clone();
        check.update(id.as_bytes());
        check.update(b".");
        check.update(timestamp.as_bytes());
        check.update(b".");
        check.update(body);
        check.verify_slice(&expected).is_ok()
    });
    if !matches {
        return Err(unsigned("no v1 signature matches"));
    }
    Ok(id.to_owned())
}

fn json(body: &[u8]) -> Result<Value, Refusal> {
    serde_json::from_slice(body)
        .map_err(|e| Refusal::Malformed(format!("the body is not JSON ({e})")))
}

fn text(value: &Value, name: &str) -> Option<String> {
    value.get(name).and_then(Value::as_str).map(str::to_owned)
}

fn time(value: &Value, name: &str) -> Option<DateTime<Utc>> {
    value
        .get(name)
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn has_fields(value: &Value) -> bool {
    value.as_object().is_some_and(|o| !o.is_empty())
}

/// Reads a Ghost delivery.
pub fn parse_ghost(body: &[u8]) -> Result<Event, Refusal> {
    let body = json(body)?;
    let missing = |what: &str| Refusal::Malformed(format!("the delivery has no {what}"));
    if let Some(member) = body.get("member") {
        let (current, previous) = (&member["current"], &member["previous"]);
        if has_fields(current) {
            return Ok(Event::Member {
                external_id: text(current, "id").ok_or_else(|| missing("member id"))?,
                email: text(current, "email"),
                status: text(current, "status").ok_or_else(|| missing("member status"))?,
                at: time(current, "updated_at"),
            });
        }
        if has_fields(previous) {
            return Ok(Event::MemberDeleted {
                external_id: text(previous, "id").ok_or_else(|| missing("member id"))?,
                at: None,
            });
        }
        return Err(missing("member"));
    }
    if let Some(post) = body.get("post") {
        let (current, previous) = (&post["current"], &post["previous"]);
        let published = |state: &Value| text(state, "status").as_deref() == Some("published");
        let post = Post {
            id: text(current, "id")
                .or_else(|| text(previous, "id"))
                .ok_or_else(|| missing("post id"))?,
            url: text(current, "url").or_else(|| text(previous, "url")),
            html: text(current, "html"),
        };
        return Ok(if published(current) {
            Event::PostPublished(post)
        } else if published(previous) {
            Event::PostUnpublished(post)
        } else {
            Event::Ignored("a post that is not and was not published".into())
        });
    }
    Ok(Event::Ignored("neither a member nor a post".into()))
}

/// Reads a Standard Webhooks delivery.
pub fn parse_standard(body: &[u8]) -> Result<Event, Refusal> {
    let body = json(body)?;
    let kind = text(&body, "type").ok_or_else(|| Refusal::Malformed("no type".into()))?;
    let data = &body["data"];
    let at = time(&body, "timestamp");
    let external_id = || {
        text(data, "external_id").ok_or_else(|| Refusal::Malformed("no data.external_id".into()))
    };
    Ok(match kind.as_str() {
        "subscriber.created" | "subscriber.updated" => Event::Member {
            external_id: external_id()?,
            email: text(data, "email"),
            status: text(data, "tier").ok_or_else(|| Refusal::Malformed("no data.tier".into()))?,
            at,
        },
        "subscriber.deleted" => Event::MemberDeleted {
            external_id: external_id()?,
            at,
        },
        other => Event::Ignored(format!("event {other:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ghost_shapes_name_the_event() {
        let added = br#"{"member":{"current":{"id":"m1","email":"a@b.c","status":"paid","updated_at":"2026-11-29T10:00:00.000Z"},"previous":{}}}"#;
        assert!(
            matches!(parse_ghost(added), Ok(Event::Member { status, at: Some(_), .. }) if status == "paid")
        );
        let deleted = br#"{"member":{"current":{},"previous":{"id":"m1","status":"free"}}}"#;
        assert_eq!(
            parse_ghost(deleted).ok(),
            Some(Event::MemberDeleted {
                external_id: "m1".into(),
                at: None
            })
        );
        let unpublished = br#"{"post":{"current":{"id":"p1","slug":"s","url":"https://n.example/s/","status":"draft"},"previous":{"status":"published"}}}"#;
        assert_eq!(
            parse_ghost(unpublished).ok(),
            Some(Event::PostUnpublished(Post {
                id: "p1".into(),
                url: Some("https://n.example/s/".into()),
                html: None,
            }))
        );
        assert!(matches!(parse_ghost(b"{}"), Ok(Event::Ignored(_))));
        assert!(matches!(
            parse_ghost(b"not json"),
            Err(Refusal::Malformed(_))
        ));
    }
}
