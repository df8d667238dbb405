//! Cluster mode against a real `redis-server`: clients on different nodes share a room
//! (presence, chat, relay), each message arrives once, the room's lease is in Redis
//! and goes when the room ends, and a gap in what one node publishes to another makes
//! the other resynchronise its members.

mod common;

use common::redis_server::RedisServer;
use common::{Client, TestServer, WAIT};
use redis::AsyncCommands;
use serde_json::{json, Value};

async fn node(redis: &RedisServer, id: &str) -> TestServer {
    let (url, id) = (redis.url(), id.to_owned());
    TestServer::start_with(move |c| {
        c.cluster.redis_url = Some(url.into());
        c.cluster.node_id = Some(id);
        // Chat kept (in Redis, in a cluster), so a room made again keeps it.
        c.store.chat_retention_days = 1;
    })
    .await
}

async fn redis_conn(redis: &RedisServer) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(redis.url()).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

/// The next message of `kind`, skipping others (presence, ICE servers).
async fn next(c: &mut Client, kind: &str) -> Value {
    loop {
        let m = c.recv().await;
        if m["type"] == kind {
            return m;
        }
    }
}

#[tokio::test]
async fn members_on_two_nodes_share_a_room() {
    let redis = RedisServer::start();
    let (a, b) = (node(&redis, "node-a").await, node(&redis, "node-b").await);
    let (mut ada, ada_id) = a.joined("standup", "Ada").await;
    let (mut grace, grace_id) = b.client().await;
    let joined = grace
        .request(json!({"type":"join","id":"j","room":"standup","name":"Grace"}))
        .await;
    assert_eq!(joined["type"], "joined", "{joined}");
    assert_eq!(joined["peers"][0]["id"], ada_id, "{joined}");
    let peer = next(&mut ada, "peerJoined").await;
    assert_eq!(peer["peer"]["id"], grace_id);

    // The room lives on node a, which holds its lease.
    let mut r = redis_conn(&redis).await;
    let owner: Option<String> = r.get("confab:lease:standup").await.unwrap();
    assert_eq!(owner.as_deref(), Some("node-a"));

    // Chat from node b reaches both, once, with one id.
    grace
        .send(json!({"type":"chat","id":1,"text":"hello from b"}))
        .await;
    let (to_ada, to_grace) = (next(&mut ada, "chat").await, next(&mut grace, "chat").await);
    assert_eq!(to_ada["message"]["text"], "hello from b");
    assert_eq!(to_ada["message"]["id"], to_grace["message"]["id"]);
    assert_eq!(to_grace["ref"], 1);
    ada.expect_silence(200).await;

    // An offer crosses nodes, stamped with its sender.
    ada.send(json!({"type":"offer","to":grace_id,"sdp":"v=0\r\n"}))
        .await;
    assert_eq!(
        next(&mut grace, "offer").await,
        json!({"type":"offer","from":ada_id,"sdp":"v=0\r\n"})
    );

    // Grace leaves; then Ada, and the room's lease goes.
    let left = grace.request(json!({"type":"leave","id":2})).await;
    assert_eq!(left["type"], "left");
    let gone = next(&mut ada, "peerLeft").await;
    assert_eq!(gone["peerId"], grace_id);
    ada.request(json!({"type":"leave","id":3})).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let owner: Option<String> = r.get("confab:lease:standup").await.unwrap();
        if owner.is_none() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "lease still held");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn three_nodes_deliver_each_chat_once_to_everyone() {
    let redis = RedisServer::start();
    let nodes = [
        node(&redis, "n1").await,
        node(&redis, "n2").await,
        node(&redis, "n3").await,
    ];
    let mut members = Vec::new();
    for (i, n) in [1, 0, 2, 1, 2, 0].into_iter().enumerate() {
        let (c, _) = nodes[n].joined("big", &format!("P{i}")).await;
        members.push(c);
    }
    for (i, sender) in [0usize, 3, 4].into_iter().enumerate() {
        members[sender]
            .send(json!({"type":"chat","text":format!("m{i}")}))
            .await;
        for m in members.iter_mut() {
            let chat = next(m, "chat").await;
            assert_eq!(chat["message"]["text"], format!("m{i}"));
        }
    }
    for m in members.iter_mut() {
        m.expect_silence(150).await;
    }
}

