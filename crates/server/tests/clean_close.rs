//! A client that closes its WebSocket cleanly (1000, 1001) leaves its room at once,
//! even with a resume grace; one whose socket just drops is held for the grace.

mod common;

use common::TestServer;
use futures_util::SinkExt;
use std::time::Duration;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

async fn server() -> TestServer {
    TestServer::start_with(|c| c.hub.resume_grace = Duration::from_secs(30).into()).await
}

#[tokio::test]
async fn close_1000_or_1001_leaves_at_once_with_reason_left() {
    let s = server().await;
    let (mut ada, _) = s.joined("r", "Ada").await;
    for code in [CloseCode::Normal, CloseCode::Away] {
        let (mut grace, grace_id) = s.joined("r", "Grace").await;
        assert_eq!(ada.recv().await["type"], "peerJoined");
        let frame = CloseFrame {
            code,
            reason: "bye".into(),
        };
        grace.ws.send(Message::Close(Some(frame))).await.unwrap();
        let left = ada.recv().await;
        assert_eq!(left["type"], "peerLeft", "{code}: {left}");
        assert_eq!(left["peerId"], grace_id.as_str());
        assert_eq!(left["reason"], "left", "{code}: {left}");
    }
}

#[tokio::test]
async fn a_dropped_socket_is_held_as_reconnecting() {
    let s = server().await;
    let (mut ada, _) = s.joined("r", "Ada").await;
    let (grace, _) = s.joined("r", "Grace").await;
    assert_eq!(ada.recv().await["type"], "peerJoined");
    drop(grace); // no close frame
    let p = ada.recv().await;
    assert_eq!(p["type"], "presence", "{p}");
    assert_eq!(p["state"]["reconnecting"], true, "{p}");
}
