//! Property tests: no input panics, and random operation sequences keep the invariants
//! (caps hold, every ToPeer is permitted, every relay is released exactly once).
mod common;

use common::{config, make_channel_data, request, Auth, Harness};
use confab_turn::{BindError, ClientKey, Output, Transport, TurnConfig};
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;
use turn_types::attribute::{ChannelNumber, Data, Lifetime, RequestedTransport, XorPeerAddress};
use turn_types::message::{ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, REFRESH, SEND};

fn key(i: u8) -> ClientKey {
    let transport = if i & 1 == 0 {
        Transport::Udp
    } else {
        Transport::Tcp
    };
    ClientKey {
        transport,
        ..common::udp(40_000 + u16::from(i))
    }
}

fn peer(k: u8) -> SocketAddr {
    match k % 4 {
        0 => SocketAddr::from(([8, 8, 8, k], 9000)),
        1 => SocketAddr::from(([127, 0, 0, 1], 9000 + u16::from(k))),
        2 => SocketAddr::from(([10, 0, 0, k], 9000)), // forbidden
        _ => SocketAddr::from(([8, 8, 8, k], 9001)),
    }
}

/// A server with one live allocation, a permission and a channel, for the fuzz-like tests.
fn primed() -> (Harness, SocketAddr) {
    let mut h = Harness::new(config());
    let mut ada = Auth::new("ada", "lovelace");
    let relay = h.allocate(key(0), &mut ada);
    let tid = h.tid();
    let channel = ChannelNumber::new(0x4000);
    let p = XorPeerAddress::new(peer(0), tid.into());
    assert!(h
        .ask(
            key(0),
            &request(CHANNEL_BIND, tid, &[&channel, &p], Some(&ada))
        )
        .is_success());
    (h, relay)
}

fn well_formed(out: &Output) -> bool {
    match out {
        Output::ToClient { data, .. } => match data.first().map(|b| b >> 6) {
            Some(0) => stun_types::message::Message::from_bytes(data).is_ok(),
            Some(1) => confab_turn::frame_len(data).is_ok(),
            _ => false,
        },
        _ => true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_client_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300), k in 0u8..4) {
        let (mut h, _) = primed();
        for out in h.client(key(k), &data) {
            prop_assert!(well_formed(&out));
        }
        let _ = confab_turn::frame_len(&data);
    }

    #[test]
    fn mutated_requests_never_panic(flips in proptest::collection::vec((0usize..200, any::<u8>()), 1..6), which in 0usize..5, cut in 0usize..200) {
        let (mut h, relay) = primed();
        let tid = h.tid();
        let ada = Auth { nonce: "obMatJos2gAAA".into(), ..Auth::new("ada", "lovelace") };
        let t = RequestedTransport::new(17);
        let p = XorPeerAddress::new(peer(0), tid.into());
        let c = ChannelNumber::new(0x4001);
        let d = Data::new(b"payload");
        let l = Lifetime::new(0);
        let mut msg = match which {
            0 => request(ALLOCATE, tid, &[&t], Some(&ada)),
            1 => request(CREATE_PERMISSION, tid, &[&p, &p], Some(&ada)),
            2 => request(CHANNEL_BIND, tid, &[&c, &p], None),
            3 => common::indication(SEND, tid, &[&p, &d]),
            _ => request(REFRESH, tid, &[&l], Some(&ada)),
        };
        for (at, byte) in flips {
            let len = msg.len();
            msg[at % len] ^= byte;
        }
        if cut % 3 == 0 {
            msg.truncate(cut.max(1));
        }
        for out in h.client(key(0), &msg) {
            prop_assert!(well_formed(&out));
        }
        h.server.handle_peer(relay, peer(0), &msg, h.now);
        for out in h.drain() {
            prop_assert!(well_formed(&out));
        }
    }

    #[test]
    fn arbitrary_peer_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..2000), k in 0u8..8) {
        let (mut h, relay) = primed();
        h.server.handle_peer(relay, peer(k), &data, h.now);
        h.server.handle_peer("1.2.3.4:5".parse().unwrap(), peer(k), &data, h.now);
        for out in h.drain() {
            prop_assert!(well_formed(&out));
        }
    }

    #[test]
    fn random_sequences_keep_invariants(ops in proptest::collection::vec(op(), 1..80)) {
        run(ops)?;
    }
}

