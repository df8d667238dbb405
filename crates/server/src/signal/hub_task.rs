//! The one task that owns the signaling [`Hub`]: connections send it commands over a
//! bounded channel, it feeds them to the sans-IO core as [`Input`]s and performs the
//! core's [`Output`]s: messages to each connection's bounded outbound queue, loads and
//! writes to the chat store, events to the metrics.
//!
//! Nothing here is shared behind a lock: the task owns the hub and the map of outbound
//! queues, so there is no lock to hold across an `.await`. And it never awaits IO: a
//! store load goes out as a request and comes back as one more thing the task selects
//! on, so a slow disk delays only the room that waits for it.

use crate::metrics::Metrics;
use crate::store::{Loaded, Persist};
use axum::extract::ws::Utf8Bytes;
use confab_proto::{close, ClientFrame, Role, ServerMsg};
use confab_signal::{ConnId, Event, Hub, HubConfig, Input, Now, Output};
use std::collections::HashMap;
use std::time::Instant;
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

/// A connection's registration: where its messages go, and how to drop it at once.
pub struct ConnLink {
    /// The bounded outbound queue.
    pub tx: mpsc::Sender<Outbound>,
    /// Cancelled when the connection must go now (its queue overflowed).
    pub kill: CancellationToken,
}

enum Cmd {
    /// A new connection, and the host (from the request) it reached us by.
    Connect(ConnId, ConnLink, Option<String>),
    /// A decoded frame, and the role a join token granted.
    Frame(ConnId, ClientFrame, Option<Role>, OwnedSemaphorePermit),
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
    /// Registers a new connection that reached us by `host`.
    pub async fn connect(
        &self,
        conn: ConnId,
        link: ConnLink,
        host: Option<String>,
    ) -> Result<(), HubGone> {
        self.tx
            .send(Cmd::Connect(conn, link, host))
            .await
            .map_err(|_| HubGone)
    }
    /// Hands a decoded frame to the hub, with the role a join token granted (`grant`).
    /// The permit is released once the hub has processed the frame and queued its
    /// reply, which bounds a connection's requests in flight (and so the replies that
    /// can pile up in its queue).
    pub async fn frame(
        &self,
        conn: ConnId,
        frame: ClientFrame,
        grant: Option<Role>,
        permit: OwnedSemaphorePermit,
    ) -> Result<(), HubGone> {
        self.tx
            .send(Cmd::Frame(conn, frame, grant, permit))
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

/// Starts the hub task on `tracker`; it ends when every handle is dropped. `seed`
/// seeds the hub's CSPRNG (32 bytes from the OS in a server). With `persist` (a chat
/// store and the receiver of its answers), rooms get their stored history when created
/// and accepted chat messages are stored.
pub fn spawn(
    mut config: HubConfig,
    seed: [u8; 32],
    tracker: &TaskTracker,
    metrics: Metrics,
    persist: Option<(Persist, UnboundedReceiver<Loaded>)>,
) -> HubHandle {
    // Commands are small; the bound gives backpressure to readers if the hub falls behind.
    let (tx, rx) = mpsc::channel(4096);
    config.persist_chat = persist.is_some();
    let hub = Hub::new(config, seed);
    let (persist, loaded) = match persist {
        Some((p, rx)) => (Some(p), Some(rx)),
        None => (None, None),
    };
    let owner = Owner {
        hub,
        links: HashMap::new(),
        metrics,
        persist,
    };
    tracker.spawn(owner.run(rx, loaded));
    HubHandle { tx }
}

/// The hub task's state.
struct Owner {
    hub: Hub,
    links: HashMap<ConnId, ConnLink>,
    metrics: Metrics,
    persist: Option<Persist>,
}

impl Owner {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<Cmd>,
        mut loaded: Option<UnboundedReceiver<Loaded>>,
    ) {
        loop {
            // The hub never reads the clock: this task wakes it at `poll_timeout`.
            let deadline = self.hub.poll_timeout();
            let input = tokio::select! {
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.command(cmd),
                    None => break,
                },
                Some(answer) = recv_opt(&mut loaded) => {
                    let (room, seed) = match &self.persist {
                        Some(p) => p.answer(answer),
                        None => answer,
                    };
                    Some((Input::History { room, seed }, None))
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
            Cmd::Connect(conn, link, host) => {
                self.links.insert(conn, link);
                (Input::Connect { conn, host }, None)
            }
            Cmd::Frame(conn, frame, grant, permit) => {
                (Input::Frame { conn, frame, grant }, Some(permit))
            }
            Cmd::Disconnect(conn) => {
                self.links.remove(&conn);
                (Input::Disconnect { conn }, None)
            }
            Cmd::Ready(tx) => {
                let _ = tx.send(());
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
                Output::Send { to, msg } => {
                    if let confab_proto::ServerMsg::Error { code, .. } = &msg {
                        self.metrics.error(*code);
                    }
                    if !self.links.contains_key(&to) {
                        continue;
                    }
                    self.metrics.message_out(msg.type_name());
                    match &last {
                        Some((m, text)) if *m == msg => (to, Outbound::Text(text.clone())),
                        _ => match serde_json::to_string(&msg) {
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
                    if let Some(p) = self.persist.as_mut() {
                        p.load(room);
                    }
                    continue;
                }
                Output::ChatStored { room, message } => {
                    if let Some(p) = self.persist.as_mut() {
                        p.stored(room, message);
                    }
                    continue;
                }
                Output::Event(event) => {
                    self.event(event);
                    continue;
                }
            };
            let Some(link) = self.links.get(&conn) else {
                continue;
            };
            match link.tx.try_send(item) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => {
                    tracing::warn!(conn = conn.0, "outbound queue full; dropping slow client");
                    if let Some(link) = self.links.remove(&conn) {
                        link.kill.cancel();
                    }
                    self.hub.handle(now, Input::Disconnect { conn });
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
    }

    fn event(&self, event: Event) {
        match event {
            Event::CallStarted { .. } => self.metrics.call_started(),
            Event::CallConnected { pair, setup_ms } => self.metrics.call_connected(pair, setup_ms),
            other => tracing::debug!(?other, "hub event not counted"),
        }
    }
}

/// The next answer on `rx`, or never when there is no store.
async fn recv_opt(rx: &mut Option<UnboundedReceiver<Loaded>>) -> Option<Loaded> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

/// The close code a killed (slow) connection gets.
pub const SLOW_CONSUMER_CLOSE: u16 = close::SLOW_CONSUMER;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::tests::TempDir;
    use crate::store::ChatStore;
    use confab_proto::{ClientMsg, RoomId, ServerMsg, PROTOCOL_VERSION};
    use std::sync::Arc;
    use std::time::Duration;
    use tokio::sync::Semaphore;

    /// One connection to the hub task over channels, as `ws.rs` would hold it.
    struct Client {
        conn: ConnId,
        hub: HubHandle,
        rx: mpsc::Receiver<Outbound>,
        permits: Arc<Semaphore>,
    }

    impl Client {
        async fn connect(hub: &HubHandle, n: u64) -> Client {
            let (tx, rx) = mpsc::channel(64);
            let link = ConnLink {
                tx,
                kill: CancellationToken::new(),
            };
            hub.connect(ConnId(n), link, None).await.unwrap();
            let mut c = Client {
                conn: ConnId(n),
                hub: hub.clone(),
                rx,
                permits: Arc::new(Semaphore::new(16)),
            };
            c.send(ClientMsg::Hello {
                version: PROTOCOL_VERSION,
                resume: None,
            })
            .await;
            assert!(matches!(c.next().await, ServerMsg::Welcome { .. }));
            c
        }

        async fn send(&mut self, msg: ClientMsg) {
            let permit = self.permits.clone().acquire_owned().await.unwrap();
            let frame = ClientFrame { id: None, msg };
            self.hub
                .frame(self.conn, frame, None, permit)
                .await
                .unwrap();
        }

        async fn join(&mut self, room: &str) {
            let room = RoomId::parse(room).unwrap();
            let (name, password, token) = ("n".into(), None, None);
            self.send(ClientMsg::Join {
                room,
                name,
                password,
                token,
            })
            .await;
        }

        async fn next(&mut self) -> ServerMsg {
            match tokio::time::timeout(Duration::from_secs(10), self.rx.recv()).await {
                Ok(Some(Outbound::Text(t))) => serde_json::from_str(&t).unwrap(),
                other => panic!("expected a message, got {other:?}"),
            }
        }

        /// The next message that is not about presence or other people joining.
        async fn next_chat_or_joined(&mut self) -> ServerMsg {
            loop {
                match self.next().await {
                    m @ (ServerMsg::Chat { .. } | ServerMsg::Joined { .. }) => return m,
                    _ => continue,
                }
            }
        }
    }

    /// The proof: a store that takes 2 s to load one room delays no message in
    /// another room, because the owner task never awaits the store.
    #[tokio::test]
    async fn a_store_that_takes_2_s_per_load_delays_no_message_in_another_room() {
        let dir = TempDir::new("slow");
        let delay = Duration::from_secs(2);
        let store = ChatStore::open_slow(&dir.0, Duration::from_secs(86_400), delay).unwrap();
        let tracker = TaskTracker::new();
        let config = HubConfig {
            history_timeout: Duration::from_secs(30),
            ..HubConfig::default()
        };
        let persist = Some(Persist::new(store, 100));
        let hub = spawn(config, [3; 32], &tracker, Metrics::new(false), persist);

        // Grace and Linus are in room "b" (its own load took 2 s).
        let mut grace = Client::connect(&hub, 1).await;
        let mut linus = Client::connect(&hub, 2).await;
        grace.join("b").await;
        linus.join("b").await;
        assert!(matches!(
            grace.next_chat_or_joined().await,
            ServerMsg::Joined { .. }
        ));
        assert!(matches!(
            linus.next_chat_or_joined().await,
            ServerMsg::Joined { .. }
        ));

        // Ada creates room "a": its load takes 2 s. Meanwhile "b" chats on.
        let mut ada = Client::connect(&hub, 3).await;
        let asked = Instant::now();
        ada.join("a").await;
        let mut slowest = Duration::ZERO;
        for i in 0..10 {
            let sent = Instant::now();
            grace
                .send(ClientMsg::Chat {
                    text: format!("m{i}"),
                })
                .await;
            let got = linus.next_chat_or_joined().await;
            assert!(matches!(got, ServerMsg::Chat { .. }), "{got:?}");
            slowest = slowest.max(sent.elapsed());
        }
        assert!(
            slowest < Duration::from_millis(500),
            "a chat in another room took {slowest:?} while a room loaded"
        );
        assert!(asked.elapsed() < delay, "room b was served during the load");
        assert!(ada.rx.try_recv().is_err(), "Ada is not in yet");
        assert!(matches!(
            ada.next_chat_or_joined().await,
            ServerMsg::Joined { .. }
        ));
        assert!(
            asked.elapsed() >= delay,
            "Ada's join waited for her room's history"
        );
    }
}
