//! Cluster mode (`--redis-url`): the task that owns this node's cluster core
//! ([`confab_cluster::Node`]) and talks to Redis for it.
//!
//! The hub task hands it what the hub says to other nodes ([`ClusterHandle::send`]) and
//! the rooms it wants to create ([`ClusterHandle::claim`]), never waiting; it hands the
//! hub back what other nodes said and the claims' outcomes ([`ToHub`]). Redis commands
//! run off this task (each a spawned round trip whose answer comes back as an input),
//! and one publisher task sends envelopes in order, pipelined in batches. So neither
//! owner task ever awaits Redis.

mod bus;
pub mod settings;

use crate::wait::sleep_until_opt;
use bus::Write;
use confab_cluster::{Input, Node, Output};
use confab_proto::{ChatMessage, RoomId};
use confab_signal::{ChatSeed, ClusterIn, ClusterOut, Moderation, NodeId, Now};
use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What the hub task may queue for the cluster task before a send fails (then the
/// rooms shared with that node are resynchronised instead).
const FROM_HUB_QUEUE: usize = 65_536;
/// Envelopes queued for the publisher.
const PUBLISH_QUEUE: usize = 65_536;
/// Most envelopes in one pipeline.
const PUBLISH_BATCH: usize = 256;
/// A Redis command that takes longer has failed.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// What the hub task asks of the cluster task.
#[derive(Debug)]
enum FromHub {
    Out(ClusterOut),
    Claim(RoomId),
    Chat(RoomId, ChatMessage),
    Moderation(RoomId, Moderation),
}

/// What the cluster task tells the hub task.
#[derive(Debug)]
pub enum ToHub {
    /// Feed it to the hub as `Input::Cluster`.
    Input(ClusterIn),
    /// This node owns `room` now, with this chat (kept in Redis, when it keeps chat):
    /// feed it to the hub as `Input::History`.
    History(RoomId, Option<ChatSeed>),
}

/// Chat kept in Redis in cluster mode, where any node can load it (the SQLite store is
/// one node's).
#[derive(Clone, Copy, Debug)]
pub struct ChatKeeping {
    /// How long a room's chat lives after its last message.
    pub retention: Duration,
    /// Messages loaded for a room's history.
    pub history: usize,
}

/// The hub task's handle on the cluster task.
#[derive(Clone, Debug)]
pub struct ClusterHandle {
    tx: mpsc::Sender<FromHub>,
    keeps_chat: bool,
}

/// The cluster queue is full (or the task gone): the message was not queued. Names
/// the node it was for, if any (the rooms shared with it need a resync).
#[derive(Debug)]
pub struct ClusterBusy(pub Option<NodeId>);

impl ClusterHandle {
    /// Queues what the hub says to another node (or a lease to give up).
    pub fn send(&self, out: ClusterOut) -> Result<(), ClusterBusy> {
        let to = match &out {
            ClusterOut::Command { to, .. } | ClusterOut::Events { to, .. } => Some(to.clone()),
            _ => None,
        };
        self.tx
            .try_send(FromHub::Out(out))
            .map_err(|_| ClusterBusy(to))
    }

    /// Asks for `room`'s lease; the answer is [`ToHub::Owned`] or an `Elsewhere`. False
    /// when the queue is full (the hub's history timeout then refuses the joins).
    pub fn claim(&self, room: RoomId) -> bool {
        self.tx.try_send(FromHub::Claim(room)).is_ok()
    }

    /// Whether rooms' chat and moderation are kept in Redis (then the hub reports them
    /// here, not to a local store).
    pub fn keeps_chat(&self) -> bool {
        self.keeps_chat
    }

    /// The hub accepted `message` in `room` (owned here): kept in Redis, in order.
    pub fn chat(&self, room: RoomId, message: ChatMessage) {
        if self.tx.try_send(FromHub::Chat(room, message)).is_err() {
            tracing::warn!("cluster queue full: a chat message is not kept");
        }
    }

    /// `room`'s moderation changed.
    pub fn moderation(&self, room: RoomId, moderation: Moderation) {
        if self
            .tx
            .try_send(FromHub::Moderation(room, moderation))
            .is_err()
        {
            tracing::warn!("cluster queue full: a room's moderation is not kept");
        }
    }
}

/// Why cluster mode could not start.
#[derive(Debug, thiserror::Error)]
#[error("cannot reach Redis at the --redis-url: {0}")]
pub struct ClusterStartError(#[from] redis::RedisError);

/// This node's name: the setting, or the host name and a random suffix.
pub fn node_id(settings: &settings::ClusterSettings) -> NodeId {
    if let Some(id) = &settings.node_id {
        return NodeId(id.clone());
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "confab".into());
    let suffix: String = crate::random::bytes::<4>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    NodeId(format!("{host}-{suffix}"))
}

/// Connects to Redis, subscribes to this node's channel and starts the cluster and
/// publisher tasks on `tracker`. Fails if Redis cannot be reached.
pub async fn spawn(
    url: &str,
    ca: Option<&std::path::Path>,
    me: NodeId,
    chat: Option<ChatKeeping>,
    tracker: &TaskTracker,
    shutdown: CancellationToken,
) -> Result<(ClusterHandle, mpsc::Receiver<ToHub>), ClusterStartError> {
    let client = match ca {
        // A private CA: rustls trusts it (and only it) for this connection.
        Some(path) => {
            let root_cert = std::fs::read(path).map_err(|e| {
                let detail = format!("{}: {e}", path.display());
                redis::RedisError::from((redis::ErrorKind::Io, "cannot read --redis-ca", detail))
            })?;
            let certs = redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(root_cert),
            };
            redis::Client::build_with_tls(url, certs)?
        }
        None => redis::Client::open(url)?,
    };
    let config = redis::aio::ConnectionManagerConfig::new()
        .set_connection_timeout(Some(REDIS_TIMEOUT))
        .set_response_timeout(Some(REDIS_TIMEOUT));
    let conn = client.get_connection_manager_with_config(config).await?;
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(bus::channel(&me)).await?;
    let (tx, from_hub) = mpsc::channel(FROM_HUB_QUEUE);
    let (to_hub, rx) = mpsc::channel(FROM_HUB_QUEUE);
    let (publish, queue) = mpsc::channel(PUBLISH_QUEUE);
    let retention_ms = chat.map_or(0, |c| {
        u64::try_from(c.retention.as_millis()).unwrap_or(u64::MAX)
    });
    tracker.spawn(writer(conn.clone(), queue, retention_ms));
    let (results_tx, results) = mpsc::unbounded_channel();
    let owner = Owner {
        node: Node::new(me.clone(), u64::from_le_bytes(crate::random::bytes::<8>())),
        conn,
        to_hub,
        publish,
        results: results_tx,
        chat,
    };
    tracing::info!(node = %me, "cluster mode: this node shares rooms over Redis");
    tracker.spawn(owner.run(from_hub, pubsub, results, client, shutdown));
    let keeps_chat = chat.is_some();
    Ok((ClusterHandle { tx, keeps_chat }, rx))
}

/// The cluster task's state.
struct Owner {
    node: Node,
    conn: ConnectionManager,
    to_hub: mpsc::Sender<ToHub>,
    /// Writes in order: envelopes, chat, moderation.
    publish: mpsc::Sender<Write>,
    /// Where spawned Redis commands send their answers.
    results: mpsc::UnboundedSender<Input>,
    /// Rooms' chat kept in Redis.
    chat: Option<ChatKeeping>,
}

fn now() -> Now {
    Now {
        mono: Instant::now(),
        unix_ms: crate::unix_ms(),
    }
}

impl Owner {
    async fn run(
        mut self,
        mut from_hub: mpsc::Receiver<FromHub>,
        pubsub: redis::aio::PubSub,
        mut results: mpsc::UnboundedReceiver<Input>,
        client: redis::Client,
        shutdown: CancellationToken,
    ) {
        let me = self.node.id().clone();
        let (inbox_tx, mut inbox) = mpsc::channel(PUBLISH_QUEUE);
        tokio::spawn(subscriber(
            client,
            me.clone(),
            pubsub,
            inbox_tx,
            shutdown.clone(),
        ));
        self.handle(Input::Timeout).await;
        loop {
            let deadline = self.node.poll_timeout();
            let input = tokio::select! {
                cmd = from_hub.recv() => match cmd {
                    Some(FromHub::Out(ClusterOut::Session { key, record })) => {
                        let json = record.and_then(|r| serde_json::to_string(&r).ok());
                        self.write(Write::Session(key, json));
                        continue;
                    }
                    Some(FromHub::Out(ClusterOut::FindSession { conn, key })) => {
                        self.find_session(conn, key);
                        continue;
                    }
                    Some(FromHub::Out(out)) => Input::Hub(out),
                    Some(FromHub::Claim(room)) => {
                        self.claim(room);
                        continue;
                    }
                    Some(FromHub::Chat(room, message)) => {
                        match serde_json::to_string(&message) {
                            Ok(json) => self.write(Write::Chat(room, json)),
                            Err(e) => tracing::error!(error = %e, "cannot serialize chat"),
                        }
                        continue;
                    }
                    Some(FromHub::Moderation(room, m)) => {
                        let json = (!m.is_empty()).then(|| serde_json::to_string(&m).ok()).flatten();
                        self.write(Write::Moderation(room, json));
                        continue;
                    }
                    None => break,
                },
                Some(bytes) = inbox.recv() => Input::Received(bytes),
                Some(result) = results.recv() => result,
                () = sleep_until_opt(deadline) => Input::Timeout,
                () = shutdown.cancelled() => {
                    self.drain().await;
                    break;
                }
            };
            self.handle(input).await;
        }
        let _ = tokio::time::timeout(REDIS_TIMEOUT, bus::leave(&mut self.conn, &me)).await;
    }

    /// This node stops: the hub stops owning, the leases are given up (waited for, so
    /// they are gone before the process is), and the other nodes are told, so they take
    /// the rooms over at once and this node's clients resume there.
    async fn drain(&mut self) {
        self.node.handle(now(), Input::Drain);
        let me = self.node.id().clone();
        let mut released = 0;
        while let Some(out) = self.node.poll_output() {
            match out {
                Output::Release { room } => {
                    let release = bus::release(&mut self.conn, &me, &room);
                    if tokio::time::timeout(REDIS_TIMEOUT, release).await.is_ok() {
                        released += 1;
                    }
                }
                Output::Publish { to, payload } => self.write(Write::Publish(to, payload)),
                Output::ToHub(input) => {
                    let _ = self.to_hub.send(ToHub::Input(input)).await;
                }
                _ => {}
            }
        }
        tracing::info!(
            rooms = released,
            "drained: rooms handed over to the other nodes"
        );
    }

    /// Feeds `input` to the core and performs its outputs.
    async fn handle(&mut self, input: Input) {
        self.node.handle(now(), input);
        while let Some(out) = self.node.poll_output() {
            match out {
                Output::Publish { to, payload } => {
                    if self
                        .publish
                        .try_send(Write::Publish(to.clone(), payload))
                        .is_err()
                    {
                        tracing::warn!(node = %to, "publish queue full: resynchronising");
                        let resync = ToHub::Input(ClusterIn::Resync { node: to });
                        let _ = self.to_hub.send(resync).await;
                    }
                }
                // Waiting here is backpressure from the hub task, which never waits for
                // this one: no cycle.
                Output::ToHub(input) => {
                    if let ClusterIn::NodeDown { node } = &input {
                        tracing::warn!(%node, "a cluster node fell silent: taking over");
                    }
                    let _ = self.to_hub.send(ToHub::Input(input)).await;
                }
                Output::Claim { room } => self.claim(room),
                Output::Owned { room } => self.load(room).await,
                Output::Renew { room } => self.renew(room),
                Output::Release { room } => self.release(room),
                Output::Beat => self.beat(),
                Output::Lost { room } => {
                    tracing::error!(%room, "lost the lease of a room this node runs");
                }
                Output::Dropped { why } => tracing::warn!(why, "dropped a cluster message"),
                other => tracing::warn!(?other, "cluster output not handled"),
            }
        }
    }

    /// Queues a write of chat or moderation (in order with the envelopes).
    fn write(&self, w: Write) {
        if self.publish.try_send(w).is_err() {
            tracing::warn!("Redis write queue full: chat or moderation not kept");
        }
    }

    /// `room` is owned here now: its chat from Redis (off this task) goes to the hub.
    async fn load(&self, room: RoomId) {
        let Some(chat) = self.chat else {
            let _ = self.to_hub.send(ToHub::History(room, None)).await;
            return;
        };
        let (mut conn, to_hub) = (self.conn.clone(), self.to_hub.clone());
        tokio::spawn(async move {
            let seed = match bus::load_chat(&mut conn, &room, chat.history).await {
                Ok(seed) => Some(seed),
                Err(e) => {
                    // The room starts without it (and is then not kept: no id clash).
                    tracing::error!(%room, error = %e, "cannot load a room's chat from Redis");
                    None
                }
            };
            let _ = to_hub.send(ToHub::History(room, seed)).await;
        });
    }

    /// Looks up a session record for a resume (off this task); the hub always hears
    /// back, `None` when Redis fails, so the connection does not wait forever.
    fn find_session(&self, conn: confab_signal::ConnId, key: String) {
        let (mut conn_r, to_hub) = (self.conn.clone(), self.to_hub.clone());
        tokio::spawn(async move {
            let record = match bus::find_session(&mut conn_r, &key).await {
                Ok(json) => json.and_then(|j| serde_json::from_str(&j).ok()),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot look up a resumed session");
                    None
                }
            };
            let found = ClusterIn::SessionFound { conn, record };
            let _ = to_hub.send(ToHub::Input(found)).await;
        });
    }

    /// Runs `op` off the task; its answer (if any) comes back as an input.
    fn spawn_op<F>(&self, op: F)
    where
        F: std::future::Future<Output = Option<Input>> + Send + 'static,
    {
        let results = self.results.clone();
        tokio::spawn(async move {
            if let Some(input) = op.await {
                let _ = results.send(input);
            }
        });
    }

    fn claim(&self, room: RoomId) {
        let (mut conn, me) = (self.conn.clone(), self.node.id().clone());
        self.spawn_op(async move {
            let sent = Instant::now();
            match bus::claim(&mut conn, &me, &room).await {
                Ok(owner) => Some(Input::Claimed { room, owner, sent }),
                Err(e) => {
                    // The hub's history timeout refuses the parked joins.
                    tracing::error!(%room, error = %e, "cannot claim a room's lease");
                    None
                }
            }
        });
    }

    fn renew(&self, room: RoomId) {
        let (mut conn, me) = (self.conn.clone(), self.node.id().clone());
        self.spawn_op(async move {
            match bus::renew(&mut conn, &me, &room).await {
                Ok(ok) => Some(Input::Renewed { room, ok }),
                Err(e) => {
                    // Unanswered, the lease runs out on its own.
                    tracing::warn!(%room, error = %e, "cannot renew a room's lease");
                    None
                }
            }
        });
    }

    fn release(&self, room: RoomId) {
        let (mut conn, me) = (self.conn.clone(), self.node.id().clone());
        self.spawn_op(async move {
            if let Err(e) = bus::release(&mut conn, &me, &room).await {
                tracing::warn!(%room, error = %e, "cannot release a room's lease (it expires)");
            }
            None
        });
    }

    fn beat(&self) {
        let (mut conn, me) = (self.conn.clone(), self.node.id().clone());
        self.spawn_op(async move {
            match bus::beat(&mut conn, &me, crate::unix_ms()).await {
                Ok(beats) => Some(Input::Nodes { beats }),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot write this node's heartbeat");
                    None
                }
            }
        });
    }
}

