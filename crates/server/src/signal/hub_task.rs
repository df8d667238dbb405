//! The one task that owns the signaling [`Hub`]: connections send it commands over a
//! bounded channel, it feeds them to the sans-IO core as [`Input`]s and performs the
//! core's [`Output`]s: messages to each connection's bounded outbound queue, loads and
//! writes to the chat store (chat, and rooms' moderation), revocations to the TURN
//! server, events to the metrics.
//!
//! Nothing here is shared behind a lock: the task owns the hub and the map of outbound
//! queues, so there is no lock to hold across an `.await`. And it never awaits IO: a
//! store load goes out as a request and comes back as one more thing the task selects
//! on, so a slow disk delays only the room that waits for it.

use crate::cluster::{ClusterBusy, ClusterHandle, ToHub};
use crate::metrics::Metrics;
use crate::sfu::{SfuBusy, SfuHandle};
use crate::store::{Loaded, Persist};
use crate::turn::TurnRevoker;
use crate::wait::{recv_opt, recv_unbounded_opt, sleep_until_opt};
use axum::extract::ws::Utf8Bytes;
use confab_proto::{close, ClientFrame, RequestId, RoomId, ServerMsg};
use confab_signal::{
    ConnId, Event, Grant, Hub, HubConfig, Input, MediaCommand, MediaEvent, Now, Output,
};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc::{self, UnboundedReceiver};
use tokio::sync::{oneshot, OwnedSemaphorePermit};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What the hub task sends to a connection's driver.
#[derive(Debug)]
pub enum Outbound {
    /// A serialized server message. Shared: a message fanned out to a room is
    /// serialized once and each queue holds a reference.
    Text(Utf8Bytes),
    /// Close the WebSocket with this code and reason (after what is already queued).
    Close {
        /// WebSocket close code.
        code: u16,
        /// Close reason.
        reason: String,
    },
}

impl Outbound {
    /// What it counts against a queue's byte bound: its text (a shared text counts in
    /// full in every queue, as each queue keeps it alive).
    pub fn bytes(&self) -> usize {
        match self {
            Outbound::Text(t) => t.len(),
            Outbound::Close { .. } => 0,
        }
    }
}

/// The bytes queued to one connection and not yet taken by its driver: the hub task
/// adds what it queues, the connection subtracts what it takes.
#[derive(Clone, Debug, Default)]
pub struct QueuedBytes(Arc<AtomicUsize>);

impl QueuedBytes {
    /// The bytes queued now.
    pub fn get(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
    /// `out` left the queue.
    pub fn taken(&self, out: &Outbound) {
        self.0.fetch_sub(out.bytes(), Ordering::Relaxed);
    }
    fn added(&self, out: &Outbound) {
        self.0.fetch_add(out.bytes(), Ordering::Relaxed);
    }
}

/// A connection's registration: where its messages go, and how to drop it at once.
pub struct ConnLink {
    /// The bounded outbound queue (bounded in messages by its capacity).
    pub tx: mpsc::Sender<Outbound>,
    /// Cancelled when the connection must go now (its queue overflowed).
    pub kill: CancellationToken,
    /// The bytes in `tx`'s queue.
    pub queued: QueuedBytes,
    /// Most bytes the queue may hold: a message that would go over it drops the client
    /// as a slow consumer, as a full queue does. A count alone let a client that stopped
    /// reading pin 256 `joined` snapshots of a long history (hundreds of MB).
    pub max_bytes: usize,
}

/// Where a connection comes from, as the HTTP layer saw it; the hub gets both in
/// `Input::Connect`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Remote {
    /// The host (no port) the browser reached us by, from the request's `Host`.
    pub host: Option<String>,
    /// The client's address: the TCP peer (behind a reverse proxy, the proxy's).
    pub ip: Option<IpAddr>,
}

