//! `joined` snapshots, encoded cheaply. A room's chat history (up to 256 KiB by default)
//! is most of a `joined`, and every join, rejoin and resume of that room carries the same
//! history until a message arrives; a client that pipelines `join`/`leave` would make
//! the hub's owner task encode it again each time. So the history's JSON is kept per room
//! and spliced into each `joined`, which is encoded without it.
//!
//! A history is known by its first and last message ids, its length and its text bytes:
//! ids only grow within a room and a stored message never changes, so a history with the
//! same four is the same history.

use confab_proto::{ChatMessage, RoomId, ServerMsg};
use std::collections::HashMap;
use std::sync::Arc;

/// Rooms whose history JSON is kept; when full, all are forgotten (they are encoded again
/// at their next join).
const MAX_ROOMS: usize = 1024;

/// How `joined` is written with an empty history (serde's own output for that field).
const EMPTY_HISTORY: &str = "\"history\":[]";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    first: u64,
    last: u64,
    len: usize,
    bytes: usize,
}

impl Key {
    fn of(history: &[ChatMessage]) -> Key {
        Key {
            first: history.first().map_or(0, |m| m.id),
            last: history.last().map_or(0, |m| m.id),
            len: history.len(),
            bytes: history.iter().map(|m| m.text.len() + m.name.len()).sum(),
        }
    }
}

/// See the module docs.
#[derive(Debug, Default)]
pub(super) struct Snapshots {
    rooms: HashMap<RoomId, (Key, Arc<str>)>,
    /// Histories encoded, and reused, since start (for tests).
    pub(super) encoded: u64,
    pub(super) reused: u64,
}

impl Snapshots {
    /// The JSON text of `msg`. A `joined` with a history gets the room's kept history
    /// JSON; anything else is encoded as it is. `msg` is given back unchanged.
    pub(super) fn encode(&mut self, msg: &mut ServerMsg) -> serde_json::Result<String> {
        let ServerMsg::Joined { room, history, .. } = msg else {
            return serde_json::to_string(msg);
        };
        if history.is_empty() {
            return serde_json::to_string(msg);
        }
        let key = Key::of(history);
        let kept = match self.rooms.get(room) {
            Some((k, text)) if *k == key => {
                self.reused += 1;
                text.clone()
            }
            _ => {
                let text: Arc<str> = serde_json::to_string(history)?.into();
                if self.rooms.len() >= MAX_ROOMS {
                    self.rooms.clear();
                }
                self.rooms.insert(room.clone(), (key, text.clone()));
                self.encoded += 1;
                text
            }
        };
        let taken = std::mem::take(history);
        let bare = serde_json::to_string(msg);
        if let ServerMsg::Joined { history, .. } = msg {
            *history = taken;
        }
        let bare = bare?;
        // The field can only be the key itself: inside a string every quote is escaped.
        match bare.find(EMPTY_HISTORY) {
            Some(at) => {
                let mut text = String::with_capacity(bare.len() + kept.len());
                text.push_str(&bare[..at]);
                text.push_str("\"history\":");
                text.push_str(&kept);
                text.push_str(&bare[at + EMPTY_HISTORY.len()..]);
                Ok(text)
            }
            None => serde_json::to_string(msg),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_proto::{PeerId, PeerInfo, PeerState, Role};

    fn joined(room: &str, name: &str, history: Vec<ChatMessage>) -> ServerMsg {
        let peer = |id: &str, name: &str| PeerInfo {
            id: PeerId::new(id),
            name: name.into(),
            state: PeerState::default(),
            role: Role::Guest,
        };
        ServerMsg::Joined {
            ref_: None,
            room: RoomId::parse(room).unwrap(),
            you: peer("me", name),
            // A name that looks like the field must not fool the splice.
            peers: vec![peer("p1", "\"history\":[] ha")],
            history,
            broadcast: false,
            recording: None,
        }
    }

    fn message(id: u64, text: &str) -> ChatMessage {
        ChatMessage {
            id,
            from: PeerId::new("p1"),
            name: "Ada".into(),
            text: text.into(),
            ts: 1_700_000_000_000 + id,
            key: None,
        }
    }

    fn json(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn the_same_history_is_encoded_once_and_the_text_is_serdes_own() {
        let mut s = Snapshots::default();
        let history: Vec<_> = (1..=100).map(|i| message(i, &"x".repeat(2000))).collect();
        for name in ["Bob", "Cy", "Dee"] {
            let mut msg = joined("room", name, history.clone());
            let t = std::time::Instant::now();
            let text = s.encode(&mut msg).unwrap();
            // Not asserted (a test is no benchmark); shown with --nocapture.
            eprintln!(
                "joined of {} bytes for {name} encoded in {:?}",
                text.len(),
                t.elapsed()
            );
            assert_eq!(
                json(&text),
                json(&serde_json::to_string(&msg).unwrap()),
                "{name}"
            );
            assert_eq!(
                msg,
                joined("room", name, history.clone()),
                "given back unchanged"
            );
        }
        assert_eq!(
            (s.encoded, s.reused),
            (1, 2),
            "one encoding for three joins"
        );

        // A new message: a new history, encoded again; another room has its own.
        let mut more = history.clone();
        more.push(message(101, "hi"));
        let mut msg = joined("room", "Eve", more);
        assert_eq!(
            json(&s.encode(&mut msg).unwrap()),
            json(&serde_json::to_string(&msg).unwrap())
        );
        let mut other = joined("other", "Eve", vec![message(1, "x")]);
        s.encode(&mut other).unwrap();
        assert_eq!((s.encoded, s.reused), (3, 2));
    }

    #[test]
    fn an_empty_history_and_other_messages_are_encoded_as_they_are() {
        let mut s = Snapshots::default();
        let mut msg = joined("room", "Bob", vec![]);
        assert_eq!(
            s.encode(&mut msg).unwrap(),
            serde_json::to_string(&msg).unwrap()
        );
        let mut pong = ServerMsg::Pong { ref_: None };
        assert_eq!(
            s.encode(&mut pong).unwrap(),
            serde_json::to_string(&pong).unwrap()
        );
        assert_eq!((s.encoded, s.reused), (0, 0));
    }
}
