//! Reconnection: a dropped connection keeps its place for the resume grace period and
//! a `hello {resume}` with its token takes it back (same id, room, call).

mod common;

use common::{chat, room, Harness};
use confab_proto::{
    close, ClientMsg, LeaveReason, PeerId, RequestId, ServerMsg, Status, PROTOCOL_VERSION,
};
use confab_signal::{ConnId, HubConfig, Output};
use std::time::Duration;

const GRACE: Duration = Duration::from_secs(30);

fn harness() -> Harness {
    Harness::with_config(HubConfig {
        resume_grace: GRACE,
        ..HubConfig::default()
    })
}

/// Connects, says hello, joins `room_name`; returns conn, peer id and resume token.
fn joined(h: &mut Harness, conn: u64, room_name: &str, name: &str) -> (ConnId, PeerId, String) {
    let c = h.connect(conn);
    h.frame(
        c,
        ClientMsg::Hello {
            version: PROTOCOL_VERSION,
            resume: None,
        },
    );
    let (id, token) = match h.drain().as_slice() {
        [Output::Send {
            msg:
                ServerMsg::Welcome {
                    peer_id,
                    resume_token: Some(t),
                    resumed: false,
                    ..
                },
            ..
        }] => (peer_id.clone(), t.clone()),
        other => panic!("expected a welcome with a token, got {other:?}"),
    };
    h.join(c, room_name, name);
    h.drain();
    (c, id, token)
}

/// Connects `conn` and says hello with `token`; returns all outputs.
fn resume(h: &mut Harness, conn: u64, token: &str) -> Vec<Output> {
    let c = h.connect(conn);
    h.frame_id(
        c,
        Some(RequestId::Num(1)),
        ClientMsg::Hello {
            version: PROTOCOL_VERSION,
            resume: Some(token.into()),
        },
    );
    h.drain()
}

