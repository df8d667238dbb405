//! Allocate and Refresh: success, retransmission, every error path, lifetimes, expiry.
mod common;

use common::{config, request, tcp, udp, Auth, Harness, Reply};
use confab_turn::{BindError, Output, TurnConfig};
use std::net::SocketAddr;
use std::time::Duration;
use stun_types::attribute::{AttributeStaticType, Fingerprint, MessageIntegrity, RawAttribute};
use stun_types::AddressFamily;
use turn_types::attribute::{
    DontFragment, EvenPort, Lifetime, RequestedAddressFamily, RequestedTransport, ReservationToken,
};
use turn_types::message::{ALLOCATE, REFRESH};

fn udp_transport() -> RequestedTransport {
    RequestedTransport::new(RequestedTransport::UDP)
}

/// Challenge then send a signed Allocate with `attrs`; the single reply.
fn allocate_with(
    h: &mut Harness,
    key: confab_turn::ClientKey,
    attrs: &[&dyn stun_types::attribute::AttributeWrite],
) -> (Auth, Reply) {
    let mut ada = Auth::new("ada", "lovelace");
    h.challenge(key, &mut ada);
    let tid = h.tid();
    let reply = h.ask(key, &request(ALLOCATE, tid, attrs, Some(&ada)));
    (ada, reply)
}

#[test]
fn allocate_success_response() {
    let mut h = Harness::new(config());
    let mut ada = Auth::new("ada", "lovelace");
    h.challenge(udp(1), &mut ada);
    let tid = h.tid();
    let df = DontFragment::new();
    let transport = udp_transport();
    let outputs = h.client(
        udp(1),
        &request(ALLOCATE, tid, &[&transport, &df], Some(&ada)),
    );
    let [Output::BindRelay { request: id, .. }] = outputs[..] else {
        panic!("{outputs:?}")
    };
    assert_eq!(h.server.allocation_count(), 1); // pending counts
                                                // A retransmission while binding: nothing (the answer is coming).
    assert!(h
        .client(
            udp(1),
            &request(ALLOCATE, tid, &[&transport, &df], Some(&ada))
        )
        .is_empty());
    let (relay, outputs) = h.bind(id);
    let [Output::ToClient { key, data }] = &outputs[..] else {
        panic!("{outputs:?}")
    };
    assert_eq!(*key, udp(1));
    let reply = Reply(data.clone());
    assert!(reply.is_success());
    assert_eq!(reply.tid(), tid);
    assert_eq!(reply.relayed(), relay);
    assert_eq!(reply.mapped(), udp(1).client);
    assert_eq!(reply.lifetime(), 600);
    assert!(reply.has(MessageIntegrity::TYPE) && reply.has(Fingerprint::TYPE));
    assert!(reply.verifies(&ada));
    // A retransmission after success gets the very same bytes.
    let again = h.ask(
        udp(1),
        &request(ALLOCATE, tid, &[&transport, &df], Some(&ada)),
    );
    assert_eq!(again.0, *data);
    // A new Allocate on the same 5-tuple: 437.
    let tid2 = h.tid();
    let reply = h.ask(udp(1), &request(ALLOCATE, tid2, &[&transport], Some(&ada)));
    assert_eq!(reply.code(), 437);
    assert!(reply.verifies(&ada));
}

