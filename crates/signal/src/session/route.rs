//! Frames to room commands, room events to outputs: the node's side of the room seam.
//!
//! The node answers what only it knows (`hello_required`, `not_joined`, `already_joined`,
//! the chat and relay rate limits, the room limit, parked joins) and sends everything else to the
//! sender's room as a [`RoomCommand`] naming the peer. Each command's [`RoomEvent`]s are
//! applied at once, in order: deliveries become [`Output::Send`] to the connection that
//! holds each addressee, `Entered`/`Exited` keep the sessions' room index and the member
//! count, and a room left empty is dropped. A room's deadline goes into the hub's heap.

use super::hub::{Hub, RoomSlot};
use super::limits::relay_bytes;
use super::park::Ready;
use super::timers::Timer;
use crate::room::{
    CallOp, HostOp, Identity, Relayed, RoomCommand, RoomConfig, RoomCore, RoomEvent, SfuSignal,
    StageOp,
};
use crate::{ConnId, Event, Grant, NodeId, Output};
use confab_proto::{
    ClientFrame, ClientMsg, ErrorCode, LeaveReason, PeerId, RequestId, RoomId, ServerMsg,
};
use std::time::Instant;

impl Hub {
    /// One decoded frame from `conn`, with what a join token granted (`grant`).
    pub(crate) fn handle_frame(
        &mut self,
        conn: ConnId,
        frame: ClientFrame,
        grant: Option<Grant>,
        now: Instant,
    ) {
        let Some(state) = self.conns.get_mut(&conn) else {
            return;
        };
        if state.detached_until.is_some() {
            return; // the driver said it is gone; only a resume brings it back
        }
        if state.parked.is_some() {
            return self.park_frame(conn, frame, grant); // waits behind its parked join
        }
        let ClientFrame { id, msg } = frame;
        let relay = |to, msg| (to, msg);
        let (to, relayed) = match msg {
            ClientMsg::Hello { version, resume } => {
                return self.handle_hello(conn, version, resume, id)
            }
            ClientMsg::Ping => return self.send(conn, ServerMsg::Pong { ref_: id }),
            ClientMsg::Join { room, name, .. } => {
                return self.handle_join(conn, room, name, grant, id, now)
            }
            ClientMsg::Leave => return self.handle_leave(conn, id),
            ClientMsg::Chat { text, key } => return self.handle_chat(conn, text, key, id, now),
            ClientMsg::Offer { to, sdp } => relay(to, Relayed::Offer { sdp }),
            ClientMsg::Answer { to, sdp } => relay(to, Relayed::Answer { sdp }),
            ClientMsg::Candidate { to, candidate } => relay(to, Relayed::Candidate { candidate }),
            ClientMsg::Hangup { to } => relay(to, Relayed::Hangup),
            ClientMsg::Invite { to } => return self.call(conn, CallOp::Invite { to }, id),
            ClientMsg::Cancel { to } => return self.call(conn, CallOp::Cancel { to }, id),
            ClientMsg::Accept { call } => return self.call(conn, CallOp::Accept { call }, id),
            ClientMsg::Decline { call } => return self.call(conn, CallOp::Decline { call }, id),
            ClientMsg::JoinCall { call } => return self.call(conn, CallOp::JoinCall { call }, id),
            ClientMsg::LeaveCall => return self.call(conn, CallOp::LeaveCall, id),
            ClientMsg::Media {
                audio_muted,
                video_muted,
                screen,
            } => {
                let op = CallOp::Media {
                    audio_muted,
                    video_muted,
                    screen,
                };
                return self.call(conn, op, id);
            }
            ClientMsg::Kick { peer } => return self.host(conn, HostOp::Kick { peer }, id),
            ClientMsg::Mute { peer } => return self.host(conn, HostOp::Mute { peer }, id),
            ClientMsg::Lock { locked } => return self.host(conn, HostOp::Lock { locked }, id),
            ClientMsg::WaitingRoom { on } => {
                return self.host(conn, HostOp::WaitingRoom { on }, id)
            }
            ClientMsg::Admit { peer, allow } => {
                return self.host(conn, HostOp::Admit { peer, allow }, id)
            }
            ClientMsg::Broadcast { on } => return self.stage(conn, StageOp::Broadcast { on }, id),
            ClientMsg::Hand { up } => return self.stage(conn, StageOp::Hand { up }, id),
            ClientMsg::LocalRecording { on } => {
                return self.stage(conn, StageOp::LocalRecording { on }, id)
            }
            ClientMsg::React { reaction } => return self.handle_react(conn, reaction, id, now),
            ClientMsg::Rename { name } => return self.handle_rename(conn, name, id, now),
            ClientMsg::Record { on } => return self.stage(conn, StageOp::Record { on }, id),
            ClientMsg::Recordings => return self.stage(conn, StageOp::ListRecordings, id),
            ClientMsg::Stage { peer, on } => {
                return self.stage(conn, StageOp::Stage { peer, on }, id)
            }
            ClientMsg::SfuOffer { sdp } => return self.sfu(conn, SfuSignal::Offer { sdp }, id),
            ClientMsg::SfuAnswer { sdp } => return self.sfu(conn, SfuSignal::Answer { sdp }, id),
            ClientMsg::SfuView { tracks } => return self.sfu(conn, SfuSignal::View { tracks }, id),
            ClientMsg::CallStats { pair, setup_ms, .. } => {
                // Counted only from room members: media flows only between them.
                if self.require_room(conn, &id, "join one first").is_some() {
                    let event = Event::CallConnected { pair, setup_ms };
                    self.out.push_back(Output::Event(event));
                }
                return;
            }
        };
        let before = "join one before signaling a peer";
        let Some((from, room)) = self.require_room(conn, &id, before) else {
            return;
        };
        if !self.relay_allowed(conn, &to, relay_bytes(&relayed), &id, now) {
            return;
        }
        let ref_ = id;
        let cmd = RoomCommand::Relay {
            from,
            to,
            msg: relayed,
            ref_,
        };
        self.command(&room, cmd);
    }

