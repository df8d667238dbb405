//! `join` and `leave`: snapshots, presence announcements, and room lifetime.

mod common;

use common::{host, info, room, send, Harness};
use confab_proto::{ClientMsg, ErrorCode, LeaveReason, RequestId, ServerMsg};

#[test]
fn join_answers_with_a_snapshot_and_announces_the_joiner_to_the_others() {
    let mut h = Harness::new();
    let (a, ida) = h.ready(1);
    let (b, idb) = h.ready(2);
    let (c, idc) = h.ready(3);

    h.frame_id(
        a,
        Some(RequestId::Num(2)),
        ClientMsg::Join {
            room: room("standup"),
            name: "Ada".into(),
            password: None,
            token: None,
        },
    );
    let joined_a = ServerMsg::Joined {
        ref_: Some(RequestId::Num(2)),
        room: room("standup"),
        you: host(&ida, "Ada"),
        peers: vec![],
        history: vec![],
        broadcast: false,
        recording: None,
    };
    assert_eq!(h.drain(), vec![send(a, joined_a)]);
    assert_eq!(h.hub.room_count(), 1);

    h.join(b, "standup", "Grace");
    let joined_b = ServerMsg::Joined {
        ref_: None,
        room: room("standup"),
        you: info(&idb, "Grace"),
        peers: vec![host(&ida, "Ada")],
        history: vec![],
        broadcast: false,
        recording: None,
    };
    let announce_b = ServerMsg::PeerJoined {
        peer: info(&idb, "Grace"),
    };
    assert_eq!(h.drain(), vec![send(b, joined_b), send(a, announce_b)]);

    h.join(c, "standup", "Linus");
    let joined_c = ServerMsg::Joined {
        ref_: None,
        room: room("standup"),
        you: info(&idc, "Linus"),
        peers: vec![host(&ida, "Ada"), info(&idb, "Grace")],
        history: vec![],
        broadcast: false,
        recording: None,
    };
    let announce_c = ServerMsg::PeerJoined {
        peer: info(&idc, "Linus"),
    };
    assert_eq!(
        h.drain(),
        vec![
            send(c, joined_c),
            send(a, announce_c.clone()),
            send(b, announce_c)
        ]
    );
    assert_eq!(
        h.hub.peers_in(&room("standup")),
        vec![host(&ida, "Ada"), info(&idb, "Grace"), info(&idc, "Linus")]
    );
    assert_eq!(h.hub.room_count(), 1);
}

#[test]
fn second_join_is_rejected_whatever_the_room() {
    let mut h = Harness::new();
    let (a, _) = h.joined(1, "r", "Ada");
    for target in ["r", "s"] {
        let msg = ClientMsg::Join {
            room: room(target),
            name: "Ada".into(),
            password: None,
            token: None,
        };
        let message = h.expect_error(a, msg, ErrorCode::AlreadyJoined);
        assert!(message.contains("room r"), "{message}");
    }
    assert_eq!(h.hub.room_count(), 1);
}

#[test]
fn leave_answers_left_and_tells_the_others() {
    let mut h = Harness::new();
    let (a, ida) = h.joined(1, "r", "Ada");
    let (b, idb) = h.joined(2, "r", "Grace");
    let (c, idc) = h.joined(3, "r", "Linus");

    h.frame_id(b, Some(RequestId::Num(3)), ClientMsg::Leave);
    let left = ServerMsg::Left {
        ref_: Some(RequestId::Num(3)),
        room: room("r"),
    };
    let gone = ServerMsg::PeerLeft {
        peer_id: idb,
        reason: LeaveReason::Left,
    };
    assert_eq!(
        h.drain(),
        vec![send(b, left), send(a, gone.clone()), send(c, gone)]
    );
    assert_eq!(
        h.hub.peers_in(&room("r")),
        vec![host(&ida, "Ada"), info(&idc, "Linus")]
    );

    // The leaver can join again, under a new name, and is now last in join order.
    h.join(b, "r", "Grace Hopper");
    h.drain();
    assert_eq!(h.hub.peers_in(&room("r"))[2].name, "Grace Hopper");
}

#[test]
fn leave_when_not_joined_is_rejected() {
    let mut h = Harness::new();
    let (a, _) = h.ready(1);
    h.joined(2, "r", "Grace");
    h.expect_error(a, ClientMsg::Leave, ErrorCode::NotJoined);
    // And again after having left once.
    h.join(a, "r", "Ada");
    h.frame(a, ClientMsg::Leave);
    h.drain();
    h.expect_error(a, ClientMsg::Leave, ErrorCode::NotJoined);
}

#[test]
fn the_last_leave_deletes_the_room() {
    let mut h = Harness::new();
    let (a, _) = h.joined(1, "r", "Ada");
    let (b, _) = h.joined(2, "r", "Grace");
    h.frame(a, ClientMsg::Leave);
    assert_eq!(h.hub.room_count(), 1);
    h.frame(b, ClientMsg::Leave);
    assert_eq!(h.hub.room_count(), 0);
    assert!(h.hub.peers_in(&room("r")).is_empty());
    // The last leaver hears only its own `left`: nobody else is there. (Before: Ada's
    // `left`, and Grace's `peerLeft` and `roleChanged`, as Ada hosted.)
    let out = h.drain();
    assert_eq!(out.len(), 4, "{out:?}");
    assert_eq!(
        out[3],
        send(
            b,
            ServerMsg::Left {
                ref_: None,
                room: room("r")
            }
        )
    );
}

#[test]
fn other_rooms_see_nothing() {
    let mut h = Harness::new();
    let (x, _) = h.joined(1, "elsewhere", "Xavier");
    let (a, _) = h.joined(2, "r", "Ada");
    let (b, idb) = h.joined(3, "r", "Grace");
    h.frame(a, common::offer(&idb));
    h.frame(b, ClientMsg::Leave);
    h.join(b, "r", "Grace");
    h.disconnect(a);
    let out = h.drain();
    assert!(!out.is_empty());
    for o in &out {
        assert!(
            !matches!(o, confab_signal::Output::Send { to, .. } if *to == x),
            "{o:?} reached another room"
        );
    }
    assert_eq!(h.hub.room_count(), 2);
    assert_eq!(h.hub.peers_in(&room("elsewhere")).len(), 1);
}

#[test]
fn rooms_are_case_sensitive() {
    let mut h = Harness::new();
    h.joined(1, "Standup", "Ada");
    h.joined(2, "standup", "Grace");
    assert_eq!(h.hub.room_count(), 2);
}
