//! Calls and invitations: `invite`, `cancel`, `accept`, `decline`, `joinCall`,
//! `leaveCall`, `media`, the ring timeout, and presence broadcasts.
//!
//! The hub is authoritative about calls. A room holds its calls; a call has members (in
//! join order) and pending invitations, each with a deadline. A peer's presence (idle,
//! ringing, in a call; mute flags) lives in its room [`Member`]'s `info.state`, and every
//! change is broadcast to the room as `presence`. Rules (checked by the invariants):
//! - a peer is in at most one call, or rung into at most one, never both;
//! - every invitation's inviter is a member of its call and its invitee is ringing for
//!   that call; members plus invitations never exceed [`HubConfig::max_call_size`];
//! - a call with at most one member and no pending invitation ends (the last member
//!   becomes idle), so a call never lingers with nobody to talk to;
//! - after `Input::Timeout` at `now`, no invitation has a deadline at or before `now`.
//!
//! [`Member`]: crate::room::Member
//! [`HubConfig::max_call_size`]: crate::HubConfig::max_call_size

use crate::hub::Hub;
use crate::timers::Timer;
use crate::{ConnId, Event, Output};
use confab_proto::{
    CallId, ErrorCode, InviteEndReason, PeerId, PeerState, RequestId, RoomId, ServerMsg, Status,
};
use std::collections::BTreeMap;
use std::time::Instant;

/// One call in a room.
#[derive(Debug, Default)]
pub(crate) struct Call {
    /// Members in join order.
    pub(crate) members: Vec<ConnId>,
    /// Pending invitations, oldest first.
    pub(crate) invites: Vec<Invite>,
}

/// A pending invitation.
#[derive(Debug)]
pub(crate) struct Invite {
    pub(crate) from: ConnId,
    pub(crate) to: ConnId,
    /// The peer ids of both sides, kept so the ending can be told after one side's
    /// connection is gone.
    pub(crate) from_id: PeerId,
    pub(crate) to_id: PeerId,
    /// When it times out (`now` of the `invite` plus the ring timeout).
    pub(crate) deadline: Instant,
}

/// A call as the public accessor [`Hub::calls_in`] shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallSnapshot {
    /// The call's id.
    pub id: CallId,
    /// Members, in join order.
    pub members: Vec<PeerId>,
    /// Invitees being rung, oldest invitation first.
    pub invited: Vec<PeerId>,
}

/// The calls of one room, by id.
pub(crate) type Calls = BTreeMap<CallId, Call>;

impl Hub {
    /// The room of a joined `conn`, or an error (`hello_required`, `not_joined`) sent.
    pub(crate) fn require_room(
        &mut self,
        conn: ConnId,
        ref_: &Option<RequestId>,
    ) -> Option<RoomId> {
        let (_, room) = self.require_hello(conn, ref_)?;
        if room.is_none() {
            let message = "not in a room; join one first";
            self.error(conn, ErrorCode::NotJoined, message, ref_.clone());
        }
        room
    }

    /// The presence of `conn` in `room` (idle if it is not a member).
    fn state_of(&self, room: &RoomId, conn: ConnId) -> PeerState {
        self.rooms
            .get(room)
            .and_then(|r| r.members.iter().find(|m| m.conn == conn))
            .map(|m| m.info.state.clone())
            .unwrap_or_default()
    }

    fn peer_id_of(&self, conn: ConnId) -> Option<PeerId> {
        self.session(conn).map(|s| s.peer_id.clone())
    }

    fn name_of(&self, room: &RoomId, conn: ConnId) -> String {
        self.rooms
            .get(room)
            .and_then(|r| r.members.iter().find(|m| m.conn == conn))
            .map(|m| m.info.name.clone())
            .unwrap_or_default()
    }

    /// Changes `conn`'s presence and, if it changed, tells the whole room.
    pub(crate) fn update_state(
        &mut self,
        room: &RoomId,
        conn: ConnId,
        f: impl FnOnce(&mut PeerState),
    ) {
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        let Some(m) = r.members.iter_mut().find(|m| m.conn == conn) else {
            return;
        };
        let before = m.info.state.clone();
        f(&mut m.info.state);
        if m.info.state == before {
            return;
        }
        let msg = ServerMsg::Presence {
            peer_id: m.info.id.clone(),
            state: m.info.state.clone(),
        };
        let all: Vec<ConnId> = r.members.iter().map(|m| m.conn).collect();
        for to in all {
            self.send(to, msg.clone());
        }
    }

    fn set_status(&mut self, room: &RoomId, conn: ConnId, status: Status, call: Option<CallId>) {
        self.update_state(room, conn, |s| {
            s.status = status;
            s.call = call;
        });
    }

