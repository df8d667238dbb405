//! Limits: peers per room, rooms, and connections.

mod common;

use common::{room, Harness};
use confab_proto::{ClientMsg, ErrorCode, ServerMsg};
use confab_signal::{HubConfig, Input, Output};

fn join(r: &str) -> ClientMsg {
    ClientMsg::Join {
        room: room(r),
        name: "Late".into(),
        password: None,
        token: None,
    }
}

#[test]
fn defaults_are_as_documented() {
    let c = HubConfig::default();
    assert_eq!(c.max_rooms, 10_000);
    assert_eq!(c.max_peers_per_room, 16);
    assert_eq!(c.max_connections, 20_000);
    assert!(c.ice.public_servers(None).is_empty());
    assert!(c.ice.member_servers("peer", None, 0).is_empty());
    assert_eq!(c.history_timeout, std::time::Duration::from_secs(2));
    assert_eq!(c.chat_history, 100);
    assert_eq!(c.chat_burst, 10);
    assert_eq!(c.chat_refill, std::time::Duration::from_secs(1));
}

#[test]
fn a_full_room_rejects_the_next_join_until_someone_leaves() {
    let config = HubConfig {
        max_peers_per_room: 2,
        ..HubConfig::default()
    };
    let mut h = Harness::with_config(config);
    let (a, _) = h.joined(1, "r", "Ada");
    h.joined(2, "r", "Grace");
    let (c, _) = h.ready(3);
    h.expect_error(c, join("r"), ErrorCode::RoomFull);
    // Other rooms are unaffected.
    h.join(c, "s", "Late");
    h.frame(c, ClientMsg::Leave);
    h.frame(a, ClientMsg::Leave);
    h.drain();
    h.join(c, "r", "Late");
    assert!(matches!(
        h.drain().first(),
        Some(Output::Send {
            msg: ServerMsg::Joined { .. },
            ..
        })
    ));
}

#[test]
fn at_the_room_limit_only_existing_rooms_can_be_joined() {
    let config = HubConfig {
        max_rooms: 2,
        ..HubConfig::default()
    };
    let mut h = Harness::with_config(config);
    let (a, _) = h.joined(1, "r", "Ada");
    h.joined(2, "s", "Grace");
    let (c, _) = h.ready(3);
    h.expect_error(c, join("t"), ErrorCode::ServerFull);
    h.join(c, "r", "Late");
    assert_eq!(h.hub.peers_in(&room("r")).len(), 2);
    // Once a room is deleted, a new one may be created.
    h.frame(c, ClientMsg::Leave);
    h.frame(a, ClientMsg::Leave);
    assert_eq!(h.hub.room_count(), 1);
    h.drain();
    h.join(c, "t", "Late");
    assert_eq!(h.hub.room_count(), 2);
}

#[test]
fn connections_over_the_limit_get_server_full_then_a_close() {
    let config = HubConfig {
        max_connections: 2,
        ..HubConfig::default()
    };
    let mut h = Harness::with_config(config);
    let (a, _) = h.ready(1);
    h.ready(2);
    let extra = h.connect(3);
    let out = h.drain();
    assert_eq!(out.len(), 2, "{out:?}");
    assert!(matches!(
        &out[0],
        Output::Send { to, msg: ServerMsg::Error { code: ErrorCode::ServerFull, ref_: None, message } }
            if *to == extra && !message.is_empty()
    ));
    assert_eq!(
        out[1],
        Output::Close {
            conn: extra,
            code: 1013,
            reason: "server full".into()
        }
    );
    assert_eq!(
        h.hub.connection_count(),
        2,
        "a refused connection is not counted"
    );
    // The refused connection is unknown to the hub: its frames and disconnect do nothing.
    h.frame(extra, ClientMsg::Ping);
    h.disconnect(extra);
    assert!(h.drain().is_empty());
    // A slot frees up when someone leaves.
    h.disconnect(a);
    h.ready(4);
    assert_eq!(h.hub.connection_count(), 2);
}

#[test]
fn connecting_a_known_connection_again_changes_nothing() {
    let mut h = Harness::new();
    let (a, id) = h.joined(1, "r", "Ada");
    h.input(Input::Connect {
        conn: a,
        host: None,
        ip: None,
    });
    assert!(h.drain().is_empty());
    assert_eq!(h.hub.connection_count(), 1);
    assert_eq!(h.hub.peers_in(&room("r"))[0].id, id);
}
