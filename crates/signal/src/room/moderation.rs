//! Roles and moderation: who hosts a room, and what hosts may do (`kick`, `mute`, `lock`).
//!
//! Roles: a join token fixes its holder's role (the node passes it in
//! [`RoomCommand::Join`]). A peer without one becomes host when it enters a room that
//! has no host and no token holder (so the first person in an open room hosts, as in
//! Jitsi), else guest. When the last host leaves, the member present longest whose role
//! no token fixed takes over, and the room hears `roleChanged`.
//!
//! A tokenless peer never outranks a token holder (mixed mode: a server with a token key
//! that does not require tokens). While any member holds a token, tokenless members are
//! guests: a token holder entering demotes tokenless hosts (`roleChanged` to guest, before
//! its `joined`), nobody tokenless is promoted, and a lock set by a tokenless host does
//! not keep token holders out. Otherwise an anonymous joiner could take over a room of
//! guest-token holders, kick them and lock them out. So a room of tokenless members
//! always has a host; a room with token holders has one only if a token made one (the
//! application then decided who moderates). A stream's token (a WHIP encoder, a WHEP
//! player) fixes its role but does not count as a token holder here: an encoder with a
//! host token does not turn the tokenless teacher it streams for into a guest.
//!
//! A kicked peer is out of the room but keeps its connection. It may not join again while
//! the room lasts (`room_locked`, saying it was removed): the room bans its identity
//! (`saved.rs`: a token's subject, else its browser session) and its peer id. A host
//! token is not banned (the application decided it hosts). A tokenless person can come
//! back from a new tab or browser, which is a newcomer: to keep newcomers out, a host
//! locks the room. A locked room refuses every new `join` with `room_locked`, except from
//! holders of a host token (the organiser gets in), from any token holder when a tokenless
//! host locked it, and from members taking back their seat after a restart; it unlocks
//! when it ends (empty, no seat held), and its bans end with it.
//!
//! Roles, the lock and the bans outlive a restart for a room whose chat a store keeps
//! (`saved.rs`): a host's seat is held for it, so nobody else becomes host meanwhile.
//!
//! [`RoomCommand::Join`]: super::RoomCommand::Join

use super::{HostOp, Lock, RoomCore};
use confab_proto::{ErrorCode, LeaveReason, PeerId, RequestId, Role, ServerMsg};

impl RoomCore {
    /// The role of a peer joining now: the token's if it had one; else the one of the
    /// seat it takes back (`seat`), as a guest while a token holder is in; else host
    /// when the room has no host, no token holder and no host's seat held.
    pub(crate) fn role_for_joiner(&self, granted: Option<Role>, seat: Option<Role>) -> Role {
        match (granted, seat) {
            (Some(role), _) => role,
            _ if self.has_token_holder() => Role::Guest,
            (None, Some(role)) => role,
            _ if self.members.values().any(|m| m.info.role == Role::Host) => Role::Guest,
            _ if self.host_seat_held() => Role::Guest,
            (None, None) => Role::Host,
        }
    }

    /// Whether a member's role came from a join token, or a token holder's seat is held.
    pub(crate) fn has_token_holder(&self) -> bool {
        self.members.values().any(|m| m.fixed_role && !m.stream) || self.token_seat_held()
    }

    /// A token holder is entering: tokenless hosts become guests (each change told to
    /// the room), so they cannot outrank it.
    pub(crate) fn demote_tokenless_hosts(&mut self) {
        let demoted: Vec<_> = self
            .members
            .values_mut()
            .filter(|m| !m.fixed_role && m.info.role == Role::Host)
            .map(|m| {
                m.info.role = Role::Guest;
                m.info.id.clone()
            })
            .collect();
        for peer_id in demoted {
            let role = Role::Guest;
            self.broadcast(ServerMsg::RoleChanged { peer_id, role });
        }
    }

    /// A host's request; anyone else gets `not_host`.
    pub(crate) fn host_op(&mut self, from: &PeerId, op: HostOp, ref_: Option<RequestId>) {
        let Some(me) = self.members.get(from) else {
            return;
        };
        if me.info.role != Role::Host {
            let message = "only a host of the room can do that";
            return self.error(from, ErrorCode::NotHost, message, ref_);
        }
        let by_token = me.fixed_role;
        match op {
            HostOp::Kick { peer } => {
                if self.other_member(from, &peer, "remove", &ref_) {
                    self.ban(&peer);
                    // `kicked` first: the target's node hears why before it is let go.
                    let kicked = ServerMsg::Kicked {
                        room: self.id.clone(),
                        by: from.clone(),
                    };
                    self.send(&peer, kicked);
                    self.remove(&peer, LeaveReason::Kicked);
                }
            }
            HostOp::Mute { peer } => {
                // The room sees the result in `presence` once that peer's client reports it.
                if self.other_member(from, &peer, "mute", &ref_) {
                    let by = from.clone();
                    self.send(&peer, ServerMsg::MuteRequest { by });
                }
            }
            HostOp::WaitingRoom { on } => self.set_waiting_room(from, on),
            HostOp::Admit { peer, allow } => self.admit(from, peer, allow, ref_),
            HostOp::Lock { locked } => {
                self.lock = locked.then(|| Lock {
                    by: from.clone(),
                    by_token,
                });
                self.changed = true;
                let by = from.clone();
                self.broadcast(ServerMsg::RoomLocked { locked, by });
            }
        }
    }

    /// After a member left (or seats stopped being held): if hosts remain, a host's
    /// seat is held, a token holder remains (a tokenless member may not outrank it) or
    /// the room ended, nothing; else the longest-present member becomes host, and
    /// everyone hears `roleChanged`.
    pub(crate) fn promote_if_hostless(&mut self) {
        if self.members.values().any(|m| m.info.role == Role::Host)
            || self.host_seat_held()
            || self.has_token_holder()
        {
            return;
        }
        // Members are in join order: the first eligible one has been there longest.
        let Some(heir) = self.members.values_mut().find(|m| !m.fixed_role) else {
            return;
        };
        heir.info.role = Role::Host;
        let peer_id = heir.info.id.clone();
        self.broadcast(ServerMsg::RoleChanged {
            peer_id: peer_id.clone(),
            role: Role::Host,
        });
        self.tell_new_host(&peer_id);
    }

    /// Whether `peer` is another member than `from`; else `unknown_peer` is sent.
    fn other_member(
        &mut self,
        from: &PeerId,
        peer: &PeerId,
        verb: &str,
        ref_: &Option<RequestId>,
    ) -> bool {
        let ok = peer != from && self.members.contains_key(peer);
        if !ok {
            let message = format!("{peer} is not another peer in your room; cannot {verb} it");
            self.error(from, ErrorCode::UnknownPeer, message, ref_.clone());
        }
        ok
    }
}
