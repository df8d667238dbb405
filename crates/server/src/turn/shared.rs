//! The TURN core and what it owns (relay sockets, stream writers), behind one mutex.
//!
//! Why a mutex and not an owner task (DESIGN.md principle 4): every relayed packet would
//! otherwise cross a channel and wake another task, twice per round trip. Measured with
//! bench/turn_bench.py, that hop cost half the sustainable rate against coturn. The lock
//! is a `std::sync::Mutex` held only for synchronous work on the sans-IO core (never
//! across an `.await`), and socket sends happen after it is released.

use crate::metrics::{Metrics, RelayDirection};
use confab_turn::{BindError, ClientKey, Output, Server, Transport};
use confab_udp::RecvBatch;
use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Instant;
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Largest datagram read from a client or a peer.
const MAX_DATAGRAM: usize = 65_536;

thread_local! {
    /// One receive buffer per worker thread, shared by every socket reader on it: a
    /// reader borrows it only between `readable()` and the end of its synchronous drain.
    static BUF: RefCell<Vec<u8>> = RefCell::new(vec![0; MAX_DATAGRAM]);
    /// The same for batched reads ([`confab_udp`]).
    static BATCH: RefCell<RecvBatch> = RefCell::new(RecvBatch::new());
}

/// Whether UDP goes through `recvmmsg`/`sendmmsg` ([`confab_udp`]), on unless the environment
/// says `CONFAB_TURN_MMSG=0`: the switch exists for bench/turn_bench.py's A/B run.
fn use_mmsg() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("CONFAB_TURN_MMSG").map_or(true, |v| v != "0"))
}

/// A send decided under the lock and performed after it.
enum Send {
    Udp(Arc<UdpSocket>, SocketAddr, Vec<u8>),
    Stream(mpsc::Sender<Vec<u8>>, Vec<u8>),
}

struct Relay {
    socket: Arc<UdpSocket>,
    stop: CancellationToken,
}

struct Inner {
    core: Server,
    streams: HashMap<ClientKey, mpsc::Sender<Vec<u8>>>,
    relays: HashMap<SocketAddr, Relay>,
    next_port: u32,
    refusal_log: RefusalLog,
}

/// Refusals logged per second at most (at debug); the rest are counted and summed up in
/// the next line, so a flood of bad requests cannot flood the log.
const REFUSAL_LOG_PER_SEC: u32 = 10;

/// The rate limit of refusal log lines (one window of one second).
struct RefusalLog {
    window: Instant,
    logged: u32,
    suppressed: u64,
}

impl RefusalLog {
    /// Logs `refusal` unless this second's lines are spent; returns whether it did.
    fn log(&mut self, refusal: &confab_turn::Refusal, now: Instant) -> bool {
        if now.saturating_duration_since(self.window) >= std::time::Duration::from_secs(1) {
            if self.suppressed > 0 {
                tracing::debug!(
                    suppressed = self.suppressed,
                    "more TURN refusals not logged"
                );
            }
            (self.window, self.logged, self.suppressed) = (now, 0, 0);
        }
        if self.logged >= REFUSAL_LOG_PER_SEC {
            self.suppressed += 1;
            return false;
        }
        self.logged += 1;
        tracing::debug!(
            client = %refusal.key.client,
            transport = ?refusal.key.transport,
            method = refusal.method,
            code = refusal.code,
            reason = refusal.reason.as_str(),
            "TURN request refused"
        );
        true
    }
}

/// The TURN server as the socket readers see it. Cheap to share (`Arc`).
pub struct Shared {
    inner: Mutex<Inner>,
    /// Where datagrams for services of this process go (`local.rs`).
    to_local: Option<mpsc::Sender<super::local::LocalDatagram>>,
    listener: Arc<UdpSocket>,
    ports: (u16, u16),
    shutdown: CancellationToken,
    metrics: Metrics,
}

