//! Reconnection: resume tokens, the grace period of a dropped connection, and handing
//! its identity to a new connection.
//!
//! Every `welcome` carries a fresh `resumeToken`. When a connection that is in a room
//! drops (no `leave`), the hub does not remove it at once: it *detaches* it for
//! [`HubConfig::resume_grace`]. A detached connection keeps its peer id, room
//! membership, presence and call; the room sees `presence` with `reconnecting: true`,
//! and whatever is sent to it meanwhile is lost (the driver has no socket for it).
//!
//! A new connection whose `hello` carries that token within the grace period takes the
//! identity over: the hub points the peer id at the new [`ConnId`] (rooms know only peer
//! ids, so nothing else changes),
//! answers `welcome {resumed: true}` with a new token (tokens are single-use), sends
//! fresh `iceServers` (see `credentials.rs`) and a `joined` snapshot (no `ref`) of the
//! room as it is now, and tells the room
//! `presence` with `reconnecting: false`. Nobody sees `peerLeft`/`peerJoined`.
//! If the old connection is still attached (half-open: its socket has not timed out
//! yet), it is closed with [`close::REPLACED`].
//!
//! Held places ("ghosts") cost live clients nothing: they do not count against
//! [`HubConfig::max_connections`], a live joiner of a full room takes a ghost's place, and
//! ghosts are capped in total ([`HubConfig::max_detached`]) and per client address
//! ([`HubConfig::max_detached_per_ip`]); a drop over a cap leaves at once.
//!
//! When the grace period ends first, the peer leaves for real: `peerLeft` with reason
//! `disconnected`, and it leaves its call (`timers.rs`). Unknown, expired or
//! used tokens get a fresh identity, never an error, so a client needs no special path.
//!
//! Tokens are secrets: they are never logged and are compared only as map keys. They
//! come from the hub's CSPRNG (`ids.rs`), seeded by the driver from the OS.
//!
//! A token is also what a tokenless member *is* to its room beyond one connection
//! ([`Identity::Session`], `room/saved.rs`): its SHA-256, never the token itself, which
//! a room may hand to a store. After a restart nobody's token is known, so a `hello`
//! presenting one gets a fresh identity and keeps the hash as its *claim*: a room
//! brought back from a store gives the seat it holds for that identity back to the
//! browser that still has the token. A resume replaces the token, so the room hears the
//! member's new identity with the reattach.
//!
//! [`Identity::Session`]: crate::Identity::Session
//! [`HubConfig::resume_grace`]: crate::HubConfig::resume_grace
//! [`HubConfig::max_connections`]: crate::HubConfig::max_connections
//! [`HubConfig::max_detached`]: crate::HubConfig::max_detached
//! [`HubConfig::max_detached_per_ip`]: crate::HubConfig::max_detached_per_ip

use super::hub::Hub;
use super::timers::Timer;
use crate::room::{Identity, RoomCommand};
use crate::{ConnId, Event, Output};
use confab_proto::{close, RequestId};
use std::net::IpAddr;
use std::time::Instant;

impl Hub {
    /// A fresh token for `conn`, replacing (and invalidating) its previous one.
    pub(crate) fn issue_token(&mut self, conn: ConnId) -> String {
        let token = loop {
            let t = self.rng.token();
            if !self.by_token.contains_key(&t) {
                break t;
            }
        };
        let mut moved = None;
        if let Some(state) = self.conns.get_mut(&conn) {
            let record = state.session.as_ref().and_then(|s| s.joined_as.clone());
            if let Some(old) = state.resume_token.replace(token.clone()) {
                self.by_token.remove(&old);
                moved = record.map(|r| (old, r));
            }
        }
        self.by_token.insert(token.clone(), conn);
        if let Some((old, record)) = moved {
            // The shared store's record follows the token (`moved.rs`).
            self.forget_record(&old);
            self.save_record(conn, Some(record));
        }
        token
    }

    /// Forgets `conn`'s token, so it can no longer be resumed.
    pub(crate) fn revoke_token(&mut self, conn: ConnId) {
        if let Some(old) = self
            .conns
            .get_mut(&conn)
            .and_then(|c| c.resume_token.take())
        {
            self.by_token.remove(&old);
        }
    }

    /// The connection behind `token`, if it is known and `conn` may take it over.
    pub(crate) fn resumable(&self, token: &str, conn: ConnId) -> Option<ConnId> {
        let old = *self.by_token.get(token)?;
        (old != conn && self.session(old).is_some()).then_some(old)
    }

