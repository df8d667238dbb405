//! The hub's one source of randomness: peer ids and resume tokens, from ChaCha20 seeded
//! once by the driver.
//!
//! Resume tokens are secrets (whoever presents one takes over an identity), so they need
//! a cryptographic generator; peer ids are names, not secrets (the server stamps `from`
//! and relays only within a room), but drawing them from the same generator keeps one
//! randomness path. The hub is sans-IO, so it never asks the OS: the driver passes 32
//! bytes from the OS random source to [`crate::Hub::new`]; tests pass a constant and get
//! a replayable run.

use confab_proto::PeerId;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;

/// Characters of a peer id: lowercase RFC 4648 base32, so ids are URL- and log-safe.
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// Length of a peer id; 12 base32 characters carry 60 random bits.
pub(crate) const PEER_ID_LEN: usize = 12;

/// Random bytes in a resume token (hex-encoded, so twice as many characters).
const TOKEN_BYTES: usize = 16;

/// ChaCha20, a CSPRNG: its output is unpredictable to anyone who does not know the seed.
pub(crate) struct Rng(ChaCha20Rng);

impl std::fmt::Debug for Rng {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Its state would predict every future token: never print it.
        f.write_str("Rng")
    }
}

impl Rng {
    /// A generator whose output is a pure function of `seed`.
    pub(crate) fn new(seed: [u8; 32]) -> Self {
        Rng(ChaCha20Rng::from_seed(seed))
    }

    /// A fresh peer id: [`PEER_ID_LEN`] characters of `a-z2-7`. Uniqueness among live
    /// connections is the caller's job (see `Hub::fresh_peer_id`).
    pub(crate) fn peer_id(&mut self) -> PeerId {
        let mut bits = self.0.next_u64();
        let mut id = String::with_capacity(PEER_ID_LEN);
        for _ in 0..PEER_ID_LEN {
            id.push(char::from(ALPHABET[(bits & 31) as usize]));
            bits >>= 5;
        }
        PeerId::new(id)
    }

    /// A fresh resume token: 128 random bits, lowercase hex (32 characters, well under
    /// [`confab_proto::MAX_RESUME_TOKEN_BYTES`]).
    pub(crate) fn token(&mut self) -> String {
        let mut bytes = [0u8; TOKEN_BYTES];
        self.0.fill_bytes(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_ids_have_the_documented_shape() {
        let mut r = Rng::new([0; 32]);
        for _ in 0..1000 {
            let id = r.peer_id();
            assert_eq!(id.as_str().len(), PEER_ID_LEN);
            assert!(id.as_str().bytes().all(|b| ALPHABET.contains(&b)), "{id}");
        }
    }

    #[test]
    fn tokens_are_128_bits_of_hex_and_fit_the_protocol_limit() {
        let mut r = Rng::new([1; 32]);
        let t = r.token();
        assert_eq!(t.len(), 2 * TOKEN_BYTES);
        assert!(t.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(t.len() <= confab_proto::MAX_RESUME_TOKEN_BYTES);
        assert_ne!(t, r.token());
    }

    #[test]
    fn same_seed_same_stream_different_seed_different_stream() {
        let ids = |seed| {
            let mut r = Rng::new(seed);
            (0..8).map(|_| (r.peer_id(), r.token())).collect::<Vec<_>>()
        };
        assert_eq!(ids([7; 32]), ids([7; 32]));
        assert_ne!(ids([7; 32]), ids([8; 32]));
    }

    #[test]
    fn chacha20_matches_the_rfc_7539_keystream_for_a_zero_key() {
        // RFC 7539 appendix A.1, test vector 1: key 0, nonce 0, block 0 starts 76 b8 e0 ad.
        let mut r = Rng::new([0; 32]);
        let mut b = [0u8; 4];
        r.0.fill_bytes(&mut b);
        assert_eq!(b, [0x76, 0xb8, 0xe0, 0xad]);
    }
}
