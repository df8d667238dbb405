//! Chat history that outlives rooms and restarts: an embedded SQLite database,
//! `<data dir>/confab.db`, written and read by ONE dedicated thread.
//!
//! Why a thread: SQLite calls block on the disk. The hub task hands writes over a
//! bounded channel without waiting ([`ChatStore::store`]), so a slow disk never stalls
//! signaling; the thread writes whatever has queued up in one transaction (batching is
//! what makes WAL commits cheap). The only wait is [`ChatStore::load`], when a `join` is
//! about to create a room: an indexed read of that room's last messages, bounded by
//! [`LOAD_TIMEOUT`]. The channel is FIFO and the thread commits pending writes before it
//! answers a load, so a load always sees every message stored before it was asked.
//!
//! Why load per room and not preload everything at start: memory stays proportional to
//! the rooms in use (10,000 rooms × 100 messages × up to 2,000 characters would be GBs),
//! and start-up stays fast however much is stored.
//!
//! Failure policy: a database that cannot be opened at start (unwritable directory, a
//! file that is not SQLite, a newer schema) is an error at start ([`ChatStore::open`]),
//! because an operator who asked for persistence should not silently get none. A disk
//! error later (disk full, I/O error) is logged once, and from then on chat lives in
//! memory only, as with `--chat-retention-days 0`; the server keeps serving.

pub mod sqlite;

use confab_proto::{ChatMessage, ClientMsg, RoomId};
use confab_signal::{ChatSeed, Hub};
use sqlite::ChatDb;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::time::Duration;
use tokio::sync::oneshot;

/// The database file's name inside the data dir.
pub const DB_FILE: &str = "confab.db";

/// How long a `join` that creates a room waits for its stored history; past that the
/// room starts without it (and, to keep ids unique, is not stored; see [`Persist`]).
pub const LOAD_TIMEOUT: Duration = Duration::from_secs(2);

/// How often old messages are pruned (also once at open).
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Writes queued for the store thread at most; beyond that new messages are not
/// stored (and a warning is logged) rather than blocking the hub.
const QUEUE: usize = 8192;

/// Most messages committed in one transaction.
const BATCH: usize = 1024;

/// The chat store could not be opened.
#[derive(Debug, thiserror::Error)]
#[error(
    "cannot open the chat store {}: {reason} (fix or move the file, or run with \
     --chat-retention-days 0 to keep chat in memory only)",
    path.display()
)]
pub struct OpenError {
    /// The database file.
    pub path: PathBuf,
    /// Why (in the message, and not a `source`, so error chains do not repeat it).
    pub reason: sqlite::DbError,
}

enum Job {
    Insert(RoomId, ChatMessage),
    Load {
        room: RoomId,
        limit: usize,
        reply: oneshot::Sender<Option<ChatSeed>>,
    },
}

/// The hub task's end of the store thread.
pub struct ChatStore {
    tx: Option<SyncSender<Job>>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Messages not stored because the queue was full (logged in powers of two).
    dropped: u64,
}

impl ChatStore {
    /// Opens `<data_dir>/confab.db` (creating the directory and file if needed), prunes
    /// messages older than `retention` once, and starts the store thread.
    pub fn open(data_dir: &Path, retention: Duration) -> Result<ChatStore, OpenError> {
        let path = data_dir.join(DB_FILE);
        let fail = |reason| OpenError {
            path: path.clone(),
            reason,
        };
        std::fs::create_dir_all(data_dir).map_err(|e| fail(e.into()))?;
        let mut db = ChatDb::open(&path).map_err(fail)?;
        let pruned = db.prune(crate::unix_ms(), retention).map_err(fail)?;
        tracing::info!(path = %path.display(), pruned, "chat store open");
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let thread = std::thread::Builder::new()
            .name("confab-store".into())
            .spawn(move || Worker::new(db, retention).run(rx))
            .map_err(|e| fail(e.into()))?;
        Ok(ChatStore {
            tx: Some(tx),
            thread: Some(thread),
            dropped: 0,
        })
    }

    /// Opens and closes the database once: `serve` calls it before it starts listening,
    /// so a broken store is reported before anything else happens.
    pub fn check(data_dir: &Path) -> Result<(), OpenError> {
        let path = data_dir.join(DB_FILE);
        std::fs::create_dir_all(data_dir)
            .map_err(|e| e.into())
            .and_then(|()| ChatDb::open(&path))
            .map(drop)
            .map_err(|reason| OpenError { path, reason })
    }