    /// The peer id and room of a joined `conn`; else `hello_required` or `not_joined`
    /// ("not in a room; {hint}") is sent and `None` returned.
    pub(crate) fn require_room(
        &mut self,
        conn: ConnId,
        ref_: &Option<RequestId>,
        hint: &str,
    ) -> Option<(PeerId, RoomId)> {
        let (peer, room) = self.require_hello(conn, ref_)?;
        if room.is_none() {
            let message = format!("not in a room; {hint}");
            self.error(conn, ErrorCode::NotJoined, message, ref_.clone());
        }
        Some((peer, room?))
    }

    fn call(&mut self, conn: ConnId, op: CallOp, ref_: Option<RequestId>) {
        if let Some((from, room)) = self.require_room(conn, &ref_, "join one first") {
            self.command(&room, RoomCommand::Call { from, op, ref_ });
        }
    }

    fn host(&mut self, conn: ConnId, op: HostOp, ref_: Option<RequestId>) {
        if let Some((from, room)) = self.require_room(conn, &ref_, "join one first") {
            self.command(&room, RoomCommand::Host { from, op, ref_ });
        }
    }

    fn stage(&mut self, conn: ConnId, op: StageOp, ref_: Option<RequestId>) {
        if let Some((from, room)) = self.require_room(conn, &ref_, "join one first") {
            self.command(&room, RoomCommand::Stage { from, op, ref_ });
        }
    }

