//! Rooms and presence: `join`, `leave`, and removing a member for any reason.

use crate::calls::Calls;
use crate::hub::Hub;
use crate::ConnId;
use confab_proto::{
    ChatMessage, ErrorCode, LeaveReason, PeerId, PeerInfo, RequestId, Role, RoomId, ServerMsg,
};
use std::collections::VecDeque;
use std::time::Instant;

/// A room's members in join order, and its chat. A room exists only while it has
/// members; the display names live here (not on the connection) because they belong to
/// a join. The chat history and id counter end with the room, unless the driver's store
/// gives them back when the room is next created (see `park.rs`).
#[derive(Debug, Default)]
pub(crate) struct Room {
    pub(crate) members: Vec<Member>,
    /// The last `HubConfig::chat_history` messages, oldest first.
    pub(crate) history: VecDeque<ChatMessage>,
    /// The id of the last chat message (0: none yet); the next one is this plus one.
    pub(crate) last_chat_id: u64,
    /// The calls running in the room (see `calls.rs`); they end with the room at the latest.
    pub(crate) calls: Calls,
    /// The host who locked the room, while it is locked (see `moderation.rs`).
    pub(crate) locked_by: Option<PeerId>,
    /// Its chat continues the store's, so accepted messages are reported for storing.
    pub(crate) stored: bool,
}

/// One connection's presence in a room.
#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) conn: ConnId,
    /// What the other members see: the peer id (fixed at `hello`) and the join name.
    pub(crate) info: PeerInfo,
    /// Its role came from a join token, so it is never promoted (see `moderation.rs`).
    pub(crate) fixed_role: bool,
}

impl Hub {
    /// `join`: enters `room` (creating it) under `name`, answers with a snapshot of the
    /// others and announces the joiner to them. `name` was validated by the decoder;
    /// `granted` is the role from a join token, if the join had one. With a store, a
    /// join that would create the room is parked until its chat is in (`park.rs`).
    pub(crate) fn handle_join(
        &mut self,
        conn: ConnId,
        room: RoomId,
        name: String,
        granted: Option<Role>,
        ref_: Option<RequestId>,
        now: Instant,
    ) {
        let Some((peer_id, current)) = self.require_hello(conn, &ref_) else {
            return;
        };
        if let Some(current) = current {
            let message = format!("already in room {current}; leave it first");
            return self.error(conn, ErrorCode::AlreadyJoined, message, ref_);
        }
        match self.rooms.get(&room) {
            Some(r) if r.members.len() >= self.config.max_peers_per_room => {
                let message = format!(
                    "room {room} is full ({} peers)",
                    self.config.max_peers_per_room
                );
                return self.error(conn, ErrorCode::RoomFull, message, ref_);
            }
            Some(r) if r.locked_by.is_some() && granted != Some(Role::Host) => {
                let message = format!("room {room} is locked by its host");
                return self.error(conn, ErrorCode::RoomLocked, message, ref_);
            }
            None if self.pending.contains_key(&room) => {
                return self.park_join(conn, room, name, granted, ref_, now);
            }
            None if self.rooms.len() + self.pending.len() >= self.config.max_rooms => {
                let message = format!(
                    "the server is at its limit of {} rooms; try again later",
                    self.config.max_rooms
                );
                return self.error(conn, ErrorCode::ServerFull, message, ref_);
            }
            _ => {}
        }
        let creating = !self.rooms.contains_key(&room);
        let ready = self.ready.take_if(|r| r.room == room);
        if creating && self.config.persist_chat && ready.is_none() {
            return self.park_join(conn, room, name, granted, ref_, now);
        }
        let Some(session) = self.conns.get_mut(&conn).and_then(|c| c.session.as_mut()) else {
            return;
        };
        session.room = Some(room.clone());
        let r = self
            .rooms
            .entry(room.clone())
            .or_insert_with(|| Room::seeded(ready));
        let you = PeerInfo {
            id: peer_id,
            name,
            state: Default::default(),
            role: r.role_for_joiner(granted),
        };
        let locked_by = r.locked_by.clone();
        let peers: Vec<PeerInfo> = r.members.iter().map(|m| m.info.clone()).collect();
        let others: Vec<ConnId> = r.members.iter().map(|m| m.conn).collect();
        let history: Vec<ChatMessage> = r.history.iter().cloned().collect();
        self.peer_total += 1;
        r.members.push(Member {
            conn,
            info: you.clone(),
            fixed_role: granted.is_some(),
        });
        let joined = ServerMsg::Joined {
            ref_,
            room,
            you: you.clone(),
            peers,
            history,
        };
        self.send(conn, joined);
        if let Some(by) = locked_by {
            // Only a host token gets into a locked room; it should know the room is locked.
            self.send(conn, ServerMsg::RoomLocked { locked: true, by });
        }
        for other in others {
            let peer = you.clone();
            self.send(other, ServerMsg::PeerJoined { peer });
        }
    }

    /// `leave`: exits the current room, answers `left`, and tells the rest `peerLeft`.
    pub(crate) fn handle_leave(&mut self, conn: ConnId, ref_: Option<RequestId>) {
        let Some((_, current)) = self.require_hello(conn, &ref_) else {
            return;
        };
        let Some(room) = current else {
            let message = "not in a room; join one first";
            return self.error(conn, ErrorCode::NotJoined, message, ref_);
        };
        if let Some(session) = self.conns.get_mut(&conn).and_then(|c| c.session.as_mut()) {
            session.room = None;
        }
        self.send(
            conn,
            ServerMsg::Left {
                ref_,
                room: room.clone(),
            },
        );
        self.remove_member(&room, conn, LeaveReason::Left);
    }

    /// Takes `conn` out of `room`'s member list, deletes the room if that emptied it,
    /// and sends `peerLeft` to the remaining members. The caller clears the
    /// connection's own `room` field (or has removed the connection altogether).
    pub(crate) fn remove_member(&mut self, room: &RoomId, conn: ConnId, reason: LeaveReason) {
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        let Some(pos) = r.members.iter().position(|m| m.conn == conn) else {
            return;
        };
        let gone = r.members.remove(pos);
        self.peer_total -= 1;
        let others: Vec<ConnId> = r.members.iter().map(|m| m.conn).collect();
        if others.is_empty() {
            self.rooms.remove(room);
        }
        for other in others {
            let msg = ServerMsg::PeerLeft {
                peer_id: gone.info.id.clone(),
                reason,
            };
            self.send(other, msg);
        }
        if gone.info.role == Role::Host {
            self.promote_if_hostless(room);
        }
        // After `peerLeft`, so the others' clients drop the peer before its calls change.
        self.drop_from_calls(room, conn, &gone.info.state);
    }
}
