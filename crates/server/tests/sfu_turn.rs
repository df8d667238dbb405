//! A relay-only member reaches its SFU call through confab's TURN, in-process, whichever
//! of two shards owns the call: TURN's datagrams are steered to the shard their STUN
//! request names (not to the first shard), and the owner answers back through TURN.

mod common;
mod sfu_peer;
mod turn_udp;

use common::*;
use confab_server::config::MediaArg;
use sfu_peer::{hear_partners, sfu_call, Peer};
use std::net::SocketAddr;

#[tokio::test]
async fn relay_only_members_reach_calls_on_both_shards_through_turn() {
    let sfu: SocketAddr = format!("127.0.0.1:{}", process::free_port())
        .parse()
        .unwrap();
    let server = TestServer::start_with(|c| {
        c.turn = turn_settings();
        c.sfu.media = MediaArg::Sfu;
        c.sfu.shards = Some(2);
        c.sfu.listen = sfu;
    })
    .await;
    let turn = server.turn_addr.unwrap();
    // Two calls: consecutive SFU groups, so one on each shard. In each, Ada is relayed
    // by TURN and Bob is not.
    let mut members = Vec::new();
    for room in ["one", "two"] {
        let (a, id, b, jd) = sfu_call(&server, room).await;
        let relayed = tokio::task::spawn_blocking(move || Peer::relayed(turn, sfu))
            .await
            .unwrap();
        members.push((a, relayed, id));
        members.push((b, Peer::new(), jd));
    }
    let partners = hear_partners(&mut members).await;
    for (i, (_, peer, _)) in members.iter().enumerate() {
        assert_eq!(peer.frames.keys().collect::<Vec<_>>(), [&partners[i]]);
    }
    // Nothing left TURN for the SFU over a socket: it all went in-process.
    let (_, _, metrics) = server.get("/metrics").await;
    assert!(
        metrics.contains("confab_turn_relayed_bytes_total{direction=\"to_peer\"} 0"),
        "{metrics}"
    );
}