    /// `join`: checks what the node owns (hello, not in a room yet, the room limit,
    /// parking for the store), creates the room if needed, and hands the join to it with
    /// the joiner's identity (a token's subject, else its session) and its claim.
    pub(crate) fn handle_join(
        &mut self,
        conn: ConnId,
        room: RoomId,
        name: String,
        grant: Option<Grant>,
        ref_: Option<RequestId>,
        now: Instant,
    ) {
        let Some((peer, current)) = self.require_hello(conn, &ref_) else {
            return;
        };
        if let Some(current) = current {
            let message = format!("already in room {current}; leave it first");
            return self.error(conn, ErrorCode::AlreadyJoined, message, ref_);
        }
        if !self.rooms.contains_key(&room) && !self.remote_rooms.contains_key(&room) {
            if self.pending.contains_key(&room) {
                return self.park_join(conn, room, name, grant, ref_, now);
            }
            if self.rooms.len() + self.pending.len() >= self.config.max_rooms {
                let message = format!(
                    "the server is at its limit of {} rooms; try again later",
                    self.config.max_rooms
                );
                return self.error(conn, ErrorCode::ServerFull, message, ref_);
            }
            let ready = self.ready.take_if(|r| r.room == room);
            if (self.config.persist_chat || self.config.cluster) && ready.is_none() {
                return self.park_join(conn, room, name, grant, ref_, now);
            }
            self.create_room(room.clone(), ready, now);
        }
        let (identity, claim) = self.identify(conn, grant.as_ref());
        let stream = grant
            .as_ref()
            .is_some_and(|g| g.kind != crate::ParticipantKind::Browser);
        if self.config.cluster {
            let record = super::moved::SessionRecord {
                peer: peer.clone(),
                room: room.clone(),
                name: name.clone(),
                role: grant.as_ref().map(|g| g.role),
                identity: identity.clone(),
            };
            if let Some(s) = self.conns.get_mut(&conn).and_then(|c| c.session.as_mut()) {
                s.joined_as = Some(record.clone());
            }
            self.save_record(conn, Some(record));
        }
        let cmd = RoomCommand::Join {
            peer,
            name,
            stream,
            grant: grant.map(|g| g.role),
            ref_,
            identity,
            claim,
        };
        self.command(&room, cmd);
    }

    /// Who `conn` is to a room it joins, and who it claims to have been before a
    /// restart (see `resume.rs`); the session remembers the identity, so a resume can
    /// renew it.
    fn identify(
        &mut self,
        conn: ConnId,
        grant: Option<&Grant>,
    ) -> (Option<Identity>, Option<Identity>) {
        let state = self.conns.get_mut(&conn);
        let Some(state) = state else {
            return (None, None);
        };
        let identity = match (grant, &state.resume_token) {
            (Some(g), _) => Some(Identity::Token(g.subject.clone())),
            (None, Some(token)) => Some(super::resume::session_identity(token)),
            (None, None) => None,
        };
        let Some(session) = state.session.as_mut() else {
            return (None, None);
        };
        session.identity.clone_from(&identity);
        session.kind = grant.map(|g| g.kind).unwrap_or_default();
        session.follow = grant.and_then(|g| g.follow.clone());
        (identity, session.claim.clone())
    }

    /// A new, empty room (with the store's chat and moderation when `ready` has some).
    pub(crate) fn create_room(&mut self, room: RoomId, ready: Option<Ready>, now: Instant) {
        let config = RoomConfig {
            max_peers: self.config.max_peers_per_room,
            max_call_size: self.config.max_call_size,
            media: self.config.media,
            ring_timeout: self.config.ring_timeout,
            chat_history: self.config.chat_history,
            chat_history_bytes: self.config.chat_history_bytes,
            hold: self.config.resume_grace,
        };
        let seed = ready.and_then(|r| r.seed);
        let core = RoomCore::new(room.clone(), config, seed, now);
        let remote = Default::default();
        self.rooms.insert(
            room,
            RoomSlot {
                core,
                wake: None,
                remote,
            },
        );
    }

    fn sfu(&mut self, conn: ConnId, signal: SfuSignal, ref_: Option<RequestId>) {
        if let Some((from, room)) = self.require_room(conn, &ref_, "join one first") {
            self.command(&room, RoomCommand::Sfu { from, signal, ref_ });
        }
    }

    /// `leave`: exits the current room; it answers `left` and tells the rest `peerLeft`.
    pub(crate) fn handle_leave(&mut self, conn: ConnId, ref_: Option<RequestId>) {
        let waiting = self
            .session(conn)
            .and_then(|s| s.waiting.clone().map(|r| (s.peer_id.clone(), r)));
        if let Some((peer, room)) = waiting {
            // Giving up waiting to be let in.
            let reason = LeaveReason::Left;
            return self.command(&room, RoomCommand::Leave { peer, reason, ref_ });
        }
        let Some((peer, room)) = self.require_room(conn, &ref_, "join one first") else {
            return;
        };
        let reason = LeaveReason::Left;
        self.command(&room, RoomCommand::Leave { peer, reason, ref_ });
    }

