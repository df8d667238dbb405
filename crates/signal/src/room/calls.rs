//! Calls and invitations: `invite`, `cancel`, `accept`, `decline`, `joinCall`,
//! `leaveCall`, `media`, the ring timeout, and presence broadcasts.
//!
//! The room is authoritative about its calls. A room holds its calls; a call has members (in
//! join order) and pending invitations, each with a deadline. A peer's presence (idle,
//! ringing, in a call; mute flags) lives in its [`Member`]'s `info.state`, and every
//! change is broadcast to the room as `presence`. Rules (checked by the invariants):
//! - a peer is in at most one call, or rung into at most one, never both;
//! - every invitation's inviter is a member of its call and its invitee is ringing for
//!   that call; members plus invitations never exceed [`RoomConfig::max_call_size`];
//! - a call with at most one member and no pending invitation ends (the last member
//!   becomes idle), so a call never lingers with nobody to talk to;
//! - after [`RoomCommand::Tick`] at `now`, no invitation has a deadline at or before `now`.
//!
//! Call ids count up per room and are never reused while the room lives.
//!
//! [`Member`]: super::Member
//! [`RoomConfig::max_call_size`]: super::RoomConfig::max_call_size
//! [`RoomCommand::Tick`]: super::RoomCommand::Tick

use super::{CallOp, RoomCore, RoomEvent};
use confab_proto::{
    CallId, ErrorCode, InviteEndReason, MediaMode, PeerId, PeerState, RequestId, ServerMsg, Status,
};
use std::collections::BTreeMap;
use std::time::Instant;

/// One call in a room.
#[derive(Debug, Default)]
pub(crate) struct Call {
    /// Members in join order.
    pub(crate) members: Vec<PeerId>,
    /// Pending invitations, oldest first.
    pub(crate) invites: Vec<Invite>,
    /// How it carries media (see `media.rs`).
    pub(crate) media: MediaMode,
}

/// A pending invitation.
#[derive(Debug)]
pub(crate) struct Invite {
    pub(crate) from: PeerId,
    pub(crate) to: PeerId,
    /// When it times out (`now` of the `invite` plus the ring timeout).
    pub(crate) deadline: Instant,
}

/// A call as the public accessor [`crate::Hub::calls_in`] shows it.
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

impl RoomCore {
    /// A call request from `from`, a member (the node checked it is in this room).
    pub(crate) fn call_op(
        &mut self,
        from: &PeerId,
        op: CallOp,
        ref_: Option<RequestId>,
        now: Instant,
    ) {
        if !self.members.contains_key(from) {
            return;
        }
        match op {
            CallOp::Invite { to } => self.invite(from, to, ref_, now),
            CallOp::Cancel { to } => self.cancel(from, &to, ref_),
            CallOp::Accept { call } => self.accept(from, call, ref_),
            CallOp::Decline { call } => {
                if self.invitation_to(from, call).is_none() {
                    return self.no_invitation(from, call, ref_);
                }
                self.end_invite(call, from, InviteEndReason::Declined, None);
            }
            CallOp::JoinCall { call } => self.join_call(from, call, ref_),
            CallOp::LeaveCall => {
                let mine = self.state_of(from);
                let (Status::InCall, Some(call)) = (mine.status, mine.call) else {
                    let message = "you are not in a call";
                    return self.error(from, ErrorCode::NotInCall, message, ref_);
                };
                self.set_status(from, Status::Idle, None);
                self.drop_member(call, from);
            }
            CallOp::Media {
                audio_muted,
                video_muted,
                screen,
            } => self.update_state(from, |s| {
                s.audio_muted = audio_muted;
                s.video_muted = video_muted;
                s.screen = screen;
            }),
        }
    }

    /// Starts a call with `me` as its only member (its presence is the caller's business).
    fn new_call(&mut self, me: &PeerId) -> CallId {
        self.last_call_id += 1;
        let id = CallId(self.last_call_id);
        let media = self.initial_media();
        let call = Call {
            members: vec![me.clone()],
            invites: Vec::new(),
            media,
        };
        self.calls.insert(id, call);
        self.emit(RoomEvent::CallStarted { call: id });
        id
    }

