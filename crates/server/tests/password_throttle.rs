//! Wrong room passwords are throttled per client address, across connections: after the
//! burst, a new connection from the same address gets `rate_limited` (unchecked) even
//! with the right password, while the per-connection cap still closes each guesser.

mod common;
use common::TestServer;
use confab_proto::RoomId;
use confab_server::auth::password;
use confab_server::config::RoomPasswords;
use serde_json::json;

/// `signal::throttle::BURST`: wrong passwords an address may send in a burst.
const BURST: u32 = 10;

#[tokio::test]
async fn an_address_that_guessed_too_often_is_held_back_on_new_connections() {
    let hash = password::hash("correct horse");
    let s = TestServer::start_with(|c| {
        c.auth.room_passwords = vec![RoomPasswords(vec![(RoomId::parse("board").unwrap(), hash)])];
    })
    .await;
    let mut wrong = 0;
    while wrong < BURST {
        // A fresh connection per 5 guesses, as an attacker would reconnect.
        let (mut c, _) = s.client().await;
        for _ in 0..5 {
            if wrong == BURST {
                break;
            }
            let r = c
                .request(json!({"type":"join","room":"board","name":"M","password":"guess"}))
                .await;
            assert_eq!(r["code"], "bad_password", "guess {wrong}: {r}");
            wrong += 1;
        }
    }
    let (mut c, _) = s.client().await;
    let r = c
        .request(json!({"type":"join","id":1,"room":"board","name":"M","password":"correct horse"}))
        .await;
    assert_eq!(r["code"], "rate_limited", "{r}");
    assert!(
        r["message"].as_str().unwrap().contains("wrong passwords"),
        "{r}"
    );
}
