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
//! answers `welcome {resumed: true}` with a new token (tokens are single-use), sends a
//! `joined` snapshot (no `ref`) of the room as it is now, and tells the room
//! `presence` with `reconnecting: false`. Nobody sees `peerLeft`/`peerJoined`.
//! If the old connection is still attached (half-open: its socket has not timed out
//! yet), it is closed with [`close::REPLACED`].
//!
//! When the grace period ends first, the peer leaves for real: `peerLeft` with reason
//! `disconnected`, and it leaves its call (`timers.rs`). Unknown, expired or
//! used tokens get a fresh identity, never an error, so a client needs no special path.
//!
//! Tokens are secrets: they are never logged and are compared only as map keys. They
//! come from the hub's CSPRNG (`ids.rs`), seeded by the driver from the OS.
//!
//! [`HubConfig::resume_grace`]: crate::HubConfig::resume_grace

use super::hub::Hub;
use super::timers::Timer;
use crate::room::RoomCommand;
use crate::ConnId;
use confab_proto::{close, RequestId};
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
        if let Some(state) = self.conns.get_mut(&conn) {
            if let Some(old) = state.resume_token.replace(token.clone()) {
                self.by_token.remove(&old);
            }
        }
        self.by_token.insert(token.clone(), conn);
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
        let Some(state) = self.conns.get_mut(&conn) else {
            return false;
        };
        let Some(room) = state.session.as_ref().and_then(|s| s.room.clone()) else {
            return false;
        };
        if state.detached_until.is_some() {
            return true;
        }
        let until = now + self.config.resume_grace;
        state.detached_until = Some(until);
        let Some(peer) = state.session.as_ref().map(|s| s.peer_id.clone()) else {
            return false;
        };
        self.detached_total += 1;
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
            self.detached_total -= 1;
        } else {
            // Half-open: the old socket is still registered. It is obsolete now.
            self.push_close(old, close::REPLACED, "resumed by a new connection");
        }
        state.host = fresh.host;
        if let Some(room) = state.parked.as_ref().map(|p| p.room.clone()) {
            self.rekey_parked(&room, old, conn);
        }
        let Some(session) = state.session.as_ref() else {
            return;
        };
        let (peer_id, room) = (session.peer_id.clone(), session.room.clone());
        self.conns.insert(conn, state);
        self.by_peer.insert(peer_id.clone(), conn);
        let resume_token = Some(self.issue_token(conn));
        self.welcome(conn, peer_id.clone(), resume_token, true);
        if let Some(room) = room {
            let peer = peer_id;
            self.command(&room, RoomCommand::Reattach { peer, ref_ });
        }
    }

    /// Connections held for a possible resume (their socket is gone).
    pub fn detached_count(&self) -> usize {
        self.detached_total
    }
}
