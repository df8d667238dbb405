//! Calls over real WebSockets: the hub task's timer ends an unanswered invitation after
//! `ring_timeout` (both sides told), and an accepted one tells the joiner the members.

mod common;
use common::TestServer;
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn an_unanswered_invitation_times_out_on_both_sides() {
    let s = TestServer::start_with(|c| c.hub.ring_timeout = Duration::from_secs(1).into()).await;
    let (mut a, a_id) = s.joined("r", "Ada").await;
    let (mut b, b_id) = s.joined("r", "Bob").await;
    let _ = a.recv().await; // peerJoined
    let t0 = Instant::now();
    let inviting = a.request(json!({"type":"invite","id":1,"to":b_id})).await;
    assert_eq!(
        inviting,
        json!({"type":"inviting","ref":1,"call":1,"to":b_id})
    );
    assert_eq!(
        b.recv().await,
        json!({"type":"invited","call":1,"from":a_id,"members":[a_id]})
    );
    let ended = json!({"type":"inviteEnded","call":1,"from":a_id,"to":b_id,"reason":"timeout"});
    // Presence updates come first; the ending arrives once the second has passed.
    for c in [&mut a, &mut b] {
        loop {
            let m = c.recv().await;
            if m["type"] == "inviteEnded" {
                assert_eq!(m, ended);
                break;
            }
            assert_eq!(m["type"], "presence", "{m}");
        }
    }
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // The call ended with it: Ada is idle again.
    let idle = json!({"type":"presence","peerId":a_id,
                      "state":{"status":"idle","audioMuted":false,"videoMuted":false}});
    let mut seen = false;
    for _ in 0..3 {
        if b.recv().await == idle {
            seen = true;
            break;
        }
    }
    assert!(seen, "Bob sees Ada idle again");
}

#[tokio::test]
async fn accepting_joins_and_names_the_members() {
    let s = TestServer::start().await;
    let (mut a, a_id) = s.joined("r", "Ada").await;
    let (mut b, b_id) = s.joined("r", "Bob").await;
    a.send(json!({"type":"invite","to":b_id})).await;
    loop {
        if b.recv().await["type"] == "invited" {
            break;
        }
    }
    b.send(json!({"type":"accept","id":"acc","call":1})).await;
    loop {
        let m = b.recv().await;
        if m["type"] == "callJoined" {
            assert_eq!(
                m,
                json!({"type":"callJoined","ref":"acc","call":1,"members":[a_id]})
            );
            break;
        }
    }
    b.send(json!({"type":"joinCall","id":2,"call":1})).await;
    loop {
        let m = b.recv().await;
        if m["type"] == "error" {
            assert_eq!(
                (&m["code"], &m["ref"]),
                (&json!("already_in_call"), &json!(2))
            );
            break;
        }
        assert_eq!(m["type"], "presence", "{m}");
    }
}