    /// Puts idle `me` in a new call of its own (a broadcast's): `callJoined` with nobody
    /// else in it, and its presence.
    pub(crate) fn start_alone(&mut self, me: &PeerId) {
        let call = self.new_call(me);
        let media = self.call_media(call).unwrap_or_default();
        let members = Vec::new();
        let ref_ = None;
        let joined = ServerMsg::CallJoined {
            ref_,
            call,
            members,
            media,
        };
        self.send(me, joined);
        self.set_status(me, Status::InCall, Some(call));
    }

    fn set_status(&mut self, peer: &PeerId, status: Status, call: Option<CallId>) {
        self.update_state(peer, |s| {
            s.status = status;
            s.call = call;
        });
    }

    /// `invite`: rings `to` into the sender's call, starting one if it is in none.
    fn invite(&mut self, me: &PeerId, to: PeerId, ref_: Option<RequestId>, now: Instant) {
        if &to == me || !self.members.contains_key(&to) {
            return self.unknown_peer(me, &to, ref_);
        }
        let mine = self.state_of(me);
        let theirs = self.state_of(&to);
        let name = self.name_of(&to);
        let my_call = (mine.status == Status::InCall)
            .then_some(mine.call)
            .flatten();
        if let (Some(c), Some(tc)) = (my_call, theirs.call) {
            if c == tc && theirs.status == Status::InCall {
                let message = format!("{name} is already in your call");
                return self.error(me, ErrorCode::AlreadyInCall, message, ref_);
            }
            if c == tc {
                let message = format!("{name} is already being invited to your call");
                return self.error(me, ErrorCode::AlreadyInvited, message, ref_);
            }
        }
        match theirs.status {
            Status::InCall => {
                let message = format!("{name} is busy in another call");
                return self.error(me, ErrorCode::Busy, message, ref_);
            }
            Status::Ringing => {
                let message = format!("{name} is busy: someone else is calling them");
                return self.error(me, ErrorCode::Busy, message, ref_);
            }
            Status::Idle => {}
        }
        let max = self.call_cap();
        let size = my_call
            .and_then(|c| self.calls.get(&c))
            .map_or(1, |call| call.members.len() + call.invites.len());
        if size + 1 > max {
            let message = format!("the call is full: a call holds at most {max} people");
            return self.error(me, ErrorCode::CallFull, message, ref_);
        }
        // Calling someone answers an invitation of our own that was still ringing: no.
        if mine.status == Status::Ringing {
            if let Some(c) = mine.call {
                self.end_invite(c, me, InviteEndReason::Declined, None);
            }
        }
        let call_id = match my_call {
            Some(c) => c,
            None => self.new_call(me),
        };
        let deadline = now + self.config.ring_timeout;
        let Some(call) = self.calls.get_mut(&call_id) else {
            return;
        };
        call.invites.push(Invite {
            from: me.clone(),
            to: to.clone(),
            deadline,
        });
        let members = call.members.clone();
        let inviting = ServerMsg::Inviting {
            ref_,
            call: call_id,
            to: to.clone(),
        };
        self.send(me, inviting);
        let invited = ServerMsg::Invited {
            call: call_id,
            from: me.clone(),
            members,
        };
        self.send(&to, invited);
        if my_call.is_none() {
            self.set_status(me, Status::InCall, Some(call_id));
            // The caller of a call that starts on the SFU learns it here (the others
            // from their `callJoined`).
            if self.call_media(call_id) == Some(MediaMode::Sfu) {
                self.announce_sfu(call_id, vec![me.clone()]);
            }
        }
        self.set_status(&to, Status::Ringing, Some(call_id));
    }

    /// `cancel`: withdraws the sender's pending invitation to `to`.
    fn cancel(&mut self, me: &PeerId, to: &PeerId, ref_: Option<RequestId>) {
        let found = self.calls.iter().find_map(|(&id, c)| {
            c.invites
                .iter()
                .any(|i| &i.from == me && &i.to == to)
                .then_some(id)
        });
        let Some(call) = found else {
            let shown: String = to.as_str().chars().take(64).collect();
            let message = format!("you have no pending invitation to {shown}");
            return self.error(me, ErrorCode::NoInvitation, message, ref_);
        };
        self.end_invite(call, to, InviteEndReason::Cancelled, None);
    }

