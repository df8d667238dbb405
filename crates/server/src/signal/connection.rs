//! One WebSocket connection: reads frames, decodes them, hands them to the hub task,
//! writes what the hub queues, and enforces liveness and size limits.
//!
//! [`Connection`] is generic over the socket's two halves (a `Sink` of messages and a
//! `Stream` of read results), so its rules (close codes, the flood guard, batching,
//! the write timeout) are unit-tested over channels (`connection_tests.rs`), as in
//! axum's testing-websockets example. [`serve`] plugs in a real WebSocket.

use super::admission::{admit, decode_error, rate_limited, Gate, Refused};
use super::hub_task::{ConnLink, HubHandle, Outbound, QueuedBytes, Remote, SLOW_CONSUMER_CLOSE};
use super::throttle::PasswordThrottle;
use crate::auth::{Auth, MAX_FAILURES};
use crate::metrics::{Metrics, INVALID_TYPE};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use confab_proto::{close, decode_client, ClientMsg, DecodeError, ErrorCode, MAX_FRAME_BYTES};
use confab_signal::rate::{FloodGuard, Verdict};
use confab_signal::ConnId;
use futures_util::{Sink, SinkExt, Stream, StreamExt};
use std::fmt::Display;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Semaphore};
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

/// Frames up to this size are read whole and answered with a `too_large` error; larger
/// ones make the WebSocket layer fail and the connection is closed with 1009.
pub const HARD_FRAME_LIMIT: usize = 16 * MAX_FRAME_BYTES;

/// Read buffer per connection. tungstenite zero-fills its whole read buffer before each
/// read (128 KiB by default), so the default made every connection resident at ~130 KiB
/// and memset 128 KiB per read. Signaling frames are small, and a larger frame still gets
/// a buffer of its own size once its header is read. Measured with `confab-load`
/// (bench/load.sh), server RSS per idle joined connection: 137 KiB with the default,
/// 11.3 KiB with 4 KiB, 8.6 KiB with 1 KiB (10,000 connections), with no loss of
/// throughput in A/B runs at max rate.
pub const READ_BUFFER_BYTES: usize = 1024;

/// Most queued frames written together (see [`Connection::write`]); bounds one write's
/// size and time.
pub(crate) const MAX_BATCH: usize = 64;

/// A write that takes longer than this means the client stopped reading.
pub(crate) const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Per-connection settings, copied from the server config, and the server's metrics.
#[derive(Clone, Debug)]
pub struct ConnSettings {
    /// Silence longer than this disconnects.
    pub idle_timeout: Duration,
    /// How often the server pings.
    pub ping_interval: Duration,
    /// Outbound queue capacity, in messages.
    pub outbound_queue: usize,
    /// Outbound queue capacity, in bytes (see [`ConnLink::max_bytes`]).
    pub outbound_queue_bytes: usize,
    /// Time allowed between the upgrade and `hello`.
    pub handshake_timeout: Duration,
    /// Sustained messages per second (0: unlimited) and burst; see [`FloodGuard`].
    pub msg_rate: u32,
    /// See `msg_rate`.
    pub msg_burst: u32,
    /// Where frames in (by type) and decode errors (by code) are counted.
    pub metrics: Metrics,
    /// Who may join which room.
    pub auth: Arc<Auth>,
    /// Wrong passwords per client address, shared by every connection.
    pub throttle: Arc<PasswordThrottle>,
}

impl ConnSettings {
    /// Requests one connection may have in the hub at once. Each request yields at most
    /// one reply to its sender, so with this below the queue capacity a client's own
    /// replies cannot overflow its queue; only traffic it fails to read can.
    pub fn max_in_flight(&self) -> usize {
        (self.outbound_queue / 4).max(1)
    }
}

/// Why a connection ended.
#[derive(Clone, PartialEq, Eq)]
pub enum Exit {
    /// The client closed it cleanly (a close frame with 1000 or 1001): it said goodbye,
    /// so it leaves its room at once, without a resume grace.
    Left,
    /// The socket dropped or failed, or the client closed with another code: it may come
    /// back, so its place is held for the resume grace.
    Closed,
    /// The server closes it with this WebSocket code and reason.
    Close(u16, String),
}

