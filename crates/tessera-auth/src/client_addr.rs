//! Who is calling: the client's address, derived once per request and read from here by the
//! sign-in throttle, the audit log and anything else that wants it.
//!
//! The address is the TCP peer's, unless the peer is one of the configured `trusted_proxies`:
//! then the proxy's word is taken from `X-Forwarded-For`, or `Forwarded` (RFC 7239) when the
//! request has no `X-Forwarded-For`. The chain is read from the right (the entry the nearest
//! proxy appended) and the first address that is not itself a trusted proxy is the client: what
//! lies to its left was written by that client and proves nothing. A header that cannot be read
//! as such a chain (garbage, `unknown`, an obfuscated node, non-ASCII) counts as no header: the
//! peer's address is used, and the request is never refused for it.
//!
//! Only one header is read because a proxy writes one of them and passes the other through from
//! the client untouched; reading both would let a client name itself. Almost every proxy
//! (nginx, HAProxy's `forwardfor`, Envoy, Traefik, cloud load balancers) writes
//! `X-Forwarded-For`, hence its precedence. A proxy that writes `Forwarded` must drop a
//! client's `X-Forwarded-For`.

use axum::extract::ConnectInfo;
use axum::http::{header, HeaderMap, Request};
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

tokio::task_local! {
    /// The client's address for the request being served, when known (set by
    /// [`crate::metrics::track`], the outermost layer, for the request's whole duration).
    static CLIENT_IP: Option<IpAddr>;
}

/// The client address of the request this task is serving (`None` outside a request, or when
/// the server runs without connection info, as in `oneshot` tests).
pub fn current() -> Option<IpAddr> {
    CLIENT_IP.try_with(|a| *a).ok().flatten()
}

/// Runs `f` (the rest of the request) with `ip` as its client address.
pub async fn scope<F: std::future::Future>(ip: Option<IpAddr>, f: F) -> F::Output {
    CLIENT_IP.scope(ip, f).await
}

/// The reverse proxies whose forwarding headers are believed: a list of networks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses CIDRs (`10.0.0.0/8`, `2001:db8::/32`) or single addresses (`192.0.2.7`), naming the
    /// first that is neither.
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, String> {
        let mut nets = Vec::with_capacity(entries.len());
        for entry in entries {
            let entry = entry.as_ref().trim();
            if entry.is_empty() {
                continue;
            }
            let net = entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    format!(
                        "{entry:?} is not an address or a network like 10.0.0.0/8 or 2001:db8::/32"
                    )
                })?;
            nets.push(net.trunc());
        }
        Ok(Self(nets))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is a trusted proxy (an IPv4 address reached over IPv6 counts as itself).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client behind `peer`, by the rules of this module.
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let chain = if headers.contains_key(X_FORWARDED_FOR) {
            x_forwarded_for(headers)
        } else if headers.contains_key(header::FORWARDED) {
            forwarded(headers)
        } else {
            return peer;
        };
        let Some(chain) = chain else { return peer };
        // Right to left: the first address no trusted proxy owns. A chain of trusted proxies
        // only (a request from inside the proxies' network) names its farthest member.
        chain
            .iter()
            .rev()
            .find(|ip| !self.contains(**ip))
            .or(chain.first())
            .copied()
            .unwrap_or(peer)
    }

    /// The client address of `request`: its peer's, or what a trusted proxy says. `None` when
    /// the server was started without connection info.
    pub fn of<B>(&self, request: &Request<B>) -> Option<IpAddr> {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()?
            .0
            .ip();
        Some(self.client_ip(peer, request.headers()))
    }
}

