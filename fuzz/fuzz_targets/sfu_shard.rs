//! Which shard a datagram is for (`ShardTag::of_datagram`), the first thing a shard's
//! driver does with every datagram its socket reads: on raw fuzzer bytes, and on the
//! bytes wrapped as a STUN binding request whose USERNAME opens with a shard's tag and
//! goes on with fuzzer bytes. Nothing may panic; raw bytes name a shard only through a
//! STUN USERNAME; a wrapped request names exactly the shard whose tag opens it.
#![no_main]
use confab_sfu::{stun_local_ufrag, stun_with, ShardTag, MAX_SHARDS};
use libfuzzer_sys::fuzz_target;

/// A STUN binding request: an attribute of fuzzer bytes first (type 0x8022,
/// SOFTWARE), then USERNAME `user`.
fn binding(before: &[u8], user: &[u8]) -> Vec<u8> {
    stun_with(&[(0x8022, before), (0x0006, user)])
}

fuzz_target!(|data: &[u8]| {
    if let Some(tag) = ShardTag::of_datagram(data) {
        assert!(tag.index() < MAX_SHARDS);
        let ufrag = stun_local_ufrag(data).expect("a shard only from a USERNAME");
        assert_eq!(ShardTag::of_ufrag(ufrag), Some(tag));
    }
    let Some((&head, rest)) = data.split_first() else { return };
    let tag = ShardTag::new(usize::from(head) % MAX_SHARDS).unwrap();
    // The rest: a SOFTWARE value, then the ufrag's tail (a colon ends our part).
    let cut = rest.len() / 2;
    let (before, tail) = rest.split_at(cut.min(600));
    let tail = &tail[..tail.len().min(500)];
    let mut user = tag.char().to_string().into_bytes();
    user.extend(tail.iter().copied().filter(|&b| b != b':'));
    user.extend_from_slice(b":theirs");
    assert_eq!(ShardTag::of_datagram(&binding(before, &user)), Some(tag));
});
