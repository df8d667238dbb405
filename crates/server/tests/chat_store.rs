//! The chat store over real servers: history and ids survive a restart on the same data
//! dir and a room emptying; retention 0 writes nothing; pruning drops old messages but
//! never lets ids be reused; a broken database stops the start with a clear error.

mod common;
use common::{Client, TestServer};
use confab_proto::{ChatMessage, PeerId, RoomId};
use confab_server::config::Config;
use confab_server::store::sqlite::ChatDb;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const DAY_MS: u64 = 86_400_000;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "confab-chat-store-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// A server keeping chat in `dir` for `days` days, `history` messages per joiner.
async fn start(dir: &Path, days: u32, history: usize) -> TestServer {
    let dir = dir.to_owned();
    TestServer::start_with(move |c| {
        c.data_dir = dir;
        c.store.chat_retention_days = days;
        c.hub.chat_history = history;
    })
    .await
}

/// Shuts `s` down and waits until it has stopped (the store flushed and closed).
async fn stop(mut s: TestServer, clients: Vec<Client>) {
    drop(clients);
    s.shutdown.cancel();
    let task = s.task.take().unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("server stops within 10 s")
        .unwrap()
        .unwrap();
}

/// Sends a chat and returns the sender's copy of the message.
async fn say(c: &mut Client, text: &str) -> Value {
    let r = c
        .request(json!({"type":"chat","id":text,"text":text}))
        .await;
    assert_eq!(r["type"], "chat", "{r}");
    r["message"].clone()
}

/// Joins `room` as `name` on a new client; returns it and the `joined` history.
async fn join(s: &TestServer, room: &str, name: &str) -> (Client, Value) {
    let (mut c, _) = s.client().await;
    let r = c
        .request(json!({"type":"join","room":room,"name":name}))
        .await;
    assert_eq!(r["type"], "joined", "{r}");
    (c, r["history"].clone())
}

fn msg(id: u64, text: &str, ts: u64) -> ChatMessage {
    ChatMessage {
        id,
        from: PeerId::new("a8d2kq0n5v1c"),
        name: "Ada".into(),
        text: text.into(),
        ts,
        key: None,
    }
}

#[tokio::test]
async fn history_and_ids_survive_a_restart_on_the_same_data_dir() {
    let dir = TempDir::new("restart");
    let s = start(&dir.0, 30, 100).await;
    let (mut a, _) = join(&s, "standup", "Ada").await;
    let (mut b, _) = join(&s, "standup", "Grace").await;
    assert_eq!(a.recv().await["type"], "peerJoined");
    let m1 = say(&mut a, "Morning!").await;
    assert_eq!(b.recv().await["message"], m1);
    let m2 = say(&mut b, "Agenda first?").await;
    let (mut o, _) = join(&s, "other", "Linus").await;
    let o1 = say(&mut o, "elsewhere").await;
    stop(s, vec![a, b, o]).await;
    assert!(dir.0.join("confab.db").is_file());

    let s = start(&dir.0, 30, 100).await;
    let (mut c, history) = join(&s, "standup", "Carol").await;
    assert_eq!(
        history,
        json!([m1, m2]),
        "same ids, senders, names, texts and timestamps, oldest first"
    );
    let m3 = say(&mut c, "Sorry I am late").await;
    assert_eq!(m3["id"], 3, "ids continue after the restart");
    let (_o, history) = join(&s, "other", "Linus").await;
    assert_eq!(history, json!([o1]), "rooms stay apart");
    let (_n, history) = join(&s, "new-room", "Nobody").await;
    assert_eq!(history, json!([]));
}

#[tokio::test]
async fn a_burst_right_before_shutdown_is_all_there_after_it() {
    let dir = TempDir::new("burst");
    let s = start(&dir.0, 30, 100).await;
    let (mut a, _) = join(&s, "r", "Ada").await;
    let (mut b, _) = join(&s, "r", "Grace").await;
    a.recv().await;
    let mut sent = Vec::new();
    // Ten each: the chat rate limit's burst.
    for i in 0..10 {
        let m = say(&mut a, &format!("a{i}")).await;
        assert_eq!(b.recv().await["message"], m);
        sent.push(m);
        let m = say(&mut b, &format!("b{i}")).await;
        assert_eq!(a.recv().await["message"], m);
        sent.push(m);
    }
    stop(s, vec![a, b]).await;

    let s = start(&dir.0, 30, 100).await;
    let (_c, history) = join(&s, "r", "Carol").await;
    let ids: Vec<u64> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, (1..=20).collect::<Vec<_>>(), "none lost, none twice");
    assert_eq!(history, Value::Array(sent));
}

#[tokio::test]
async fn history_outlives_the_room_emptying() {
    let dir = TempDir::new("empty");
    let s = start(&dir.0, 30, 100).await;
    let (mut a, _) = join(&s, "r", "Ada").await;
    let m1 = say(&mut a, "anyone?").await;
    let r = a.request(json!({"type":"leave","id":"l"})).await;
    assert_eq!(r["type"], "left");
    // The room is gone from the hub now; its chat comes back from the store.
    let (mut b, history) = join(&s, "r", "Grace").await;
    assert_eq!(history, json!([m1]));
    assert_eq!(say(&mut b, "me").await["id"], 2);
}