impl std::fmt::Debug for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Left => write!(f, "closed cleanly by peer"),
            Exit::Closed => write!(f, "closed by peer"),
            Exit::Close(c, r) => write!(f, "closed by server: {c} {r}"),
        }
    }
}

/// Runs one real WebSocket to completion (see [`Connection`]).
pub async fn serve(
    socket: WebSocket,
    conn: ConnId,
    hub: HubHandle,
    settings: ConnSettings,
    remote: Remote,
    shutdown: CancellationToken,
) {
    let (sink, stream) = socket.split();
    let Some(c) = Connection::open(sink, stream, conn, hub, settings, remote, shutdown).await
    else {
        return;
    };
    let exit = c.run().await;
    tracing::debug!(conn = conn.0, ?exit, "connection ended");
}

/// What one read from the client leads to.
enum Step {
    /// Write this message (a reply the driver makes itself, or a ping).
    Send(Message),
    /// Nothing to write now (the frame went to the hub, or needed no answer).
    Continue,
    /// The connection ends.
    Exit(Exit),
}

/// One connection's state; [`Connection::run`] drives it to the end.
pub struct Connection<S, R> {
    conn: ConnId,
    hub: HubHandle,
    settings: ConnSettings,
    sink: S,
    stream: R,
    /// What the hub task queued for this connection.
    rx: mpsc::Receiver<Outbound>,
    /// The bytes in `rx`; subtracted as messages are taken.
    queued: QueuedBytes,
    /// Cancelled by the hub task when the queue overflowed (a slow consumer).
    kill: CancellationToken,
    shutdown: CancellationToken,
    /// Bounds this connection's requests in the hub at once.
    in_flight: Arc<Semaphore>,
    guard: FloodGuard,
    /// Silence past this disconnects.
    idle_deadline: Instant,
    /// Until `hello` is through, the (shorter) handshake deadline.
    hello_deadline: Option<Instant>,
    failed_joins: u32,
    /// The client's address (for the per-address throttle of failed joins).
    ip: Option<IpAddr>,
}

