//! Caps on open HTTP(S) connections per client address and in total (issue 12 item 5):
//! one beyond a cap is closed at once, other addresses are unaffected, a freed place is
//! usable again, and `/metrics` counts the refusals.

mod common;

use common::net::{closed_at_once, connect_from};
use common::TestServer;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// GET `path` from `from` on a fresh connection; the response text.
async fn get_from(from: &str, server: SocketAddr, path: &str) -> String {
    let mut c = connect_from(from, server).await;
    let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    c.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(3), c.read_to_end(&mut buf))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&buf).to_string()
}

#[tokio::test]
async fn connections_per_address_are_capped() {
    let s = TestServer::start_with(|c| c.http.max_http_connections_per_ip = 3).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from("127.0.0.1", s.addr).await);
    }
    // Let the server count them before the next one.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut fourth = connect_from("127.0.0.1", s.addr).await;
    assert!(
        closed_at_once(&mut fourth).await,
        "a 4th connection is closed"
    );
    assert!(!closed_at_once(&mut held[0]).await, "held ones stay open");
    // Another address is unaffected, and sees the refusal in /metrics.
    let metrics = get_from("127.0.0.2", s.addr, "/metrics").await;
    assert!(metrics.starts_with("HTTP/1.1 200"), "{metrics}");
    assert!(
        metrics.contains("confab_http_connections_refused_total{reason=\"per_ip\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("confab_http_connections 4"), "{metrics}");
    // A freed place can be taken again.
    drop(held.pop());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let again = get_from("127.0.0.1", s.addr, "/healthz").await;
    assert!(again.starts_with("HTTP/1.1 200"), "{again}");
}

#[tokio::test]
async fn connections_in_total_are_capped() {
    let s = TestServer::start_with(|c| c.http.max_http_connections = 2).await;
    let _a = connect_from("127.0.0.1", s.addr).await;
    let _b = connect_from("127.0.0.2", s.addr).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = connect_from("127.0.0.3", s.addr).await;
    assert!(
        closed_at_once(&mut third).await,
        "a 3rd connection is closed"
    );
    drop(_a);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let metrics = get_from("127.0.0.4", s.addr, "/metrics").await;
    assert!(
        metrics.contains("confab_http_connections_refused_total{reason=\"total\"} 1"),
        "{metrics}"
    );
}
