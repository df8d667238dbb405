//! Places held for a resume ("ghosts") never hold capacity live clients need: they do not
//! count as connections, a live joiner of a full room takes a ghost's place, and they are
//! capped per client address and in total.

mod common;

use common::{room, Harness};
use confab_proto::{ClientMsg, ErrorCode, LeaveReason, ServerMsg, PROTOCOL_VERSION};
use confab_signal::{Event, HubConfig, Output};
use std::time::Duration;

fn config() -> HubConfig {
    HubConfig {
        resume_grace: Duration::from_secs(30),
        ..HubConfig::default()
    }
}

fn hello(h: &mut Harness, conn: confab_signal::ConnId) -> Vec<Output> {
    let msg = ClientMsg::Hello {
        version: PROTOCOL_VERSION,
        resume: None,
    };
    h.frame(conn, msg);
    h.drain()
}

#[test]
fn ghosts_do_not_take_the_places_of_live_connections() {
    let mut h = Harness::with_config(HubConfig {
        max_connections: 2,
        ..config()
    });
    let (a, _) = h.joined(1, "r", "Ada");
    let (b, _) = h.joined(2, "r", "Grace");
    h.disconnect(a);
    h.disconnect(b);
    h.drain();
    assert_eq!((h.hub.detached_count(), h.hub.connection_count()), (2, 0));
    for n in [3, 4] {
        let c = h.connect(n);
        let out = hello(&mut h, c);
        assert!(
            matches!(
                out.as_slice(),
                [Output::Send {
                    msg: ServerMsg::Welcome { .. },
                    ..
                }]
            ),
            "conn {n}: {out:?}"
        );
    }
    // Live connections are still capped.
    let c = h.connect(5);
    assert!(matches!(
        h.drain().first(),
        Some(Output::Send {
            msg: ServerMsg::Error {
                code: ErrorCode::ServerFull,
                ..
            },
            ..
        })
    ));
    let _ = c;
}

#[test]
fn one_address_holds_at_most_its_cap_of_ghosts() {
    let mut h = Harness::with_config(HubConfig {
        max_detached_per_ip: 2,
        ..config()
    });
    let (watcher, _) = h.joined(100, "r", "Ada");
    let mut ids = Vec::new();
    for n in 1..=3 {
        let c = h.connect_from(n, [198, 51, 100, 7]);
        hello(&mut h, c);
        h.join(c, "r", "Mallory");
        h.drain();
        ids.push(c);
    }
    for c in &ids[..2] {
        h.disconnect(*c);
        h.drain();
    }
    assert_eq!(h.hub.detached_count(), 2);
    h.disconnect(ids[2]);
    let out = h.drain();
    assert!(out.contains(&Output::Event(Event::HoldRefused)), "{out:?}");
    assert!(
        out.iter().any(
            |o| matches!(o, Output::Send { to, msg: ServerMsg::PeerLeft {
            reason: LeaveReason::Disconnected, .. } } if *to == watcher)
        ),
        "the third leaves at once: {out:?}"
    );
    assert_eq!(h.hub.detached_count(), 2);
    // Another address still gets its place held.
    let c = h.connect_from(9, [203, 0, 113, 1]);
    hello(&mut h, c);
    h.join(c, "r", "Grace");
    h.drain();
    h.disconnect(c);
    assert_eq!(h.hub.detached_count(), 3);
}

#[test]
fn the_total_of_ghosts_is_capped() {
    let mut h = Harness::with_config(HubConfig {
        max_detached: 1,
        ..config()
    });
    let (a, _) = h.joined(1, "r", "Ada");
    let (b, _) = h.joined(2, "r", "Grace");
    h.joined(3, "r", "Linus");
    h.disconnect(a);
    h.disconnect(b);
    h.drain();
    assert_eq!(h.hub.detached_count(), 1);
    assert_eq!(h.hub.peers_in(&room("r")).len(), 2);
}

#[test]
fn a_live_joiner_of_a_full_room_takes_a_ghosts_place() {
    let mut h = Harness::with_config(HubConfig {
        max_peers_per_room: 2,
        ..config()
    });
    let (a, _) = h.joined(1, "r", "Ada");
    let (b, idb) = h.joined(2, "r", "Grace");
    h.disconnect(b);
    h.drain();
    let (c, idc) = h.ready(3);
    h.join(c, "r", "Linus");
    let out = h.drain();
    let gone = ServerMsg::PeerLeft {
        peer_id: idb,
        reason: LeaveReason::Disconnected,
    };
    assert_eq!(out[0], common::send(a, gone), "{out:?}");
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Send { to, msg: ServerMsg::Joined { .. } } if *to == c)),
        "{out:?}"
    );
    let ids: Vec<_> = h
        .hub
        .peers_in(&room("r"))
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&idc));
    assert_eq!(h.hub.detached_count(), 0);
}
