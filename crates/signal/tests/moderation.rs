//! Roles and moderation: the first person hosts, tokens set roles, the longest-present
//! member takes over from the last host, and only hosts may `kick`, `mute` and `lock`
//! (what a kick bans: `kicks.rs`; what outlives a restart: `restart.rs`).

mod common;

use common::{host, info, room, send, Harness};
use confab_proto::{ClientMsg, ErrorCode, LeaveReason, PeerId, RequestId, Role, ServerMsg};

fn kick(peer: &PeerId) -> ClientMsg {
    ClientMsg::Kick { peer: peer.clone() }
}

fn mute(peer: &PeerId) -> ClientMsg {
    ClientMsg::Mute { peer: peer.clone() }
}

fn lock(locked: bool) -> ClientMsg {
    ClientMsg::Lock { locked }
}

/// The one error `conn` got, with `ref` 9, after sending `msg` with id 9; and that the
/// room did not change.
fn refused(h: &mut Harness, conn: confab_signal::ConnId, msg: ClientMsg) -> ErrorCode {
    let before = h.snapshot(&["standup"]);
    h.frame_id(conn, Some(RequestId::Num(9)), msg);
    let out = h.drain();
    assert_eq!(
        h.snapshot(&["standup"]),
        before,
        "a refusal changes nothing"
    );
    match out.as_slice() {
        [confab_signal::Output::Send {
            to,
            msg: ServerMsg::Error { code, ref_, .. },
        }] if *to == conn => {
            assert_eq!(ref_, &Some(RequestId::Num(9)));
            *code
        }
        other => panic!("expected one error, got {other:?}"),
    }
}

#[test]
fn the_first_person_in_a_room_hosts_and_everyone_sees_it() {
    let mut h = Harness::new();
    let (a, ida) = h.ready(1);
    let (b, idb) = h.ready(2);
    h.join(a, "standup", "Ada");
    let out = h.drain();
    assert!(
        matches!(&out[0], confab_signal::Output::Send { msg: ServerMsg::Joined { you, .. }, .. } if *you == host(&ida, "Ada"))
    );
    h.join(b, "standup", "Grace");
    let out = h.drain();
    let joined_b = ServerMsg::Joined {
        ref_: None,
        room: room("standup"),
        you: info(&idb, "Grace"),
        peers: vec![host(&ida, "Ada")],
        history: vec![],
        broadcast: false,
        recording: None,
    };
    let announce = ServerMsg::PeerJoined {
        peer: info(&idb, "Grace"),
    };
    assert_eq!(out, vec![send(b, joined_b), send(a, announce)]);
}

#[test]
fn when_the_last_host_leaves_the_longest_present_member_takes_over() {
    let mut h = Harness::new();
    let (a, ida) = h.joined(1, "standup", "Ada");
    let (b, idb) = h.joined(2, "standup", "Grace");
    let (c, _) = h.joined(3, "standup", "Linus");
    h.drain();
    h.disconnect(a);
    let left = ServerMsg::PeerLeft {
        peer_id: ida.clone(),
        reason: LeaveReason::Disconnected,
    };
    let changed = ServerMsg::RoleChanged {
        peer_id: idb.clone(),
        role: Role::Host,
    };
    assert_eq!(
        h.drain(),
        vec![
            send(b, left.clone()),
            send(c, left),
            send(b, changed.clone()),
            send(c, changed)
        ]
    );
    assert_eq!(h.hub.peers_in(&room("standup"))[0], host(&idb, "Grace"));
    // Grace can moderate now; Linus still cannot.
    assert_eq!(refused(&mut h, c, lock(true)), ErrorCode::NotHost);
    h.frame(b, lock(true));
    assert_eq!(h.drain().len(), 2, "roomLocked to Grace and Linus");
}

