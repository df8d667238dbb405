//! The deadlines of one HTTP(S) connection, enforced in its byte stream.
//!
//! hyper closes neither a connection that never sends a byte (the auto builder waits for
//! the protocol preface without a timer), nor an HTTPS one idle after its handshake, nor
//! an idle HTTP/2 or HTTP/1 keep-alive connection. So each connection has:
//!
//! - a **first-request deadline**, counted from accept and not extended by traffic: the
//!   TLS handshake, the preface and the first request's headers must all arrive in time;
//! - an **idle timeout**: with no request in flight, nothing may happen for this long;
//!   writing a response body counts as progress, reading does not (an HTTP/2 client must
//!   not keep a connection by pinging).
//!
//! A request counts as in flight from the moment the router gets it until its response
//! (head) is ready; no deadline applies meanwhile. A `101 Switching Protocols` response
//! (the WebSocket upgrade) lifts the deadlines for good: the signaling connection has its
//! own idle timeout and pings.
//!
//! [`Watched`] checks the deadline whenever a read or write would wait, so an expired
//! connection fails its next IO with `TimedOut` and hyper drops it.

use super::gate::{GateLimits, Slot};
use crate::metrics::{ConnTimeout, Metrics};
use axum::http::{Request, Response, StatusCode};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// When the current phase of a connection ends.
#[derive(Debug)]
struct Times {
    accepted: Instant,
    /// A first request arrived.
    served: bool,
    in_flight: usize,
    /// The last request's end, or the last response bytes written after it.
    idle_since: Instant,
    /// Upgraded to a WebSocket: no deadlines here.
    exempt: bool,
}

/// One connection's shared state (its slot in the gate, its times); cheap to clone.
#[derive(Clone, Debug)]
pub struct Conn(Arc<ConnInner>);

#[derive(Debug)]
struct ConnInner {
    limits: GateLimits,
    metrics: Metrics,
    times: Mutex<Times>,
    _slot: Slot,
}

impl Conn {
    /// A connection accepted now, holding `slot` until the last clone is dropped.
    pub fn new(limits: GateLimits, metrics: Metrics, slot: Slot) -> Conn {
        let now = Instant::now();
        Conn(Arc::new(ConnInner {
            limits,
            metrics,
            times: Mutex::new(Times {
                accepted: now,
                served: false,
                in_flight: 0,
                idle_since: now,
                exempt: false,
            }),
            _slot: slot,
        }))
    }

    fn times(&self) -> std::sync::MutexGuard<'_, Times> {
        self.0.times.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The deadline in force now and which phase it ends, if any.
    fn deadline(&self) -> Option<(Instant, ConnTimeout)> {
        let t = self.times();
        if t.exempt || t.in_flight > 0 {
            None
        } else if !t.served {
            Some((
                t.accepted + self.0.limits.first_request,
                ConnTimeout::FirstRequest,
            ))
        } else {
            Some((t.idle_since + self.0.limits.idle, ConnTimeout::Idle))
        }
    }

    fn begin(&self) -> InFlight {
        let mut t = self.times();
        t.served = true;
        t.in_flight += 1;
        InFlight(self.clone())
    }

    fn wrote(&self) {
        let mut t = self.times();
        if t.served && t.in_flight == 0 {
            t.idle_since = Instant::now();
        }
    }
}

/// A request in flight; ends on drop (answered, or cancelled by the client).
struct InFlight(Conn);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut t = self.0.times();
        t.in_flight = t.in_flight.saturating_sub(1);
        t.idle_since = Instant::now();
    }
}

/// A connection's service: marks each request in flight, and a `101` exempt.
#[derive(Clone, Debug)]
pub struct Tracked<S> {
    inner: S,
    conn: Conn,
}

impl<S> Tracked<S> {
    /// `inner`, reporting its requests to `conn`.
    pub fn new(inner: S, conn: Conn) -> Self {
        Tracked { inner, conn }
    }
}

impl<S, B, RB> tower_service::Service<Request<B>> for Tracked<S>
where
    S: tower_service::Service<Request<B>, Response = Response<RB>>,
    S::Future: Send + 'static,
    RB: 'static,
    S::Error: 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let guard = self.conn.begin();
        let fut = self.inner.call(req);
        Box::pin(async move {
            let res = fut.await;
            if let Ok(r) = &res {
                if r.status() == StatusCode::SWITCHING_PROTOCOLS {
                    guard.0.times().exempt = true;
                }
            }
            drop(guard);
            res
        })
    }
}

/// A connection's byte stream with its deadlines (see the module docs).
pub struct Watched<T> {
    inner: T,
    conn: Conn,
    sleep: Pin<Box<Sleep>>,
    expired: bool,
}

impl<T> Watched<T> {
    /// `inner` under `conn`'s deadlines.
    pub fn new(inner: T, conn: Conn) -> Self {
        let now = Instant::now();
        Watched {
            inner,
            conn,
            sleep: Box::pin(tokio::time::sleep_until(now)),
            expired: false,
        }
    }

    /// Called when IO would wait: ready with an error once the deadline has passed
    /// (counted once), else pending with the timer armed.
    fn check(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let timed_out = || io::Error::new(io::ErrorKind::TimedOut, "HTTP connection deadline");
        if self.expired {
            return Poll::Ready(timed_out());
        }
        let Some((at, phase)) = self.conn.deadline() else {
            return Poll::Pending;
        };
        if self.sleep.deadline() != at {
            self.sleep.as_mut().reset(at);
        }
        match self.sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                self.expired = true;
                self.conn.0.metrics.http_timed_out(phase);
                Poll::Ready(timed_out())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Pending => this.check(cx).map(Err),
            ready => ready,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, buf) {
            Poll::Pending => this.check(cx).map(Err),
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    this.conn.wrote();
                }
                Poll::Ready(Ok(n))
            }
            ready => ready,
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write_vectored(cx, bufs) {
            Poll::Pending => this.check(cx).map(Err),
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    this.conn.wrote();
                }
                Poll::Ready(Ok(n))
            }
            ready => ready,
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
