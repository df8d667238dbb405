//! TURN to services of this process (the SFU), in-process both ways: a relay-only
//! browser reaches the SFU on the same host without a datagram crossing the kernel, and
//! without opening the peer deny list to the server's own addresses (the core allows
//! exactly the services' addresses, see `TurnConfig::local_services`).
//!
//! TURN to service: the core's `Output::ToLocal` goes into a bounded channel the service's
//! task reads ([`LocalLink`]). Service to TURN: the service calls
//! [`TurnLocal::send`], which runs the core under its lock like a socket reader does.

use super::shared::Shared;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Datagrams TURN may queue for the service before it drops more (media tolerates loss;
/// each is at most one relayed UDP payload, so the queue holds at most 64 MiB, and
/// typically about 1.2 MiB of video).
pub const LOCAL_QUEUE: usize = 1024;

/// One datagram between an allocation and a service of this process.
#[derive(Debug)]
pub struct LocalDatagram {
    /// The sender: the allocation's relayed address (to a service), or the service.
    pub from: SocketAddr,
    /// The addressee: the service (from TURN), or the relayed address.
    pub to: SocketAddr,
    /// The payload.
    pub data: Vec<u8>,
}

/// What TURN needs to reach services of this process: their addresses and the channel
/// their task reads.
#[derive(Debug)]
pub struct LocalLink {
    /// The services' addresses (the SFU's candidates).
    pub services: Vec<SocketAddr>,
    /// Where datagrams for them go.
    pub tx: mpsc::Sender<LocalDatagram>,
}

/// The running TURN server as a service of this process sees it: where its answers go.
#[derive(Clone)]
pub struct TurnLocal(pub(super) Arc<Shared>);

impl std::fmt::Debug for TurnLocal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TurnLocal")
    }
}

impl TurnLocal {
    /// A datagram from service address `from` to the allocation whose relayed address is
    /// `to`; relayed to its client by the core's rules (a permission for `from`).
    pub fn send(&self, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        self.0.local(from, to, data);
    }
}
