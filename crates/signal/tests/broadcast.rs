//! Broadcast mode: a host starts a broadcast (its call on the SFU, alone), viewers join it
//! without publishing, a raised hand is brought on stage and back, and the SFU hears every
//! change of who may publish. Guests cannot broadcast or bring anyone on stage; a server
//! without an SFU refuses broadcasts; a viewer token never publishes off stage.

mod common;

use common::*;
use confab_proto::{CallId, ClientMsg, ErrorCode, MediaMode, PeerId, Role, ServerMsg, Status};
use confab_signal::{ConnId, HubConfig, MediaCommand, MediaPolicy, Output};
use std::time::Duration;

/// Each `Join`'s publish flag, and each `Publish` command, in order.
fn publish_flags(out: &[Output]) -> Vec<bool> {
    media(out)
        .into_iter()
        .filter_map(|c| match c {
            MediaCommand::Join { publish, .. } | MediaCommand::Publish { publish, .. } => {
                Some(publish)
            }
            _ => None,
        })
        .collect()
}

fn harness(media: MediaPolicy) -> Harness {
    Harness::with_config(HubConfig {
        resume_grace: Duration::ZERO,
        media,
        max_call_size: 3,
        ..HubConfig::default()
    })
}

fn offer(h: &mut Harness, conn: ConnId) -> Vec<Output> {
    h.frame(
        conn,
        ClientMsg::SfuOffer {
            sdp: format!("offer-{}", conn.0),
        },
    );
    h.drain()
}

/// The teacher (host, first in) and `n` students; the teacher starts a broadcast.
fn class(h: &mut Harness, n: u64) -> ((ConnId, PeerId), Vec<(ConnId, PeerId)>) {
    let teacher = h.joined(1, "class", "Teacher");
    let students: Vec<_> = (0..n)
        .map(|i| h.joined(10 + i, "class", &format!("S{i}")))
        .collect();
    h.frame(teacher.0, ClientMsg::Broadcast { on: true });
    (teacher, students)
}

#[test]
fn a_host_broadcasts_alone_and_a_class_larger_than_a_call_watches() {
    let mut h = harness(MediaPolicy::Auto { mesh_max: 4 });
    let ((t, tid), students) = class(&mut h, 5);
    let out = h.drain();
    let started = ServerMsg::Broadcast {
        on: true,
        by: tid.clone(),
    };
    for (s, _) in &students {
        assert!(to(&out, *s).contains(&started), "{:?}", to(&out, *s));
    }
    // The teacher is in a call of its own, on the SFU, at once.
    let joined = to(&out, t).into_iter().find_map(|m| match m {
        ServerMsg::CallJoined {
            call,
            members,
            media,
            ..
        } => Some((call, members, media)),
        _ => None,
    });
    assert_eq!(joined, Some((CallId(1), vec![], MediaMode::Sfu)));
    assert_eq!(publish_flags(&offer(&mut h, t)), [true]);

    // Five students join: more than max_call_size (3), none publishes.
    for (s, _) in &students {
        h.frame(*s, ClientMsg::JoinCall { call: CallId(1) });
        let out = h.drain();
        assert!(
            to(&out, *s).iter().any(|m| matches!(
                m,
                ServerMsg::CallJoined {
                    media: MediaMode::Sfu,
                    ..
                }
            )),
            "{:?}",
            to(&out, *s)
        );
        assert_eq!(publish_flags(&offer(&mut h, *s)), [false]);
    }
    let calls = h.hub.calls_in(&room("class"));
    assert_eq!(calls[0].members.len(), 6);

    // A newcomer hears it is a broadcast in its `joined`.
    let (late, _) = h.ready(30);
    h.join(late, "class", "Late");
    let out = h.drain();
    assert!(to(&out, late).iter().any(|m| matches!(
        m,
        ServerMsg::Joined {
            broadcast: true,
            ..
        }
    )));

    // When the broadcast stops, the call goes on (it has six members), everyone may send.
    h.frame(t, ClientMsg::Broadcast { on: false });
    let out = h.drain();
    assert_eq!(publish_flags(&out), [true; 5]);
}

