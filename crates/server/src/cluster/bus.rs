//! The Redis commands of a cluster node, each one round trip: the lease scripts, the
//! heartbeat, and publishing in order.
//!
//! Keys: `confab:lease:<room>` (the owner's node id, with a TTL), the hash
//! `confab:nodes` (node id → its last heartbeat, unix ms), `confab:chat:<room>` (a
//! stream of the room's chat messages, JSON in field `m`, the last [`CHAT_KEPT`], gone
//! after the retention without a new one), `confab:moderation:<room>` (the room's
//! moderation, JSON), `confab:session:<hash of a resume token>` (a session in a room,
//! JSON, for a resume on any node). Channels: `confab:node:<id>`, one per node, carrying envelopes
//! (`confab_cluster::envelope`).

use confab_cluster::lease::LEASE_TTL;
use confab_proto::{ChatMessage, RoomId};
use confab_signal::{ChatSeed, Moderation, NodeId};
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, FromRedisValue, Script};
use std::sync::LazyLock;

/// A beat older than this is removed from the registry by whoever reads it.
const FORGET_AFTER_MS: u64 = 3_600_000;

// The lease scripts, hashed once (the SHA1 `EVALSHA` sends); renewals run every few
// seconds per room.

/// Sets the lease to `me` if it is free, renews it if it is `me`'s already, and returns
/// its holder (see `confab_cluster::Input::Claimed`).
static CLAIM: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local cur = redis.call('GET', KEYS[1])
if (not cur) or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return cur",
    )
});

/// Extends the lease only if it is still `me`'s: 1, else 0.
static RENEW: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0",
    )
});

/// Deletes the lease only if it is still `me`'s.
static RELEASE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0",
    )
});

/// The key of `room`'s lease.
pub(crate) fn lease_key(room: &RoomId) -> String {
    format!("confab:lease:{}", room.as_str())
}

/// The channel node `node` listens on.
pub(crate) fn channel(node: &NodeId) -> String {
    format!("confab:node:{}", node.0)
}

fn ttl_ms() -> u64 {
    u64::try_from(LEASE_TTL.as_millis()).unwrap_or(u64::MAX)
}

/// Runs lease `script` on `room`'s key for `me` (with the TTL as its second argument).
async fn lease<T: FromRedisValue>(
    conn: &mut ConnectionManager,
    script: &Script,
    me: &NodeId,
    room: &RoomId,
) -> redis::RedisResult<T> {
    script
        .key(lease_key(room))
        .arg(&me.0)
        .arg(ttl_ms())
        .invoke_async(conn)
        .await
}

/// Claims `room` for `me`: its holder afterwards.
pub(crate) async fn claim(
    conn: &mut ConnectionManager,
    me: &NodeId,
    room: &RoomId,
) -> redis::RedisResult<NodeId> {
    lease(conn, &CLAIM, me, room).await.map(NodeId)
}

/// Renews `me`'s lease of `room`: whether it was still `me`'s.
pub(crate) async fn renew(
    conn: &mut ConnectionManager,
    me: &NodeId,
    room: &RoomId,
) -> redis::RedisResult<bool> {
    lease::<i64>(conn, &RENEW, me, room).await.map(|n| n == 1)
}

/// Gives `me`'s lease of `room` up.
pub(crate) async fn release(
    conn: &mut ConnectionManager,
    me: &NodeId,
    room: &RoomId,
) -> redis::RedisResult<()> {
    lease::<i64>(conn, &RELEASE, me, room).await.map(drop)
}

/// Writes `me`'s heartbeat and reads everyone's (forgetting beats an hour old).
pub(crate) async fn beat(
    conn: &mut ConnectionManager,
    me: &NodeId,
    now_ms: u64,
) -> redis::RedisResult<Vec<(NodeId, u64)>> {
    let _: () = conn.hset("confab:nodes", &me.0, now_ms).await?;
    let all: Vec<(String, u64)> = conn.hgetall("confab:nodes").await?;
    let mut beats = Vec::with_capacity(all.len());
    for (node, at) in all {
        if now_ms.saturating_sub(at) > FORGET_AFTER_MS {
            let _: () = conn.hdel("confab:nodes", &node).await?;
        } else {
            beats.push((NodeId(node), at));
        }
    }
    Ok(beats)
}

