//! Limits against hostile clients: [`ErrorBudget`] (per-prefix budget of unauthenticated
//! UDP error replies).
//!
//! Keyed by client data, so bounded in entries ([`MAX_TRACKED`]); when full, stale
//! entries are swept first, and what still does not fit shares one overflow entry.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

/// Entries kept by each limiter (about 64 bytes each).
pub(crate) const MAX_TRACKED: usize = 65_536;

/// The source prefix a UDP client is accounted to: its /24 (IPv4) or /64 (IPv6), so one
/// host cannot multiply its budget with neighbouring addresses.
fn prefix(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(u32::from(v4) & 0xFFFF_FF00)),
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
    }
}

/// A token bucket: `burst` tokens, refilled at `rate` per second.
#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(&mut self, now: Instant, burst: f64, rate: f64) -> bool {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Budget of error replies to unauthenticated UDP requests, per source prefix: a spoofed
/// source cannot turn the server into a reflector (each reply is larger than its request)
/// beyond `rate` replies per second to one victim network.
#[derive(Debug)]
pub(crate) struct ErrorBudget {
    burst: f64,
    rate: f64,
    buckets: HashMap<IpAddr, Bucket>,
    overflow: Option<Bucket>,
}

impl ErrorBudget {
    /// `burst` replies at once, `rate` per second after; a zero rate disables the limit.
    pub(crate) fn new(burst: u32, rate: u32) -> Self {
        ErrorBudget {
            burst: f64::from(burst.max(1)),
            rate: f64::from(rate),
            buckets: HashMap::new(),
            overflow: None,
        }
    }

    /// Whether an error reply to `ip` may go out at `now` (and spends it). Loopback
    /// sources are not limited: the kernel never delivers a spoofed one from outside, and
    /// load tools on the same host need many challenges quickly.
    pub(crate) fn take(&mut self, ip: IpAddr, now: Instant) -> bool {
        if self.rate == 0.0 || ip.to_canonical().is_loopback() {
            return true;
        }
        let (burst, rate) = (self.burst, self.rate);
        let key = prefix(ip);
        if !self.buckets.contains_key(&key) && self.buckets.len() >= MAX_TRACKED {
            // Forget prefixes whose bucket has refilled: they are indistinguishable from new.
            let full = Duration::from_secs_f64(burst / rate);
            self.buckets
                .retain(|_, b| now.saturating_duration_since(b.at) < full);
            if self.buckets.len() >= MAX_TRACKED {
                let fresh = Bucket {
                    tokens: burst,
                    at: now,
                };
                return self.overflow.get_or_insert(fresh).take(now, burst, rate);
            }
        }
        self.buckets
            .entry(key)
            .or_insert(Bucket {
                tokens: burst,
                at: now,
            })
            .take(now, burst, rate)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_budget_is_per_prefix_and_refills() {
        let t0 = Instant::now();
        let mut b = ErrorBudget::new(3, 2);
        let a: IpAddr = "203.0.113.5".parse().unwrap();
        let same_24: IpAddr = "203.0.113.99".parse().unwrap();
        let other: IpAddr = "198.51.100.5".parse().unwrap();
        assert!(b.take(a, t0) && b.take(same_24, t0) && b.take(a, t0));
        assert!(!b.take(a, t0));
        assert!(b.take(other, t0));
        assert!(b.take(a, t0 + Duration::from_millis(500)));
        assert!(!b.take(a, t0 + Duration::from_millis(500)));
        let mut off = ErrorBudget::new(1, 0);
        assert!(off.take(a, t0) && off.take(a, t0));
        let lo: IpAddr = "127.0.0.1".parse().unwrap();
        assert!((0..100).all(|_| b.take(lo, t0)));
    }
}