impl Shared {
    /// Wraps `core`; client datagrams are answered from `listener`.
    pub fn new(
        core: Server,
        listener: Arc<UdpSocket>,
        ports: (u16, u16),
        shutdown: CancellationToken,
        metrics: Metrics,
        to_local: Option<mpsc::Sender<super::local::LocalDatagram>>,
    ) -> Arc<Shared> {
        let span = u32::from(ports.1 - ports.0) + 1;
        Arc::new(Shared {
            inner: Mutex::new(Inner {
                core,
                streams: HashMap::new(),
                relays: HashMap::new(),
                next_port: std::process::id().wrapping_mul(2_654_435_761) % span,
                refusal_log: RefusalLog {
                    window: Instant::now(),
                    logged: 0,
                    suppressed: 0,
                },
            }),
            to_local,
            listener,
            ports,
            shutdown,
            metrics,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave the core half-updated in a way
        // that matters more than stopping TURN would; keep serving.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` on the core, then performs everything it asked for.
    fn with_core(self: &Arc<Self>, f: impl FnOnce(&mut Server)) {
        let mut sends = Vec::new();
        {
            let mut inner = self.lock();
            f(&mut inner.core);
            self.flush(&mut inner, &mut sends);
            self.metrics
                .set_turn_allocations(inner.core.allocation_count());
            self.metrics
                .set_turn_in_process_bytes(inner.core.in_process_bytes());
            self.refusals(&mut inner);
        }
        perform(sends);
    }

    /// A message from a client (one frame cut from a stream).
    pub fn client(self: &Arc<Self>, key: ClientKey, data: &[u8]) {
        let (now, unix) = (Instant::now(), crate::unix_now());
        self.with_core(|c| c.handle_client(key, data, now, unix));
    }

    /// Datagrams from UDP clients on the listener whose address is `local`, handled
    /// under one lock.
    fn udp_clients(
        self: &Arc<Self>,
        local: SocketAddr,
        batch: &mut dyn Iterator<Item = (SocketAddr, &[u8])>,
    ) {
        let (now, unix) = (Instant::now(), crate::unix_now());
        self.with_core(|c| {
            for (client, data) in batch {
                let key = ClientKey {
                    transport: Transport::Udp,
                    client,
                    local,
                };
                c.handle_client(key, data, now, unix);
            }
        });
    }

    /// Datagrams from peers on relay socket `relay`, handled under one lock.
    fn peers(
        self: &Arc<Self>,
        relay: SocketAddr,
        batch: &mut dyn Iterator<Item = (SocketAddr, &[u8])>,
    ) {
        let now = Instant::now();
        self.with_core(|c| {
            for (peer, data) in batch {
                // Payload bytes offered for relaying (dropped ones, without a
                // permission, too).
                self.metrics
                    .turn_relayed(RelayDirection::ToClient, data.len());
                c.handle_peer(relay, peer, data, now);
            }
        });
    }

    /// A datagram from a service of this process for an allocation (`local.rs`).
    pub fn local(self: &Arc<Self>, from: SocketAddr, to: SocketAddr, data: &[u8]) {
        let now = Instant::now();
        self.with_core(|c| c.handle_local(from, to, data, now));
    }

    /// The host's interface addresses, re-read: new ones are denied as peers.
    pub fn host_addrs(self: &Arc<Self>, addrs: &[IpAddr]) {
        let now = Instant::now();
        self.with_core(|c| c.handle_host_addrs(addrs, now));
    }

    /// Revokes TURN REST user `user` until `until_unix`: its allocations go now (see
    /// `confab_turn::Server::handle_revoke`).
    pub fn revoke(self: &Arc<Self>, user: &str, until_unix: u64) {
        let (now, unix) = (Instant::now(), crate::unix_now());
        self.with_core(|c| c.handle_revoke(user, until_unix, now, unix));
    }

    /// Expires what is due.
    pub fn tick(self: &Arc<Self>) {
        let now = Instant::now();
        self.with_core(|c| c.handle_timeout(now));
    }

    /// A stream client connected; its frames go to `tx`.
    pub fn stream_opened(&self, key: ClientKey, tx: mpsc::Sender<Vec<u8>>) {
        self.lock().streams.insert(key, tx);
    }

    /// Whether stream client `key` holds no unexpired allocation now; counted in
    /// `confab_turn_stream_timeouts_total` when so (the driver then closes it).
    pub fn stream_idle(&self, key: ClientKey) -> bool {
        let idle = !self.lock().core.has_allocation(key, Instant::now());
        if idle {
            self.metrics.turn_stream_timed_out();
        }
        idle
    }

    /// A stream client went away: its allocation goes at once.
    pub fn stream_closed(self: &Arc<Self>, key: ClientKey) {
        self.lock().streams.remove(&key);
        let now = Instant::now();
        self.with_core(|c| c.handle_client_closed(key, now));
    }

    /// Closes every relay socket (at shutdown).
    pub fn close_relays(&self) {
        for (_, r) in self.lock().relays.drain() {
            r.stop.cancel();
        }
    }

    /// Counts the core's refusals by reason and logs them (rate-limited, at debug; the
    /// challenge that starts every allocation is normal and only counted).
    fn refusals(&self, inner: &mut Inner) {
        let Inner {
            core, refusal_log, ..
        } = inner;
        // Nothing beyond one empty poll on the hot path: the clock and the log level are
        // only looked at for a refusal.
        let mut now = None;
        while let Some(refusal) = core.poll_refusal() {
            self.metrics.turn_refused(refusal.reason);
            if refusal.reason != confab_turn::RefusalReason::Challenge
                && tracing::enabled!(tracing::Level::DEBUG)
            {
                refusal_log.log(&refusal, *now.get_or_insert_with(Instant::now));
            }
        }
    }

    /// Performs the core's outputs: relay binds and releases now, sends into `sends`.
    fn flush(self: &Arc<Self>, inner: &mut Inner, sends: &mut Vec<Send>) {
        while let Some(out) = inner.core.poll_output() {
            match out {
                Output::ToClient { key, data } => match key.transport {
                    Transport::Udp => {
                        sends.push(Send::Udp(self.listener.clone(), key.client, data))
                    }
                    Transport::Tcp | Transport::Tls => {
                        if let Some(tx) = inner.streams.get(&key) {
                            sends.push(Send::Stream(tx.clone(), data));
                        }
                    }
                },
                Output::ToPeer { relay, peer, data } => {
                    if let Some(r) = inner.relays.get(&relay) {
                        self.metrics
                            .turn_relayed(RelayDirection::ToPeer, data.len());
                        sends.push(Send::Udp(r.socket.clone(), peer, data));
                    }
                }
                Output::BindRelay {
                    request,
                    ip,
                    even_port,
                } => {
                    let result = self.bind_relay(inner, ip, even_port);
                    inner
                        .core
                        .handle_relay_bound(request, result, Instant::now());
                }
                Output::ToLocal { from, to, data } => {
                    // Counted by the core as in-process bytes.
                    let Some(tx) = &self.to_local else { continue };
                    if tx
                        .try_send(super::local::LocalDatagram { from, to, data })
                        .is_err()
                    {
                        tracing::debug!(
                            "a service of this process is behind; TURN datagram dropped"
                        );
                    }
                }
                Output::ReleaseRelay { relay } => {
                    if let Some(r) = inner.relays.remove(&relay) {
                        r.stop.cancel();
                    }
                }
            }
        }
    }

    /// Binds a relay socket on `ip` (an even port if `even`), trying ports of the range
    /// in turn from a moving start, and starts its reader.
    fn bind_relay(
        self: &Arc<Self>,
        inner: &mut Inner,
        ip: IpAddr,
        even: bool,
    ) -> Result<SocketAddr, BindError> {
        let span = u32::from(self.ports.1 - self.ports.0) + 1;
        for _ in 0..span.min(256) {
            let port = self.ports.0 + (inner.next_port % span) as u16;
            inner.next_port = inner.next_port.wrapping_add(1);
            if even && port % 2 == 1 {
                continue;
            }
            let Ok(std_sock) = super::bind_udp(SocketAddr::new(ip, port), super::RELAY_BUFFER)
            else {
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
            let stop = self.shutdown.child_token();
            tokio::spawn(relay_reader(
                self.clone(),
                socket.clone(),
                addr,
                stop.clone(),
            ));
            inner.relays.insert(addr, Relay { socket, stop });
            return Ok(addr);
        }
        Err(BindError(format!(
            "no free relay port on {ip} in {}-{}",
            self.ports.0, self.ports.1
        )))
    }
}

/// Performs the sends decided under the lock. Non-blocking: a full socket buffer or an
/// unreachable peer (ENETUNREACH, EPERM) loses packets, as UDP may, and never the
/// allocation. Consecutive datagrams for one socket go out in one `sendmmsg`.
fn perform(mut sends: Vec<Send>) {
    if use_mmsg() && sends.len() > 2 {
        // Group datagrams by socket, so each relay socket gets one sendmmsg per batch.
        // Stable: datagrams through one socket keep their order; across sockets (other
        // peers) no order exists to keep.
        sends.sort_by_key(|s| match s {
            Send::Udp(sock, ..) => Arc::as_ptr(sock) as usize,
            Send::Stream(..) => 0,
        });
    }
    let mut i = 0;
    while i < sends.len() {
        if let Send::Stream(tx, data) = &mut sends[i] {
            if tx.try_send(std::mem::take(data)).is_err() {
                tracing::debug!("TURN stream client too slow; frame dropped");
            }
            i += 1;
            continue;
        }
        let Send::Udp(sock, to, data) = &sends[i] else {
            unreachable!("streams handled above")
        };
        if !use_mmsg() {
            let _ = sock.try_send_to(data, *to);
            i += 1;
            continue;
        }
        let same =
            |j: usize| matches!(sends.get(j), Some(Send::Udp(next, ..)) if Arc::ptr_eq(next, sock));
        if !same(i + 1) {
            // A lone datagram: sendto is cheaper than a sendmmsg of one.
            let _ = sock.try_send_to(data, *to);
            i += 1;
            continue;
        }
        let mut group: Vec<(SocketAddr, &[u8])> = vec![(*to, data)];
        i += 1;
        while same(i) {
            if let Send::Udp(_, to, data) = &sends[i] {
                group.push((*to, data));
            }
            i += 1;
        }
        let _ = sock.try_io(Interest::WRITABLE, || {
            confab_udp::send(sock.as_raw_fd(), &group)
        });
    }
}

/// Datagrams one reader handles per wake-up before letting other tasks run.
const DRAIN_BUDGET: usize = 256;

/// Reads the datagrams waiting on `socket` (without awaiting), handing them to
/// `on_batch` (up to [`confab_udp::BATCH`] at a time, or one by one without mmsg), until the
/// socket would block or the budget is spent.
fn drain(
    socket: &UdpSocket,
    mut on_batch: impl FnMut(&mut dyn Iterator<Item = (SocketAddr, &[u8])>),
) {
    // ICMP errors from earlier sends surface as read errors on Linux; they concern one
    // remote address, never the socket: keep reading (within budget).
    if use_mmsg() {
        // One plain read first: under light load a wake-up finds a single datagram, and
        // recvfrom is cheaper for that than recvmmsg (measured: about 20 % of the CPU at
        // bench/turn_bench.py's load 1). Only when it finds one do batches follow.
        let first = BUF.with(|buf| {
            let mut buf = buf.borrow_mut();
            match socket.try_recv_from(&mut buf) {
                Ok((n, from)) => {
                    on_batch(&mut std::iter::once((from, &buf[..n])));
                    true
                }
                Err(e) => e.kind() != io::ErrorKind::WouldBlock,
            }
        });
        if !first {
            return;
        }
        BATCH.with(|batch| {
            let mut batch = batch.borrow_mut();
            let mut budget = DRAIN_BUDGET - 1;
            while budget > 0 {
                match socket.try_io(Interest::READABLE, || batch.recv(socket.as_raw_fd())) {
                    Ok(n) => {
                        budget = budget.saturating_sub(n.max(1));
                        on_batch(&mut batch.iter());
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                    Err(_) => budget -= 1,
                }
            }
        });
        return;
    }
    BUF.with(|buf| {
        let mut buf = buf.borrow_mut();
        for _ in 0..DRAIN_BUDGET {
            match socket.try_recv_from(&mut buf) {
                Ok((n, from)) => on_batch(&mut std::iter::once((from, &buf[..n]))),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => continue,
            }
        }
    });
}

/// Serves client datagrams on the UDP listener until shutdown.
pub async fn listener_reader(shared: Arc<Shared>) {
    let Ok(local) = shared.listener.local_addr() else {
        return;
    };
    let socket = shared.listener.clone();
    loop {
        tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            r = socket.readable() => if r.is_err() { return },
        }
        drain(&socket, |batch| shared.udp_clients(local, batch));
    }
}

/// Serves peer datagrams on one relay socket until its allocation goes.
async fn relay_reader(
    shared: Arc<Shared>,
    socket: Arc<UdpSocket>,
    relay: SocketAddr,
    stop: CancellationToken,
) {
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            r = socket.readable() => if r.is_err() { return },
        }
        drain(&socket, |batch| shared.peers(relay, batch));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_log_lines_are_rate_limited() {
        let t0 = Instant::now();
        let mut log = RefusalLog {
            window: t0,
            logged: 0,
            suppressed: 0,
        };
        let refusal = confab_turn::Refusal {
            key: ClientKey {
                transport: Transport::Udp,
                client: "203.0.113.5:1".parse().unwrap(),
                local: "198.51.100.1:3478".parse().unwrap(),
            },
            method: "Allocate",
            reason: confab_turn::RefusalReason::BadCredentials,
            code: 401,
        };
        let logged = (0..1000).filter(|_| log.log(&refusal, t0)).count();
        assert_eq!(logged, REFUSAL_LOG_PER_SEC as usize);
        assert_eq!(log.suppressed, 1000 - u64::from(REFUSAL_LOG_PER_SEC));
        let later = t0 + std::time::Duration::from_secs(1);
        assert!(log.log(&refusal, later));
        assert_eq!(log.suppressed, 0);
    }
}
