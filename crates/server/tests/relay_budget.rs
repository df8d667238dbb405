//! A member who relays large SDPs at another gets `rate_limited`, and the other is not
//! dropped as a slow consumer (issue 12, item 12): the relay budget per sender and per
//! addressee (512 KiB) is well under a connection's queue (1 MiB).

mod common;
use common::TestServer;
use futures_util::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn relaying_big_sdps_at_a_member_limits_the_sender_not_the_member() {
    let s = TestServer::start_with(|c| {
        c.ws.msg_burst = 1000; // the flood guard is not under test here
    })
    .await;
    let (mut talker, _) = s.joined("r", "Talker").await;
    let (mut listener, _) = s.joined("r", "Listener").await;
    let (_victim, victim_id) = s.joined("r", "Victim").await; // never reads
    talker.recv().await;
    talker.recv().await;
    listener.recv().await;
    // 300 offers of 60 KiB (18 MB) at a member that does not read.
    let (mut tx, reader) = talker
        .flood_offers(victim_id.as_str(), 300, 60 * 1024)
        .await;
    let ping = json!({"type":"ping","id":"done"}).to_string();
    tx.send(Message::Text(ping.into())).await.unwrap();
    let seen = reader.await.unwrap();
    assert_eq!(seen.last(), Some(&json!({"type":"pong","ref":"done"})));
    let limited = seen.iter().filter(|m| m["code"] == "rate_limited").count();
    assert!(limited >= 290, "the sender was limited: {limited} of 300");
    // The victim is still there: nobody saw it leave.
    listener.expect_silence(500).await;
}
