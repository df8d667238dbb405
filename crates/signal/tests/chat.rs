//! Chat: broadcast to the room (sender included, with `ref`), ids, timestamps, history
//! in the `joined` snapshot, the rate limit on simulated time, and the errors.

mod common;

use common::{chat, info, room, send, Harness, WALL_START_MS};
use confab_proto::{ChatMessage, ClientMsg, ErrorCode, RequestId, ServerMsg};
use confab_signal::{HubConfig, Output};
use std::time::Duration;

/// The message of every `chat` output, with its addressee and ref.
fn chats(out: &[Output]) -> Vec<(u64, Option<RequestId>, ChatMessage)> {
    out.iter()
        .map(|o| match o {
            Output::Send {
                to,
                msg: ServerMsg::Chat { ref_, message },
            } => (to.0, ref_.clone(), message.clone()),
            other => panic!("expected only chat outputs, got {other:?}"),
        })
        .collect()
}

#[test]
fn chat_reaches_everyone_in_the_room_including_the_sender_with_ref() {
    let mut h = Harness::new();
    let (a, ida) = h.joined(1, "r", "Ada");
    let (_b, _) = h.joined(2, "r", "Grace");
    let (_c, _) = h.joined(3, "r", "Linus");
    let (_other, _) = h.joined(4, "s", "Elsewhere");
    h.drain();

    h.frame_id(a, Some(RequestId::Str("c1".into())), chat("hello"));
    let ts = h.wall_ms;
    let out = h.drain();
    let message = ChatMessage {
        id: 1,
        from: ida.clone(),
        name: "Ada".into(),
        text: "hello".into(),
        ts,
        key: None,
    };
    assert_eq!(
        chats(&out),
        vec![
            (1, Some(RequestId::Str("c1".into())), message.clone()),
            (2, None, message.clone()),
            (3, None, message.clone()),
        ],
        "members in join order, only the sender's copy has ref; room s hears nothing"
    );
    assert!(ts > WALL_START_MS, "ts is the driver's wall clock");
    assert_eq!(h.hub.chat_history(&room("r")), vec![message]);
    assert!(h.hub.chat_history(&room("s")).is_empty());
}

#[test]
fn ids_increase_per_room_and_timestamps_follow_the_wall_clock() {
    let mut h = Harness::new();
    let (a, _) = h.joined(1, "r", "Ada");
    let (b, _) = h.joined(2, "r", "Grace");
    let (x, _) = h.joined(3, "s", "Xavier");
    h.drain();
    let mut seen = Vec::new();
    for (i, conn) in [a, b, a, x, b].into_iter().enumerate() {
        h.advance(Duration::from_secs(5));
        h.frame(conn, chat(&format!("m{i}")));
        let out = chats(&h.drain());
        seen.push((out[0].2.id, out[0].2.ts, out[0].2.text.clone()));
    }
    let ids: Vec<u64> = seen.iter().map(|s| s.0).collect();
    assert_eq!(
        ids,
        vec![1, 2, 3, 1, 4],
        "room r counts 1..4, room s has its own 1"
    );
    assert!(seen.windows(2).all(|w| w[1].1 >= w[0].1 + 5000));
    let texts: Vec<String> = h
        .hub
        .chat_history(&room("r"))
        .into_iter()
        .map(|m| m.text)
        .collect();
    assert_eq!(texts, ["m0", "m1", "m2", "m4"]);
}

#[test]
fn a_late_joiner_gets_the_last_n_messages_oldest_first() {
    let config = HubConfig {
        chat_history: 3,
        chat_burst: 100,
        ..HubConfig::default()
    };
    let mut h = Harness::with_config(config);
    let (a, ida) = h.joined(1, "r", "Ada");
    for i in 1..=5 {
        h.frame(a, chat(&format!("m{i}")));
    }
    h.drain();
    let (c, idc) = h.ready(2);
    h.join(c, "r", "Carol");
    let out = h.drain();
    let Some(Output::Send {
        to,
        msg:
            ServerMsg::Joined {
                you,
                peers,
                history,
                broadcast: false,
                recording: None,
                ..
            },
    }) = out.first()
    else {
        panic!("expected joined first, got {out:?}");
    };
    assert_eq!(*to, c);
    assert_eq!(*you, info(&idc, "Carol"));
    assert_eq!(*peers, vec![common::host(&ida, "Ada")]);
    let got: Vec<(u64, &str)> = history.iter().map(|m| (m.id, m.text.as_str())).collect();
    assert_eq!(got, [(3, "m3"), (4, "m4"), (5, "m5")]);
    assert!(history.iter().all(|m| m.from == ida && m.name == "Ada"));
}