#[test]
fn token_roles_are_kept_and_token_guests_are_never_promoted() {
    let mut h = Harness::new();
    // A guest token first: it stays a guest (the application decided), so the room has
    // no host until someone with a host token comes; a tokenless joiner may not outrank
    // the token holder (see `tokenless_never_outranks_tokens.rs`).
    let (a, ida) = h.ready(1);
    h.join_as(a, "standup", "Ada", Role::Guest);
    h.drain();
    assert_eq!(h.hub.peers_in(&room("standup")), vec![info(&ida, "Ada")]);
    let (b, idb) = h.ready(2);
    h.join(b, "standup", "Grace");
    h.drain();
    assert_eq!(h.hub.peers_in(&room("standup"))[1], info(&idb, "Grace"));
    // Grace leaves: Ada (token guest) is not promoted.
    h.disconnect(b);
    assert_eq!(
        h.drain(),
        vec![send(
            a,
            ServerMsg::PeerLeft {
                peer_id: idb,
                reason: LeaveReason::Disconnected
            }
        )]
    );
    assert_eq!(h.hub.peers_in(&room("standup")), vec![info(&ida, "Ada")]);
    // A host token makes a host even in a room that has one.
    let (c, idc) = h.ready(3);
    let (d, idd) = h.ready(4);
    let (e, ide) = h.ready(5);
    h.join_as(c, "standup", "Linus", Role::Host);
    h.join_as(d, "standup", "Dana", Role::Host);
    h.join(e, "standup", "Erin");
    h.drain();
    let peers = h.hub.peers_in(&room("standup"));
    assert_eq!(peers[1], host(&idc, "Linus"));
    assert_eq!(peers[2], host(&idd, "Dana"));
    assert_eq!(peers[3], info(&ide, "Erin"));
}

#[test]
fn a_host_kicks_a_guest_who_is_told_and_may_not_come_back() {
    let mut h = Harness::new();
    let (a, ida) = h.joined(1, "standup", "Ada");
    let (b, idb) = h.joined(2, "standup", "Grace");
    let (c, _) = h.joined(3, "standup", "Linus");
    h.drain();
    h.frame(a, kick(&idb));
    let left = ServerMsg::PeerLeft {
        peer_id: idb.clone(),
        reason: LeaveReason::Kicked,
    };
    assert_eq!(
        h.drain(),
        vec![
            send(
                b,
                ServerMsg::Kicked {
                    room: room("standup"),
                    by: ida.clone()
                }
            ),
            send(a, left.clone()),
            send(c, left),
        ]
    );
    assert_eq!(h.hub.peers_in(&room("standup")).len(), 2);
    // Grace is in no room and her connection is open, but the room refuses her now
    // (`kicks.rs` has who else it refuses, and who not).
    assert_eq!(refused(&mut h, b, ClientMsg::Leave), ErrorCode::NotJoined);
    let join = ClientMsg::Join {
        room: room("standup"),
        name: "Grace".into(),
        password: None,
        token: None,
    };
    assert_eq!(refused(&mut h, b, join), ErrorCode::RoomLocked);
}

#[test]
fn a_host_mutes_a_peer_by_asking_its_client() {
    let mut h = Harness::new();
    let (a, ida) = h.joined(1, "standup", "Ada");
    let (b, idb) = h.joined(2, "standup", "Grace");
    h.drain();
    h.frame(a, mute(&idb));
    assert_eq!(h.drain(), vec![send(b, ServerMsg::MuteRequest { by: ida })]);
}

#[test]
fn guests_cannot_kick_mute_or_lock_and_nothing_changes() {
    let mut h = Harness::new();
    let (_a, ida) = h.joined(1, "standup", "Ada");
    let (b, _) = h.joined(2, "standup", "Grace");
    h.drain();
    assert_eq!(refused(&mut h, b, kick(&ida)), ErrorCode::NotHost);
    assert_eq!(refused(&mut h, b, mute(&ida)), ErrorCode::NotHost);
    assert_eq!(refused(&mut h, b, lock(true)), ErrorCode::NotHost);
    // Unlocked still: a newcomer gets in.
    let (c, _) = h.ready(3);
    h.join(c, "standup", "Linus");
    assert!(matches!(
        h.drain().first(),
        Some(confab_signal::Output::Send {
            msg: ServerMsg::Joined { .. },
            ..
        })
    ));
}

