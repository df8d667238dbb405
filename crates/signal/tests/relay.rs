//! `offer`, `answer`, `candidate` and `hangup`: relayed to exactly one peer, `from` stamped.

mod common;

use common::{offer, send, Harness};
use confab_proto::{ClientMsg, ErrorCode, IceCandidate, PeerId, RequestId, ServerMsg};

/// Three peers in room "r"; returns (conn, peer id) for each.
fn three(h: &mut Harness) -> [(confab_signal::ConnId, PeerId); 3] {
    [
        h.joined(1, "r", "Ada"),
        h.joined(2, "r", "Grace"),
        h.joined(3, "r", "Linus"),
    ]
}

#[test]
fn each_relayed_message_reaches_only_the_addressee_with_from_stamped() {
    let mut h = Harness::new();
    let [(a, ida), (b, idb), (_c, _)] = three(&mut h);
    let sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n".to_string();
    let cand = IceCandidate {
        candidate: "candidate:842163049 1 udp 1677729535 198.51.100.11 46154 typ srflx".into(),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
        username_fragment: Some("eM2x".into()),
    };
    let cases = [
        (
            a,
            ClientMsg::Offer {
                to: idb.clone(),
                sdp: sdp.clone(),
            },
            b,
            ServerMsg::Offer {
                from: ida.clone(),
                sdp: sdp.clone(),
            },
        ),
        (
            b,
            ClientMsg::Answer {
                to: ida.clone(),
                sdp: sdp.clone(),
            },
            a,
            ServerMsg::Answer {
                from: idb.clone(),
                sdp,
            },
        ),
        (
            a,
            ClientMsg::Candidate {
                to: idb.clone(),
                candidate: Some(cand.clone()),
            },
            b,
            ServerMsg::Candidate {
                from: ida.clone(),
                candidate: Some(cand),
            },
        ),
        (
            b,
            ClientMsg::Candidate {
                to: ida.clone(),
                candidate: None,
            },
            a,
            ServerMsg::Candidate {
                from: idb.clone(),
                candidate: None,
            },
        ),
        (
            a,
            ClientMsg::Hangup { to: idb.clone() },
            b,
            ServerMsg::Hangup { from: ida.clone() },
        ),
    ];
    for (from, msg, to, expected) in cases {
        // A request id is not echoed: the relay has no reply, only the delivery.
        h.frame_id(from, Some(RequestId::Num(5)), msg);
        assert_eq!(h.drain(), vec![send(to, expected)]);
    }
}

#[test]
fn relay_to_a_peer_that_is_not_in_your_room_is_rejected() {
    let mut h = Harness::new();
    let [(a, ida), _, _] = three(&mut h);
    let (_, id_other_room) = h.joined(4, "s", "Xavier");
    let (_, id_lobby) = h.ready(5);
    let (gone, id_gone) = h.joined(6, "r", "Gone");
    h.disconnect(gone);
    h.drain();
    let nobody = PeerId::new("k3j9x2m4p7qa");
    for to in [nobody, id_other_room, id_lobby, id_gone, ida] {
        let message = h.expect_error(a, offer(&to), ErrorCode::UnknownPeer);
        assert_eq!(message, format!("{to} is not a peer in your room"));
    }
    let to = PeerId::new("x".repeat(10_000));
    let message = h.expect_error(a, ClientMsg::Hangup { to }, ErrorCode::UnknownPeer);
    assert!(message.len() < 200, "echoed ids are bounded");
}

#[test]
fn relay_when_not_joined_is_rejected() {
    let mut h = Harness::new();
    let [_, (_, idb), _] = three(&mut h);
    let (lobby, _) = h.ready(4);
    let msgs = [
        offer(&idb),
        ClientMsg::Answer {
            to: idb.clone(),
            sdp: "v=0\r\n".into(),
        },
        ClientMsg::Candidate {
            to: idb.clone(),
            candidate: None,
        },
        ClientMsg::Hangup { to: idb },
    ];
    for msg in msgs {
        h.expect_error(lobby, msg, ErrorCode::NotJoined);
    }
}

#[test]
fn relay_stops_after_the_addressee_leaves() {
    let mut h = Harness::new();
    let [(a, _), (b, idb), _] = three(&mut h);
    h.frame(b, ClientMsg::Leave);
    h.drain();
    h.expect_error(a, offer(&idb), ErrorCode::UnknownPeer);
}
