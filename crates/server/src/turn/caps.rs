//! Caps on TURN TCP/TLS connections, as the HTTP listener has (`http/gate.rs`): per
//! client address (IPv4, IPv6 /64), in total, and the descriptor reserve. Without them
//! one client could open stream connections until the process ran out of descriptors
//! (each lives 5 s without an allocation, and a client can open thousands a second),
//! and HTTPS, the chat store and the relays with it.
//!
//! A refused connection is accepted and closed at once: left in the backlog it would
//! hold a kernel slot and leave its client hanging. The TLS listener counts from
//! accept, before the handshake, since a handshake in progress holds a descriptor too.

use crate::metrics::{ConnRefusal, Metrics};
use confab_signal::address_key;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The limits on stream connections (both TURN listeners together).
#[derive(Clone, Copy, Debug)]
pub struct StreamLimits {
    /// Open connections from one IPv4 address or IPv6 /64.
    pub per_ip: usize,
    /// Open connections in total.
    pub total: usize,
    /// A socket whose descriptor number reaches this is refused (the soft
    /// `RLIMIT_NOFILE` minus the HTTP listener's reserve; `None` when unknown).
    pub fd_ceiling: Option<u64>,
}

/// Open connections by client prefix and in total: the policy, without locks or IO.
#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_prefix: HashMap<IpAddr, usize>,
}

impl Counts {
    /// Takes a place for `key` (an address key), or says which cap is reached.
    fn admit(&mut self, key: IpAddr, limits: &StreamLimits) -> Result<(), ConnRefusal> {
        if self.total >= limits.total {
            return Err(ConnRefusal::Total);
        }
        let n = self.by_prefix.entry(key).or_insert(0);
        if *n >= limits.per_ip {
            return Err(ConnRefusal::PerIp);
        }
        *n += 1;
        self.total += 1;
        Ok(())
    }

    /// Gives back a place [`admit`](Self::admit) took.
    fn release(&mut self, key: IpAddr) {
        if let Some(n) = self.by_prefix.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                self.by_prefix.remove(&key);
            }
        }
        self.total = self.total.saturating_sub(1);
    }
}

/// The shared caps of one TURN server's stream listeners. A std mutex: each use is a
/// map update at accept or close, never across `.await`.
#[derive(Debug)]
pub struct StreamCaps {
    limits: StreamLimits,
    counts: Mutex<Counts>,
    metrics: Metrics,
}

impl StreamCaps {
    /// Caps with nothing admitted yet.
    pub fn new(limits: StreamLimits, metrics: Metrics) -> Arc<StreamCaps> {
        Arc::new(StreamCaps {
            limits,
            counts: Mutex::default(),
            metrics,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // Each update is one step: the counts stay consistent under a panic elsewhere.
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a connection from `ip` whose descriptor is `fd`, or says why not (and
    /// counts the refusal). The place is given back when the [`StreamSlot`] drops.
    pub fn admit(self: &Arc<Self>, ip: IpAddr, fd: u64) -> Result<StreamSlot, ConnRefusal> {
        // Linux hands out the lowest free descriptor: one this high means the table
        // below it is full.
        let taken = if self.limits.fd_ceiling.is_some_and(|c| fd >= c) {
            Err(ConnRefusal::Descriptors)
        } else {
            let key = address_key(ip);
            let mut c = self.lock();
            let r = c.admit(key, &self.limits).map(|()| key);
            self.metrics.set_turn_stream_connections(c.total);
            r
        };
        match taken {
            Ok(key) => Ok(StreamSlot {
                caps: self.clone(),
                key,
            }),
            Err(reason) => {
                self.metrics.turn_stream_refused(reason);
                Err(reason)
            }
        }
    }
}

/// One admitted stream connection's place; given back on drop.
#[derive(Debug)]
pub struct StreamSlot {
    caps: Arc<StreamCaps>,
    key: IpAddr,
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut c = self.caps.lock();
        c.release(self.key);
        self.caps.metrics.set_turn_stream_connections(c.total);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> IpAddr {
        address_key(s.parse().unwrap())
    }

    #[test]
    fn counts_cap_per_prefix_and_in_total_and_free_places() {
        let limits = StreamLimits {
            per_ip: 2,
            total: 3,
            fd_ceiling: None,
        };
        let mut c = Counts::default();
        assert_eq!(c.admit(key("2001:db8::1"), &limits), Ok(()));
        // The same /64 is the same client.
        assert_eq!(c.admit(key("2001:db8::2"), &limits), Ok(()));
        assert_eq!(
            c.admit(key("2001:db8::3"), &limits),
            Err(ConnRefusal::PerIp)
        );
        assert_eq!(c.admit(key("198.51.100.1"), &limits), Ok(()));
        assert_eq!(
            c.admit(key("198.51.100.2"), &limits),
            Err(ConnRefusal::Total)
        );
        c.release(key("2001:db8::1"));
        assert_eq!(c.admit(key("198.51.100.2"), &limits), Ok(()));
        assert_eq!(c.total, 3);
    }

    #[test]
    fn a_descriptor_past_the_ceiling_is_refused_and_counted() {
        let metrics = Metrics::new(true);
        let caps = StreamCaps::new(
            StreamLimits {
                per_ip: 10,
                total: 10,
                fd_ceiling: Some(100),
            },
            metrics.clone(),
        );
        let ip: IpAddr = "198.51.100.1".parse().unwrap();
        let slot = caps.admit(ip, 99).unwrap();
        assert_eq!(caps.admit(ip, 100).unwrap_err(), ConnRefusal::Descriptors);
        let text = metrics.render();
        assert!(text.contains("confab_turn_stream_connections 1"), "{text}");
        assert!(
            text.contains("confab_turn_stream_connections_refused_total{reason=\"descriptors\"} 1"),
            "{text}"
        );
        drop(slot);
        assert!(metrics
            .render()
            .contains("confab_turn_stream_connections 0"));
    }
}
