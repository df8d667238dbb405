//! A locked room with a password does not verify passwords: right and wrong ones both get
//! `room_locked`, so it is no oracle for guessing (and costs no argon2 work).

mod common;
use common::TestServer;
use confab_proto::RoomId;
use confab_server::auth::password;
use confab_server::config::RoomPasswords;
use serde_json::json;

#[tokio::test]
async fn a_locked_room_answers_room_locked_to_right_and_wrong_passwords() {
    let hash = password::hash("correct horse");
    let s = TestServer::start_with(|c| {
        c.auth.room_passwords = vec![RoomPasswords(vec![(RoomId::parse("board").unwrap(), hash)])];
    })
    .await;
    let (mut ada, ada_id) = s.client().await;
    let r = ada
        .request(json!({"type":"join","room":"board","name":"Ada","password":"correct horse"}))
        .await;
    assert_eq!(r["you"]["role"], "host", "{r}");
    let r = ada.request(json!({"type":"lock","locked":true})).await;
    assert_eq!(r, json!({"type":"roomLocked","locked":true,"by":ada_id}));

    let (mut m, _) = s.client().await;
    for (id, guess) in [(1, "wrong"), (2, "correct horse"), (3, "also wrong")] {
        let r = m
            .request(json!({"type":"join","id":id,"room":"board","name":"M","password":guess}))
            .await;
        assert_eq!(r["code"], "room_locked", "{guess}: {r}");
        assert_eq!(r["ref"], id, "{r}");
    }
    // Refusals for a locked room are not failed guesses: the connection stays open.
    m.assert_alive().await;
    ada.expect_silence(100).await;
}