#[tokio::test]
async fn a_gap_in_what_a_node_publishes_resynchronises_its_members() {
    let redis = RedisServer::start();
    let (a, b) = (node(&redis, "gap-a").await, node(&redis, "gap-b").await);
    let (mut ada, _) = a.joined("r", "Ada").await;
    let (mut grace, _) = b.joined("r", "Grace").await;
    next(&mut ada, "peerJoined").await;
    ada.send(json!({"type":"chat","text":"before"})).await;
    next(&mut grace, "chat").await;

    // Node b's subscription drops (Redis kills it): what node a publishes before it
    // is back is lost. Node b subscribes again, sees the gap at node a's next message,
    // and gives its members a fresh snapshot of the room, with the lost message in it.
    let mut r = redis_conn(&redis).await;
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("pubsub")
        .query_async(&mut r)
        .await
        .unwrap();
    assert!(killed >= 2, "both nodes subscribe");
    ada.send(json!({"type":"chat","text":"lost"})).await;
    next(&mut ada, "chat").await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    ada.send(json!({"type":"chat","text":"after"})).await;
    assert_eq!(next(&mut grace, "chat").await["message"]["text"], "after");
    let snapshot = next(&mut grace, "joined").await;
    assert_eq!(snapshot["room"], "r");
    let texts: Vec<&str> = snapshot["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["before", "lost", "after"]);

    // Junk on a node's channel is dropped; the node goes on.
    let _: i64 = r.publish("confab:node:gap-b", "not json").await.unwrap();
    ada.send(json!({"type":"chat","text":"still here"})).await;
    assert_eq!(
        next(&mut grace, "chat").await["message"]["text"],
        "still here"
    );
}

#[tokio::test]
async fn when_the_owner_is_drained_its_room_is_made_again_on_a_live_node_at_once() {
    let redis = RedisServer::start();
    let a = node(&redis, "own-a").await;
    let (b, c) = (node(&redis, "own-b").await, node(&redis, "own-c").await);
    let (mut ada, _) = a.joined("r", "Ada").await;
    let (mut grace, grace_id) = b.joined("r", "Grace").await;
    let (mut hank, hank_id) = c.joined("r", "Hank").await;
    next(&mut grace, "peerJoined").await;
    ada.send(json!({"type":"chat","text":"before the crash"}))
        .await;
    next(&mut hank, "chat").await;
    // Grace sends one with a key; suppose its confirmation is lost in the crash.
    grace
        .send(json!({"type":"chat","id":1,"text":"sent once","key":"g-1"}))
        .await;
    let sent = next(&mut hank, "chat").await;
    next(&mut grace, "chat").await;
    let mut r = redis_conn(&redis).await;
    let owner: Option<String> = r.get("confab:lease:r").await.unwrap();
    assert_eq!(owner.as_deref(), Some("own-a"));

    // Node a is drained (SIGTERM): it gives its leases up and tells the others, so they
    // need not wait for it to fall silent nor for its leases to run out (a crash, which
    // takes about 10 s, is the browser test's `SIGKILL`).
    let started = std::time::Instant::now();
    drop(a);
    // Grace and Hank are in the room again, owned by a live node, each with its own
    // peer id, each seeing the other.
    for (who, other) in [(&mut grace, &hank_id), (&mut hank, &grace_id)] {
        let joined = loop {
            let m = who.recv_within(std::time::Duration::from_secs(20)).await;
            if m["type"] == "joined" {
                break m;
            }
        };
        // The chat is intact: it lives in Redis, not on the node that died.
        assert_eq!(joined["history"][0]["text"], "before the crash", "{joined}");
        assert_eq!(joined["history"][1]["key"], "g-1", "{joined}");
        let peers: Vec<&Value> = joined["peers"].as_array().unwrap().iter().collect();
        if !peers.iter().any(|p| p["id"] == *other) {
            // The first one back sees the other come back after it.
            let back = next(who, "peerJoined").await;
            assert_eq!(back["peer"]["id"], *other, "{back}");
        }
    }
    let took = started.elapsed();
    assert!(took.as_millis() < 3000, "owned again after {took:?}");
    let owner: Option<String> = r.get("confab:lease:r").await.unwrap();
    assert!(
        matches!(owner.as_deref(), Some("own-b" | "own-c")),
        "{owner:?}"
    );
    // Grace sends it again, same key: the room made again knows it (from Redis): she
    // gets the same message, Hank nothing new.
    let again = grace
        .request(json!({"type":"chat","id":2,"text":"sent once","key":"g-1"}))
        .await;
    assert_eq!(again["ref"], 2);
    assert_eq!(again["message"]["id"], sent["message"]["id"], "{again}");
    grace
        .send(json!({"type":"chat","text":"we are still here"}))
        .await;
    let chat = next(&mut hank, "chat").await;
    assert_eq!(chat["message"]["text"], "we are still here");
    assert!(
        chat["message"]["id"].as_u64() > Some(1),
        "ids go on: {chat}"
    );
}

#[tokio::test]
async fn a_member_whose_node_stops_resumes_on_another_node() {
    let redis = RedisServer::start();
    let grace = |c: &mut confab_server::config::Config| {
        c.hub.resume_grace = std::time::Duration::from_secs(30).into();
    };
    let with_grace = |id: &str| {
        let (url, id) = (redis.url(), id.to_owned());
        TestServer::start_with(move |c| {
            c.cluster.redis_url = Some(url.into());
            c.cluster.node_id = Some(id);
            c.store.chat_retention_days = 1;
            grace(c);
        })
    };
    let (a, b, c) = (
        with_grace("res-a").await,
        with_grace("res-b").await,
        with_grace("res-c").await,
    );
    let (mut ada, _) = a.joined("r", "Ada").await;
    let mut grace_b = b.raw_client().await;
    let welcome = grace_b.request(json!({"type":"hello","version":1})).await;
    let (grace_id, token) = (welcome["peerId"].clone(), welcome["resumeToken"].clone());
    let joined = grace_b
        .request(json!({"type":"join","room":"r","name":"Grace"}))
        .await;
    assert_eq!(joined["type"], "joined", "{joined}");
    next(&mut ada, "peerJoined").await;

    // Node b stops; Grace's browser reconnects, to node c, with its resume token.
    drop(b);
    drop(grace_b);
    let presence = next(&mut ada, "presence").await;
    assert_eq!(presence["state"]["reconnecting"], true, "{presence}");
    let mut grace_c = c.raw_client().await;
    let welcome = grace_c
        .request(json!({"type":"hello","id":"h","version":1,"resume":token}))
        .await;
    assert_eq!(welcome["resumed"], true, "{welcome}");
    assert_eq!(welcome["peerId"], grace_id);
    let joined = next(&mut grace_c, "joined").await;
    assert_eq!(joined["room"], "r");
    let back = next(&mut ada, "presence").await;
    assert_eq!(back["peerId"], grace_id);
    assert_ne!(back["state"]["reconnecting"], true, "{back}");
    grace_c
        .send(json!({"type":"chat","text":"back, via c"}))
        .await;
    assert_eq!(
        next(&mut ada, "chat").await["message"]["text"],
        "back, via c"
    );
}

#[tokio::test]
async fn nodes_share_rooms_over_tls_to_a_redis_with_a_password() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let redis = RedisServer::start_tls("s3cret-pw");
    let (ca, _) = redis.tls.clone().unwrap();
    let tls_node = |id: &str| {
        let (url, id, ca) = (redis.url(), id.to_owned(), ca.clone());
        TestServer::start_with(move |c| {
            c.cluster.redis_url = Some(url.into());
            c.cluster.redis_ca = Some(ca);
            c.cluster.node_id = Some(id);
        })
    };
    let (a, b) = (tls_node("tls-a").await, tls_node("tls-b").await);
    let (mut ada, _) = a.joined("r", "Ada").await;
    let (mut grace, _) = b.joined("r", "Grace").await;
    next(&mut ada, "peerJoined").await;
    grace.send(json!({"type":"chat","text":"over TLS"})).await;
    assert_eq!(next(&mut ada, "chat").await["message"]["text"], "over TLS");

    // The wrong password: the node does not start, and says why.
    let wrong = redis.url().replace("s3cret-pw", "nope");
    let mut s = TestServer::start_with(move |c| {
        c.cluster.redis_url = Some(wrong.into());
        c.cluster.redis_ca = Some(ca);
    })
    .await;
    let err = tokio::time::timeout(std::time::Duration::from_secs(10), s.task.take().unwrap())
        .await
        .expect("fails fast")
        .unwrap()
        .expect_err("a wrong password");
    assert!(err.to_string().contains("Redis"), "{err}");
}

#[tokio::test]
async fn a_node_that_cannot_reach_redis_does_not_start() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let s = TestServer::start_with(move |c| {
        c.cluster.redis_url = Some(format!("redis://127.0.0.1:{port}/0").into());
    })
    .await;
    let mut s = s;
    let task = s.task.take().unwrap();
    let err = tokio::time::timeout(std::time::Duration::from_secs(10), task)
        .await
        .expect("fails fast")
        .unwrap()
        .expect_err("no Redis, no cluster node");
    assert!(err.to_string().contains("Redis"), "{err}");
}