#[tokio::test]
async fn chat_history_limits_what_a_joiner_gets_also_after_a_restart() {
    let dir = TempDir::new("limit");
    let s = start(&dir.0, 30, 2).await;
    let (mut a, _) = join(&s, "r", "Ada").await;
    let mut sent = Vec::new();
    for i in 1..=3 {
        sent.push(say(&mut a, &format!("m{i}")).await);
    }
    let (_b, history) = join(&s, "r", "Grace").await;
    assert_eq!(history, json!([sent[1], sent[2]]));
    stop(s, vec![a]).await;
    let s = start(&dir.0, 30, 2).await;
    let (_c, history) = join(&s, "r", "Carol").await;
    assert_eq!(history, json!([sent[1], sent[2]]));
}

#[tokio::test]
async fn retention_zero_writes_nothing_and_history_ends_with_the_server() {
    let dir = TempDir::new("zero");
    let s = start(&dir.0, 0, 100).await;
    let (mut a, _) = join(&s, "r", "Ada").await;
    say(&mut a, "ephemeral").await;
    stop(s, vec![a]).await;
    let files: Vec<_> = std::fs::read_dir(&dir.0).unwrap().collect();
    assert!(files.is_empty(), "nothing written: {files:?}");

    let s = start(&dir.0, 0, 100).await;
    let (mut b, history) = join(&s, "r", "Grace").await;
    assert_eq!(history, json!([]));
    assert_eq!(say(&mut b, "again").await["id"], 1);
}

#[tokio::test]
async fn pruned_messages_are_gone_but_their_ids_are_not_reused() {
    let dir = TempDir::new("pruned");
    let s = start(&dir.0, 30, 100).await;
    let (mut a, _) = join(&s, "r", "Ada").await;
    say(&mut a, "one").await;
    say(&mut a, "two").await;
    stop(s, vec![a]).await;
    {
        // What the hourly prune does 31 days later.
        let mut db = ChatDb::open(&dir.0.join("confab.db")).unwrap();
        let pruned = db
            .prune(unix_ms() + 31 * DAY_MS, Duration::from_secs(30 * 86_400))
            .unwrap();
        assert_eq!(pruned, 2);
    }
    let s = start(&dir.0, 30, 100).await;
    let (mut b, history) = join(&s, "r", "Grace").await;
    assert_eq!(history, json!([]));
    assert_eq!(say(&mut b, "three").await["id"], 3);
}

#[tokio::test]
async fn the_start_prunes_messages_older_than_the_retention() {
    let dir = TempDir::new("startprune");
    let room = RoomId::parse("r").unwrap();
    let now = unix_ms();
    {
        let mut db = ChatDb::open(&dir.0.join("confab.db")).unwrap();
        db.insert(&[
            (room.clone(), msg(1, "six weeks ago", now - 42 * DAY_MS)),
            (room.clone(), msg(2, "yesterday", now - DAY_MS)),
        ])
        .unwrap();
    }
    let s = start(&dir.0, 30, 100).await;
    let (_c, history) = join(&s, "r", "Carol").await;
    let texts: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["yesterday"]);
    stop(s, vec![]).await;
    let db = ChatDb::open(&dir.0.join("confab.db")).unwrap();
    assert_eq!(db.count().unwrap(), 1, "the old one is deleted from disk");
}

/// Runs a server on `dir` expecting it to refuse to start; returns the error text.
async fn start_error(dir: PathBuf) -> String {
    let mut config = Config::default();
    config.http.listen = "127.0.0.1:0".parse().unwrap();
    config.http.insecure_http = true;
    config.data_dir = dir;
    config.turn.no_turn = true;
    config.sfu.listen = "127.0.0.1:0".parse().unwrap();
    let listeners = confab_server::Listeners::bind(&config).unwrap();
    let run = confab_server::run(listeners, Arc::new(config), None, CancellationToken::new());
    tokio::time::timeout(Duration::from_secs(5), run)
        .await
        .expect("fails at once")
        .expect_err("refuses to start")
        .to_string()
}

#[tokio::test]
async fn a_file_that_is_not_a_database_stops_the_start_with_a_clear_error() {
    let dir = TempDir::new("corrupt");
    let db = dir.0.join("confab.db");
    std::fs::write(&db, vec![b'#'; 8192]).unwrap();
    let e = start_error(dir.0.clone()).await;
    assert!(e.contains("cannot open the chat store"), "{e}");
    assert!(e.contains(&db.display().to_string()), "names the file: {e}");
    assert!(e.contains("not a database"), "says why: {e}");
    assert!(
        e.contains("--chat-retention-days 0"),
        "says what to do: {e}"
    );
    assert_eq!(
        std::fs::read(&db).unwrap(),
        vec![b'#'; 8192],
        "left as it was"
    );
}

#[tokio::test]
async fn a_data_dir_that_cannot_be_created_stops_the_start() {
    let dir = TempDir::new("blocked");
    let file = dir.0.join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let e = start_error(file.join("data")).await;
    assert!(e.contains("cannot open the chat store"), "{e}");
}