#[test]
fn a_raised_hand_comes_on_stage_and_goes_back() {
    let mut h = harness(MediaPolicy::Sfu);
    let ((t, _), students) = class(&mut h, 2);
    h.drain();
    offer(&mut h, t);
    let (s, sid) = students[0].clone();
    let (other, _) = students[1].clone();
    h.frame(s, ClientMsg::JoinCall { call: CallId(1) });
    h.drain();
    assert_eq!(publish_flags(&offer(&mut h, s)), [false]);

    h.frame(s, ClientMsg::Hand { up: true });
    let out = h.drain();
    let state = |out: &[Output], conn| {
        to(out, conn).into_iter().find_map(|m| match m {
            ServerMsg::Presence { peer_id, state } if peer_id == sid => Some(state),
            _ => None,
        })
    };
    let seen = state(&out, other).expect("the room sees the hand");
    assert!(seen.hand && !seen.on_stage);
    assert!(publish_flags(&out).is_empty());

    // A student cannot bring anyone on stage, itself included.
    let stage = |on| ClientMsg::Stage {
        peer: sid.clone(),
        on,
    };
    h.expect_error(other, stage(true), ErrorCode::NotHost);
    h.expect_error(s, stage(true), ErrorCode::NotHost);

    // The teacher can: the hand goes down, the SFU forwards the student's media.
    h.frame(t, stage(true));
    let out = h.drain();
    let seen = state(&out, other).expect("the room sees the stage");
    assert!(seen.on_stage && !seen.hand);
    assert_eq!(publish_flags(&out), [true]);

    // The student steps down by itself.
    h.frame(s, stage(false));
    let out = h.drain();
    assert!(!state(&out, t).expect("presence").on_stage);
    assert_eq!(publish_flags(&out), [false]);
}

#[test]
fn guests_cannot_broadcast_and_a_mesh_only_server_refuses() {
    let mut h = harness(MediaPolicy::Sfu);
    let (_, _) = h.joined(1, "r", "Host");
    let (g, _) = h.joined(2, "r", "Guest");
    h.expect_error(g, ClientMsg::Broadcast { on: true }, ErrorCode::NotHost);

    let mut h = harness(MediaPolicy::Mesh);
    let (a, _) = h.joined(1, "r", "Host");
    h.expect_error(
        a,
        ClientMsg::Broadcast { on: true },
        ErrorCode::NoMediaServer,
    );
    assert!(h.hub.calls_in(&room("r")).is_empty());
}

#[test]
fn a_running_mesh_call_moves_to_the_sfu_when_the_broadcast_starts() {
    let mut h = harness(MediaPolicy::Auto { mesh_max: 4 });
    let (a, _) = h.joined(1, "r", "Host");
    let (b, idb) = h.joined(2, "r", "Guest");
    h.frame(a, ClientMsg::Invite { to: idb });
    h.frame(b, ClientMsg::Accept { call: CallId(1) });
    h.drain();
    h.frame(a, ClientMsg::Broadcast { on: true });
    let out = h.drain();
    let mode = ServerMsg::CallMode {
        call: CallId(1),
        media: MediaMode::Sfu,
    };
    assert!(to(&out, b).contains(&mode));
    assert!(to(&out, a).contains(&mode));
    // The guest, in the call already, is in the audience now: its media stays home.
    assert_eq!(publish_flags(&offer(&mut h, b)), [false]);
    assert_eq!(publish_flags(&offer(&mut h, a)), [true]);
}