enum Cmd {
    /// A new connection, and where it comes from.
    Connect(ConnId, ConnLink, Remote),
    /// A decoded frame, and what a join token granted.
    Frame(ConnId, ClientFrame, Option<Grant>, OwnedSemaphorePermit),
    /// A closed connection; `true` for a clean close (see `Input::Disconnect`).
    Disconnect(ConnId, bool),
    /// Answered at once; `/readyz` uses it to see the task is alive and keeping up.
    Ready(oneshot::Sender<()>),
    /// Whether a room is locked to a connection, answered at once (see
    /// [`HubHandle::locked`]).
    Locked(RoomId, ConnId, oneshot::Sender<bool>),
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
    /// Registers a new connection that comes from `remote`.
    pub async fn connect(
        &self,
        conn: ConnId,
        link: ConnLink,
        remote: Remote,
    ) -> Result<(), HubGone> {
        self.tx
            .send(Cmd::Connect(conn, link, remote))
            .await
            .map_err(|_| HubGone)
    }
    /// Hands a decoded frame to the hub, with what a join token granted (`grant`).
    /// The permit is released once the hub has processed the frame and queued its
    /// reply, which bounds a connection's requests in flight (and so the replies that
    /// can pile up in its queue).
    pub async fn frame(
        &self,
        conn: ConnId,
        frame: ClientFrame,
        grant: Option<Grant>,
        permit: OwnedSemaphorePermit,
    ) -> Result<(), HubGone> {
        self.tx
            .send(Cmd::Frame(conn, frame, grant, permit))
            .await
            .map_err(|_| HubGone)
    }
    /// Reports a closed connection; `clean` when the client closed it on purpose (it
    /// leaves its room at once instead of being held for a resume). Safe to call more
    /// than once.
    pub async fn disconnect(&self, conn: ConnId, clean: bool) {
        let _ = self.tx.send(Cmd::Disconnect(conn, clean)).await;
    }
    /// Whether `room` is locked now to a tokenless join from `conn` (a member taking its
    /// place back after a restart is not). Admission asks before it verifies a password,
    /// so a locked room never tells a right password from a wrong one (and costs no
    /// argon2). A room locked after the answer still refuses the join in the hub.
    pub async fn locked(&self, room: RoomId, conn: ConnId) -> Result<bool, HubGone> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Cmd::Locked(room, conn, tx))
            .await
            .map_err(|_| HubGone)?;
        rx.await.map_err(|_| HubGone)
    }
    /// Resolves once the hub task has answered, i.e. it runs and works through its
    /// queue.
    pub async fn ready(&self) -> Result<(), HubGone> {
        let (tx, rx) = oneshot::channel();
        self.tx.send(Cmd::Ready(tx)).await.map_err(|_| HubGone)?;
        rx.await.map_err(|_| HubGone)
    }
}

/// The other subsystems the hub task works with, each optional.
#[derive(Default)]
pub struct Services {
    /// A chat store and the receiver of its answers: rooms get their stored history
    /// when created, and accepted chat messages are stored.
    pub persist: Option<(Persist, UnboundedReceiver<Loaded>)>,
    /// The SFU and the receiver of its events, when calls may use it.
    pub sfu: Option<(SfuHandle, mpsc::Receiver<MediaEvent>)>,
    /// The built-in TURN server: a member who leaves for good has its TURN user revoked.
    pub turn: Option<TurnRevoker>,
    /// The recordings hosts may list (with download links).
    pub recordings: Option<Arc<crate::record::Links>>,
    /// Cluster mode: the cluster task and the receiver of what it tells the hub.
    pub cluster: Option<(ClusterHandle, mpsc::Receiver<ToHub>)>,
}

/// Starts the hub task on `tracker`; it ends when every handle is dropped. `seed`
/// seeds the hub's CSPRNG (32 bytes from the OS in a server).
pub fn spawn(
    mut config: HubConfig,
    seed: [u8; 32],
    tracker: &TaskTracker,
    metrics: Metrics,
    services: Services,
) -> HubHandle {
    let Services {
        persist,
        sfu,
        turn,
        recordings,
        cluster,
    } = services;
    // Commands are small; the bound gives backpressure to readers if the hub falls behind.
    let (tx, rx) = mpsc::channel(4096);
    let cluster_chat = cluster.as_ref().is_some_and(|(c, _)| c.keeps_chat());
    config.persist_chat = persist.is_some() || cluster_chat;
    config.cluster = cluster.is_some();
    let (cluster, from_cluster) = match cluster {
        Some((c, rx)) => (Some(c), Some(rx)),
        None => (None, None),
    };
    let hub = Hub::new(config, seed);
    let (persist, loaded) = match persist {
        Some((p, rx)) => (Some(p), Some(rx)),
        None => (None, None),
    };
    let (sfu, media) = match sfu {
        Some((s, rx)) => (Some(s), Some(rx)),
        None => (None, None),
    };
    // Answers worked out off the task (recordings listings: file IO), a few at a time.
    let (answers_tx, answers) = mpsc::channel(16);
    let owner = Owner {
        hub,
        links: HashMap::new(),
        metrics,
        persist,
        sfu,
        turn,
        recordings,
        answers: answers_tx,
        cluster,
        resynced: HashMap::new(),
        snapshots: super::snapshots::Snapshots::default(),
    };
    tracker.spawn(owner.run(rx, loaded, media, answers, from_cluster));
    HubHandle { tx }
}