    /// `conn`'s socket closed while it is in a room: keep its place for the grace
    /// period and tell the room it is reconnecting. Returns false (nothing done) when
    /// it should be removed at once instead.
    pub(crate) fn detach(&mut self, conn: ConnId, now: Instant) -> bool {
        if self.config.resume_grace.is_zero() {
            return false;
        }
        let Some(state) = self.conns.get(&conn) else {
            return false;
        };
        let Some(session) = state.session.as_ref() else {
            return false;
        };
        let Some(room) = session.room.clone() else {
            return false;
        };
        if state.detached_until.is_some() {
            return true;
        }
        let (peer, ip) = (session.peer_id.clone(), state.ip);
        if !self.may_hold(ip) {
            self.out.push_back(Output::Event(Event::HoldRefused));
            return false;
        }
        let until = now + self.config.resume_grace;
        if let Some(state) = self.conns.get_mut(&conn) {
            state.detached_until = Some(until);
        }
        self.count_detached(ip, true);
        self.timers
            .schedule(until, Timer::Grace { peer: peer.clone() });
        self.command(&room, RoomCommand::Detach { peer });
        true
    }

    /// `hello {resume}` from `conn` for the identity of `old`: re-keys it to `conn`,
    /// closes `old`'s socket if it is still attached, and answers `welcome`
    /// (`resumed`), the room snapshot and the presence change.
    pub(crate) fn resume(&mut self, conn: ConnId, old: ConnId, ref_: Option<RequestId>) {
        let Some(fresh) = self.conns.remove(&conn) else {
            return;
        };
        let Some(mut state) = self.conns.remove(&old) else {
            self.conns.insert(conn, fresh);
            return;
        };
        if state.detached_until.take().is_some() {
            self.count_detached(state.ip, false);
        } else {
            // Half-open: the old socket is still registered. It is obsolete now.
            self.push_close(old, close::REPLACED, "resumed by a new connection");
        }
        state.host = fresh.host;
        state.ip = fresh.ip;
        if let Some(room) = state.parked.as_ref().map(|p| p.room.clone()) {
            self.rekey_parked(&room, old, conn);
        }
        let Some(session) = state.session.as_ref() else {
            return;
        };
        let (peer_id, room) = (session.peer_id.clone(), session.room.clone());
        let by_session = matches!(session.identity, Some(Identity::Session(_)));
        self.conns.insert(conn, state);
        self.by_peer.insert(peer_id.clone(), conn);
        let token = self.issue_token(conn);
        // A tokenless member's identity follows its token (a token holder's is its
        // subject, which does not change).
        let identity = by_session.then(|| session_identity(&token));
        if let Some(s) = self.conns.get_mut(&conn).and_then(|c| c.session.as_mut()) {
            if identity.is_some() {
                s.identity.clone_from(&identity);
            }
        }
        self.welcome(conn, peer_id.clone(), Some(token), true);
        if let Some(room) = room {
            if self.config.ice.has_member_servers() {
                // Fresh credentials, for the same membership, before the snapshot.
                self.send_member_servers(conn);
            }
            let peer = peer_id;
            let cmd = RoomCommand::Reattach {
                peer,
                ref_,
                identity,
            };
            self.command(&room, cmd);
        }
    }

    /// Connections held for a possible resume (their socket is gone).
    pub fn detached_count(&self) -> usize {
        self.detached_total
    }

    /// Whether one more place may be held for a client at `ip`: under the total cap and
    /// under its address's cap. Ghosts cost no live connection's place, but they hold
    /// room places and memory, so a client that vanishes over and over must not pile
    /// them up.
    fn may_hold(&self, ip: Option<IpAddr>) -> bool {
        let per_ip = ip.map_or(0, |ip| self.detached_by_ip.get(&ip).copied().unwrap_or(0));
        self.detached_total < self.config.max_detached && per_ip < self.config.max_detached_per_ip
    }

    /// Counts a held place in (`add`) or out, in total and for its address.
    pub(crate) fn count_detached(&mut self, ip: Option<IpAddr>, add: bool) {
        if add {
            self.detached_total += 1;
        } else {
            self.detached_total -= 1;
        }
        let Some(ip) = ip else { return };
        let n = self.detached_by_ip.entry(ip).or_default();
        if add {
            *n += 1;
        } else {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.detached_by_ip.remove(&ip);
            }
        }
    }
}

/// The identity of a tokenless session whose resume token is `token`: its SHA-256 in
/// hex. One-way, so a store that keeps it cannot give the token away; only the browser
/// holding the token can claim it (see the module docs).
pub(crate) fn session_identity(token: &str) -> Identity {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(token.as_bytes());
    let hex = digest.iter().map(|b| format!("{b:02x}")).collect();
    Identity::Session(hex)
}

/// The address a client is counted under by per-address limits (held places here, and
/// a driver's own, such as its password throttle): an IPv4 address (also when it
/// comes IPv4-mapped), or an IPv6 /64, since one host usually has a whole /64.
pub fn address_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::address_key;
    use std::net::IpAddr;

    #[test]
    fn addresses_are_counted_per_ipv4_address_or_ipv6_64() {
        let key = |s: &str| address_key(s.parse::<IpAddr>().unwrap()).to_string();
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::");
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
    }
}
