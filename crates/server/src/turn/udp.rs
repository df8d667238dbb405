//! The UDP listener: every datagram goes to the owner task as a client message.

use super::task::Input;
use confab_turn::{ClientKey, Transport};
use std::sync::Arc;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Largest datagram read; bigger ones are truncated by the kernel and fail to parse.
pub const MAX_DATAGRAM: usize = 65_536;

/// Reads client datagrams until shutdown. A full inbox drops the datagram (UDP
/// semantics) instead of blocking the socket.
pub async fn listen(
    socket: Arc<UdpSocket>,
    inbox: mpsc::Sender<Input>,
    shutdown: CancellationToken,
) {
    let Ok(local) = socket.local_addr() else {
        return;
    };
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (n, client) = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                // ICMP errors (port unreachable from an earlier send) surface here on
                // Linux; they concern one client, never the listener.
                Err(_) => continue,
            },
        };
        let key = ClientKey {
            transport: Transport::Udp,
            client,
            local,
        };
        let _ = inbox.try_send(Input::Client(key, buf[..n].to_vec()));
    }
}

/// Reads datagrams from peers on one relay socket until `stop` is cancelled.
pub async fn relay(socket: Arc<UdpSocket>, inbox: mpsc::Sender<Input>, stop: CancellationToken) {
    let Ok(relay) = socket.local_addr() else {
        return;
    };
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (n, peer) = tokio::select! {
            _ = stop.cancelled() => return,
            r = socket.recv_from(&mut buf) => match r {
                Ok(x) => x,
                Err(_) => continue,
            },
        };
        let _ = inbox.try_send(Input::Peer(relay, peer, buf[..n].to_vec()));
    }
}
