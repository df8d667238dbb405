//! Access control: room passwords (argon2), join tokens (JWT), `--require-token`, and the
//! cap on refused joins. Every refusal is a readable error and changes nothing in the room.

mod common;
use common::{Client, TestServer};
use confab_proto::RoomId;
use confab_server::auth::password;
use confab_server::auth::token::{mint, Claims, Role};
use confab_server::config::RoomPasswords;
use serde_json::{json, Value};

const KEY: &str = "join-token-key-0123456789abcdef-0123";

fn token(key: &str, room: &str, name: &str, exp_from_now: i64) -> String {
    let now = confab_server::unix_now() as i64;
    mint(
        key,
        &Claims {
            room: room.into(),
            name: name.into(),
            role: Role::Host,
            exp: (now + exp_from_now) as u64,
            iat: Some(now as u64),
            ..Claims::default()
        },
    )
}

async fn join(c: &mut Client, room: &str, extra: Value) -> Value {
    let mut msg = json!({"type":"join","id":7,"room":room,"name":"Ada"});
    for (k, v) in extra.as_object().unwrap() {
        msg[k] = v.clone();
    }
    c.request(msg).await
}

fn assert_refused(v: &Value, code: &str) {
    assert_eq!(v["type"], "error", "{v}");
    assert_eq!(v["code"], code, "{v}");
    assert_eq!(v["ref"], 7, "{v}");
    assert!(v["message"].as_str().is_some_and(|m| m.len() > 5), "{v}");
}

#[tokio::test]
async fn a_room_with_a_password_admits_only_the_right_one() {
    let hash = password::hash("correct horse");
    let s = TestServer::start_with(|c| {
        c.auth.room_passwords = vec![RoomPasswords(vec![(RoomId::parse("board").unwrap(), hash)])];
    })
    .await;
    // An observer who knows the password is already inside.
    let (mut inside, _) = s.client().await;
    let r = join(&mut inside, "board", json!({"password":"correct horse"})).await;
    assert_eq!(r["type"], "joined", "{r}");

    let (mut c, _) = s.client().await;
    assert_refused(&join(&mut c, "board", json!({})).await, "password_required");
    assert_refused(
        &join(&mut c, "board", json!({"password":"wrong"})).await,
        "bad_password",
    );
    assert!(join(&mut c, "board", json!({"password":"wrong"}))
        .await
        .to_string()
        .contains("wrong password"));
    // Nobody inside noticed the refused attempts.
    inside.expect_silence(200).await;
    let r = join(&mut c, "board", json!({"password":"correct horse"})).await;
    assert_eq!(r["type"], "joined", "{r}");
    assert_eq!(inside.recv().await["type"], "peerJoined");

    // Other rooms stay open.
    let (mut d, _) = s.client().await;
    assert_eq!(join(&mut d, "lobby", json!({})).await["type"], "joined");
}

#[tokio::test]
async fn a_valid_token_admits_under_its_name_and_bad_ones_are_refused() {
    let hash = password::hash("secret room");
    let s = TestServer::start_with(|c| {
        c.auth.token_key = Some(KEY.into());
        c.auth.room_passwords = vec![RoomPasswords(vec![(
            RoomId::parse("standup").unwrap(),
            hash,
        )])];
    })
    .await;
    let (mut c, _) = s.client().await;
    for (bad, why) in [
        (token(KEY, "elsewhere", "Grace", 3600), "not this one"),
        (token(KEY, "standup", "Grace", -3600), "expired"),
        (
            token(
                "some other key of enough length 0123456789",
                "standup",
                "Grace",
                3600,
            ),
            "signature",
        ),
        ("not-a-token".to_string(), "not valid"),
    ] {
        let r = join(&mut c, "standup", json!({ "token": bad })).await;
        assert_refused(&r, "bad_token");
        assert!(r["message"].as_str().unwrap().contains(why), "{why}: {r}");
    }
    // The token's name wins, and it admits without the room's password.
    let good = token(KEY, "standup", "Grace Hopper", 3600);
    let r = join(&mut c, "standup", json!({ "token": good })).await;
    assert_eq!(r["type"], "joined", "{r}");
    assert_eq!(r["you"]["name"], "Grace Hopper", "{r}");
}

#[tokio::test]
async fn require_token_refuses_joins_without_one() {
    let s = TestServer::start_with(|c| {
        c.auth.token_key = Some(KEY.into());
        c.auth.require_token = true;
    })
    .await;
    let (mut c, _) = s.client().await;
    assert_refused(&join(&mut c, "any", json!({})).await, "token_required");
    assert_refused(
        &join(&mut c, "any", json!({"password":"guess"})).await,
        "token_required",
    );
    let r = join(
        &mut c,
        "any",
        json!({ "token": token(KEY, "any", "Ada", 60) }),
    )
    .await;
    assert_eq!(r["type"], "joined", "{r}");
}

#[tokio::test]
async fn a_server_without_token_keys_refuses_tokens() {
    let s = TestServer::start().await;
    let (mut c, _) = s.client().await;
    let r = join(&mut c, "r", json!({ "token": token(KEY, "r", "Ada", 60) })).await;
    assert_refused(&r, "bad_token");
}

#[tokio::test]
async fn guessing_passwords_is_cut_off_after_five_tries() {
    let hash = password::hash("correct horse");
    let s = TestServer::start_with(|c| {
        c.auth.room_passwords = vec![RoomPasswords(vec![(RoomId::parse("board").unwrap(), hash)])];
    })
    .await;
    let (mut c, _) = s.client().await;
    for i in 0..5 {
        let r = join(&mut c, "board", json!({ "password": format!("guess{i}") })).await;
        assert_refused(&r, "bad_password");
    }
    c.send(json!({"type":"join","room":"board","name":"Ada","password":"guess5"}))
        .await;
    assert_eq!(c.expect_close().await, 1008);
}
