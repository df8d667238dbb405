//! Several SFUs behind one UDP port: which one a datagram is for.
//!
//! A server may run several [`Sfu`](crate::Sfu)s ("shards", one per core), each owning
//! whole rooms, behind one UDP port (Linux's `SO_REUSEPORT`). The kernel spreads remote
//! addresses over the shards' sockets by a hash of the addresses, blind to which shard
//! owns the endpoint, so a shard's socket also reads datagrams of the others' endpoints.
//! To tell them apart without a shared table, each shard's SFU is given its
//! [`ShardTag`] ([`SfuConfig::shard`](crate::SfuConfig::shard)) and begins every ICE
//! ufrag it makes with the tag's character. The first datagram of a new remote address
//! is a STUN binding request whose USERNAME starts with our ufrag (we are ICE-lite: the
//! peer checks), so [`ShardTag::of_datagram`] names its shard; the driver remembers the
//! address for what follows (DTLS and SRTP carry no ufrag).
//!
//! A tag only routes: the owning shard's str0m still checks the request's integrity,
//! so a forged tag costs the forger one hop between shards and nothing else.

use crate::demux::stun_local_ufrag;

/// Most shards: one per ICE character (RFC 8839 `ice-char`: ALPHA / DIGIT / "+" / "/").
pub const MAX_SHARDS: usize = 64;

/// The tag characters, by shard: letters and digits first, so up to 62 shards use no
/// punctuation.
const TAGS: &[u8; MAX_SHARDS] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A shard's number, as the first character of every ICE ufrag its SFU makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ShardTag(u8);

impl ShardTag {
    /// Shard `index` (0-based); `None` from [`MAX_SHARDS`] on.
    pub fn new(index: usize) -> Option<ShardTag> {
        u8::try_from(index)
            .ok()
            .filter(|_| index < MAX_SHARDS)
            .map(ShardTag)
    }

    /// The shard's number.
    pub fn index(self) -> usize {
        usize::from(self.0)
    }

    /// The character that opens this shard's ufrags.
    pub fn char(self) -> char {
        char::from(TAGS[self.index()])
    }

    /// The shard that made a local ufrag (by its first character); `None` for an empty
    /// one or one opening with a character no shard uses.
    pub fn of_ufrag(ufrag: &[u8]) -> Option<ShardTag> {
        let first = *ufrag.first()?;
        TAGS.iter()
            .position(|&t| t == first)
            .and_then(ShardTag::new)
    }

    /// The shard a datagram names: for a STUN message with a USERNAME `ours:theirs`,
    /// the shard that made `ours`; `None` for anything else (DTLS, SRTP, STUN without
    /// a USERNAME, garbage). Never panics, whatever the bytes.
    pub fn of_datagram(bytes: &[u8]) -> Option<ShardTag> {
        stun_local_ufrag(bytes).and_then(ShardTag::of_ufrag)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A STUN binding request with USERNAME `user` (after a PRIORITY, as browsers send).
    fn binding(user: &[u8]) -> Vec<u8> {
        crate::demux::stun_with(&[(0x0024, &[0, 0, 0, 1]), (0x0006, user)])
    }

    #[test]
    fn every_shard_has_its_own_character_and_is_found_again() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..MAX_SHARDS {
            let tag = ShardTag::new(i).unwrap();
            assert_eq!(tag.index(), i);
            assert!(seen.insert(tag.char()), "shard {i} shares its character");
            let ufrag = format!("{}abcdefghij0123", tag.char());
            assert_eq!(ShardTag::of_ufrag(ufrag.as_bytes()), Some(tag));
            let request = binding(format!("{ufrag}:theirs").as_bytes());
            assert_eq!(ShardTag::of_datagram(&request), Some(tag));
        }
        assert_eq!(ShardTag::new(MAX_SHARDS), None);
        // Up to 62 shards, tags are letters and digits.
        assert!((0..62).all(|i| ShardTag::new(i).unwrap().char().is_ascii_alphanumeric()));
    }

    #[test]
    fn names_no_shard_for_what_carries_no_tag() {
        // Not STUN: RTP, DTLS, nothing.
        assert_eq!(ShardTag::of_datagram(&[0x80; 60]), None);
        assert_eq!(ShardTag::of_datagram(&[22, 254, 253, 0, 0]), None);
        assert_eq!(ShardTag::of_datagram(&[]), None);
        // STUN with an empty local ufrag, or one opening with a character no shard uses.
        assert_eq!(ShardTag::of_datagram(&binding(b":theirs")), None);
        assert_eq!(ShardTag::of_datagram(&binding(b"-abc:theirs")), None);
        assert_eq!(ShardTag::of_datagram(&binding("éabc:x".as_bytes())), None);
        // The remote half is not ours: only the part before the colon counts.
        assert_eq!(ShardTag::of_datagram(&binding(b"B")), None);
        assert_eq!(ShardTag::of_datagram(&binding(b"Bxyz:A")), ShardTag::new(1));
    }
}
