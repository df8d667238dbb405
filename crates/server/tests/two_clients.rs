//! Two (and three) clients in rooms: presence, relay to one addressee, room isolation.

mod common;
use common::TestServer;
use serde_json::{json, Value};

/// The presence of a peer that is in no call and has reported no mute.
#[allow(non_snake_case)]
fn IDLE() -> Value {
    json!({"status":"idle","audioMuted":false,"videoMuted":false})
}

#[tokio::test]
async fn two_clients_see_each_other_and_leave() {
    let s = TestServer::start().await;
    let (mut a, a_id) = s.joined("standup", "Ada").await;
    let (mut b, b_id) = s.client().await;
    let snap = b
        .request(json!({"type":"join","id":"j","room":"standup","name":"  Grace "}))
        .await;
    assert_eq!(
        snap,
        json!({"type":"joined","ref":"j","room":"standup",
               "you":{"id":b_id,"name":"Grace","state":IDLE()},
               "peers":[{"id":a_id,"name":"Ada","state":IDLE(),"role":"host"}],
               "history":[]})
    );
    assert_eq!(
        a.recv().await,
        json!({"type":"peerJoined","peer":{"id":b_id,"name":"Grace","state":IDLE()}})
    );
    let left = b.request(json!({"type":"leave","id":4})).await;
    assert_eq!(left, json!({"type":"left","ref":4,"room":"standup"}));
    assert_eq!(
        a.recv().await,
        json!({"type":"peerLeft","peerId":b_id,"reason":"left"})
    );
}

#[tokio::test]
async fn relay_reaches_only_its_addressee_with_sender_stamped() {
    let s = TestServer::start().await;
    let (mut a, a_id) = s.joined("r1", "A").await;
    let (mut b, b_id) = s.joined("r1", "B").await;
    let (mut c, _c_id) = s.joined("r1", "C").await;
    let (mut other, _) = s.joined("r2", "Other").await;
    // Drain presence noise.
    a.recv().await; // B joined
    a.recv().await; // C joined
    b.recv().await; // C joined

    a.send(json!({"type":"offer","to":b_id,"sdp":"v=0\r\n"}))
        .await;
    assert_eq!(
        b.recv().await,
        json!({"type":"offer","from":a_id,"sdp":"v=0\r\n"})
    );
    b.send(json!({"type":"answer","to":a_id,"sdp":"v=0 answer"}))
        .await;
    assert_eq!(
        a.recv().await,
        json!({"type":"answer","from":b_id,"sdp":"v=0 answer"})
    );
    let cand = json!({"candidate":"candidate:1 1 udp 2122260223 10.0.0.2 5000 typ host","sdpMid":"0","sdpMLineIndex":0});
    a.send(json!({"type":"candidate","to":b_id,"candidate":cand}))
        .await;
    assert_eq!(
        b.recv().await,
        json!({"type":"candidate","from":a_id,"candidate":cand})
    );
    a.send(json!({"type":"candidate","to":b_id,"candidate":null}))
        .await;
    assert_eq!(
        b.recv().await,
        json!({"type":"candidate","from":a_id,"candidate":null})
    );
    b.send(json!({"type":"hangup","to":a_id})).await;
    assert_eq!(a.recv().await, json!({"type":"hangup","from":b_id}));

    c.expect_silence(300).await;
    other.expect_silence(100).await;
}

#[tokio::test]
async fn closed_connection_leaves_the_room_at_once() {
    let s = TestServer::start().await;
    let (mut a, _) = s.joined("r", "A").await;
    let (b, b_id) = s.joined("r", "B").await;
    a.recv().await;
    drop(b); // TCP closes without a close frame
    let t0 = std::time::Instant::now();
    assert_eq!(
        a.recv().await,
        json!({"type":"peerLeft","peerId":b_id,"reason":"disconnected"})
    );
    assert!(t0.elapsed() < std::time::Duration::from_secs(2));
}

#[tokio::test]
async fn silent_client_is_dropped_after_the_idle_timeout() {
    let s = TestServer::start_with(|c| {
        c.ws.idle_timeout = std::time::Duration::from_millis(1500).into();
        c.ws.ping_interval = std::time::Duration::from_secs(60).into();
    })
    .await;
    let (mut a, _) = s.joined("r", "A").await;
    let (mut b, b_id) = s.joined("r", "B").await;
    a.recv().await;
    // A keeps talking; B says nothing and never reads, so it answers no pings either.
    // B's deadline is 1.5 s after its join; A's pings end at 1.2 s, so A outlives B.
    for _ in 0..4 {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        a.assert_alive().await;
    }
    let t0 = std::time::Instant::now();
    assert_eq!(
        a.recv().await,
        json!({"type":"peerLeft","peerId":b_id,"reason":"disconnected"})
    );
    assert!(t0.elapsed() < std::time::Duration::from_millis(1000));
    assert_eq!(b.expect_close().await, confab_proto::close::IDLE_TIMEOUT);
}

#[tokio::test]
async fn graceful_shutdown_tells_clients_to_go_away() {
    let mut s = TestServer::start().await;
    let (mut a, _) = s.joined("r", "A").await;
    s.shutdown.cancel();
    assert_eq!(a.expect_close().await, 1001);
    let done = tokio::time::timeout(std::time::Duration::from_secs(6), s.task.take().unwrap())
        .await
        .expect("server drains within the deadline");
    done.unwrap().unwrap();
}
