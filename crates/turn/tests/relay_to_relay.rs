//! Two relay-only clients of one server reach each other (issue 12 item 1): a peer
//! address that is another allocation's relayed address is handed over in-process, as if
//! it came from the sender's relayed address, while every other address of the server
//! stays unreachable.
mod common;

use common::{channel_data, make_channel_data, request, tcp, udp, Auth, Harness, Reply};
use confab_turn::{Output, PeerPolicy, TurnConfig};
use std::net::SocketAddr;
use stun_types::attribute::AttributeWrite;
use turn_types::attribute::{ChannelNumber, Data, XorPeerAddress};
use turn_types::message::{CHANNEL_BIND, CREATE_PERMISSION, DATA, SEND};

/// The default peer policy: the server's own address (198.51.100.1) is denied, as it is
/// in production; nothing is allowed explicitly.
fn config() -> TurnConfig {
    TurnConfig {
        peer_policy: PeerPolicy::default(),
        ..common::config()
    }
}

fn permit(h: &mut Harness, key: confab_turn::ClientKey, auth: &Auth, peer: SocketAddr) -> Reply {
    let tid = h.tid();
    let attr = XorPeerAddress::new(peer, tid.into());
    h.ask(key, &request(CREATE_PERMISSION, tid, &[&attr], Some(auth)))
}

fn send(
    h: &mut Harness,
    key: confab_turn::ClientKey,
    to: SocketAddr,
    payload: &[u8],
) -> Vec<Output> {
    let tid = h.tid();
    let peer = XorPeerAddress::new(to, tid.into());
    let data = Data::new(payload);
    h.client(key, &common::indication(SEND, tid, &[&peer, &data]))
}

/// Two allocations (one over UDP, one over TCP) with permissions for each other.
fn pair() -> (Harness, Auth, SocketAddr, Auth, SocketAddr) {
    let mut h = Harness::new(config());
    let mut a = Auth::new("ada", "lovelace");
    let mut b = Auth::new("ada", "lovelace");
    let relay_a = h.allocate(udp(1), &mut a);
    let relay_b = h.allocate(tcp(2), &mut b);
    assert!(h.server.is_relayed_address(relay_a) && h.server.is_relayed_address(relay_b));
    let reply = permit(&mut h, udp(1), &a, relay_b);
    assert!(
        reply.is_success(),
        "A -> B's relayed address: {}",
        reply.code()
    );
    let reply = permit(&mut h, tcp(2), &b, relay_a);
    assert!(
        reply.is_success(),
        "B -> A's relayed address: {}",
        reply.code()
    );
    (h, a, relay_a, b, relay_b)
}

#[test]
fn send_indications_cross_in_process_both_ways() {
    let (mut h, _, relay_a, _, relay_b) = pair();
    // A -> B: no socket send, a Data indication to B from A's relayed address.
    let out = send(&mut h, udp(1), relay_b, b"hello B");
    let [Output::ToClient { key, data }] = &out[..] else {
        panic!("expected one delivery to B, got {out:?}");
    };
    assert_eq!(*key, tcp(2));
    let reply = Reply(data.clone());
    assert_eq!(reply.msg().method(), DATA);
    assert_eq!(reply.peer(), relay_a);
    assert_eq!(reply.data(), b"hello B");
    // B -> A.
    let out = send(&mut h, tcp(2), relay_a, b"hello A");
    let [Output::ToClient { key, data }] = &out[..] else {
        panic!("expected one delivery to A, got {out:?}");
    };
    assert_eq!(*key, udp(1));
    assert_eq!(Reply(data.clone()).peer(), relay_b);
    assert_eq!(h.server.in_process_bytes(), 14);
}

