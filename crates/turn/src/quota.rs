//! Who holds allocations, and revoked users: [`Quotas`] counts allocations per user and
//! per client address (the `user_quota` and `ip_quota` of [`crate::TurnConfig`]) and
//! remembers the REST users the driver revoked; [`Server::handle_revoke`] is the entry
//! point.
//!
//! A user is a static username, or the user of a TURN REST username (the part after the
//! expiry, see `rest.rs`): confab's signaling mints one user per room member and mints its
//! credentials again before they expire, so counting the full username would give a
//! member a fresh quota with every minting. A client address is an IPv4 address or an
//! IPv6 /64 (one host usually has a whole /64), so one client cannot gather allocations
//! under many users (many members, many connections) until the global cap.
//!
//! Revocation: when a member leaves for good, its allocations go at once and its user is
//! refused (401) until the last credential minted for it has expired; after that the
//! credentials are dead anyway and the entry is forgotten. Entries are bounded
//! ([`MAX_REVOKED`]): when full, the entry that expires first goes, the one closest to
//! being useless anyway.

use crate::limits::prefix64;
use crate::server::Server;
use crate::ClientKey;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::IpAddr;
use std::time::Instant;

/// Revoked users remembered at once (about 100 bytes each).
pub(crate) const MAX_REVOKED: usize = 65_536;

/// Allocation counts per user and per client address, and the revoked users.
#[derive(Debug, Default)]
pub(crate) struct Quotas {
    /// Each user's allocations (at most `user_quota` of them, so the scans are short).
    by_user: HashMap<String, Vec<ClientKey>>,
    /// Allocations per client address ([`prefix64`]); no zero entries.
    by_ip: HashMap<IpAddr, usize>,
    /// Revoked REST users, with the unix time after which they may be forgotten.
    revoked: HashMap<String, u64>,
    /// The same entries by that time, oldest first (may hold superseded ones).
    revoked_order: BinaryHeap<Reverse<(u64, String)>>,
}

impl Quotas {
    /// Allocations `user` holds.
    pub(crate) fn user_count(&self, user: &str) -> usize {
        self.by_user.get(user).map_or(0, Vec::len)
    }

    /// Allocations held from `ip`'s address (its /64 for IPv6).
    pub(crate) fn ip_count(&self, ip: IpAddr) -> usize {
        self.by_ip.get(&prefix64(ip)).copied().unwrap_or(0)
    }

    /// Counts `key`'s new allocation for `user`.
    pub(crate) fn add(&mut self, user: &str, key: ClientKey) {
        self.by_user.entry(user.to_owned()).or_default().push(key);
        *self.by_ip.entry(prefix64(key.client.ip())).or_default() += 1;
    }

    /// Counts `key`'s allocation for `user` out.
    pub(crate) fn remove(&mut self, user: &str, key: ClientKey) {
        if let Some(keys) = self.by_user.get_mut(user) {
            keys.retain(|k| *k != key);
            if keys.is_empty() {
                self.by_user.remove(user);
            }
        }
        let ip = prefix64(key.client.ip());
        if let Some(n) = self.by_ip.get_mut(&ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.by_ip.remove(&ip);
            }
        }
    }

    /// The clients whose allocations `user` holds.
    pub(crate) fn keys_of(&self, user: &str) -> Vec<ClientKey> {
        self.by_user.get(user).cloned().unwrap_or_default()
    }

    /// Whether `user` (of a REST username) is revoked.
    pub(crate) fn is_revoked(&self, user: &str) -> bool {
        !self.revoked.is_empty() && self.revoked.contains_key(user)
    }

    /// Refuses `user` until `until` (unix seconds) passes; entries whose time passed by
    /// `unix_now` are forgotten first, and the one due first when still full.
    pub(crate) fn revoke(&mut self, user: &str, until: u64, unix_now: u64) {
        self.forget_revoked(|at| at < unix_now);
        if !self.revoked.contains_key(user) && self.revoked.len() >= MAX_REVOKED {
            self.forget_first_revoked();
        }
        let until = self.revoked.get(user).map_or(until, |&u| u.max(until));
        self.revoked.insert(user.to_owned(), until);
        self.revoked_order.push(Reverse((until, user.to_owned())));
        if self.revoked_order.len() > 2 * MAX_REVOKED {
            // Superseded entries piled up (one user revoked over and over): rebuild.
            self.revoked_order = self
                .revoked
                .iter()
                .map(|(u, &at)| Reverse((at, u.clone())))
                .collect();
        }
    }

    /// Forgets revoked users from the oldest while `due` says so of their time.
    fn forget_revoked(&mut self, due: impl Fn(u64) -> bool) {
        while let Some(Reverse((at, _))) = self.revoked_order.peek() {
            if !due(*at) {
                return;
            }
            let Some(Reverse((at, user))) = self.revoked_order.pop() else {
                return;
            };
            if self.revoked.get(&user) == Some(&at) {
                self.revoked.remove(&user);
            }
        }
    }

    /// Forgets the revoked user due first.
    fn forget_first_revoked(&mut self) {
        while let Some(Reverse((at, user))) = self.revoked_order.pop() {
            if self.revoked.get(&user) == Some(&at) {
                self.revoked.remove(&user);
                return;
            }
        }
    }

    /// Revoked users remembered now.
    pub(crate) fn revoked_count(&self) -> usize {
        self.revoked.len()
    }
}

