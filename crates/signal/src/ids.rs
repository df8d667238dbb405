//! Peer id generation: a small deterministic PRNG and the id alphabet.
//!
//! Peer ids are names, not secrets: the server stamps `from` on every relayed message
//! and only relays within a room, so guessing an id grants nothing. A seeded PRNG keeps
//! the hub deterministic, which is what lets tests replay a run exactly.

use confab_proto::PeerId;

/// Characters of a peer id: lowercase RFC 4648 base32, so ids are URL- and log-safe.
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Length of a peer id; 12 base32 characters carry 60 random bits.
pub(crate) const PEER_ID_LEN: usize = 12;

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and every seed gives a full-period
/// stream, which is all peer ids need. Not cryptographic.
#[derive(Clone, Debug)]
pub(crate) struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose output is a pure function of `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 pseudo-random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A fresh peer id: [`PEER_ID_LEN`] characters of `a-z2-7`. Uniqueness among live
    /// connections is the caller's job (see `Hub::fresh_peer_id`).
    pub(crate) fn peer_id(&mut self) -> PeerId {
        let mut bits = self.next_u64();
        let mut id = String::with_capacity(PEER_ID_LEN);
        for _ in 0..PEER_ID_LEN {
            id.push(char::from(ALPHABET[(bits & 31) as usize]));
            bits >>= 5;
        }
        PeerId::new(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_reference_values() {
        // Reference outputs of splitmix64 seeded with 1234567 (from the C reference).
        let mut r = SplitMix64::new(1234567);
        assert_eq!(r.next_u64(), 6457827717110365317);
        assert_eq!(r.next_u64(), 3203168211198807973);
        assert_eq!(r.next_u64(), 9817491932198370423);
    }

    #[test]
    fn peer_ids_have_the_documented_shape() {
        let mut r = SplitMix64::new(0);
        for _ in 0..1000 {
            let id = r.peer_id();
            assert_eq!(id.as_str().len(), PEER_ID_LEN);
            assert!(id.as_str().bytes().all(|b| ALPHABET.contains(&b)), "{id}");
        }
    }

    #[test]
    fn same_seed_same_ids_different_seed_different_ids() {
        let ids = |seed| {
            let mut r = SplitMix64::new(seed);
            (0..8).map(|_| r.peer_id()).collect::<Vec<_>>()
        };
        assert_eq!(ids(7), ids(7));
        assert_ne!(ids(7), ids(8));
    }
}
