//! Stored chat without blocking: with `persist_chat`, a `join` that would create a room
//! is parked behind an `Output::LoadHistory` until `Input::History` (or the history
//! timeout); the room then starts with the stored history and id counter, and every
//! accepted message comes out once as `ChatStored`. Other rooms never wait.

mod common;

use common::{chat, room, Harness};
use confab_proto::{ChatMessage, ClientMsg, PeerId, ServerMsg};
use confab_signal::{ChatSeed, ConnId, HubConfig, Input, Output};
use std::time::Duration;

fn persisting() -> Harness {
    Harness::with_config(HubConfig {
        persist_chat: true,
        chat_history: 3,
        resume_grace: Duration::ZERO,
        ..HubConfig::default()
    })
}

/// `conn` joins `room_name`; when that asks for the room's history, the store answers
/// `seed` (`None`: nothing usable). Returns every output, the load request included.
fn join_loaded(
    h: &mut Harness,
    conn: ConnId,
    room_name: &str,
    name: &str,
    seed: Option<ChatSeed>,
) -> Vec<Output> {
    h.join(conn, room_name, name);
    let mut out = h.drain();
    if out.contains(&Output::LoadHistory {
        room: room(room_name),
    }) {
        h.input(Input::History {
            room: room(room_name),
            seed,
        });
        out.extend(h.drain());
    }
    out
}

/// A helloed connection in `room_name`, whose history (if the join created the room)
/// was empty in the store.
fn joined(h: &mut Harness, conn: u64, room_name: &str, name: &str) -> ConnId {
    let (c, _) = h.ready(conn);
    join_loaded(h, c, room_name, name, Some(seed(room_name, &[], 0)));
    c
}

fn ids(h: &Harness, room_name: &str) -> Vec<u64> {
    h.hub
        .chat_history(&room(room_name))
        .iter()
        .map(|m| m.id)
        .collect()
}

fn msg(id: u64) -> ChatMessage {
    ChatMessage {
        id,
        from: PeerId::new("k3j9x2m4p7qa"),
        name: "Grace".into(),
        text: format!("message {id}"),
        ts: 1_700_000_000_000 + id,
        key: None,
    }
}

fn seed(room_name: &str, ids: &[u64], last_id: u64) -> ChatSeed {
    ChatSeed {
        room: room(room_name),
        history: ids.iter().map(|&i| msg(i)).collect(),
        last_id,
        moderation: None,
    }
}

/// The history in the single `joined` among `out`.
fn joined_history(out: &[Output]) -> Vec<u64> {
    let hist: Vec<Vec<u64>> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send {
                msg: ServerMsg::Joined { history, .. },
                ..
            } => Some(history.iter().map(|m| m.id).collect()),
            _ => None,
        })
        .collect();
    assert_eq!(hist.len(), 1, "one joined in {out:?}");
    hist.into_iter().next().unwrap()
}

