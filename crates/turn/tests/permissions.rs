//! CreatePermission, Send and Data indications, the peer policy, permission expiry.
mod common;

use common::{config, indication, peer, udp, Auth, Harness, Reply};
use confab_turn::{Output, PeerPolicy, TurnConfig};
use std::net::SocketAddr;
use stun_types::attribute::{AttributeStaticType, Fingerprint, MessageIntegrity};
use turn_types::attribute::{Data, XorPeerAddress};
use turn_types::message::{CREATE_PERMISSION, DATA, SEND};

fn setup(config: TurnConfig) -> (Harness, Auth, SocketAddr) {
    let mut h = Harness::new(config);
    let mut ada = Auth::new("ada", "lovelace");
    let relay = h.allocate(udp(1), &mut ada);
    (h, ada, relay)
}

fn permit(h: &mut Harness, ada: &Auth, peers: &[SocketAddr]) -> Reply {
    let tid = h.tid();
    let attrs: Vec<XorPeerAddress> = peers
        .iter()
        .map(|p| XorPeerAddress::new(*p, tid.into()))
        .collect();
    let refs: Vec<&dyn stun_types::attribute::AttributeWrite> =
        attrs.iter().map(|a| a as _).collect();
    h.ask(
        udp(1),
        &common::request(CREATE_PERMISSION, tid, &refs, Some(ada)),
    )
}

fn send(h: &mut Harness, to: SocketAddr, payload: &[u8]) -> Vec<Output> {
    let tid = h.tid();
    let peer_attr = XorPeerAddress::new(to, tid.into());
    let data = Data::new(payload);
    h.client(udp(1), &indication(SEND, tid, &[&peer_attr, &data]))
}

#[test]
fn send_and_data_indications_need_a_permission() {
    let (mut h, ada, relay) = setup(config());
    let p = peer(7000);
    // No permission yet: both directions drop.
    assert!(send(&mut h, p, b"hello").is_empty());
    h.server.handle_peer(relay, p, b"hi", h.now);
    assert!(h.drain().is_empty());

    let reply = permit(&mut h, &ada, &[p]);
    assert!(reply.is_success() && reply.verifies(&ada));
    assert!(reply.has(MessageIntegrity::TYPE) && reply.has(Fingerprint::TYPE));
    assert!(h.server.has_permission(relay, p.ip(), h.now));

    assert_eq!(
        send(&mut h, p, b"hello"),
        vec![Output::ToPeer {
            relay,
            peer: p,
            data: b"hello".to_vec()
        }]
    );
    // The permission is per IP: any port of that peer may send and receive.
    let other_port = SocketAddr::new(p.ip(), 7001);
    assert_eq!(send(&mut h, other_port, b"x").len(), 1);
    h.server.handle_peer(relay, other_port, b"from peer", h.now);
    let [Output::ToClient { key, data }] = &h.drain()[..] else {
        panic!()
    };
    assert_eq!(*key, udp(1));
    let reply = Reply(data.clone());
    assert_eq!(reply.msg().method(), DATA);
    assert_eq!(reply.class(), stun_types::message::MessageClass::Indication);
    assert_eq!(reply.peer(), other_port);
    assert_eq!(reply.data(), b"from peer");
    // Another IP is still not permitted, and other relays do not see our permissions.
    assert!(send(
        &mut h,
        peer(1)
            .to_string()
            .replace("8.8.4.4", "8.8.8.8")
            .parse()
            .unwrap(),
        b"x"
    )
    .is_empty());
    h.server
        .handle_peer("198.51.100.1:1".parse().unwrap(), p, b"x", h.now);
    assert!(h.drain().is_empty());
    // A Send indication without DATA or XOR-PEER-ADDRESS is dropped.
    let tid = h.tid();
    assert!(h
        .client(
            udp(1),
            &indication(SEND, tid, &[&XorPeerAddress::new(p, tid.into())])
        )
        .is_empty());
    assert!(h
        .client(udp(1), &indication(SEND, tid, &[&Data::new(b"x")]))
        .is_empty());
    // An empty payload is relayed as an empty datagram.
    assert_eq!(send(&mut h, p, b"").len(), 1);
}

#[test]
fn permissions_expire_after_300_s_and_refresh() {
    let (mut h, ada, relay) = setup(config());
    let p = peer(7000);
    assert!(permit(&mut h, &ada, &[p]).is_success());
    h.advance(299);
    assert_eq!(send(&mut h, p, b"a").len(), 1);
    assert!(permit(&mut h, &ada, &[p]).is_success()); // refresh at 299 s: now until 599 s
    h.advance(299);
    assert_eq!(send(&mut h, p, b"b").len(), 1);
    h.advance(1);
    assert!(send(&mut h, p, b"c").is_empty());
    h.server.handle_peer(relay, p, b"d", h.now);
    assert!(h.drain().is_empty());
    assert!(!h.server.has_permission(relay, p.ip(), h.now));
    assert_eq!(h.server.allocation_count(), 1);
}

#[test]
fn poll_timeout_covers_permissions() {
    let (mut h, ada, _) = setup(config());
    let start = h.now;
    assert!(permit(&mut h, &ada, &[peer(1)]).is_success());
    assert_eq!(
        h.server.poll_timeout(),
        Some(start + std::time::Duration::from_secs(300))
    );
}

