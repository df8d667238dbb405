//! Raw TCP connections from chosen loopback addresses, for the per-address caps.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};

/// A TCP connection to `server` from loopback address `from` (any of 127/8).
pub async fn connect_from(from: &str, server: SocketAddr) -> TcpStream {
    let sock = TcpSocket::new_v4().unwrap();
    sock.bind(format!("{from}:0").parse().unwrap()).unwrap();
    sock.connect(server).await.unwrap()
}

/// Whether the server closes `c` within half a second.
pub async fn closed_at_once(c: &mut TcpStream) -> bool {
    let mut b = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_millis(500), c.read(&mut b)).await,
        Ok(Ok(0) | Err(_))
    )
}