impl Server {
    /// The driver revokes `user`, the user of TURN REST usernames (the part after the
    /// expiry): each allocation it holds is deleted at once (its relay released), and
    /// every request with a REST username of that user gets 401 until `until_unix` (unix
    /// seconds; pass the latest expiry minted for it) has passed. Static users are
    /// unaffected. confab's signaling revokes a room member's user when the member
    /// leaves for good.
    pub fn handle_revoke(&mut self, user: &str, until_unix: u64, now: Instant, unix_now: u64) {
        self.observe(now);
        for key in self.quotas.keys_of(user) {
            if self
                .allocations
                .get(&key)
                .is_some_and(|a| a.revocable && a.user == user)
            {
                self.remove_allocation(&key);
            }
        }
        self.quotas.revoke(user, until_unix, unix_now);
    }

    /// Allocations held by `user` (a static username, or the user of a REST username),
    /// pending ones included (at most `user_quota`).
    pub fn user_allocation_count(&self, user: &str) -> usize {
        self.quotas.user_count(user)
    }

    /// Allocations held from `ip`'s address (its /64 for IPv6), pending ones included
    /// (at most `ip_quota`).
    pub fn ip_allocation_count(&self, ip: IpAddr) -> usize {
        self.quotas.ip_count(ip)
    }

    /// Revoked users remembered now (at most 65,536; see [`Server::handle_revoke`]).
    pub fn revoked_user_count(&self) -> usize {
        self.quotas.revoked_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Transport;

    fn key(ip: &str, port: u16) -> ClientKey {
        ClientKey {
            transport: Transport::Udp,
            client: std::net::SocketAddr::new(ip.parse().unwrap(), port),
            local: "198.51.100.1:3478".parse().unwrap(),
        }
    }

    #[test]
    fn counts_per_user_and_per_address() {
        let mut q = Quotas::default();
        q.add("m1", key("203.0.113.5", 1));
        q.add("m1", key("203.0.113.5", 2));
        q.add("m2", key("2001:db8:1:2::1", 1));
        q.add("m3", key("2001:db8:1:2::9", 1));
        assert_eq!(q.user_count("m1"), 2);
        assert_eq!(q.ip_count("203.0.113.5".parse().unwrap()), 2);
        assert_eq!(q.ip_count("2001:db8:1:2:ffff::".parse().unwrap()), 2);
        assert_eq!(q.ip_count("203.0.113.6".parse().unwrap()), 0);
        q.remove("m1", key("203.0.113.5", 1));
        q.remove("m1", key("203.0.113.5", 2));
        q.remove("m1", key("203.0.113.5", 2));
        assert_eq!(q.user_count("m1"), 0);
        assert_eq!(q.ip_count("203.0.113.5".parse().unwrap()), 0);
        assert!(
            q.by_user.len() == 2 && q.by_ip.len() == 1,
            "no empty entries"
        );
    }

    #[test]
    fn revocations_last_until_their_time_and_are_bounded() {
        let mut q = Quotas::default();
        q.revoke("a", 100, 0);
        q.revoke("b", 200, 0);
        assert!(q.is_revoked("a") && q.is_revoked("b") && !q.is_revoked("c"));
        q.revoke("c", 300, 150); // "a" is past its time: forgotten
        assert!(!q.is_revoked("a") && q.is_revoked("b") && q.is_revoked("c"));
        q.revoke("b", 150, 150); // an earlier time never shortens a revocation
        q.revoke("d", 400, 199);
        assert!(q.is_revoked("b"));
        let mut full = Quotas::default();
        for i in 0..MAX_REVOKED as u64 + 10 {
            full.revoke(&format!("u{i}"), 1_000 + i, 0);
        }
        assert_eq!(full.revoked_count(), MAX_REVOKED);
        assert!(!full.is_revoked("u0"), "the first due went first");
        assert!(full.is_revoked(&format!("u{}", MAX_REVOKED + 9)));
    }
}
