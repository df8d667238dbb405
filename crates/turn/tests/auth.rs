//! The long-term credential mechanism: 400/401/438/441, nonces, REST and static users,
//! MESSAGE-INTEGRITY-SHA256.
mod common;

use common::{config, request, udp, Auth, Harness, SECRET, UNIX0};
use confab_turn::{rest_credentials, Output};
use std::time::Duration;
use stun_types::attribute::{
    AttributeStaticType, Fingerprint, MessageIntegritySha256, Nonce, PasswordAlgorithm,
    PasswordAlgorithmValue, PasswordAlgorithms, Realm, Username,
};
use stun_types::message::{
    IntegrityAlgorithm, LongTermKeyCredentials, Message, MessageClass, MessageType, MessageWrite,
    MessageWriteExt, MessageWriteVec, TransactionId,
};
use turn_types::attribute::{Lifetime, RequestedTransport};
use turn_types::message::{ALLOCATE, REFRESH};

fn udp_transport() -> RequestedTransport {
    RequestedTransport::new(RequestedTransport::UDP)
}

/// Send a signed Allocate and return the reply or the BindRelay.
fn try_allocate(h: &mut Harness, auth: &Auth) -> Result<(), u16> {
    let tid = h.tid();
    let outputs = h.client(
        udp(1),
        &request(ALLOCATE, tid, &[&udp_transport()], Some(auth)),
    );
    match &outputs[..] {
        [Output::BindRelay { .. }] => Ok(()),
        [Output::ToClient { data, .. }] => Err(common::Reply(data.clone()).code()),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn challenge_carries_realm_nonce_and_algorithms() {
    let mut h = Harness::new(config());
    let reply = h.ask(udp(1), &request(ALLOCATE, 5, &[&udp_transport()], None));
    assert_eq!(reply.code(), 401);
    assert_eq!(reply.realm().as_deref(), Some("confab"));
    assert!(reply.nonce().unwrap().starts_with("obMatJos2gAAA"));
    let algos = reply.msg().attribute::<PasswordAlgorithms>().unwrap();
    assert_eq!(
        algos.algorithms(),
        [PasswordAlgorithmValue::MD5, PasswordAlgorithmValue::SHA256]
    );
    assert!(reply.has(Fingerprint::TYPE));
    assert!(!reply.signed());
    assert_eq!(h.server.allocation_count(), 0);
}

#[test]
fn static_user_md5_and_wrong_password() {
    let mut h = Harness::new(config());
    let mut wrong = Auth::new("ada", "babbage");
    h.challenge(udp(1), &mut wrong);
    assert_eq!(try_allocate(&mut h, &wrong), Err(401));
    let mut unknown = Auth::new("nobody", "lovelace");
    h.challenge(udp(1), &mut unknown);
    assert_eq!(try_allocate(&mut h, &unknown), Err(401));
    let mut wrong_realm = Auth::new("ada", "lovelace");
    h.challenge(udp(1), &mut wrong_realm);
    wrong_realm.realm = "elsewhere".into();
    assert_eq!(try_allocate(&mut h, &wrong_realm), Err(401));
    let mut ada = Auth::new("ada", "lovelace");
    h.allocate(udp(1), &mut ada);
    assert_eq!(h.server.allocation_count(), 1);
}

#[test]
fn sha256_integrity_is_used_when_the_client_uses_it() {
    let mut h = Harness::new(config());
    let mut ada = Auth::new("ada", "lovelace").sha256();
    h.allocate(udp(1), &mut ada); // asserts success and that the response verifies
    let reply = h.signed(udp(1), REFRESH, &[], &ada);
    assert!(reply.is_success());
    assert!(reply.has(MessageIntegritySha256::TYPE));
    assert!(reply.verifies(&ada));
    // The MD5-derived key does not verify a SHA-256 exchange.
    let md5 = Auth {
        algorithm: IntegrityAlgorithm::Sha1,
        ..ada.clone()
    };
    let tid = h.tid();
    let reply = h.ask(udp(1), &request(REFRESH, tid, &[], Some(&md5)));
    assert!(reply.is_success()); // plain MESSAGE-INTEGRITY is still accepted
    assert!(!reply.has(MessageIntegritySha256::TYPE));
}

#[test]
fn inconsistent_password_algorithms_get_400() {
    let mut h = Harness::new(config());
    let mut ada = Auth::new("ada", "lovelace");
    h.challenge(udp(1), &mut ada);
    // PASSWORD-ALGORITHM SHA256 but MESSAGE-INTEGRITY (SHA1): inconsistent.
    let algos =
        PasswordAlgorithms::new(&[PasswordAlgorithmValue::MD5, PasswordAlgorithmValue::SHA256]);
    let sha256 = PasswordAlgorithm::new(PasswordAlgorithmValue::SHA256);
    let tid = h.tid();
    let req = request(
        ALLOCATE,
        tid,
        &[&udp_transport(), &algos, &sha256],
        Some(&ada),
    );
    assert_eq!(h.ask(udp(1), &req).code(), 400);
    // PASSWORD-ALGORITHM without PASSWORD-ALGORITHMS.
    let md5 = PasswordAlgorithm::new(PasswordAlgorithmValue::MD5);
    let req = request(ALLOCATE, h.tid(), &[&udp_transport(), &md5], Some(&ada));
    assert_eq!(h.ask(udp(1), &req).code(), 400);
    // A PASSWORD-ALGORITHMS list that differs from what we sent.
    let only_md5 = PasswordAlgorithms::new(&[PasswordAlgorithmValue::MD5]);
    let req = request(
        ALLOCATE,
        h.tid(),
        &[&udp_transport(), &only_md5, &md5],
        Some(&ada),
    );
    assert_eq!(h.ask(udp(1), &req).code(), 400);
    // Consistent MD5 choice is fine.
    let req = request(
        ALLOCATE,
        h.tid(),
        &[&udp_transport(), &algos, &md5],
        Some(&ada),
    );
    assert!(matches!(
        &h.client(udp(1), &req)[..],
        [Output::BindRelay { .. }]
    ));
}

/// Build a request with integrity but without one of USERNAME/REALM/NONCE.
fn missing(skip: &str, nonce: &str) -> Vec<u8> {
    let mtype = MessageType::from_class_method(MessageClass::Request, ALLOCATE);
    let mut msg = Message::builder(mtype, TransactionId::from(77), MessageWriteVec::new());
    msg.add_attribute(&udp_transport()).unwrap();
    if skip != "username" {
        msg.add_attribute(&Username::new("ada").unwrap()).unwrap();
    }
    if skip != "realm" {
        msg.add_attribute(&Realm::new("confab").unwrap()).unwrap();
    }
    if skip != "nonce" {
        msg.add_attribute(&Nonce::new(nonce).unwrap()).unwrap();
    }
    let key = LongTermKeyCredentials::new("ada".into(), "lovelace".into(), "confab".into())
        .make_key(IntegrityAlgorithm::Sha1);
    msg.add_message_integrity_with_key(&key, IntegrityAlgorithm::Sha1)
        .unwrap();
    msg.finish()
}

#[test]
fn integrity_without_username_realm_or_nonce_gets_400() {
    let mut h = Harness::new(config());
    let mut ada = Auth::new("ada", "lovelace");
    h.challenge(udp(1), &mut ada);
    for skip in ["username", "realm", "nonce"] {
        let reply = h.ask(udp(1), &missing(skip, &ada.nonce));
        assert_eq!(reply.code(), 400, "without {skip}");
        assert!(!reply.signed());
    }
    assert!(matches!(
        &h.client(udp(1), &missing("", &ada.nonce))[..],
        [Output::BindRelay { .. }]
    ));
}

#[test]
fn stale_and_foreign_nonces_get_438_with_a_fresh_nonce() {
    let mut h = Harness::new(config());
    let mut ada = Auth::new("ada", "lovelace");
    h.challenge(udp(1), &mut ada);
    // Another client's nonce is not valid here.
    let mut other = Auth::new("ada", "lovelace");
    h.challenge(udp(2), &mut other);
    ada.nonce = other.nonce.clone();
    assert_eq!(try_allocate(&mut h, &ada), Err(438));
    ada.nonce = "obMatJos2gAAA0000000000000000ffffffffffffffff".into();
    assert_eq!(try_allocate(&mut h, &ada), Err(438));
    ada.nonce = "made-up".into();
    let tid = h.tid();
    let reply = h.ask(
        udp(1),
        &request(ALLOCATE, tid, &[&udp_transport()], Some(&ada)),
    );
    assert_eq!(reply.code(), 438);
    assert_eq!(reply.realm().as_deref(), Some("confab"));
    assert!(!reply.signed());
    ada.nonce = reply.nonce().unwrap();
    // Valid for 600 s, stale after.
    h.advance(599);
    let fresh = ada.nonce.clone();
    h.now += Duration::from_millis(999);
    assert_eq!(try_allocate(&mut h, &ada), Ok(()));
    h.server.handle_client_closed(udp(1), h.now);
    h.drain();
    h.advance(1);
    assert_eq!(try_allocate(&mut h, &ada), Err(438));
    assert_eq!(ada.nonce, fresh);
}

#[test]
fn stale_nonce_on_refresh_then_retry() {
    let mut h = Harness::new(config());
    let mut ada = Auth::new("ada", "lovelace");
    h.allocate(udp(1), &mut ada);
    let released = h.advance(601);
    assert!(matches!(&released[..], [Output::ReleaseRelay { .. }]));
    // The allocation expired too (600 s): a refresh with the stale nonce gets 438 first.
    let reply = h.signed(udp(1), REFRESH, &[], &ada);
    assert_eq!(reply.code(), 438);
    ada.nonce = reply.nonce().unwrap();
    let reply = h.signed(udp(1), REFRESH, &[], &ada);
    assert_eq!(reply.code(), 437);
    assert!(reply.verifies(&ada));
}

#[test]
fn rest_credentials_valid_expired_and_wrong_secret() {
    let mut h = Harness::new(config());
    let (user, pass) = rest_credentials(SECRET, "grace", UNIX0, Duration::from_secs(3600));
    assert_eq!(user, format!("{}:grace", UNIX0 + 3600));
    let mut grace = Auth::new(&user, &pass);
    h.allocate(udp(1), &mut grace);

    let (user, pass) = rest_credentials(
        b"not the secret",
        "mallory",
        UNIX0,
        Duration::from_secs(3600),
    );
    let mut mallory = Auth::new(&user, &pass);
    h.challenge(udp(2), &mut mallory);
    let tid = h.tid();
    let reply = h.ask(
        udp(2),
        &request(ALLOCATE, tid, &[&udp_transport()], Some(&mallory)),
    );
    assert_eq!(reply.code(), 401);

    let (user, pass) = rest_credentials(SECRET, "late", UNIX0 - 7200, Duration::from_secs(3600));
    let mut late = Auth::new(&user, &pass);
    h.challenge(udp(3), &mut late);
    let tid = h.tid();
    let reply = h.ask(
        udp(3),
        &request(ALLOCATE, tid, &[&udp_transport()], Some(&late)),
    );
    assert_eq!(reply.code(), 401);
    assert!(reply.nonce().is_some());

    // Credentials expiring this very second still start an allocation; one second later
    // they start none, yet the allocation they started goes on being refreshed with them
    // (see expired_credentials_keep_their_allocation_alive in members.rs).
    let (user, pass) = rest_credentials(SECRET, "edge", UNIX0, Duration::ZERO);
    let mut edge = Auth::new(&user, &pass);
    h.allocate(udp(4), &mut edge);
    h.advance(1);
    let reply = h.signed(udp(4), REFRESH, &[], &edge);
    assert!(reply.is_success(), "{}", reply.code());
    let mut elsewhere = edge.clone();
    h.challenge(udp(5), &mut elsewhere);
    let tid = h.tid();
    let reply = h.ask(
        udp(5),
        &request(ALLOCATE, tid, &[&udp_transport()], Some(&elsewhere)),
    );
    assert_eq!(reply.code(), 401);
}

#[test]
fn rest_names_are_not_accepted_without_a_secret() {
    let mut h = Harness::new(confab_turn::TurnConfig {
        rest_secret: None,
        ..config()
    });
    let (user, pass) = rest_credentials(SECRET, "grace", UNIX0, Duration::from_secs(3600));
    let mut grace = Auth::new(&user, &pass);
    h.challenge(udp(1), &mut grace);
    let tid = h.tid();
    let reply = h.ask(
        udp(1),
        &request(ALLOCATE, tid, &[&udp_transport()], Some(&grace)),
    );
    assert_eq!(reply.code(), 401);
}

#[test]
fn another_username_on_the_allocation_gets_441() {
    let mut h = Harness::new(config());
    let mut ada = Auth::new("ada", "lovelace");
    h.allocate(udp(1), &mut ada);
    let (user, pass) = rest_credentials(SECRET, "grace", UNIX0, Duration::from_secs(3600));
    let grace = Auth {
        username: user,
        password: pass,
        ..ada.clone()
    };
    let lifetime = Lifetime::new(0);
    let reply = h.signed(udp(1), REFRESH, &[&lifetime], &grace);
    assert_eq!(reply.code(), 441);
    assert!(reply.verifies(&grace));
    assert_eq!(h.server.allocation_count(), 1);
}
