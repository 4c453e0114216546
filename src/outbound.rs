//! The one way out (SPEC "Outbound requests"): every request the server makes
//! (JWKS today; captures, link checks, witnesses and time stamps next) goes
//! through a [`Fetcher`], which refuses loopback, private, link-local and other
//! non-public addresses unless the operator allows them with
//! `SOURCELEDGER_FETCH_ALLOW`, and takes plain `http` only to allowed addresses.
//!
//! The check sits in the resolver, so it applies to the addresses the
//! connection is really made to (a name that resolves to 127.0.0.1 is refused,
//! and so is every redirect hop), not to the name in the URL. No proxy from the
//! environment is used. Calls block: run them off the async executor.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// How long and how large one request may be.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub timeout: Duration,
    pub max_bytes: u64,
}

/// A response: its status, the headers a caller may need, and the body.
#[derive(Debug)]
pub struct Fetched {
    pub status: u16,
    pub cache_control: Option<String>,
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{0} is not an http(s) URL")]
    BadUrl(String),
    #[error("refused: {0}")]
    Refused(String),
    #[error("timed out")]
    Timeout,
    #[error("the response is larger than {0} bytes")]
    TooLarge(u64),
    #[error("{0}")]
    Failed(String),
}

/// Addresses no request may reach unless allowed: everything that is not a
/// public unicast address.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let segments = v6.segments();
            // NAT64 (64:ff9b::/96) carries an IPv4 address in its low bits.
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = segments[6].to_be_bytes();
                let [c, d] = segments[7].to_be_bytes();
                return is_public_v4(Ipv4Addr::new(a, b, c, d));
            }
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || (segments[0] & 0xfe00) == 0xfc00 // unique local
                || (segments[0] & 0xffc0) == 0xfe80 // link-local
                || (segments[0] & 0xffc0) == 0xfec0 // site-local (deprecated)
                || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
                || segments[..4] == [0x100, 0, 0, 0] // discard
                || segments[..6] == [0, 0, 0, 0, 0, 0]) // IPv4-compatible (deprecated)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (18..20).contains(&b)) // benchmarking
        || a >= 240) // reserved
}

/// The policy, applied by the resolver to every address of every hop.
#[derive(Debug, Clone)]
struct Policy {
    allow: Arc<[IpNet]>,
}

impl Policy {
    fn allowed(&self, ip: IpAddr) -> bool {
        self.allow.iter().any(|net| net.contains(&ip))
    }

    /// Keeps the addresses this URL may be fetched from; an `http` URL only
    /// reaches allowed addresses.
    fn check(&self, uri: &Uri, addrs: ResolvedSocketAddrs) -> Result<ResolvedSocketAddrs, String> {
        let plain = uri.scheme_str() == Some("http");
        let mut kept = addrs.clone();
        kept.truncate(0);
        for addr in addrs.iter() {
            let ip = addr.ip();
            if self.allowed(ip) || (!plain && is_public(ip)) {
                kept.push(*addr);
            }
        }
        if kept.is_empty() {
            let host = uri.host().unwrap_or_default();
            return Err(if plain {
                format!("{host}: plain http only to addresses in SOURCELEDGER_FETCH_ALLOW")
            } else {
                format!("{host} resolves to no public address")
            });
        }
        Ok(kept)
    }
}

#[derive(Debug)]
struct PolicyResolver {
    inner: DefaultResolver,
    policy: Policy,
}

impl Resolver for PolicyResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addrs = self.inner.resolve(uri, config, timeout)?;
        self.policy.check(uri, addrs).map_err(|reason| {
            ureq::Error::Io(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                reason,
            ))
        })
    }
}

/// The outbound HTTP client. Cheap to clone.
#[derive(Clone)]
pub struct Fetcher {
    agent: ureq::Agent,
}

impl Fetcher {
    /// A fetcher that may also reach the addresses in `allow` (over plain
    /// `http` too).
    pub fn new(allow: Vec<IpNet>) -> Self {
        let config = ureq::Agent::config_builder()
            .proxy(None)
            .max_redirects(3)
            .http_status_as_error(false)
            .user_agent(concat!("sourceledger/", env!("CARGO_PKG_VERSION")))
            .build();
        let resolver = PolicyResolver {
            inner: DefaultResolver::default(),
            policy: Policy {
                allow: allow.into(),
            },
        };
        Self {
            agent: ureq::Agent::with_parts(config, DefaultConnector::default(), resolver),
        }
    }

    /// GETs `url` within `limits`. Any status is a response; the caller decides.
    pub fn get(&self, url: &str, limits: Limits) -> Result<Fetched, FetchError> {
        let parsed = url::Url::parse(url).map_err(|_| FetchError::BadUrl(url.to_owned()))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(FetchError::BadUrl(url.to_owned()));
        }
        let response = self
            .agent
            .get(url)
            .config()
            .timeout_global(Some(limits.timeout))
            .build()
            .call()
            .map_err(fetch_error)?;
        let status = response.status().as_u16();
        let cache_control = response
            .headers()
            .get("cache-control")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let mut body = Vec::new();
        response
            .into_body()
            .into_reader()
            .take(limits.max_bytes + 1)
            .read_to_end(&mut body)
            .map_err(|e| fetch_error(ureq::Error::Io(e)))?;
        if body.len() as u64 > limits.max_bytes {
            return Err(FetchError::TooLarge(limits.max_bytes));
        }
        Ok(Fetched {
            status,
            cache_control,
            body,
        })
    }
}

fn fetch_error(error: ureq::Error) -> FetchError {
    match error {
        ureq::Error::Timeout(_) => FetchError::Timeout,
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            FetchError::Refused(e.to_string())
        }
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => FetchError::Timeout,
        ureq::Error::Io(e) => match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<ureq::Error>())
        {
            Some(ureq::Error::Timeout(_)) => FetchError::Timeout,
            _ => FetchError::Failed(e.to_string()),
        },
        other => FetchError::Failed(other.to_string()),
    }
}

/// Parses `SOURCELEDGER_FETCH_ALLOW`: comma-separated addresses or CIDRs.
pub fn parse_allow_list(text: &str) -> Result<Vec<IpNet>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            item.parse::<IpNet>()
                .or_else(|_| item.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{item:?} is not an IP address or CIDR"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_unicast_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "192.0.0.8",
            "240.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
            "2001:db8::1",
            "ff02::1",
        ] {
            let ip: IpAddr = private.parse().expect("address");
            assert!(!is_public(ip), "{private} counted as public");
        }
        for public in [
            "1.1.1.1",
            "93.184.216.34",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            let ip: IpAddr = public.parse().expect("address");
            assert!(is_public(ip), "{public} counted as private");
        }
    }

    #[test]
    fn the_allow_list_takes_addresses_and_cidrs() {
        let list = parse_allow_list("127.0.0.1, 10.0.0.0/8,::1").expect("list");
        assert_eq!(list.len(), 3);
        assert!(list[0].contains(&"127.0.0.1".parse::<IpAddr>().expect("ip")));
        assert!(list[1].contains(&"10.9.9.9".parse::<IpAddr>().expect("ip")));
        assert!(parse_allow_list("").expect("empty").is_empty());
        assert!(parse_allow_list("localhost").is_err());
    }
}
