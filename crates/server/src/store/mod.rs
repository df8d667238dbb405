//! Chat history that outlives rooms and restarts, and the moderation of rooms alive at
//! a restart (`moderation.rs`): an embedded SQLite database, `<data dir>/confab.db`,
//! written and read by ONE dedicated thread.
//!
//! Why a thread: SQLite calls block on the disk. The hub task hands writes over a
//! bounded channel without waiting ([`ChatStore::store`]), so a slow disk never stalls
//! signaling; the thread writes whatever has queued up in one transaction (batching is
//! what makes WAL commits cheap). Loads do not wait either: when the hub parks a `join`
//! that would create a room and asks for its history, the hub task queues a load
//! ([`ChatStore::request`]) and goes on; the thread's answer (an indexed read of that
//! room's last messages) comes back on a channel the hub task listens to, and the hub
//! gives up on it after its `history_timeout` (2 s). The channel is FIFO and the thread
//! commits pending writes before it answers a load, so a load always sees every message
//! (and moderation report) stored before it was asked. A room's moderation travels the
//! same way: reports are queued ([`Persist::moderation`]) and committed with the chat,
//! and a load answers with the room's saved moderation besides its chat.
//!
//! Why load per room and not preload everything at start: memory stays proportional to
//! the rooms in use (10,000 rooms × 100 messages × up to 2,000 characters would be GBs),
//! and start-up stays fast however much is stored.
//!
//! The data dir is 0700 and the database with its WAL and shared-memory files 0600
//! (`private.rs`): chat is nobody else's business on a shared machine.
//!
//! Failure policy: a database that cannot be opened at start (unwritable directory, a
//! file that is not SQLite, a newer schema) is an error at start ([`ChatStore::open`]),
//! because an operator who asked for persistence should not silently get none. A disk
//! error later (disk full, I/O error) is logged once, and from then on chat lives in
//! memory only, as with `--chat-retention-days 0`; the server keeps serving.

pub mod moderation;
pub mod private;
pub mod settings;
pub mod sqlite;

use confab_proto::{ChatMessage, RoomId};
use confab_signal::{ChatSeed, Moderation};
use sqlite::ChatDb;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender, TrySendError};
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// The database file's name inside the data dir.
pub const DB_FILE: &str = "confab.db";

