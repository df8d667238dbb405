//! The media plan: a mesh call that grows past `mesh_max` moves to the SFU, members of
//! an SFU call reach the SFU through the hub, and leaving frees their endpoints.

mod common;

use common::*;
use confab_proto::{CallId, ClientMsg, ErrorCode, MediaMode, PeerId, ServerMsg};
use confab_signal::{
    ConnId, HubConfig, Input, MediaCommand, MediaEndpoint, MediaEvent, MediaPolicy, Output,
    ParticipantKind,
};
use std::time::Duration;

fn harness(media: MediaPolicy) -> Harness {
    Harness::with_config(HubConfig {
        resume_grace: Duration::ZERO,
        media,
        max_call_size: 10,
        ..HubConfig::default()
    })
}

/// Ada calls Bob, who accepts: call 1.
fn two_in_a_call(h: &mut Harness) -> [(ConnId, PeerId); 2] {
    let (a, ida) = h.joined(1, "r", "Ada");
    let (b, idb) = h.joined(2, "r", "Bob");
    h.frame(a, ClientMsg::Invite { to: idb.clone() });
    h.frame(b, ClientMsg::Accept { call: CallId(1) });
    h.drain();
    [(a, ida), (b, idb)]
}

fn call_joined_media(out: &[Output], conn: ConnId) -> Option<MediaMode> {
    to(out, conn).into_iter().find_map(|m| match m {
        ServerMsg::CallJoined { media, .. } => Some(media),
        _ => None,
    })
}

#[test]
fn a_mesh_call_moves_to_the_sfu_when_it_grows_past_mesh_max() {
    let mut h = harness(MediaPolicy::Auto { mesh_max: 2 });
    let [(a, _), (b, _)] = two_in_a_call(&mut h);
    // Two people: still a mesh, and the SFU is not asked for anything.
    let (c, _) = h.joined(3, "r", "Cy");
    h.drain();
    h.frame(c, ClientMsg::JoinCall { call: CallId(1) });
    let out = h.drain();
    assert_eq!(call_joined_media(&out, c), Some(MediaMode::Sfu));
    let mode = ServerMsg::CallMode {
        call: CallId(1),
        media: MediaMode::Sfu,
    };
    assert!(to(&out, a).contains(&mode), "{:?}", to(&out, a));
    assert!(to(&out, b).contains(&mode));
    assert!(
        !to(&out, c).contains(&mode),
        "the joiner learns it from callJoined"
    );
    assert!(media(&out).is_empty());
}

#[test]
fn sfu_signaling_is_refused_outside_an_sfu_call() {
    let mut h = harness(MediaPolicy::Auto { mesh_max: 4 });
    let [(a, _), _] = two_in_a_call(&mut h);
    let sdp = "v=0\r\n".to_string();
    h.expect_error(a, ClientMsg::SfuOffer { sdp }, ErrorCode::NotSfuCall);
    let (d, _) = h.joined(4, "r", "Dee");
    h.drain();
    let sdp = "v=0\r\n".to_string();
    h.expect_error(d, ClientMsg::SfuAnswer { sdp }, ErrorCode::NotSfuCall);
    // A view there is no call to size is dropped without a word.
    h.frame(a, ClientMsg::SfuView { tracks: Vec::new() });
    let out = h.drain();
    assert!(to(&out, a).is_empty() && media(&out).is_empty(), "{out:?}");
}

#[test]
fn members_of_an_sfu_call_reach_the_sfu_through_the_hub() {
    let mut h = harness(MediaPolicy::Sfu);
    let [(a, ida), (b, idb)] = two_in_a_call(&mut h);
    // Under the Sfu policy the call is on the SFU from the start.
    h.frame(
        a,
        ClientMsg::SfuOffer {
            sdp: "offer-a".into(),
        },
    );
    h.frame(
        b,
        ClientMsg::SfuOffer {
            sdp: "offer-b".into(),
        },
    );
    let out = h.drain();
    let [MediaCommand::Join {
        endpoint: ea,
        group: ga,
        label: la,
        name: na,
        offer: oa,
        publish: true,
        kind: ParticipantKind::Browser,
        follow: None,
    }, MediaCommand::Join {
        endpoint: eb,
        group: gb,
        label: lb,
        name: nb,
        ..
    }] = &media(&out)[..]
    else {
        panic!("{out:?}");
    };
    assert_eq!((la, lb, oa.as_str()), (&ida, &idb, "offer-a"));
    // Their names go along: a recording labels their tracks with them.
    assert_eq!((na.as_str(), nb.as_str()), ("Ada", "Bob"));
    assert_eq!(ga, gb, "one SFU room per call");
    assert_ne!(ea, eb);
    // The SFU's answer and its later offer reach the member; its answer goes back.
    let (ea, eb) = (*ea, *eb);
    h.input(Input::Media(MediaEvent::Answer {
        endpoint: ea,
        sdp: "answer-a".into(),
    }));
    h.input(Input::Media(MediaEvent::Offer {
        endpoint: ea,
        sdp: "sfu-offer".into(),
    }));
    let out = h.drain();
    assert_eq!(
        to(&out, a),
        [
            ServerMsg::SfuAnswer {
                sdp: "answer-a".into()
            },
            ServerMsg::SfuOffer {
                sdp: "sfu-offer".into()
            }
        ]
    );
    assert!(to(&out, b).is_empty());
    h.frame(a, ClientMsg::SfuAnswer { sdp: "ans".into() });
    h.frame(
        a,
        ClientMsg::SfuOffer {
            sdp: "again".into(),
        },
    );
    let out = h.drain();
    assert_eq!(
        media(&out),
        [
            MediaCommand::Answer {
                endpoint: ea,
                sdp: "ans".into()
            },
            MediaCommand::Offer {
                endpoint: ea,
                sdp: "again".into()
            }
        ]
    );
    // How Ada shows what she receives goes to her endpoint, as it is.
    let tracks = vec![confab_proto::TrackView {
        mid: "3".into(),
        width: 320,
        height: 180,
    }];
    h.frame(
        a,
        ClientMsg::SfuView {
            tracks: tracks.clone(),
        },
    );
    let out = h.drain();
    assert_eq!(
        media(&out),
        [MediaCommand::View {
            endpoint: ea,
            tracks
        }]
    );
    assert!(to(&out, a).is_empty(), "no reply");
    // Bob hangs up: his endpoint goes, and so does Ada's (the call ended with her).
    h.frame(b, ClientMsg::LeaveCall);
    let out = h.drain();
    assert_eq!(
        media(&out),
        [
            MediaCommand::Leave { endpoint: eb },
            MediaCommand::Leave { endpoint: ea }
        ]
    );
    assert_eq!(h.hub.media_endpoints(), 0);
    // Late SFU news about a freed endpoint is dropped.
    h.input(Input::Media(MediaEvent::Offer {
        endpoint: ea,
        sdp: "late".into(),
    }));
    assert!(to(&h.drain(), a).is_empty());
}

