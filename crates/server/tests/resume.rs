//! Reconnection over real WebSockets: a dropped client comes back with its resume
//! token and gets the same peer id and room, and its peers never see it leave.

mod common;

use common::TestServer;
use serde_json::{json, Value};
use std::time::Duration;

async fn server() -> TestServer {
    TestServer::start_with(|c| c.hub.resume_grace = Duration::from_secs(30).into()).await
}

/// Connects, says hello (optionally resuming) and returns the client and its welcome.
async fn hello(s: &TestServer, resume: Option<&str>) -> (common::Client, Value) {
    let mut c = s.raw_client().await;
    let mut msg = json!({"type":"hello","version":1,"id":1});
    if let Some(t) = resume {
        msg["resume"] = json!(t);
    }
    c.send(msg).await;
    let w = c.recv().await;
    assert_eq!(w["type"], "welcome", "{w}");
    (c, w)
}

#[tokio::test]
async fn dropped_client_resumes_the_same_identity_and_room() {
    let s = server().await;
    let (mut a, wa) = hello(&s, None).await;
    let token = wa["resumeToken"]
        .as_str()
        .expect("a resume token")
        .to_owned();
    assert!(token.len() >= 32, "128 bits or more");
    let a_id = wa["peerId"].clone();
    let r = a
        .request(json!({"type":"join","room":"r","name":"Ada"}))
        .await;
    assert_eq!(r["type"], "joined");
    let (mut b, b_id) = s.joined("r", "Bob").await;
    assert_eq!(a.recv().await["type"], "peerJoined");

    drop(a); // TCP closes without a close frame, like a network drop
    let p = b.recv().await;
    assert_eq!(p["type"], "presence", "{p}");
    assert_eq!(p["peerId"], a_id);
    assert_eq!(p["state"]["reconnecting"], true);

    let (mut a2, w2) = hello(&s, Some(&token)).await;
    assert_eq!(w2["peerId"], a_id, "same peer id");
    assert_eq!(w2["resumed"], true);
    assert_ne!(w2["resumeToken"], json!(token), "a new token");
    let j = a2.recv().await;
    assert_eq!(j["type"], "joined", "{j}");
    assert_eq!(j["ref"], 1);
    assert_eq!(j["you"]["id"], a_id);
    assert_eq!(j["peers"][0]["id"], json!(b_id));
    let p = b.recv().await;
    assert_eq!(p["type"], "presence", "{p}");
    assert!(p["state"].get("reconnecting").is_none(), "back: {p}");
    // Bob reaches Ada on her new connection, by her old id.
    b.send(json!({"type":"offer","to":a_id,"sdp":"v=0\r\n"}))
        .await;
    loop {
        let m = a2.recv().await;
        if m["type"] == "offer" {
            assert_eq!(m["from"], json!(b_id));
            break;
        }
        assert_eq!(m["type"], "presence", "{m}");
    }
    // No peerLeft/peerJoined reached Bob.
    b.expect_silence(200).await;

    // The old token is spent: presenting it again gives a fresh identity.
    let (_c, w3) = hello(&s, Some(&token)).await;
    assert_ne!(w3["peerId"], a_id);
    assert!(w3.get("resumed").is_none());
}

#[tokio::test]
async fn resuming_over_a_half_open_socket_closes_the_old_one_with_4004() {
    let s = server().await;
    let (mut a, wa) = hello(&s, None).await;
    let token = wa["resumeToken"].as_str().unwrap().to_owned();
    a.request(json!({"type":"join","room":"r","name":"Ada"}))
        .await;
    let (_a2, w2) = hello(&s, Some(&token)).await;
    assert_eq!(w2["peerId"], wa["peerId"]);
    assert_eq!(a.expect_close().await, 4004);
}
