//! Chat over real WebSockets: broadcast with the sender's `ref`, history for a late
//! joiner, wall-clock timestamps, validation and the rate limit, room isolation.

mod common;
use common::TestServer;
use serde_json::json;

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[tokio::test]
async fn chat_both_ways_then_a_late_joiner_gets_the_history() {
    let s = TestServer::start().await;
    let (mut a, a_id) = s.joined("standup", "Ada").await;
    let (mut b, b_id) = s.joined("standup", "Grace").await;
    let (mut other, _) = s.joined("elsewhere", "Other").await;
    assert_eq!(a.recv().await["type"], "peerJoined");

    let before = unix_ms();
    let mine = a
        .request(json!({"type":"chat","id":"c1","text":"  Morning!\nAgenda first? "}))
        .await;
    let after = unix_ms();
    assert_eq!(mine["type"], "chat", "{mine}");
    assert_eq!(mine["ref"], "c1");
    let m1 = mine["message"].clone();
    assert_eq!(m1["id"], 1);
    assert_eq!(m1["from"], a_id.as_str());
    assert_eq!(m1["name"], "Ada");
    assert_eq!(
        m1["text"], "Morning!\nAgenda first?",
        "trimmed, newline kept"
    );
    let ts = m1["ts"].as_u64().unwrap();
    assert!(
        before <= ts && ts <= after,
        "ts {ts} is now ({before}..{after})"
    );
    assert_eq!(b.recv().await, json!({"type":"chat","message":m1}));

    let theirs = b.request(json!({"type":"chat","id":7,"text":"Yes"})).await;
    assert_eq!(theirs["ref"], 7);
    let m2 = theirs["message"].clone();
    assert_eq!(
        (m2["id"].as_u64(), m2["from"].as_str()),
        (Some(2), Some(b_id.as_str()))
    );
    assert_eq!(a.recv().await, json!({"type":"chat","message":m2}));

    let (mut c, _) = s.client().await;
    let snap = c
        .request(json!({"type":"join","id":"j","room":"standup","name":"Carol"}))
        .await;
    assert_eq!(snap["type"], "joined");
    assert_eq!(snap["history"], json!([m1, m2]), "oldest first");

    other.expect_silence(200).await;
}

#[tokio::test]
async fn bad_text_and_not_joined_are_errors_and_change_nothing() {
    let s = TestServer::start().await;
    let (mut a, _) = s.joined("r", "Ada").await;
    let (mut b, _) = s.joined("r", "Grace").await;
    a.recv().await;
    let (mut lobby, _) = s.client().await;

    let cases = [
        (
            false,
            json!({"type":"chat","id":1,"text":"   "}),
            "bad_text",
        ),
        (
            false,
            json!({"type":"chat","id":2,"text":"x".repeat(2001)}),
            "bad_text",
        ),
        (
            false,
            json!({"type":"chat","id":3,"text":"a\u{1b}[31m"}),
            "bad_text",
        ),
        (
            true,
            json!({"type":"chat","id":4,"text":"hi"}),
            "not_joined",
        ),
    ];
    for (from_lobby, msg, code) in cases {
        let client = if from_lobby { &mut lobby } else { &mut a };
        let id = msg["id"].clone();
        let r = client.request(msg).await;
        assert_eq!(
            (r["type"].as_str(), r["code"].as_str()),
            (Some("error"), Some(code)),
            "{r}"
        );
        assert_eq!(r["ref"], id);
        client.assert_alive().await;
    }
    b.expect_silence(200).await;
    // The longest valid text is fine, and ids were not used up by the errors.
    let r = a
        .request(json!({"type":"chat","text":"é".repeat(2000)}))
        .await;
    assert_eq!(r["message"]["id"], 1, "{r}");
}

#[tokio::test]
async fn rate_limit_drops_the_excess_and_only_the_sender_hears() {
    let s = TestServer::start().await;
    let (mut a, _) = s.joined("r", "Ada").await;
    let (mut b, _) = s.joined("r", "Grace").await;
    a.recv().await;
    // Default: a burst of 10. Sent back to back, well within a second.
    for i in 0..12 {
        a.send(json!({"type":"chat","id":i,"text":format!("m{i}")}))
            .await;
    }
    let mut limited = 0;
    let mut ids = Vec::new();
    for _ in 0..12 {
        let r = a.recv().await;
        match r["type"].as_str() {
            Some("chat") => ids.push(r["message"]["id"].as_u64().unwrap()),
            Some("error") => {
                assert_eq!(r["code"], "rate_limited", "{r}");
                limited += 1;
            }
            _ => panic!("unexpected {r}"),
        }
    }
    assert_eq!(ids, (1..=10).collect::<Vec<_>>());
    assert_eq!(limited, 2);
    for want in 1..=10 {
        assert_eq!(b.recv().await["message"]["id"], want);
    }
    b.expect_silence(200).await;
    let (mut c, _) = s.client().await;
    let snap = c
        .request(json!({"type":"join","room":"r","name":"Carol"}))
        .await;
    assert_eq!(
        snap["history"].as_array().unwrap().len(),
        10,
        "dropped ones not stored"
    );
}