fn stored(out: &[Output]) -> Vec<(String, ChatMessage)> {
    out.iter()
        .filter_map(|o| match o {
            Output::ChatStored { room, message } => Some((room.to_string(), message.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn every_accepted_message_is_stored_once_after_its_broadcast() {
    let mut h = persisting();
    let a = joined(&mut h, 1, "r", "Ada");
    joined(&mut h, 2, "r", "Grace");
    h.frame(a, chat("hello"));
    let out = h.drain();
    assert_eq!(out.len(), 3, "two chats and one ChatStored: {out:?}");
    let Output::ChatStored { room: r, message } = &out[2] else {
        panic!("ChatStored comes last: {out:?}");
    };
    assert_eq!(r, &room("r"));
    assert_eq!(message.text, "hello");
    assert_eq!(h.hub.chat_history(&room("r")), vec![message.clone()]);

    // Rejected: no store output.
    let (lobby, _) = h.ready(3);
    h.frame(lobby, chat("not in a room"));
    assert!(stored(&h.drain()).is_empty());
}

#[test]
fn without_persist_chat_there_is_no_store_output() {
    let mut h = Harness::new();
    let (a, _) = h.joined(1, "r", "Ada");
    h.frame(a, chat("hello"));
    assert!(stored(&h.drain()).is_empty());
}

#[test]
fn a_join_that_creates_a_room_waits_for_its_history_then_continues_the_ids() {
    let mut h = persisting();
    let (a, _) = h.ready(1);
    h.join(a, "r", "Ada");
    assert_eq!(
        h.drain(),
        vec![Output::LoadHistory { room: room("r") }],
        "parked: no joined yet"
    );
    assert!(!h.hub.room_exists(&room("r")));
    // Out of order, with a duplicate, and more than chat_history (3): the last 3 by id.
    h.input(Input::History {
        room: room("r"),
        seed: Some(seed("r", &[41, 38, 40, 39, 40], 45)),
    });
    assert_eq!(joined_history(&h.drain()), vec![39, 40, 41]);
    h.frame(a, chat("next"));
    let s = stored(&h.drain());
    assert_eq!(
        s[0].1.id, 46,
        "continues after last_id, not after the last kept"
    );
    assert_eq!(ids(&h, "r"), vec![40, 41, 46]);
}

#[test]
fn last_id_below_the_history_is_raised_to_it() {
    let mut h = persisting();
    let (a, _) = h.ready(1);
    join_loaded(&mut h, a, "r", "Ada", Some(seed("r", &[7, 8], 0)));
    h.frame(a, chat("next"));
    assert_eq!(stored(&h.drain())[0].1.id, 9);
}

#[test]
fn joins_to_a_loading_room_wait_together_behind_one_load_and_go_in_order() {
    let mut h = persisting();
    let (a, ida) = h.ready(1);
    let (b, idb) = h.ready(2);
    h.join(a, "r", "Ada");
    h.join(b, "r", "Grace");
    assert_eq!(h.drain(), vec![Output::LoadHistory { room: room("r") }]);
    h.input(Input::History {
        room: room("r"),
        seed: Some(seed("r", &[3], 3)),
    });
    let out = h.drain();
    let order: Vec<(ConnId, &str)> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send { to, msg } => Some((*to, msg_type(msg))),
            _ => None,
        })
        .collect();
    assert_eq!(
        order,
        vec![(a, "joined"), (b, "joined"), (a, "peerJoined")],
        "{out:?}"
    );
    let peers: Vec<_> = h
        .hub
        .peers_in(&room("r"))
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(peers, vec![ida, idb]);
    assert_eq!(ids(&h, "r"), vec![3], "both see the stored history");
}

fn msg_type(msg: &ServerMsg) -> &'static str {
    match msg {
        ServerMsg::Joined { .. } => "joined",
        ServerMsg::PeerJoined { .. } => "peerJoined",
        ServerMsg::Chat { .. } => "chat",
        ServerMsg::Error { .. } => "error",
        _ => "other",
    }
}

#[test]
fn frames_sent_after_a_parked_join_follow_its_joined() {
    let mut h = persisting();
    let (a, _) = h.ready(1);
    h.join(a, "r", "Ada");
    h.frame(a, chat("right after join"));
    h.frame(a, ClientMsg::Ping);
    assert_eq!(h.drain().len(), 1, "only the load request");
    h.input(Input::History {
        room: room("r"),
        seed: Some(seed("r", &[], 10)),
    });
    let out = h.drain();
    let types: Vec<&str> = out
        .iter()
        .map(|o| match o {
            Output::Send { msg, .. } => msg_type(msg),
            Output::ChatStored { .. } => "stored",
            Output::ModerationStored { .. } => "moderation",
            _ => "?",
        })
        .collect();
    let expected = vec!["joined", "moderation", "chat", "stored", "other"];
    assert_eq!(types, expected, "{out:?}");
    assert_eq!(stored(&out)[0].1.id, 11);
}

#[test]
fn a_connection_that_floods_behind_its_parked_join_is_refused_in_words() {
    let mut h = persisting();
    let (a, _) = h.ready(1);
    h.join(a, "r", "Ada");
    h.drain();
    for _ in 0..confab_signal::MAX_PARKED_FRAMES {
        h.frame(a, ClientMsg::Ping);
    }
    assert!(h.drain().is_empty());
    h.frame(a, ClientMsg::Ping);
    match h.drain().as_slice() {
        [Output::Send {
            to,
            msg: ServerMsg::Error { code, message, .. },
        }] => {
            assert_eq!((*to, *code), (a, confab_proto::ErrorCode::RateLimited));
            assert!(message.contains("wait for joined"), "{message}");
        }
        other => panic!("expected one rate_limited error, got {other:?}"),
    }
}

#[test]
fn a_store_that_does_not_answer_in_time_gives_an_empty_unstored_room() {
    let mut h = persisting();
    let (a, _) = h.ready(1);
    h.join(a, "r", "Ada");
    h.drain();
    let deadline = h.hub.poll_timeout().expect("the hub waits for the store");
    assert_eq!(deadline, h.now + HubConfig::default().history_timeout);
    h.timeout_at(deadline - Duration::from_millis(1));
    assert!(h.drain().is_empty(), "not yet");
    h.timeout_at(deadline);
    assert_eq!(joined_history(&h.drain()), Vec::<u64>::new());
    // Its ids restarted at 1, so storing them could collide with stored ones: not stored.
    h.frame(a, chat("first"));
    assert!(stored(&h.drain()).is_empty());
    assert_eq!(ids(&h, "r"), vec![1]);
    // The store's late answer changes nothing.
    h.input(Input::History {
        room: room("r"),
        seed: Some(seed("r", &[5], 5)),
    });
    assert!(h.drain().is_empty());
    assert_eq!(ids(&h, "r"), vec![1]);
}

#[test]
fn a_room_waiting_for_its_history_delays_nothing_in_another_room() {
    let mut h = persisting();
    let b = joined(&mut h, 2, "s", "Grace");
    let c = joined(&mut h, 3, "s", "Linus");
    h.drain();
    let (a, _) = h.ready(1);
    h.join(a, "r", "Ada");
    assert_eq!(h.drain(), vec![Output::LoadHistory { room: room("r") }]);
    // The store is slow; room s goes on at once, message after message.
    for i in 0..5 {
        h.frame(b, chat(&format!("meanwhile {i}")));
        let out = h.drain();
        let to_linus = out
            .iter()
            .any(|o| matches!(o, Output::Send { to, msg: ServerMsg::Chat { .. } } if *to == c));
        assert!(to_linus, "delivered in the same step: {out:?}");
    }
    assert!(!h.hub.room_exists(&room("r")), "r still waits");
    h.input(Input::History {
        room: room("r"),
        seed: None,
    });
    assert_eq!(joined_history(&h.drain()), Vec::<u64>::new());
}

#[test]
fn a_waiter_that_disconnects_is_forgotten_and_no_room_is_created_for_nobody() {
    let mut h = persisting();
    let (a, _) = h.ready(1);
    h.join(a, "r", "Ada");
    h.drain();
    h.disconnect(a);
    assert!(h.drain().is_empty());
    h.input(Input::History {
        room: room("r"),
        seed: Some(seed("r", &[1], 1)),
    });
    assert!(h.drain().is_empty());
    assert!(!h.hub.room_exists(&room("r")));
    assert_eq!(h.hub.room_count(), 0);
}

#[test]
fn a_history_for_another_room_or_nobody_is_ignored() {
    let mut h = persisting();
    let (a, _) = h.ready(1);
    h.join(a, "r", "Ada");
    h.drain();
    h.input(Input::History {
        room: room("s"),
        seed: Some(seed("s", &[1], 1)),
    });
    assert!(h.drain().is_empty());
    // A seed naming another room than the one it answers is not used.
    h.input(Input::History {
        room: room("r"),
        seed: Some(seed("other", &[5, 6], 6)),
    });
    assert_eq!(joined_history(&h.drain()), Vec::<u64>::new());
}

#[test]
fn a_live_room_is_joined_at_once_without_a_load() {
    let mut h = persisting();
    let a = joined(&mut h, 1, "r", "Ada");
    h.frame(a, chat("live"));
    h.drain();
    let (b, _) = h.ready(2);
    h.join(b, "r", "Grace");
    assert_eq!(joined_history(&h.drain()), vec![1], "the live room wins");
}

#[test]
fn loading_rooms_count_against_the_room_limit() {
    let mut h = Harness::with_config(HubConfig {
        persist_chat: true,
        max_rooms: 1,
        ..HubConfig::default()
    });
    let (a, _) = h.ready(1);
    let (b, _) = h.ready(2);
    h.join(a, "r", "Ada");
    h.drain();
    h.expect_error(
        b,
        ClientMsg::Join {
            room: room("s"),
            name: "Grace".into(),
            password: None,
            token: None,
        },
        confab_proto::ErrorCode::ServerFull,
    );
}

#[test]
fn chat_history_zero_keeps_no_stored_messages_but_the_ids_continue() {
    let mut h = Harness::with_config(HubConfig {
        persist_chat: true,
        chat_history: 0,
        ..HubConfig::default()
    });
    let (a, _) = h.ready(1);
    let out = join_loaded(&mut h, a, "r", "Ada", Some(seed("r", &[1, 2, 3], 3)));
    assert_eq!(joined_history(&out), Vec::<u64>::new());
    h.frame(a, chat("x"));
    assert_eq!(stored(&h.drain())[0].1.id, 4);
    assert!(h.hub.room_exists(&room("r")));
    assert!(!h.hub.room_exists(&room("s")));
}
