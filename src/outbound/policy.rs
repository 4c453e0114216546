//! Which addresses a request may reach: the policy the [`Fetcher`]'s
//! resolver applies to every address of every hop.
//!
//! [`Fetcher`]: super::Fetcher

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use ipnet::IpNet;
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// Why `ip` may not be reached, or `None` for a public unicast address.
pub fn refusal(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refusal_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return refusal_v4(v4).map(|_| "an IPv4-mapped non-public address");
            }
            let segments = v6.segments();
            // NAT64 (64:ff9b::/96) carries an IPv4 address in its low bits.
            if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                let [a, b] = segments[6].to_be_bytes();
                let [c, d] = segments[7].to_be_bytes();
                return refusal_v4(Ipv4Addr::new(a, b, c, d))
                    .map(|_| "a NAT64 form of a non-public address");
            }
            // Transition forms that reach an IPv4 (or private IPv6) network
            // through a relay or translator the fetcher cannot judge: 6to4
            // (2002::/16), Teredo (2001::/32), local-use NAT64
            // (64:ff9b:1::/48, RFC 8215) and SIIT's IPv4-translated
            // addresses (::ffff:0:0:0/96, RFC 2765).
            if segments[0] == 0x2002 {
                Some("a 6to4 address")
            } else if segments[..2] == [0x2001, 0] {
                Some("a Teredo address")
            } else if segments[..3] == [0x64, 0xff9b, 1] {
                Some("a local-use NAT64 address")
            } else if segments[..6] == [0, 0, 0, 0, 0xffff, 0] {
                Some("an IPv4-translated (SIIT) address")
            } else if v6.is_unspecified() {
                Some("the unspecified address")
            } else if v6.is_loopback() {
                Some("a loopback address")
            } else if v6.is_multicast() {
                Some("a multicast address")
            } else if (segments[0] & 0xfe00) == 0xfc00 {
                Some("a unique local (private) address")
            } else if (segments[0] & 0xffc0) == 0xfe80 || (segments[0] & 0xffc0) == 0xfec0 {
                Some("a link-local address")
            } else if (segments[0] == 0x2001 && segments[1] == 0x0db8)
                || (segments[0] & 0xfff0) == 0x3ff0
            {
                Some("a documentation address")
            } else if segments[..4] == [0x100, 0, 0, 0] {
                Some("a discard address")
            } else if segments[..6] == [0, 0, 0, 0, 0, 0] {
                Some("an IPv4-compatible address")
            } else {
                None
            }
        }
    }
}

fn refusal_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip.is_unspecified() || a == 0 {
        Some("the unspecified address or \"this network\"")
    } else if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address (cloud metadata lives here)")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a shared (CGNAT) address")
    } else if ip.is_broadcast() || ip.is_multicast() {
        Some("a multicast or broadcast address")
    } else if ip.is_documentation() || (a == 198 && (18..20).contains(&b)) {
        Some("a documentation or benchmarking address")
    } else if (a == 192 && b == 0 && c == 0) || a >= 240 {
        Some("a reserved address")
    } else {
        None
    }
}

/// Addresses no request may reach unless allowed: everything that is not a
/// public unicast address.
#[cfg(test)]
fn is_public(ip: IpAddr) -> bool {
    refusal(ip).is_none()
}

/// The policy, applied by the resolver to every address of every hop.
#[derive(Debug, Clone)]
pub(super) struct Policy {
    pub(super) allow: Arc<[IpNet]>,
    pub(super) ports: Arc<[u16]>,
    /// Whether plain `http` may reach public addresses (captures and link
    /// checks: many sources are still on http) or only allowed ones (keys).
    pub(super) plain_http_public: bool,
}

impl Policy {
    fn allowed(&self, ip: IpAddr) -> bool {
        self.allow.iter().any(|net| net.contains(&ip))
    }

    /// Keeps the addresses this URL may be fetched from, or says why none.
    fn check(&self, uri: &Uri, addrs: ResolvedSocketAddrs) -> Result<ResolvedSocketAddrs, String> {
        let plain = uri.scheme_str() == Some("http");
        let host = uri.host().unwrap_or_default();
        let mut kept = addrs.clone();
        kept.truncate(0);
        let mut why = None;
        for addr in addrs.iter() {
            let ip = addr.ip();
            if self.allowed(ip) {
                kept.push(*addr);
                continue;
            }
            why = Some(if let Some(reason) = refusal(ip) {
                // The address and why it is not public are for the operator
                // only: in an answer or a ledger entry they would make the
                // fetcher an oracle of the network behind it.
                tracing::warn!(%host, %ip, reason, "outbound request refused: not a public address");
                format!("{host} is not a public address")
            } else if plain && !self.plain_http_public {
                format!("{host}: plain http is taken only to addresses in SOURCELEDGER_FETCH_ALLOW")
            } else if !self.ports.contains(&addr.port()) {
                format!(
                    "{host}: port {} is not in SOURCELEDGER_FETCH_PORTS",
                    addr.port()
                )
            } else {
                kept.push(*addr);
                continue;
            });
        }
        match why {
            Some(why) if kept.is_empty() => Err(why),
            _ if kept.is_empty() => Err(format!("{host} resolves to no address")),
            _ => Ok(kept),
        }
    }
}

#[derive(Debug)]
pub(super) struct PolicyResolver {
    pub(super) inner: DefaultResolver,
    pub(super) policy: Policy,
}

impl Resolver for PolicyResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        // A name that does not resolve is said so plainly (a gone link).
        let addrs = self
            .inner
            .resolve(uri, config, timeout)
            .map_err(|e| match e {
                ureq::Error::Io(_) => ureq::Error::HostNotFound,
                other => other,
            })?;
        self.policy.check(uri, addrs).map_err(|reason| {
            ureq::Error::Io(std::io::Error::new(
                std::io::ErrorKind::PermissionDenied,
                reason,
            ))
        })
    }
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
            "3fff::1",
            "ff02::1",
            // 6to4 of 127.0.0.1 and of 8.8.8.8, Teredo, local-use NAT64, SIIT.
            "2002:7f00:1::1",
            "2002:808:808::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "64:ff9b:1::7f00:1",
            "64:ff9b:1::808:808",
            "::ffff:0:7f00:1",
            "::ffff:0:808:808",
        ] {
            let ip: IpAddr = private.parse().expect("address");
            assert!(!is_public(ip), "{private} counted as public");
        }
        for public in [
            "1.1.1.1",
            "93.184.216.34",
            "2606:4700::1111",
            "2001:4860:4860::8888",
            "::ffff:8.8.8.8",
        ] {
            let ip: IpAddr = public.parse().expect("address");
            assert!(is_public(ip), "{public} counted as private");
        }
    }
}
