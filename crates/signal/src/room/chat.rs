//! Text chat: ids, the history ring, and a store's chat to continue from.
//!
//! Ids are assigned here, counting up from the room's last id, and the history is a ring
//! of the last [`RoomConfig::chat_history`] messages, at most
//! [`RoomConfig::chat_history_bytes`] of them (by [`chat_bytes`]). Both end with the room, unless a
//! store gives them back when the room is next created ([`RoomCore::new`] with a
//! [`ChatSeed`]): then ids continue across room lifetimes and server restarts, and every
//! accepted message comes out as [`RoomEvent::ChatStored`]. The per-connection rate
//! limit is the node's (it holds the connection).
//!
//! [`RoomConfig::chat_history`]: super::RoomConfig::chat_history
//! [`RoomConfig::chat_history_bytes`]: super::RoomConfig::chat_history_bytes

use super::{RoomCore, RoomEvent};
use confab_proto::{ChatMessage, PeerId, RequestId, RoomId, ServerMsg};

/// A room's chat (and its moderation) as a store remembers it, for [`crate::Input::History`].
#[derive(Clone, Debug, PartialEq)]
pub struct ChatSeed {
    /// The room it belongs to.
    pub room: RoomId,
    /// The most recent messages, in any order (the room sorts them by id, drops
    /// duplicate ids and keeps the last [`crate::HubConfig::chat_history`]).
    pub history: Vec<ChatMessage>,
    /// The highest id the room ever used (also of messages no longer kept); the next
    /// message gets a greater one. Raised to the highest id in `history` if lower.
    pub last_id: u64,
    /// The room's moderation as last reported while it lived, if the store kept one:
    /// the room comes back with it (see `saved.rs`).
    pub moderation: Option<super::Moderation>,
}

/// What one message costs the history's byte bound: its text, name and sender id plus
/// 64 bytes for the rest of its JSON (`id`, `ts`, keys). Close to its size in a `joined`
/// (the decoder refuses control characters, the only ones JSON escapes longer).
pub fn chat_bytes(m: &ChatMessage) -> usize {
    m.text.len() + m.name.len() + m.from.as_str().len() + 64
}

impl RoomCore {
    /// Continues `seed`'s chat: sorted by id, duplicates dropped, the last
    /// `chat_history` kept (fewer if they exceed `chat_history_bytes`), the last id at
    /// least the highest kept.
    pub(crate) fn seed_chat(&mut self, mut seed: ChatSeed) {
        seed.history.sort_by_key(|m| m.id);
        seed.history.dedup_by_key(|m| m.id);
        self.last_chat_id = seed.last_id.max(seed.history.last().map_or(0, |m| m.id));
        // Newest first, until either bound is reached.
        let mut kept = 0;
        let mut bytes = 0;
        for m in seed.history.iter().rev() {
            let size = chat_bytes(m);
            if kept == self.config.chat_history || bytes + size > self.config.chat_history_bytes {
                break;
            }
            kept += 1;
            bytes += size;
        }
        seed.history.drain(..seed.history.len() - kept);
        self.history = seed.history.into();
        self.history_bytes = bytes;
        self.stored = true;
    }

    /// Keeps `message` as the newest of the history, dropping the oldest while either
    /// bound would be exceeded. One that alone exceeds the byte bound is not kept.
    fn keep(&mut self, message: &ChatMessage) {
        let size = chat_bytes(message);
        let (cap, cap_bytes) = (self.config.chat_history, self.config.chat_history_bytes);
        if cap == 0 || size > cap_bytes {
            return;
        }
        while self.history.len() >= cap || self.history_bytes + size > cap_bytes {
            let Some(old) = self.history.pop_front() else {
                break;
            };
            self.history_bytes -= chat_bytes(&old);
        }
        self.history_bytes += size;
        self.history.push_back(message.clone());
    }

    /// `chat` from a member: stamps the room's next id, keeps it in the history, and
    /// sends it to every member, the sender's copy with `ref`. A `key` the sender used
    /// for a message the history still holds is a repeat (its confirmation was lost):
    /// the sender gets that message again, and nobody else anything.
    pub(crate) fn chat(
        &mut self,
        from: &PeerId,
        text: String,
        key: Option<String>,
        ref_: Option<RequestId>,
    ) {
        let Some(name) = self.members.get(from).map(|m| m.info.name.clone()) else {
            return;
        };
        if let Some(k) = &key {
            let sent = self
                .history
                .iter()
                .find(|m| m.from == *from && m.key.as_ref() == Some(k));
            if let Some(message) = sent.cloned() {
                return self.send(from, ServerMsg::Chat { ref_, message });
            }
        }
        self.last_chat_id += 1;
        let message = ChatMessage {
            id: self.last_chat_id,
            from: from.clone(),
            name,
            text,
            ts: self.wall_clock_ms,
            key,
        };
        self.keep(&message);
        let mine = ServerMsg::Chat {
            ref_,
            message: message.clone(),
        };
        let theirs = ServerMsg::Chat {
            ref_: None,
            message: message.clone(),
        };
        self.answer_and_tell(from, mine, theirs);
        if self.stored {
            self.emit(RoomEvent::ChatStored { message });
        }
    }
}
