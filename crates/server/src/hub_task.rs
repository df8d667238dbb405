//! The one task that owns the signaling [`Hub`]: connections send it commands over a
//! bounded channel, it feeds them to the sans-IO core and routes the core's outputs to
//! each connection's bounded outbound queue.
//!
//! Nothing here is shared behind a lock: the task owns the hub and the map of outbound
//! queues, so there is no lock to hold across an `.await`.

use crate::metrics::Metrics;
use crate::store::Persist;
use crate::turn::ice::IceMinter;
use confab_proto::{close, ClientFrame, Role, ServerMsg};
use confab_signal::{ConnId, Hub, HubConfig, Output};
use std::collections::HashMap;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What the hub task sends to a connection's driver.
#[derive(Debug)]
pub enum Outbound {
    /// A serialized server message.
    Text(String),
    /// Close the WebSocket with this code and reason (after what is already queued).
    Close {
        /// WebSocket close code.
        code: u16,
        /// Close reason.
        reason: String,
    },
}

/// A connection's registration: where its messages go, and how to drop it at once.
pub struct ConnLink {
    /// The bounded outbound queue.
    pub tx: mpsc::Sender<Outbound>,
    /// Cancelled when the connection must go now (its queue overflowed).
    pub kill: CancellationToken,
    /// The host the browser reached us by (for the TURN URLs in its welcome).
    pub host: Option<String>,
}

enum Cmd {
    Connect(ConnId, ConnLink),
    Frame(ConnId, ClientFrame, OwnedSemaphorePermit),
    /// A `join` admitted by a join token, with the role the token grants.
    FrameAs(ConnId, ClientFrame, Role, OwnedSemaphorePermit),
    Disconnect(ConnId),
    /// Answered at once; `/readyz` uses it to see the task is alive and keeping up.
    Ready(oneshot::Sender<()>),
}

/// Cheap, cloneable handle for sending to the hub task.
#[derive(Clone)]
pub struct HubHandle {
    tx: mpsc::Sender<Cmd>,
}

/// The hub task has stopped (server shutting down).
#[derive(Debug)]
pub struct HubGone;

impl HubHandle {
    /// Registers a new connection.
    pub async fn connect(&self, conn: ConnId, link: ConnLink) -> Result<(), HubGone> {
        self.tx
            .send(Cmd::Connect(conn, link))
            .await
            .map_err(|_| HubGone)
    }
    /// Hands a decoded frame to the hub. The permit is released once the hub has
    /// processed the frame and queued its reply, which bounds a connection's requests
    /// in flight (and so the replies that can pile up in its queue).
    pub async fn frame(
        &self,
        conn: ConnId,
        frame: ClientFrame,
        permit: OwnedSemaphorePermit,
    ) -> Result<(), HubGone> {
        self.tx
            .send(Cmd::Frame(conn, frame, permit))
            .await
            .map_err(|_| HubGone)
    }
    /// [`HubHandle::frame`] for a `join` whose token granted `role`.
    pub async fn frame_as(
        &self,
        conn: ConnId,
        frame: ClientFrame,
        role: Role,
        permit: OwnedSemaphorePermit,
    ) -> Result<(), HubGone> {
        self.tx
            .send(Cmd::FrameAs(conn, frame, role, permit))
            .await
            .map_err(|_| HubGone)
    }
    /// Reports a closed connection. Safe to call more than once.
    pub async fn disconnect(&self, conn: ConnId) {
        let _ = self.tx.send(Cmd::Disconnect(conn)).await;
    }
    /// Resolves once the hub task has answered, i.e. it runs and works through its
    /// queue.
    pub async fn ready(&self) -> Result<(), HubGone> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Cmd::Ready(tx)).await.map_err(|_| HubGone)?;
        rx.await.map_err(|_| HubGone)
    }
}

/// Starts the hub task on `tracker`; it ends when every handle is dropped. With
/// `persist` (a chat store), the hub reports accepted chat messages and rooms get their
/// stored history when created.
pub fn spawn(
    mut config: HubConfig,
    seed: u64,
    ice: IceMinter,
    tracker: &TaskTracker,
    metrics: Metrics,
    persist: Option<Persist>,
) -> HubHandle {
    // Commands are small; the bound gives backpressure to readers if the hub falls behind.
    let (tx, rx) = mpsc::channel(4096);
    config.persist_chat = persist.is_some();
    let mut hub = Hub::new(config, seed);
    hub.set_token_source(random_token);
    tracker.spawn(run(hub, rx, ice, metrics, persist));
    HubHandle { tx }
}

