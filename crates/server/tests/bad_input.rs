//! Every bad input gets its documented error, the connection lives on, and nobody else
//! notices.

mod common;
use common::{Client, TestServer};
use futures_util::SinkExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

/// A room with an observer in it, to prove bad input elsewhere is not seen.
async fn with_observer(s: &TestServer) -> Client {
    s.joined("watch", "Observer").await.0
}

fn assert_error(v: &Value, code: &str, r#ref: Value) {
    assert_eq!(v["type"], "error", "{v}");
    assert_eq!(v["code"], code, "{v}");
    assert!(
        v["message"].as_str().is_some_and(|m| m.len() > 5),
        "readable message: {v}"
    );
    assert_eq!(v.get("ref").cloned().unwrap_or(Value::Null), r#ref, "{v}");
}

#[tokio::test]
async fn every_invalid_fixture_gets_its_error_over_the_wire() {
    let s = TestServer::start().await;
    let mut observer = with_observer(&s).await;
    let (mut c, _) = s.client().await;
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/protocol/invalid"
    );
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let case: Value =
            serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap()).unwrap();
        c.send_text(case["input"].as_str().unwrap()).await;
        let reply = c.recv().await;
        assert_error(&reply, case["code"].as_str().unwrap(), case["ref"].clone());
        n += 1;
    }
    assert!(n >= 10);
    c.assert_alive().await;
    // After all that, the connection still joins normally.
    let r = c
        .request(json!({"type":"join","room":"watch","name":"Late"}))
        .await;
    assert_eq!(r["type"], "joined");
    assert_eq!(observer.recv().await["type"], "peerJoined");
}

#[tokio::test]
async fn state_errors() {
    let s = TestServer::start().await;
    let mut observer = with_observer(&s).await;
    let mut fresh = s.raw_client().await;
    assert_error(
        &fresh
            .request(json!({"type":"join","id":1,"room":"r","name":"X"}))
            .await,
        "hello_required",
        json!(1),
    );
    fresh.hello().await;
    assert_error(
        &fresh
            .request(json!({"type":"hello","id":2,"version":1}))
            .await,
        "already_hello",
        json!(2),
    );
    assert_error(
        &fresh
            .request(json!({"type":"offer","id":3,"to":"nobody","sdp":"v=0"}))
            .await,
        "not_joined",
        json!(3),
    );
    assert_error(
        &fresh.request(json!({"type":"leave","id":4})).await,
        "not_joined",
        json!(4),
    );

    let (mut a, a_id) = s.joined("r", "A").await;
    let (_elsewhere, elsewhere_id) = s.joined("other", "E").await;
    assert_error(
        &a.request(json!({"type":"join","id":5,"room":"r2","name":"A"}))
            .await,
        "already_joined",
        json!(5),
    );
    for to in [elsewhere_id.as_str(), a_id.as_str(), "zzzzzzzzzzzz"] {
        assert_error(
            &a.request(json!({"type":"offer","id":6,"to":to,"sdp":"v=0"}))
                .await,
            "unknown_peer",
            json!(6),
        );
    }
    a.assert_alive().await;
    fresh.assert_alive().await;
    observer.expect_silence(200).await;
}

#[tokio::test]
async fn oversized_and_binary_frames() {
    let s = TestServer::start().await;
    let mut observer = with_observer(&s).await;
    let (mut c, _) = s.joined("r", "A").await;
    let big = format!(
        r#"{{"type":"ping","pad":"{}"}}"#,
        "x".repeat(confab_proto::MAX_FRAME_BYTES)
    );
    assert_error(&c.request_text(&big).await, "too_large", Value::Null);
    c.ws.send(Message::Binary(vec![1, 2, 3].into()))
        .await
        .unwrap();
    assert_error(&c.recv().await, "bad_json", Value::Null);
    c.assert_alive().await;
    observer.expect_silence(200).await;

    // Far over the limit: the connection is closed with 1009, and its room hears it left.
    let (mut d, d_id) = s.joined("watch", "Flooder").await;
    assert_eq!(observer.recv().await["type"], "peerJoined");
    let huge = "x".repeat(2 * 1024 * 1024);
    let _ = d.ws.send(Message::Text(huge.into())).await;
    assert_eq!(d.expect_close().await, 1009);
    let left = observer.recv().await;
    assert_eq!(left["type"], "peerLeft");
    assert_eq!(left["peerId"], d_id);
}

#[tokio::test]
async fn unsupported_version_is_an_error_then_a_close() {
    let s = TestServer::start().await;
    let mut c = s.raw_client().await;
    let r = c
        .request(json!({"type":"hello","id":"h","version":99}))
        .await;
    assert_error(&r, "unsupported_version", json!("h"));
    assert_eq!(
        c.expect_close().await,
        confab_proto::close::UNSUPPORTED_VERSION
    );
}

#[tokio::test]
async fn room_and_server_limits() {
    let s = TestServer::start_with(|c| {
        c.hub.max_peers_per_room = 2;
        c.hub.max_rooms = 2;
    })
    .await;
    let _a = s.joined("r1", "A").await;
    let _b = s.joined("r1", "B").await;
    let (mut c, _) = s.client().await;
    assert_error(
        &c.request(json!({"type":"join","id":1,"room":"r1","name":"C"}))
            .await,
        "room_full",
        json!(1),
    );
    let _d = s.joined("r2", "D").await;
    assert_error(
        &c.request(json!({"type":"join","id":2,"room":"r3","name":"C"}))
            .await,
        "server_full",
        json!(2),
    );
    c.assert_alive().await;
}

#[tokio::test]
async fn a_slow_reader_is_dropped_and_the_room_goes_on() {
    let s = TestServer::start_with(|c| {
        c.ws.outbound_queue = 8;
        c.ws.msg_burst = 1000; // the talker's 300 offers are not the abuse under test here
        c.hub.relay_rate_bytes = 0; // nor are its relayed bytes (see relay_budget.rs)
    })
    .await;
    let (mut talker, _) = s.joined("r", "Talker").await;
    let (mut listener, _) = s.joined("r", "Listener").await;
    let (_sloth, sloth_id) = s.joined("r", "Sloth").await; // never reads
    talker.recv().await;
    talker.recv().await;
    listener.recv().await;
    // The talker reads concurrently, like a real client, so only the sloth falls behind.
    // Big offers to the sloth fill its socket buffers, then its queue.
    let (mut tx, reader) = talker.flood_offers(sloth_id.as_str(), 300, 60 * 1024).await;
    let left = loop {
        let m = listener.recv().await;
        if m["type"] == "peerLeft" {
            break m;
        }
    };
    assert_eq!(left["peerId"], sloth_id);
    tx.send(Message::Text(
        json!({"type":"ping","id":"still-here"}).to_string().into(),
    ))
    .await
    .unwrap();
    let seen = reader.await.unwrap();
    let last = seen.last().expect("talker got replies");
    assert_eq!(last, &json!({"type":"pong","ref":"still-here"}));
    assert!(seen
        .iter()
        .any(|m| m["type"] == "peerLeft" && m["peerId"] == sloth_id));
    // Everything else the talker saw is unknown_peer for offers sent after the drop.
    assert!(seen
        .iter()
        .all(|m| m["type"] == "peerLeft" || m["type"] == "pong" || m["code"] == "unknown_peer"));
}

impl Client {
    async fn request_text(&mut self, t: &str) -> Value {
        self.send_text(t).await;
        self.recv().await
    }
}
