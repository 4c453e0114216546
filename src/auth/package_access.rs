//! A reader's access to one article's web archive, for the replay page:
//! ReplayWeb.page's service worker fetches the package by ranges with no
//! `Authorization` header, and the replayed pages run in the same origin as
//! that worker, so what its address carries must be worth little if a
//! hostile archived page reads it. Not the reader's token, then, but a grant
//! for that one package, for a few hours: `<expiry>.<HMAC>`, the expiry in
//! Unix seconds and the HMAC-SHA256 of the slug and expiry under a key
//! derived from the sealing key (shared by every server of a newsroom).

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::secrets::SealingKey;

/// How long a grant lasts: a reading session.
pub const LIFETIME_SECS: i64 = 8 * 3600;

const PURPOSE: &str = "sourceledger package access v1";

fn mac(sealing: &SealingKey, slug: &str, expiry: i64) -> Option<Hmac<Sha256>> {
    let key = sealing.derive(PURPOSE)?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).ok()?;
    mac.update(format!("{slug}\n{expiry}").as_bytes());
    Some(mac)
}

/// A grant to read `slug`'s package until `now` + [`LIFETIME_SECS`].
pub fn grant(sealing: &SealingKey, slug: &str, now: i64) -> Option<String> {
    let expiry = now + LIFETIME_SECS;
    let tag = mac(sealing, slug, expiry)?.finalize().into_bytes();
    Some(format!("{expiry}.{}", hex::encode(tag)))
}

/// Whether `grant` lets its bearer read `slug`'s package at `now`.
pub fn allows(sealing: &SealingKey, grant: &str, slug: &str, now: i64) -> bool {
    let Some((expiry, tag)) = grant.split_once('.') else {
        return false;
    };
    let (Ok(expiry), Ok(tag)) = (expiry.parse::<i64>(), hex::decode(tag)) else {
        return false;
    };
    if expiry < now || expiry > now + LIFETIME_SECS {
        return false;
    }
    mac(sealing, slug, expiry).is_some_and(|m| m.verify_slice(&tag).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_is_for_one_package_for_a_while() {
        let sealing = SealingKey::from_bytes([1; 32]);
        let g = grant(&sealing, "story", 1_000).expect("grant");
        assert!(allows(&sealing, &g, "story", 1_000));
        assert!(allows(&sealing, &g, "story", 1_000 + LIFETIME_SECS));
        assert!(!allows(&sealing, &g, "story", 1_001 + LIFETIME_SECS));
        assert!(!allows(&sealing, &g, "other-story", 1_000));
        let (expiry, tag) = g.split_once('.').expect("dot");
        let later = format!("{}.{tag}", expiry.parse::<i64>().expect("n") + 60);
        assert!(!allows(&sealing, &later, "story", 1_000));
        assert!(!allows(&sealing, "nonsense", "story", 1_000));
        let elsewhere = SealingKey::from_bytes([2; 32]);
        assert!(!allows(&elsewhere, &g, "story", 1_000));
    }
}
