//! STUN Binding, and what happens to malformed or foreign input on the client side.
mod common;

use common::{config, indication, request, tcp, udp, Harness};
use stun_types::attribute::{
    AttributeStaticType, Fingerprint, MessageIntegrity, RawAttribute, Software, UnknownAttributes,
};
use stun_types::message::{MessageClass, BINDING};
use turn_types::message::{DATA, SEND};

#[test]
fn binding_returns_the_reflexive_address() {
    let mut h = Harness::new(config());
    for key in [udp(40_000), tcp(40_001)] {
        let tid = h.tid();
        let reply = h.ask(key, &request(BINDING, tid, &[], None));
        assert!(reply.is_success());
        assert_eq!(reply.tid(), tid);
        assert_eq!(reply.mapped(), key.client);
        assert!(reply.has(Software::TYPE));
        assert!(reply.has(Fingerprint::TYPE));
        assert!(!reply.has(MessageIntegrity::TYPE));
    }
}

#[test]
fn binding_without_software_when_disabled() {
    let mut h = Harness::new(confab_turn::TurnConfig {
        software: None,
        ..config()
    });
    let reply = h.ask(udp(1), &request(BINDING, 7, &[], None));
    assert!(reply.is_success() && !reply.has(Software::TYPE));
}

#[test]
fn binding_indications_and_responses_are_ignored() {
    let mut h = Harness::new(config());
    assert!(h.client(udp(1), &indication(BINDING, 1, &[])).is_empty());
    let response = common::build(MessageClass::Success, BINDING, 2, &[], None);
    assert!(h.client(udp(1), &response).is_empty());
    // A Data indication from a client makes no sense: dropped.
    assert!(h.client(udp(1), &indication(DATA, 3, &[])).is_empty());
    // A Send indication without an allocation: dropped.
    assert!(h.client(udp(1), &indication(SEND, 4, &[])).is_empty());
}

#[test]
fn unknown_comprehension_required_attribute_gets_420() {
    let mut h = Harness::new(config());
    let unknown = RawAttribute::new(0x7777.into(), &[1, 2, 3, 4]);
    let optional = RawAttribute::new(0xC001.into(), &[1, 2, 3, 4]);
    let reply = h.ask(udp(1), &request(BINDING, 9, &[&unknown, &optional], None));
    assert_eq!(reply.code(), 420);
    let listed = reply.msg().attribute::<UnknownAttributes>().unwrap();
    assert!(listed.has_attribute(0x7777.into()));
    assert!(!listed.has_attribute(0xC001.into()));
    assert!(reply.has(Fingerprint::TYPE));
    // Comprehension-optional alone is fine.
    assert!(h
        .ask(udp(1), &request(BINDING, 10, &[&optional], None))
        .is_success());
}

#[test]
fn malformed_request_with_a_valid_header_gets_400() {
    let mut h = Harness::new(config());
    // Header says 8 bytes of attributes; the attribute claims 12.
    let mut bad = request(BINDING, 11, &[], None)[..20].to_vec();
    bad[3] = 8;
    bad.extend_from_slice(&[0x80, 0x22, 0x00, 0x0C, b'a', b'b', b'c', b'd']);
    let reply = h.ask(udp(1), &bad);
    assert_eq!(reply.code(), 400);
    assert_eq!(reply.tid(), 11);
    // A length that is not a multiple of 4.
    let mut odd = request(BINDING, 12, &[], None)[..20].to_vec();
    odd[3] = 2;
    odd.extend_from_slice(&[0, 0]);
    assert_eq!(h.ask(udp(1), &odd).code(), 400);
    // An unknown method.
    let reply = h.ask(
        udp(1),
        &request(stun_types::message::Method::new(0x0123), 13, &[], None),
    );
    assert_eq!(reply.code(), 400);
}

#[test]
fn garbage_is_dropped_silently() {
    let mut h = Harness::new(config());
    let valid = request(BINDING, 14, &[], None);
    let mut bad_fingerprint = valid.clone();
    let last = bad_fingerprint.len() - 1;
    bad_fingerprint[last] ^= 0xFF;
    let inputs: Vec<Vec<u8>> = vec![
        vec![],
        vec![0xFF; 40],
        vec![0x80, 1, 2, 3],
        b"GET / HTTP/1.1\r\n\r\n".to_vec(),
        valid[..10].to_vec(), // truncated header
        valid[..24].to_vec(), // truncated body
        bad_fingerprint,
        vec![0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4], // ChannelData without allocation
        vec![0x50, 0x00, 0x00, 0x00],             // reserved channel
    ];
    for input in inputs {
        assert!(
            h.client(udp(1), &input).is_empty(),
            "{input:?} got an answer"
        );
    }
    assert_eq!(h.server.allocation_count(), 0);
    assert_eq!(h.server.poll_timeout(), None);
}