#[test]
fn history_is_empty_in_a_new_room_and_with_history_off_ids_still_count() {
    let config = HubConfig {
        chat_history: 0,
        ..HubConfig::default()
    };
    let mut h = Harness::with_config(config);
    let (a, _) = h.ready(1);
    h.join(a, "r", "Ada");
    assert!(matches!(
        h.drain().as_slice(),
        [Output::Send { msg: ServerMsg::Joined { history, .. }, .. }] if history.is_empty()
    ));
    h.frame(a, chat("one"));
    h.frame(a, chat("two"));
    let ids: Vec<u64> = chats(&h.drain()).iter().map(|c| c.2.id).collect();
    assert_eq!(ids, [1, 2]);
    assert!(h.hub.chat_history(&room("r")).is_empty());
}

#[test]
fn the_name_is_the_one_of_the_senders_current_join() {
    let mut h = Harness::new();
    let (a, _) = h.joined(1, "r", "Ada");
    h.frame(a, chat("as Ada"));
    h.frame(a, ClientMsg::Leave);
    h.join(a, "r", "Ada Lovelace");
    h.frame(a, chat("as Ada Lovelace"));
    let out = h.drain();
    let names: Vec<String> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send {
                msg: ServerMsg::Chat { message, .. },
                ..
            } => Some(message.name.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(names, ["Ada", "Ada Lovelace"]);
}

#[test]
fn rate_limit_allows_a_burst_then_refills_on_simulated_time() {
    let mut h = Harness::new(); // burst 10, one per second
    let (a, _) = h.joined(1, "r", "Ada");
    let (b, _) = h.joined(2, "r", "Grace");
    h.drain();
    for i in 0..10 {
        h.frame(a, chat(&format!("burst {i}")));
        assert_eq!(h.drain().len(), 2, "message {i} of the burst goes out");
    }
    let message = h.expect_error(a, chat("one too many"), ErrorCode::RateLimited);
    assert!(message.contains("too fast"), "{message}");
    assert_eq!(h.hub.chat_history(&room("r")).len(), 10, "not stored");

    // Another connection has its own bucket.
    h.frame(b, chat("Grace is not limited"));
    assert_eq!(h.drain().len(), 2);

    // Each event advances 10 ms; about a second later exactly one token is back.
    h.advance(Duration::from_millis(950));
    h.frame(a, chat("after a second"));
    assert_eq!(h.drain().len(), 2);
    h.expect_error(a, chat("again too soon"), ErrorCode::RateLimited);

    // A long pause refills the bucket to the burst, no further.
    h.advance(Duration::from_secs(3600));
    for i in 0..10 {
        h.frame(a, chat(&format!("second burst {i}")));
        assert_eq!(h.drain().len(), 2);
    }
    h.expect_error(a, chat("eleventh"), ErrorCode::RateLimited);
}

#[test]
fn rate_limit_is_per_connection_and_survives_leave_and_rejoin() {
    let config = HubConfig {
        chat_burst: 2,
        ..HubConfig::default()
    };
    let mut h = Harness::with_config(config);
    let (a, _) = h.joined(1, "r", "Ada");
    h.frame(a, chat("1"));
    h.frame(a, chat("2"));
    h.frame(a, ClientMsg::Leave);
    h.join(a, "s", "Ada");
    h.drain();
    h.expect_error(a, chat("3"), ErrorCode::RateLimited);
}

#[test]
fn chat_errors_change_nothing_and_reach_only_the_sender() {
    let mut h = Harness::new();
    let fresh = h.connect(1);
    let (lobby, _) = h.ready(2);
    let (a, _) = h.joined(3, "r", "Ada");
    let (_b, _) = h.joined(4, "r", "Grace");
    h.frame(a, chat("kept"));
    h.drain();
    h.expect_error(fresh, chat("hi"), ErrorCode::HelloRequired);
    h.expect_error(lobby, chat("hi"), ErrorCode::NotJoined);
    // After leaving, a connection is not in a room any more.
    h.frame(a, ClientMsg::Leave);
    h.drain();
    h.expect_error(a, chat("hi"), ErrorCode::NotJoined);
    assert_eq!(h.hub.chat_history(&room("r")).len(), 1);
}

#[test]
fn history_ends_with_the_room() {
    let mut h = Harness::new();
    let (a, _) = h.joined(1, "r", "Ada");
    h.frame(a, chat("gone soon"));
    h.disconnect(a);
    h.drain();
    assert_eq!(h.hub.room_count(), 0);
    let (b, _) = h.ready(2);
    h.join(b, "r", "Grace");
    assert!(matches!(
        h.drain().as_slice(),
        [Output::Send { msg: ServerMsg::Joined { history, .. }, .. }] if history.is_empty()
    ));
    h.frame(b, chat("fresh start"));
    assert_eq!(chats(&h.drain())[0].2.id, 1);
}

#[test]
fn a_disconnected_sender_stays_in_the_history_others_see_it_leave() {
    let mut h = Harness::new();
    let (a, ida) = h.joined(1, "r", "Ada");
    let (b, idb) = h.joined(2, "r", "Grace");
    h.frame(a, chat("bye"));
    h.disconnect(a);
    let out = h.drain();
    // Ada hosted, so Grace takes over right after she hears Ada left.
    assert_eq!(
        out.last(),
        Some(&send(
            b,
            ServerMsg::RoleChanged {
                peer_id: idb.clone(),
                role: confab_proto::Role::Host
            }
        ))
    );
    assert_eq!(
        out.get(out.len() - 2),
        Some(&send(
            b,
            ServerMsg::PeerLeft {
                peer_id: ida.clone(),
                reason: confab_proto::LeaveReason::Disconnected
            }
        ))
    );
    let history = h.hub.chat_history(&room("r"));
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].from, ida);
}