    /// `chat`: rate-limits it (per connection, address and room: see `limits.rs`) and
    /// hands the message to its room.
    pub(crate) fn handle_chat(
        &mut self,
        conn: ConnId,
        text: String,
        key: Option<String>,
        ref_: Option<RequestId>,
        now: Instant,
    ) {
        let hint = "join one before chatting";
        let Some((from, room)) = self.require_room(conn, &ref_, hint) else {
            return;
        };
        if !self.chat_allowed(conn, &room, &ref_, now) {
            return;
        }
        let cmd = RoomCommand::Chat {
            from,
            text,
            key,
            ref_,
        };
        self.command(&room, cmd);
    }

    /// `react`: goes to the whole room like a chat message, so it takes a token from the
    /// same buckets (connection, address, room) and is refused the same way.
    fn handle_react(
        &mut self,
        conn: ConnId,
        reaction: confab_proto::Reaction,
        ref_: Option<RequestId>,
        now: Instant,
    ) {
        let Some((from, room)) = self.require_room(conn, &ref_, "join one before reacting") else {
            return;
        };
        if self.chat_allowed(conn, &room, &ref_, now) {
            let op = StageOp::React { reaction };
            self.command(&room, RoomCommand::Stage { from, op, ref_ });
        }
    }

    /// `rename`: like a chat message, it goes to the whole room, so the chat limits
    /// bound how often.
    fn handle_rename(&mut self, conn: ConnId, name: String, ref_: Option<RequestId>, now: Instant) {
        let Some((from, room)) = self.require_room(conn, &ref_, "join one before renaming") else {
            return;
        };
        if self.chat_allowed(conn, &room, &ref_, now) {
            // In a cluster a room made again elsewhere re-joins this session under its
            // recorded name: keep that name current (a token holder's stays: the room
            // refuses its rename).
            let session = self.conns.get_mut(&conn).and_then(|c| c.session.as_mut());
            let record = session.and_then(|s| s.joined_as.as_mut().filter(|r| r.role.is_none()));
            if let Some(r) = record {
                r.name.clone_from(&name);
                let r = r.clone();
                self.save_record(conn, Some(r));
            }
            self.command(&room, RoomCommand::Rename { from, name, ref_ });
        }
    }

    /// Hands `cmd` to `room` (if it exists), applies its events in order, drops the room
    /// if that emptied it, and keeps its deadline in the heap.
    pub(crate) fn command(&mut self, room: &RoomId, cmd: RoomCommand) {
        self.command_as(room, cmd, None);
    }

    /// [`Hub::command`] on behalf of a member held by node `from` (`None`: this one). A
    /// room owned here takes a member's commands only from the node that holds it now
    /// (a `join` or resume moves it), so a node its session left cannot act for it.
    pub(crate) fn command_as(&mut self, room: &RoomId, cmd: RoomCommand, from: Option<&NodeId>) {
        let now = self.now;
        let Some(slot) = self.rooms.get_mut(room) else {
            return self.command_elsewhere(room, cmd);
        };
        if self.draining || !slot.holds(&cmd, from) {
            return;
        }
        slot.core.handle(now, cmd);
        let mut events = Vec::new();
        while let Some(e) = slot.core.poll_event() {
            events.push(e);
        }
        let routed = if slot.remote.is_empty() {
            Vec::new()
        } else {
            let routed = slot.route_remote(&events);
            for e in &events {
                if let RoomEvent::Exited { peer } = e {
                    slot.remote.remove(peer);
                }
            }
            routed
        };
        let wake = slot.core.poll_timeout();
        let ended = slot.core.is_empty();
        if ended {
            self.rooms.remove(room);
        } else if wake.is_some() && wake != slot.wake {
            slot.wake = wake;
            if let Some(at) = wake {
                self.timers.schedule(at, Timer::Room { room: room.clone() });
            }
        }
        for (to, events) in routed {
            let room = room.clone();
            let out = crate::ClusterOut::Events { to, room, events };
            self.out.push_back(Output::Cluster(out));
        }
        for event in events {
            self.apply(room, event);
        }
        if ended {
            self.media_room_ended(room);
            if self.config.cluster {
                let room = room.clone();
                let out = crate::ClusterOut::Released { room };
                self.out.push_back(Output::Cluster(out));
            }
        }
    }

