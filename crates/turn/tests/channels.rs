//! ChannelBind, its rebinding rules, ChannelData both ways (UDP and padded over TCP),
//! channel expiry and the 5-minute reuse guard.
mod common;

use common::{channel_data, config, make_channel_data, peer, tcp, udp, Auth, Harness, Reply};
use confab_turn::{ClientKey, Output};
use std::net::SocketAddr;
use stun_types::attribute::{AttributeWrite, RawAttribute};
use turn_types::attribute::{ChannelNumber, XorPeerAddress};
use turn_types::message::{CHANNEL_BIND, CREATE_PERMISSION};

fn setup(key: ClientKey) -> (Harness, Auth, SocketAddr) {
    let mut h = Harness::new(config());
    let mut ada = Auth::new("ada", "lovelace");
    let relay = h.allocate(key, &mut ada);
    (h, ada, relay)
}

fn bind(h: &mut Harness, key: ClientKey, ada: &Auth, number: u16, to: SocketAddr) -> Reply {
    let tid = h.tid();
    let channel = ChannelNumber::new(number);
    let peer_attr = XorPeerAddress::new(to, tid.into());
    h.ask(
        key,
        &common::request(CHANNEL_BIND, tid, &[&channel, &peer_attr], Some(ada)),
    )
}

#[test]
fn channel_data_flows_both_ways_over_udp() {
    let (mut h, ada, relay) = setup(udp(1));
    let p = peer(7000);
    let reply = bind(&mut h, udp(1), &ada, 0x4001, p);
    assert!(reply.is_success() && reply.verifies(&ada));
    // Client to peer (the bind installed a permission).
    let out = h.client(udp(1), &make_channel_data(0x4001, b"hello"));
    assert_eq!(
        out,
        vec![Output::ToPeer {
            relay,
            peer: p,
            data: b"hello".to_vec()
        }]
    );
    // Trailing padding over UDP is fine.
    let mut padded = make_channel_data(0x4001, b"abc");
    padded.push(0);
    assert_eq!(h.client(udp(1), &padded).len(), 1);
    // Peer to client: ChannelData, unpadded over UDP.
    h.server.handle_peer(relay, p, b"world", h.now);
    let [Output::ToClient { key, data }] = &h.drain()[..] else {
        panic!()
    };
    assert_eq!(*key, udp(1));
    assert_eq!(data.len(), 9);
    assert_eq!(channel_data(data), (0x4001, b"world".to_vec()));
    // The same IP on another port has a permission but no channel: a Data indication.
    h.server
        .handle_peer(relay, SocketAddr::new(p.ip(), 7001), b"x", h.now);
    let [Output::ToClient { data, .. }] = &h.drain()[..] else {
        panic!()
    };
    assert_eq!(Reply(data.clone()).data(), b"x");
    // Unbound channel numbers and short frames are dropped.
    assert!(h
        .client(udp(1), &make_channel_data(0x4002, b"x"))
        .is_empty());
    assert!(h
        .client(udp(1), &make_channel_data(0x4001, b"hello")[..6])
        .is_empty());
    // Another client cannot use our channel.
    assert!(h
        .client(udp(2), &make_channel_data(0x4001, b"x"))
        .is_empty());
}

#[test]
fn channel_data_is_padded_over_tcp() {
    let (mut h, ada, relay) = setup(tcp(1));
    let p = peer(7000);
    assert!(bind(&mut h, tcp(1), &ada, 0x4000, p).is_success());
    h.server.handle_peer(relay, p, b"world", h.now);
    let [Output::ToClient { data, .. }] = &h.drain()[..] else {
        panic!()
    };
    assert_eq!(data.len(), 12);
    assert_eq!(confab_turn::frame_len(data), Ok(Some(12)));
    assert_eq!(channel_data(data), (0x4000, b"world".to_vec()));
    // A padded frame from the client, as frame_len cut it.
    let mut frame = make_channel_data(0x4000, b"abcde");
    frame.resize(12, 0);
    assert_eq!(confab_turn::frame_len(&frame), Ok(Some(12)));
    let out = h.client(tcp(1), &frame);
    assert_eq!(
        out,
        vec![Output::ToPeer {
            relay,
            peer: p,
            data: b"abcde".to_vec()
        }]
    );
}

#[test]
fn channel_numbers_outside_the_range_get_400() {
    let (mut h, ada, _) = setup(udp(1));
    for bad in [0x0000, 0x3FFF, 0x8000, 0xFFFF] {
        let reply = bind(&mut h, udp(1), &ada, bad, peer(1));
        assert_eq!(reply.code(), 400, "{bad:#x}");
        assert!(reply.verifies(&ada));
    }
    for good in [0x4000, 0x4FFF, 0x7FFF] {
        assert!(bind(&mut h, udp(1), &ada, good, peer(good)).is_success());
    }
}