#[test]
fn hosts_cannot_target_themselves_or_strangers_and_need_a_room() {
    let mut h = Harness::new();
    let (a, ida) = h.joined(1, "standup", "Ada");
    let (_, stranger) = h.joined(2, "other", "Grace");
    let (lonely, _) = h.ready(3);
    h.drain();
    assert_eq!(refused(&mut h, a, kick(&ida)), ErrorCode::UnknownPeer);
    assert_eq!(refused(&mut h, a, mute(&stranger)), ErrorCode::UnknownPeer);
    assert_eq!(refused(&mut h, a, kick(&stranger)), ErrorCode::UnknownPeer);
    assert_eq!(refused(&mut h, lonely, lock(true)), ErrorCode::NotJoined);
    let fresh = h.connect(4);
    assert_eq!(refused(&mut h, fresh, lock(true)), ErrorCode::HelloRequired);
}

#[test]
fn a_locked_room_refuses_newcomers_but_not_host_tokens_and_unlocks_when_empty() {
    let mut h = Harness::new();
    // Locked by a host token: guest tokens stay out too (a tokenless host's lock does not
    // keep token holders out; see `tokenless_never_outranks_tokens.rs`).
    let (a, ida) = h.ready(1);
    h.join_as(a, "standup", "Ada", Role::Host);
    h.drain();
    let (b, _) = h.joined(2, "standup", "Grace");
    h.drain();
    h.frame(a, lock(true));
    let locked = ServerMsg::RoomLocked {
        locked: true,
        by: ida.clone(),
    };
    assert_eq!(
        h.drain(),
        vec![send(a, locked.clone()), send(b, locked.clone())]
    );

    let (c, _) = h.ready(3);
    h.frame_id(
        c,
        Some(RequestId::Num(2)),
        ClientMsg::Join {
            room: room("standup"),
            name: "Linus".into(),
            password: None,
            token: None,
        },
    );
    match h.drain().as_slice() {
        [confab_signal::Output::Send {
            to,
            msg: ServerMsg::Error { code, ref_, .. },
        }] => {
            assert_eq!(
                (*to, *code, ref_),
                (c, ErrorCode::RoomLocked, &Some(RequestId::Num(2)))
            );
        }
        other => panic!("expected room_locked, got {other:?}"),
    }
    // A guest token does not open it either; a host token does, and is told it is locked.
    h.join_as(c, "standup", "Linus", Role::Guest);
    assert!(matches!(
        h.drain().as_slice(),
        [confab_signal::Output::Send {
            msg: ServerMsg::Error {
                code: ErrorCode::RoomLocked,
                ..
            },
            ..
        }]
    ));
    let (d, idd) = h.ready(4);
    h.join_as(d, "standup", "Dana", Role::Host);
    let out = h.drain();
    assert!(
        matches!(&out[0], confab_signal::Output::Send { to, msg: ServerMsg::Joined { .. } } if *to == d)
    );
    assert_eq!(out[1], send(d, locked));

    // Unlock: Linus gets in.
    h.frame(d, lock(false));
    let unlocked = ServerMsg::RoomLocked {
        locked: false,
        by: idd,
    };
    assert_eq!(
        h.drain(),
        vec![
            send(a, unlocked.clone()),
            send(b, unlocked.clone()),
            send(d, unlocked)
        ]
    );
    h.join(c, "standup", "Linus");
    assert!(matches!(
        h.drain().first(),
        Some(confab_signal::Output::Send {
            msg: ServerMsg::Joined { .. },
            ..
        })
    ));

    // Lock again, then everyone leaves: the room ends, and a new one is open.
    h.frame(a, lock(true));
    h.drain();
    for conn in [a, b, c, d] {
        h.disconnect(conn);
    }
    h.drain();
    assert_eq!(h.hub.room_count(), 0);
    let (e, ide) = h.ready(5);
    h.join(e, "standup", "Erin");
    let out = h.drain();
    assert!(
        matches!(&out[0], confab_signal::Output::Send { msg: ServerMsg::Joined { you, .. }, .. } if *you == host(&ide, "Erin"))
    );
}
