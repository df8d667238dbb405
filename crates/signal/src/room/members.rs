//! Membership and presence: join, leave (for any reason), and a held place coming back.

use super::{Identity, Member, RoomCore, RoomEvent};
use confab_proto::{
    ErrorCode, LeaveReason, PeerId, PeerInfo, PeerState, RequestId, Role, ServerMsg,
};

impl RoomCore {
    /// `join`: answers `joined` with a snapshot of the others and the chat history, tells
    /// them `peerJoined`, and reports [`RoomEvent::Entered`]; or refuses (removed by a
    /// host, full, locked). In a full room, a member held for a resume gives up its place
    /// to the joiner. A joiner whose `identity` or `claim` matches a seat held after a
    /// restart takes it back (see `saved.rs`). The node checked that `peer` is in no room
    /// there; a `peer` in this room already moved to another node, and takes its place
    /// back as with a resume.
    pub(crate) fn join(
        &mut self,
        peer: PeerId,
        name: String,
        (grant, stream): (Option<Role>, bool),
        ref_: Option<RequestId>,
        identity: Option<Identity>,
        claim: Option<Identity>,
    ) {
        if self.members.contains_key(&peer) {
            // Its session moved to another node (a resume there, after its own node
            // died): it takes its place back, and that node learns it is in.
            self.emit(RoomEvent::Entered { peer: peer.clone() });
            return self.reattach(&peer, ref_, identity);
        }
        let (identity, claim) = (identity.as_ref(), claim.as_ref());
        // A host token is the application's word: no ban keeps it out, as no lock does.
        if grant != Some(Role::Host) && self.is_banned(&peer, identity, claim, grant.is_some()) {
            let room = &self.id;
            let message = format!("a host removed you from room {room}; you cannot join it again");
            return self.error(&peer, ErrorCode::RoomLocked, message, ref_);
        }
        let seated = self.has_seat(identity, claim);
        let full = self.members.len() >= self.config.max_peers;
        if full && self.lock_refusal(grant, seated).is_none() {
            // A live joiner takes the place of one held for a resume.
            self.evict_a_ghost();
        }
        if let Some((code, message)) = self.refusal(grant, seated) {
            return self.error(&peer, code, message, ref_);
        }
        if self.must_knock(grant, seated) {
            let knock = super::waiting::Knock {
                name,
                grant,
                stream,
                ref_,
                identity: identity.cloned(),
                claim: claim.cloned(),
            };
            return self.knock(peer, knock);
        }
        let seat = self.take_seat(identity, claim).map(|s| s.role);
        if grant.is_some() && !stream {
            self.demote_tokenless_hosts();
        }
        self.changed = true;
        let you = PeerInfo {
            id: peer.clone(),
            name,
            state: PeerState::default(),
            role: self.role_for_joiner(grant, seat),
        };
        let others: Vec<PeerId> = self.members.keys().cloned().collect();
        let joined = ServerMsg::Joined {
            ref_,
            room: self.id.clone(),
            you: you.clone(),
            peers: self.peers(),
            history: self.chat_history(),
            broadcast: self.broadcast,
            recording: self.recording.clone(),
        };
        self.members.insert(
            peer.clone(),
            Member {
                info: you.clone(),
                fixed_role: grant.is_some(),
                stream,
                identity: identity.cloned(),
                told_publish: None,
            },
        );
        self.emit(RoomEvent::Entered { peer: peer.clone() });
        self.send(&peer, joined);
        if let Some(by) = self.lock.as_ref().map(|l| l.by.clone()) {
            // Whoever gets into a locked room (a host token, a member taking its seat
            // back) should know the room is locked.
            self.send(&peer, ServerMsg::RoomLocked { locked: true, by });
        }
        if let Some(by) = self.waiting_room.clone() {
            self.send(&peer, ServerMsg::WaitingRoom { on: true, by });
        }
        if self
            .members
            .get(&peer)
            .is_some_and(|m| m.info.role == Role::Host)
        {
            self.tell_new_host(&peer);
        }
        if !others.is_empty() {
            let msg = ServerMsg::PeerJoined { peer: you };
            self.emit(RoomEvent::Deliver { to: others, msg });
        }
    }

    /// `peer` goes for `reason`: it hears `left` if it asked, the others `peerLeft`; a
    /// lost host is replaced, and its call or invitation ends.
    pub(crate) fn leave(&mut self, peer: &PeerId, reason: LeaveReason, ref_: Option<RequestId>) {
        if !self.members.contains_key(peer) {
            self.give_up_waiting(peer, reason, ref_);
            return;
        }
        if reason == LeaveReason::Left {
            let room = self.id.clone();
            self.send(peer, ServerMsg::Left { ref_, room });
        }
        self.remove(peer, reason);
    }

