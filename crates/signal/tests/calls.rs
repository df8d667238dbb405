//! Calls: invitations and their four endings, joining a meeting, the mesh limit, leaving.

mod common;

use common::*;
use confab_proto::{
    CallId, ClientMsg, ErrorCode, InviteEndReason, MediaMode, PeerId, PeerState, RequestId,
    ServerMsg, Status,
};
use confab_signal::HubConfig;
use std::time::Duration;

fn invite(to: &PeerId) -> ClientMsg {
    ClientMsg::Invite { to: to.clone() }
}

/// The messages `conn` received, in order.
fn ended(call: u64, from: &PeerId, to: &PeerId, reason: InviteEndReason) -> ServerMsg {
    ServerMsg::InviteEnded {
        call: CallId(call),
        from: from.clone(),
        to: to.clone(),
        reason,
    }
}

fn presence(id: &PeerId, status: Status, call: Option<u64>) -> ServerMsg {
    ServerMsg::Presence {
        peer_id: id.clone(),
        state: PeerState {
            status,
            call: call.map(CallId),
            ..PeerState::default()
        },
    }
}

fn status_of(h: &Harness, id: &PeerId) -> (Status, Option<CallId>) {
    let p = h.hub.peers_in(&room("r"));
    let s = &p.iter().find(|p| &p.id == id).unwrap().state;
    (s.status, s.call)
}

#[test]
fn invite_rings_the_invitee_and_decline_reaches_both() {
    let mut h = Harness::new();
    let (a, ida) = h.joined(1, "r", "Ada");
    let (b, idb) = h.joined(2, "r", "Bob");
    h.drain();
    h.frame_id(a, Some(RequestId::Num(5)), invite(&idb));
    let out = h.drain();
    let at_b = to(&out, b);
    assert!(at_b.contains(&ServerMsg::Invited {
        call: CallId(1),
        from: ida.clone(),
        members: vec![ida.clone()],
    }));
    assert!(at_b.contains(&presence(&idb, Status::Ringing, Some(1))));
    assert!(at_b.contains(&presence(&ida, Status::InCall, Some(1))));
    assert_eq!(
        to(&out, a)[0],
        ServerMsg::Inviting {
            ref_: Some(RequestId::Num(5)),
            call: CallId(1),
            to: idb.clone()
        }
    );
    h.frame(b, ClientMsg::Decline { call: CallId(1) });
    let out = h.drain();
    let declined = ended(1, &ida, &idb, InviteEndReason::Declined);
    assert!(to(&out, a).contains(&declined));
    assert!(to(&out, b).contains(&declined));
    // The call had nobody else: it ended and both are idle again.
    assert_eq!(status_of(&h, &ida), (Status::Idle, None));
    assert_eq!(status_of(&h, &idb), (Status::Idle, None));
    assert!(h.hub.calls_in(&room("r")).is_empty());
}

#[test]
fn accept_joins_the_call_and_names_the_members() {
    let mut h = Harness::new();
    let (a, ida) = h.joined(1, "r", "Ada");
    let (b, idb) = h.joined(2, "r", "Bob");
    h.frame(a, invite(&idb));
    h.drain();
    h.frame_id(
        b,
        Some(RequestId::Num(9)),
        ClientMsg::Accept { call: CallId(1) },
    );
    let out = h.drain();
    assert_eq!(
        to(&out, b)[1],
        ServerMsg::CallJoined {
            ref_: Some(RequestId::Num(9)),
            call: CallId(1),
            members: vec![ida.clone()],
            media: MediaMode::Mesh,
        }
    );
    assert!(to(&out, a).contains(&ended(1, &ida, &idb, InviteEndReason::Accepted)));
    assert!(to(&out, a).contains(&presence(&idb, Status::InCall, Some(1))));
    assert_eq!(status_of(&h, &idb), (Status::InCall, Some(CallId(1))));
    assert_eq!(h.hub.poll_timeout(), None, "nothing rings any more");
}