    /// Queues `message` for storage without waiting; returns whether it was queued. If
    /// the queue is full (the disk is far behind) the message is not stored and a
    /// warning is logged.
    pub fn store(&mut self, room: RoomId, message: ChatMessage) -> bool {
        let Some(tx) = &self.tx else { return false };
        match tx.try_send(Job::Insert(room, message)) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.dropped += 1;
                if self.dropped.is_power_of_two() {
                    tracing::warn!(
                        dropped = self.dropped,
                        "chat store queue full; messages are not being stored"
                    );
                }
                false
            }
            // The thread ended (it logged why); chat is in memory only now.
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    /// The last `limit` stored messages of `room` and its last id, or `None` if the
    /// store does not answer within [`LOAD_TIMEOUT`] or has failed.
    pub async fn load(&self, room: RoomId, limit: usize) -> Option<ChatSeed> {
        let tx = self.tx.as_ref()?;
        let (reply, rx) = oneshot::channel();
        let job = Job::Load {
            room: room.clone(),
            limit,
            reply,
        };
        if tx.try_send(job).is_err() {
            tracing::warn!(%room, "chat store busy or failed; room starts without history");
            return None;
        }
        match tokio::time::timeout(LOAD_TIMEOUT, rx).await {
            Ok(Ok(seed)) => seed,
            Ok(Err(_)) => None,
            Err(_) => {
                tracing::warn!(%room, "chat store too slow; room starts without history");
                None
            }
        }
    }

