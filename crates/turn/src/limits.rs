//! Limits against hostile clients: [`ErrorBudget`] (per-prefix budget of unauthenticated
//! UDP error replies) and [`Lockout`] (static users after repeated wrong passwords).
//!
//! Both are keyed by client data, so both are bounded in entries ([`MAX_TRACKED`]); when
//! full, stale entries are swept first, and what still does not fit shares one overflow
//! entry (the error budget) or is not tracked (the lockout).

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

/// The address a client's allocations are counted under: an IPv4 address (also when it
/// comes IPv4-mapped), or an IPv6 /64, since one host usually has a whole /64.
pub(crate) fn prefix64(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & (u128::MAX << 64))),
        v4 => v4,
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

/// Wrong passwords for one static user from one source IP.
#[derive(Clone, Copy, Debug)]
struct Failures {
    count: u32,
    since: Instant,
    locked_until: Option<Instant>,
}

/// Locks a (source IP, static user) pair out for `lock` after `max_failures` wrong
/// passwords within `window`. While locked, every request of that user from that IP gets
/// 401 without its password being checked, so guessing stops paying off; other sources
/// and other users are unaffected (a lockout per user alone would let anyone lock out a
/// legitimate user).
#[derive(Debug)]
pub(crate) struct Lockout {
    max_failures: u32,
    window: Duration,
    lock: Duration,
    entries: HashMap<(IpAddr, String), Failures>,
}

impl Lockout {
    /// A zero `max_failures` disables the lockout.
    pub(crate) fn new(max_failures: u32, window: Duration, lock: Duration) -> Self {
        Lockout {
            max_failures,
            window,
            lock,
            entries: HashMap::new(),
        }
    }

    /// Whether `user` is locked out for `ip` at `now`.
    pub(crate) fn is_locked(&self, ip: IpAddr, user: &str, now: Instant) -> bool {
        self.entries
            .get(&(ip.to_canonical(), user.to_owned()))
            .and_then(|f| f.locked_until)
            .is_some_and(|until| now < until)
    }

    /// A wrong password for `user` from `ip`; returns whether this locked it.
    pub(crate) fn failed(&mut self, ip: IpAddr, user: &str, now: Instant) -> bool {
        if self.max_failures == 0 {
            return false;
        }
        let key = (ip.to_canonical(), user.to_owned());
        if !self.entries.contains_key(&key) && self.entries.len() >= MAX_TRACKED {
            let (window, lock) = (self.window, self.lock);
            self.entries.retain(|_, f| {
                now.saturating_duration_since(f.since) < window.max(lock)
                    || f.locked_until.is_some_and(|u| now < u)
            });
            if self.entries.len() >= MAX_TRACKED {
                return false;
            }
        }
        let f = self.entries.entry(key).or_insert(Failures {
            count: 0,
            since: now,
            locked_until: None,
        });
        if now.saturating_duration_since(f.since) >= self.window {
            *f = Failures {
                count: 0,
                since: now,
                locked_until: f.locked_until,
            };
        }
        f.count += 1;
        if f.count >= self.max_failures {
            f.locked_until = Some(now + self.lock);
            f.count = 0;
            f.since = now;
            return true;
        }
        false
    }

    /// A correct password for `user` from `ip`: its failures are forgotten.
    pub(crate) fn succeeded(&mut self, ip: IpAddr, user: &str) {
        if !self.entries.is_empty() {
            self.entries.remove(&(ip.to_canonical(), user.to_owned()));
        }
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

    #[test]
    fn lockout_per_source_and_user() {
        let t0 = Instant::now();
        let mut l = Lockout::new(3, Duration::from_secs(60), Duration::from_secs(300));
        let ip: IpAddr = "203.0.113.5".parse().unwrap();
        let other: IpAddr = "203.0.113.6".parse().unwrap();
        assert!(!l.failed(ip, "ada", t0));
        assert!(!l.failed(ip, "ada", t0));
        assert!(l.failed(ip, "ada", t0));
        assert!(l.is_locked(ip, "ada", t0 + Duration::from_secs(299)));
        assert!(!l.is_locked(ip, "ada", t0 + Duration::from_secs(300)));
        assert!(!l.is_locked(other, "ada", t0));
        assert!(!l.is_locked(ip, "grace", t0));
        // A correct password in between forgets the failures.
        for i in 0..10 {
            assert!(!l.failed(other, "ada", t0 + Duration::from_secs(40 * i)));
            assert!(!l.failed(other, "ada", t0 + Duration::from_secs(40 * i + 1)));
            l.succeeded(other, "ada");
        }
        assert!(!l.is_locked(other, "ada", t0 + Duration::from_secs(400)));
    }
}
