//! The waiting room (`room/waiting.rs`): joiners wait while a host is in and it is on;
//! hosts hear who knocks and let them in or not; giving up is told; turning it off lets
//! everyone in; host tokens pass; only hosts turn it on.

mod common;

use common::*;
use confab_proto::{ClientMsg, ErrorCode, PeerId, RequestId, Role, ServerMsg};
use confab_signal::{ConnId, Output};

fn waiting_room(on: bool) -> ClientMsg {
    ClientMsg::WaitingRoom { on }
}

fn admit(peer: &PeerId, allow: bool) -> ClientMsg {
    ClientMsg::Admit {
        peer: peer.clone(),
        allow,
    }
}

fn join_id(h: &mut Harness, conn: ConnId, name: &str, id: u64) {
    let msg = ClientMsg::Join {
        room: room("r"),
        name: name.into(),
        password: None,
        token: None,
    };
    h.frame_id(conn, Some(RequestId::Num(id)), msg);
}

fn knocks(out: &[Output], host: ConnId) -> Vec<(PeerId, String)> {
    to(out, host)
        .into_iter()
        .filter_map(|m| match m {
            ServerMsg::Knocking { peer, name } => Some((peer.clone(), name.clone())),
            _ => None,
        })
        .collect()
}

fn ended(out: &[Output], host: ConnId) -> Vec<(PeerId, bool)> {
    to(out, host)
        .into_iter()
        .filter_map(|m| match m {
            ServerMsg::KnockEnded { peer, admitted } => Some((peer.clone(), admitted)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_joiner_waits_until_a_host_lets_it_in() {
    let mut h = Harness::new();
    let (ada, ada_id) = h.joined(1, "r", "Ada");
    let (guest, _) = h.joined(2, "r", "Gus");
    h.frame(ada, waiting_room(true));
    let out = h.drain();
    let told = ServerMsg::WaitingRoom {
        on: true,
        by: ada_id.clone(),
    };
    assert_eq!(
        to(&out, guest),
        std::slice::from_ref(&told),
        "everyone hears it"
    );

    let (bob, bob_id) = h.ready(3);
    join_id(&mut h, bob, "Bob", 7);
    let out = h.drain();
    assert_eq!(
        to(&out, bob),
        [ServerMsg::Waiting {
            ref_: Some(RequestId::Num(7)),
            room: room("r")
        }]
    );
    assert_eq!(knocks(&out, ada), [(bob_id.clone(), "Bob".to_owned())]);
    assert!(to(&out, guest).is_empty(), "guests are not told who knocks");
    assert_eq!(h.hub.peers_in(&room("r")).len(), 2, "Bob is not in yet");
    // A second join while waiting is refused like one into a second room.
    h.expect_error(
        bob,
        ClientMsg::Join {
            room: room("s"),
            name: "Bob".into(),
            password: None,
            token: None,
        },
        ErrorCode::AlreadyJoined,
    );

    h.frame(ada, admit(&bob_id, true));
    let out = h.drain();
    assert!(
        to(&out, bob).iter().any(|m| matches!(
            m,
            ServerMsg::Joined {
                ref_: Some(RequestId::Num(7)),
                ..
            }
        )),
        "Bob's join is answered, with its ref: {out:?}"
    );
    assert!(
        to(&out, bob).contains(&told),
        "and he hears the waiting room is on"
    );
    assert_eq!(ended(&out, ada), [(bob_id.clone(), true)]);
    assert_eq!(h.hub.peers_in(&room("r")).len(), 3);
}

#[test]
fn a_denied_or_departing_joiner_is_out_and_the_hosts_are_told() {
    let mut h = Harness::new();
    let (ada, _) = h.joined(1, "r", "Ada");
    h.frame(ada, waiting_room(true));
    h.drain();
    let (cy, cy_id) = h.ready(2);
    join_id(&mut h, cy, "Cy", 3);
    h.drain();
    h.frame(ada, admit(&cy_id, false));
    let out = h.drain();
    assert!(
        to(&out, cy).iter().any(|m| matches!(
            m,
            ServerMsg::Error {
                code: ErrorCode::NotAdmitted,
                ref_: Some(RequestId::Num(3)),
                ..
            }
        )),
        "{out:?}"
    );
    assert_eq!(ended(&out, ada), [(cy_id.clone(), false)]);
    // Out for good: Cy may join another room.
    h.join(cy, "s", "Cy");
    assert!(to(&h.drain(), cy)
        .iter()
        .any(|m| matches!(m, ServerMsg::Joined { .. })));
    // Admitting someone who does not wait is an error.
    h.expect_error(ada, admit(&cy_id, true), ErrorCode::UnknownPeer);

    // Dan gives up with `leave`; Eve's connection drops.
    let (dan, dan_id) = h.ready(4);
    join_id(&mut h, dan, "Dan", 1);
    h.drain();
    let (eve, eve_id) = h.ready(5);
    join_id(&mut h, eve, "Eve", 1);
    h.drain();
    h.frame_id(dan, Some(RequestId::Num(2)), ClientMsg::Leave);
    let out = h.drain();
    assert!(to(&out, dan)
        .iter()
        .any(|m| matches!(m, ServerMsg::Left { .. })));
    assert_eq!(ended(&out, ada), [(dan_id, false)]);
    h.disconnect(eve);
    assert_eq!(ended(&h.drain(), ada), [(eve_id, false)]);
}

#[test]
fn turning_it_off_lets_everyone_in_and_host_tokens_pass() {
    let mut h = Harness::new();
    let (ada, _) = h.joined(1, "r", "Ada");
    let (gus, _) = h.joined(2, "r", "Gus");
    h.expect_error(gus, waiting_room(true), ErrorCode::NotHost);
    h.frame(ada, waiting_room(true));
    h.drain();
    // A host token's holder does not wait.
    let (teacher, _) = h.ready(3);
    h.join_as(teacher, "r", "Teacher", Role::Host);
    assert!(to(&h.drain(), teacher)
        .iter()
        .any(|m| matches!(m, ServerMsg::Joined { .. })));
    let (b, _) = h.ready(4);
    join_id(&mut h, b, "Bob", 1);
    let mut out = h.drain();
    let (c, _) = h.ready(5);
    join_id(&mut h, c, "Cy", 1);
    out.extend(h.drain());
    // The teacher's token made tokenless Ada a guest: the teacher answers the knocks.
    assert_eq!(knocks(&out, teacher).len(), 2);
    assert!(knocks(&out, ada).is_empty(), "Ada is a guest now");
    h.frame(teacher, waiting_room(false));
    let out = h.drain();
    for conn in [b, c] {
        assert!(
            to(&out, conn)
                .iter()
                .any(|m| matches!(m, ServerMsg::Joined { .. })),
            "{out:?}"
        );
    }
    assert_eq!(h.hub.peers_in(&room("r")).len(), 5);
}
