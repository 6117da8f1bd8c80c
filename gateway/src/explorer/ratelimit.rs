//! Per-client rate limiting for the explorer: a token bucket per client IP
//! address. A client may send `burst` requests at once and
//! `requests_per_second` after that; beyond it the answer is 429 with
//! `Retry-After`.
//!
//! The table of clients is bounded ([`CLIENTS_MAX`]): when it is full, the
//! clients whose buckets have refilled are forgotten (a full bucket is what a
//! new client gets anyway), and if none has, the one seen longest ago.
//!
//! The client is the TCP connection's peer ([`client_address`]), unless the
//! peer is one of `[limits] trusted_proxies`: then it is the address that
//! the proxies put in `X-Forwarded-For`, so that readers behind one reverse
//! proxy do not share one bucket. Only a trusted peer's header counts: from
//! anyone else it is ignored, or a client could name a new address with
//! every request and never be limited.
//!
//! The connection bounds of `gateway::http::serve` (`[limits]
//! http_connections_per_client`, `http_requests_per_client`) stay per peer
//! address even behind a proxy: they are taken when a connection is
//! accepted, before any header has been read, and what they protect, the
//! node's sockets and workers, is what the proxy's connections hold; a proxy
//! also reuses one upstream connection for requests of many clients.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use node::config::IpRange;

/// Most clients tracked at once.
pub const CLIENTS_MAX: usize = 10_000;

/// The header in which reverse proxies name the client, each appending the
/// address it received the request from.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// How fast clients may ask, and who may say which client is asking.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Sustained requests per second per client.
    pub requests_per_second: u32,
    /// Requests a client may send at once.
    pub burst: u32,
    /// Peers whose `X-Forwarded-For` names the client (`[limits]
    /// trusted_proxies`); none when empty.
    pub trusted_proxies: Vec<IpRange>,
}

impl From<&node::config::Config> for RateLimits {
    fn from(config: &node::config::Config) -> Self {
        RateLimits {
            requests_per_second: config.explorer.requests_per_second,
            burst: config.explorer.burst,
            trusted_proxies: config.limits.trusted_proxies.clone(),
        }
    }
}

/// The client a request counts against: its peer's address, unless the peer
/// is a trusted proxy and `X-Forwarded-For` names the client.
///
/// The header is read from the right, the nearest hop first (several header
/// lines count as one list, in order): trusted proxies are passed over, and
/// the first address that is not one is the client. Whatever lies to the left
/// of it was written by the client or its own proxies and is never read. A
/// hop is an address, bare or with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:80`); when a hop on the way is anything else, or there is
/// no header, or it names trusted proxies only, the client is the peer. IPv4
/// addresses mapped into IPv6 count as IPv4.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpRange]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: IpAddr| trusted.iter().any(|r| r.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    forwarded_client(headers, is_trusted).unwrap_or(peer)
}

/// The rightmost untrusted hop of `X-Forwarded-For`, if the hops up to it
/// are all addresses.
fn forwarded_client(headers: &HeaderMap, is_trusted: impl Fn(IpAddr) -> bool) -> Option<IpAddr> {
    let lines: Vec<&[u8]> = headers
        .get_all(FORWARDED_FOR)
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    for line in lines.iter().rev() {
        for hop in line.rsplit(|b| *b == b',') {
            let hop = std::str::from_utf8(hop).ok()?;
            let ip = parse_hop(hop.trim())?.to_canonical();
            if !is_trusted(ip) {
                return Some(ip);
            }
        }
    }
    None
}

/// One hop of `X-Forwarded-For`: an address, bracketed or not, with or
/// without a port.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    if let Some(inner) = hop.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().ok().map(IpAddr::V6);
    }
    hop.parse::<std::net::SocketAddr>().ok().map(|a| a.ip())
}

/// The explorer listener's limiter: finds the client of each request, then
/// takes one of its tokens.
#[derive(Debug)]
pub struct ClientLimiter {
    trusted_proxies: Vec<IpRange>,
    buckets: Mutex<RateLimiter>,
}

impl ClientLimiter {
    /// A limiter with no clients yet.
    pub fn new(limits: RateLimits) -> ClientLimiter {
        ClientLimiter {
            buckets: Mutex::new(RateLimiter::new(&limits)),
            trusted_proxies: limits.trusted_proxies,
        }
    }

    /// Takes one token for the client of a request that `peer` sent with
    /// `headers` ([`client_address`]); if there is none, how long until
    /// there is.
    pub fn check(&self, peer: IpAddr, headers: &HeaderMap, now: Instant) -> Result<(), Duration> {
        let client = client_address(peer, headers, &self.trusted_proxies);
        self.buckets
            .lock()
            .expect("rate limiter lock")
            .check(client, now)
    }
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Token buckets by client address.
#[derive(Debug)]
pub struct RateLimiter {
    requests_per_second: u32,
    burst: u32,
    clients: HashMap<IpAddr, Bucket>,
}

impl RateLimiter {
    /// A limiter with no clients yet. Zero limits are raised to 1.
    pub fn new(limits: &RateLimits) -> RateLimiter {
        RateLimiter {
            requests_per_second: limits.requests_per_second.max(1),
            burst: limits.burst.max(1),
            clients: HashMap::new(),
        }
    }

