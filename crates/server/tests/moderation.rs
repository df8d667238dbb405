//! Roles over a real WebSocket: a join token's role reaches the hub (host tokens may
//! kick, guest tokens may not; a kick keeps the token's subject out), and in open rooms
//! the first person hosts and can lock.

mod common;
use common::{Client, TestServer};
use confab_server::auth::token::Role;
use serde_json::{json, Value};

const KEY: &str = "join-token-key-0123456789abcdef-0123";

fn token(room: &str, name: &str, role: Role) -> String {
    common::join_token(KEY, room, name, role)
}

/// Joins `room` with `token`; returns the `joined` reply.
async fn join_with(c: &mut Client, room: &str, token: &str) -> Value {
    let r = c
        .request(json!({"type":"join","id":1,"room":room,"name":"ignored","token":token}))
        .await;
    assert_eq!(r["type"], "joined", "{r}");
    r
}

#[tokio::test]
async fn a_host_token_may_kick_and_a_guest_token_may_not() {
    let s = TestServer::start_with(|c| {
        c.auth.token_key = Some(KEY.into());
        c.auth.require_token = true;
    })
    .await;
    let (mut guest, _) = s.client().await;
    let r = join_with(&mut guest, "board", &token("board", "Grace", Role::Guest)).await;
    assert!(r["you"].get("role").is_none(), "guests carry no role: {r}");
    // The first in the room, but with a guest token: still no host powers.
    let (mut host, host_id) = s.client().await;
    let r = join_with(&mut host, "board", &token("board", "Ada", Role::Host)).await;
    assert_eq!(r["you"]["role"], "host", "{r}");
    let joined = guest.recv().await;
    assert_eq!(joined["type"], "peerJoined", "{joined}");
    assert_eq!(
        joined["peer"]["role"], "host",
        "everyone sees who hosts: {joined}"
    );
    let (mut other, other_id) = s.client().await;
    join_with(&mut other, "board", &token("board", "Linus", Role::Guest)).await;
    guest.recv().await; // peerJoined Linus
    host.recv().await; // peerJoined Linus

    let r = guest
        .request(json!({"type":"kick","id":5,"peer":other_id}))
        .await;
    assert_eq!(
        (r["type"].as_str(), r["code"].as_str()),
        (Some("error"), Some("not_host")),
        "{r}"
    );
    assert_eq!(r["ref"], 5);
    host.expect_silence(100).await;

    host.send(json!({"type":"kick","peer":other_id})).await;
    let k = other.recv().await;
    assert_eq!(k, json!({"type":"kicked","room":"board","by":host_id}));
    for c in [&mut host, &mut guest] {
        let left = c.recv().await;
        assert_eq!(
            left,
            json!({"type":"peerLeft","peerId":other_id,"reason":"kicked"})
        );
    }
    // The kicked connection stays open, but Linus (the token's subject) is kept out
    // now, with any token of his; someone else's gets in on it.
    other.assert_alive().await;
    let r = other
        .request(json!({"type":"join","id":2,"room":"board","name":"x","token":token("board", "Linus", Role::Guest)}))
        .await;
    assert_eq!(r["code"], "room_locked", "{r}");
    assert!(
        r["message"].as_str().unwrap().contains("removed you"),
        "{r}"
    );
    join_with(&mut other, "board", &token("board", "Alan", Role::Guest)).await;
}

#[tokio::test]
async fn in_an_open_room_the_first_person_hosts_and_a_lock_keeps_newcomers_out() {
    let s = TestServer::start().await;
    let (mut ada, ada_id) = s.client().await;
    let r = ada
        .request(json!({"type":"join","id":1,"room":"standup","name":"Ada"}))
        .await;
    assert_eq!(r["you"]["role"], "host", "{r}");
    let (mut grace, grace_id) = s.joined("standup", "Grace").await;
    assert_eq!(ada.recv().await["type"], "peerJoined");
    let r = grace
        .request(json!({"type":"lock","id":3,"locked":true}))
        .await;
    assert_eq!(r["code"], "not_host", "{r}");

    ada.send(json!({"type":"lock","locked":true})).await;
    let locked = json!({"type":"roomLocked","locked":true,"by":ada_id});
    assert_eq!(ada.recv().await, locked);
    assert_eq!(grace.recv().await, locked);
    let (mut linus, _) = s.client().await;
    let r = linus
        .request(json!({"type":"join","id":2,"room":"standup","name":"Linus"}))
        .await;
    assert_eq!(
        (r["code"].as_str(), &r["ref"]),
        (Some("room_locked"), &json!(2)),
        "{r}"
    );
    assert!(r["message"].as_str().unwrap().contains("locked"), "{r}");
    ada.expect_silence(100).await;

    // The host asks Grace to mute.
    ada.send(json!({"type":"mute","peer":grace_id})).await;
    assert_eq!(
        grace.recv().await,
        json!({"type":"muteRequest","by":ada_id})
    );
}