    /// Takes `peer` out and tells the rest `peerLeft` with `reason`. Then hands on the
    /// host role if it was the last host, and takes it out of its call.
    pub(crate) fn remove(&mut self, peer: &PeerId, reason: LeaveReason) {
        let Some(gone) = self.members.shift_remove(peer) else {
            return;
        };
        self.changed = true;
        self.emit(RoomEvent::Exited { peer: peer.clone() });
        if !self.members.is_empty() {
            self.broadcast(ServerMsg::PeerLeft {
                peer_id: peer.clone(),
                reason,
            });
        }
        // Also after a token holder left: the last one's leaving may free the role.
        self.promote_if_hostless();
        if self.members.is_empty() {
            // No one is left to answer the waiting room: they come in.
            self.admit_all();
        }
        // After `peerLeft`, so the others' clients drop the peer before its calls change.
        self.drop_from_calls(peer, &gone.info.state);
    }

    /// Ends the place held longest-present for a peer whose socket dropped (`reconnecting`),
    /// if any: it leaves with reason `disconnected`, as when its grace ends. Places held
    /// for a resume must not keep live people out of a full room.
    fn evict_a_ghost(&mut self) {
        let ghost = self
            .members
            .values()
            .find(|m| m.info.state.reconnecting)
            .map(|m| m.info.id.clone());
        if let Some(peer) = ghost {
            self.remove(&peer, LeaveReason::Disconnected);
        }
    }

    /// A held place is taken again: a `joined` snapshot of the room as it is now, and the
    /// room sees the peer back. `identity` replaces the member's when the node gives one
    /// (its session's resume token changed).
    pub(crate) fn reattach(
        &mut self,
        peer: &PeerId,
        ref_: Option<RequestId>,
        identity: Option<Identity>,
    ) {
        let Some(me) = self.members.get_mut(peer) else {
            return;
        };
        if identity.is_some() && me.identity != identity {
            me.identity = identity;
            self.changed = true;
        }
        let Some(me) = self.members.get(peer) else {
            return;
        };
        // The snapshot shows the resumer back already; the room hears it next.
        let mut you = me.info.clone();
        you.state.reconnecting = false;
        let peers = self
            .members
            .values()
            .filter(|m| &m.info.id != peer)
            .map(|m| m.info.clone())
            .collect();
        let joined = ServerMsg::Joined {
            ref_,
            room: self.id.clone(),
            you,
            peers,
            history: self.chat_history(),
            broadcast: self.broadcast,
            recording: self.recording.clone(),
        };
        self.send(peer, joined);
        self.update_state(peer, |s| s.reconnecting = false);
    }

    /// Changes `peer`'s presence and, if it changed, tells the whole room.
    pub(crate) fn update_state(&mut self, peer: &PeerId, f: impl FnOnce(&mut PeerState)) {
        let Some(m) = self.members.get_mut(peer) else {
            return;
        };
        let before = m.info.state.clone();
        f(&mut m.info.state);
        if m.info.state == before {
            return;
        }
        let msg = ServerMsg::Presence {
            peer_id: peer.clone(),
            state: m.info.state.clone(),
        };
        self.broadcast(msg);
    }

    /// The presence of `peer` (idle if it is not a member).
    pub(crate) fn state_of(&self, peer: &PeerId) -> PeerState {
        self.members
            .get(peer)
            .map(|m| m.info.state.clone())
            .unwrap_or_default()
    }

    /// The display name of `peer` (empty if it is not a member).
    pub(crate) fn name_of(&self, peer: &PeerId) -> String {
        self.members
            .get(peer)
            .map(|m| m.info.name.clone())
            .unwrap_or_default()
    }

    /// `rename`: a member's new display name (the decoder checked it), told to everyone
    /// (`renamed`; the requester's copy carries `ref_`). A join token's holder keeps the
    /// name it joined with (`name_fixed`): the application that signed it named it.
    /// Chat messages keep the name they were sent under.
    pub(crate) fn rename(&mut self, from: &PeerId, name: String, ref_: Option<RequestId>) {
        let Some(m) = self.members.get_mut(from) else {
            return;
        };
        if m.fixed_role {
            let message = "your join token names you; that name stays";
            return self.error(from, ErrorCode::NameFixed, message, ref_);
        }
        m.info.name = name.clone();
        let renamed = |ref_| ServerMsg::Renamed {
            ref_,
            peer_id: from.clone(),
            name: name.clone(),
        };
        self.answer_and_tell(from, renamed(ref_), renamed(None));
    }
}
