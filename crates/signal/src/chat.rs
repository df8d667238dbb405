//! Text chat: `chat` to everyone in the room, per-room history, per-connection rate limit.
//!
//! Ids are assigned here, per room, counting up from the room's last id, and the history
//! is a ring of the last [`HubConfig::chat_history`] messages. Both live in the [`Room`],
//! so in the hub they end when the room does (its last member leaves). With a store
//! ([`HubConfig::persist_chat`]), a room starts from the store's history and last id
//! (see `park.rs`), so ids continue across room lifetimes and server restarts instead
//! of starting again at 1, and every accepted message comes out as an
//! [`Output::ChatStored`].
//!
//! [`HubConfig::chat_history`]: crate::HubConfig::chat_history
//! [`HubConfig::persist_chat`]: crate::HubConfig::persist_chat

use crate::hub::Hub;
use crate::park::Ready;
use crate::room::Room;
use crate::{ConnId, Output};
use confab_proto::{ChatMessage, ErrorCode, PeerId, RequestId, RoomId, ServerMsg};
use std::time::Instant;

/// A room's chat as a store remembers it, for [`crate::Input::History`].
#[derive(Clone, Debug, PartialEq)]
pub struct ChatSeed {
    /// The room it belongs to.
    pub room: RoomId,
    /// The most recent messages, in any order (the hub sorts them by id, drops
    /// duplicate ids and keeps the last [`crate::HubConfig::chat_history`]).
    pub history: Vec<ChatMessage>,
    /// The highest id the room ever used (also of messages no longer kept); the next
    /// message gets a greater one. Raised to the highest id in `history` if lower.
    pub last_id: u64,
}

impl Room {
    /// A new room: empty, or with the store's chat when `ready` has some (then its
    /// messages are stored too). The seed was sorted and trimmed by `park.rs`.
    pub(crate) fn seeded(ready: Option<Ready>) -> Room {
        let mut r = Room::default();
        if let Some(seed) = ready.and_then(|r| r.seed) {
            r.last_chat_id = seed.last_id;
            r.history = seed.history.into();
            r.stored = true;
        }
        r
    }

    /// Stamps a new message with the room's next id, keeps it in the history (dropping
    /// the oldest beyond `cap`), and returns it.
    pub(crate) fn push_chat(
        &mut self,
        from: PeerId,
        name: String,
        text: String,
        ts: u64,
        cap: usize,
    ) -> ChatMessage {
        self.last_chat_id += 1;
        let message = ChatMessage {
            id: self.last_chat_id,
            from,
            name,
            text,
            ts,
        };
        if cap > 0 {
            while self.history.len() >= cap {
                self.history.pop_front();
            }
            self.history.push_back(message.clone());
        }
        message
    }
}

impl Hub {
    /// Whether `room` exists, i.e. has members (a `join` to it would not create it).
    pub fn room_exists(&self, room: &RoomId) -> bool {
        self.rooms.contains_key(room)
    }

    /// `chat`: rate-limits the sender, stores the message in its room's history and
    /// sends it to every member, the sender included (its copy carries `ref`). `text`
    /// was validated (and trimmed) by the decoder.
    pub(crate) fn handle_chat(
        &mut self,
        conn: ConnId,
        text: String,
        ref_: Option<RequestId>,
        now: Instant,
    ) {
        let Some((peer_id, current)) = self.require_hello(conn, &ref_) else {
            return;
        };
        let Some(room_id) = current else {
            let message = "not in a room; join one before chatting";
            return self.error(conn, ErrorCode::NotJoined, message, ref_);
        };
        let (burst, refill) = (self.config.chat_burst, self.config.chat_refill);
        let Some(state) = self.conns.get_mut(&conn) else {
            return;
        };
        if let Err(wait) = state.chat_bucket.try_take(now, burst, refill) {
            let secs = wait.as_secs_f64().max(0.1);
            let message = format!(
                "you are sending messages too fast (at most {burst} in a row, then one every \
                 {:.1} s); try again in {secs:.1} s",
                refill.as_secs_f64()
            );
            return self.error(conn, ErrorCode::RateLimited, message, ref_);
        }
        let ts = self.wall_clock_ms;
        let cap = self.config.chat_history;
        let Some(room) = self.rooms.get_mut(&room_id) else {
            return;
        };
        let name = room
            .members
            .iter()
            .find(|m| m.conn == conn)
            .map(|m| m.info.name.clone())
            .unwrap_or_default();
        let message = room.push_chat(peer_id, name, text, ts, cap);
        let members: Vec<ConnId> = room.members.iter().map(|m| m.conn).collect();
        let stored = room.stored;
        for member in members {
            let ref_ = if member == conn { ref_.clone() } else { None };
            let message = message.clone();
            self.send(member, ServerMsg::Chat { ref_, message });
        }
        if stored {
            let room = room_id;
            self.out.push_back(Output::ChatStored { room, message });
        }
    }
}
