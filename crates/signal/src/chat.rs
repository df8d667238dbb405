//! Text chat: `chat` to everyone in the room, per-room history, per-connection rate limit.
//!
//! Ids are assigned here, per room, counting up from 1, and the history is a ring of the
//! last [`HubConfig::chat_history`] messages. Both live in the [`Room`], so they end when
//! the room does (its last member leaves); a persistent store can later take over the
//! history and continue the id counter from the last stored id.
//!
//! [`HubConfig::chat_history`]: crate::HubConfig::chat_history

use crate::hub::Hub;
use crate::room::Room;
use crate::ConnId;
use confab_proto::{ChatMessage, ErrorCode, PeerId, RequestId, ServerMsg};
use std::time::{Duration, Instant};

/// A token bucket on the hub's simulated time: `burst` tokens, one more per `refill`.
/// Integer arithmetic, so a test that advances time by exact steps gets exact answers.
#[derive(Clone, Debug)]
pub(crate) struct TokenBucket {
    tokens: u32,
    /// When the next token started accruing (meaningless while the bucket is full).
    since: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub(crate) fn full(burst: u32, now: Instant) -> Self {
        TokenBucket {
            tokens: burst,
            since: now,
        }
    }

    /// Takes a token if one is available (after crediting the time since the last call);
    /// otherwise returns how long until the next one.
    pub(crate) fn try_take(
        &mut self,
        now: Instant,
        burst: u32,
        refill: Duration,
    ) -> Result<(), Duration> {
        self.refill(now, burst, refill);
        if self.tokens == 0 {
            let next = self.since + refill;
            return Err(next.saturating_duration_since(now));
        }
        self.tokens -= 1;
        Ok(())
    }

    fn refill(&mut self, now: Instant, burst: u32, refill: Duration) {
        if self.tokens >= burst || refill.is_zero() {
            self.tokens = burst;
            self.since = now;
            return;
        }
        let elapsed = now.saturating_duration_since(self.since);
        let earned = elapsed.as_nanos() / refill.as_nanos();
        if earned == 0 {
            return;
        }
        // `earned` may be huge after a long pause; only `burst - tokens` of it counts.
        let room = u128::from(burst - self.tokens);
        if earned >= room {
            self.tokens = burst;
            self.since = now;
        } else {
            // earned < burst <= u32::MAX, so the casts are lossless.
            self.tokens += earned as u32;
            self.since += refill * earned as u32;
        }
    }
}

impl Room {
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
        for member in members {
            let ref_ = if member == conn { ref_.clone() } else { None };
            let message = message.clone();
            self.send(member, ServerMsg::Chat { ref_, message });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn bucket_allows_a_burst_then_one_per_interval() {
        let t0 = Instant::now();
        let mut b = TokenBucket::full(3, t0);
        for _ in 0..3 {
            assert!(b.try_take(t0, 3, S).is_ok());
        }
        assert_eq!(b.try_take(t0, 3, S), Err(S));
        let half = t0 + S / 2;
        assert_eq!(b.try_take(half, 3, S), Err(S / 2));
        assert!(b.try_take(t0 + S, 3, S).is_ok());
        assert!(b.try_take(t0 + S, 3, S).is_err());
        // 2.5 intervals later: two tokens, and the half interval is kept.
        let later = t0 + S * 7 / 2;
        assert!(b.try_take(later, 3, S).is_ok());
        assert!(b.try_take(later, 3, S).is_ok());
        assert_eq!(b.try_take(later, 3, S), Err(S / 2));
    }

    #[test]
    fn bucket_never_holds_more_than_the_burst() {
        let t0 = Instant::now();
        let mut b = TokenBucket::full(2, t0);
        let later = t0 + Duration::from_secs(3600);
        assert!(b.try_take(later, 2, S).is_ok());
        assert!(b.try_take(later, 2, S).is_ok());
        assert!(b.try_take(later, 2, S).is_err());
    }

    #[test]
    fn bucket_survives_time_going_backwards_and_zero_settings() {
        let t0 = Instant::now() + Duration::from_secs(10);
        let mut b = TokenBucket::full(1, t0);
        assert!(b.try_take(t0, 1, S).is_ok());
        assert!(b.try_take(t0 - S, 1, S).is_err());
        let mut none = TokenBucket::full(0, t0);
        assert!(none.try_take(t0 + S * 100, 0, S).is_err());
        let mut free = TokenBucket::full(1, t0);
        for _ in 0..100 {
            assert!(free.try_take(t0, 1, Duration::ZERO).is_ok());
        }
    }
}
