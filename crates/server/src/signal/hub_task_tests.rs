//! The hub task's tests: a slow store delays no other room, a client that stops reading
//! is dropped by the bytes queued.
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
    kill: CancellationToken,
    queued: QueuedBytes,
}

impl Client {
    async fn connect(hub: &HubHandle, n: u64) -> Client {
        Client::connect_with(hub, n, 1 << 20).await
    }

    /// A client whose queue holds at most `max_bytes`.
    async fn connect_with(hub: &HubHandle, n: u64, max_bytes: usize) -> Client {
        let (tx, rx) = mpsc::channel(64);
        let (kill, queued) = (CancellationToken::new(), QueuedBytes::default());
        let link = ConnLink {
            tx,
            kill: kill.clone(),
            queued: queued.clone(),
            max_bytes,
        };
        hub.connect(ConnId(n), link, Remote::default())
            .await
            .unwrap();
        let mut c = Client {
            conn: ConnId(n),
            hub: hub.clone(),
            rx,
            permits: Arc::new(Semaphore::new(16)),
            kill,
            queued,
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
        let got = tokio::time::timeout(Duration::from_secs(10), self.rx.recv()).await;
        if let Ok(Some(out)) = &got {
            self.queued.taken(out);
        }
        match got {
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

/// The issue's proof: a store that takes 2 s to load one room delays no message in
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
    let hub = spawn(
        config,
        [3; 32],
        &tracker,
        Metrics::new(false),
        Services {
            persist,
            ..Services::default()
        },
    );

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
                key: None,
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

/// Issue 12 item 7: a client that stops reading and pipelines join/leave in a room
/// with a long history (each `joined` carries it) is dropped once its queue holds
/// more bytes than its bound, long before the count bound (64 here) is reached.
#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_by_the_bytes_queued() {
    let tracker = TaskTracker::new();
    let config = HubConfig {
        chat_burst: 100,
        ..HubConfig::default()
    };
    let hub = spawn(
        config,
        [3; 32],
        &tracker,
        Metrics::new(false),
        Services::default(),
    );
    let mut ada = Client::connect(&hub, 1).await;
    ada.join("r").await;
    for i in 0..20 {
        let text = format!("{i}{}", "x".repeat(1_999));
        ada.send(ClientMsg::Chat { text, key: None }).await;
    }
    // About 42 KB per `joined`: the third one would go over 100 KB.
    let mut lurker = Client::connect_with(&hub, 2, 100_000).await;
    for _ in 0..10 {
        lurker.join("r").await;
        lurker.send(ClientMsg::Leave).await;
    }
    hub.ready().await.unwrap();
    assert!(lurker.kill.is_cancelled(), "the lurker was dropped");
    assert!(
        lurker.queued.get() <= 100_000,
        "{} bytes",
        lurker.queued.get()
    );
    assert!(lurker.rx.len() < 10, "{} messages queued", lurker.rx.len());
    assert!(!ada.kill.is_cancelled(), "Ada, who reads, stays");
}