#[test]
fn external_ip_and_unspecified_relay_ip_are_advertised() {
    let config_ext = TurnConfig {
        external_ip: Some("192.0.2.77".parse().unwrap()),
        ..config()
    };
    let mut h = Harness::new(config_ext);
    let mut ada = Auth::new("ada", "lovelace");
    h.challenge(udp(1), &mut ada);
    let tid = h.tid();
    let id = h.allocate_pending(udp(1), &ada, tid);
    h.server
        .handle_relay_bound(id, Ok("198.51.100.1:61000".parse().unwrap()), h.now);
    let [Output::ToClient { data, .. }] = &h.drain()[..] else {
        panic!()
    };
    assert_eq!(
        Reply(data.clone()).relayed(),
        "192.0.2.77:61000".parse::<SocketAddr>().unwrap()
    );

    let config_any = TurnConfig {
        relay_ip: "0.0.0.0".parse().unwrap(),
        ..config()
    };
    let mut h = Harness::new(config_any);
    let (_, _) = (h.tid(), ());
    let mut ada = Auth::new("ada", "lovelace");
    h.challenge(udp(1), &mut ada);
    let transport = udp_transport();
    let outputs = h.client(udp(1), &request(ALLOCATE, 99, &[&transport], Some(&ada)));
    let [Output::BindRelay {
        request: id, ip, ..
    }] = outputs[..]
    else {
        panic!("{outputs:?}")
    };
    assert!(ip.is_unspecified());
    h.server
        .handle_relay_bound(id, Ok("0.0.0.0:61001".parse().unwrap()), h.now);
    let [Output::ToClient { data, .. }] = &h.drain()[..] else {
        panic!()
    };
    assert_eq!(
        Reply(data.clone()).relayed(),
        "198.51.100.1:61001".parse::<SocketAddr>().unwrap()
    );
}

#[test]
fn requested_transport_errors() {
    let mut h = Harness::new(config());
    let (ada, reply) = allocate_with(&mut h, udp(1), &[]);
    assert_eq!(reply.code(), 400);
    assert!(reply.verifies(&ada));
    let tcp_transport = RequestedTransport::new(RequestedTransport::TCP);
    let (_, reply) = allocate_with(&mut h, udp(1), &[&tcp_transport]);
    assert_eq!(reply.code(), 442);
    let garbled = RawAttribute::new(RequestedTransport::TYPE, &[17, 0]);
    let (_, reply) = allocate_with(&mut h, udp(1), &[&garbled]);
    assert_eq!(reply.code(), 400);
    assert_eq!(h.server.allocation_count(), 0);
}

#[test]
fn even_port_reservation_token_and_address_family() {
    let mut h = Harness::new(config());
    let t = udp_transport();
    let (_, reply) = allocate_with(&mut h, udp(1), &[&t, &EvenPort::new(true)]);
    assert_eq!(
        reply.code(),
        508,
        "R=1 would reserve the next port: unsupported"
    );
    // R=0 is honoured: the driver is asked for an even port.
    let mut bob = Auth::new("ada", "lovelace");
    h.challenge(udp(2), &mut bob);
    let outputs = h.client(
        udp(2),
        &request(ALLOCATE, 9, &[&t, &EvenPort::new(false)], Some(&bob)),
    );
    assert!(
        matches!(
            outputs[..],
            [Output::BindRelay {
                even_port: true,
                ..
            }]
        ),
        "{outputs:?}"
    );
    let (_, reply) = allocate_with(&mut h, udp(1), &[&t, &ReservationToken::new(5)]);
    assert_eq!(reply.code(), 508);
    let (_, reply) = allocate_with(
        &mut h,
        udp(1),
        &[&t, &EvenPort::new(false), &ReservationToken::new(5)],
    );
    assert_eq!(reply.code(), 400);
    let v6 = RequestedAddressFamily::new(AddressFamily::IPV6);
    let (_, reply) = allocate_with(&mut h, udp(1), &[&t, &v6]);
    assert_eq!(reply.code(), 440);
    let (_, reply) = allocate_with(&mut h, udp(1), &[&t, &v6, &ReservationToken::new(5)]);
    assert_eq!(reply.code(), 400);
    let v4 = RequestedAddressFamily::new(AddressFamily::IPV4);
    let mut ada = Auth::new("ada", "lovelace");
    h.challenge(udp(1), &mut ada);
    let outputs = h.client(udp(1), &request(ALLOCATE, 5, &[&t, &v4], Some(&ada)));
    assert!(matches!(outputs[..], [Output::BindRelay { .. }]));
}

