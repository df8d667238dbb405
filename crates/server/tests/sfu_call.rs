//! An SFU call through a running server, with str0m peers standing in for browsers over
//! real UDP on loopback: signaling over the WebSocket (`sfuOffer`/`sfuAnswer`), media
//! through the SFU's one port, each member's audio reaching the other under the
//! member's peer id, and hanging up freeing the endpoint; with two shards behind the one
//! port, every member's media reaching its call's shard whichever shard's socket the
//! kernel gives it to.

mod common;
mod sfu_peer;
mod turn_udp;

use common::*;
use confab_server::config::MediaArg;
use serde_json::json;
use sfu_peer::{hear_partners, run, sfu_call, Peer};
use std::collections::HashSet;
use std::time::{Duration, Instant};

#[tokio::test]
async fn two_members_hear_each_other_through_the_sfu_and_hanging_up_frees_the_endpoint() {
    let server = TestServer::start_with(|c| c.sfu.media = MediaArg::Sfu).await;
    let (mut ada, ada_id) = server.joined("sfu", "Ada").await;
    let (mut bob, bob_id) = server.joined("sfu", "Bob").await;
    ada.send(json!({"type":"invite","to":bob_id})).await;
    loop {
        if bob.recv().await["type"] == "invited" {
            break;
        }
    }
    bob.send(json!({"type":"accept","call":1})).await;
    loop {
        let m = bob.recv().await;
        if m["type"] == "callJoined" {
            assert_eq!(m["media"], "sfu", "{m}");
            break;
        }
    }
    let (mut pa, mut pb) = (Peer::new(), Peer::new());
    ada.send(json!({"type":"sfuOffer","sdp":pa.offer()})).await;
    bob.send(json!({"type":"sfuOffer","sdp":pb.offer()})).await;
    let (aid, bid) = (ada_id.clone(), bob_id.clone());
    run(&mut [(&mut ada, &mut pa), (&mut bob, &mut pb)], |p| {
        p[0].1.frames.get(&bid).copied().unwrap_or(0) >= 25
            && p[1].1.frames.get(&aid).copied().unwrap_or(0) >= 25
    })
    .await;
    // Each got the other's audio, under the other's peer id, and nothing else.
    assert_eq!(pa.frames.keys().collect::<Vec<_>>(), [&bob_id]);
    assert_eq!(pb.frames.keys().collect::<Vec<_>>(), [&ada_id]);
    let (_, _, metrics) = server.get("/metrics").await;
    assert!(metrics.contains("confab_sfu_endpoints 2"), "{metrics}");

    // Bob hangs up: the call ends, both endpoints go, and signaling for the SFU is refused.
    bob.send(json!({"type":"leaveCall"})).await;
    let sdp = pb.offer();
    bob.send(json!({"type":"sfuOffer","id":9,"sdp":sdp})).await;
    let refused = loop {
        let m = bob.recv().await;
        if m["type"] == "error" {
            break m;
        }
    };
    assert_eq!(refused["code"], "not_sfu_call", "{refused}");
    assert_eq!(refused["ref"], 9);
    let (_, _, metrics) = server.get("/metrics").await;
    assert!(metrics.contains("confab_sfu_endpoints 0"), "{metrics}");
}

/// Calls on the two shards (a call's group decides its shard: every other call).
const CALLS: usize = 6;

#[tokio::test]
async fn with_two_shards_on_one_port_every_members_media_reaches_its_own_call() {
    let server = TestServer::start_with(|c| {
        c.sfu.media = MediaArg::Sfu;
        c.sfu.shards = Some(2);
    })
    .await;
    // Each call's two members: (client, peer, peer id). Twelve sockets: the kernel's
    // hash gives some of them to the socket of the shard that does not own their call
    // (all twelve on their owner's: odds of 1 in 4,096).
    let mut members = Vec::new();
    for call in 0..CALLS {
        let (a, id, b, jd) = sfu_call(&server, &format!("call{call}")).await;
        members.push((a, Peer::new(), id));
        members.push((b, Peer::new(), jd));
    }
    let partners = hear_partners(&mut members).await;
    let mut ports = HashSet::new();
    for (i, (_, peer, _)) in members.iter().enumerate() {
        // Only its own call's member, and only ever one server port.
        assert_eq!(peer.frames.keys().collect::<Vec<_>>(), [&partners[i]]);
        ports.extend(peer.server_ports.iter().copied());
    }
    assert_eq!(ports.len(), 1, "every shard on one port: {ports:?}");
    // Some datagrams came in on the socket of the shard that does not own their call.
    let (_, _, metrics) = server.get("/metrics").await;
    let handed = metrics
        .lines()
        .find_map(|l| l.strip_prefix("confab_sfu_handoffs_total "))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0);
    assert!(handed > 0.0, "{metrics}");
    // Hanging up frees the endpoints on both shards.
    for (c, _, _) in &mut members {
        c.send(json!({"type":"leaveCall"})).await;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, _, metrics) = server.get("/metrics").await;
        if metrics.contains("confab_sfu_endpoints 0") {
            break;
        }
        assert!(Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
