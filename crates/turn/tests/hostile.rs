//! Hostile and careless clients (issue 12): every refusal is reported with its reason
//! (item 2), unauthenticated UDP error replies are budgeted per source prefix and kept
//! small (item 15), and static users lock out per source after wrong passwords (item 16).
mod common;

use common::{config, peer, request, tcp, udp, Auth, Harness, Reply};
use confab_turn::{ClientKey, Output, Refusal, RefusalReason, Transport};
use std::net::SocketAddr;
use stun_types::attribute::{AttributeStaticType, Software};
use turn_types::attribute::{RequestedTransport, XorPeerAddress};
use turn_types::message::{ALLOCATE, CREATE_PERMISSION};

fn refusals(h: &mut Harness) -> Vec<Refusal> {
    std::iter::from_fn(|| h.server.poll_refusal()).collect()
}

fn bare_allocate(tid: u128) -> Vec<u8> {
    let transport = RequestedTransport::new(RequestedTransport::UDP);
    request(ALLOCATE, tid, &[&transport], None)
}

fn from(ip: [u8; 4], port: u16) -> ClientKey {
    ClientKey {
        client: SocketAddr::from((ip, port)),
        ..udp(port)
    }
}

#[test]
fn refusals_carry_their_reason() {
    let mut h = Harness::new(config());
    let mut ada = Auth::new("ada", "lovelace");
    h.allocate(udp(1), &mut ada);
    let seen = refusals(&mut h);
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].reason, RefusalReason::Challenge);
    assert_eq!(
        (seen[0].code, seen[0].method, seen[0].key),
        (401, "Allocate", udp(1))
    );

    let tid = h.tid();
    let denied = XorPeerAddress::new("10.0.0.1:5".parse().unwrap(), tid.into());
    let reply = h.ask(
        udp(1),
        &request(CREATE_PERMISSION, tid, &[&denied], Some(&ada)),
    );
    assert_eq!(reply.code(), 403);
    let seen = refusals(&mut h);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].reason, RefusalReason::ForbiddenPeer);
    assert_eq!((seen[0].code, seen[0].method), (403, "CreatePermission"));

    let mut wrong = Auth::new("ada", "babbage");
    h.challenge(udp(2), &mut wrong);
    let tid = h.tid();
    let transport = RequestedTransport::new(RequestedTransport::UDP);
    let reply = h.ask(udp(2), &request(ALLOCATE, tid, &[&transport], Some(&wrong)));
    assert_eq!(reply.code(), 401);
    let reasons: Vec<_> = refusals(&mut h).iter().map(|r| r.reason).collect();
    assert_eq!(
        reasons,
        [RefusalReason::Challenge, RefusalReason::BadCredentials]
    );
    // Successes are no refusals.
    let tid = h.tid();
    let ok = XorPeerAddress::new(peer(1), tid.into());
    assert!(h
        .ask(udp(1), &request(CREATE_PERMISSION, tid, &[&ok], Some(&ada)))
        .is_success());
    assert!(refusals(&mut h).is_empty());
    for reason in RefusalReason::ALL {
        assert!(reason
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'_'));
    }
}

#[test]
fn unauthenticated_error_replies_are_small() {
    let mut h = Harness::new(config());
    let request = bare_allocate(7);
    let reply = h.ask(udp(1), &request);
    assert_eq!(reply.code(), 401);
    assert!(!reply.has(Software::TYPE));
    // 20 header + 8 ERROR-CODE + 12 REALM + 52 NONCE + 12 PASSWORD-ALGORITHMS + 8
    // FINGERPRINT; it was 136 with SOFTWARE and the reason phrase.
    assert!(reply.0.len() <= 112, "401 of {} bytes", reply.0.len());
    eprintln!(
        "401: {} bytes for a {}-byte request ({:.1}x)",
        reply.0.len(),
        request.len(),
        reply.0.len() as f64 / request.len() as f64
    );
    // Authenticated responses keep SOFTWARE.
    let mut ada = Auth::new("ada", "lovelace");
    h.allocate(udp(2), &mut ada);
    let tid = h.tid();
    let denied = XorPeerAddress::new("10.0.0.1:5".parse().unwrap(), tid.into());
    let reply = h.ask(
        udp(2),
        &common::request(CREATE_PERMISSION, tid, &[&denied], Some(&ada)),
    );
    assert!(reply.has(Software::TYPE));
}