    /// `invite`: rings `to` into the sender's call, starting one if it is in none.
    pub(crate) fn handle_invite(
        &mut self,
        conn: ConnId,
        to: PeerId,
        ref_: Option<RequestId>,
        now: Instant,
    ) {
        let Some(room) = self.require_room(conn, &ref_) else {
            return;
        };
        let target =
            self.by_peer.get(&to).copied().filter(|&t| {
                t != conn && self.session(t).and_then(|s| s.room.as_ref()) == Some(&room)
            });
        let Some(target) = target else {
            let shown: String = to.as_str().chars().take(64).collect();
            let message = format!("{shown} is not a peer in your room");
            return self.error(conn, ErrorCode::UnknownPeer, message, ref_);
        };
        let mine = self.state_of(&room, conn);
        let theirs = self.state_of(&room, target);
        let name = self.name_of(&room, target);
        let my_call = (mine.status == Status::InCall)
            .then_some(mine.call)
            .flatten();
        if let (Some(c), Some(tc)) = (my_call, theirs.call) {
            if c == tc && theirs.status == Status::InCall {
                let message = format!("{name} is already in your call");
                return self.error(conn, ErrorCode::AlreadyInCall, message, ref_);
            }
            if c == tc {
                let message = format!("{name} is already being invited to your call");
                return self.error(conn, ErrorCode::AlreadyInvited, message, ref_);
            }
        }
        match theirs.status {
            Status::InCall => {
                let message = format!("{name} is busy in another call");
                return self.error(conn, ErrorCode::Busy, message, ref_);
            }
            Status::Ringing => {
                let message = format!("{name} is busy: someone else is calling them");
                return self.error(conn, ErrorCode::Busy, message, ref_);
            }
            Status::Idle => {}
        }
        let max = self.config.max_call_size;
        let size = my_call
            .and_then(|c| self.rooms.get(&room)?.calls.get(&c))
            .map_or(1, |call| call.members.len() + call.invites.len());
        if size + 1 > max {
            let message = format!("the call is full: a call holds at most {max} people");
            return self.error(conn, ErrorCode::CallFull, message, ref_);
        }
        // Calling someone answers an invitation of our own that was still ringing: no.
        if mine.status == Status::Ringing {
            if let Some(c) = mine.call {
                self.end_invite(&room, c, conn, InviteEndReason::Declined, None);
            }
        }
        let started = my_call.is_none();
        let call_id = match my_call {
            Some(c) => c,
            None => {
                self.next_call_id += 1;
                let id = CallId(self.next_call_id);
                let Some(r) = self.rooms.get_mut(&room) else {
                    return;
                };
                r.calls.insert(
                    id,
                    Call {
                        members: vec![conn],
                        invites: Vec::new(),
                    },
                );
                id
            }
        };
        let deadline = now + self.config.ring_timeout;
        let Some(from) = self.peer_id_of(conn) else {
            return;
        };
        let ring = Timer::Ring {
            room: room.clone(),
            call: call_id,
            to: to.clone(),
        };
        self.timers.schedule(deadline, ring);
        if started {
            let event = Event::CallStarted {
                room: room.clone(),
                call: call_id,
            };
            self.out.push_back(Output::Event(event));
        }
        let Some(call) = self
            .rooms
            .get_mut(&room)
            .and_then(|r| r.calls.get_mut(&call_id))
        else {
            return;
        };
        call.invites.push(Invite {
            from: conn,
            to: target,
            from_id: from.clone(),
            to_id: to.clone(),
            deadline,
        });
        let members: Vec<ConnId> = call.members.clone();
        let members: Vec<PeerId> = members.iter().filter_map(|&c| self.peer_id_of(c)).collect();
        self.send(
            conn,
            ServerMsg::Inviting {
                ref_,
                call: call_id,
                to,
            },
        );
        self.send(
            target,
            ServerMsg::Invited {
                call: call_id,
                from,
                members,
            },
        );
        if started {
            self.set_status(&room, conn, Status::InCall, Some(call_id));
        }
        self.set_status(&room, target, Status::Ringing, Some(call_id));
    }

