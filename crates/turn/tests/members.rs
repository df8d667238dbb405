//! TURN credentials bound to a room member (issue 12 item 6): quotas count a TURN REST
//! username's *user* (re-minted credentials share it) and the client's address, a revoked
//! user's allocations go at once and its credentials stop working, and an allocation
//! outlives the expiry of the credentials that started it (a call outlasts them).
mod common;

use common::{config, peer, request, tcp, udp, Auth, Harness, SECRET, UNIX0};
use confab_turn::{rest_credentials, ClientKey, Output, RefusalReason, TurnConfig};
use std::net::SocketAddr;
use std::time::Duration;
use turn_types::attribute::{ChannelNumber, Lifetime, RequestedTransport, XorPeerAddress};
use turn_types::message::{ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, REFRESH};

/// REST credentials for `user` minted at `unix`, valid `ttl` seconds.
fn member(user: &str, unix: u64, ttl: u64) -> Auth {
    let (username, password) = rest_credentials(SECRET, user, unix, Duration::from_secs(ttl));
    Auth::new(&username, &password)
}

/// Challenge then Allocate from `key`; the error code (0 once the relay is bound).
fn try_allocate(h: &mut Harness, key: ClientKey, auth: &mut Auth) -> u16 {
    h.challenge(key, auth);
    let tid = h.tid();
    let transport = RequestedTransport::new(RequestedTransport::UDP);
    let outputs = h.client(key, &request(ALLOCATE, tid, &[&transport], Some(auth)));
    match &outputs[..] {
        [Output::BindRelay { request, .. }] => {
            let request = *request;
            h.bind(request);
            0
        }
        [Output::ToClient { data, .. }] => common::Reply(data.clone()).code(),
        other => panic!("unexpected {other:?}"),
    }
}

/// The reasons of the refusals since the last call, the 401 challenges left out.
fn refusals(h: &mut Harness) -> Vec<RefusalReason> {
    std::iter::from_fn(|| h.server.poll_refusal())
        .map(|r| r.reason)
        .filter(|r| *r != RefusalReason::Challenge)
        .collect()
}

fn from(ip: &str, port: u16) -> ClientKey {
    ClientKey {
        client: SocketAddr::new(ip.parse().unwrap(), port),
        ..udp(port)
    }
}

#[test]
fn credentials_minted_again_share_their_users_quota() {
    let mut h = Harness::new(TurnConfig {
        user_quota: 2,
        ..config()
    });
    assert_eq!(
        try_allocate(&mut h, udp(1), &mut member("m1", UNIX0, 600)),
        0
    );
    // The member's next credentials (a later expiry, so another username).
    let mut again = member("m1", UNIX0 + 300, 600);
    assert_ne!(again.username, member("m1", UNIX0, 600).username);
    assert_eq!(try_allocate(&mut h, udp(2), &mut again), 0);
    assert_eq!(h.server.user_allocation_count("m1"), 2);
    assert_eq!(
        try_allocate(&mut h, udp(3), &mut member("m1", UNIX0 + 1, 900)),
        486
    );
    assert_eq!(refusals(&mut h), [RefusalReason::UserQuota]);
    assert_eq!(
        try_allocate(&mut h, udp(4), &mut member("m2", UNIX0, 600)),
        0
    );
    // Static users count by their name.
    let mut ada = Auth::new("ada", "lovelace");
    assert_eq!(try_allocate(&mut h, udp(5), &mut ada), 0);
    assert_eq!(h.server.user_allocation_count("ada"), 1);
}

#[test]
fn allocations_per_client_address_are_capped() {
    let mut h = Harness::new(TurnConfig {
        ip_quota: 2,
        ..config()
    });
    let users = ["a", "b", "c", "d", "e", "f"];
    let mut next = users.iter().map(|u| member(u, UNIX0, 600));
    let mut alloc = |h: &mut Harness, key| try_allocate(h, key, &mut next.next().unwrap());
    assert_eq!(alloc(&mut h, from("203.0.113.5", 1)), 0);
    assert_eq!(
        alloc(&mut h, tcp(2)),
        0,
        "udp and tcp from one address count together"
    );
    assert_eq!(
        alloc(&mut h, from("203.0.113.5", 3)),
        486,
        "a third user, same address"
    );
    assert_eq!(refusals(&mut h), [RefusalReason::IpQuota]);
    assert_eq!(alloc(&mut h, from("203.0.113.6", 1)), 0, "another address");
    // IPv6: one /64 is one client.
    let mut v6 = Harness::new(TurnConfig {
        ip_quota: 1,
        relay_ip: "2001:db8::1".parse().unwrap(),
        ..config()
    });
    let mut m = member("v6", UNIX0, 600);
    let key = |ip, port| ClientKey {
        local: "[2001:db8::1]:3478".parse().unwrap(),
        ..from(ip, port)
    };
    v6.challenge(key("2001:db8:1:2::1", 1), &mut m);
    let tid = v6.tid();
    let transport = RequestedTransport::new(RequestedTransport::UDP);
    let allocate = request(ALLOCATE, tid, &[&transport], Some(&m));
    let out = v6.client(key("2001:db8:1:2::1", 1), &allocate);
    assert!(matches!(out[..], [Output::BindRelay { .. }]), "{out:?}");
    assert_eq!(
        v6.server
            .ip_allocation_count("2001:db8:1:2:ff::7".parse().unwrap()),
        1
    );
    v6.challenge(key("2001:db8:1:2::2", 2), &mut m);
    let tid = v6.tid();
    let allocate = request(ALLOCATE, tid, &[&transport], Some(&m));
    let reply = v6.ask(key("2001:db8:1:2::2", 2), &allocate);
    assert_eq!(reply.code(), 486, "the same /64");
}

