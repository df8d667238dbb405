//! The per-address throttle of wrong room passwords, shared by every connection.
//!
//! A connection is closed after [`crate::auth::MAX_FAILURES`] refused joins, but an
//! attacker just reconnects; so wrong passwords are also counted per client address (an
//! IPv4 address or an IPv6 /64): a token bucket of [`BURST`] failures refilled at one
//! per [`REFILL`]. An address out of tokens gets `rate_limited` for any password join,
//! without the (slow, argon2) check, so guessing costs the server nothing and is bounded
//! to [`BURST`] plus one guess per [`REFILL`]. Right passwords cost nothing, so people
//! behind one NAT who know the password are never held up by the count of their own.
//!
//! The map is bounded ([`MAX_ADDRESSES`]): when it is full, addresses whose bucket is
//! full again (they remember nothing) go first, then one that is not held back. A
//! `std::sync::Mutex` rather than an owner task: the critical section is a hash-map
//! lookup, taken only for joins to rooms with a password (rare), never across `.await`.

use confab_signal::rate::TokenBucket;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong passwords an address may send in a burst.
pub const BURST: u32 = 10;
/// One more wrong password is allowed per this interval (6/min sustained).
pub const REFILL: Duration = Duration::from_secs(10);
/// Addresses remembered at most.
pub const MAX_ADDRESSES: usize = 4096;

/// See the module docs.
#[derive(Debug, Default)]
pub struct PasswordThrottle {
    by_address: Mutex<HashMap<IpAddr, TokenBucket>>,
}

impl PasswordThrottle {
    /// Whether `ip` may try a password now; else how long until it may. An unknown
    /// address (`None`) is not throttled here (the per-connection cap still applies).
    pub fn check(&self, ip: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let Some(ip) = ip.map(confab_signal::address_key) else {
            return Ok(());
        };
        let mut map = self.lock();
        match map.get_mut(&ip) {
            Some(bucket) => bucket.check(now, BURST, REFILL),
            None => Ok(()),
        }
    }

    /// Whether `ip` sent no wrong password lately (its bucket is full, or it has none):
    /// the room gate's clean lane. An unknown address (`None`) is not clean.
    pub fn is_clean(&self, ip: Option<IpAddr>, now: Instant) -> bool {
        let Some(ip) = ip.map(confab_signal::address_key) else {
            return false;
        };
        let mut map = self.lock();
        map.get_mut(&ip)
            .is_none_or(|b| b.is_full(now, BURST, REFILL))
    }

    /// `ip` sent a wrong password: one token less.
    pub fn failed(&self, ip: Option<IpAddr>, now: Instant) {
        let Some(ip) = ip.map(confab_signal::address_key) else {
            return;
        };
        let mut map = self.lock();
        if !map.contains_key(&ip) && map.len() >= MAX_ADDRESSES {
            make_room(&mut map, now);
        }
        let bucket = map
            .entry(ip)
            .or_insert_with(|| TokenBucket::full(BURST, now));
        let _ = bucket.try_take(now, BURST, REFILL);
    }

    /// Addresses remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, TokenBucket>> {
        // A panic while holding it cannot leave the map inconsistent: keep using it.
        self.by_address.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Frees at least one place: forgets refilled addresses, else one not held back (or any).
fn make_room(map: &mut HashMap<IpAddr, TokenBucket>, now: Instant) {
    map.retain(|_, b| !b.is_full(now, BURST, REFILL));
    if map.len() < MAX_ADDRESSES {
        return;
    }
    let least = map
        .iter_mut()
        .map(|(ip, b)| (*ip, b.check(now, BURST, REFILL).is_ok()))
        .find(|(_, has_tokens)| *has_tokens)
        .or_else(|| map.keys().next().map(|ip| (*ip, false)));
    if let Some((ip, _)) = least {
        map.remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn an_address_is_held_back_after_its_burst_of_failures_and_others_are_not() {
        let t = PasswordThrottle::default();
        let now = Instant::now();
        for _ in 0..BURST {
            assert_eq!(t.check(ip("198.51.100.7"), now), Ok(()));
            t.failed(ip("198.51.100.7"), now);
        }
        let wait = t.check(ip("198.51.100.7"), now).unwrap_err();
        assert!(wait <= REFILL, "{wait:?}");
        assert_eq!(t.check(ip("203.0.113.1"), now), Ok(()), "another address");
        assert!(t.is_clean(ip("203.0.113.1"), now));
        assert!(!t.is_clean(ip("198.51.100.7"), now));
        assert!(!t.is_clean(None, now));
        // The same /64 is the same client.
        for _ in 0..BURST {
            t.failed(ip("2001:db8::1"), now);
        }
        assert!(t.check(ip("2001:db8::ffff"), now).is_err());
        assert!(t.check(ip("2001:db8:0:1::1"), now).is_ok());
        // One more guess per interval.
        assert_eq!(t.check(ip("198.51.100.7"), now + REFILL), Ok(()));
        assert_eq!(t.check(None, now), Ok(()), "unknown addresses pass");
    }

    #[test]
    fn the_map_stays_bounded() {
        let t = PasswordThrottle::default();
        let now = Instant::now();
        for i in 0..(MAX_ADDRESSES as u32 + 100) {
            t.failed(Some(IpAddr::from(i.to_be_bytes())), now);
        }
        assert!(t.len() <= MAX_ADDRESSES, "{}", t.len());
    }
}
