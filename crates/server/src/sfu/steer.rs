//! One UDP port for every shard: which shard a datagram is for, and the hand-off of
//! datagrams one shard's socket read for another shard's endpoints.
//!
//! Every shard's socket is bound to the same address with `SO_REUSEPORT`; the kernel
//! gives each remote address to one of them by a hash of the addresses, blind to which
//! shard owns the address's endpoint. A STUN request names its shard (our ufrag opens
//! with the shard's tag, `confab_sfu::ShardTag`), so [`Steer`] learns the address's
//! shard from it, and the address's later datagrams (DTLS, SRTP: no ufrag) follow. A
//! datagram for another shard goes to it in a [`Parcel`] over a bounded queue; the owner
//! answers from its own socket, which has the same address, so a browser sees one
//! server address whichever socket the kernel picked.

use crate::metrics::Metrics;
use confab_sfu::ShardTag;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Remote addresses a [`Steer`] remembers as another shard's: a browser has a handful
/// of candidate pairs, so this is thousands of members.
const MAX_AWAY: usize = 16_384;

/// An address silent this long is forgotten when the map is full: the SFU drops an
/// endpoint after 30 s without a datagram (`SfuConfig::idle_timeout`), so none is left.
const FORGET_AFTER: Duration = Duration::from_secs(30);

/// Bytes packed in one parcel before it is sent (a read's datagrams for one shard
/// usually fit in one). With [`HANDOFF_QUEUE`] this bounds a shard's queue of
/// hand-offs to about 16 MiB (each parcel may exceed this by one datagram).
const PARCEL_BYTES: usize = 64 << 10;

/// Parcels a shard may have queued before more are dropped (like datagrams its own
/// socket's full buffer would drop).
pub(super) const HANDOFF_QUEUE: usize = 128;

/// Where datagrams go, for one shard (`home`) of `shards`.
#[derive(Debug)]
pub(super) struct Steer {
    home: usize,
    shards: usize,
    /// Remote addresses whose last STUN request named another shard: that shard, and
    /// when the address was last heard.
    away: HashMap<SocketAddr, (usize, Instant)>,
}

impl Steer {
    /// Steering for shard `home` of `shards`.
    pub(super) fn new(home: usize, shards: usize) -> Steer {
        Steer {
            home,
            shards,
            away: HashMap::new(),
        }
    }

    /// The shard a datagram from `source` is for: the one its STUN USERNAME names
    /// (remembered for the address from now on), else the one remembered for the
    /// address, else `home`. A tag of no running shard counts as none: only an owner's
    /// str0m checks a request, so a forged tag must not steer anywhere else.
    pub(super) fn shard(&mut self, now: Instant, source: SocketAddr, bytes: &[u8]) -> usize {
        let named = ShardTag::of_datagram(bytes)
            .map(ShardTag::index)
            .filter(|&i| i < self.shards);
        match named {
            Some(i) if i == self.home => {
                self.away.remove(&source);
                i
            }
            Some(i) => {
                self.remember(now, source, i);
                i
            }
            None => match self.away.get_mut(&source) {
                Some((i, seen)) => {
                    *seen = now;
                    *i
                }
                None => self.home,
            },
        }
    }

    /// Remembers `source` as `shard`'s. A full map first forgets addresses silent for
    /// [`FORGET_AFTER`], and everything if that frees nothing (the next STUN request of
    /// each live address, a consent check every few seconds, teaches it again).
    fn remember(&mut self, now: Instant, source: SocketAddr, shard: usize) {
        if self.away.len() >= MAX_AWAY && !self.away.contains_key(&source) {
            self.away
                .retain(|_, (_, seen)| now.duration_since(*seen) < FORGET_AFTER);
            if self.away.len() >= MAX_AWAY {
                self.away.clear();
            }
        }
        self.away.insert(source, (shard, now));
    }
}

/// Datagrams one shard's socket read for another shard: their bytes back to back, and
/// each one's source and length.
#[derive(Debug, Default)]
pub(super) struct Parcel {
    bytes: Vec<u8>,
    datagrams: Vec<(SocketAddr, usize)>,
}

impl Parcel {
    fn push(&mut self, source: SocketAddr, bytes: &[u8]) {
        self.bytes.extend_from_slice(bytes);
        self.datagrams.push((source, bytes.len()));
    }

    /// Each datagram's source and bytes, in the order read.
    pub(super) fn iter(&self) -> impl Iterator<Item = (SocketAddr, &[u8])> + '_ {
        let mut at = 0;
        self.datagrams.iter().map(move |&(source, len)| {
            let bytes = &self.bytes[at..at + len];
            at += len;
            (source, bytes)
        })
    }
}

/// One shard's side of the hand-off: its steering, and the other shards' queues.
pub(super) struct Handoff {
    steer: Steer,
    /// Every shard's queue, by shard (this shard's own is never used).
    queues: Arc<[mpsc::Sender<Parcel>]>,
    /// Parcels being packed, by shard.
    open: Vec<Parcel>,
    metrics: Metrics,
    /// Datagrams a full queue refused (logged at powers of two).
    dropped: u64,
}

impl Handoff {
    /// Shard `home`'s hand-off to the shards whose queues are `queues`.
    pub(super) fn new(home: usize, queues: Arc<[mpsc::Sender<Parcel>]>, metrics: Metrics) -> Self {
        Handoff {
            steer: Steer::new(home, queues.len()),
            open: queues.iter().map(|_| Parcel::default()).collect(),
            queues,
            metrics,
            dropped: 0,
        }
    }

