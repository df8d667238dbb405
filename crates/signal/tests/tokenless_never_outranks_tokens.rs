//! Mixed mode (a token key set, tokens not required): a joiner without a token never
//! outranks a token holder. It does not become host over guest-token holders, a tokenless
//! host is demoted when a token holder enters, its lock does not keep token holders out,
//! and it is not promoted while a token holder is present.

mod common;

use common::{host, info, room, send, Harness};
use confab_proto::{ClientMsg, ErrorCode, RequestId, Role, ServerMsg};
use confab_signal::Output;

fn refused_code(h: &mut Harness, conn: confab_signal::ConnId, msg: ClientMsg) -> ErrorCode {
    h.frame_id(conn, Some(RequestId::Num(9)), msg);
    match h.drain().as_slice() {
        [Output::Send {
            msg: ServerMsg::Error { code, .. },
            ..
        }] => *code,
        other => panic!("expected one error, got {other:?}"),
    }
}

#[test]
fn an_anonymous_joiner_among_guest_tokens_is_a_guest_and_cannot_kick_or_lock() {
    let mut h = Harness::new();
    let (a, ida) = h.ready(1);
    let (b, idb) = h.ready(2);
    h.join_as(a, "board", "Ada", Role::Guest);
    h.join_as(b, "board", "Grace", Role::Guest);
    h.drain();
    let (m, idm) = h.ready(3);
    h.join(m, "board", "Mallory");
    h.drain();
    assert_eq!(
        h.hub.peers_in(&room("board")),
        vec![
            info(&ida, "Ada"),
            info(&idb, "Grace"),
            info(&idm, "Mallory")
        ]
    );
    let kick = ClientMsg::Kick { peer: ida.clone() };
    assert_eq!(refused_code(&mut h, m, kick), ErrorCode::NotHost);
    let lock = ClientMsg::Lock { locked: true };
    assert_eq!(refused_code(&mut h, m, lock), ErrorCode::NotHost);
    assert_eq!(h.hub.peers_in(&room("board")).len(), 3);
}

#[test]
fn a_tokenless_host_is_demoted_when_a_token_holder_enters_and_its_lock_admits_tokens() {
    let mut h = Harness::new();
    let (m, idm) = h.joined(1, "board", "Mallory");
    assert_eq!(h.hub.peers_in(&room("board")), vec![host(&idm, "Mallory")]);
    h.frame(m, ClientMsg::Lock { locked: true });
    h.drain();
    // A tokenless newcomer stays out of the locked room ...
    let (x, _) = h.ready(2);
    h.join(x, "board", "Eve");
    assert!(matches!(
        h.drain().as_slice(),
        [Output::Send {
            msg: ServerMsg::Error {
                code: ErrorCode::RoomLocked,
                ..
            },
            ..
        }]
    ));
    // ... but a guest token gets in, and Mallory hosts no more, before Ada's `joined`.
    let (a, ida) = h.ready(3);
    h.join_as(a, "board", "Ada", Role::Guest);
    let out = h.drain();
    let demoted = ServerMsg::RoleChanged {
        peer_id: idm.clone(),
        role: Role::Guest,
    };
    assert_eq!(out[0], send(m, demoted), "{out:?}");
    assert!(
        matches!(&out[1], Output::Send { to, msg: ServerMsg::Joined { peers, .. } }
            if *to == a && peers == &vec![info(&idm, "Mallory")]),
        "{out:?}"
    );
    assert_eq!(
        h.hub.peers_in(&room("board")),
        vec![info(&idm, "Mallory"), info(&ida, "Ada")]
    );
    let kick = ClientMsg::Kick { peer: ida };
    assert_eq!(refused_code(&mut h, m, kick), ErrorCode::NotHost);
}

#[test]
fn nobody_tokenless_is_promoted_while_a_token_holder_is_present() {
    let mut h = Harness::new();
    let (d, _) = h.ready(1);
    h.join_as(d, "board", "Dana", Role::Host);
    h.drain();
    let (g, idg) = h.ready(2);
    h.join_as(g, "board", "Grace", Role::Guest);
    h.drain();
    let (m, idm) = h.joined(3, "board", "Mallory");
    h.drain();
    h.frame(d, ClientMsg::Leave);
    h.drain();
    assert_eq!(
        h.hub.peers_in(&room("board")),
        vec![info(&idg, "Grace"), info(&idm, "Mallory")],
        "the host token left: Mallory is not promoted over Grace's token"
    );
    // The last token holder leaves: a room of tokenless members gets its host back.
    h.frame(g, ClientMsg::Leave);
    let promoted = ServerMsg::RoleChanged {
        peer_id: idm.clone(),
        role: Role::Host,
    };
    assert!(h.drain().contains(&send(m, promoted)));
    assert_eq!(h.hub.peers_in(&room("board")), vec![host(&idm, "Mallory")]);
}
