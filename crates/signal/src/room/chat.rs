//! Text chat: ids, the history ring, and a store's chat to continue from.
//!
//! Ids are assigned here, counting up from the room's last id, and the history is a ring
//! of the last [`RoomConfig::chat_history`] messages. Both end with the room, unless a
//! store gives them back when the room is next created ([`RoomCore::new`] with a
//! [`ChatSeed`]): then ids continue across room lifetimes and server restarts, and every
//! accepted message comes out as [`RoomEvent::ChatStored`]. The per-connection rate
//! limit is the node's (it holds the connection).
//!
//! [`RoomConfig::chat_history`]: super::RoomConfig::chat_history

use super::{RoomCore, RoomEvent};
use confab_proto::{ChatMessage, PeerId, RequestId, RoomId, ServerMsg};

/// A room's chat as a store remembers it, for [`crate::Input::History`].
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
}

impl RoomCore {
    /// Continues `seed`'s chat: sorted by id, duplicates dropped, the last
    /// `chat_history` kept, the last id at least the highest kept.
    pub(crate) fn seed_chat(&mut self, mut seed: ChatSeed) {
        seed.history.sort_by_key(|m| m.id);
        seed.history.dedup_by_key(|m| m.id);
        let extra = seed.history.len().saturating_sub(self.config.chat_history);
        seed.history.drain(..extra);
        self.last_chat_id = seed.last_id.max(seed.history.last().map_or(0, |m| m.id));
        self.history = seed.history.into();
        self.stored = true;
    }

    /// `chat` from a member: stamps the room's next id, keeps it in the history, and
    /// sends it to every member, the sender's copy with `ref`.
    pub(crate) fn chat(&mut self, from: &PeerId, text: String, ref_: Option<RequestId>) {
        let Some(name) = self.members.get(from).map(|m| m.info.name.clone()) else {
            return;
        };
        self.last_chat_id += 1;
        let message = ChatMessage {
            id: self.last_chat_id,
            from: from.clone(),
            name,
            text,
            ts: self.wall_clock_ms,
        };
        let cap = self.config.chat_history;
        if cap > 0 {
            while self.history.len() >= cap {
                self.history.pop_front();
            }
            self.history.push_back(message.clone());
        }
        let others: Vec<PeerId> = self
            .members
            .keys()
            .filter(|p| *p != from)
            .cloned()
            .collect();
        let mine = ServerMsg::Chat {
            ref_,
            message: message.clone(),
        };
        self.send(from, mine);
        if !others.is_empty() {
            let msg = ServerMsg::Chat {
                ref_: None,
                message: message.clone(),
            };
            self.emit(RoomEvent::Deliver { to: others, msg });
        }
        if self.stored {
            self.emit(RoomEvent::ChatStored { message });
        }
    }
}