    /// `cancel`: withdraws the sender's pending invitation to `to`.
    pub(crate) fn handle_cancel(&mut self, conn: ConnId, to: PeerId, ref_: Option<RequestId>) {
        let Some(room) = self.require_room(conn, &ref_) else {
            return;
        };
        let target = self.by_peer.get(&to).copied();
        let found = target.and_then(|t| {
            let r = self.rooms.get(&room)?;
            r.calls.iter().find_map(|(&id, c)| {
                c.invites
                    .iter()
                    .any(|i| i.from == conn && i.to == t)
                    .then_some((id, t))
            })
        });
        let Some((call, target)) = found else {
            let shown: String = to.as_str().chars().take(64).collect();
            let message = format!("you have no pending invitation to {shown}");
            return self.error(conn, ErrorCode::NoInvitation, message, ref_);
        };
        self.end_invite(&room, call, target, InviteEndReason::Cancelled, None);
    }

    /// The pending invitation of `conn` to `call`, if any (its inviter).
    fn invitation_to(&self, room: &RoomId, conn: ConnId, call: CallId) -> Option<ConnId> {
        let c = self.rooms.get(room)?.calls.get(&call)?;
        c.invites.iter().find(|i| i.to == conn).map(|i| i.from)
    }

    fn no_invitation(&mut self, conn: ConnId, call: CallId, ref_: Option<RequestId>) {
        let message = format!("you have no pending invitation to {call}");
        self.error(conn, ErrorCode::NoInvitation, message, ref_);
    }

    /// `accept`: joins the call the sender is being rung into.
    pub(crate) fn handle_accept(&mut self, conn: ConnId, call: CallId, ref_: Option<RequestId>) {
        let Some(room) = self.require_room(conn, &ref_) else {
            return;
        };
        if self.invitation_to(&room, conn, call).is_none() {
            return self.no_invitation(conn, call, ref_);
        }
        self.end_invite(&room, call, conn, InviteEndReason::Accepted, None);
        self.enter_call(&room, conn, call, ref_);
    }

    /// `decline`: refuses the sender's pending invitation.
    pub(crate) fn handle_decline(&mut self, conn: ConnId, call: CallId, ref_: Option<RequestId>) {
        let Some(room) = self.require_room(conn, &ref_) else {
            return;
        };
        if self.invitation_to(&room, conn, call).is_none() {
            return self.no_invitation(conn, call, ref_);
        }
        self.end_invite(&room, call, conn, InviteEndReason::Declined, None);
    }

    /// `joinCall`: enters a running call of the room without an invitation.
    pub(crate) fn handle_join_call(&mut self, conn: ConnId, call: CallId, ref_: Option<RequestId>) {
        let Some(room) = self.require_room(conn, &ref_) else {
            return;
        };
        let Some(c) = self.rooms.get(&room).and_then(|r| r.calls.get(&call)) else {
            let message = format!("there is no {call} in your room");
            return self.error(conn, ErrorCode::UnknownCall, message, ref_);
        };
        let size = c.members.len() + c.invites.len();
        let mine = self.state_of(&room, conn);
        if mine.status == Status::InCall {
            return if mine.call == Some(call) {
                let message = "you are already in this call";
                self.error(conn, ErrorCode::AlreadyInCall, message, ref_)
            } else {
                let message = "you are in another call; leave it first";
                self.error(conn, ErrorCode::InAnotherCall, message, ref_)
            };
        }
        if mine.status == Status::Ringing && mine.call == Some(call) {
            // Joining the call we are being rung into is accepting the invitation.
            return self.handle_accept(conn, call, ref_);
        }
        let max = self.config.max_call_size;
        if size >= max {
            let message = format!("the call is full: a call holds at most {max} people");
            return self.error(conn, ErrorCode::CallFull, message, ref_);
        }
        if mine.status == Status::Ringing {
            if let Some(other) = mine.call {
                self.end_invite(&room, other, conn, InviteEndReason::Declined, None);
            }
        }
        self.enter_call(&room, conn, call, ref_);
    }

    /// Adds `conn` to `call` (room and size already checked), answers `callJoined` and
    /// broadcasts its presence.
    fn enter_call(&mut self, room: &RoomId, conn: ConnId, call: CallId, ref_: Option<RequestId>) {
        let Some(c) = self
            .rooms
            .get_mut(room)
            .and_then(|r| r.calls.get_mut(&call))
        else {
            return;
        };
        let others: Vec<ConnId> = c.members.clone();
        c.members.push(conn);
        let members: Vec<PeerId> = others.iter().filter_map(|&m| self.peer_id_of(m)).collect();
        self.send(
            conn,
            ServerMsg::CallJoined {
                ref_,
                call,
                members,
            },
        );
        self.set_status(room, conn, Status::InCall, Some(call));
    }