    /// Whether a datagram this shard's socket read is another shard's: then it is
    /// packed for that shard, and goes at the next [`Handoff::flush`] (or at once when
    /// its parcel is full).
    pub(super) fn take(&mut self, now: Instant, source: SocketAddr, bytes: &[u8]) -> bool {
        let shard = self.steer.shard(now, source, bytes);
        if shard == self.steer.home {
            return false;
        }
        self.open[shard].push(source, bytes);
        if self.open[shard].bytes.len() >= PARCEL_BYTES {
            self.send(shard);
        }
        true
    }

    /// Sends every parcel packed since the last flush (after each read).
    pub(super) fn flush(&mut self) {
        for shard in 0..self.open.len() {
            if !self.open[shard].datagrams.is_empty() {
                self.send(shard);
            }
        }
    }

    fn send(&mut self, shard: usize) {
        let parcel = std::mem::take(&mut self.open[shard]);
        let n = parcel.datagrams.len() as u64;
        match self.queues[shard].try_send(parcel) {
            Ok(()) => self.metrics.sfu_handoffs(n),
            Err(_) => {
                self.dropped += n;
                if self.dropped.is_power_of_two() {
                    tracing::warn!(
                        shard,
                        dropped = self.dropped,
                        "an SFU shard is behind: datagrams handed to it were dropped"
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A STUN binding request to local ufrag `ufrag`.
    fn binding(ufrag: &str) -> Vec<u8> {
        let user = format!("{ufrag}:them");
        let mut msg = vec![0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xA4, 0x42];
        msg.extend_from_slice(&[1; 12]);
        msg.extend_from_slice(&[0x00, 0x06]);
        msg.extend_from_slice(&(user.len() as u16).to_be_bytes());
        msg.extend_from_slice(user.as_bytes());
        while msg.len() % 4 != 0 {
            msg.push(0);
        }
        let len = (msg.len() - 20) as u16;
        msg[2..4].copy_from_slice(&len.to_be_bytes());
        msg
    }

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, 1], port))
    }

    const SRTP: &[u8] = &[0x80, 0x6f, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2];

    #[test]
    fn an_address_follows_its_last_stun_request() {
        let now = Instant::now();
        let mut steer = Steer::new(0, 3);
        // Unknown: home.
        assert_eq!(steer.shard(now, addr(1), SRTP), 0);
        // A request for shard 2 ("C..."): there, and the address's media after it.
        assert_eq!(steer.shard(now, addr(1), &binding("Cabcdefghijklmno")), 2);
        assert_eq!(steer.shard(now, addr(1), SRTP), 2);
        assert_eq!(
            steer.shard(now, addr(2), SRTP),
            0,
            "another address stays home"
        );
        // A later request for home (an ICE restart, a new call) brings it back.
        assert_eq!(steer.shard(now, addr(1), &binding("Aabcdefghijklmno")), 0);
        assert_eq!(steer.shard(now, addr(1), SRTP), 0);
        // A tag of no running shard (shard 3, "D...") steers nowhere.
        assert_eq!(steer.shard(now, addr(3), &binding("Dabcdefghijklmno")), 0);
        assert_eq!(steer.shard(now, addr(3), SRTP), 0);
    }

    #[test]
    fn a_full_map_forgets_silent_addresses_first() {
        let t0 = Instant::now();
        let mut steer = Steer::new(0, 2);
        let to_one = binding("Babcdefghijklmno");
        for port in 0..MAX_AWAY as u16 {
            steer.shard(t0, addr(port), &to_one);
        }
        let later = t0 + FORGET_AFTER;
        // One address stays in touch; then a new one arrives with the map full.
        assert_eq!(steer.shard(later, addr(7), SRTP), 1);
        let new = SocketAddr::from(([198, 51, 100, 1], 9));
        assert_eq!(steer.shard(later, new, &to_one), 1);
        assert_eq!(steer.away.len(), 2, "the silent ones were forgotten");
        assert_eq!(steer.shard(later, addr(7), SRTP), 1);
        assert_eq!(steer.shard(later, addr(8), SRTP), 0);
    }

    #[test]
    fn a_parcel_gives_back_each_datagram_in_order() {
        let mut p = Parcel::default();
        p.push(addr(1), b"one");
        p.push(addr(2), b"");
        p.push(addr(3), b"three");
        let got: Vec<_> = p.iter().collect();
        assert_eq!(
            got,
            [
                (addr(1), &b"one"[..]),
                (addr(2), &b""[..]),
                (addr(3), &b"three"[..])
            ]
        );
    }

    #[tokio::test]
    async fn handoff_packs_another_shards_datagrams_and_keeps_its_own() {
        let (txs, mut rxs): (Vec<_>, Vec<_>) = (0..2).map(|_| mpsc::channel(2)).unzip();
        let metrics = Metrics::new(false);
        let mut h = Handoff::new(0, txs.into(), metrics.clone());
        let now = Instant::now();
        assert!(!h.take(now, addr(1), SRTP), "unknown: ours");
        assert!(h.take(now, addr(2), &binding("Babcdefghijklmno")));
        assert!(h.take(now, addr(2), SRTP));
        assert!(rxs[1].try_recv().is_err(), "nothing goes before the flush");
        h.flush();
        let parcel = rxs[1].try_recv().unwrap();
        assert_eq!(parcel.iter().count(), 2);
        assert_eq!(parcel.iter().nth(1), Some((addr(2), SRTP)));
        assert!(rxs[0].try_recv().is_err());
        assert!(metrics.render().contains("confab_sfu_handoffs_total 2"));
        // A full queue drops (two parcels fit); nothing blocks.
        for _ in 0..3 {
            assert!(h.take(now, addr(2), SRTP));
            h.flush();
        }
        assert_eq!(h.dropped, 1);
    }
}
