//! The Redis commands of a cluster node, each one round trip: the lease scripts, the
//! heartbeat, and publishing in order.
//!
//! Keys: `confab:lease:<room>` (the owner's node id, with a TTL), the hash
//! `confab:nodes` (node id → its last heartbeat, unix ms). Channels:
//! `confab:node:<id>`, one per node, carrying envelopes (`confab_cluster::envelope`).

use confab_cluster::lease::LEASE_TTL;
use confab_proto::RoomId;
use confab_signal::NodeId;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Script};

/// A beat older than this is removed from the registry by whoever reads it.
const FORGET_AFTER_MS: u64 = 3_600_000;

/// Sets the lease to `me` if it is free, renews it if it is `me`'s already, and returns
/// its holder (see `confab_cluster::Input::Claimed`).
const CLAIM: &str = r"
local cur = redis.call('GET', KEYS[1])
if (not cur) or cur == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return ARGV[1]
end
return cur";

/// Extends the lease only if it is still `me`'s: 1, else 0.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0";

/// Deletes the lease only if it is still `me`'s.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

/// The key of `room`'s lease.
pub(crate) fn lease_key(room: &RoomId) -> String {
    format!("confab:lease:{}", room.as_str())
}

/// The channel node `node` listens on.
pub(crate) fn channel(node: &NodeId) -> String {
    format!("confab:node:{}", node.0)
}

fn ttl_ms() -> u64 {
    u64::try_from(LEASE_TTL.as_millis()).unwrap_or(10_000)
}

/// Claims `room` for `me`: its holder afterwards.
pub(crate) async fn claim(
    conn: &mut ConnectionManager,
    me: &NodeId,
    room: &RoomId,
) -> redis::RedisResult<NodeId> {
    let owner: String = Script::new(CLAIM)
        .key(lease_key(room))
        .arg(&me.0)
        .arg(ttl_ms())
        .invoke_async(conn)
        .await?;
    Ok(NodeId(owner))
}

/// Renews `me`'s lease of `room`: whether it was still `me`'s.
pub(crate) async fn renew(
    conn: &mut ConnectionManager,
    me: &NodeId,
    room: &RoomId,
) -> redis::RedisResult<bool> {
    let n: i64 = Script::new(RENEW)
        .key(lease_key(room))
        .arg(&me.0)
        .arg(ttl_ms())
        .invoke_async(conn)
        .await?;
    Ok(n == 1)
}

/// Gives `me`'s lease of `room` up.
pub(crate) async fn release(
    conn: &mut ConnectionManager,
    me: &NodeId,
    room: &RoomId,
) -> redis::RedisResult<()> {
    let _: i64 = Script::new(RELEASE)
        .key(lease_key(room))
        .arg(&me.0)
        .invoke_async(conn)
        .await?;
    Ok(())
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

/// Publishes `batch` in order, in one pipeline.
pub(crate) async fn publish(
    conn: &mut ConnectionManager,
    batch: &[(NodeId, Vec<u8>)],
) -> redis::RedisResult<()> {
    let mut pipe = redis::pipe();
    for (to, payload) in batch {
        pipe.cmd("PUBLISH").arg(channel(to)).arg(payload).ignore();
    }
    pipe.query_async(conn).await
}
