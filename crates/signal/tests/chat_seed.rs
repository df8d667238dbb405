//! Chat persistence hooks: `persist_chat` emits one `ChatStored` per accepted message
//! (none for rejected ones), and `seed_chat` gives a newly created room its stored
//! history and id counter, for the next join only.

mod common;

use common::{chat, room, Harness};
use confab_proto::{ChatMessage, ClientMsg, PeerId, ServerMsg};
use confab_signal::{ChatSeed, HubConfig, Output};

fn persisting() -> Harness {
    Harness::with_config(HubConfig {
        persist_chat: true,
        chat_history: 3,
        ..HubConfig::default()
    })
}

fn msg(id: u64) -> ChatMessage {
    ChatMessage {
        id,
        from: PeerId::new("k3j9x2m4p7qa"),
        name: "Grace".into(),
        text: format!("message {id}"),
        ts: 1_700_000_000_000 + id,
    }
}

fn seed(room_name: &str, ids: &[u64], last_id: u64) -> ChatSeed {
    ChatSeed {
        room: room(room_name),
        history: ids.iter().map(|&i| msg(i)).collect(),
        last_id,
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
    let (a, _) = h.joined(1, "r", "Ada");
    let (_b, _) = h.joined(2, "r", "Grace");
    h.drain();
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
fn a_seed_gives_a_new_room_its_history_and_continues_the_ids() {
    let mut h = persisting();
    let (a, _) = h.ready(1);
    // Out of order, with a duplicate, and more than chat_history (3): the last 3 by id.
    h.hub.seed_chat(seed("r", &[41, 38, 40, 39, 40], 45));
    h.join(a, "r", "Ada");
    assert_eq!(joined_history(&h.drain()), vec![39, 40, 41]);
    h.frame(a, chat("next"));
    let s = stored(&h.drain());
    assert_eq!(
        s[0].1.id, 46,
        "continues after last_id, not after the last kept"
    );
    assert_eq!(
        h.hub
            .chat_history(&room("r"))
            .iter()
            .map(|m| m.id)
            .collect::<Vec<_>>(),
        vec![40, 41, 46]
    );
}

#[test]
fn last_id_below_the_history_is_raised_to_it() {
    let mut h = persisting();
    let (a, _) = h.ready(1);
    h.hub.seed_chat(seed("r", &[7, 8], 0));
    h.join(a, "r", "Ada");
    h.drain();
    h.frame(a, chat("next"));
    assert_eq!(stored(&h.drain())[0].1.id, 9);
}

#[test]
fn a_seed_is_ignored_for_an_existing_room_and_for_another_room() {
    let mut h = persisting();
    let (a, _) = h.joined(1, "r", "Ada");
    h.frame(a, chat("live"));
    h.drain();
    let (b, _) = h.ready(2);
    h.hub.seed_chat(seed("r", &[5, 6], 6));
    h.join(b, "r", "Grace");
    assert_eq!(joined_history(&h.drain()), vec![1], "the live room wins");

    let (c, _) = h.ready(3);
    h.hub.seed_chat(seed("other", &[5, 6], 6));
    h.join(c, "s", "Linus");
    assert_eq!(
        joined_history(&h.drain()),
        Vec::<u64>::new(),
        "seed for another room"
    );
}

#[test]
fn a_seed_is_consumed_by_the_next_join_even_a_refused_one() {
    let mut h = persisting();
    let (a, _) = h.joined(1, "r", "Ada");
    h.hub.seed_chat(seed("s", &[5], 5));
    // Refused: already in a room. The seed is gone all the same.
    h.join(a, "s", "Ada");
    h.drain();
    let (b, _) = h.ready(2);
    h.join(b, "s", "Grace");
    assert_eq!(joined_history(&h.drain()), Vec::<u64>::new());
    h.frame(b, chat("first"));
    assert_eq!(stored(&h.drain())[0].1.id, 1);
    // Other frames do not consume it.
    h.hub.seed_chat(seed("t", &[9], 9));
    h.frame(b, ClientMsg::Ping);
    h.drain();
    let (c, _) = h.ready(3);
    h.join(c, "t", "Linus");
    assert_eq!(joined_history(&h.drain()), vec![9]);
}

#[test]
fn chat_history_zero_keeps_no_seeded_messages_but_the_ids_continue() {
    let mut h = Harness::with_config(HubConfig {
        persist_chat: true,
        chat_history: 0,
        ..HubConfig::default()
    });
    let (a, _) = h.ready(1);
    h.hub.seed_chat(seed("r", &[1, 2, 3], 3));
    h.join(a, "r", "Ada");
    assert_eq!(joined_history(&h.drain()), Vec::<u64>::new());
    h.frame(a, chat("x"));
    assert_eq!(stored(&h.drain())[0].1.id, 4);
    assert!(h.hub.room_exists(&room("r")));
    assert!(!h.hub.room_exists(&room("s")));
}