#[test]
fn a_lost_endpoint_is_reported_in_words_and_the_next_offer_makes_a_new_one() {
    let mut h = harness(MediaPolicy::Sfu);
    let [(a, _), _] = two_in_a_call(&mut h);
    h.frame(a, ClientMsg::SfuOffer { sdp: "o".into() });
    let out = h.drain();
    let [MediaCommand::Join { endpoint, .. }] = media(&out)[..] else {
        panic!("{out:?}");
    };
    h.input(Input::Media(MediaEvent::Failed {
        endpoint,
        message: "connection lost".into(),
        gone: true,
    }));
    let out = h.drain();
    let [ServerMsg::Error { code, message, .. }] = &to(&out, a)[..] else {
        panic!("{out:?}");
    };
    assert_eq!(*code, ErrorCode::MediaFailed);
    assert!(message.contains("connection lost"), "{message}");
    h.frame(a, ClientMsg::SfuOffer { sdp: "o2".into() });
    let out = h.drain();
    let [MediaCommand::Join {
        endpoint: fresh, ..
    }] = media(&out)[..]
    else {
        panic!("{out:?}");
    };
    assert_ne!(fresh, endpoint);
    assert!(fresh > MediaEndpoint(0));
}

#[test]
fn leaving_the_room_frees_the_endpoint_and_a_mesh_policy_never_asks_the_sfu() {
    let mut h = harness(MediaPolicy::Sfu);
    let [(a, _), (b, _)] = two_in_a_call(&mut h);
    let (c, _) = h.joined(3, "r", "Cy");
    h.frame(c, ClientMsg::JoinCall { call: CallId(1) });
    for conn in [a, b, c] {
        h.frame(conn, ClientMsg::SfuOffer { sdp: "o".into() });
    }
    assert_eq!(media(&h.drain()).len(), 3);
    h.frame(c, ClientMsg::Leave);
    let out = h.drain();
    assert!(matches!(media(&out)[..], [MediaCommand::Leave { .. }]));
    h.disconnect(b);
    let out = h.drain();
    // Bob's drop ends the call: both remaining endpoints go.
    assert_eq!(media(&out).len(), 2, "{out:?}");
    assert_eq!(h.hub.media_endpoints(), 0);

    let mut h = harness(MediaPolicy::Mesh);
    let [(a, _), _] = two_in_a_call(&mut h);
    let sdp = "v=0\r\n".to_string();
    h.expect_error(a, ClientMsg::SfuOffer { sdp }, ErrorCode::NotSfuCall);
    assert!(media(&h.drain()).is_empty());
}

#[test]
fn the_caller_of_a_call_that_starts_on_the_sfu_is_told_after_its_presence() {
    let mut h = harness(MediaPolicy::Sfu);
    let (a, ida) = h.joined(1, "r", "Ada");
    let (_b, idb) = h.joined(2, "r", "Bob");
    h.drain();
    h.frame(a, ClientMsg::Invite { to: idb });
    let at_a = to(&h.drain(), a);
    let presence = at_a.iter().position(
        |m| matches!(m, ServerMsg::Presence { peer_id, state } if *peer_id == ida && state.call == Some(CallId(1))),
    );
    let mode = ServerMsg::CallMode {
        call: CallId(1),
        media: MediaMode::Sfu,
    };
    let told = at_a.iter().position(|m| *m == mode);
    assert!(
        matches!((presence, told), (Some(p), Some(t)) if p < t),
        "{at_a:?}"
    );
    // Under the auto policy a new call is a mesh: no such message.
    let mut h = harness(MediaPolicy::Auto { mesh_max: 4 });
    let (a, _) = h.joined(1, "r", "Ada");
    let (_b, idb) = h.joined(2, "r", "Bob");
    h.drain();
    h.frame(a, ClientMsg::Invite { to: idb });
    assert!(!to(&h.drain(), a)
        .iter()
        .any(|m| matches!(m, ServerMsg::CallMode { .. })));
}
