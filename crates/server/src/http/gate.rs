//! Admission of HTTP(S) connections: caps per client address (IPv4, IPv6 /64) and in
//! total, and a reserve of file descriptors; then every admitted socket is wrapped in a
//! [`Watched`] stream that enforces its deadlines (see `idle.rs`).
//!
//! A refused connection is accepted and closed at once (the acceptor returns an error and
//! axum-server drops the socket): left in the listen backlog it would hold a kernel slot
//! and leave its client hanging, and an `accept` that fails for want of descriptors makes
//! the server spin on the listener instead of serving.

use super::idle::{Conn, Tracked, Watched};
use crate::metrics::{ConnRefusal, Metrics};
use axum_server::accept::Accept;
use confab_signal::address_key;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;

/// Descriptors kept free for everything but new HTTP connections: the listeners, TURN
/// sockets and relays, the chat store, certificate files, and the requests that existing
/// connections make. 560 idle sockets used to take all of a 512 limit and stop
/// `/healthz`; with this reserve a connection that would eat into it is closed at once.
pub const FD_RESERVE: u64 = 128;

/// The limits one server applies to its HTTP connections.
#[derive(Clone, Copy, Debug)]
pub struct GateLimits {
    /// Open connections from one IPv4 address or IPv6 /64.
    pub per_ip: usize,
    /// Open connections in total.
    pub total: usize,
    /// An accepted socket whose descriptor number reaches this is refused (the soft
    /// `RLIMIT_NOFILE` minus [`FD_RESERVE`]; `None` when the limit is unknown).
    pub fd_ceiling: Option<u64>,
    /// Time from accept to the first request (TLS handshake, preface and headers).
    pub first_request: Duration,
    /// Time a connection may sit with no request in flight and nothing written.
    pub idle: Duration,
}

/// Counts of open connections, by client prefix and in total.
#[derive(Debug, Default)]
struct Counts {
    total: usize,
    by_prefix: HashMap<IpAddr, usize>,
}

/// The shared admission state of one HTTP server.
#[derive(Debug)]
pub struct Gate {
    limits: GateLimits,
    counts: Mutex<Counts>,
    metrics: Metrics,
}

impl Gate {
    /// A gate with nothing admitted yet.
    pub fn new(limits: GateLimits, metrics: Metrics) -> Arc<Gate> {
        Arc::new(Gate {
            limits,
            counts: Mutex::default(),
            metrics,
        })
    }

    /// The limits this gate applies.
    pub fn limits(&self) -> GateLimits {
        self.limits
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // The counts stay consistent under a panic elsewhere (each update is one step).
        self.counts.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits `stream` from `ip`, or says why not (and counts the refusal). The slot is
    /// given back when the returned [`Slot`] is dropped.
    pub fn admit(self: &Arc<Self>, stream: &TcpStream, ip: IpAddr) -> Result<Slot, ConnRefusal> {
        let refused = |reason| {
            self.metrics.http_refused(reason);
            Err(reason)
        };
        // Linux hands out the lowest free descriptor, so a number this high means the
        // table below it is full.
        let fd = u64::try_from(stream.as_raw_fd()).unwrap_or(u64::MAX);
        if self.limits.fd_ceiling.is_some_and(|c| fd >= c) {
            return refused(ConnRefusal::Descriptors);
        }
        // An IPv4 address, or the /64 of an IPv6 one: the hub's per-address key.
        let key = address_key(ip);
        {
            let mut c = self.lock();
            if c.total >= self.limits.total {
                drop(c);
                return refused(ConnRefusal::Total);
            }
            let n = c.by_prefix.entry(key).or_insert(0);
            if *n >= self.limits.per_ip {
                drop(c);
                return refused(ConnRefusal::PerIp);
            }
            *n += 1;
            c.total += 1;
            self.metrics.set_http_connections(c.total);
        }
        Ok(Slot {
            gate: self.clone(),
            key,
        })
    }

    fn release(&self, key: IpAddr) {
        let mut c = self.lock();
        if let Some(n) = c.by_prefix.get_mut(&key) {
            *n -= 1;
            if *n == 0 {
                c.by_prefix.remove(&key);
            }
        }
        c.total = c.total.saturating_sub(1);
        self.metrics.set_http_connections(c.total);
    }
}

/// One admitted connection's place; given back on drop.
#[derive(Debug)]
pub struct Slot {
    gate: Arc<Gate>,
    key: IpAddr,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.gate.release(self.key);
    }
}

/// An acceptor in front of `inner` (TCP_NODELAY, or TLS): admits by the [`Gate`], hands
/// `inner` the socket and a [`Tracked`] service, and wraps what `inner` returns in a
/// [`Watched`] stream with the connection's deadlines.
#[derive(Clone, Debug)]
pub struct GateAcceptor<A> {
    inner: A,
    gate: Arc<Gate>,
}

impl<A> GateAcceptor<A> {
    /// Admits by `gate`, then runs `inner`.
    pub fn new(inner: A, gate: Arc<Gate>) -> Self {
        GateAcceptor { inner, gate }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<A, S> Accept<TcpStream, S> for GateAcceptor<A>
where
    A: Accept<TcpStream, Tracked<S>> + Clone + Send + Sync + 'static,
    A::Future: Send + 'static,
    A::Stream: Send + 'static,
    A::Service: Send + 'static,
    S: Send + 'static,
{
    type Stream = Watched<A::Stream>;
    type Service = A::Service;
    type Future = BoxFuture<io::Result<(Self::Stream, Self::Service)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let gate = self.gate.clone();
        let inner = self.inner.clone();
        Box::pin(async move {
            let ip = stream.peer_addr()?.ip();
            let slot = gate
                .admit(&stream, ip)
                .map_err(|r| io::Error::other(r.as_str()))?;
            let limits = gate.limits();
            let conn = Conn::new(limits, gate.metrics.clone(), slot);
            // The TLS handshake has its own timeout (`handshake_timeout`); the first
            // request deadline started at accept and covers it too.
            let (stream, service) = inner
                .accept(stream, Tracked::new(service, conn.clone()))
                .await?;
            Ok((Watched::new(stream, conn), service))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let p = |s: &str| address_key(s.parse().unwrap());
        assert_eq!(p("2001:db8::1"), p("2001:db8::ffff:1"));
        assert_ne!(p("2001:db8::1"), p("2001:db8:0:1::1"));
        assert_eq!(p("::ffff:198.51.100.7"), p("198.51.100.7"));
        assert_ne!(p("198.51.100.7"), p("198.51.100.8"));
    }
}
