//! Rate limits (SPEC "Membership platforms"): one keyed limiter per caller
//! (a token's subject: its API key or subscriber) and one per client address, each a quota per minute (0: off). Each server
//! process counts for itself. The HTTP side is `api::rate_limit`.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use sha2::{Digest, Sha256};

use crate::config::Settings;

/// Forget idle keys every this many checks.
const SWEEP_EVERY: u64 = 8192;

/// Who a request is counted against.
pub enum Counted {
    /// The subject (`key:<id>` or `subscriber:<id>`) of a token that
    /// verified: every token minted for one key or subscriber shares it.
    Subject(String),
    /// Everyone else, by address.
    Address(IpAddr),
}

/// The limiters of one process.
pub struct RateLimits {
    by_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    by_token: Option<DefaultKeyedRateLimiter<[u8; 32]>>,
    trusted_proxies: Vec<IpNet>,
    clock: DefaultClock,
    checks: AtomicU64,
}

fn limiter<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

impl RateLimits {
    pub fn new(settings: &Settings) -> Self {
        Self {
            by_address: limiter(settings.rate_limit_anon),
            by_token: limiter(settings.rate_limit_token),
            trusted_proxies: settings.trusted_proxies.clone(),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        }
    }

    fn trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|net| net.contains(&ip))
    }

    /// The client: the peer, unless the peer is a trusted proxy; then the
    /// right-most address of `X-Forwarded-For` (given in order of the headers)
    /// that is not a trusted proxy itself.
    pub fn client_address<'a>(
        &self,
        peer: IpAddr,
        forwarded_for: impl Iterator<Item = &'a str>,
    ) -> IpAddr {
        if !self.trusted(peer) {
            return peer;
        }
        let hops: Vec<IpAddr> = forwarded_for
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse().ok())
            .collect();
        hops.into_iter()
            .rev()
            .find(|ip| !self.trusted(*ip))
            .unwrap_or(peer)
    }

    /// Ok, or the whole seconds to wait.
    pub fn check(&self, counted: Counted) -> Result<(), u64> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.sweep();
        }
        let outcome = match (counted, &self.by_token, &self.by_address) {
            (Counted::Subject(subject), Some(limiter), _) => {
                limiter.check_key(&Sha256::digest(subject.as_bytes()).into())
            }
            (Counted::Address(ip), _, Some(limiter)) => limiter.check_key(&ip),
            _ => Ok(()),
        };
        outcome.map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
        })
    }

    fn sweep(&self) {
        if let Some(limiter) = &self.by_address {
            limiter.retain_recent();
        }
        if let Some(limiter) = &self.by_token {
            limiter.retain_recent();
        }
    }
}