    /// `leaveCall`: hangs up; the others in the call stay connected.
    pub(crate) fn handle_leave_call(&mut self, conn: ConnId, ref_: Option<RequestId>) {
        let Some(room) = self.require_room(conn, &ref_) else {
            return;
        };
        let mine = self.state_of(&room, conn);
        let (Status::InCall, Some(call)) = (mine.status, mine.call) else {
            let message = "you are not in a call";
            return self.error(conn, ErrorCode::NotInCall, message, ref_);
        };
        self.set_status(&room, conn, Status::Idle, None);
        self.drop_member(&room, call, conn);
    }

    /// `media`: records the sender's mute flags and tells the room if they changed.
    pub(crate) fn handle_media(
        &mut self,
        conn: ConnId,
        audio_muted: bool,
        video_muted: bool,
        ref_: Option<RequestId>,
    ) {
        let Some(room) = self.require_room(conn, &ref_) else {
            return;
        };
        self.update_state(&room, conn, |s| {
            s.audio_muted = audio_muted;
            s.video_muted = video_muted;
        });
    }

    /// Takes `conn` out of `call`'s members (its own presence is the caller's business),
    /// cancels the invitations it sent, and ends the call if nobody is left to talk to.
    fn drop_member(&mut self, room: &RoomId, call: CallId, conn: ConnId) {
        let Some(c) = self
            .rooms
            .get_mut(room)
            .and_then(|r| r.calls.get_mut(&call))
        else {
            return;
        };
        c.members.retain(|&m| m != conn);
        let sent: Vec<ConnId> = c
            .invites
            .iter()
            .filter(|i| i.from == conn)
            .map(|i| i.to)
            .collect();
        for to in sent {
            self.end_invite(room, call, to, InviteEndReason::Cancelled, Some(conn));
        }
        self.end_call_if_over(room, call);
    }

    /// Ends the invitation of `to` into `call`: `to` becomes idle and both sides hear
    /// `inviteEnded` (except `skip`, a side that is leaving). Then the call may end.
    pub(crate) fn end_invite(
        &mut self,
        room: &RoomId,
        call: CallId,
        to: ConnId,
        reason: InviteEndReason,
        skip: Option<ConnId>,
    ) {
        let Some(c) = self
            .rooms
            .get_mut(room)
            .and_then(|r| r.calls.get_mut(&call))
        else {
            return;
        };
        let Some(pos) = c.invites.iter().position(|i| i.to == to) else {
            return;
        };
        let inv = c.invites.remove(pos);
        if reason != InviteEndReason::Accepted {
            let state = self.state_of(room, to);
            if state.status == Status::Ringing && state.call == Some(call) {
                self.set_status(room, to, Status::Idle, None);
            }
        }
        let msg = ServerMsg::InviteEnded {
            call,
            from: inv.from_id,
            to: inv.to_id,
            reason,
        };
        for side in [inv.from, inv.to] {
            if Some(side) != skip {
                self.send(side, msg.clone());
            }
        }
        if reason != InviteEndReason::Accepted {
            self.end_call_if_over(room, call);
        }
    }

    /// A call with at most one member and no pending invitation ends; its last member
    /// becomes idle.
    fn end_call_if_over(&mut self, room: &RoomId, call: CallId) {
        let Some(r) = self.rooms.get_mut(room) else {
            return;
        };
        let Some(c) = r.calls.get(&call) else {
            return;
        };
        if c.members.len() > 1 || !c.invites.is_empty() {
            return;
        }
        let last = c.members.first().copied();
        r.calls.remove(&call);
        if let Some(last) = last {
            self.set_status(room, last, Status::Idle, None);
        }
    }

    /// `conn` has just been taken out of `room` (leave or disconnect), with the presence
    /// it had: its invitation ends (`left`), or it leaves its call.
    pub(crate) fn drop_from_calls(&mut self, room: &RoomId, conn: ConnId, state: &PeerState) {
        match (state.status, state.call) {
            (Status::Ringing, Some(call)) => {
                self.end_invite(room, call, conn, InviteEndReason::Left, Some(conn))
            }
            (Status::InCall, Some(call)) => self.drop_member(room, call, conn),
            _ => {}
        }
    }

    /// The calls running in `room`, by id; empty if the room does not exist.
    pub fn calls_in(&self, room: &RoomId) -> Vec<CallSnapshot> {
        let Some(r) = self.rooms.get(room) else {
            return Vec::new();
        };
        let ids = |conns: &mut dyn Iterator<Item = ConnId>| -> Vec<PeerId> {
            conns.filter_map(|c| self.peer_id_of(c)).collect()
        };
        r.calls
            .iter()
            .map(|(&id, c)| CallSnapshot {
                id,
                members: ids(&mut c.members.iter().copied()),
                invited: ids(&mut c.invites.iter().map(|i| i.to)),
            })
            .collect()
    }
}