#[test]
fn busy_cancel_and_timeout() {
    let mut h = Harness::new();
    let (a, ida) = h.joined(1, "r", "Ada");
    let (b, idb) = h.joined(2, "r", "Bob");
    let (c, idc) = h.joined(3, "r", "Cy");
    h.frame(a, invite(&idb));
    h.drain();
    // Bob is being rung: busy for Cy; then in a call: busy too.
    let msg = h.expect_error(c, invite(&idb), ErrorCode::Busy);
    assert!(msg.contains("Bob"), "{msg}");
    h.frame(b, ClientMsg::Accept { call: CallId(1) });
    h.drain();
    let msg = h.expect_error(c, invite(&ida), ErrorCode::Busy);
    assert_eq!(msg, "Ada is busy in another call");
    h.expect_error(a, invite(&idb), ErrorCode::AlreadyInCall);

    // Cancel: Ada invites Cy, then withdraws.
    h.frame(a, invite(&idc));
    h.drain();
    h.expect_error(a, invite(&idc), ErrorCode::AlreadyInvited);
    h.frame(a, ClientMsg::Cancel { to: idc.clone() });
    let out = h.drain();
    let cancelled = ended(1, &ida, &idc, InviteEndReason::Cancelled);
    assert!(to(&out, c).contains(&cancelled));
    assert!(to(&out, a).contains(&cancelled));
    assert_eq!(status_of(&h, &idc), (Status::Idle, None));
    h.expect_error(
        a,
        ClientMsg::Cancel { to: idc.clone() },
        ErrorCode::NoInvitation,
    );

    // Timeout: the hub asks to be woken at the deadline and ends it then, not before.
    h.frame(b, invite(&idc));
    h.drain();
    let deadline = h.hub.poll_timeout().expect("an invitation rings");
    assert_eq!(deadline, h.now + Duration::from_secs(30));
    h.timeout_at(deadline - Duration::from_millis(1));
    assert!(h.drain().is_empty());
    h.timeout_at(deadline);
    let out = h.drain();
    let timeout = ended(1, &idb, &idc, InviteEndReason::Timeout);
    assert!(to(&out, b).contains(&timeout));
    assert!(to(&out, c).contains(&timeout));
    assert_eq!(h.hub.poll_timeout(), None);
    // The call of Ada and Bob goes on.
    assert_eq!(h.hub.calls_in(&room("r"))[0].members, vec![ida, idb]);
}

#[test]
fn third_person_connects_to_both_and_anyone_can_leave() {
    let mut h = Harness::new();
    let (a, ida) = h.joined(1, "r", "Ada");
    let (b, idb) = h.joined(2, "r", "Bob");
    let (c, idc) = h.joined(3, "r", "Cy");
    h.frame(a, invite(&idb));
    h.frame(b, ClientMsg::Accept { call: CallId(1) });
    h.frame(a, invite(&idc));
    let out = h.drain();
    assert!(to(&out, c).contains(&ServerMsg::Invited {
        call: CallId(1),
        from: ida.clone(),
        members: vec![ida.clone(), idb.clone()],
    }));
    h.frame(c, ClientMsg::Accept { call: CallId(1) });
    let out = h.drain();
    assert!(to(&out, c).contains(&ServerMsg::CallJoined {
        ref_: None,
        call: CallId(1),
        members: vec![ida.clone(), idb.clone()],
        media: MediaMode::Mesh,
    }));
    // Bob hangs up: Ada and Cy stay in the call.
    h.frame(b, ClientMsg::LeaveCall);
    let out = h.drain();
    assert!(to(&out, a).contains(&presence(&idb, Status::Idle, None)));
    assert_eq!(
        h.hub.calls_in(&room("r"))[0].members,
        vec![ida.clone(), idc.clone()]
    );
    h.expect_error(b, ClientMsg::LeaveCall, ErrorCode::NotInCall);
    // Bob joins again without an invitation; then Ada leaves the room: Bob and Cy stay.
    h.frame(b, ClientMsg::JoinCall { call: CallId(1) });
    h.drain();
    h.frame(a, ClientMsg::Leave);
    h.drain();
    assert_eq!(
        h.hub.calls_in(&room("r"))[0].members,
        vec![idc.clone(), idb.clone()]
    );
    // Cy leaves: Bob is alone, so the call ends.
    h.frame(c, ClientMsg::LeaveCall);
    let out = h.drain();
    assert!(to(&out, b).contains(&presence(&idb, Status::Idle, None)));
    assert!(h.hub.calls_in(&room("r")).is_empty());
    h.expect_error(
        b,
        ClientMsg::JoinCall { call: CallId(1) },
        ErrorCode::UnknownCall,
    );
}

