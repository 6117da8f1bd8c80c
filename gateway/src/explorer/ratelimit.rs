//! Per-client rate limiting for the explorer: a token bucket per peer IP
//! address. A client may send `burst` requests at once and
//! `requests_per_second` after that; beyond it the answer is 429 with
//! `Retry-After`.
//!
//! The table of clients is bounded ([`CLIENTS_MAX`]): when it is full, the
//! clients whose buckets have refilled are forgotten (a full bucket is what a
//! new client gets anyway), and if none has, the one seen longest ago.
//!
//! The peer address is the TCP connection's. Behind a reverse proxy every
//! reader would share the proxy's address; the proxy should limit instead.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Most clients tracked at once.
pub const CLIENTS_MAX: usize = 10_000;

/// How fast clients may ask.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    /// Sustained requests per second per client.
    pub requests_per_second: u32,
    /// Requests a client may send at once.
    pub burst: u32,
}

impl From<&node::config::ExplorerSection> for RateLimits {
    fn from(section: &node::config::ExplorerSection) -> Self {
        RateLimits {
            requests_per_second: section.requests_per_second,
            burst: section.burst,
        }
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
    limits: RateLimits,
    clients: HashMap<IpAddr, Bucket>,
}

impl RateLimiter {
    /// A limiter with no clients yet. Zero limits are raised to 1.
    pub fn new(limits: RateLimits) -> RateLimiter {
        RateLimiter {
            limits: RateLimits {
                requests_per_second: limits.requests_per_second.max(1),
                burst: limits.burst.max(1),
            },
            clients: HashMap::new(),
        }
    }

    fn burst(&self) -> f64 {
        f64::from(self.limits.burst)
    }

    fn rate(&self) -> f64 {
        f64::from(self.limits.requests_per_second)
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
        let mut l = RateLimiter::new(RateLimits {
            requests_per_second: 2,
            burst: 3,
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
        let mut l = RateLimiter::new(RateLimits {
            requests_per_second: 1,
            burst: 5,
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
}
