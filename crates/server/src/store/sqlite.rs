//! The chat tables in SQLite: plain blocking functions, called only from the store's
//! own thread (see `mod.rs`), never from async code.
//!
//! Schema (version 3, kept in `PRAGMA user_version`):
//! - `chat_messages (room, id, sender, name, text, ts, key)`, primary key `(room, id)` (a
//!   `WITHOUT ROWID` table, so the key is the index late-joiner loads walk backwards),
//!   plus an index on `ts` for pruning;
//! - `chat_rooms (room, last_id)`: the highest id each room has used. Pruning deletes
//!   messages but never these rows, so ids keep increasing after old messages are gone
//!   (a client that still shows an old message must never see its id reused);
//! - since version 2, `room_moderation` (see `moderation.rs`);
//! - since version 3, `chat_messages.key`: the sender's idempotency key (`chat.key`),
//!   kept with its message (NULL for older messages and messages sent without one).
//!
//! [`ChatDb::open`] brings an older database up to date: each version's statements run
//! once, in order, in one transaction with the new version number, so a version-1 file
//! (chat only) gains the moderation table and keeps its chat.

use confab_proto::{ChatMessage, PeerId, RoomId};
use confab_signal::{ChatSeed, Moderation};
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::time::Duration;

/// The schema version this code writes; a database with a higher one is refused.
const SCHEMA_VERSION: i64 = 3;

/// Rows deleted per statement when pruning, so one prune never holds the write lock
/// for long.
const PRUNE_CHUNK: i64 = 5_000;

