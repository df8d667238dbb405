//! The task that owns the TURN core: feeds it socket input and the clock, and performs
//! its outputs (sends, relay socket binds and releases).

use super::udp;
use confab_turn::{BindError, ClientKey, Output, Server, Transport};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Capacity of the owner's inbox, in messages; a full inbox drops UDP input.
pub const INBOX: usize = 16 * 1024;
/// Inputs handled per wake-up before outputs are flushed and timers checked.
const BATCH: usize = 256;

/// What socket readers send the owner.
pub enum Input {
    /// A datagram or stream frame from a client.
    Client(ClientKey, Vec<u8>),
    /// A datagram from a peer on relay socket `.0`.
    Peer(SocketAddr, SocketAddr, Vec<u8>),
    /// A TCP/TLS client connected; frames for it go to the sender.
    StreamOpened(ClientKey, mpsc::Sender<Vec<u8>>),
    /// A TCP/TLS client went away.
    StreamClosed(ClientKey),
}

struct Relay {
    socket: Arc<UdpSocket>,
    stop: CancellationToken,
}

struct Owner {
    core: Server,
    listener: Arc<UdpSocket>,
    streams: HashMap<ClientKey, mpsc::Sender<Vec<u8>>>,
    relays: HashMap<SocketAddr, Relay>,
    ports: (u16, u16),
    next_port: u32,
    inbox: mpsc::Sender<Input>,
}

/// Runs until `shutdown`; then every relay socket is closed.
pub async fn run(
    core: Server,
    mut rx: mpsc::Receiver<Input>,
    listener: Arc<UdpSocket>,
    ports: (u16, u16),
    inbox: mpsc::Sender<Input>,
    shutdown: CancellationToken,
) {
    let span = u32::from(ports.1 - ports.0) + 1;
    let mut owner = Owner {
        core,
        listener,
        streams: HashMap::new(),
        relays: HashMap::new(),
        ports,
        next_port: (std::process::id().wrapping_mul(2_654_435_761)) % span,
        inbox,
    };
    loop {
        let deadline = owner
            .core
            .poll_timeout()
            .map(tokio::time::Instant::from_std);
        let timer = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = timer => owner.core.handle_timeout(Instant::now()),
            first = rx.recv() => {
                let Some(first) = first else { break };
                let now = Instant::now();
                let unix = crate::unix_now();
                owner.input(first, now, unix);
                // Take what else is waiting, so a burst costs one wake-up.
                for _ in 1..BATCH {
                    match rx.try_recv() {
                        Ok(i) => owner.input(i, now, unix),
                        Err(_) => break,
                    }
                }
            }
        }
        owner.flush();
    }
    for (_, r) in owner.relays.drain() {
        r.stop.cancel();
    }
}

impl Owner {
    fn input(&mut self, input: Input, now: Instant, unix: u64) {
        match input {
            Input::Client(key, data) => self.core.handle_client(key, &data, now, unix),
            Input::Peer(relay, peer, data) => self.core.handle_peer(relay, peer, &data, now),
            Input::StreamOpened(key, tx) => {
                self.streams.insert(key, tx);
            }
            Input::StreamClosed(key) => {
                self.streams.remove(&key);
                self.core.handle_client_closed(key, now);
            }
        }
        // Outputs are flushed per input so relay binds happen before the next input.
        self.flush();
    }

    /// Performs every pending output. Sends never wait: a full socket buffer or an
    /// unreachable peer loses that one packet (as UDP may) and nothing else.
    fn flush(&mut self) {
        while let Some(out) = self.core.poll_output() {
            match out {
                Output::ToClient { key, data } => match key.transport {
                    Transport::Udp => {
                        let _ = self.listener.try_send_to(&data, key.client);
                    }
                    Transport::Tcp | Transport::Tls => {
                        if let Some(tx) = self.streams.get(&key) {
                            if tx.try_send(data).is_err() {
                                tracing::debug!(client = %key.client, "TURN stream client too slow; frame dropped");
                            }
                        }
                    }
                },
                Output::ToPeer { relay, peer, data } => {
                    if let Some(r) = self.relays.get(&relay) {
                        // ENETUNREACH, EPERM and friends are the peer's problem; the
                        // allocation stays (TESTING.md: a send error must not drop it).
                        if let Err(e) = r.socket.try_send_to(&data, peer) {
                            tracing::trace!(%peer, error = %e, "relay send failed");
                        }
                    }
                }
                Output::BindRelay {
                    request,
                    ip,
                    even_port,
                } => {
                    let result = self.bind_relay(ip, even_port);
                    self.core
                        .handle_relay_bound(request, result, Instant::now());
                }
                Output::ReleaseRelay { relay } => {
                    if let Some(r) = self.relays.remove(&relay) {
                        r.stop.cancel();
                    }
                }
            }
        }
    }

    /// Binds a relay socket on `ip` (an even port if `even`), trying ports of the range
    /// in turn from a moving start, and starts its reader.
    fn bind_relay(&mut self, ip: IpAddr, even: bool) -> Result<SocketAddr, BindError> {
        let span = u32::from(self.ports.1 - self.ports.0) + 1;
        for _ in 0..span.min(256) {
            let port = self.ports.0 + (self.next_port % span) as u16;
            self.next_port = self.next_port.wrapping_add(1);
            if even && port % 2 == 1 {
                continue;
            }
            let Ok(std_sock) = std::net::UdpSocket::bind((ip, port)) else {
                continue;
            };
            if std_sock.set_nonblocking(true).is_err() {
                continue;
            }
            let Ok(socket) = UdpSocket::from_std(std_sock) else {
                continue;
            };
            let socket = Arc::new(socket);
            let addr = socket.local_addr().map_err(|e| BindError(e.to_string()))?;
            let stop = CancellationToken::new();
            tokio::spawn(udp::relay(socket.clone(), self.inbox.clone(), stop.clone()));
            self.relays.insert(addr, Relay { socket, stop });
            return Ok(addr);
        }
        Err(BindError(format!(
            "no free relay port on {ip} in {}-{}",
            self.ports.0, self.ports.1
        )))
    }
}