/// Passes what arrives on this node's channel to the cluster task, subscribing again
/// (off that task) when the subscription drops: what was published meanwhile is lost,
/// and the next message from each node shows the gap.
async fn subscriber(
    client: redis::Client,
    me: NodeId,
    pubsub: redis::aio::PubSub,
    inbox: mpsc::Sender<Vec<u8>>,
    shutdown: CancellationToken,
) {
    let mut pubsub = Some(pubsub);
    loop {
        if let Some(p) = pubsub.take() {
            let mut messages = p.into_on_message();
            loop {
                let msg = tokio::select! {
                    msg = messages.next() => msg,
                    () = shutdown.cancelled() => return,
                };
                let Some(msg) = msg else { break };
                if inbox.send(msg.get_payload_bytes().to_vec()).await.is_err() {
                    return;
                }
            }
            tracing::warn!("the Redis subscription dropped; subscribing again");
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
            () = shutdown.cancelled() => return,
        }
        match client.get_async_pubsub().await {
            Ok(mut p) => match p.subscribe(bus::channel(&me)).await {
                Ok(()) => pubsub = Some(p),
                Err(e) => tracing::warn!(error = %e, "cannot subscribe to this node's channel"),
            },
            Err(e) => tracing::warn!(error = %e, "cannot reach Redis to subscribe"),
        }
    }
}

/// Performs writes in the order queued, as many at once as are waiting.
async fn writer(mut conn: ConnectionManager, mut queue: mpsc::Receiver<Write>, retention_ms: u64) {
    let mut batch = Vec::with_capacity(PUBLISH_BATCH);
    while queue.recv_many(&mut batch, PUBLISH_BATCH).await > 0 {
        if let Err(e) = bus::write(&mut conn, &batch, retention_ms).await {
            // Lost: each addressee sees the gap at the next message and resynchronises.
            tracing::warn!(error = %e, n = batch.len(), "cannot write to Redis");
        }
        batch.clear();
    }
}
