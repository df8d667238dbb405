//! Nothing is checked before `hello`: a `join` with a password sent first gets
//! `hello_required`, whether the password is right or wrong.

mod common;
use common::TestServer;
use confab_proto::RoomId;
use confab_server::auth::password;
use confab_server::config::RoomPasswords;
use serde_json::json;

#[tokio::test]
async fn a_password_join_before_hello_gets_hello_required_unchecked() {
    let hash = password::hash("correct horse");
    let s = TestServer::start_with(|c| {
        c.auth.room_passwords = vec![RoomPasswords(vec![(RoomId::parse("board").unwrap(), hash)])];
    })
    .await;
    let mut c = s.raw_client().await;
    for (id, guess) in [(1, "wrong"), (2, "correct horse")] {
        let r = c
            .request(json!({"type":"join","id":id,"room":"board","name":"M","password":guess}))
            .await;
        assert_eq!(r["code"], "hello_required", "{guess}: {r}");
        assert_eq!(r["ref"], id, "{r}");
    }
    // Not counted as failed joins; after hello the right password works.
    c.hello().await;
    let r = c
        .request(json!({"type":"join","room":"board","name":"M","password":"correct horse"}))
        .await;
    assert_eq!(r["type"], "joined", "{r}");
}