async fn run(
    mut hub: Hub,
    mut rx: mpsc::Receiver<Cmd>,
    ice: IceMinter,
    metrics: Metrics,
    mut persist: Option<Persist>,
) {
    let mut links: HashMap<ConnId, ConnLink> = HashMap::new();
    loop {
        // Invitations ring against the hub's deadline; the hub never reads the clock, so
        // this task wakes it at `poll_timeout` (the only timer it needs).
        let deadline = hub.poll_timeout();
        let cmd = tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(cmd) => Some(cmd),
                None => break,
            },
            () = sleep_until_opt(deadline) => None,
        };
        // A join that creates a room first waits (bounded) for the room's stored chat.
        let unseeded = match (&cmd, persist.as_mut()) {
            (Some(Cmd::Frame(_, frame, _) | Cmd::FrameAs(_, frame, _, _)), Some(p)) => {
                p.before_frame(&mut hub, &frame.msg).await
            }
            _ => None,
        };
        let now = Instant::now();
        // The hub never reads a clock; chat timestamps come from here.
        hub.set_wall_clock(crate::unix_ms());
        match cmd {
            None => hub.handle_timeout(now),
            Some(Cmd::Connect(conn, link)) => {
                links.insert(conn, link);
                hub.handle_connect(conn, now);
            }
            Some(Cmd::Frame(conn, frame, _permit)) => {
                hub.handle_frame(conn, frame, now);
                if let Some(p) = persist.as_mut() {
                    p.after_frame(&hub, unseeded);
                }
            }
            Some(Cmd::FrameAs(conn, frame, role, _permit)) => {
                hub.handle_frame_as(conn, frame, Some(role), now);
                if let Some(p) = persist.as_mut() {
                    p.after_frame(&hub, unseeded);
                }
            }
            Some(Cmd::Disconnect(conn)) => {
                links.remove(&conn);
                hub.handle_disconnect(conn, now);
            }
            Some(Cmd::Ready(tx)) => {
                let _ = tx.send(());
                continue;
            }
        }
        let mut routes = Routes {
            links: &mut links,
            ice: &ice,
            metrics: &metrics,
            persist: persist.as_mut(),
        };
        routes.drain(&mut hub, now);
        metrics.set_signaling(hub.connection_count(), hub.room_count(), hub.peer_count());
        metrics.set_calls_started(hub.calls_started());
        // A frame's permit (bound above) is dropped here, after its reply is queued.
    }
    if let Some(p) = persist {
        p.close().await;
    }
}

/// A resume token: 128 bits from the OS random source (via aws-lc), hex. Tokens are
/// secrets: never log them.
fn random_token() -> String {
    let mut bytes = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        // Practically unreachable. Without randomness, make tokens nobody can present
        // (longer than `hello.resume` may be) rather than guessable ones; distinct, as
        // the hub requires.
        static UNUSABLE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = UNUSABLE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let pad = "x".repeat(confab_proto::MAX_RESUME_TOKEN_BYTES);
        return format!("{pad}{n}");
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

/// What [`Routes::drain`] needs of the hub task's state.
struct Routes<'a> {
    links: &'a mut HashMap<ConnId, ConnLink>,
    ice: &'a IceMinter,
    metrics: &'a Metrics,
    persist: Option<&'a mut Persist>,
}

impl Routes<'_> {
    /// Routes every pending output. A connection whose queue is full is dropped on the spot
    /// (its peers see it leave) rather than allowed to stall the room.
    fn drain(&mut self, hub: &mut Hub, now: Instant) {
        let Routes {
            links,
            ice,
            metrics,
            persist,
        } = self;
        while let Some(out) = hub.poll_output() {
            let (conn, item) = match out {
                Output::Send { to, mut msg } => {
                    // Each welcome gets credentials minted now, named after the peer id.
                    if let ServerMsg::Welcome {
                        peer_id,
                        ice_servers,
                        ..
                    } = &mut msg
                    {
                        let host = links.get(&to).and_then(|l| l.host.as_deref());
                        *ice_servers = ice.servers_for(peer_id.as_str(), host, crate::unix_now());
                    }
                    if let ServerMsg::Error { code, .. } = &msg {
                        metrics.error(*code);
                    }
                    match serde_json::to_string(&msg) {
                        Ok(text) => (to, Outbound::Text(text)),
                        Err(e) => {
                            tracing::error!(error = %e, "cannot serialize a server message");
                            continue;
                        }
                    }
                }
                Output::Close { conn, code, reason } => (conn, Outbound::Close { code, reason }),
                Output::ChatStored { room, message } => {
                    if let Some(p) = persist.as_deref_mut() {
                        p.stored(room, message);
                    }
                    continue;
                }
            };
            let Some(link) = links.get(&conn) else {
                continue;
            };
            if let Outbound::Text(text) = &item {
                metrics.message_out(crate::metrics::wire_type(text));
            }
            match link.tx.try_send(item) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!(conn = conn.0, "outbound queue full; dropping slow client");
                    if let Some(link) = links.remove(&conn) {
                        link.kill.cancel();
                    }
                    hub.handle_disconnect(conn, now);
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
    }
}

/// The close code a killed (slow) connection gets.
pub const SLOW_CONSUMER_CLOSE: u16 = close::SLOW_CONSUMER;