const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// Every value of every `header` line, comma-separated entries in order; `None` if a line is
/// not visible ASCII.
fn entries(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<Vec<&str>> {
    let mut out = Vec::new();
    for line in headers.get_all(name) {
        out.extend(line.to_str().ok()?.split(',').map(str::trim));
    }
    Some(out)
}

/// `X-Forwarded-For: client, proxy1, proxy2`: addresses, some proxies add a port.
fn x_forwarded_for(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    entries(headers, X_FORWARDED_FOR)?
        .into_iter()
        .map(node)
        .collect()
}

/// `Forwarded: for=192.0.2.60;proto=http, for="[2001:db8::17]:4711"` (RFC 7239 §4): the `for`
/// parameter of each element. An element without one, or with `unknown` or an obfuscated
/// identifier (§6.2, §6.3), breaks the chain.
///
/// Hand-written because only `for` is needed and the one crate for it splits quoted values
/// naively; a node (§6) holds no comma, semicolon or escaped character, so anything quoted
/// that does is garbage anyway and is refused here.
fn forwarded(headers: &HeaderMap) -> Option<Vec<IpAddr>> {
    entries(headers, header::FORWARDED)?
        .into_iter()
        .map(|element| {
            element.split(';').find_map(|pair| {
                let (name, value) = pair.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| value.trim())
            })
        })
        .map(|value| {
            let value = value?;
            let value = match value.strip_prefix('"') {
                Some(quoted) => quoted.strip_suffix('"')?,
                None => value,
            };
            node(value)
        })
        .collect()
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:443`, `2001:db8::1`,
/// `[2001:db8::1]`, `[2001:db8::1]:443`.
fn node(s: &str) -> Option<IpAddr> {
    let s = s.trim();
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa.ip().to_canonical());
    }
    s.strip_prefix('[')?
        .strip_suffix(']')?
        .parse::<std::net::Ipv6Addr>()
        .ok()
        .map(|ip| IpAddr::V6(ip).to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies() -> TrustedProxies {
        TrustedProxies::parse(&["10.0.0.0/8", "2001:db8:1::/48", "192.0.2.7"]).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_bytes(v.as_bytes()).unwrap(),
            );
        }
        h
    }

    #[test]
    fn the_client_is_the_rightmost_untrusted_address_and_only_trusted_peers_are_believed() {
        const CLIENT: &str = "203.0.113.9";
        const PROXY: &str = "10.1.1.1";
        const STRANGER: &str = "198.51.100.4";
        // (peer, headers, the client address)
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
        let table: &[Case] = &[
            // No proxy configured for this peer: its headers are not read at all.
            (STRANGER, &[("x-forwarded-for", "1.2.3.4")], STRANGER),
            (STRANGER, &[("forwarded", "for=1.2.3.4")], STRANGER),
            // A trusted proxy without a header: itself.
            (PROXY, &[], PROXY),
            // One hop.
            (PROXY, &[("x-forwarded-for", CLIENT)], CLIENT),
            (PROXY, &[("forwarded", "for=203.0.113.9")], CLIENT),
            (
                PROXY,
                &[("forwarded", "For=\"203.0.113.9:4711\";proto=https")],
                CLIENT,
            ),
            // The client's own claim sits to the left of what our proxy appended.
            (
                PROXY,
                &[("x-forwarded-for", "1.2.3.4, 203.0.113.9")],
                CLIENT,
            ),
            (
                PROXY,
                &[("forwarded", "for=1.2.3.4, for=203.0.113.9")],
                CLIENT,
            ),
            // Two trusted hops; a single trusted address; IPv6 proxies and clients.
            (
                PROXY,
                &[("x-forwarded-for", "1.2.3.4, 203.0.113.9, 10.9.9.9")],
                CLIENT,
            ),
            (
                PROXY,
                &[("x-forwarded-for", "203.0.113.9, 192.0.2.7")],
                CLIENT,
            ),
            (
                "2001:db8:1::5",
                &[(
                    "forwarded",
                    "for=\"[2001:db8:2::9]:80\", for=\"[2001:db8:1::1]\"",
                )],
                "2001:db8:2::9",
            ),
            (
                PROXY,
                &[("x-forwarded-for", "[2001:db8:2::9]:443")],
                "2001:db8:2::9",
            ),
            (PROXY, &[("x-forwarded-for", "203.0.113.9:443")], CLIENT),
            // Header lines repeated: one list, in order.
            (
                PROXY,
                &[("x-forwarded-for", "1.2.3.4"), ("x-forwarded-for", CLIENT)],
                CLIENT,
            ),
            // Only trusted addresses: the farthest.
            (
                PROXY,
                &[("x-forwarded-for", "10.2.2.2, 10.3.3.3")],
                "10.2.2.2",
            ),
            // X-Forwarded-For wins: the other header came from the client.
            (
                PROXY,
                &[("forwarded", "for=1.2.3.4"), ("x-forwarded-for", CLIENT)],
                CLIENT,
            ),
            // An IPv4 peer reached over IPv6 is still a trusted proxy.
            ("::ffff:10.1.1.1", &[("x-forwarded-for", CLIENT)], CLIENT),
        ];
        for (peer, h, want) in table {
            assert_eq!(
                proxies().client_ip(ip(peer), &headers(h)),
                ip(want),
                "peer {peer}, headers {h:?}"
            );
        }
    }

    #[test]
    fn unreadable_forwarding_headers_mean_the_peer() {
        const PROXY: &str = "10.1.1.1";
        for h in [
            ("x-forwarded-for", ""),
            ("x-forwarded-for", "garbage"),
            ("x-forwarded-for", "203.0.113.9, garbage"),
            ("x-forwarded-for", "203.0.113.9,,"),
            ("x-forwarded-for", "999.1.1.1"),
            ("x-forwarded-for", "203.0.113.9/24"),
            ("x-forwarded-for", "[203.0.113.9]"),
            ("forwarded", "for=unknown"),
            ("forwarded", "for=_hidden"),
            ("forwarded", "proto=https"),
            ("forwarded", "for=\"203.0.113.9"),
            ("forwarded", "for=\"203.0.113.9;x\""),
            ("forwarded", "for=203.0.113.9, for=unknown"),
            ("forwarded", "for"),
            ("forwarded", "===;;,,"),
            ("x-forwarded-for", "203.0.113.\u{e9}"),
        ] {
            assert_eq!(
                proxies().client_ip(ip(PROXY), &headers(&[h])),
                ip(PROXY),
                "{h:?}"
            );
        }
    }

    #[test]
    fn trusted_proxies_are_networks_or_addresses_and_anything_else_is_named() {
        let p = TrustedProxies::parse(&["10.0.0.1/8", " ::1 ", ""]).unwrap();
        assert!(p.contains(ip("10.200.0.1")), "host bits are ignored");
        assert!(p.contains(ip("::1")));
        assert!(!p.contains(ip("11.0.0.1")));
        assert!(TrustedProxies::parse::<&str>(&[]).unwrap().is_empty());
        for bad in ["10.0.0.0/33", "localhost", "10.0.0.0/8/1", "*"] {
            let e = TrustedProxies::parse(&[bad]).unwrap_err();
            assert!(e.contains(bad), "{e}");
        }
    }
}
