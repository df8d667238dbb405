//! A clean close (the driver saw WebSocket close 1000/1001) leaves the room at once, as
//! `leave` would; only a dropped connection is held for the resume grace.

mod common;

use common::{send, Harness};
use confab_proto::{LeaveReason, ServerMsg};
use confab_signal::{HubConfig, Output};
use std::time::Duration;

fn with_grace() -> Harness {
    Harness::with_config(HubConfig {
        resume_grace: Duration::from_secs(30),
        ..HubConfig::default()
    })
}

#[test]
fn a_clean_close_leaves_at_once_with_reason_left() {
    let mut h = with_grace();
    let (a, _) = h.joined(1, "r", "Ada");
    let (b, idb) = h.joined(2, "r", "Grace");
    h.close(b);
    let left = ServerMsg::PeerLeft {
        peer_id: idb.clone(),
        reason: LeaveReason::Left,
    };
    assert_eq!(h.drain(), vec![send(a, left)], "no reconnecting ghost");
    assert_eq!(h.hub.peers_in(&common::room("r")).len(), 1);
    assert_eq!(h.hub.detached_count(), 0);
    assert_eq!(h.hub.poll_timeout(), None, "no grace period runs");
}

#[test]
fn a_dropped_connection_still_gets_the_grace() {
    let mut h = with_grace();
    let (a, _) = h.joined(1, "r", "Ada");
    let (b, idb) = h.joined(2, "r", "Grace");
    h.disconnect(b);
    // The room (the dropped peer included; nothing reaches it) sees it reconnecting.
    match h.drain().first() {
        Some(Output::Send {
            to,
            msg: ServerMsg::Presence { peer_id, state },
        }) => {
            assert_eq!((*to, peer_id), (a, &idb));
            assert!(state.reconnecting);
        }
        other => panic!("expected presence reconnecting, got {other:?}"),
    }
    assert_eq!(h.hub.detached_count(), 1);
    // A clean close reported after the drop changes nothing (the driver reports once).
    h.close(b);
    assert!(h.drain().is_empty());
    assert_eq!(h.hub.detached_count(), 1);
}