/// Version 1: chat.
const SCHEMA_V1: &str = "
CREATE TABLE IF NOT EXISTS chat_messages (
    room   TEXT    NOT NULL,
    id     INTEGER NOT NULL,
    sender TEXT    NOT NULL,
    name   TEXT    NOT NULL,
    text   TEXT    NOT NULL,
    ts     INTEGER NOT NULL,
    PRIMARY KEY (room, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chat_messages_ts ON chat_messages (ts);
CREATE TABLE IF NOT EXISTS chat_rooms (
    room    TEXT    NOT NULL PRIMARY KEY,
    last_id INTEGER NOT NULL
) WITHOUT ROWID;
";

/// Version 3: each message's idempotency key.
const SCHEMA_V3: &str = "ALTER TABLE chat_messages ADD COLUMN key TEXT;";

/// Each version and what brings a database from the one before up to it, in order.
const MIGRATIONS: [(i64, &str); 3] = [
    (1, SCHEMA_V1),
    (2, super::moderation::SCHEMA_V2),
    (3, SCHEMA_V3),
];

/// An open chat database.
pub struct ChatDb {
    conn: Connection,
}

/// Why the database cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// SQLite refused (cannot open or create the file, not a database, disk full, …).
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// The directory could not be created, or the thread not started.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The file was written by a newer confab.
    #[error("schema version {found} is newer than this confab understands ({SCHEMA_VERSION})")]
    NewerSchema {
        /// The file's `user_version`.
        found: i64,
    },
}

/// An id or timestamp as SQLite's signed integer (ours stay far below `i64::MAX`).
fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn uint(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

impl ChatDb {
    /// Opens (creating if needed) the database at `path`: WAL journal (readers never
    /// wait for the writer; a commit is one append), `synchronous = NORMAL` (a commit
    /// survives a crash of confab; a power cut may lose the last ones, never corrupts),
    /// and the schema. The file is created 0600 first (SQLite gives its WAL and
    /// shared-memory files the database's mode), and existing ones are narrowed to it.
    /// Fails on a file that is not a SQLite database.
    pub fn open(path: &Path) -> Result<ChatDb, DbError> {
        super::private::private_file(path)?;
        for suffix in ["-wal", "-shm"] {
            let mut side = path.as_os_str().to_owned();
            side.push(suffix);
            super::private::narrow_if_exists(Path::new(&side), super::private::FILE_MODE)?;
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // Reading the mode back also makes SQLite read the header: a file that is not a
        // database fails here ("file is not a database").
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(DbError::NewerSchema { found });
        }
        let mut db = ChatDb { conn };
        for (version, sql) in MIGRATIONS.iter().filter(|(v, _)| *v > found) {
            let tx = db.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.pragma_update(None, "user_version", version)?;
            tx.commit()?;
        }
        Ok(db)
    }

    /// The connection, for the other tables' functions (`moderation.rs`).
    pub(super) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Stores `messages` in one transaction and raises each room's last id. A message
    /// whose `(room, id)` is already stored is skipped (it cannot be a different one:
    /// ids come from the hub, seeded from here); returns how many were skipped.
    pub fn insert(&mut self, messages: &[(RoomId, ChatMessage)]) -> Result<usize, DbError> {
        self.write(messages, &[], 0)
    }

    /// [`ChatDb::insert`] of `messages` and the rooms' moderation `reports` (in order;
    /// see `moderation.rs`), written at `now_ms`, all in one transaction.
    pub fn write(
        &mut self,
        messages: &[(RoomId, ChatMessage)],
        reports: &[(RoomId, Moderation)],
        now_ms: u64,
    ) -> Result<usize, DbError> {
        let tx = self.conn.transaction()?;
        super::moderation::save(&tx, reports, now_ms)?;
        let mut skipped = 0;
        {
            let mut msg = tx.prepare_cached(
                "INSERT OR IGNORE INTO chat_messages (room, id, sender, name, text, ts, key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            let mut last = tx.prepare_cached(
                "INSERT INTO chat_rooms (room, last_id) VALUES (?1, ?2)
                 ON CONFLICT (room) DO UPDATE SET last_id = max(last_id, excluded.last_id)",
            )?;
            for (room, m) in messages {
                let n = msg.execute(params![
                    room.as_str(),
                    int(m.id),
                    m.from.as_str(),
                    m.name,
                    m.text,
                    int(m.ts),
                    m.key
                ])?;
                if n == 0 {
                    skipped += 1;
                }
                last.execute(params![room.as_str(), int(m.id)])?;
            }
        }
        tx.commit()?;
        Ok(skipped)
    }

    /// The last `limit` messages of `room` (oldest first) and its last id: the chat part
    /// of what `confab_signal::Input::History` needs (its moderation is
    /// [`ChatDb::moderation`]). An unknown room gives an empty seed.
    pub fn load(&self, room: &RoomId, limit: usize) -> Result<ChatSeed, DbError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, sender, name, text, ts, key FROM chat_messages
             WHERE room = ?1 ORDER BY id DESC LIMIT ?2",
        )?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut history = stmt
            .query_map(params![room.as_str(), limit], |r| {
                Ok(ChatMessage {
                    id: uint(r.get(0)?),
                    from: PeerId::new(r.get::<_, String>(1)?),
                    name: r.get(2)?,
                    text: r.get(3)?,
                    ts: uint(r.get(4)?),
                    key: r.get(5)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        history.reverse();
        let last_id: Option<i64> = self
            .conn
            .prepare_cached("SELECT last_id FROM chat_rooms WHERE room = ?1")?
            .query_row([room.as_str()], |r| r.get(0))
            .optional()?;
        Ok(ChatSeed {
            room: room.clone(),
            last_id: last_id.map_or(0, uint),
            history,
            moderation: None,
        })
    }

    /// Deletes every message older than `retention` at `now_ms` (Unix milliseconds; an
    /// input so tests need not wait). Rooms' last ids stay. Returns how many went.
    pub fn prune(&mut self, now_ms: u64, retention: Duration) -> Result<usize, DbError> {
        let retention_ms = u64::try_from(retention.as_millis()).unwrap_or(u64::MAX);
        let cutoff = int(now_ms.saturating_sub(retention_ms));
        let mut stmt = self.conn.prepare_cached(
            "DELETE FROM chat_messages WHERE (room, id) IN
             (SELECT room, id FROM chat_messages WHERE ts < ?1 LIMIT ?2)",
        )?;
        let mut total = 0;
        loop {
            let n = stmt.execute(params![cutoff, PRUNE_CHUNK])?;
            total += n;
            if n < usize::try_from(PRUNE_CHUNK).unwrap_or(usize::MAX) {
                return Ok(total);
            }
        }
    }

    /// Makes every later write fail, as a full or failing disk would (tests only).
    #[cfg(test)]
    pub(crate) fn break_writes(&self) {
        self.conn
            .pragma_update(None, "query_only", true)
            .expect("query_only");
    }

    /// Messages stored, in all rooms (for tests and logs).
    pub fn count(&self) -> Result<u64, DbError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM chat_messages", [], |r| r.get(0))?;
        Ok(uint(n))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);
    const T0: u64 = 1_700_000_000_000;

    /// A fresh directory under the system temp dir, removed on drop.
    pub struct TempDir(pub std::path::PathBuf);
    impl TempDir {
        pub fn new(tag: &str) -> TempDir {
            use std::sync::atomic::{AtomicU32, Ordering};
            static N: AtomicU32 = AtomicU32::new(0);
            let p = std::env::temp_dir().join(format!(
                "confab-store-{tag}-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            std::fs::create_dir_all(&p).unwrap();
            TempDir(p)
        }
    }
    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn room(s: &str) -> RoomId {
        RoomId::parse(s).unwrap()
    }

    fn msg(id: u64, ts: u64) -> ChatMessage {
        ChatMessage {
            id,
            from: PeerId::new("a8d2kq0n5v1c"),
            name: "Ada ✓".into(),
            text: format!("line {id}\nwith 'quotes' and \"more\""),
            ts,
            key: None,
        }
    }

    #[test]
    fn round_trip_last_n_oldest_first_per_room() {
        let dir = TempDir::new("rt");
        let mut db = ChatDb::open(&dir.0.join("confab.db")).unwrap();
        let batch: Vec<_> = (1..=5)
            .map(|i| (room("r"), msg(i, T0 + i)))
            .chain([(room("s"), msg(1, T0))])
            .collect();
        assert_eq!(db.insert(&batch).unwrap(), 0);
        let seed = db.load(&room("r"), 3).unwrap();
        assert_eq!(seed.last_id, 5);
        assert_eq!(
            seed.history,
            vec![msg(3, T0 + 3), msg(4, T0 + 4), msg(5, T0 + 5)]
        );
        assert_eq!(db.load(&room("s"), 100).unwrap().history, vec![msg(1, T0)]);
        let none = db.load(&room("nobody"), 100).unwrap();
        assert_eq!((none.history.len(), none.last_id), (0, 0));
        assert_eq!(db.count().unwrap(), 6);
    }

    #[test]
    fn a_message_keeps_its_sender_s_key() {
        let dir = TempDir::new("key");
        let mut db = ChatDb::open(&dir.0.join("confab.db")).unwrap();
        let keyed = ChatMessage {
            key: Some("k-1".into()),
            ..msg(1, T0)
        };
        db.insert(&[(room("r"), keyed.clone()), (room("r"), msg(2, T0))])
            .unwrap();
        assert_eq!(
            db.load(&room("r"), 10).unwrap().history,
            vec![keyed, msg(2, T0)]
        );
    }

    #[test]
    fn survives_reopening_and_skips_duplicates() {
        let dir = TempDir::new("reopen");
        let path = dir.0.join("confab.db");
        {
            let mut db = ChatDb::open(&path).unwrap();
            db.insert(&[(room("r"), msg(1, T0)), (room("r"), msg(2, T0))])
                .unwrap();
        }
        let mut db = ChatDb::open(&path).unwrap();
        let dup = ChatMessage {
            text: "other".into(),
            ..msg(2, T0)
        };
        assert_eq!(db.insert(&[(room("r"), dup)]).unwrap(), 1, "skipped");
        let seed = db.load(&room("r"), 10).unwrap();
        assert_eq!(
            seed.history,
            vec![msg(1, T0), msg(2, T0)],
            "first write wins"
        );
    }

    #[test]
    fn prune_drops_old_messages_but_keeps_the_last_id() {
        let dir = TempDir::new("prune");
        let mut db = ChatDb::open(&dir.0.join("confab.db")).unwrap();
        let old = T0;
        let new = T0 + 10 * 86_400_000;
        db.insert(&[
            (room("r"), msg(1, old)),
            (room("r"), msg(2, old)),
            (room("r"), msg(3, new)),
            (room("s"), msg(1, old)),
        ])
        .unwrap();
        // At new + 1 day with 3 days' retention: the 10-day-old ones go.
        assert_eq!(db.prune(new + 86_400_000, 3 * DAY).unwrap(), 3);
        assert_eq!(db.load(&room("r"), 10).unwrap().history, vec![msg(3, new)]);
        let s = db.load(&room("s"), 10).unwrap();
        assert_eq!(
            (s.history.len(), s.last_id),
            (0, 1),
            "ids continue after a prune"
        );
        assert_eq!(db.prune(new + 86_400_000, 3 * DAY).unwrap(), 0);
    }

    #[test]
    fn prune_works_in_chunks() {
        let dir = TempDir::new("chunks");
        let mut db = ChatDb::open(&dir.0.join("confab.db")).unwrap();
        let n = u64::try_from(PRUNE_CHUNK).unwrap() * 2 + 7;
        let batch: Vec<_> = (1..=n).map(|i| (room("r"), msg(i, T0))).collect();
        db.insert(&batch).unwrap();
        assert_eq!(db.prune(T0 + 2 * 86_400_000, DAY).unwrap() as u64, n);
        assert_eq!(db.count().unwrap(), 0);
    }

    /// Figures for the docs, not a check: `cargo test -p confab-server --lib
    /// store_speed -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn store_speed() {
        let dir = TempDir::new("speed");
        let mut db = ChatDb::open(&dir.0.join("confab.db")).unwrap();
        let (rooms, per_room) = (1_000u64, 100u64);
        let all: Vec<_> = (1..=per_room)
            .flat_map(|i| (0..rooms).map(move |r| (room(&format!("room-{r}")), msg(i, T0 + i))))
            .collect();
        let t = std::time::Instant::now();
        for batch in all.chunks(1024) {
            db.insert(batch).unwrap();
        }
        let took = t.elapsed();
        println!(
            "insert {} messages in batches of 1024: {took:?} ({:.0}/s)",
            all.len(),
            all.len() as f64 / took.as_secs_f64()
        );
        let t = std::time::Instant::now();
        for i in 0..200 {
            db.insert(&[(room("single"), msg(i + 1, T0))]).unwrap();
        }
        println!("200 single-message commits: {:?} each", t.elapsed() / 200);
        let t = std::time::Instant::now();
        for r in 0..1_000 {
            let seed = db.load(&room(&format!("room-{r}")), 100).unwrap();
            assert_eq!(seed.history.len(), 100);
        }
        println!("load last 100 of a room: {:?} each", t.elapsed() / 1_000);
        let t = std::time::Instant::now();
        let n = db
            .prune(T0 + 86_400_000 + 51, Duration::from_secs(86_400))
            .unwrap();
        println!("prune {n} messages: {:?}", t.elapsed());
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused() {
        let dir = TempDir::new("corrupt");
        let path = dir.0.join("confab.db");
        std::fs::write(&path, vec![b'x'; 4096]).unwrap();
        let e = ChatDb::open(&path).err().expect("refused");
        assert!(e.to_string().contains("not a database"), "{e}");
    }

    /// A database written by a confab before moderation was stored (schema version 1)
    /// is brought up to version 2 at open, its chat kept.
    #[test]
    fn a_version_1_database_gains_the_moderation_table_and_keeps_its_chat() {
        let dir = TempDir::new("v1");
        let path = dir.0.join("confab.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.execute_batch(SCHEMA_V1).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO chat_messages VALUES ('r', 1, 'a8d2kq0n5v1c', 'Ada', 'old', 1)",
                [],
            )
            .unwrap();
            conn.execute("INSERT INTO chat_rooms VALUES ('r', 1)", [])
                .unwrap();
        }
        let mut db = ChatDb::open(&path).unwrap();
        let version: i64 = db
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let seed = db.load(&room("r"), 10).unwrap();
        assert_eq!((seed.last_id, seed.history[0].text.as_str()), (1, "old"));
        assert_eq!(db.moderation(&room("r"), T0).unwrap(), None);
        let m = confab_signal::Moderation {
            seats: vec![confab_signal::room::Seat {
                identity: confab_signal::Identity::Token("u1".into()),
                role: confab_proto::Role::Host,
            }],
            ..Default::default()
        };
        db.write(&[], &[(room("r"), m.clone())], T0).unwrap();
        drop(db);
        // Opening again runs nothing twice.
        let db = ChatDb::open(&path).unwrap();
        assert_eq!(db.moderation(&room("r"), T0).unwrap(), Some(m));
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = TempDir::new("newer");
        let path = dir.0.join("confab.db");
        drop(ChatDb::open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 9).unwrap();
        drop(conn);
        let e = ChatDb::open(&path).err().expect("refused");
        assert!(matches!(e, DbError::NewerSchema { found: 9 }), "{e}");
    }
}