    /// The inviter of `peer`'s pending invitation to `call`, if any.
    fn invitation_to(&self, peer: &PeerId, call: CallId) -> Option<&PeerId> {
        let c = self.calls.get(&call)?;
        c.invites.iter().find(|i| &i.to == peer).map(|i| &i.from)
    }

    fn no_invitation(&mut self, peer: &PeerId, call: CallId, ref_: Option<RequestId>) {
        let message = format!("you have no pending invitation to {call}");
        self.error(peer, ErrorCode::NoInvitation, message, ref_);
    }

    /// `accept`: joins the call the sender is being rung into.
    fn accept(&mut self, me: &PeerId, call: CallId, ref_: Option<RequestId>) {
        if self.invitation_to(me, call).is_none() {
            return self.no_invitation(me, call, ref_);
        }
        self.end_invite(call, me, InviteEndReason::Accepted, None);
        self.enter_call(me, call, ref_);
    }

    /// `joinCall`: enters a running call of the room without an invitation.
    fn join_call(&mut self, me: &PeerId, call: CallId, ref_: Option<RequestId>) {
        let Some(c) = self.calls.get(&call) else {
            let message = format!("there is no {call} in your room");
            return self.error(me, ErrorCode::UnknownCall, message, ref_);
        };
        let size = c.members.len() + c.invites.len();
        let mine = self.state_of(me);
        if mine.status == Status::InCall {
            return if mine.call == Some(call) {
                let message = "you are already in this call";
                self.error(me, ErrorCode::AlreadyInCall, message, ref_)
            } else {
                let message = "you are in another call; leave it first";
                self.error(me, ErrorCode::InAnotherCall, message, ref_)
            };
        }
        if mine.status == Status::Ringing && mine.call == Some(call) {
            // Joining the call we are being rung into is accepting the invitation.
            return self.accept(me, call, ref_);
        }
        let max = self.call_cap();
        if size >= max {
            let message = format!("the call is full: a call holds at most {max} people");
            return self.error(me, ErrorCode::CallFull, message, ref_);
        }
        if mine.status == Status::Ringing {
            if let Some(other) = mine.call {
                self.end_invite(other, me, InviteEndReason::Declined, None);
            }
        }
        self.enter_call(me, call, ref_);
    }