/// A store's answer to a load: the room, and its stored chat (`None`: the store failed
/// or is too busy, so the room starts without it).
pub type Loaded = (RoomId, Option<ChatSeed>);

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
    Moderation(RoomId, Moderation),
    Load {
        room: RoomId,
        limit: usize,
        reply: UnboundedSender<Loaded>,
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
        Self::open_with(data_dir, retention, Duration::ZERO)
    }

    /// [`ChatStore::open`] for a store that answers every load `delay` late: a slow
    /// disk, for tests.
    #[cfg(test)]
    pub(crate) fn open_slow(
        data_dir: &Path,
        retention: Duration,
        delay: Duration,
    ) -> Result<ChatStore, OpenError> {
        Self::open_with(data_dir, retention, delay)
    }

    fn open_with(
        data_dir: &Path,
        retention: Duration,
        load_delay: Duration,
    ) -> Result<ChatStore, OpenError> {
        let path = data_dir.join(DB_FILE);
        let fail = |reason| OpenError {
            path: path.clone(),
            reason,
        };
        private::private_dir(data_dir).map_err(|e| fail(e.into()))?;
        let mut db = ChatDb::open(&path).map_err(fail)?;
        let pruned = db.prune(crate::unix_ms(), retention).map_err(fail)?;
        tracing::info!(path = %path.display(), pruned, "chat store open");
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        let worker = Worker {
            load_delay,
            ..Worker::new(db, retention)
        };
        let thread = std::thread::Builder::new()
            .name("confab-store".into())
            .spawn(move || worker.run(rx))
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
        private::private_dir(data_dir)
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

    /// Queues `room`'s moderation report without waiting (an empty one: forget it);
    /// returns whether it was queued. If the queue is full, the last report queued
    /// stays the stored one, and a warning is logged.
    pub fn moderation(&mut self, room: RoomId, report: Moderation) -> bool {
        let Some(tx) = &self.tx else { return false };
        match tx.try_send(Job::Moderation(room, report)) {
            Ok(()) => true,
            Err(TrySendError::Full(Job::Moderation(room, _))) => {
                tracing::warn!(%room, "chat store queue full; a room's moderation was not stored");
                false
            }
            Err(_) => false,
        }
    }

    /// Queues a load of the last `limit` stored messages of `room` and its last id,
    /// answered on `reply`, without waiting. Returns false if it could not be queued
    /// (the store is far behind or has failed); no answer comes then.
    pub fn request(&self, room: RoomId, limit: usize, reply: &UnboundedSender<Loaded>) -> bool {
        let Some(tx) = &self.tx else { return false };
        let job = Job::Load {
            room: room.clone(),
            limit,
            reply: reply.clone(),
        };
        if tx.try_send(job).is_err() {
            tracing::warn!(%room, "chat store busy or failed; room starts without history");
            return false;
        }
        true
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
    /// Moderation reports to commit with the next batch of chat.
    reports: Vec<(RoomId, Moderation)>,
    retention: Duration,
    /// Added to every load, to play a slow disk in tests (zero otherwise).
    load_delay: Duration,
}

impl Worker {
    fn new(db: ChatDb, retention: Duration) -> Worker {
        Worker {
            db: Some(db),
            reports: Vec::new(),
            retention,
            load_delay: Duration::ZERO,
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
                Err(RecvTimeoutError::Disconnected) => return self.stop(),
            };
            // Take everything already queued: one transaction for all of it.
            let mut job = Some(first);
            while let Some(j) = job.take() {
                match j {
                    Job::Insert(room, message) => batch.push((room, message)),
                    Job::Moderation(room, report) => self.reports.push((room, report)),
                    Job::Load { room, limit, reply } => {
                        self.flush(&mut batch);
                        if !self.load_delay.is_zero() {
                            std::thread::sleep(self.load_delay);
                        }
                        let seed = self.load(&room, limit);
                        let _ = reply.send((room, seed));
                    }
                }
                if batch.len() + self.reports.len() >= BATCH {
                    self.flush(&mut batch);
                }
                job = rx.try_recv().ok();
            }
            self.flush(&mut batch);
        }
    }

    /// Commits `batch` and the pending moderation reports in one transaction.
    fn flush(&mut self, batch: &mut Vec<(RoomId, ChatMessage)>) {
        if batch.is_empty() && self.reports.is_empty() {
            return;
        }
        if let Some(db) = &mut self.db {
            match db.write(batch, &self.reports, crate::unix_ms()) {
                Ok(0) => {}
                Ok(skipped) => tracing::warn!(skipped, "chat messages already stored"),
                Err(e) => self.fail("write", &e),
            }
        }
        batch.clear();
        self.reports.clear();
    }

    /// `room`'s chat and saved moderation.
    fn load(&mut self, room: &RoomId, limit: usize) -> Option<ChatSeed> {
        let db = self.db.as_ref()?;
        let loaded = db.load(room, limit).and_then(|mut seed| {
            seed.moderation = db.moderation(room, crate::unix_ms())?;
            Ok(seed)
        });
        match loaded {
            Ok(seed) => Some(seed),
            Err(e) => {
                self.fail("read", &e);
                None
            }
        }
    }

    fn prune(&mut self) {
        let Some(db) = &mut self.db else { return };
        let now = crate::unix_ms();
        match db
            .prune(now, self.retention)
            .and_then(|n| Ok((n, db.prune_moderation(now)?)))
        {
            Ok((0, 0)) => {}
            Ok((pruned, moderation)) => {
                tracing::info!(
                    pruned,
                    moderation,
                    "old chat messages and moderation pruned"
                );
            }
            Err(e) => self.fail("prune", &e),
        }
    }

    /// Every sender is gone (a clean stop): what is queued was committed; the rooms'
    /// saved moderation counts from now (see `moderation.rs`).
    fn stop(mut self) {
        let Some(db) = &mut self.db else { return };
        if let Err(e) = db.stamp_moderation(crate::unix_ms()) {
            self.fail("write", &e);
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

/// The hub task's chat persistence: loads a room's history when the hub asks for it
/// (`Output::LoadHistory`), and stores what the hub reports as accepted
/// (`Output::ChatStored`). The hub itself does not report messages of a room whose
/// history did not arrive in time: their ids restarted at 1 and would collide.
pub struct Persist {
    store: ChatStore,
    /// Messages per room handed to late joiners (and so loaded).
    history: usize,
    /// Where answers to loads go; the hub task owns the other end.
    replies: UnboundedSender<Loaded>,
    /// The highest id of each room whose message could not be queued: the store's last
    /// id for the room is behind it, so a seed must not restart below it.
    lost: HashMap<RoomId, u64>,
}

impl Persist {
    /// Wraps an open store; the receiver gets the answers to [`Persist::load`]. It is
    /// unbounded because the hub asks at most once per loading room (and loading rooms
    /// count against its room limit), so it holds at most that many answers.
    pub fn new(store: ChatStore, history: usize) -> (Persist, UnboundedReceiver<Loaded>) {
        let (replies, rx) = unbounded_channel();
        let p = Persist {
            store,
            history,
            replies,
            lost: HashMap::new(),
        };
        (p, rx)
    }

    /// Asks the store for `room`'s chat; if it cannot even be asked, answers "nothing"
    /// at once, so the parked joins go ahead without waiting for the hub's timeout.
    pub fn load(&mut self, room: RoomId) {
        if !self
            .store
            .request(room.clone(), self.history, &self.replies)
        {
            let _ = self.replies.send((room, None));
        }
    }

    /// The store's answer, corrected for messages that never reached it: the seed's
    /// last id is raised past them, so ids are never reused.
    pub fn answer(&self, (room, seed): Loaded) -> Loaded {
        let seed = seed.map(|mut s| {
            if let Some(&id) = self.lost.get(&room) {
                s.last_id = s.last_id.max(id);
            }
            s
        });
        (room, seed)
    }

    /// `room`'s moderation changed (`Output::ModerationStored`).
    pub fn moderation(&mut self, room: RoomId, report: Moderation) {
        self.store.moderation(room, report);
    }

    /// The hub accepted `message` in `room`.
    pub fn stored(&mut self, room: RoomId, message: ChatMessage) {
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
    use confab_proto::PeerId;

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
            key: None,
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
        let (tx, mut rx) = unbounded_channel();
        assert!(store.request(room("r"), 10, &tx));
        let (r, seed) = rx.recv().await.unwrap();
        let seed = seed.unwrap();
        assert_eq!(r, room("r"));
        assert_eq!(seed.last_id, 50, "the load came after the writes");
        assert_eq!(seed.history.first().map(|m| m.id), Some(41));
        store.store(room("r"), msg(51));
        store.close().await;
        let db = ChatDb::open(&dir.0.join(DB_FILE)).unwrap();
        assert_eq!(db.count().unwrap(), 51);
    }

    /// A store that cannot take the request answers "nothing" at once, so the room's
    /// parked joins do not wait for the hub's timeout.
    #[tokio::test]
    async fn a_store_that_cannot_be_asked_answers_nothing_at_once() {
        let (tx, rx) = mpsc::sync_channel(QUEUE);
        drop(rx); // the thread is gone
        let store = ChatStore {
            tx: Some(tx),
            thread: None,
            dropped: 0,
        };
        let (mut p, mut answers) = Persist::new(store, 100);
        p.load(room("r"));
        assert_eq!(answers.try_recv().ok(), Some((room("r"), None)));
    }

    /// Messages that could not be queued (store far behind) still count for the ids: a
    /// seed loaded later never restarts below them.
    #[test]
    fn ids_of_messages_not_stored_are_not_reused_after_a_seed() {
        let (tx, rx) = mpsc::sync_channel(1);
        let store = ChatStore {
            tx: Some(tx),
            thread: None,
            dropped: 0,
        };
        let (mut p, _answers) = Persist::new(store, 100);
        p.stored(room("r"), msg(7)); // queued
        p.stored(room("r"), msg(8)); // queue full: not stored
        assert_eq!(p.lost.get(&room("r")), Some(&8));
        assert!(matches!(rx.try_recv(), Ok(Job::Insert(..))));
        // The store knows up to 7; the seed the hub gets continues after the lost 8.
        let stored = ChatSeed {
            room: room("r"),
            history: vec![msg(7)],
            last_id: 7,
            moderation: None,
        };
        let (_, seed) = p.answer((room("r"), Some(stored)));
        assert_eq!(seed.map(|s| s.last_id), Some(8));
        assert_eq!(p.answer((room("s"), None)), (room("s"), None));
    }
}