#[derive(Clone, Debug)]
enum Op {
    Allocate(u8, u8),
    Refresh(u8, u32),
    Permit(u8, u8),
    Bind(u8, u16, u8),
    Send(u8, u8),
    ChannelData(u8, u16),
    FromPeer(u8, u8),
    Advance(u16),
    Close(u8),
    BindDone(bool),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..6, 0u8..3).prop_map(|(c, u)| Op::Allocate(c, u)),
        (0u8..6, prop_oneof![Just(0u32), Just(60), Just(5000)])
            .prop_map(|(c, l)| Op::Refresh(c, l)),
        (0u8..6, 0u8..8).prop_map(|(c, p)| Op::Permit(c, p)),
        (0u8..6, 0x3FFEu16..0x4003, 0u8..8).prop_map(|(c, n, p)| Op::Bind(c, n, p)),
        (0u8..6, 0u8..8).prop_map(|(c, p)| Op::Send(c, p)),
        (0u8..6, 0x4000u16..0x4003).prop_map(|(c, n)| Op::ChannelData(c, n)),
        (0u8..6, 0u8..8).prop_map(|(r, p)| Op::FromPeer(r, p)),
        (0u16..700).prop_map(Op::Advance),
        (0u8..6).prop_map(Op::Close),
        any::<bool>().prop_map(Op::BindDone),
    ]
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let cfg = TurnConfig {
        user_quota: 2,
        max_allocations: 4,
        ..config()
    };
    let (quota, cap) = (cfg.user_quota, cfg.max_allocations);
    let mut h = Harness::new(cfg);
    let users = [("ada", "lovelace"), ("bob", "hunter2"), ("eve", "wrong")];
    let mut auths: HashMap<u8, Auth> = HashMap::new();
    let mut pending = Vec::new();
    let mut relays: Vec<SocketAddr> = Vec::new();
    let mut live: HashSet<SocketAddr> = HashSet::new();
    let mut next_port = 60_000u16;
    for op in ops {
        let mut outputs = Vec::new();
        let auth_for = |h: &mut Harness, auths: &mut HashMap<u8, Auth>, c: u8, u: u8| {
            let (name, pass) = users[usize::from(u) % users.len()];
            let auth = auths.entry(c).or_insert_with(|| Auth::new(name, pass));
            if auth.nonce.is_empty() {
                h.challenge(key(c), auth);
            }
            auth.clone()
        };
        match op {
            Op::Allocate(c, u) => {
                let auth = auth_for(&mut h, &mut auths, c, u);
                let tid = h.tid();
                let t = RequestedTransport::new(17);
                outputs = h.client(key(c), &request(ALLOCATE, tid, &[&t], Some(&auth)));
            }
            Op::Refresh(c, l) => {
                let auth = auth_for(&mut h, &mut auths, c, 0);
                let tid = h.tid();
                outputs = h.client(
                    key(c),
                    &request(REFRESH, tid, &[&Lifetime::new(l)], Some(&auth)),
                );
            }
            Op::Permit(c, p) => {
                let auth = auth_for(&mut h, &mut auths, c, 0);
                let tid = h.tid();
                let pa = XorPeerAddress::new(peer(p), tid.into());
                outputs = h.client(
                    key(c),
                    &request(CREATE_PERMISSION, tid, &[&pa], Some(&auth)),
                );
            }
            Op::Bind(c, n, p) => {
                let auth = auth_for(&mut h, &mut auths, c, 0);
                let tid = h.tid();
                let pa = XorPeerAddress::new(peer(p), tid.into());
                let cn = ChannelNumber::new(n);
                outputs = h.client(
                    key(c),
                    &request(CHANNEL_BIND, tid, &[&cn, &pa], Some(&auth)),
                );
            }
            Op::Send(c, p) => {
                let tid = h.tid();
                let pa = XorPeerAddress::new(peer(p), tid.into());
                let d = Data::new(b"data");
                outputs = h.client(key(c), &common::indication(SEND, tid, &[&pa, &d]));
            }
            Op::ChannelData(c, n) => outputs = h.client(key(c), &make_channel_data(n, b"cd")),
            Op::FromPeer(r, p) => {
                if let Some(&relay) = relays.get(usize::from(r)) {
                    h.server.handle_peer(relay, peer(p), b"back", h.now);
                    outputs = h.drain();
                }
            }
            Op::Advance(secs) => {
                // Nonces go stale: forget them so the next request re-challenges.
                if secs > 0 {
                    auths.values_mut().for_each(|a| a.nonce.clear());
                }
                h.now += Duration::from_secs(u64::from(secs));
                h.unix += u64::from(secs);
                h.server.handle_timeout(h.now);
                outputs = h.drain();
            }
            Op::Close(c) => {
                h.server.handle_client_closed(key(c), h.now);
                outputs = h.drain();
            }
            Op::BindDone(ok) => {
                if let Some(request) = pending.pop() {
                    let result = if ok {
                        next_port += 1;
                        Ok(SocketAddr::from(([198, 51, 100, 1], next_port)))
                    } else {
                        Err(BindError("full".into()))
                    };
                    if let Ok(relay) = result {
                        relays.push(relay);
                        live.insert(relay);
                    }
                    h.server.handle_relay_bound(request, result, h.now);
                    outputs = h.drain();
                }
            }
        }
        for out in &outputs {
            prop_assert!(well_formed(out));
            match out {
                Output::ToPeer { relay, peer, .. } => {
                    prop_assert!(h.server.has_permission(*relay, peer.ip(), h.now), "{out:?}");
                    prop_assert!(!peer.ip().to_string().starts_with("10."));
                }
                Output::BindRelay { request, .. } => pending.push(*request),
                Output::ReleaseRelay { relay } => {
                    prop_assert!(live.remove(relay), "released {relay} twice or never bound");
                }
                Output::ToLocal { .. } => prop_assert!(false, "no local services configured"),
                Output::ToClient { data, key: to } => {
                    // Refresh the client's nonce from 401/438 answers, like a real client.
                    if let Ok(msg) = stun_types::message::Message::from_bytes(data) {
                        if let Ok(nonce) = msg.attribute::<stun_types::attribute::Nonce>() {
                            let c = (to.client.port() - 40_000) as u8;
                            if let Some(a) = auths.get_mut(&c) {
                                a.nonce = nonce.nonce().to_string();
                            }
                        }
                    }
                }
            }
        }
        prop_assert!(h.server.allocation_count() <= cap);
        for (name, _) in users {
            prop_assert!(h.server.user_allocation_count(name) <= quota);
        }
    }
    Ok(())
}