/// The hub task's state.
struct Owner {
    hub: Hub,
    links: HashMap<ConnId, ConnLink>,
    metrics: Metrics,
    persist: Option<Persist>,
    /// The SFU, when calls may use it.
    sfu: Option<SfuHandle>,
    turn: Option<TurnRevoker>,
    /// The recordings hosts may list and download, when recording works.
    recordings: Option<Arc<crate::record::Links>>,
    /// Where answers worked out off the task come back (see `run`).
    answers: mpsc::Sender<(ConnId, ServerMsg)>,
    /// The cluster task, in cluster mode.
    cluster: Option<ClusterHandle>,
    /// When each node's shared rooms were last resynchronised for a full queue.
    resynced: HashMap<confab_signal::NodeId, Instant>,
    /// Each room's chat history, encoded once for its `joined` snapshots.
    snapshots: super::snapshots::Snapshots,
}

impl Owner {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Cmd>,
        mut loaded: Option<UnboundedReceiver<Loaded>>,
        mut media: Option<mpsc::Receiver<MediaEvent>>,
        mut answers: mpsc::Receiver<(ConnId, ServerMsg)>,
        mut from_cluster: Option<mpsc::Receiver<ToHub>>,
    ) {
        loop {
            // The hub never reads the clock: this task wakes it at `poll_timeout`.
            let deadline = self.hub.poll_timeout();
            let input = tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.command(cmd),
                    None => break,
                },
                Some(answer) = recv_unbounded_opt(&mut loaded) => {
                    let (room, seed) = match &self.persist {
                        Some(p) => p.answer(answer),
                        None => answer,
                    };
                    Some((Input::History { room, seed }, None))
                }
                Some(event) = recv_opt(&mut media) => Some((Input::Media(event), None)),
                Some(said) = recv_opt(&mut from_cluster) => match said {
                    ToHub::Input(input) => Some((Input::Cluster(input), None)),
                    ToHub::History(room, seed) => Some((Input::History { room, seed }, None)),
                },
                Some((conn, msg)) = answers.recv() => {
                    let now = Now { mono: Instant::now(), unix_ms: crate::unix_ms() };
                    self.answer(conn, msg, now);
                    None
                }
                () = sleep_until_opt(deadline) => Some((Input::Timeout, None)),
            };
            let Some((input, _permit)) = input else {
                continue;
            };
            let now = Now {
                mono: Instant::now(),
                unix_ms: crate::unix_ms(),
            };
            self.hub.handle(now, input);
            self.drain(now);
            let hub = &self.hub;
            let metrics = &self.metrics;
            metrics.set_signaling(hub.connection_count(), hub.room_count(), hub.peer_count());
            metrics.set_detached(hub.detached_count());
            metrics.set_sfu_endpoints(hub.media_endpoints());
            // A frame's permit (bound above) is dropped here, after its reply is queued.
        }
        if let Some(p) = self.persist {
            p.close().await;
        }
    }

    /// Turns a command into the hub's input (and the frame's permit), or answers it
    /// here.
    fn command(&mut self, cmd: Cmd) -> Option<(Input, Option<OwnedSemaphorePermit>)> {
        Some(match cmd {
            Cmd::Connect(conn, link, Remote { host, ip }) => {
                self.links.insert(conn, link);
                (Input::Connect { conn, host, ip }, None)
            }
            Cmd::Frame(conn, frame, grant, permit) => {
                (Input::Frame { conn, frame, grant }, Some(permit))
            }
            Cmd::Disconnect(conn, clean) => {
                self.links.remove(&conn);
                (Input::Disconnect { conn, clean }, None)
            }
            Cmd::Ready(tx) => {
                let _ = tx.send(());
                return None;
            }
            Cmd::Locked(room, conn, tx) => {
                let _ = tx.send(self.hub.room_locked_to(&room, conn));
                return None;
            }
        })
    }

    /// Performs every pending output. A connection whose queue is full is dropped on
    /// the spot (its peers see it leave) rather than allowed to stall the room.
    fn drain(&mut self, now: Now) {
        // A broadcast comes out as consecutive `Send`s of one message: serialize it once
        // and share the text (comparing is far cheaper than encoding). Measured with
        // confab-load's max-rate chat run (1,000 clients, rooms of 10): 388-466k -> 662-690k
        // deliveries/s, alternating builds 4 times each.
        let mut last: Option<(ServerMsg, Utf8Bytes)> = None;
        while let Some(out) = self.hub.poll_output() {
            let (conn, item) = match out {
                Output::Send { to, mut msg } => {
                    if let confab_proto::ServerMsg::Error { code, .. } = &msg {
                        self.metrics.error(*code);
                    }
                    if !self.links.contains_key(&to) {
                        continue;
                    }
                    self.metrics.message_out(msg.type_name());
                    match &last {
                        Some((m, text)) if *m == msg => (to, Outbound::Text(text.clone())),
                        _ => match self.snapshots.encode(&mut msg) {
                            Ok(text) => {
                                let text = Utf8Bytes::from(text);
                                last = Some((msg, text.clone()));
                                (to, Outbound::Text(text))
                            }
                            Err(e) => {
                                tracing::error!(error = %e, "cannot serialize a server message");
                                continue;
                            }
                        },
                    }
                }
                Output::Close { conn, code, reason } => (conn, Outbound::Close { code, reason }),
                Output::LoadHistory { room } => {
                    // In a cluster the room's lease comes first; its chat once it is ours.
                    if let Some(c) = &self.cluster {
                        if !c.claim(room.clone()) {
                            tracing::warn!(%room, "cluster queue full: the join will be refused");
                        }
                    } else if let Some(p) = self.persist.as_mut() {
                        p.load(room);
                    }
                    continue;
                }
                Output::Cluster(out) => {
                    self.cluster_out(out, now);
                    continue;
                }
                Output::ChatStored { room, message } => {
                    if let Some(c) = self.cluster.as_ref().filter(|c| c.keeps_chat()) {
                        c.chat(room, message);
                    } else if let Some(p) = self.persist.as_mut() {
                        p.stored(room, message);
                    }
                    continue;
                }
                Output::RevokeTurnUser { user, until_unix } => {
                    if let Some(turn) = &self.turn {
                        turn.revoke(&user, until_unix);
                    }
                    continue;
                }
                Output::Media(cmd) => {
                    self.media(cmd, now);
                    continue;
                }
                Output::ModerationStored { room, moderation } => {
                    if let Some(c) = self.cluster.as_ref().filter(|c| c.keeps_chat()) {
                        c.moderation(room, moderation);
                    } else if let Some(p) = self.persist.as_mut() {
                        p.moderation(room, moderation);
                    }
                    continue;
                }
                Output::Event(event) => {
                    self.event(event);
                    continue;
                }
                Output::ListRecordings { conn, room, ref_ } => {
                    self.list_recordings(conn, room, ref_);
                    continue;
                }
            };
            self.push(conn, item, now);
        }
    }

    /// Lists `room`'s recordings off the task (file IO); the answer comes back through
    /// `answers`. Without recording (no SFU), the list is empty.
    fn list_recordings(&mut self, conn: ConnId, room: RoomId, ref_: Option<RequestId>) {
        let Some(links) = self.recordings.clone() else {
            let list = Vec::new();
            let _ = self
                .answers
                .try_send((conn, ServerMsg::Recordings { ref_, list }));
            return;
        };
        let answers = self.answers.clone();
        tokio::task::spawn_blocking(move || {
            let list = links.list(&room);
            let _ = answers.blocking_send((conn, ServerMsg::Recordings { ref_, list }));
        });
    }

    /// Sends an answer worked out off the task to `conn`, if it is still here.
    fn answer(&mut self, conn: ConnId, msg: ServerMsg, now: Now) {
        self.metrics.message_out(msg.type_name());
        match serde_json::to_string(&msg) {
            Ok(text) => self.push(conn, Outbound::Text(Utf8Bytes::from(text)), now),
            Err(e) => tracing::error!(error = %e, "cannot serialize a server message"),
        }
    }

    /// Queues `item` for `conn`; a queue over its bounds drops the connection.
    fn push(&mut self, conn: ConnId, item: Outbound, now: Now) {
        let Some(link) = self.links.get(&conn) else {
            return;
        };
        if link.queued.get() + item.bytes() > link.max_bytes {
            self.drop_slow(conn, now, "outbound queue over its byte bound");
            return;
        }
        link.queued.added(&item);
        match link.tx.try_send(item) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.drop_slow(conn, now, "outbound queue full");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// Drops `conn` at once (its peers see it leave) because its queue overflowed.
    fn drop_slow(&mut self, conn: ConnId, now: Now, why: &'static str) {
        tracing::warn!(conn = conn.0, why, "dropping slow client");
        if let Some(link) = self.links.remove(&conn) {
            link.kill.cancel();
        }
        // Not clean: a slow client may be on a bad network and come back.
        let clean = false;
        self.hub.handle(now, Input::Disconnect { conn, clean });
    }

    /// Passes `cmd` to the SFU; a full queue fails it back to the hub at once (the
    /// member hears `media_failed` and may offer again).
    fn media(&mut self, cmd: MediaCommand, now: Now) {
        let Some(sfu) = &self.sfu else {
            tracing::error!("the hub asked for the SFU, which is not running");
            return;
        };
        let Err(SfuBusy(cmd)) = sfu.command(cmd) else {
            return;
        };
        let (endpoint, gone) = match cmd {
            MediaCommand::Join { endpoint, .. } => (endpoint, true),
            MediaCommand::Offer { endpoint, .. } | MediaCommand::Answer { endpoint, .. } => {
                (endpoint, false)
            }
            // A lost change of the right to publish must not leave a viewer publishing:
            // the member starts over with a fresh endpoint, which gets the right flag.
            MediaCommand::Publish { endpoint, .. } => (endpoint, true),
            // The SFU's idle timeout frees it; a view is sent again on the next change.
            MediaCommand::Leave { .. } | MediaCommand::View { .. } => return,
            MediaCommand::Record { group, on, .. } => {
                tracing::error!(
                    group,
                    on,
                    "the SFU's queue is full: a recording start or stop was lost"
                );
                return;
            }
        };
        let message = "busy, try again".to_owned();
        let event = MediaEvent::Failed {
            endpoint,
            message,
            gone,
        };
        self.hub.handle(now, Input::Media(event));
    }

    /// Passes what the hub says to another node on; a full queue resynchronises the rooms
    /// shared with that node instead (nothing is silently out of step).
    fn cluster_out(&mut self, out: confab_signal::ClusterOut, now: Now) {
        let Some(cluster) = &self.cluster else {
            tracing::error!("the hub spoke to a cluster, which is not running");
            return;
        };
        let Err(ClusterBusy(to)) = cluster.send(out) else {
            return;
        };
        let Some(node) = to else {
            tracing::warn!("cluster queue full: a lease release was dropped (it expires)");
            return;
        };
        // At most once a second per node: the resync's own messages may meet a full
        // queue too, and must not loop.
        let last = self.resynced.get(&node);
        if last.is_some_and(|at| now.mono.duration_since(*at) < Duration::from_secs(1)) {
            return;
        }
        self.resynced.insert(node.clone(), now.mono);
        tracing::warn!(%node, "cluster queue full: resynchronising the rooms shared with it");
        let resync = confab_signal::ClusterIn::Resync { node };
        self.hub.handle(now, Input::Cluster(resync));
    }

    fn event(&self, event: Event) {
        match event {
            Event::CallStarted { .. } => self.metrics.call_started(),
            Event::CallConnected { pair, setup_ms } => self.metrics.call_connected(pair, setup_ms),
            Event::HoldRefused => self.metrics.hold_refused(),
            other => tracing::debug!(?other, "hub event not counted"),
        }
    }
}

/// The close code a killed (slow) connection gets.
pub const SLOW_CONSUMER_CLOSE: u16 = close::SLOW_CONSUMER;

#[cfg(test)]
#[path = "hub_task_tests.rs"]
mod tests;