#[test]
fn unknown_required_attribute_in_allocate_gets_signed_420() {
    let mut h = Harness::new(config());
    let unknown = RawAttribute::new(0x0033.into(), &[0; 4]);
    let (ada, reply) = allocate_with(&mut h, udp(1), &[&udp_transport(), &unknown]);
    assert_eq!(reply.code(), 420);
    assert!(reply.verifies(&ada));
}

#[test]
fn user_quota_gets_486_and_global_cap_508() {
    let mut h = Harness::new(TurnConfig {
        user_quota: 2,
        max_allocations: 3,
        ..config()
    });
    let mut ada = Auth::new("ada", "lovelace");
    h.allocate(udp(1), &mut ada);
    h.allocate(udp(2), &mut ada);
    let (_, reply) = allocate_with(&mut h, udp(3), &[&udp_transport()]);
    assert_eq!(reply.code(), 486);
    let (user, pass) = confab_turn::rest_credentials(
        common::SECRET,
        "grace",
        common::UNIX0,
        Duration::from_secs(60),
    );
    let mut grace = Auth::new(&user, &pass);
    h.allocate(udp(4), &mut grace);
    let mut grace2 = Auth::new(&user, &pass);
    h.challenge(udp(5), &mut grace2);
    let reply = h.ask(
        udp(5),
        &request(ALLOCATE, 77, &[&udp_transport()], Some(&grace2)),
    );
    assert_eq!(reply.code(), 508);
    assert_eq!(h.server.allocation_count(), 3);
    // Freeing one makes room again.
    h.server.handle_client_closed(udp(1), h.now);
    assert!(matches!(h.drain()[..], [Output::ReleaseRelay { .. }]));
    h.allocate(udp(3), &mut ada);
}

#[test]
fn failed_bind_gets_508_and_late_binds_are_released() {
    let mut h = Harness::new(config());
    let mut ada = Auth::new("ada", "lovelace");
    h.challenge(udp(1), &mut ada);
    let tid = h.tid();
    let id = h.allocate_pending(udp(1), &ada, tid);
    h.server
        .handle_relay_bound(id, Err(BindError("no ports".into())), h.now);
    let [Output::ToClient { data, .. }] = &h.drain()[..] else {
        panic!()
    };
    let reply = Reply(data.clone());
    assert_eq!((reply.code(), reply.tid()), (508, tid));
    assert!(reply.verifies(&ada));
    assert_eq!(h.server.allocation_count(), 0);

    // The client goes away while its relay is being bound: the socket is released.
    let tid = h.tid();
    let mut a = Auth::new("ada", "lovelace");
    h.challenge(tcp(2), &mut a);
    let id = h.allocate_pending(tcp(2), &a, tid);
    h.server.handle_client_closed(tcp(2), h.now);
    assert!(h.drain().is_empty());
    let relay: SocketAddr = "198.51.100.1:62000".parse().unwrap();
    h.server.handle_relay_bound(id, Ok(relay), h.now);
    assert_eq!(h.drain(), vec![Output::ReleaseRelay { relay }]);
    // Unknown ids too.
    h.server
        .handle_relay_bound(confab_turn::RelayRequestId(999), Ok(relay), h.now);
    assert_eq!(h.drain(), vec![Output::ReleaseRelay { relay }]);
    h.server.handle_relay_bound(
        confab_turn::RelayRequestId(999),
        Err(BindError("x".into())),
        h.now,
    );
    assert!(h.drain().is_empty());
}