impl<S, R, E> Connection<S, R>
where
    S: Sink<Message> + Unpin,
    S::Error: Display,
    R: Stream<Item = Result<Message, E>> + Unpin,
    E: Display,
{
    /// Registers `conn` (from `remote`) with the hub; `None` if the hub is gone.
    pub async fn open(
        sink: S,
        stream: R,
        conn: ConnId,
        hub: HubHandle,
        settings: ConnSettings,
        remote: Remote,
        shutdown: CancellationToken,
    ) -> Option<Self> {
        let (tx, rx) = mpsc::channel(settings.outbound_queue);
        let kill = CancellationToken::new();
        let queued = QueuedBytes::default();
        let link = ConnLink {
            tx,
            kill: kill.clone(),
            queued: queued.clone(),
            max_bytes: settings.outbound_queue_bytes,
        };
        let ip = remote.ip;
        hub.connect(conn, link, remote).await.ok()?;
        let now = Instant::now();
        Some(Connection {
            conn,
            in_flight: Arc::new(Semaphore::new(settings.max_in_flight())),
            guard: FloodGuard::new(settings.msg_burst, settings.msg_rate, now.into_std()),
            idle_deadline: now + settings.idle_timeout,
            hello_deadline: Some(now + settings.handshake_timeout),
            failed_joins: 0,
            ip,
            hub,
            settings,
            sink,
            stream,
            rx,
            queued,
            kill,
            shutdown,
        })
    }

    /// Serves the connection until it ends. Tells the hub it is gone (unless the server
    /// is shutting down), before the closing handshake (so peers learn at once even if
    /// the goodbye stalls).
    pub async fn run(mut self) -> Exit {
        let mut ping = tokio::time::interval_at(
            Instant::now() + self.settings.ping_interval,
            self.settings.ping_interval,
        );
        let exit = loop {
            // Biased: drain what is queued for this client before reading more from it,
            // so a client's own burst of requests cannot overflow its queue with replies.
            let step = tokio::select! {
                biased;
                _ = self.shutdown.cancelled() => Step::Exit(going_away()),
                _ = self.kill.cancelled() => {
                    Step::Exit(Exit::Close(SLOW_CONSUMER_CLOSE, "too slow to keep up".into()))
                }
                _ = sleep_until(self.idle_deadline) => {
                    Step::Exit(Exit::Close(close::IDLE_TIMEOUT, "idle timeout".into()))
                }
                _ = sleep_until(self.hello_deadline.unwrap_or(self.idle_deadline)),
                    if self.hello_deadline.is_some() =>
                {
                    Step::Exit(Exit::Close(close::HELLO_TIMEOUT, "no hello in time".into()))
                }
                out = self.rx.recv() => match out.inspect(|o| self.queued.taken(o)) {
                    Some(Outbound::Text(t)) => Step::Send(Message::Text(t)),
                    Some(Outbound::Close { code, reason }) => Step::Exit(Exit::Close(code, reason)),
                    None => Step::Exit(going_away()),
                },
                _ = ping.tick() => Step::Send(Message::Ping(Default::default())),
                read = self.stream.next() => self.on_read(read).await,
            };
            match step {
                Step::Send(first) => {
                    if let Some(exit) = self.write(first).await {
                        break exit;
                    }
                }
                Step::Continue => {}
                Step::Exit(exit) => break exit,
            }
        };
        // A server shutting down is not its clients leaving: the hub is not told, so no
        // room ends (were the held places over their caps, members would leave at once
        // and their rooms end) and a store keeps each room's moderation as it was at
        // the stop, to give it back after the restart (`store/moderation.rs`).
        if !self.shutdown.is_cancelled() {
            self.hub.disconnect(self.conn, exit == Exit::Left).await;
        }
        if let Exit::Close(code, reason) = &exit {
            self.goodbye(*code, reason).await;
        }
        exit
    }

    /// One read result: liveness, the flood guard, then the frame itself.
    async fn on_read(&mut self, read: Option<Result<Message, E>>) -> Step {
        let msg = match read {
            None => return Step::Exit(Exit::Closed),
            Some(Ok(m)) => m,
            // The only read error worth answering: a frame over the hard limit.
            Some(Err(e)) if is_capacity_error(&e) => {
                return Step::Exit(Exit::Close(close::TOO_BIG, "frame too large".into()))
            }
            Some(Err(_)) => return Step::Exit(Exit::Closed),
        };
        self.idle_deadline = Instant::now() + self.settings.idle_timeout;
        let text = match msg {
            Message::Text(t) => Ok(t),
            Message::Binary(_) => Err(DecodeError::binary()),
            Message::Ping(_) | Message::Pong(_) => return Step::Continue,
            Message::Close(frame) if is_goodbye(frame.as_ref()) => return Step::Exit(Exit::Left),
            Message::Close(_) => return Step::Exit(Exit::Closed),
        };
        let metrics = &self.settings.metrics;
        match self.guard.check(Instant::now().into_std()) {
            Verdict::Allow => {}
            Verdict::Disconnect => {
                metrics.error(ErrorCode::RateLimited);
                return Step::Exit(Exit::Close(close::FLOOD, "too many messages".into()));
            }
            Verdict::Reject => {
                // Dropped unread: decoding a flood would be the work it wants to cause.
                metrics.error(ErrorCode::RateLimited);
                metrics.message_out("error");
                return Step::Send(rate_limited(&self.settings));
            }
        }
        match text.and_then(|t| decode_client(t.as_str())) {
            Ok(frame) => self.on_frame(frame).await,
            Err(e) => {
                metrics.message_in(INVALID_TYPE);
                metrics.error(e.code);
                metrics.message_out("error");
                Step::Send(decode_error(e))
            }
        }
    }

    /// A decoded frame: admission (passwords, tokens), then the hand-off to the hub.
    async fn on_frame(&mut self, mut frame: confab_proto::ClientFrame) -> Step {
        let metrics = &self.settings.metrics;
        metrics.message_in(frame.msg.type_name());
        let gate = Gate {
            settings: &self.settings,
            hub: &self.hub,
            conn: self.conn,
            ip: self.ip,
            helloed: self.hello_deadline.is_none(),
        };
        let grant = match admit(&mut frame, gate).await {
            Ok(grant) => grant,
            Err(Refused { error, failed }) => {
                if failed {
                    self.failed_joins += 1;
                }
                if self.failed_joins > MAX_FAILURES {
                    return Step::Exit(Exit::Close(close::FLOOD, "too many failed joins".into()));
                }
                metrics.error(error.code);
                metrics.message_out("error");
                return Step::Send(decode_error(error));
            }
        };
        if matches!(frame.msg, ClientMsg::Hello { .. }) {
            self.hello_deadline = None;
        }
        let Ok(permit) = self.in_flight.clone().acquire_owned().await else {
            return Step::Exit(Exit::Closed);
        };
        match self.hub.frame(self.conn, frame, grant, permit).await {
            Ok(()) => Step::Continue,
            Err(_) => Step::Exit(going_away()),
        }
    }

    /// Writes `first` and whatever else is already queued (up to [`MAX_BATCH`]) with one
    /// flush: one syscall for a burst instead of one per frame, in order. A queued close
    /// ends the batch and the connection; a write slower than [`WRITE_TIMEOUT`] means the
    /// client stopped reading.
    async fn write(&mut self, first: Message) -> Option<Exit> {
        let (sink, rx, queued) = (&mut self.sink, &mut self.rx, &self.queued);
        let write = async {
            sink.feed(first).await?;
            let mut close = None;
            for _ in 0..MAX_BATCH {
                match rx.try_recv().inspect(|o| queued.taken(o)) {
                    Ok(Outbound::Text(t)) => sink.feed(Message::Text(t)).await?,
                    Ok(Outbound::Close { code, reason }) => {
                        close = Some(Exit::Close(code, reason));
                        break;
                    }
                    Err(_) => break,
                }
            }
            sink.flush().await.map(|()| close)
        };
        match tokio::time::timeout(WRITE_TIMEOUT, write).await {
            Ok(Ok(close)) => close,
            Ok(Err(_)) => Some(Exit::Closed),
            Err(_) => Some(Exit::Close(SLOW_CONSUMER_CLOSE, "write timeout".into())),
        }
    }

    /// Flushes what the hub already queued (e.g. the error before a version close), sends
    /// the close frame, and waits briefly for the client's close reply, so the client
    /// reads our close code instead of a reset connection.
    async fn goodbye(&mut self, code: u16, reason: &str) {
        while let Ok(Outbound::Text(t)) = self.rx.try_recv().inspect(|o| self.queued.taken(o)) {
            let sent = tokio::time::timeout(WRITE_TIMEOUT, self.sink.send(Message::Text(t)));
            if !matches!(sent.await, Ok(Ok(()))) {
                return;
            }
        }
        let frame = CloseFrame {
            code,
            reason: Utf8Bytes::from(reason.to_owned()),
        };
        let sent = tokio::time::timeout(
            Duration::from_secs(2),
            self.sink.send(Message::Close(Some(frame))),
        )
        .await;
        if matches!(sent, Ok(Ok(()))) {
            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                while let Some(Ok(m)) = self.stream.next().await {
                    if matches!(m, Message::Close(_)) {
                        break;
                    }
                }
            })
            .await;
        }
    }
}

/// A close frame that says goodbye: 1000 (normal: the web client's own `close()`) or
/// 1001 (going away: a closed tab). Another code, or none, is not taken as one: a client
/// that wants its place held for a resume must not send these.
fn is_goodbye(frame: Option<&CloseFrame>) -> bool {
    frame.is_some_and(|f| matches!(f.code, close::NORMAL | close::GOING_AWAY))
}

fn going_away() -> Exit {
    Exit::Close(close::GOING_AWAY, "server shutting down".into())
}

/// A read error that means the frame was over the hard limit. axum wraps tungstenite's
/// error; capacity errors say "Space limit exceeded".
fn is_capacity_error(e: &impl Display) -> bool {
    let s = e.to_string();
    s.contains("Space limit exceeded") || s.contains("too long") || s.contains("Capacity")
}

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;