#[test]
fn the_history_is_bounded_in_bytes_as_well_as_count() {
    // Ten messages of 2,000 bytes would be kept by count (100); 10 KB keep four.
    let config = HubConfig {
        chat_burst: 100,
        chat_history_bytes: 10_000,
        ..HubConfig::default()
    };
    let mut h = Harness::with_config(config);
    let (a, _) = h.joined(1, "r", "Ada");
    for i in 0..10 {
        h.frame(a, chat(&format!("{i}{}", "x".repeat(1_999))));
    }
    h.drain();
    let history = h.hub.chat_history(&room("r"));
    let bytes: usize = history.iter().map(confab_signal::room::chat_bytes).sum();
    assert!(bytes <= 10_000, "{bytes} bytes kept");
    let ids: Vec<u64> = history.iter().map(|m| m.id).collect();
    assert_eq!(ids, [7, 8, 9, 10], "the newest are kept");
    // One message over the bound is delivered but not kept; the history stays.
    h.frame(a, chat(&"y".repeat(12_000)));
    assert_eq!(chats(&h.drain()).len(), 1);
    assert_eq!(h.hub.chat_history(&room("r")).len(), 4);
}

#[test]
fn a_message_sent_again_with_its_key_is_delivered_and_kept_once() {
    let mut h = Harness::new();
    let (a, _) = h.joined(1, "r", "Ada");
    let (b, _) = h.joined(2, "r", "Grace");
    h.drain();
    let keyed = |text: &str, key: &str| ClientMsg::Chat {
        text: text.into(),
        key: Some(key.into()),
    };
    h.frame_id(a, Some(RequestId::Num(1)), keyed("once", "k-1"));
    let first = chats(&h.drain());
    assert_eq!(first.len(), 2);
    let original = first[0].2.clone();
    assert_eq!(original.key.as_deref(), Some("k-1"), "the key is echoed");

    // Its confirmation was lost: Ada sends it again, same key, new request id.
    h.frame_id(a, Some(RequestId::Num(2)), keyed("once", "k-1"));
    assert_eq!(
        chats(&h.drain()),
        vec![(1, Some(RequestId::Num(2)), original.clone())],
        "only the sender hears, the same message"
    );
    assert_eq!(h.hub.chat_history(&room("r")), vec![original.clone()]);

    // The key is the sender's own: Grace's message with the same key is hers, and new.
    h.frame_id(b, None, keyed("mine", "k-1"));
    let out = chats(&h.drain());
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].2.id, original.id + 1);
    // A different key is a different message.
    h.frame_id(a, None, keyed("once", "k-2"));
    assert_eq!(chats(&h.drain()).len(), 2);
    assert_eq!(h.hub.chat_history(&room("r")).len(), 3);
}
