//! Per-connection limits: the message rate (an error first, a close on sustained abuse),
//! and the handshake time cap (TLS handshake, HTTP request headers, `hello`).

mod common;
use common::TestServer;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_flood_is_answered_rate_limited_then_closed_and_the_room_sees_only_a_leave() {
    let s = TestServer::start_with(|c| {
        c.ws.msg_burst = 20;
        c.ws.msg_rate = 10;
    })
    .await;
    let (mut observer, _) = s.joined("r", "Observer").await;
    let (mut flooder, flooder_id) = s.joined("r", "Flooder").await;
    assert_eq!(observer.recv().await["type"], "peerJoined");

    // hello and join used 2 of the 20; then 60 pings back to back.
    for i in 0..60 {
        flooder
            .ws
            .send(Message::text(json!({"type":"ping","id":i}).to_string()))
            .await
            .unwrap();
    }
    let (mut pongs, mut limited) = (0, 0);
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(5), flooder.ws.next())
            .await
            .expect("the flood must end in a close")
        {
            Some(Ok(Message::Text(t))) => {
                let v: Value = serde_json::from_str(&t).unwrap();
                match v["type"].as_str() {
                    Some("pong") => pongs += 1,
                    Some("error") => {
                        assert_eq!(v["code"], "rate_limited", "{v}");
                        assert!(v["message"].as_str().unwrap().contains("too fast"));
                        limited += 1;
                    }
                    _ => panic!("unexpected {v}"),
                }
            }
            Some(Ok(Message::Close(Some(f)))) => break u16::from(f.code),
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(code, 1008, "sustained abuse closes with policy violation");
    // 18 tokens were left after hello and join (maybe one refilled meanwhile); then one
    // error per strike until the 20 strikes are spent. (Pongs the hub had not answered
    // yet when the flooder was cut off are not sent: it is gone.)
    assert!(pongs <= 20, "pongs: {pongs}");
    assert!(
        (19..=21).contains(&limited),
        "rate_limited errors: {limited}"
    );

    // The observer sees the flooder leave, and nothing of the flood.
    let left = observer.recv().await;
    assert_eq!(left["type"], "peerLeft", "{left}");
    assert_eq!(left["peerId"], flooder_id.as_str());
    observer.expect_silence(200).await;
    observer.assert_alive().await;
}

#[tokio::test]
async fn a_client_that_slows_down_after_the_error_stays_connected() {
    let s = TestServer::start_with(|c| {
        c.ws.msg_burst = 5;
        c.ws.msg_rate = 10;
    })
    .await;
    let (mut c, _) = s.client().await;
    for i in 0..8 {
        c.send(json!({"type":"ping","id":i})).await;
    }
    let mut limited = 0;
    for _ in 0..8 {
        if c.recv().await["type"] == "error" {
            limited += 1;
        }
    }
    assert!(limited >= 3, "{limited}");
    // At the allowed pace (every 150 ms, under 10/s), nothing is refused any more.
    for i in 0..15 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let r = c.request(json!({"type":"ping","id":100 + i})).await;
        assert_eq!(r["type"], "pong", "{r}");
    }
}

#[tokio::test]
async fn without_hello_in_time_the_socket_is_closed_4003() {
    let s =
        TestServer::start_with(|c| c.http.handshake_timeout = Duration::from_secs(1).into()).await;
    let mut silent = s.raw_client().await;
    let mut pinger = s.raw_client().await;
    let (mut greeted, _) = s.client().await;
    let t0 = Instant::now();
    // Pings are allowed before hello, but do not stand in for it.
    pinger.send(json!({"type":"ping"})).await;
    assert_eq!(pinger.recv().await["type"], "pong");
    assert_eq!(silent.expect_close().await, 4003);
    assert_eq!(pinger.expect_close().await, 4003);
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(800), "{waited:?}");
    assert!(waited < Duration::from_secs(4), "{waited:?}");
    // The client that said hello lives on past the deadline.
    tokio::time::sleep(Duration::from_millis(500)).await;
    greeted.assert_alive().await;
}

/// Reads until the server closes the connection; returns how long that took.
async fn time_to_close(mut s: TcpStream, t0: Instant) -> Duration {
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(Duration::from_secs(8), s.read(&mut buf))
            .await
            .expect("the server must drop a stalled connection")
        {
            Ok(0) | Err(_) => return t0.elapsed(),
            Ok(_) => continue, // e.g. a 408 response before the close
        }
    }
}

#[tokio::test]
async fn http_request_headers_must_arrive_within_the_handshake_timeout() {
    let s =
        TestServer::start_with(|c| c.http.handshake_timeout = Duration::from_secs(1).into()).await;
    let mut slow = TcpStream::connect(s.addr).await.unwrap();
    let t0 = Instant::now();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let took = time_to_close(slow, t0).await;
    assert!(took >= Duration::from_millis(800), "{took:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
    // A normal request is unaffected.
    assert_eq!(s.get("/healthz").await.0, 200);
}

#[tokio::test]
async fn a_tls_handshake_that_never_starts_is_dropped() {
    let (s, _) = TestServer::start_tls("limits", |c| {
        c.http.handshake_timeout = Duration::from_secs(1).into();
    })
    .await;
    let idle = TcpStream::connect(s.addr).await.unwrap();
    let took = time_to_close(idle, Instant::now()).await;
    assert!(took >= Duration::from_millis(800), "{took:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
}
