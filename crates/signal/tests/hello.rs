//! `hello`/`welcome`, `ping`, and the rules about what may come before `hello`.

mod common;

use common::{offer, room, send, Harness, WALL_START_MS};
use confab_proto::{
    close, ClientMsg, ErrorCode, IceServer, PeerId, RequestId, ServerMsg, PROTOCOL_VERSION,
};
use confab_signal::{ConnId, Hub, HubConfig, IceMinter, Input, Now, Output, TurnAdvert};
use std::collections::HashSet;
use std::time::Instant;

fn hello() -> ClientMsg {
    ClientMsg::Hello {
        version: PROTOCOL_VERSION,
        resume: None,
    }
}

#[test]
fn welcome_carries_version_peer_id_and_the_public_ice_servers() {
    let stun = IceServer {
        urls: vec!["stun:call.example.org:3478".into()],
        username: None,
        credential: None,
    };
    let turn = IceServer {
        urls: vec!["turn:call.example.org:3478?transport=udp".into()],
        username: Some("1700000000:ada".into()),
        credential: Some("secret".into()),
    };
    let config = HubConfig {
        ice: IceMinter::new(vec![stun.clone(), turn], None),
        ..HubConfig::default()
    };
    let mut h = Harness::with_config(config);
    let c = h.connect(1);
    assert!(h.drain().is_empty(), "connecting alone sends nothing");
    h.frame_id(c, Some(RequestId::Num(1)), hello());
    match h.drain().as_slice() {
        [Output::Send {
            to,
            msg:
                ServerMsg::Welcome {
                    version,
                    peer_id,
                    ice_servers,
                    ..
                },
        }] => {
            assert_eq!(*to, c);
            assert_eq!(*version, PROTOCOL_VERSION);
            // The configured server with credentials is for room members only.
            assert_eq!(*ice_servers, vec![stun]);
            let id = peer_id.as_str();
            assert_eq!(id.len(), 12);
            assert!(
                id.bytes().all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7')),
                "{id}"
            );
        }
        other => panic!("expected a welcome, got {other:?}"),
    }
}

#[test]
fn welcome_names_confabs_stun_by_the_host_it_used_and_holds_no_turn_credentials() {
    let advert = TurnAdvert {
        external_ip: None,
        listen: "0.0.0.0:3478".parse().unwrap(),
        tls_port: None,
        fallback_host: "fallback".into(),
        secret: b"s3cret".to_vec(),
        ttl: std::time::Duration::from_secs(600),
    };
    let mut h = Harness::with_config(HubConfig {
        ice: IceMinter::new(Vec::new(), Some(advert)),
        ..HubConfig::default()
    });
    let conn = ConnId(1);
    h.input(Input::Connect {
        conn,
        host: Some("call.test".into()),
        ip: None,
    });
    h.frame(conn, hello());
    let out = h.drain();
    let [Output::Send {
        msg: ServerMsg::Welcome { ice_servers, .. },
        ..
    }] = out.as_slice()
    else {
        panic!("expected one welcome");
    };
    let stun = IceServer {
        urls: vec!["stun:call.test:3478".into()],
        username: None,
        credential: None,
    };
    assert_eq!(*ice_servers, vec![stun], "STUN only: TURN is for members");
}

#[test]
fn peer_ids_are_unique_and_determined_by_the_seed() {
    let mut h = Harness::new();
    let ids: Vec<PeerId> = (0..200).map(|c| h.ready(c).1).collect();
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), ids.len());

    let run = |seed| {
        let mut hub = Hub::new(HubConfig::default(), seed);
        let now = Now {
            mono: Instant::now(),
            unix_ms: WALL_START_MS,
        };
        let conn = ConnId(1);
        hub.handle(
            now,
            Input::Connect {
                conn,
                host: None,
                ip: None,
            },
        );
        let frame = confab_proto::ClientFrame {
            id: None,
            msg: hello(),
        };
        hub.handle(
            now,
            Input::Frame {
                conn,
                frame,
                grant: None,
            },
        );
        hub.poll_output()
    };
    assert_eq!(run([3; 32]), run([3; 32]));
    assert_ne!(run([3; 32]), run([4; 32]));
}