#[test]
fn past_the_limit_is_call_full() {
    let mut h = Harness::with_config(HubConfig {
        max_call_size: 2,
        ..HubConfig::default()
    });
    let (a, _) = h.joined(1, "r", "Ada");
    let (b, idb) = h.joined(2, "r", "Bob");
    let (c, idc) = h.joined(3, "r", "Cy");
    h.frame(a, invite(&idb));
    h.drain();
    // A pending invitation holds its seat.
    let msg = h.expect_error(a, invite(&idc), ErrorCode::CallFull);
    assert!(msg.contains("at most 2"), "{msg}");
    h.expect_error(
        c,
        ClientMsg::JoinCall { call: CallId(1) },
        ErrorCode::CallFull,
    );
    h.frame(b, ClientMsg::Accept { call: CallId(1) });
    h.drain();
    h.expect_error(
        c,
        ClientMsg::JoinCall { call: CallId(1) },
        ErrorCode::CallFull,
    );
}

#[test]
fn invitee_or_inviter_leaving_ends_the_invitation() {
    let mut h = Harness::new();
    let (a, ida) = h.joined(1, "r", "Ada");
    let (b, idb) = h.joined(2, "r", "Bob");
    h.frame(a, invite(&idb));
    h.drain();
    h.disconnect(b);
    let out = h.drain();
    assert!(to(&out, a).contains(&ended(1, &ida, &idb, InviteEndReason::Left)));
    assert_eq!(status_of(&h, &ida), (Status::Idle, None));
    let (b, idb) = h.joined(3, "r", "Bob");
    h.frame(a, invite(&idb));
    h.drain();
    h.disconnect(a);
    let out = h.drain();
    assert!(to(&out, b).contains(&ended(2, &ida, &idb, InviteEndReason::Cancelled)));
    assert_eq!(status_of(&h, &idb), (Status::Idle, None));
    assert!(h.hub.calls_in(&room("r")).is_empty());
}

#[test]
fn media_flags_are_broadcast_once_per_change() {
    let mut h = Harness::new();
    let (a, ida) = h.joined(1, "r", "Ada");
    let (b, _) = h.joined(2, "r", "Bob");
    let media = ClientMsg::Media {
        audio_muted: true,
        video_muted: false,
        screen: false,
    };
    h.frame(a, media.clone());
    let out = h.drain();
    let want = ServerMsg::Presence {
        peer_id: ida.clone(),
        state: PeerState {
            audio_muted: true,
            ..PeerState::default()
        },
    };
    assert_eq!(to(&out, b), vec![want.clone()]);
    assert_eq!(to(&out, a), vec![want]);
    h.frame(a, media);
    assert!(h.drain().is_empty());

    // Sharing the screen is a change too: everyone learns it (calls through the router
    // have no other way to know a picture is a screen).
    let sharing = ClientMsg::Media {
        audio_muted: true,
        video_muted: false,
        screen: true,
    };
    h.frame(a, sharing);
    let out = h.drain();
    let want = ServerMsg::Presence {
        peer_id: ida,
        state: PeerState {
            audio_muted: true,
            screen: true,
            ..PeerState::default()
        },
    };
    assert_eq!(to(&out, b), vec![want]);
}
