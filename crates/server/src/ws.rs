//! The WebSocket connection driver: reads frames, decodes them, hands them to the hub
//! task, writes what the hub queues, and enforces liveness and size limits.

use crate::auth::{Auth, MAX_FAILURES};
use crate::hub_task::{ConnLink, HubHandle, Outbound, SLOW_CONSUMER_CLOSE};
use crate::metrics::{Metrics, INVALID_TYPE};
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use confab_proto::{close, decode_client, DecodeError, ServerMsg, MAX_FRAME_BYTES};
use confab_proto::{ClientMsg, ErrorCode};
use confab_signal::rate::{FloodGuard, Verdict};
use confab_signal::ConnId;
use futures_util::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
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

/// Most queued frames written together (see `drive`); bounds one write's size and time.
const MAX_BATCH: usize = 64;

/// A write that takes longer than this means the client stopped reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Per-connection settings, copied from the server config, and the server's metrics.
#[derive(Clone, Debug)]
pub struct ConnSettings {
    /// Silence longer than this disconnects.
    pub idle_timeout: Duration,
    /// How often the server pings.
    pub ping_interval: Duration,
    /// Outbound queue capacity.
    pub outbound_queue: usize,
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
}

impl ConnSettings {
    /// Requests one connection may have in the hub at once. Each request yields at most
    /// one reply to its sender, so with this below the queue capacity a client's own
    /// replies cannot overflow its queue; only traffic it fails to read can.
    pub fn max_in_flight(&self) -> usize {
        (self.outbound_queue / 4).max(1)
    }
}

enum Exit {
    Closed,
    Close(u16, String),
}

/// Runs one connection to completion. Always tells the hub it is gone (in `drive`,
/// before the closing handshake).
pub async fn serve(
    socket: WebSocket,
    conn: ConnId,
    hub: HubHandle,
    settings: ConnSettings,
    host: Option<String>,
    shutdown: CancellationToken,
) {
    let (tx, rx) = mpsc::channel(settings.outbound_queue);
    let kill = CancellationToken::new();
    let link = ConnLink {
        tx,
        kill: kill.clone(),
    };
    if hub.connect(conn, link, host).await.is_err() {
        return;
    }
    let exit = drive(socket, conn, &hub, &settings, rx, &kill, &shutdown).await;
    tracing::debug!(conn = conn.0, ?exit, "connection ended");
}

impl std::fmt::Debug for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Exit::Closed => write!(f, "closed by peer"),
            Exit::Close(c, r) => write!(f, "closed by server: {c} {r}"),
        }
    }
}

