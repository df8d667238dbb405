//! Idle HTTP(S) connections are closed (issue 12 item 5): a socket that sends nothing,
//! HTTPS idle after its handshake and HTTP/2 after its preface by the first-request
//! deadline (`--handshake-timeout`), a keep-alive connection by `--http-idle-timeout`;
//! an upgraded WebSocket is left to its own timeouts; `/metrics` counts the closes.

mod common;

use common::TestServer;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection; returns how long that took (from `t0`).
async fn time_to_close<S: AsyncRead + Unpin>(mut s: S, t0: Instant) -> Duration {
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(8), s.read(&mut buf))
            .await
            .expect("the server must close an idle connection")
        {
            Ok(0) | Err(_) => return t0.elapsed(),
            Ok(_) => continue, // the server's HTTP/2 settings, a response
        }
    }
}

/// A closing time that shows the 1 s deadline applied: not early, not much later.
fn assert_about_one_second(took: Duration) {
    assert!(took >= Duration::from_millis(800), "{took:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
}

async fn server() -> TestServer {
    TestServer::start_with(|c| {
        c.http.handshake_timeout = Duration::from_secs(1).into();
        c.http.http_idle_timeout = Duration::from_secs(1).into();
    })
    .await
}

#[tokio::test]
async fn a_plain_connection_that_sends_nothing_is_closed() {
    let s = server().await;
    let silent = TcpStream::connect(s.addr).await.unwrap();
    assert_about_one_second(time_to_close(silent, Instant::now()).await);
    let (_, _, metrics) = s.get("/metrics").await;
    assert!(
        metrics.contains("confab_http_connections_timed_out_total{phase=\"first_request\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn http2_after_its_preface_is_closed() {
    let s = server().await;
    let mut h2 = TcpStream::connect(s.addr).await.unwrap();
    let t0 = Instant::now();
    // The client preface and an empty SETTINGS frame, then nothing.
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .unwrap();
    assert_about_one_second(time_to_close(h2, t0).await);
}

/// A server whose idle timeout (1 s) is shorter than its first-request deadline (5 s),
/// so a close at about 1 s is the idle timeout's doing.
async fn idle_server() -> TestServer {
    TestServer::start_with(|c| {
        c.http.handshake_timeout = Duration::from_secs(5).into();
        c.http.http_idle_timeout = Duration::from_secs(1).into();
    })
    .await
}

#[tokio::test]
async fn a_keep_alive_connection_is_closed_when_idle() {
    let s = idle_server().await;
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    let mut buf = [0u8; 4096];
    // Busy connections live past the idle timeout: a request every half second.
    for _ in 0..4 {
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let n = tokio::time::timeout(Duration::from_secs(3), c.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200"), "{:?}", &buf[..n]);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_about_one_second(time_to_close(c, Instant::now()).await + Duration::from_millis(500));
    let (_, _, metrics) = s.get("/metrics").await;
    assert!(
        metrics.contains("confab_http_connections_timed_out_total{phase=\"idle\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn http2_idle_after_a_request_is_closed() {
    let s = idle_server().await;
    let mut h2 = TcpStream::connect(s.addr).await.unwrap();
    let mut frames = Vec::new();
    // The client preface, an empty SETTINGS frame, and one request: a HEADERS frame
    // (END_STREAM | END_HEADERS, stream 1) with `:method GET`, `:scheme http` (HPACK
    // static table entries 2 and 6) and `:path /healthz` (a literal with name index 4).
    frames.extend_from_slice(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0");
    frames.extend_from_slice(b"\0\0\x0c\x01\x05\0\0\0\x01\x82\x86\x44\x08/healthz");
    h2.write_all(&frames).await.unwrap();
    let t0 = Instant::now();
    assert_about_one_second(time_to_close(h2, t0).await);
    let (_, _, metrics) = s.get("/metrics").await;
    assert!(
        metrics.contains("confab_http_requests_total{route=\"/healthz\",status=\"200\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("confab_http_connections_timed_out_total{phase=\"idle\"} 1"),
        "{metrics}"
    );
}

#[tokio::test]
async fn an_upgraded_websocket_is_not_closed_by_the_http_idle_timeout() {
    let s = server().await;
    let (mut ws, _) = s.client().await;
    // Past both HTTP deadlines; the WebSocket's own idle timeout (40 s) is far off.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    ws.assert_alive().await;
}

#[tokio::test]
async fn https_idle_after_its_handshake_is_closed() {
    let (s, material) = TestServer::start_tls("idle", |c| {
        c.http.handshake_timeout = Duration::from_secs(1).into();
    })
    .await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(material.chain[0].clone()).unwrap();

    let client = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let t0 = Instant::now();
    let tcp = TcpStream::connect(s.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let stream = tokio::time::timeout(Duration::from_secs(3), connector.connect(name, tcp))
        .await
        .expect("handshake in time")
        .expect("handshake succeeds");
    assert_about_one_second(time_to_close(stream, t0).await);
}