#[test]
fn lifetimes_are_clamped() {
    let mut h = Harness::new(config());
    let t = udp_transport();
    for (asked, granted) in [(7200, 3600), (10, 600), (1800, 1800)] {
        let mut ada = Auth::new("ada", "lovelace");
        let key = udp(asked as u16);
        h.challenge(key, &mut ada);
        let lifetime = Lifetime::new(asked);
        let outputs = h.client(key, &request(ALLOCATE, 1, &[&t, &lifetime], Some(&ada)));
        let [Output::BindRelay { request: id, .. }] = outputs[..] else {
            panic!()
        };
        let (_, outputs) = h.bind(id);
        let [Output::ToClient { data, .. }] = &outputs[..] else {
            panic!()
        };
        assert_eq!(Reply(data.clone()).lifetime(), granted);
        let reply = h.signed(key, REFRESH, &[&Lifetime::new(asked)], &ada);
        assert_eq!(reply.lifetime(), granted);
    }
}

#[test]
fn refresh_extends_and_zero_deletes() {
    let mut h = Harness::new(config());
    let mut ada = Auth::new("ada", "lovelace");
    let relay = h.allocate(udp(1), &mut ada);
    assert!(h.advance(500).is_empty());
    let reply = h.signed(udp(1), REFRESH, &[], &ada);
    assert!(reply.is_success() && reply.verifies(&ada));
    assert_eq!(reply.lifetime(), 600);
    assert!(h.advance(500).is_empty(), "refresh did not extend");
    assert_eq!(h.server.allocation_count(), 1);
    h.challenge(udp(1), &mut ada); // the nonce is older than 600 s by now
    let outputs = {
        let tid = h.tid();
        h.client(
            udp(1),
            &request(REFRESH, tid, &[&Lifetime::new(0)], Some(&ada)),
        )
    };
    let [Output::ReleaseRelay { relay: released }, Output::ToClient { data, .. }] = &outputs[..]
    else {
        panic!("{outputs:?}")
    };
    assert_eq!(*released, relay);
    let reply = Reply(data.clone());
    assert!(reply.is_success());
    assert_eq!(reply.lifetime(), 0);
    assert_eq!(h.server.allocation_count(), 0);
    // Nothing left to refresh.
    assert_eq!(h.signed(udp(1), REFRESH, &[], &ada).code(), 437);
    let mut a = Auth::new("ada", "lovelace");
    h.challenge(udp(2), &mut a);
    let reply = h.signed(udp(2), REFRESH, &[], &a);
    assert_eq!(reply.code(), 437);
}

#[test]
fn refresh_with_the_wrong_family_gets_443() {
    let mut h = Harness::new(config());
    let mut ada = Auth::new("ada", "lovelace");
    h.allocate(udp(1), &mut ada);
    let v6 = RequestedAddressFamily::new(AddressFamily::IPV6);
    assert_eq!(h.signed(udp(1), REFRESH, &[&v6], &ada).code(), 443);
}

#[test]
fn allocations_expire_and_poll_timeout_says_when() {
    let mut h = Harness::new(config());
    let mut ada = Auth::new("ada", "lovelace");
    let relay = h.allocate(udp(1), &mut ada);
    assert_eq!(
        h.server.poll_timeout(),
        Some(h.now + Duration::from_secs(600))
    );
    assert!(h.advance(599).is_empty());
    assert_eq!(h.advance(1), vec![Output::ReleaseRelay { relay }]);
    assert_eq!(h.server.allocation_count(), 0);
    // Peer data for the dead relay goes nowhere.
    h.server.handle_peer(relay, common::peer(9), b"late", h.now);
    assert!(h.drain().is_empty());
}

#[test]
fn closing_a_connection_drops_its_allocation() {
    let mut h = Harness::new(config());
    let mut ada = Auth::new("ada", "lovelace");
    let relay = h.allocate(tcp(1), &mut ada);
    h.server.handle_client_closed(tcp(1), h.now);
    assert_eq!(h.drain(), vec![Output::ReleaseRelay { relay }]);
    h.server.handle_client_closed(tcp(1), h.now);
    assert!(h.drain().is_empty());
    // The stale timer entry fires harmlessly.
    assert!(h.advance(700).is_empty());
    assert_eq!(h.server.poll_timeout(), None);
}