#[test]
fn forbidden_peers_get_403_and_nothing_is_installed() {
    let (mut h, ada, relay) = setup(config());
    for forbidden in [
        "127.0.0.2:5",
        "10.0.0.1:5",
        "192.168.1.1:5",
        "169.254.0.1:5",
        "100.64.0.1:5",
        "224.0.0.1:5",
        "0.0.0.0:5",
        "198.51.100.1:3478",
        "198.51.100.1:50001",
    ] {
        let forbidden: SocketAddr = forbidden.parse().unwrap();
        let reply = permit(&mut h, &ada, &[peer(1), forbidden]);
        assert_eq!(reply.code(), 403, "{forbidden}");
        assert!(reply.verifies(&ada));
    }
    assert!(!h.server.has_permission(relay, peer(1).ip(), h.now));
    // The test config allows 127.0.0.1 explicitly.
    assert!(permit(&mut h, &ada, &["127.0.0.1:9".parse().unwrap()]).is_success());
}

#[test]
fn server_addresses_are_denied_unless_allowed() {
    let mut config = config();
    config.peer_policy = PeerPolicy::default_for(vec!["8.8.4.4".parse().unwrap()]);
    let (mut h, ada, _) = setup(config);
    assert_eq!(permit(&mut h, &ada, &[peer(1)]).code(), 403);
    assert_eq!(
        permit(&mut h, &ada, &["127.0.0.1:9".parse().unwrap()]).code(),
        403
    );
}

#[test]
fn the_address_the_client_reached_is_denied() {
    let mut config = config();
    config.relay_ip = "198.51.100.2".parse().unwrap();
    // 198.51.100.0/24 is a documentation range, denied by default: allow one address of
    // it as a stand-in for a public peer next to the server.
    config
        .peer_policy
        .allow
        .push("198.51.100.3/32".parse().unwrap());
    let mut h = Harness::new(config);
    let mut ada = Auth::new("ada", "lovelace");
    h.challenge(udp(1), &mut ada);
    let tid = h.tid();
    let transport = turn_types::attribute::RequestedTransport::new(17);
    let outputs = h.client(
        udp(1),
        &common::request(
            turn_types::message::ALLOCATE,
            tid,
            &[&transport],
            Some(&ada),
        ),
    );
    let [Output::BindRelay { request, .. }] = outputs[..] else {
        panic!()
    };
    h.server
        .handle_relay_bound(request, Ok("198.51.100.2:50000".parse().unwrap()), h.now);
    h.drain();
    // udp(1) reached us on 198.51.100.1, the relay is on 198.51.100.2: both denied.
    assert_eq!(
        permit(&mut h, &ada, &["198.51.100.1:443".parse().unwrap()]).code(),
        403
    );
    assert_eq!(
        permit(&mut h, &ada, &["198.51.100.2:50000".parse().unwrap()]).code(),
        403
    );
    assert!(permit(&mut h, &ada, &["198.51.100.3:1".parse().unwrap()]).is_success());
}

#[test]
fn peer_family_mismatch_gets_443_and_missing_peer_400() {
    let (mut h, ada, _) = setup(config());
    let v6: SocketAddr = "[2001:db8::1]:5".parse().unwrap();
    assert_eq!(permit(&mut h, &ada, &[v6]).code(), 443);
    assert_eq!(permit(&mut h, &ada, &[]).code(), 400);
}

#[test]
fn create_permission_without_allocation_gets_437() {
    let mut h = Harness::new(config());
    let mut ada = Auth::new("ada", "lovelace");
    h.challenge(udp(1), &mut ada);
    let reply = permit(&mut h, &ada, &[peer(1)]);
    assert_eq!(reply.code(), 437);
    assert!(reply.verifies(&ada));
}

#[test]
fn oversized_peer_data_is_dropped_not_truncated() {
    let (mut h, ada, relay) = setup(config());
    assert!(permit(&mut h, &ada, &[peer(1)]).is_success());
    h.server
        .handle_peer(relay, peer(1), &vec![7; 65_500], h.now);
    assert!(h.drain().is_empty());
    h.server.handle_peer(relay, peer(1), &vec![7; 1200], h.now);
    assert_eq!(h.drain().len(), 1);
}

#[test]
fn too_many_permissions_get_508() {
    let (mut h, ada, _) = setup(config());
    for chunk in 0..(confab_turn::MAX_PERMISSIONS / 100) {
        let peers: Vec<SocketAddr> = (0..100)
            .map(|i| SocketAddr::from(([9, 9, chunk as u8, i as u8], 1)))
            .collect();
        assert!(permit(&mut h, &ada, &peers).is_success());
    }
    assert_eq!(permit(&mut h, &ada, &[peer(1)]).code(), 508);
    // Refreshing an existing one still works.
    assert!(permit(&mut h, &ada, &["9.9.0.0:1".parse().unwrap()]).is_success());
}

/// Issue 12 item 14: every address of the host is denied, also one it gained after start
/// (the driver re-reads the interfaces and hands them in).
#[test]
fn host_addresses_read_later_are_denied_too() {
    let (mut h, ada, _) = setup(config());
    let gained: SocketAddr = "93.184.216.34:443".parse().unwrap();
    assert!(permit(&mut h, &ada, &[gained]).is_success());
    let now = h.now;
    h.server.handle_host_addrs(&[gained.ip()], now);
    // Refreshing the permission is refused (one granted before runs out within 300 s:
    // permissions are checked when granted, not per packet).
    assert_eq!(permit(&mut h, &ada, &[gained]).code(), 403);
    assert!(permit(&mut h, &ada, &[peer(1)]).is_success());
}
