//! A service of the server's own process (the SFU) behind one of its own addresses is
//! reachable through an allocation (issue 10 item 7): a relay-only browser reaches the
//! SFU on the same host. Its datagrams leave as `Output::ToLocal`, never through a
//! socket, its answers come back with `handle_local`, and every other port of the
//! server's addresses stays unreachable.
mod common;

use common::{request, udp, Auth, Harness, Reply};
use confab_turn::{Output, PeerPolicy, TurnConfig};
use std::net::SocketAddr;
use turn_types::attribute::{Data, XorPeerAddress};
use turn_types::message::{CREATE_PERMISSION, DATA, SEND};

/// The SFU's address: the server's own IP (denied by the default policy).
const SFU: &str = "198.51.100.1:7882";

fn config() -> TurnConfig {
    TurnConfig {
        peer_policy: PeerPolicy::default(),
        local_services: vec![SFU.parse().unwrap()],
        ..common::config()
    }
}

fn permit(h: &mut Harness, auth: &Auth, peer: SocketAddr) -> Reply {
    let tid = h.tid();
    let attr = XorPeerAddress::new(peer, tid.into());
    h.ask(
        udp(1),
        &request(CREATE_PERMISSION, tid, &[&attr], Some(auth)),
    )
}

fn send(h: &mut Harness, to: SocketAddr, payload: &[u8]) -> Vec<Output> {
    let tid = h.tid();
    let peer = XorPeerAddress::new(to, tid.into());
    let data = Data::new(payload);
    h.client(udp(1), &common::indication(SEND, tid, &[&peer, &data]))
}

#[test]
fn the_sfu_is_reached_in_process_both_ways() {
    let mut h = Harness::new(config());
    let mut a = Auth::new("ada", "lovelace");
    let relay = h.allocate(udp(1), &mut a);
    let sfu: SocketAddr = SFU.parse().unwrap();
    assert!(permit(&mut h, &a, sfu).is_success());
    // Out: handed to the SFU as from the relayed address, no socket send.
    let out = send(&mut h, sfu, b"stun check");
    assert_eq!(
        out,
        [Output::ToLocal {
            from: relay,
            to: sfu,
            data: b"stun check".to_vec()
        }]
    );
    // Back: the SFU's answer reaches the client as a Data indication from the SFU.
    h.server.handle_local(sfu, relay, b"answer", h.now);
    let out = h.drain();
    let [Output::ToClient { key, data }] = &out[..] else {
        panic!("{out:?}");
    };
    assert_eq!(*key, udp(1));
    let reply = Reply(data.clone());
    assert_eq!(reply.msg().method(), DATA);
    assert_eq!((reply.peer(), reply.data()), (sfu, b"answer".to_vec()));
    assert_eq!(h.server.in_process_bytes(), 16);
}

#[test]
fn other_ports_of_the_address_and_strangers_stay_out() {
    let mut h = Harness::new(config());
    let mut a = Auth::new("ada", "lovelace");
    let relay = h.allocate(udp(1), &mut a);
    let sfu: SocketAddr = SFU.parse().unwrap();
    assert!(permit(&mut h, &a, sfu).is_success());
    for other in ["198.51.100.1:7883", "198.51.100.1:8443", "198.51.100.1:22"] {
        let other: SocketAddr = other.parse().unwrap();
        assert_eq!(permit(&mut h, &a, other).code(), 403, "{other}");
        assert!(send(&mut h, other, b"x").is_empty(), "{other}");
    }
    // Only the service itself may answer, and only to a relayed address.
    h.server
        .handle_local("198.51.100.1:22".parse().unwrap(), relay, b"x", h.now);
    h.server
        .handle_local(sfu, "198.51.100.1:50000".parse().unwrap(), b"x", h.now);
    assert!(h.drain().is_empty());
    // Without a permission the SFU's datagram is dropped too.
    let mut b = Auth::new("ada", "lovelace");
    let relay_b = h.allocate(common::udp(2), &mut b);
    h.server.handle_local(sfu, relay_b, b"x", h.now);
    assert!(h.drain().is_empty());
}