#[test]
fn unsupported_version_gets_an_error_then_a_close_and_the_connection_is_forgotten() {
    let mut h = Harness::new();
    let c = h.connect(1);
    let version = PROTOCOL_VERSION + 1;
    h.frame_id(
        c,
        Some(RequestId::Num(1)),
        ClientMsg::Hello {
            version,
            resume: None,
        },
    );
    let out = h.drain();
    assert_eq!(out.len(), 2, "{out:?}");
    match &out[0] {
        Output::Send {
            to,
            msg:
                ServerMsg::Error {
                    code: ErrorCode::UnsupportedVersion,
                    message,
                    ref_,
                },
        } => {
            assert_eq!(*to, c);
            assert_eq!(*ref_, Some(RequestId::Num(1)));
            assert!(message.contains(&version.to_string()), "{message}");
            assert!(message.contains(&PROTOCOL_VERSION.to_string()), "{message}");
        }
        other => panic!("expected an unsupported_version error, got {other:?}"),
    }
    assert!(matches!(
        &out[1],
        Output::Close { conn, code, reason } if *conn == c
            && *code == close::UNSUPPORTED_VERSION && !reason.is_empty()
    ));
    assert_eq!(h.hub.connection_count(), 0);
    // Frames racing the close are ignored, and the driver's disconnect is a no-op.
    h.frame(c, hello());
    h.frame(c, ClientMsg::Ping);
    h.disconnect(c);
    assert!(h.drain().is_empty());
}

#[test]
fn ping_is_answered_before_and_after_hello() {
    let mut h = Harness::new();
    let c = h.connect(1);
    let id = Some(RequestId::Str("p-17".into()));
    h.frame_id(c, id.clone(), ClientMsg::Ping);
    assert_eq!(h.drain(), vec![send(c, ServerMsg::Pong { ref_: id })]);
    h.frame(c, hello());
    h.drain();
    h.frame(c, ClientMsg::Ping);
    assert_eq!(h.drain(), vec![send(c, ServerMsg::Pong { ref_: None })]);
}

#[test]
fn everything_but_hello_and_ping_requires_hello() {
    let mut h = Harness::new();
    let c = h.connect(1);
    let other = PeerId::new("k3j9x2m4p7qa");
    let msgs = [
        ClientMsg::Join {
            room: room("r"),
            name: "Ada".into(),
            password: None,
            token: None,
        },
        ClientMsg::Leave,
        offer(&other),
        ClientMsg::Answer {
            to: other.clone(),
            sdp: "v=0\r\n".into(),
        },
        ClientMsg::Candidate {
            to: other.clone(),
            candidate: None,
        },
        ClientMsg::Hangup { to: other },
    ];
    for msg in msgs {
        h.expect_error(c, msg, ErrorCode::HelloRequired);
    }
    // The connection is still usable.
    h.frame(c, hello());
    assert!(matches!(
        h.drain().as_slice(),
        [Output::Send {
            msg: ServerMsg::Welcome { .. },
            ..
        }]
    ));
}

#[test]
fn second_hello_is_rejected_and_keeps_the_peer_id() {
    let mut h = Harness::new();
    let (c, id) = h.ready(1);
    h.join(c, "r", "Ada");
    h.drain();
    h.expect_error(c, hello(), ErrorCode::AlreadyHello);
    // Even with a wrong version: the connection already agreed on one, so no close.
    let wrong = ClientMsg::Hello {
        version: PROTOCOL_VERSION + 1,
        resume: None,
    };
    h.expect_error(c, wrong, ErrorCode::AlreadyHello);
    assert_eq!(h.hub.peers_in(&room("r"))[0].id, id);
}

#[test]
fn frames_for_unknown_connections_are_ignored() {
    let mut h = Harness::new();
    h.frame(ConnId(99), hello());
    h.frame(ConnId(99), ClientMsg::Ping);
    assert!(h.drain().is_empty());
    assert_eq!(h.hub.connection_count(), 0);
}