#[test]
fn missing_attributes_get_400() {
    let (mut h, ada, _) = setup(udp(1));
    let tid = h.tid();
    let channel = ChannelNumber::new(0x4000);
    let peer_attr = XorPeerAddress::new(peer(1), tid.into());
    let cases: [&[&dyn AttributeWrite]; 3] = [
        &[&channel],
        &[&peer_attr],
        &[&channel, &peer_attr, &peer_attr],
    ];
    for attrs in cases {
        let reply = h.ask(
            udp(1),
            &common::request(CHANNEL_BIND, tid, attrs, Some(&ada)),
        );
        assert_eq!(reply.code(), 400);
    }
    let garbled = RawAttribute::new(0x000C.into(), &[0x40]);
    let reply = h.ask(
        udp(1),
        &common::request(CHANNEL_BIND, tid, &[&garbled, &peer_attr], Some(&ada)),
    );
    assert_eq!(reply.code(), 400);
}

#[test]
fn rebinding_rules() {
    let (mut h, ada, _) = setup(udp(1));
    assert!(bind(&mut h, udp(1), &ada, 0x4000, peer(1)).is_success());
    assert!(bind(&mut h, udp(1), &ada, 0x4000, peer(1)).is_success()); // refresh
    assert_eq!(bind(&mut h, udp(1), &ada, 0x4000, peer(2)).code(), 400); // number taken
    assert_eq!(bind(&mut h, udp(1), &ada, 0x4001, peer(1)).code(), 400); // peer taken
    assert!(bind(&mut h, udp(1), &ada, 0x4001, peer(2)).is_success());
}

#[test]
fn forbidden_and_wrong_family_peers() {
    let (mut h, ada, _) = setup(udp(1));
    assert_eq!(
        bind(&mut h, udp(1), &ada, 0x4000, "10.0.0.1:5".parse().unwrap()).code(),
        403
    );
    assert_eq!(
        bind(
            &mut h,
            udp(1),
            &ada,
            0x4000,
            "[2001:db8::1]:5".parse().unwrap()
        )
        .code(),
        443
    );
    assert_eq!(
        bind(
            &mut h,
            udp(1),
            &ada,
            0x4000,
            "[::ffff:10.0.0.1]:5".parse().unwrap()
        )
        .code(),
        443
    );
}

#[test]
fn channel_bind_without_allocation_gets_437() {
    let mut h = Harness::new(config());
    let mut ada = Auth::new("ada", "lovelace");
    h.challenge(udp(1), &mut ada);
    assert_eq!(bind(&mut h, udp(1), &ada, 0x4000, peer(1)).code(), 437);
}

#[test]
fn channels_expire_after_600_s_and_stay_reserved_300_s_more() {
    let (mut h, mut ada, relay) = setup(udp(1));
    let lifetime = turn_types::attribute::Lifetime::new(3600);
    assert!(h
        .signed(udp(1), turn_types::message::REFRESH, &[&lifetime], &ada)
        .is_success());
    let p = peer(7000);
    assert!(bind(&mut h, udp(1), &ada, 0x4000, p).is_success());
    // The permission (300 s) must be refreshed separately to keep data flowing.
    h.advance(290);
    let tid = h.tid();
    let peer_attr = XorPeerAddress::new(p, tid.into());
    assert!(h
        .ask(
            udp(1),
            &common::request(CREATE_PERMISSION, tid, &[&peer_attr], Some(&ada))
        )
        .is_success());
    h.advance(290);
    let tid = h.tid();
    let peer_attr = XorPeerAddress::new(p, tid.into());
    assert!(h
        .ask(
            udp(1),
            &common::request(CREATE_PERMISSION, tid, &[&peer_attr], Some(&ada))
        )
        .is_success());
    h.advance(19); // 599 s: the channel still works
    assert_eq!(h.client(udp(1), &make_channel_data(0x4000, b"a")).len(), 1);
    h.advance(1); // 600 s: gone
    assert!(h
        .client(udp(1), &make_channel_data(0x4000, b"a"))
        .is_empty());
    // Peer data falls back to a Data indication (the permission lives until 880 s).
    h.server.handle_peer(relay, p, b"b", h.now);
    let [Output::ToClient { data, .. }] = &h.drain()[..] else {
        panic!()
    };
    assert_eq!(Reply(data.clone()).data(), b"b");
    // Reserved: neither the number nor the peer may be rebound elsewhere...
    h.challenge(udp(1), &mut ada); // (the nonce is 600 s old)
    assert_eq!(bind(&mut h, udp(1), &ada, 0x4000, peer(1)).code(), 400);
    assert_eq!(bind(&mut h, udp(1), &ada, 0x4001, p).code(), 400);
    // ...until 900 s.
    h.advance(300);
    assert!(bind(&mut h, udp(1), &ada, 0x4000, peer(1)).is_success());
    assert!(bind(&mut h, udp(1), &ada, 0x4001, p).is_success());
}

#[test]
fn rebinding_the_same_pair_revives_an_expired_channel() {
    let (mut h, mut ada, _) = setup(udp(1));
    let lifetime = turn_types::attribute::Lifetime::new(3600);
    assert!(h
        .signed(udp(1), turn_types::message::REFRESH, &[&lifetime], &ada)
        .is_success());
    assert!(bind(&mut h, udp(1), &ada, 0x4000, peer(1)).is_success());
    h.advance(650);
    h.challenge(udp(1), &mut ada);
    assert!(bind(&mut h, udp(1), &ada, 0x4000, peer(1)).is_success());
    assert_eq!(h.client(udp(1), &make_channel_data(0x4000, b"a")).len(), 1);
}