#[test]
fn a_viewer_token_publishes_only_on_stage_and_never_hosts() {
    let mut h = harness(MediaPolicy::Sfu);
    // Both by token: a token holder entering would make a tokenless host a guest.
    let (a, ida) = h.ready(1);
    h.join_as(a, "r", "Host", Role::Host);
    h.drain();
    let (v, idv) = h.ready(2);
    h.join_as(v, "r", "Viewer", Role::Viewer);
    h.drain();
    h.frame(a, ClientMsg::Invite { to: idv.clone() });
    h.frame(v, ClientMsg::Accept { call: CallId(1) });
    h.drain();
    // Not a broadcast, yet a viewer sends nothing until a host brings it on stage.
    assert_eq!(publish_flags(&offer(&mut h, v)), [false]);
    h.frame(
        a,
        ClientMsg::Stage {
            peer: idv.clone(),
            on: true,
        },
    );
    assert_eq!(publish_flags(&h.drain()), [true]);
    // The host leaves: the viewer (a token's role) does not take over.
    h.frame(a, ClientMsg::Leave);
    h.drain();
    let peers = h.hub.peers_in(&room("r"));
    let viewer = peers.iter().find(|p| p.id == idv).expect("member");
    assert_eq!(viewer.role, Role::Viewer);
    assert_ne!(viewer.id, ida);
    assert_eq!(viewer.state.status, Status::Idle);
}

#[test]
fn a_stream_grant_makes_its_kind_of_sfu_endpoint() {
    use confab_proto::{ClientFrame, RoomId};
    use confab_signal::{Grant, Input, ParticipantKind};
    let mut h = harness(MediaPolicy::Sfu);
    // The teacher holds a host token (a token holder entering demotes tokenless hosts).
    let (t, _) = h.ready(1);
    h.join_as(t, "class", "Teacher", Role::Host);
    h.frame(t, ClientMsg::Broadcast { on: true });
    h.drain();
    // A WHEP player joins with a viewer token its driver marked as a player of the
    // teacher alone.
    let (p, _) = h.ready(5);
    let grant = Grant::new(Role::Viewer, "screen")
        .for_kind(ParticipantKind::WhepPlayer)
        .following(Some("Teacher".into()));
    let msg = ClientMsg::Join {
        room: RoomId::parse("class").unwrap(),
        name: "Lobby screen".into(),
        password: None,
        token: None,
    };
    h.tick(Input::Frame {
        conn: p,
        frame: ClientFrame { id: None, msg },
        grant: Some(grant),
    });
    h.drain();
    h.frame(p, ClientMsg::JoinCall { call: CallId(1) });
    h.drain();
    let kinds: Vec<_> = [t, p]
        .into_iter()
        .flat_map(|c| media(&offer(&mut h, c)))
        .filter_map(|c| match c {
            MediaCommand::Join {
                kind,
                publish,
                follow,
                ..
            } => Some((kind, publish, follow)),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds,
        [
            (ParticipantKind::Browser, true, None),
            (ParticipantKind::WhepPlayer, false, Some("Teacher".into()))
        ]
    );
}

#[test]
fn an_encoders_host_token_does_not_demote_the_tokenless_teacher() {
    use confab_proto::{ClientFrame, RoomId};
    use confab_signal::{Grant, Input, ParticipantKind};
    let mut h = harness(MediaPolicy::Sfu);
    let ((_, tid), _) = class(&mut h, 1);
    h.drain();
    // OBS joins with a host token its driver marked as a WHIP publisher.
    let (obs, _) = h.ready(9);
    let grant = Grant::new(Role::Host, "obs").for_kind(ParticipantKind::WhipPublisher);
    let msg = ClientMsg::Join {
        room: RoomId::parse("class").unwrap(),
        name: "OBS".into(),
        password: None,
        token: None,
    };
    h.tick(Input::Frame {
        conn: obs,
        frame: ClientFrame { id: None, msg },
        grant: Some(grant),
    });
    let out = h.drain();
    assert!(
        !out.iter().any(|o| matches!(
            o,
            Output::Send {
                msg: ServerMsg::RoleChanged { .. },
                ..
            }
        )),
        "nobody's role changes: {out:?}"
    );
    let peers = h.hub.peers_in(&room("class"));
    let teacher = peers.iter().find(|p| p.id == tid).expect("the teacher");
    assert_eq!(teacher.role, Role::Host);
}