/// Removes `me` from the registry (a clean stop).
pub(crate) async fn leave(conn: &mut ConnectionManager, me: &NodeId) -> redis::RedisResult<()> {
    conn.hdel("confab:nodes", &me.0).await
}

/// Chat messages a room's stream keeps (about; Redis trims in whole nodes).
pub(crate) const CHAT_KEPT: usize = 1000;

fn chat_key(room: &RoomId) -> String {
    format!("confab:chat:{}", room.as_str())
}

fn moderation_key(room: &RoomId) -> String {
    format!("confab:moderation:{}", room.as_str())
}

/// One write, in the order the node made it.
#[derive(Debug)]
pub(crate) enum Write {
    /// An envelope for node `to`'s channel.
    Publish(NodeId, Vec<u8>),
    /// A chat message of a room owned here, as JSON.
    Chat(RoomId, String),
    /// A room's moderation as JSON, or `None`: the room ended, forget it.
    Moderation(RoomId, Option<String>),
    /// A session's record (JSON) under its key, or `None`: forget it.
    Session(String, Option<String>),
}

/// How long a session's record lives without being written again: a member's resume
/// on another node works while it is in its room, up to a day.
const SESSION_TTL_MS: u64 = 86_400_000;

fn session_key(key: &str) -> String {
    format!("confab:session:{key}")
}

/// The record under `key`, as JSON.
pub(crate) async fn find_session(
    conn: &mut ConnectionManager,
    key: &str,
) -> redis::RedisResult<Option<String>> {
    conn.get(session_key(key)).await
}

/// Performs `batch` in order, in one pipeline; chat and moderation live `retention_ms`
/// after their last write.
pub(crate) async fn write(
    conn: &mut ConnectionManager,
    batch: &[Write],
    retention_ms: u64,
) -> redis::RedisResult<()> {
    let mut pipe = redis::pipe();
    for w in batch {
        match w {
            Write::Publish(to, payload) => {
                pipe.cmd("PUBLISH").arg(channel(to)).arg(payload).ignore();
            }
            Write::Chat(room, json) => {
                let key = chat_key(room);
                pipe.cmd("XADD")
                    .arg(&key)
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(CHAT_KEPT)
                    .arg("*")
                    .arg("m")
                    .arg(json)
                    .ignore();
                pipe.cmd("PEXPIRE").arg(&key).arg(retention_ms).ignore();
            }
            Write::Moderation(room, Some(json)) => {
                pipe.cmd("SET")
                    .arg(moderation_key(room))
                    .arg(json)
                    .arg("PX")
                    .arg(retention_ms)
                    .ignore();
            }
            Write::Moderation(room, None) => {
                pipe.cmd("DEL").arg(moderation_key(room)).ignore();
            }
            Write::Session(key, Some(json)) => {
                pipe.cmd("SET")
                    .arg(session_key(key))
                    .arg(json)
                    .arg("PX")
                    .arg(SESSION_TTL_MS)
                    .ignore();
            }
            Write::Session(key, None) => {
                pipe.cmd("DEL").arg(session_key(key)).ignore();
            }
        }
    }
    pipe.query_async(conn).await
}

/// `room`'s last `history` chat messages and its moderation, as the hub seeds a room.
/// Entries that do not parse are skipped (logged by the caller's count).
pub(crate) async fn load_chat(
    conn: &mut ConnectionManager,
    room: &RoomId,
    history: usize,
) -> redis::RedisResult<ChatSeed> {
    type Entry = (String, Vec<(String, String)>);
    let entries: Vec<Entry> = redis::cmd("XREVRANGE")
        .arg(chat_key(room))
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(history.max(1))
        .query_async(conn)
        .await?;
    let history: Vec<ChatMessage> = entries
        .into_iter()
        .flat_map(|(_, fields)| fields)
        .filter(|(k, _)| k == "m")
        .filter_map(|(_, json)| serde_json::from_str(&json).ok())
        .collect();
    let moderation: Option<String> = conn.get(moderation_key(room)).await?;
    let moderation = moderation.and_then(|m| serde_json::from_str::<Moderation>(&m).ok());
    let last_id = history.iter().map(|m| m.id).max().unwrap_or(0);
    Ok(ChatSeed {
        room: room.clone(),
        history,
        last_id,
        moderation,
    })
}
