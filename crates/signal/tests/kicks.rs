//! A kick binds to who was kicked: the same browser session (its connection, or a
//! connection that resumed it) or the same token subject is refused while the room
//! lasts, in words; a new tokenless session is a newcomer (a lock keeps those out), a
//! host token is never kept out, and the bans end with the room.

mod common;

use common::{room, Harness};
use confab_proto::{ClientMsg, ErrorCode, PeerId, Role, ServerMsg, PROTOCOL_VERSION};
use confab_signal::{ConnId, HubConfig, Output};

fn kick(peer: &PeerId) -> ClientMsg {
    ClientMsg::Kick { peer: peer.clone() }
}

fn join(name: &str) -> ClientMsg {
    ClientMsg::Join {
        room: room("standup"),
        name: name.into(),
        password: None,
        token: None,
    }
}

/// Says hello on a new connection `conn` (resuming `resume` if given); returns the peer
/// id and resume token of its welcome.
fn hello(h: &mut Harness, conn: u64, resume: Option<String>) -> (ConnId, PeerId, String) {
    let c = h.connect(conn);
    let version = PROTOCOL_VERSION;
    h.frame(c, ClientMsg::Hello { version, resume });
    let out = h.drain();
    let welcome = out.iter().find_map(|o| match o {
        Output::Send {
            to,
            msg:
                ServerMsg::Welcome {
                    peer_id,
                    resume_token,
                    ..
                },
        } if *to == c => Some((peer_id.clone(), resume_token.clone().unwrap())),
        _ => None,
    });
    let (id, token) = welcome.expect("a welcome");
    (c, id, token)
}

/// Whether `conn` got `joined` among `out`.
fn got_joined(out: &[Output], conn: ConnId) -> bool {
    out.iter()
        .any(|o| matches!(o, Output::Send { to, msg: ServerMsg::Joined { .. } } if *to == conn))
}

#[test]
fn a_kicked_session_is_refused_even_after_a_resume_and_a_new_one_is_a_newcomer() {
    let mut h = Harness::with_config(HubConfig::default()); // 30 s resume grace
    let (a, _, _) = hello(&mut h, 1, None);
    h.frame(a, join("Ada"));
    let (b, idb, token_b) = hello(&mut h, 2, None);
    h.frame(b, join("Grace"));
    h.drain();
    h.frame(a, kick(&idb));
    h.drain();

    // The same connection asks again: refused, in words.
    let message = h.expect_error(b, join("Grace"), ErrorCode::RoomLocked);
    assert!(message.contains("removed you"), "{message}");

    // A new connection resumes her session (same peer id): still refused.
    let (b2, id2, _) = hello(&mut h, 3, Some(token_b));
    assert_eq!(id2, idb, "the session was resumed");
    h.drain();
    let message = h.expect_error(b2, join("Grace"), ErrorCode::RoomLocked);
    assert!(message.contains("removed you"), "{message}");

    // A new tab is a new session: a newcomer, let in while the room is unlocked.
    let (c, _, _) = hello(&mut h, 4, None);
    h.frame(c, join("Grace"));
    assert!(got_joined(&h.drain(), c));
}

#[test]
fn a_kicked_token_subject_is_refused_on_any_connection_but_a_host_token_is_not() {
    let mut h = Harness::new();
    let (a, _, _) = hello(&mut h, 1, None);
    h.join_as(a, "standup", "Ada", Role::Host);
    let (b, idb, _) = hello(&mut h, 2, None);
    h.join_as(b, "standup", "Grace", Role::Guest);
    h.drain();
    h.frame(a, kick(&idb));
    h.drain();

    // Grace's subject comes back on another connection: refused.
    let (b2, _, _) = hello(&mut h, 3, None);
    h.join_as(b2, "standup", "Grace", Role::Guest);
    let out = h.drain();
    assert!(
        matches!(out.as_slice(), [Output::Send { to, msg: ServerMsg::Error { code: ErrorCode::RoomLocked, message, .. } }]
            if *to == b2 && message.contains("removed you")),
        "{out:?}"
    );
    // Someone else's guest token gets in.
    let (c, _, _) = hello(&mut h, 4, None);
    h.join_as(c, "standup", "Linus", Role::Guest);
    assert!(got_joined(&h.drain(), c));
    // A host token is the application's word: even a kicked subject holding one is in.
    h.join_as(b2, "standup", "Grace", Role::Host);
    assert!(got_joined(&h.drain(), b2));
}

#[test]
fn a_token_says_who_someone_is_on_a_kicked_session_and_no_token_does_not() {
    let mut h = Harness::new();
    let (a, _, _) = hello(&mut h, 1, None);
    h.join_as(a, "standup", "Ada", Role::Host);
    let (b, idb, _) = hello(&mut h, 2, None);
    h.frame(b, join("Grace"));
    let (c, idc, _) = hello(&mut h, 3, None);
    h.join_as(c, "standup", "Linus", Role::Guest);
    h.frame(a, kick(&idb));
    h.frame(a, kick(&idc));
    h.drain();
    // Linus's session, without a token now: still the session that was kicked.
    let message = h.expect_error(c, join("Linus"), ErrorCode::RoomLocked);
    assert!(message.contains("removed you"), "{message}");
    // Grace's session with a token for Alan: the application says it is Alan.
    h.join_as(b, "standup", "Alan", Role::Guest);
    assert!(got_joined(&h.drain(), b));
}

#[test]
fn bans_end_with_the_room() {
    let mut h = Harness::new();
    let (a, _, _) = hello(&mut h, 1, None);
    h.frame(a, join("Ada"));
    let (b, idb, _) = hello(&mut h, 2, None);
    h.frame(b, join("Grace"));
    h.frame(a, kick(&idb));
    h.frame(a, ClientMsg::Leave);
    h.drain();
    assert!(!h.hub.room_exists(&room("standup")), "the room ended");
    h.frame(b, join("Grace"));
    assert!(
        got_joined(&h.drain(), b),
        "a new room, without the old bans"
    );
}
