//! Issue 12 item 20 over real servers: a room's lock, bans and host survive a restart on
//! the same data dir. A kicked intruder who rejoins first is refused (or, in an unlocked
//! room, is a guest that cannot lock), and the owner's browser, presenting its resume
//! token as it reconnects, hosts again, through the lock. A stop is not everyone
//! leaving: rooms alive at the stop come back even when no place could be held.

mod common;
use common::{Client, TestServer};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "confab-restart-moderation-{tag}-{}",
            std::process::id()
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

/// A server storing chat (and so moderation) in `dir`, holding places for 30 s, with at
/// most `max_detached` places held at once.
async fn start(dir: &Path, max_detached: usize) -> TestServer {
    let dir = dir.to_owned();
    TestServer::start_with(move |c| {
        c.data_dir = dir;
        c.store.chat_retention_days = 30;
        c.hub.resume_grace = Duration::from_secs(30).into();
        c.hub.max_detached = max_detached;
    })
    .await
}

/// Stops `s` with its clients still connected (as a restart finds them), and waits
/// until it has stopped (the store committed and closed).
async fn stop(mut s: TestServer, clients: Vec<Client>) {
    s.shutdown.cancel();
    let task = s.task.take().unwrap();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("server stops within 10 s")
        .unwrap()
        .unwrap();
    drop(clients);
}

/// A new connection's `hello`, presenting `resume` (a browser reconnecting); returns
/// the client and its resume token.
async fn hello(s: &TestServer, resume: Option<&str>) -> (Client, String) {
    let mut c = s.raw_client().await;
    let mut msg = json!({"type":"hello","version":1});
    if let Some(t) = resume {
        msg["resume"] = json!(t);
    }
    let w = c.request(msg).await;
    assert_eq!(w["type"], "welcome", "{w}");
    assert_ne!(
        w["resumed"],
        json!(true),
        "nothing to resume after a restart: {w}"
    );
    let token = w["resumeToken"].as_str().unwrap().to_owned();
    (c, token)
}

/// Sends `msg` with id `id` and returns the reply that echoes it (other messages, such
/// as presence, are skipped).
async fn reply(c: &mut Client, id: &str, mut msg: Value) -> Value {
    msg["id"] = json!(id);
    c.send(msg).await;
    loop {
        let m = c.recv().await;
        if m["ref"] == json!(id) {
            return m;
        }
    }
}

async fn join(c: &mut Client, name: &str) -> Value {
    reply(
        c,
        "join",
        json!({"type":"join","room":"standup","name":name}),
    )
    .await
}

/// Ada hosts "standup" with Grace; Mallory got in and Ada kicked her, then locked the
/// room if `lock`. Returns the three clients and their resume tokens.
async fn meeting(s: &TestServer, lock: bool) -> (Vec<Client>, [String; 3]) {
    let (mut ada, ta) = hello(s, None).await;
    assert_eq!(join(&mut ada, "Ada").await["you"]["role"], "host");
    let (mut grace, tg) = hello(s, None).await;
    assert_eq!(join(&mut grace, "Grace").await["type"], "joined");
    let (mut mallory, tm) = hello(s, None).await;
    let joined = join(&mut mallory, "Mallory").await;
    let mallory_id = joined["you"]["id"].clone();
    let kick = json!({"type":"kick","peer":mallory_id});
    ada.send(kick).await;
    loop {
        let m = mallory.recv().await;
        if m["type"] == "kicked" {
            break;
        }
    }
    if lock {
        ada.send(json!({"type":"lock","locked":true})).await;
        loop {
            if grace.recv().await["type"] == "roomLocked" {
                break;
            }
        }
    }
    (vec![ada, grace, mallory], [ta, tg, tm])
}

#[tokio::test]
async fn after_a_restart_the_kicked_intruder_is_refused_and_the_owner_hosts_again() {
    let dir = TempDir::new("locked");
    let s = start(&dir.0, 5000).await;
    let (clients, [ta, tg, tm]) = meeting(&s, true).await;
    stop(s, clients).await;

    let s = start(&dir.0, 5000).await;
    // Mallory's browser is back first, with its last token: it was removed.
    let (mut mallory, _) = hello(&s, Some(&tm)).await;
    let r = join(&mut mallory, "Mallory").await;
    assert_eq!(r["code"], "room_locked", "{r}");
    assert!(
        r["message"].as_str().unwrap().contains("removed you"),
        "{r}"
    );
    // A fresh tab: a newcomer, and the room is still locked.
    let (mut stranger, _) = hello(&s, None).await;
    assert_eq!(join(&mut stranger, "Ada").await["code"], "room_locked");

    // Ada's browser reconnects with its token: host, through the lock, told it is locked.
    let (mut ada, _) = hello(&s, Some(&ta)).await;
    let r = join(&mut ada, "Ada").await;
    assert_eq!(r["type"], "joined", "{r}");
    assert_eq!(r["you"]["role"], "host", "{r}");
    assert_eq!(ada.recv().await["type"], "roomLocked");
    // Grace's: a guest, through the lock.
    let (mut grace, _) = hello(&s, Some(&tg)).await;
    let r = join(&mut grace, "Grace").await;
    assert_eq!(
        (r["type"].as_str(), r["you"]["role"].as_str()),
        (Some("joined"), None)
    );
    assert_eq!(
        grace.recv().await["type"],
        "roomLocked",
        "she is told it is locked"
    );
    // Ada is the host: her unlock reaches the room.
    ada.send(json!({"type":"lock","locked":false})).await;
    loop {
        let m = grace.recv().await;
        if m["type"] == "roomLocked" {
            assert_eq!(m["locked"], false, "{m}");
            break;
        }
    }
}