    fn burst(&self) -> f64 {
        f64::from(self.burst)
    }

    fn rate(&self) -> f64 {
        f64::from(self.requests_per_second)
    }

    /// Takes one token for `client` at `now`; if there is none, how long
    /// until there is.
    pub fn check(&mut self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        if !self.clients.contains_key(&client) && self.clients.len() >= CLIENTS_MAX {
            self.make_room(now);
        }
        let (burst, rate) = (self.burst(), self.rate());
        let bucket = self.clients.entry(client).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }

    fn make_room(&mut self, now: Instant) {
        let (burst, rate) = (self.burst(), self.rate());
        self.clients.retain(|_, b| {
            let elapsed = now.saturating_duration_since(b.last).as_secs_f64();
            b.tokens + elapsed * rate < burst
        });
        if self.clients.len() >= CLIENTS_MAX {
            let oldest = self
                .clients
                .iter()
                .min_by_key(|(_, b)| b.last)
                .map(|(ip, _)| *ip);
            if let Some(ip) = oldest {
                self.clients.remove(&ip);
            }
        }
    }

    /// Clients tracked.
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    /// Whether no client is tracked.
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }
}

/// Whole seconds to announce in `Retry-After` (at least 1).
pub fn retry_after_secs(wait: Duration) -> u64 {
    wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u32) -> IpAddr {
        IpAddr::from(n.to_be_bytes())
    }

    #[test]
    fn a_burst_passes_then_the_client_waits_for_the_refill() {
        let mut l = RateLimiter::new(&RateLimits {
            requests_per_second: 2,
            burst: 3,
            trusted_proxies: Vec::new(),
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert_eq!(l.check(ip(1), t0), Ok(()));
        }
        let wait = l.check(ip(1), t0).unwrap_err();
        assert_eq!(wait, Duration::from_millis(500));
        assert_eq!(retry_after_secs(wait), 1);
        // Another client is not held up.
        assert_eq!(l.check(ip(2), t0), Ok(()));
        // Half a second later one token is back, and only one.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(l.check(ip(1), t1), Ok(()));
        assert!(l.check(ip(1), t1).is_err());
        // Idle long enough, the bucket is full again but never over.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(l.check(ip(1), t2), Ok(()));
        }
        assert!(l.check(ip(1), t2).is_err());
    }

    #[test]
    fn the_client_table_stays_bounded() {
        let mut l = RateLimiter::new(&RateLimits {
            requests_per_second: 1,
            burst: 5,
            trusted_proxies: Vec::new(),
        });
        let t0 = Instant::now();
        for n in 0..CLIENTS_MAX as u32 + 10 {
            let _ = l.check(ip(n), t0 + Duration::from_micros(u64::from(n)));
        }
        assert!(l.len() <= CLIENTS_MAX, "{}", l.len());
        // The newest client is tracked: its second and later requests count.
        let last = ip(CLIENTS_MAX as u32 + 9);
        let t = t0 + Duration::from_millis(20);
        for _ in 0..4 {
            let _ = l.check(last, t);
        }
        assert!(l.check(last, t).is_err());
    }

    fn forwarded(lines: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for l in lines {
            h.append(FORWARDED_FOR, l.parse().unwrap());
        }
        h
    }

    fn addr(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn trusted() -> Vec<IpRange> {
        ["10.0.0.0/8", "192.0.2.1", "2001:db8:1::/48"]
            .iter()
            .map(|r| r.parse().unwrap())
            .collect()
    }

    fn client(peer: &str, lines: &[&str]) -> IpAddr {
        client_address(addr(peer), &forwarded(lines), &trusted())
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_its_header_says() {
        for lines in [&[][..], &["198.51.100.1"], &["10.0.0.9"], &["garbage"]] {
            assert_eq!(client("203.0.113.9", lines), addr("203.0.113.9"));
            assert_eq!(client("2001:db8:2::9", lines), addr("2001:db8:2::9"));
        }
        // No proxy trusted: every peer is its own client.
        let h = forwarded(&["198.51.100.1"]);
        assert_eq!(client_address(addr("10.0.0.5"), &h, &[]), addr("10.0.0.5"));
    }

    #[test]
    fn a_trusted_proxy_names_the_client_rightmost_first() {
        assert_eq!(client("10.0.0.5", &["198.51.100.1"]), addr("198.51.100.1"));
        // What the client wrote itself, left of the address its proxy saw,
        // is never read: not a spoofed address, trusted or not, nor garbage.
        for spoofed in ["1.1.1.1", "10.9.9.9", "garbage", ""] {
            let line = format!("{spoofed}, 198.51.100.1");
            assert_eq!(client("10.0.0.5", &[&line]), addr("198.51.100.1"), "{line}");
        }
        // A chain of trusted proxies is passed over, across header lines.
        assert_eq!(
            client("10.0.0.5", &["198.51.100.1, 192.0.2.1", "10.1.1.1"]),
            addr("198.51.100.1")
        );
        assert_eq!(
            client("10.0.0.5", &["203.0.113.7", "198.51.100.1 , 10.1.1.1"]),
            addr("198.51.100.1")
        );
        // A hop with a port.
        assert_eq!(
            client("10.0.0.5", &["198.51.100.1:4711"]),
            addr("198.51.100.1")
        );
        // Without a header, or naming trusted proxies only, the proxy is the
        // client.
        assert_eq!(client("10.0.0.5", &[]), addr("10.0.0.5"));
        assert_eq!(
            client("10.0.0.5", &["10.1.1.1, 192.0.2.1"]),
            addr("10.0.0.5")
        );
    }

    #[test]
    fn a_malformed_header_from_a_trusted_proxy_counts_as_the_proxy() {
        for line in [
            "",
            " ",
            "unknown",
            "198.51.100.1,",
            "198.51.100.1, garbage",
            "198.51.100.1, 10.1.1.1, ",
            "198.51.100.1 10.1.1.1",
            "198.51.100.300",
            "2001:db8::zz",
            "[198.51.100.1]",
            "fe80::1%eth0",
        ] {
            assert_eq!(client("10.0.0.5", &[line]), addr("10.0.0.5"), "{line:?}");
        }
        // Bytes that are not text.
        let mut h = HeaderMap::new();
        h.insert(
            FORWARDED_FOR,
            axum::http::HeaderValue::from_bytes(b"198.51.100.1\xff").unwrap(),
        );
        assert_eq!(
            client_address(addr("10.0.0.5"), &h, &trusted()),
            addr("10.0.0.5")
        );
        // ...unless the client wrote them, left of the address its proxy saw.
        h.insert(
            FORWARDED_FOR,
            axum::http::HeaderValue::from_bytes(b"\xff\xfe, 198.51.100.1").unwrap(),
        );
        assert_eq!(
            client_address(addr("10.0.0.5"), &h, &trusted()),
            addr("198.51.100.1")
        );
        // One bad line of several spoils the path it is on.
        assert_eq!(client("10.0.0.5", &["198.51.100.1", "x"]), addr("10.0.0.5"));
    }

    #[test]
    fn ipv6_peers_and_hops_and_ipv4_mapped_addresses() {
        assert_eq!(
            client("2001:db8:1::10", &["2001:db8:ffff::1"]),
            addr("2001:db8:ffff::1")
        );
        assert_eq!(
            client("2001:db8:1::10", &["[2001:db8:ffff::1]:4711"]),
            addr("2001:db8:ffff::1")
        );
        assert_eq!(
            client("2001:db8:1::10", &["[2001:db8:ffff::1]"]),
            addr("2001:db8:ffff::1")
        );
        assert_eq!(
            client("10.0.0.5", &["2001:db8:ffff::1, 2001:db8:1::20"]),
            addr("2001:db8:ffff::1")
        );
        // A listener on [::] sees an IPv4 proxy as ::ffff:10.0.0.5; the
        // proxy is still trusted, and a mapped client counts as IPv4.
        assert_eq!(
            client("::ffff:10.0.0.5", &["198.51.100.1"]),
            addr("198.51.100.1")
        );
        assert_eq!(
            client("10.0.0.5", &["::ffff:198.51.100.1"]),
            addr("198.51.100.1")
        );
        assert_eq!(client("::ffff:10.0.0.5", &[]), addr("10.0.0.5"));
        assert_eq!(
            client("::ffff:10.0.0.5", &["::ffff:10.1.1.1"]),
            addr("10.0.0.5")
        );
    }

    #[test]
    fn clients_behind_a_trusted_proxy_have_their_own_buckets() {
        let l = ClientLimiter::new(RateLimits {
            requests_per_second: 1,
            burst: 2,
            trusted_proxies: trusted(),
        });
        let t = Instant::now();
        let (proxy, stranger) = (addr("10.0.0.5"), addr("203.0.113.9"));
        let a = forwarded(&["198.51.100.1"]);
        let b = forwarded(&["198.51.100.2"]);
        assert!(l.check(proxy, &a, t).is_ok() && l.check(proxy, &a, t).is_ok());
        assert!(l.check(proxy, &a, t).is_err());
        assert!(l.check(proxy, &b, t).is_ok() && l.check(proxy, &b, t).is_ok());
        // A stranger's header names nobody: a new address each time does
        // not refill its own bucket.
        for n in 0..2 {
            let spoof = forwarded(&[&format!("198.51.100.{}", 10 + n)]);
            assert!(l.check(stranger, &spoof, t).is_ok());
        }
        assert!(l
            .check(stranger, &forwarded(&["198.51.100.99"]), t)
            .is_err());
        // Nor did it spend the tokens of the clients it named.
        let named = forwarded(&["198.51.100.10"]);
        assert!(l.check(proxy, &named, t).is_ok());
    }
}