fn msgs_to(out: &[Output], conn: ConnId) -> Vec<ServerMsg> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { to, msg } if *to == conn => Some(msg.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn resume_within_grace_keeps_id_room_and_history_without_leave_or_join() {
    let mut h = harness();
    let (a, ida, token) = joined(&mut h, 1, "r", "Ada");
    let (b, idb, _) = joined(&mut h, 2, "r", "Bob");
    h.frame(b, chat("before"));
    h.drain();

    h.disconnect(a);
    let out = h.drain();
    // Bob sees Ada reconnecting, not leaving.
    match msgs_to(&out, b).as_slice() {
        [ServerMsg::Presence { peer_id, state }] => {
            assert_eq!(peer_id, &ida);
            assert!(state.reconnecting);
        }
        other => panic!("expected one presence, got {other:?}"),
    }
    assert_eq!(h.hub.peers_in(&room("r")).len(), 2, "Ada keeps her place");
    assert_eq!(h.hub.connection_count(), 1);
    assert_eq!(h.hub.detached_count(), 1);
    // A message sent meanwhile goes to the detached connection and is lost there...
    h.frame(b, chat("during"));
    h.drain();

    h.advance(GRACE - Duration::from_secs(1));
    let out = resume(&mut h, 3, &token);
    let a2 = ConnId(3);
    let to_a = msgs_to(&out, a2);
    let new_token = match &to_a[0] {
        ServerMsg::Welcome {
            peer_id,
            resume_token: Some(t),
            resumed: true,
            ..
        } => {
            assert_eq!(peer_id, &ida, "same identity");
            assert_ne!(t, &token, "tokens are single-use");
            t.clone()
        }
        other => panic!("expected a resumed welcome, got {other:?}"),
    };
    // ...and comes back in the `joined` snapshot's history.
    match &to_a[1] {
        ServerMsg::Joined {
            ref_,
            you,
            peers,
            history,
            broadcast: false,
            recording: None,
            ..
        } => {
            assert_eq!(ref_, &Some(RequestId::Num(1)));
            assert_eq!(you.id, ida);
            // Her own snapshot already shows her back, not `reconnecting`.
            assert!(!you.state.reconnecting, "{you:?}");
            assert_eq!(peers.iter().map(|p| &p.id).collect::<Vec<_>>(), [&idb]);
            let texts: Vec<&str> = history.iter().map(|m| m.text.as_str()).collect();
            assert_eq!(texts, ["before", "during"]);
        }
        other => panic!("expected joined, got {other:?}"),
    }
    // Everyone (Ada included) sees her back; nobody sees peerLeft or peerJoined.
    for c in [a2, b] {
        let last = msgs_to(&out, c).pop();
        assert!(
            matches!(&last, Some(ServerMsg::Presence { peer_id, state }) if *peer_id == ida && !state.reconnecting),
            "{last:?}"
        );
    }
    assert!(!out.iter().any(|o| matches!(
        o,
        Output::Send {
            msg: ServerMsg::PeerLeft { .. } | ServerMsg::PeerJoined { .. },
            ..
        }
    )));
    assert_eq!(h.hub.connection_count(), 2);
    assert_eq!(h.hub.detached_count(), 0);
    // The new connection works as Ada: Bob's offer reaches it.
    h.frame(b, common::offer(&ida));
    assert!(matches!(h.drain().as_slice(), [Output::Send { to, .. }] if *to == a2));
    // The token it was given resumes it again later.
    h.disconnect(a2);
    h.drain();
    let out = resume(&mut h, 4, &new_token);
    assert!(matches!(
        msgs_to(&out, ConnId(4)).first(),
        Some(ServerMsg::Welcome { resumed: true, peer_id, .. }) if *peer_id == ida
    ));
}

#[test]
fn grace_expiry_removes_the_peer_for_real() {
    let mut h = harness();
    let (a, ida, token) = joined(&mut h, 1, "r", "Ada");
    let (b, idb, _) = joined(&mut h, 2, "r", "Bob");
    h.disconnect(a);
    h.drain();
    let deadline = h.hub.poll_timeout().expect("the grace needs a wake-up");
    h.timeout_at(deadline - Duration::from_millis(1));
    assert!(h.drain().is_empty(), "not yet");
    h.timeout_at(deadline);
    let out = h.drain();
    assert_eq!(
        msgs_to(&out, b),
        [
            ServerMsg::PeerLeft {
                peer_id: ida,
                reason: LeaveReason::Disconnected
            },
            // Ada hosted (she came first); the host role passes to Bob only now.
            ServerMsg::RoleChanged {
                peer_id: idb,
                role: confab_proto::Role::Host
            }
        ]
    );
    assert_eq!(h.hub.peers_in(&room("r")).len(), 1);
    assert_eq!(h.hub.poll_timeout(), None);
    // The token is dead: a fresh identity, no error.
    let out = resume(&mut h, 3, &token);
    match msgs_to(&out, ConnId(3)).as_slice() {
        [ServerMsg::Welcome {
            resumed: false,
            peer_id,
            ..
        }] => assert_ne!(peer_id.as_str(), ""),
        other => panic!("expected a fresh welcome, got {other:?}"),
    }
}

#[test]
fn a_token_resumes_once_and_bogus_tokens_get_fresh_identities() {
    let mut h = harness();
    let (a, ida, token) = joined(&mut h, 1, "r", "Ada");
    h.disconnect(a);
    h.drain();
    let first = resume(&mut h, 2, &token);
    assert!(matches!(
        msgs_to(&first, ConnId(2)).first(),
        Some(ServerMsg::Welcome { resumed: true, .. })
    ));
    let again = resume(&mut h, 3, &token);
    match msgs_to(&again, ConnId(3)).as_slice() {
        [ServerMsg::Welcome {
            resumed: false,
            peer_id,
            ..
        }] => assert_ne!(peer_id, &ida, "a used token gives a new identity"),
        other => panic!("expected a fresh welcome, got {other:?}"),
    }
    let bogus = resume(&mut h, 4, "not-a-token");
    assert!(matches!(
        msgs_to(&bogus, ConnId(4)).as_slice(),
        [ServerMsg::Welcome { resumed: false, .. }]
    ));
    assert_eq!(h.hub.peers_in(&room("r")).len(), 1, "no ghost of Ada");
}

#[test]
fn resume_while_the_old_socket_is_half_open_replaces_it() {
    let mut h = harness();
    let (a, ida, token) = joined(&mut h, 1, "r", "Ada");
    let (b, _, _) = joined(&mut h, 2, "r", "Bob");
    // No disconnect seen yet: the old socket looks alive to the server.
    let out = resume(&mut h, 3, &token);
    assert!(out.contains(&Output::Close {
        conn: a,
        code: close::REPLACED,
        reason: "resumed by a new connection".into()
    }));
    assert!(matches!(
        msgs_to(&out, ConnId(3)).first(),
        Some(ServerMsg::Welcome { resumed: true, peer_id, .. }) if *peer_id == ida
    ));
    // Bob saw nothing: Ada never looked gone.
    assert!(msgs_to(&out, b).is_empty(), "{out:?}");
    // The old socket's late close is a no-op.
    h.disconnect(a);
    assert!(h.drain().is_empty());
    assert_eq!(h.hub.peers_in(&room("r")).len(), 2);
    assert_eq!(h.hub.connection_count(), 3 - 1);
}

#[test]
fn resume_into_a_call_keeps_the_call() {
    let mut h = harness();
    let (a, ida, token) = joined(&mut h, 1, "r", "Ada");
    let (b, idb, _) = joined(&mut h, 2, "r", "Bob");
    h.frame(a, ClientMsg::Invite { to: idb.clone() });
    let call = match msgs_to(&h.drain(), b).first() {
        Some(ServerMsg::Invited { call, .. }) => *call,
        other => panic!("expected invited, got {other:?}"),
    };
    h.frame(b, ClientMsg::Accept { call });
    h.drain();

    h.disconnect(a);
    h.drain();
    let calls = h.hub.calls_in(&room("r"));
    assert_eq!(
        calls[0].members,
        [ida.clone(), idb.clone()],
        "the call holds"
    );
    let out = resume(&mut h, 3, &token);
    match &msgs_to(&out, ConnId(3))[1] {
        ServerMsg::Joined { you, .. } => {
            assert_eq!(you.state.status, Status::InCall);
            assert_eq!(you.state.call, Some(call));
        }
        other => panic!("expected joined, got {other:?}"),
    }
    assert_eq!(h.hub.calls_in(&room("r"))[0].members, [ida, idb.clone()]);
    // Leaving the call from the new connection works (it is the member now).
    h.frame(ConnId(3), ClientMsg::LeaveCall);
    h.drain();
    assert!(h.hub.calls_in(&room("r")).is_empty());
    let _ = idb;
}

#[test]
fn expiry_in_a_call_leaves_the_call() {
    let mut h = harness();
    let (a, _, _) = joined(&mut h, 1, "r", "Ada");
    let (b, idb, _) = joined(&mut h, 2, "r", "Bob");
    h.frame(a, ClientMsg::Invite { to: idb });
    let call = match msgs_to(&h.drain(), b).first() {
        Some(ServerMsg::Invited { call, .. }) => *call,
        other => panic!("expected invited, got {other:?}"),
    };
    h.frame(b, ClientMsg::Accept { call });
    h.drain();
    h.disconnect(a);
    h.drain();
    h.advance(GRACE);
    let now = h.now;
    h.timeout_at(now);
    h.drain();
    assert!(h.hub.calls_in(&room("r")).is_empty(), "the call ended");
    assert_eq!(h.hub.peers_in(&room("r"))[0].state.status, Status::Idle);
}

#[test]
fn a_clean_leave_is_not_held() {
    let mut h = harness();
    let (a, _, token) = joined(&mut h, 1, "r", "Ada");
    let (b, _, _) = joined(&mut h, 2, "r", "Bob");
    h.frame(a, ClientMsg::Leave);
    h.disconnect(a);
    let out = h.drain();
    assert!(msgs_to(&out, b).iter().any(|m| matches!(
        m,
        ServerMsg::PeerLeft {
            reason: LeaveReason::Left,
            ..
        }
    )));
    assert_eq!(h.hub.detached_count(), 0);
    let out = resume(&mut h, 3, &token);
    assert!(matches!(
        msgs_to(&out, ConnId(3)).as_slice(),
        [ServerMsg::Welcome { resumed: false, .. }]
    ));
}