#[tokio::test]
async fn an_intruder_first_back_in_an_unlocked_room_is_a_guest_and_cannot_lock_it() {
    let dir = TempDir::new("unlocked");
    let s = start(&dir.0, 5000).await;
    let (clients, [ta, _, _]) = meeting(&s, false).await;
    stop(s, clients).await;

    let s = start(&dir.0, 5000).await;
    let (mut mallory, _) = hello(&s, None).await;
    let r = join(&mut mallory, "Mallory").await;
    assert_eq!(r["type"], "joined", "{r}");
    assert_eq!(
        r["you"]["role"],
        Value::Null,
        "a guest: Ada's seat as host is held"
    );
    let r = reply(&mut mallory, "lock", json!({"type":"lock","locked":true})).await;
    assert_eq!(r["code"], "not_host", "{r}");
    let (mut ada, _) = hello(&s, Some(&ta)).await;
    assert_eq!(join(&mut ada, "Ada").await["you"]["role"], "host");
}

/// With no place held for anyone (`--max-detached 0`), clients cut off by a stop would
/// leave at once and the room end, forgetting its lock, had the stop told the hub.
#[tokio::test]
async fn a_stop_is_not_everyone_leaving() {
    let dir = TempDir::new("no-holds");
    let s = start(&dir.0, 0).await;
    let (clients, [ta, _, _]) = meeting(&s, true).await;
    stop(s, clients).await;

    let s = start(&dir.0, 0).await;
    let (mut stranger, _) = hello(&s, None).await;
    assert_eq!(join(&mut stranger, "Linus").await["code"], "room_locked");
    let (mut ada, _) = hello(&s, Some(&ta)).await;
    assert_eq!(join(&mut ada, "Ada").await["you"]["role"], "host");
}

/// In a locked room with a password, admission's early "locked" answer (which spares
/// the password check) must not keep out a member taking its place back.
#[tokio::test]
async fn a_member_gets_back_into_a_locked_room_with_a_password() {
    use confab_proto::RoomId;
    use confab_server::auth::password;
    use confab_server::config::RoomPasswords;
    let dir = TempDir::new("password");
    let hash = password::hash("pw");
    let start = || {
        let (dir, hash) = (dir.0.clone(), hash.clone());
        TestServer::start_with(move |c| {
            c.data_dir = dir;
            c.store.chat_retention_days = 30;
            c.hub.resume_grace = Duration::from_secs(30).into();
            let room = RoomId::parse("standup").unwrap();
            c.auth.room_passwords = vec![RoomPasswords(vec![(room, hash)])];
        })
    };
    let join_pw = |name: &str| json!({"type":"join","room":"standup","name":name,"password":"pw"});
    let s = start().await;
    let (mut ada, ta) = hello(&s, None).await;
    assert_eq!(
        reply(&mut ada, "j", join_pw("Ada")).await["you"]["role"],
        "host"
    );
    let (mut grace, tg) = hello(&s, None).await;
    assert_eq!(
        reply(&mut grace, "j", join_pw("Grace")).await["type"],
        "joined"
    );
    ada.send(json!({"type":"lock","locked":true})).await;
    assert_eq!(grace.recv().await["type"], "roomLocked");
    stop(s, vec![ada, grace]).await;

    let s = start().await;
    let (mut ada, _) = hello(&s, Some(&ta)).await;
    assert_eq!(
        reply(&mut ada, "j", join_pw("Ada")).await["you"]["role"],
        "host"
    );
    // The room exists now; Grace's join meets admission's early check.
    let (mut grace, _) = hello(&s, Some(&tg)).await;
    let r = reply(&mut grace, "j", join_pw("Grace")).await;
    assert_eq!(r["type"], "joined", "{r}");
    let (mut stranger, _) = hello(&s, None).await;
    let r = reply(&mut stranger, "j", join_pw("Linus")).await;
    assert_eq!(r["code"], "room_locked", "{r}");
}
