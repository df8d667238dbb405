//! The node's rate limits on what members send through it, checked before a room sees
//! the command, each a token bucket on the hub's time:
//!
//! - chat per connection (leaving and rejoining does not reset it), per client address
//!   (reconnecting does not either) and per room (many connections or addresses cannot
//!   flood one room or its store);
//! - relayed bytes (`offer`, `answer`, `candidate`, `hangup`) per sender and per
//!   addressee, so a member who relays large SDPs at someone gets `rate_limited` before
//!   the addressee's outbound queue fills and the driver drops it as a slow consumer.
//!
//! A request over any of its limits is charged to none of them and gets one
//! `rate_limited` error; the rest of the hub's state is unchanged.

use super::hub::Hub;
use crate::room::Relayed;
use crate::ConnId;
use confab_proto::{ErrorCode, PeerId, RequestId, RoomId};
use std::time::{Duration, Instant};

/// What a relayed message costs the relay budgets: its SDP or candidate text, plus 128
/// bytes for the rest of its frame (type, `from`, keys), so many tiny messages cost too.
pub(crate) fn relay_bytes(msg: &Relayed) -> u32 {
    let payload = match msg {
        Relayed::Offer { sdp } | Relayed::Answer { sdp } => sdp.len(),
        Relayed::Candidate { candidate } => candidate.as_ref().map_or(0, |c| {
            c.candidate.len()
                + c.sdp_mid.as_ref().map_or(0, String::len)
                + c.username_fragment.as_ref().map_or(0, String::len)
        }),
        Relayed::Hangup => 0,
    };
    u32::try_from(payload + 128).unwrap_or(u32::MAX)
}

/// `wait` in seconds for an error message: at least 0.1, so "try again in 0.0 s" is never
/// said.
fn secs(wait: Duration) -> f64 {
    wait.as_secs_f64().clamp(0.1, 1e9)
}

impl Hub {
    /// Whether `conn` (in `room`) may send a chat message now: takes one token from its
    /// connection's, its address's and the room's bucket, or none of them and answers
    /// `rate_limited` (echoing `ref_`).
    pub(crate) fn chat_allowed(
        &mut self,
        conn: ConnId,
        room: &RoomId,
        ref_: &Option<RequestId>,
        now: Instant,
    ) -> bool {
        let c = &self.config;
        let (burst, refill) = (c.chat_burst, c.chat_refill);
        let (ip_burst, ip_refill) = (c.chat_ip_burst, c.chat_ip_refill);
        let (room_burst, room_refill) = (c.chat_room_burst, c.chat_room_refill);
        let Some(state) = self.conns.get_mut(&conn) else {
            return false;
        };
        let ip = state.ip;
        let refused = if let Err(wait) = state.chat_bucket.check(now, burst, refill) {
            Some(format!(
                "you are sending messages too fast (at most {burst} in a row, then one every \
                 {:.1} s); try again in {:.1} s",
                refill.as_secs_f64(),
                secs(wait)
            ))
        } else if let Some(Err(wait)) =
            ip.map(|ip| self.chat_by_ip.check_n(&ip, now, 1, ip_burst, ip_refill))
        {
            Some(format!(
                "too many messages from your network address (at most {ip_burst} in a row, \
                 then one every {:.1} s); try again in {:.1} s",
                ip_refill.as_secs_f64(),
                secs(wait)
            ))
        } else if let Err(wait) = self
            .chat_by_room
            .check_n(room, now, 1, room_burst, room_refill)
        {
            Some(format!(
                "this room is receiving messages too fast; try again in {:.1} s",
                secs(wait)
            ))
        } else {
            None
        };
        if let Some(message) = refused {
            self.error(conn, ErrorCode::RateLimited, message, ref_.clone());
            return false;
        }
        if let Some(state) = self.conns.get_mut(&conn) {
            let _ = state.chat_bucket.try_take(now, burst, refill);
        }
        if let Some(ip) = ip {
            self.chat_by_ip.take_n(&ip, now, 1, ip_burst, ip_refill);
        }
        self.chat_by_room
            .take_n(room, now, 1, room_burst, room_refill);
        true
    }

    /// Whether `conn` may relay `bytes` (see [`relay_bytes`]) to `to` now: takes them
    /// from the sender's budget and, when `to` is connected here, from the addressee's,
    /// or from neither and answers `rate_limited`. Always allowed with
    /// [`crate::HubConfig::relay_rate`] zero.
    pub(crate) fn relay_allowed(
        &mut self,
        conn: ConnId,
        to: &PeerId,
        bytes: u32,
        ref_: &Option<RequestId>,
        now: Instant,
    ) -> bool {
        let (burst, rate) = (self.config.relay_burst, self.config.relay_rate);
        if rate == 0 {
            return true;
        }
        let refill = Duration::from_secs(1) / rate;
        let target = self.by_peer.get(to).copied().filter(|&t| t != conn);
        let refused = match self.conns.get_mut(&conn) {
            None => return false,
            Some(state) => match state.relay_out.check_n(now, bytes, burst, refill) {
                Err(wait) => Some(format!(
                    "you are relaying too much to your peers (at most {burst} bytes at once, \
                     then {rate} a second); try again in {:.1} s",
                    secs(wait)
                )),
                Ok(()) => None,
            },
        };
        let refused = refused.or_else(|| {
            let state = self.conns.get_mut(&target?)?;
            let wait = state.relay_in.check_n(now, bytes, burst, refill).err()?;
            Some(format!(
                "that peer is being sent too much (at most {burst} bytes at once, then {rate} \
                 a second); try again in {:.1} s",
                secs(wait)
            ))
        });
        if let Some(message) = refused {
            self.error(conn, ErrorCode::RateLimited, message, ref_.clone());
            return false;
        }
        if let Some(state) = self.conns.get_mut(&conn) {
            let _ = state.relay_out.try_take_n(now, bytes, burst, refill);
        }
        if let Some(state) = target.and_then(|t| self.conns.get_mut(&t)) {
            let _ = state.relay_in.try_take_n(now, bytes, burst, refill);
        }
        true
    }
}