    /// Adds `me` to `call` (size already checked), answers `callJoined` and broadcasts
    /// its presence.
    fn enter_call(&mut self, me: &PeerId, call: CallId, ref_: Option<RequestId>) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let members = c.members.clone();
        c.members.push(me.clone());
        self.grow_media(call, me);
        let media = self.call_media(call).unwrap_or_default();
        let joined = ServerMsg::CallJoined {
            ref_,
            call,
            members,
            media,
        };
        self.send(me, joined);
        self.set_status(me, Status::InCall, Some(call));
    }

    /// Takes `peer` out of `call`'s members (its own presence is the caller's business),
    /// cancels the invitations it sent, and ends the call if nobody is left to talk to.
    fn drop_member(&mut self, call: CallId, peer: &PeerId) {
        if !self.calls.contains_key(&call) {
            return;
        }
        self.left_media(call, peer);
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        c.members.retain(|m| m != peer);
        let sent: Vec<PeerId> = c
            .invites
            .iter()
            .filter(|i| &i.from == peer)
            .map(|i| i.to.clone())
            .collect();
        for to in sent {
            self.end_invite(call, &to, InviteEndReason::Cancelled, Some(peer));
        }
        self.end_call_if_over(call);
    }

    /// Ends the invitation of `to` into `call`: `to` becomes idle and both sides hear
    /// `inviteEnded` (except `skip`, a side that is leaving). Then the call may end.
    fn end_invite(
        &mut self,
        call: CallId,
        to: &PeerId,
        reason: InviteEndReason,
        skip: Option<&PeerId>,
    ) {
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let Some(pos) = c.invites.iter().position(|i| &i.to == to) else {
            return;
        };
        let inv = c.invites.remove(pos);
        if reason != InviteEndReason::Accepted {
            let state = self.state_of(to);
            if state.status == Status::Ringing && state.call == Some(call) {
                self.set_status(to, Status::Idle, None);
            }
        }
        let msg = ServerMsg::InviteEnded {
            call,
            from: inv.from.clone(),
            to: inv.to.clone(),
            reason,
        };
        for side in [&inv.from, &inv.to] {
            if Some(side) != skip && self.members.contains_key(side) {
                self.send(side, msg.clone());
            }
        }
        if reason != InviteEndReason::Accepted {
            self.end_call_if_over(call);
        }
    }

    /// A call with at most one member and no pending invitation ends (in a broadcast
    /// room: with none); its last member becomes idle.
    pub(crate) fn end_call_if_over(&mut self, call: CallId) {
        let Some(c) = self.calls.get(&call) else {
            return;
        };
        if c.members.len() > 1 || !c.invites.is_empty() || (self.broadcast && !c.members.is_empty())
        {
            return;
        }
        let last = c.members.first().cloned();
        if let Some(last) = &last {
            self.left_media(call, last);
        }
        self.calls.remove(&call);
        if let Some(last) = last {
            self.set_status(&last, Status::Idle, None);
        }
    }

    /// `peer` has just been taken out of the room, with the presence it had: its
    /// invitation ends (`left`), or it leaves its call.
    pub(crate) fn drop_from_calls(&mut self, peer: &PeerId, state: &PeerState) {
        match (state.status, state.call) {
            (Status::Ringing, Some(call)) => {
                self.end_invite(call, peer, InviteEndReason::Left, Some(peer))
            }
            (Status::InCall, Some(call)) => self.drop_member(call, peer),
            _ => {}
        }
    }

    /// Every invitation due at `now` ends with `timeout` (both sides told).
    pub(crate) fn ring_out_due(&mut self, now: Instant) {
        let due: Vec<(CallId, PeerId)> = self
            .calls
            .iter()
            .flat_map(|(&id, c)| {
                c.invites
                    .iter()
                    .filter(|i| i.deadline <= now)
                    .map(move |i| (id, i.to.clone()))
            })
            .collect();
        for (call, to) in due {
            self.end_invite(call, &to, InviteEndReason::Timeout, None);
        }
    }

    /// The calls running in the room, by id.
    pub fn calls(&self) -> Vec<CallSnapshot> {
        self.calls
            .iter()
            .map(|(&id, c)| CallSnapshot {
                id,
                members: c.members.clone(),
                invited: c.invites.iter().map(|i| i.to.clone()).collect(),
            })
            .collect()
    }

    /// The call rules above: one call per peer, members in the room, invitations from
    /// members to ringing peers, the size limit, no call left with nobody to talk to.
    #[cfg(test)]
    pub(crate) fn check_call_invariants(&self) {
        let mut placed = std::collections::HashSet::new();
        for (id, call) in &self.calls {
            assert!(id.0 <= self.last_call_id && id.0 > 0);
            assert!(
                call.members.len() >= 2 || !call.invites.is_empty() || self.broadcast,
                "{id} in {} has nobody to talk to",
                self.id
            );
            assert!(
                !call.members.is_empty(),
                "{id} has invitations but no members"
            );
            // A call that grew while broadcasting keeps its members when it stops.
            let cap = self.config.max_call_size.max(self.config.max_peers);
            assert!(call.members.len() + call.invites.len() <= cap);
            for m in &call.members {
                assert!(placed.insert(m.clone()), "{m} in two calls (or twice)");
                let st = &self.members.get(m).expect("member in room").info.state;
                assert_eq!((st.status, st.call), (Status::InCall, Some(*id)));
            }
            for inv in &call.invites {
                assert!(call.members.contains(&inv.from), "inviter is a member");
                assert!(
                    placed.insert(inv.to.clone()),
                    "{} rung twice or rung while in a call",
                    inv.to
                );
                let st = &self
                    .members
                    .get(&inv.to)
                    .expect("invitee in room")
                    .info
                    .state;
                assert_eq!((st.status, st.call), (Status::Ringing, Some(*id)));
            }
        }
        for (id, m) in &self.members {
            if m.info.state.status == Status::Idle {
                assert_eq!(m.info.state.call, None);
            } else {
                assert!(placed.contains(id), "{id} busy in no call");
            }
        }
    }
}