#[test]
fn error_replies_are_budgeted_per_udp_source_prefix() {
    let mut h = Harness::new(config());
    let answered = |h: &mut Harness, key: ClientKey, n: u128| -> usize {
        (0..n)
            .filter(|i| !h.client(key, &bare_allocate(1000 + i)).is_empty())
            .count()
    };
    // One /24, many hosts and ports: 64 at once in all.
    let mut got = 0;
    for host in 0..4u8 {
        got += answered(
            &mut h,
            from([203, 0, 113, host], 40_000 + u16::from(host)),
            50,
        );
    }
    assert_eq!(got, 64);
    let dropped: Vec<_> = refusals(&mut h)
        .into_iter()
        .filter(|r| r.reason == RefusalReason::RateLimited)
        .collect();
    assert_eq!(dropped.len(), 200 - 64);
    assert!(dropped.iter().all(|r| r.code == 0));
    // Another prefix has its own budget; TCP is not limited (the handshake proved the
    // source); after a second, 32 more.
    assert_eq!(answered(&mut h, from([198, 51, 100, 9], 1), 10), 10);
    assert_eq!(answered(&mut h, tcp(9), 100), 100);
    h.advance(1);
    assert_eq!(answered(&mut h, from([203, 0, 113, 77], 5), 50), 32);
    // Binding (not an error) is never limited.
    let binding = request(stun_types::message::BINDING, 9, &[], None);
    assert!(
        Reply(match &h.client(from([203, 0, 113, 1], 1), &binding)[..] {
            [Output::ToClient { data, .. }] => data.clone(),
            other => panic!("{other:?}"),
        })
        .is_success()
    );
}

#[test]
fn static_users_lock_out_per_source_after_wrong_passwords() {
    let mut h = Harness::new(config());
    let attacker = udp(1);
    let transport = RequestedTransport::new(RequestedTransport::UDP);
    let mut wrong = Auth::new("ada", "guess");
    h.challenge(attacker, &mut wrong);
    for _ in 0..5 {
        let tid = h.tid();
        let r = h.ask(
            attacker,
            &request(ALLOCATE, tid, &[&transport], Some(&wrong)),
        );
        assert_eq!(r.code(), 401);
    }
    // Now even the right password from that source gets 401, as locked_out.
    let mut right = Auth::new("ada", "lovelace");
    right.nonce = wrong.nonce.clone();
    refusals(&mut h);
    let tid = h.tid();
    let r = h.ask(
        attacker,
        &request(ALLOCATE, tid, &[&transport], Some(&right)),
    );
    assert_eq!(r.code(), 401);
    assert_eq!(refusals(&mut h)[0].reason, RefusalReason::LockedOut);
    // The same user from another source, and REST users from the attacker, still work.
    let mut ada = Auth::new("ada", "lovelace");
    h.allocate(from([192, 0, 2, 50], 7), &mut ada);
    let (user, pass) = confab_turn::rest_credentials(
        common::SECRET,
        "bob",
        common::UNIX0,
        std::time::Duration::from_secs(60),
    );
    let attacker_tcp = ClientKey {
        transport: Transport::Tcp,
        ..attacker
    };
    let mut rest = Auth::new(&user, &pass);
    h.allocate(attacker_tcp, &mut rest);
    // After the lock (300 s) the right password works again.
    h.advance(300);
    let mut again = Auth::new("ada", "lovelace");
    h.allocate(attacker, &mut again);
}

#[test]
fn a_correct_password_resets_the_failure_count() {
    let mut h = Harness::new(config());
    let transport = RequestedTransport::new(RequestedTransport::UDP);
    for round in 0..3 {
        let key = udp(1);
        let mut wrong = Auth::new("ada", "guess");
        h.challenge(key, &mut wrong);
        for _ in 0..4 {
            let tid = h.tid();
            let r = h.ask(key, &request(ALLOCATE, tid, &[&transport], Some(&wrong)));
            assert_eq!(r.code(), 401, "round {round}");
        }
        let mut right = Auth::new("ada", "lovelace");
        h.allocate(key, &mut right);
        h.server.handle_client_closed(key, h.now);
        h.drain();
    }
}