#[test]
fn revoking_a_user_frees_its_allocations_and_refuses_its_credentials() {
    let mut h = Harness::new(config());
    let mut gone = member("m1", UNIX0, 600);
    let mut gone_later = member("m1", UNIX0 + 300, 600);
    let mut stays = member("m2", UNIX0, 600);
    let mut ada = Auth::new("ada", "lovelace");
    assert_eq!(try_allocate(&mut h, udp(1), &mut gone), 0);
    assert_eq!(try_allocate(&mut h, tcp(2), &mut gone_later), 0);
    assert_eq!(try_allocate(&mut h, udp(3), &mut stays), 0);
    assert_eq!(try_allocate(&mut h, udp(4), &mut ada), 0);
    assert_eq!(h.server.allocation_count(), 4);

    h.server.handle_revoke("m1", UNIX0 + 900, h.now, h.unix);
    let released = h
        .drain()
        .into_iter()
        .filter(|o| matches!(o, Output::ReleaseRelay { .. }))
        .count();
    assert_eq!(released, 2, "both of m1's relays are released");
    assert_eq!(h.server.allocation_count(), 2);
    assert_eq!(h.server.user_allocation_count("m1"), 0);
    // Its credentials, old and new, no longer work: not to refresh, not to allocate.
    let reply = h.signed(udp(1), REFRESH, &[], &gone);
    assert_eq!(reply.code(), 401);
    assert_eq!(try_allocate(&mut h, udp(5), &mut gone_later), 401);
    assert_eq!(
        refusals(&mut h),
        [RefusalReason::Revoked, RefusalReason::Revoked]
    );
    // Others, and static users of the same name, are untouched.
    h.server.handle_revoke("ada", UNIX0 + 900, h.now, h.unix);
    assert!(h.signed(udp(3), REFRESH, &[], &stays).is_success());
    assert!(h.signed(udp(4), REFRESH, &[], &ada).is_success());
    assert_eq!(h.server.revoked_user_count(), 2);
    // Once every credential of theirs has expired, revoked users are forgotten.
    h.advance(1_000);
    h.server.handle_revoke("m3", h.unix + 600, h.now, h.unix);
    assert_eq!(h.server.revoked_user_count(), 1);
}

#[test]
fn expired_credentials_keep_their_allocation_alive() {
    let mut h = Harness::new(config());
    // A short credential lifetime: one minute.
    let mut m = member("m1", UNIX0, 60);
    assert_eq!(try_allocate(&mut h, udp(1), &mut m), 0);
    for _ in 0..6 {
        // Refreshed every 5 minutes, for half an hour, long after the expiry.
        h.advance(300);
        let lifetime = Lifetime::new(600);
        let mut reply = h.signed(udp(1), REFRESH, &[&lifetime], &m);
        if reply.code() == 438 {
            // The nonce aged (10 minutes); a client retries with the fresh one.
            m.nonce = reply.nonce().expect("438 carries a nonce");
            reply = h.signed(udp(1), REFRESH, &[&lifetime], &m);
        }
        assert!(reply.is_success(), "Refresh: {}", reply.code());
        let tid = h.tid();
        let to = XorPeerAddress::new(peer(9), tid.into());
        let permit = request(CREATE_PERMISSION, tid, &[&to], Some(&m));
        assert!(h.ask(udp(1), &permit).is_success());
        let tid = h.tid();
        let to = XorPeerAddress::new(peer(9), tid.into());
        let channel = ChannelNumber::new(0x4000);
        let bind = request(CHANNEL_BIND, tid, &[&channel, &to], Some(&m));
        assert!(h.ask(udp(1), &bind).is_success());
    }
    assert_eq!(h.server.allocation_count(), 1);
    // The same credentials start no new allocation.
    let mut elsewhere = m.clone();
    assert_eq!(try_allocate(&mut h, udp(2), &mut elsewhere), 401);
    // Nor does another expired username of the same user act on this allocation.
    let other = member("m1", UNIX0 + 1, 60);
    let other = Auth {
        nonce: m.nonce.clone(),
        ..other
    };
    assert_eq!(h.signed(udp(1), REFRESH, &[], &other).code(), 401);
}