    /// Commits what is queued and stops the thread (on shutdown).
    pub async fn close(mut self) {
        drop(self.tx.take());
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

/// The store thread's state.
struct Worker {
    /// `None` once a disk error made the store give up.
    db: Option<ChatDb>,
    retention: Duration,
}

impl Worker {
    fn new(db: ChatDb, retention: Duration) -> Worker {
        Worker {
            db: Some(db),
            retention,
        }
    }

    /// Serves jobs until every sender is gone, pruning every [`PRUNE_EVERY`].
    fn run(mut self, rx: mpsc::Receiver<Job>) {
        let mut next_prune = std::time::Instant::now() + PRUNE_EVERY;
        let mut batch = Vec::new();
        loop {
            let wait = next_prune.saturating_duration_since(std::time::Instant::now());
            let first = match rx.recv_timeout(wait) {
                Ok(job) => job,
                Err(RecvTimeoutError::Timeout) => {
                    next_prune += PRUNE_EVERY;
                    self.prune();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return,
            };
            // Take everything already queued: one transaction for all of it.
            let mut job = Some(first);
            while let Some(j) = job.take() {
                match j {
                    Job::Insert(room, message) => batch.push((room, message)),
                    Job::Load { room, limit, reply } => {
                        self.flush(&mut batch);
                        let _ = reply.send(self.load(&room, limit));
                    }
                }
                if batch.len() >= BATCH {
                    self.flush(&mut batch);
                }
                job = rx.try_recv().ok();
            }
            self.flush(&mut batch);
        }
    }

    fn flush(&mut self, batch: &mut Vec<(RoomId, ChatMessage)>) {
        if batch.is_empty() {
            return;
        }
        if let Some(db) = &mut self.db {
            match db.insert(batch) {
                Ok(0) => {}
                Ok(skipped) => tracing::warn!(skipped, "chat messages already stored"),
                Err(e) => self.fail("write", &e),
            }
        }
        batch.clear();
    }

    fn load(&mut self, room: &RoomId, limit: usize) -> Option<ChatSeed> {
        match self.db.as_ref()?.load(room, limit) {
            Ok(seed) => Some(seed),
            Err(e) => {
                self.fail("read", &e);
                None
            }
        }
    }

    fn prune(&mut self) {
        let Some(db) = &mut self.db else { return };
        match db.prune(crate::unix_ms(), self.retention) {
            Ok(0) => {}
            Ok(pruned) => tracing::info!(pruned, "old chat messages pruned"),
            Err(e) => self.fail("prune", &e),
        }
    }

    /// Logs once and goes memory-only: a store that lost writes must not seed rooms
    /// with stale ids either.
    fn fail(&mut self, what: &str, e: &sqlite::DbError) {
        tracing::error!(
            error = %e,
            "chat store {what} failed; chat history is kept in memory only until restart"
        );
        self.db = None;
    }
}

/// The hub task's chat persistence: loads a room's history before the `join` that
/// creates it, and stores what the hub reports as accepted.
///
/// A room whose load failed or timed out runs without the store until it ends: its
/// ids restarted at 1, so storing them would collide with the stored ones.
pub struct Persist {
    store: ChatStore,
    /// Messages per room handed to late joiners (and so loaded).
    history: usize,
    unstored: HashSet<RoomId>,
    /// The highest id of each room whose message could not be queued: the store's last
    /// id for the room is behind it, so a seed must not restart below it.
    lost: HashMap<RoomId, u64>,
}

impl Persist {
    /// Wraps an open store.
    pub fn new(store: ChatStore, history: usize) -> Persist {
        Persist {
            store,
            history,
            unstored: HashSet::new(),
            lost: HashMap::new(),
        }
    }

    /// Before `msg` goes to the hub: if it is a `join` that would create a room, load
    /// that room's history and seed the hub with it. Returns the room when it starts
    /// without its stored history, for [`Persist::after_frame`].
    pub async fn before_frame(&mut self, hub: &mut Hub, msg: &ClientMsg) -> Option<RoomId> {
        let ClientMsg::Join { room, .. } = msg else {
            return None;
        };
        if hub.room_exists(room) {
            return None;
        }
        self.unstored.remove(room);
        match self.store.load(room.clone(), self.history).await {
            Some(mut seed) => {
                if let Some(&id) = self.lost.get(room) {
                    seed.last_id = seed.last_id.max(id);
                }
                hub.seed_chat(seed);
                None
            }
            None => Some(room.clone()),
        }
    }

    /// After the frame: a room created without its history is not stored.
    pub fn after_frame(&mut self, hub: &Hub, unseeded: Option<RoomId>) {
        if let Some(room) = unseeded.filter(|r| hub.room_exists(r)) {
            self.unstored.insert(room);
            // Forget rooms that ended, so a failed store cannot grow the set forever.
            if self.unstored.len() > 1024 {
                self.unstored.retain(|r| hub.room_exists(r));
            }
        }
    }

    /// The hub accepted `message` in `room`.
    pub fn stored(&mut self, room: RoomId, message: ChatMessage) {
        if self.unstored.contains(&room) {
            return;
        }
        let id = message.id;
        if !self.store.store(room.clone(), message) {
            let last = self.lost.entry(room).or_default();
            *last = (*last).max(id);
        }
    }

    /// Flushes and stops the store thread.
    pub async fn close(self) {
        self.store.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::sqlite::tests::TempDir;
    use super::*;
    use confab_proto::{ClientFrame, PeerId, PROTOCOL_VERSION};
    use confab_signal::{ConnId, HubConfig, Output};
    use std::time::Instant;

    /// A hub that persists chat, with connection 1 connected and said hello.
    fn helloed_hub(now: Instant) -> Hub {
        let mut hub = Hub::new(
            HubConfig {
                persist_chat: true,
                ..HubConfig::default()
            },
            1,
        );
        hub.handle_connect(ConnId(1), now);
        let hello = ClientMsg::Hello {
            version: PROTOCOL_VERSION,
            resume: None,
        };
        let frame = ClientFrame {
            id: None,
            msg: hello,
        };
        hub.handle_frame(ConnId(1), frame, now);
        hub
    }

    fn room(s: &str) -> RoomId {
        RoomId::parse(s).unwrap()
    }

    fn msg(id: u64) -> ChatMessage {
        ChatMessage {
            id,
            from: PeerId::new("a8d2kq0n5v1c"),
            name: "Ada".into(),
            text: format!("m{id}"),
            ts: 1_700_000_000_000,
        }
    }

    #[test]
    fn a_write_error_is_survived_and_the_store_goes_memory_only() {
        let dir = TempDir::new("fail");
        let db = ChatDb::open(&dir.0.join(DB_FILE)).unwrap();
        let mut w = Worker::new(db, Duration::from_secs(86_400));
        let mut batch = vec![(room("r"), msg(1))];
        w.flush(&mut batch);
        assert_eq!(w.load(&room("r"), 10).unwrap().history, vec![msg(1)]);
        w.db.as_ref().unwrap().break_writes();
        let mut batch = vec![(room("r"), msg(2))];
        w.flush(&mut batch);
        assert!(w.db.is_none(), "gave up after the error");
        assert!(batch.is_empty());
        // From now on: nothing stored, no seeds (their ids could be stale), no panic.
        w.flush(&mut vec![(room("r"), msg(3))]);
        assert_eq!(w.load(&room("r"), 10), None);
        w.prune();
    }

    #[tokio::test]
    async fn writes_then_a_load_see_each_other_in_order_and_close_flushes() {
        let dir = TempDir::new("order");
        let mut store = ChatStore::open(&dir.0, Duration::from_secs(86_400)).unwrap();
        for i in 1..=50 {
            store.store(room("r"), msg(i));
        }
        let seed = store.load(room("r"), 10).await.unwrap();
        assert_eq!(seed.last_id, 50, "the load came after the writes");
        assert_eq!(seed.history.first().map(|m| m.id), Some(41));
        store.store(room("r"), msg(51));
        store.close().await;
        let db = ChatDb::open(&dir.0.join(DB_FILE)).unwrap();
        assert_eq!(db.count().unwrap(), 51);
    }

    /// A room whose history could not be loaded in time runs without the store, so its
    /// restarted ids never collide with stored ones.
    #[tokio::test]
    async fn a_room_created_without_its_history_is_not_stored() {
        // A store whose thread never answers.
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let store = ChatStore {
            tx: Some(tx),
            thread: None,
            dropped: 0,
        };
        let mut p = Persist::new(store, 100);
        let now = Instant::now();
        let conn = ConnId(1);
        let mut hub = helloed_hub(now);
        let join = ClientMsg::Join {
            room: room("r"),
            name: "Ada".into(),
            password: None,
            token: None,
        };
        let started = Instant::now();
        let unseeded = p.before_frame(&mut hub, &join).await;
        assert!(started.elapsed() >= LOAD_TIMEOUT);
        assert_eq!(unseeded, Some(room("r")));
        hub.handle_frame(
            conn,
            ClientFrame {
                id: None,
                msg: join,
            },
            now,
        );
        p.after_frame(&hub, unseeded);
        let chat = ClientMsg::Chat { text: "hi".into() };
        hub.handle_frame(
            conn,
            ClientFrame {
                id: None,
                msg: chat,
            },
            now,
        );
        let mut stored = 0;
        while let Some(out) = hub.poll_output() {
            if let Output::ChatStored { room, message } = out {
                stored += 1;
                assert_eq!(message.id, 1);
                p.stored(room, message);
            }
        }
        assert_eq!(stored, 1, "the hub reported it");
        // Only the load reached the store thread's queue; no insert.
        assert!(matches!(rx.try_recv(), Ok(Job::Load { .. })));
        assert!(
            rx.try_recv().is_err(),
            "the message was not queued for storage"
        );
    }

    /// Messages that could not be queued (store far behind) still count for the ids: a
    /// seed loaded later never restarts below them.
    #[tokio::test]
    async fn ids_of_messages_not_stored_are_not_reused_after_a_seed() {
        let (tx, rx) = mpsc::sync_channel(1);
        let store = ChatStore {
            tx: Some(tx),
            thread: None,
            dropped: 0,
        };
        let mut p = Persist::new(store, 100);
        p.stored(room("r"), msg(7)); // queued
        p.stored(room("r"), msg(8)); // queue full: not stored
        assert_eq!(p.lost.get(&room("r")), Some(&8));
        // The store answers the next load with what it has (up to id 7).
        // The store thread takes the queued insert first (so the load finds room in the
        // queue), then answers the load.
        let (took_insert, insert_taken) = mpsc::channel();
        let answer = std::thread::spawn(move || {
            assert!(matches!(rx.recv(), Ok(Job::Insert(..))));
            let _ = took_insert.send(());
            match rx.recv() {
                Ok(Job::Load { room, reply, .. }) => {
                    let _ = reply.send(Some(ChatSeed {
                        room,
                        history: vec![msg(7)],
                        last_id: 7,
                    }));
                }
                _ => panic!("expected a load"),
            }
        });
        let now = Instant::now();
        let mut hub = helloed_hub(now);
        let join = ClientMsg::Join {
            room: room("r"),
            name: "Ada".into(),
            password: None,
            token: None,
        };
        insert_taken.recv().unwrap();
        assert_eq!(p.before_frame(&mut hub, &join).await, None, "seeded");
        answer.join().unwrap();
        hub.handle_frame(
            ConnId(1),
            ClientFrame {
                id: None,
                msg: join,
            },
            now,
        );
        let chat = ClientMsg::Chat {
            text: "next".into(),
        };
        hub.handle_frame(
            ConnId(1),
            ClientFrame {
                id: None,
                msg: chat,
            },
            now,
        );
        let ids: Vec<u64> = std::iter::from_fn(|| hub.poll_output())
            .filter_map(|o| match o {
                Output::ChatStored { message, .. } => Some(message.id),
                _ => None,
            })
            .collect();
        assert_eq!(
            ids,
            vec![9],
            "continues after the lost 8, not after the stored 7"
        );
    }
}
