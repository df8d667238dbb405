//! Roles and moderation: who hosts a room, and what hosts may do (`kick`, `mute`, `lock`).
//!
//! Roles: a join token fixes its holder's role (the driver passes it in
//! `Input::Frame::grant`). A peer without one becomes host when it enters a room that
//! has no host (so the first person in an open room hosts, as in Jitsi), else guest.
//! When the last host leaves, the member present longest whose role no token fixed takes
//! over, and the room hears `roleChanged`. So a room always has a host, unless everyone
//! in it holds a guest token (the application then decided that nobody moderates).
//!
//! A kicked peer is out of the room but keeps its connection, and may join again: to keep
//! someone out, a host locks the room. A locked room refuses every new `join` with
//! `room_locked`, except from holders of a host token (the organiser gets in); it unlocks
//! when it empties, since an empty room ends.

use crate::hub::Hub;
use crate::room::Room;
use crate::ConnId;
use confab_proto::{ErrorCode, LeaveReason, PeerId, RequestId, Role, RoomId, ServerMsg};

impl Room {
    /// The role of a peer joining now: the token's if it had one, else host when the
    /// room has no host.
    pub(crate) fn role_for_joiner(&self, granted: Option<Role>) -> Role {
        match granted {
            Some(role) => role,
            None if self.members.iter().any(|m| m.info.role == Role::Host) => Role::Guest,
            None => Role::Host,
        }
    }
}

impl Hub {
    /// `kick {peer}`: a host removes `peer` from the room. It hears `kicked`, the others
    /// `peerLeft` with reason `kicked`.
    pub(crate) fn handle_kick(&mut self, conn: ConnId, peer: PeerId, ref_: Option<RequestId>) {
        let Some((me, room)) = self.require_host(conn, &ref_) else {
            return;
        };
        let Some(target) = self.other_member(conn, &room, &peer, "remove", &ref_) else {
            return;
        };
        if let Some(s) = self.conns.get_mut(&target).and_then(|c| c.session.as_mut()) {
            s.room = None;
        }
        let kicked = ServerMsg::Kicked {
            room: room.clone(),
            by: me,
        };
        self.send(target, kicked);
        self.remove_member(&room, target, LeaveReason::Kicked);
    }

    /// `mute {peer}`: a host asks `peer` to mute its microphone (`muteRequest`). The room
    /// sees the result in `presence` once that peer's client reports it.
    pub(crate) fn handle_mute(&mut self, conn: ConnId, peer: PeerId, ref_: Option<RequestId>) {
        let Some((me, room)) = self.require_host(conn, &ref_) else {
            return;
        };
        let Some(target) = self.other_member(conn, &room, &peer, "mute", &ref_) else {
            return;
        };
        self.send(target, ServerMsg::MuteRequest { by: me });
    }

    /// `lock {locked}`: a host locks or unlocks the room; every member hears `roomLocked`.
    pub(crate) fn handle_lock(&mut self, conn: ConnId, locked: bool, ref_: Option<RequestId>) {
        let Some((me, room)) = self.require_host(conn, &ref_) else {
            return;
        };
        let Some(r) = self.rooms.get_mut(&room) else {
            return;
        };
        r.locked_by = locked.then(|| me.clone());
        let members: Vec<ConnId> = r.members.iter().map(|m| m.conn).collect();
        for m in members {
            let msg = ServerMsg::RoomLocked {
                locked,
                by: me.clone(),
            };
            self.send(m, msg);
        }
    }

    /// After a member left `room`: if hosts remain or the room ended, nothing; else the
    /// longest-present member whose role no token fixed becomes host, and everyone
    /// hears `roleChanged`.
    pub(crate) fn promote_if_hostless(&mut self, room: &RoomId) {
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        if r.members.iter().any(|m| m.info.role == Role::Host) {
            return;
        }
        // Members are in join order: the first eligible one has been there longest.
        let Some(heir) = r.members.iter_mut().find(|m| !m.fixed_role) else {
            return;
        };
        heir.info.role = Role::Host;
        let peer_id = heir.info.id.clone();
        let members: Vec<ConnId> = r.members.iter().map(|m| m.conn).collect();
        for m in members {
            let msg = ServerMsg::RoleChanged {
                peer_id: peer_id.clone(),
                role: Role::Host,
            };
            self.send(m, msg);
        }
    }

    /// The peer id and room of `conn` if it is a host in a room; else the error
    /// (`hello_required`, `not_joined` or `not_host`) is sent and `None` returned.
    fn require_host(&mut self, conn: ConnId, ref_: &Option<RequestId>) -> Option<(PeerId, RoomId)> {
        let (me, room) = self.require_hello(conn, ref_)?;
        let Some(room) = room else {
            let message = "not in a room; join one first";
            self.error(conn, ErrorCode::NotJoined, message, ref_.clone());
            return None;
        };
        let is_host = self
            .rooms
            .get(&room)
            .and_then(|r| r.members.iter().find(|m| m.conn == conn))
            .is_some_and(|m| m.info.role == Role::Host);
        if !is_host {
            let message = "only a host of the room can do that";
            self.error(conn, ErrorCode::NotHost, message, ref_.clone());
            return None;
        }
        Some((me, room))
    }

    /// The connection of `peer`, another member of `room`; else `unknown_peer` is sent.
    fn other_member(
        &mut self,
        conn: ConnId,
        room: &RoomId,
        peer: &PeerId,
        verb: &str,
        ref_: &Option<RequestId>,
    ) -> Option<ConnId> {
        let target = self
            .rooms
            .get(room)
            .and_then(|r| r.members.iter().find(|m| &m.info.id == peer))
            .map(|m| m.conn)
            .filter(|&c| c != conn);
        if target.is_none() {
            let message = format!("{peer} is not another peer in your room; cannot {verb} it");
            self.error(conn, ErrorCode::UnknownPeer, message, ref_.clone());
        }
        target
    }
}
