//! Disconnects: presence, idempotence, and cleanup.

mod common;

use common::{host, info, offer, room, send, Harness};
use confab_proto::{ClientMsg, ErrorCode, LeaveReason, ServerMsg};
use confab_signal::ConnId;

#[test]
fn disconnect_tells_the_room_with_reason_disconnected() {
    let mut h = Harness::new();
    let (a, ida) = h.joined(1, "r", "Ada");
    let (b, idb) = h.joined(2, "r", "Grace");
    let (c, idc) = h.joined(3, "r", "Linus");
    h.disconnect(b);
    let gone = ServerMsg::PeerLeft {
        peer_id: idb,
        reason: LeaveReason::Disconnected,
    };
    assert_eq!(h.drain(), vec![send(a, gone.clone()), send(c, gone)]);
    assert_eq!(
        h.hub.peers_in(&room("r")),
        vec![host(&ida, "Ada"), info(&idc, "Linus")]
    );
    assert_eq!(h.hub.connection_count(), 2);
}

#[test]
fn disconnect_is_idempotent_and_unknown_connections_are_a_no_op() {
    let mut h = Harness::new();
    let (a, _) = h.joined(1, "r", "Ada");
    h.joined(2, "r", "Grace");
    h.disconnect(a);
    assert_eq!(
        h.drain().len(),
        2,
        "peerLeft and roleChanged (Ada hosted) to Grace"
    );
    let before = h.snapshot(&["r"]);
    h.disconnect(a);
    h.disconnect(ConnId(404));
    assert!(h.drain().is_empty());
    assert_eq!(h.snapshot(&["r"]), before);
}

#[test]
fn disconnect_of_the_last_member_deletes_the_room() {
    let mut h = Harness::new();
    let (a, _) = h.joined(1, "r", "Ada");
    h.disconnect(a);
    assert!(h.drain().is_empty());
    assert_eq!(h.hub.room_count(), 0);
    assert_eq!(h.hub.connection_count(), 0);
}

#[test]
fn disconnect_before_hello_or_join_is_silent() {
    let mut h = Harness::new();
    let bare = h.connect(1);
    let (lobby, _) = h.ready(2);
    h.joined(3, "r", "Ada");
    h.disconnect(bare);
    h.disconnect(lobby);
    assert!(h.drain().is_empty());
    assert_eq!(h.hub.connection_count(), 1);
}

#[test]
fn a_disconnected_peer_can_no_longer_be_addressed_or_act() {
    let mut h = Harness::new();
    let (a, _) = h.joined(1, "r", "Ada");
    let (b, idb) = h.joined(2, "r", "Grace");
    h.disconnect(b);
    h.drain();
    h.expect_error(a, offer(&idb), ErrorCode::UnknownPeer);
    h.frame(b, ClientMsg::Ping);
    h.frame(b, ClientMsg::Leave);
    assert!(h.drain().is_empty());
}