async fn drive(
    socket: WebSocket,
    conn: ConnId,
    hub: &HubHandle,
    settings: &ConnSettings,
    mut rx: mpsc::Receiver<Outbound>,
    kill: &CancellationToken,
    shutdown: &CancellationToken,
) -> Exit {
    let (mut sink, mut stream) = socket.split();
    let in_flight = std::sync::Arc::new(tokio::sync::Semaphore::new(settings.max_in_flight()));
    let mut deadline = Instant::now() + settings.idle_timeout;
    // Until `hello` is through, the idle deadline is the (shorter) handshake deadline.
    let mut hello_deadline = Some(Instant::now() + settings.handshake_timeout);
    let mut failed_joins = 0;
    let mut guard = FloodGuard::new(
        settings.msg_burst,
        settings.msg_rate,
        Instant::now().into_std(),
    );
    let mut ping = tokio::time::interval_at(
        Instant::now() + settings.ping_interval,
        settings.ping_interval,
    );
    let exit = loop {
        // Biased: drain what is queued for this client before reading more from it, so
        // a client's own burst of requests cannot overflow its queue with the replies.
        let to_send = tokio::select! {
            biased;
            _ = shutdown.cancelled() => break Exit::Close(close::GOING_AWAY, "server shutting down".into()),
            _ = kill.cancelled() => break Exit::Close(SLOW_CONSUMER_CLOSE, "too slow to keep up".into()),
            _ = sleep_until(deadline) => break Exit::Close(close::IDLE_TIMEOUT, "idle timeout".into()),
            _ = sleep_until(hello_deadline.unwrap_or(deadline)), if hello_deadline.is_some() =>
                break Exit::Close(close::HELLO_TIMEOUT, "no hello in time".into()),
            out = rx.recv() => match out {
                Some(Outbound::Text(t)) => Message::Text(t.into()),
                Some(Outbound::Close { code, reason }) => break Exit::Close(code, reason),
                None => break Exit::Close(close::GOING_AWAY, "server shutting down".into()),
            },
            _ = ping.tick() => Message::Ping(Default::default()),
            msg = stream.next() => {
                let msg = match msg {
                    None => break Exit::Closed,
                    Some(Ok(m)) => m,
                    Some(Err(e)) => {
                        // The only read error worth answering: a frame over the hard limit.
                        if is_capacity_error(&e) {
                            break Exit::Close(close::TOO_BIG, "frame too large".into());
                        }
                        break Exit::Closed;
                    }
                };
                deadline = Instant::now() + settings.idle_timeout;
                let verdict = if matches!(msg, Message::Text(_) | Message::Binary(_)) {
                    guard.check(Instant::now().into_std())
                } else {
                    Verdict::Allow
                };
                if verdict == Verdict::Disconnect {
                    settings.metrics.error(ErrorCode::RateLimited);
                    break Exit::Close(close::FLOOD, "too many messages".into());
                }
                if verdict == Verdict::Reject {
                    // Dropped unread: decoding a flood would be the work it wants to cause.
                    let m = &settings.metrics;
                    m.error(ErrorCode::RateLimited);
                    m.message_out("error");
                    rate_limited(settings)
                } else {
                let decoded = match msg {
                    Message::Text(t) => decode_client(t.as_str()),
                    Message::Binary(_) => Err(DecodeError::binary()),
                    Message::Ping(_) | Message::Pong(_) => continue,
                    Message::Close(_) => break Exit::Closed,
                };
                match decoded {
                    Ok(mut frame) => {
                        settings.metrics.message_in(frame.msg.type_name());
                        let admitted = admit(&mut frame, &settings.auth).await;
                        if let Err(e) = admitted {
                            failed_joins += 1;
                            if failed_joins > MAX_FAILURES {
                                break Exit::Close(close::FLOOD, "too many failed joins".into());
                            }
                            let m = &settings.metrics;
                            m.error(e.code);
                            m.message_out("error");
                            error_message(e)
                        } else {
                            if matches!(frame.msg, ClientMsg::Hello { .. }) {
                                hello_deadline = None;
                            }
                            let Ok(permit) = in_flight.clone().acquire_owned().await else {
                                break Exit::Closed;
                            };
                            let grant = admitted.ok().flatten();
                            let sent = hub.frame(conn, frame, grant, permit).await;
                            if sent.is_err() {
                                break Exit::Close(close::GOING_AWAY, "server shutting down".into());
                            }
                            continue;
                        }
                    }
                    Err(e) => {
                        let m = &settings.metrics;
                        m.message_in(INVALID_TYPE);
                        m.error(e.code);
                        m.message_out("error");
                        error_message(e)
                    }
                }
                }
            }
        };
        // Whatever else is already queued goes out in the same write (one syscall for a
        // burst instead of one per frame), in order; a queued close ends the batch.
        let write = async {
            sink.feed(to_send).await?;
            let mut close = None;
            for _ in 0..MAX_BATCH {
                match rx.try_recv() {
                    Ok(Outbound::Text(t)) => sink.feed(Message::Text(t.into())).await?,
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
            Ok(Ok(None)) => {}
            Ok(Ok(Some(exit))) => break exit,
            Ok(Err(_)) => break Exit::Closed,
            Err(_) => break Exit::Close(SLOW_CONSUMER_CLOSE, "write timeout".into()),
        }
    };
    // Peers learn at once; the goodbye below may take a moment with a stalled client.
    hub.disconnect(conn).await;
    if let Exit::Close(code, reason) = &exit {
        // Flush what the hub already queued (e.g. the error before a version close).
        while let Ok(Outbound::Text(t)) = rx.try_recv() {
            if !matches!(
                tokio::time::timeout(WRITE_TIMEOUT, sink.send(Message::Text(t.into()))).await,
                Ok(Ok(()))
            ) {
                return exit;
            }
        }
        let frame = CloseFrame {
            code: *code,
            reason: Utf8Bytes::from(reason.clone()),
        };
        let sent = tokio::time::timeout(
            Duration::from_secs(2),
            sink.send(Message::Close(Some(frame))),
        )
        .await;
        if matches!(sent, Ok(Ok(()))) {
            // Complete the closing handshake: wait briefly for the client's close reply,
            // so the client reads our close code instead of a reset connection.
            let _ = tokio::time::timeout(Duration::from_secs(1), async {
                while let Some(Ok(m)) = stream.next().await {
                    if matches!(m, Message::Close(_)) {
                        break;
                    }
                }
            })
            .await;
        }
    }
    exit
}

fn error_message(e: DecodeError) -> Message {
    let msg: ServerMsg = e.into();
    Message::Text(
        serde_json::to_string(&msg)
            .expect("error messages always serialize")
            .into(),
    )
}

/// Checks a `join`'s password or token (other frames pass) and takes both out of the
/// frame, so the hub never holds a secret. A token's name replaces the requested one;
/// its role is returned for the hub.
async fn admit(
    frame: &mut confab_proto::ClientFrame,
    auth: &Auth,
) -> Result<Option<confab_proto::Role>, DecodeError> {
    let ClientMsg::Join {
        room,
        name,
        password,
        token,
    } = &mut frame.msg
    else {
        return Ok(None);
    };
    match auth.check_join(room, password.take(), token.take()).await {
        Ok(grant) => {
            if let Some(n) = grant.name {
                *name = n;
            }
            Ok(grant.role)
        }
        Err(r) => Err(DecodeError {
            code: r.code,
            message: r.message,
            ref_: frame.id.clone(),
        }),
    }
}

/// The `rate_limited` error for a message dropped by the [`FloodGuard`].
fn rate_limited(settings: &ConnSettings) -> Message {
    error_message(DecodeError {
        code: ErrorCode::RateLimited,
        message: format!(
            "you are sending messages too fast (at most {} in a row, then {} a second); \
             this one was dropped",
            settings.msg_burst, settings.msg_rate
        ),
        ref_: None,
    })
}

fn is_capacity_error(e: &axum::Error) -> bool {
    // axum wraps tungstenite's error; capacity errors say "Space limit exceeded".
    let s = e.to_string();
    s.contains("Space limit exceeded") || s.contains("too long") || s.contains("Capacity")
}
