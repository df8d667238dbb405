//! Every error the hub can send: one `error` to the requester, `ref` echoed, no state
//! change, and the connection keeps working. (Each behaviour also has its own test;
//! this file checks the shared contract across all of them in one scenario.)

mod common;

use common::{chat, offer, room, Harness};
use confab_proto::{ClientMsg, ErrorCode, PeerId, PROTOCOL_VERSION};
use confab_signal::HubConfig;

#[test]
fn every_request_error_echoes_ref_changes_nothing_and_keeps_the_connection() {
    let config = HubConfig {
        max_rooms: 2,
        max_peers_per_room: 2,
        chat_burst: 1,
        ..HubConfig::default()
    };
    let mut h = Harness::with_config(config);
    let fresh = h.connect(1);
    let (a, ida) = h.joined(2, "r", "Ada");
    h.joined(3, "r", "Grace");
    let (x, ids) = h.joined(4, "s", "Xavier");
    h.frame(x, chat("uses up Xavier's one token"));
    h.drain();
    let (lobby, _) = h.ready(5);

    let join = |r: &str| ClientMsg::Join {
        room: room(r),
        name: "Ada".into(),
        password: None,
        token: None,
    };
    let hello = ClientMsg::Hello {
        version: PROTOCOL_VERSION,
        resume: None,
    };
    let cases = [
        (fresh, join("r"), ErrorCode::HelloRequired),
        (a, hello, ErrorCode::AlreadyHello),
        (a, join("s"), ErrorCode::AlreadyJoined),
        (lobby, join("r"), ErrorCode::RoomFull),
        (lobby, join("t"), ErrorCode::ServerFull),
        (lobby, ClientMsg::Leave, ErrorCode::NotJoined),
        (lobby, offer(&ida), ErrorCode::NotJoined),
        (a, offer(&ids), ErrorCode::UnknownPeer),
        (a, offer(&ida), ErrorCode::UnknownPeer),
        (a, offer(&PeerId::new("nobody")), ErrorCode::UnknownPeer),
        (fresh, chat("hi"), ErrorCode::HelloRequired),
        (lobby, chat("hi"), ErrorCode::NotJoined),
        (x, chat("again"), ErrorCode::RateLimited),
    ];
    for (conn, msg, code) in cases {
        h.expect_error(conn, msg, code);
        // Still alive: a ping is answered.
        h.frame(conn, ClientMsg::Ping);
        assert_eq!(h.drain().len(), 1, "{code:?} left {conn} unusable");
    }
}