    /// One event of `room`, on this node.
    pub(crate) fn apply(&mut self, room: &RoomId, event: RoomEvent) {
        match event {
            RoomEvent::Deliver { to, msg } => {
                for peer in to {
                    if let Some(&conn) = self.by_peer.get(&peer) {
                        self.send(conn, msg.clone());
                    }
                }
            }
            RoomEvent::Waiting { peer } => {
                let Some(&conn) = self.by_peer.get(&peer) else {
                    return;
                };
                if let Some(s) = self.conns.get_mut(&conn).and_then(|c| c.session.as_mut()) {
                    s.waiting = Some(room.clone());
                }
            }
            RoomEvent::Entered { peer } => {
                let Some(&conn) = self.by_peer.get(&peer) else {
                    return;
                };
                let session = self.conns.get_mut(&conn).and_then(|c| c.session.as_mut());
                if let Some(s) = session {
                    s.waiting = None;
                    s.room = Some(room.clone());
                    self.peer_total += 1;
                    // Before the room's `joined` (applied next): credentials come first.
                    self.member_entered(conn);
                }
            }
            RoomEvent::Exited { peer } => self.exited(room, &peer),
            RoomEvent::ChatStored { message } => {
                let room = room.clone();
                self.out.push_back(Output::ChatStored { room, message });
            }
            RoomEvent::Sfu {
                peer,
                name,
                call,
                signal,
                ref_,
                publish,
            } => self.sfu_signal(room, (peer, name), call, signal, ref_, publish),
            RoomEvent::SfuPublish { peer, publish } => self.sfu_publish(&peer, publish),
            RoomEvent::Record { on } => self.media_record(room, on),
            RoomEvent::ListRecordings { peer, ref_ } => {
                if let Some(&conn) = self.by_peer.get(&peer) {
                    let room = room.clone();
                    let out = Output::ListRecordings { conn, room, ref_ };
                    self.out.push_back(out);
                }
            }
            RoomEvent::SfuLeave { peer } => self.sfu_leave(&peer),
            RoomEvent::ModerationStored { moderation } => {
                let room = room.clone();
                let out = Output::ModerationStored { room, moderation };
                self.out.push_back(out);
            }
            RoomEvent::CallStarted { call } => {
                self.calls_started += 1;
                let room = room.clone();
                self.out
                    .push_back(Output::Event(Event::CallStarted { room, call }));
            }
        }
    }

    /// `peer` is out of `room`: its session is in no room now, and its TURN user is
    /// revoked. A place held for a resume (the peer was kicked while away) has nothing
    /// left to resume: it goes for good.
    pub(crate) fn exited(&mut self, room: &RoomId, peer: &PeerId) {
        let Some(&conn) = self.by_peer.get(peer) else {
            return;
        };
        let Some(state) = self.conns.get_mut(&conn) else {
            return;
        };
        let Some(session) = state.session.as_mut() else {
            return;
        };
        if session.waiting.as_ref() == Some(room) {
            session.waiting = None; // not let in, or gave up: it was never a member
            return;
        }
        if session.room.as_ref() != Some(room) {
            return;
        }
        session.room = None;
        self.peer_total -= 1;
        let recorded = session.joined_as.take().is_some();
        if let Some(grant) = session.turn.take() {
            let (user, until_unix) = (grant.user, grant.until);
            self.out
                .push_back(Output::RevokeTurnUser { user, until_unix });
        }
        let detached = state.detached_until.is_some();
        if recorded {
            self.save_record(conn, None);
        }
        if detached {
            self.remove_conn(conn, LeaveReason::Disconnected);
        }
    }
}