#[test]
fn channels_cross_in_process_and_keep_stream_padding() {
    let (mut h, a, relay_a, b, relay_b) = pair();
    let tid = h.tid();
    let bind = |tid: u128, number: u16, peer: SocketAddr, auth: &Auth| {
        let attrs: [&dyn AttributeWrite; 2] = [
            &ChannelNumber::new(number),
            &XorPeerAddress::new(peer, tid.into()),
        ];
        request(CHANNEL_BIND, tid, &attrs, Some(auth))
    };
    assert!(h.ask(udp(1), &bind(tid, 0x4001, relay_b, &a)).is_success());
    let tid = h.tid();
    assert!(h.ask(tcp(2), &bind(tid, 0x4002, relay_a, &b)).is_success());
    // A's ChannelData arrives at B (TCP) as ChannelData on B's channel, padded.
    let out = h.client(udp(1), &make_channel_data(0x4001, b"abcde"));
    let [Output::ToClient { key, data }] = &out[..] else {
        panic!("{out:?}");
    };
    assert_eq!(*key, tcp(2));
    assert_eq!(data.len(), 12, "stream ChannelData is padded to 4 bytes");
    assert_eq!(channel_data(data), (0x4002, b"abcde".to_vec()));
    // And back, unpadded over UDP.
    let out = h.client(tcp(2), &make_channel_data(0x4002, b"xyz"));
    let [Output::ToClient { key, data }] = &out[..] else {
        panic!("{out:?}");
    };
    assert_eq!(*key, udp(1));
    assert_eq!(channel_data(data), (0x4001, b"xyz".to_vec()));
}

#[test]
fn other_own_addresses_stay_unreachable() {
    let (mut h, a, relay_a, _, relay_b) = pair();
    // A holds a permission for the server's IP (through B's relayed address), yet data to
    // any other port of that IP, or to a released relay, goes nowhere.
    for other in [
        "198.51.100.1:3478",
        "198.51.100.1:8443",
        "198.51.100.1:59999",
    ] {
        let other: SocketAddr = other.parse().unwrap();
        assert!(send(&mut h, udp(1), other, b"x").is_empty(), "{other}");
        assert_eq!(permit(&mut h, udp(1), &a, other).code(), 403, "{other}");
    }
    // Its own relayed address is no peer either.
    assert_eq!(permit(&mut h, udp(1), &a, relay_a).code(), 403);
    // B's allocation goes: its address is no longer reachable, and nothing leaks out.
    h.server.handle_client_closed(tcp(2), h.now);
    h.drain();
    assert!(!h.server.is_relayed_address(relay_b));
    assert!(send(&mut h, udp(1), relay_b, b"x").is_empty());
    assert_eq!(permit(&mut h, udp(1), &a, relay_b).code(), 403);
}

#[test]
fn without_a_permission_nothing_crosses() {
    let mut h = Harness::new(config());
    let mut a = Auth::new("ada", "lovelace");
    let mut b = Auth::new("ada", "lovelace");
    let _relay_a = h.allocate(udp(1), &mut a);
    let relay_b = h.allocate(udp(2), &mut b);
    assert!(permit(&mut h, udp(1), &a, relay_b).is_success());
    // B never permitted A: A's data is not delivered to B.
    assert!(send(&mut h, udp(1), relay_b, b"x").is_empty());
    assert_eq!(
        h.server.in_process_bytes(),
        1,
        "handed over, then dropped by B's rules"
    );
}

#[test]
fn explicitly_allowed_own_address_still_crosses_in_process() {
    // With the server's range allowed (a LAN deployment, the NAT lab), relay-to-relay
    // traffic still skips the kernel; other own ports go out as the operator allowed.
    let mut config = config();
    config.peer_policy.allow = vec!["198.51.100.0/24".parse().unwrap()];
    let mut h = Harness::new(config);
    let mut a = Auth::new("ada", "lovelace");
    let mut b = Auth::new("ada", "lovelace");
    let relay_a = h.allocate(udp(1), &mut a);
    let relay_b = h.allocate(udp(2), &mut b);
    assert!(permit(&mut h, udp(1), &a, relay_b).is_success());
    assert!(permit(&mut h, udp(2), &b, relay_a).is_success());
    let out = send(&mut h, udp(1), relay_b, b"in");
    assert!(
        matches!(&out[..], [Output::ToClient { key, .. }] if *key == udp(2)),
        "{out:?}"
    );
    let other: SocketAddr = "198.51.100.1:3478".parse().unwrap();
    let out = send(&mut h, udp(1), other, b"out");
    assert!(
        matches!(&out[..], [Output::ToPeer { peer, .. }] if *peer == other),
        "{out:?}"
    );
}
