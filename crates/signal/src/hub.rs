//! The [`Hub`]: connection lifecycle, `hello`/`ping`, dispatch, and the output queue.
//!
//! Room membership lives in `room.rs`, chat in `chat.rs`, calls and invitations in
//! `calls.rs`, the SDP/ICE relay in `relay.rs`, parked joins in `park.rs` and deadlines
//! in `timers.rs`; all are further `impl Hub` blocks over the state declared here.

use crate::ids::Rng;
use crate::park::{Parked, PendingRoom, Ready};
use crate::rate::TokenBucket;
use crate::room::Room;
use crate::timers::Timers;
use crate::{ConnId, Event, HubConfig, Input, Now, Output};
use confab_proto::{
    close, ChatMessage, ClientFrame, ClientMsg, ErrorCode, PeerId, PeerInfo, RequestId, Role,
    RoomId, ServerMsg, PROTOCOL_VERSION,
};
use std::collections::{HashMap, VecDeque};
use std::time::Instant;

/// WebSocket close code 1013, "try again later", for connections over the limit.
const TRY_AGAIN_LATER: u16 = 1013;

/// All signaling state of one server: connections, rooms and pending outputs.
///
/// Sans-IO: feed it [`Input`]s with [`Hub::handle`] and drain [`Output`]s with
/// [`Hub::poll_output`] after each one. It never blocks, never reads the clock, and
/// never panics on any sequence of inputs, whatever the clients send.
#[derive(Debug)]
pub struct Hub {
    pub(crate) config: HubConfig,
    /// Peer ids and resume tokens (see `ids.rs`).
    pub(crate) rng: Rng,
    /// Every open connection; the single owner of per-connection state.
    pub(crate) conns: HashMap<ConnId, Conn>,
    /// Every non-empty room; a room exists exactly while it has members.
    pub(crate) rooms: HashMap<RoomId, Room>,
    /// Rooms whose stored chat is loading, with the joins parked for them (`park.rs`).
    pub(crate) pending: HashMap<RoomId, PendingRoom>,
    /// The chat of the room being created while parked joins are released.
    pub(crate) ready: Option<Ready>,
    /// Index from peer id to connection, for every helloed connection.
    pub(crate) by_peer: HashMap<PeerId, ConnId>,
    /// Members of all rooms together (kept by `room.rs`; checked by the invariants).
    pub(crate) peer_total: usize,
    /// Connections held for a resume (kept by `resume.rs`; checked by the invariants).
    pub(crate) detached_total: usize,
    /// The wall clock of the input being handled, in Unix milliseconds; the `ts` of chat
    /// messages and the clock of TURN credentials.
    pub(crate) wall_clock_ms: u64,
    /// The id of the last call started (0: none yet); call ids are never reused.
    pub(crate) next_call_id: u64,
    /// Ring, grace and history deadlines (see `timers.rs`).
    pub(crate) timers: Timers,
    pub(crate) out: VecDeque<Output>,
    /// Index from resume token to connection (see `resume.rs`).
    pub(crate) by_token: HashMap<String, ConnId>,
}

/// One open connection.
#[derive(Debug)]
pub(crate) struct Conn {
    /// The host the browser reached us by (for the TURN URLs in its `welcome`).
    pub(crate) host: Option<String>,
    /// `None` until a successful `hello`.
    pub(crate) session: Option<Session>,
    /// Chat rate limit; per connection, so leaving and rejoining does not reset it.
    pub(crate) chat_bucket: TokenBucket,
    /// The token that resumes this identity (set at `hello`, replaced on resume).
    pub(crate) resume_token: Option<String>,
    /// Set while the socket is gone and the place is held: when the grace ends.
    pub(crate) detached_until: Option<Instant>,
    /// Its `join` waits for the room's stored chat (see `park.rs`).
    pub(crate) parked: Option<Parked>,
}

/// What a connection has after `hello`.
#[derive(Debug)]
pub(crate) struct Session {
    /// Assigned in `welcome`; unique among open connections.
    pub(crate) peer_id: PeerId,
    /// The room it is in, if any; its display name is kept in the room's member list.
    pub(crate) room: Option<RoomId>,
}

impl Hub {
    /// An empty hub. `seed` fully determines the peer ids and resume tokens it hands
    /// out: a server passes 32 bytes from the OS random source (tokens are secrets);
    /// tests pass a constant and can replay a run.
    pub fn new(config: HubConfig, seed: [u8; 32]) -> Hub {
        Hub {
            config,
            rng: Rng::new(seed),
            conns: HashMap::new(),
            rooms: HashMap::new(),
            pending: HashMap::new(),
            ready: None,
            by_peer: HashMap::new(),
            peer_total: 0,
            detached_total: 0,
            wall_clock_ms: 0,
            next_call_id: 0,
            timers: Timers::default(),
            by_token: HashMap::new(),
            out: VecDeque::new(),
        }
    }

    /// Handles one input at time `now`. Drain [`Hub::poll_output`] after every call.
    pub fn handle(&mut self, now: Now, input: Input) {
        self.wall_clock_ms = now.unix_ms;
        let now = now.mono;
        match input {
            Input::Connect { conn, host } => self.handle_connect(conn, host, now),
            Input::Frame { conn, frame, grant } => self.handle_frame(conn, frame, grant, now),
            Input::Disconnect { conn } => self.handle_disconnect(conn, now),
            Input::Timeout => self.handle_timeout(now),
            Input::History { room, seed } => self.history_arrived(room, seed, now),
        }
        self.drop_stale_timers();
    }

    fn handle_connect(&mut self, conn: ConnId, host: Option<String>, now: Instant) {
        if self.conns.contains_key(&conn) {
            return;
        }
        if self.conns.len() >= self.config.max_connections {
            let message = format!(
                "the server is at its limit of {} connections; try again later",
                self.config.max_connections
            );
            self.error(conn, ErrorCode::ServerFull, message, None);
            self.out.push_back(Output::Close {
                conn,
                code: TRY_AGAIN_LATER,
                reason: "server full".into(),
            });
            return;
        }
        let state = Conn {
            host,
            session: None,
            chat_bucket: TokenBucket::full(self.config.chat_burst, now),
            resume_token: None,
            detached_until: None,
            parked: None,
        };
        self.conns.insert(conn, state);
    }

    /// One decoded frame from `conn`, with the role a join token granted (`grant`).
    pub(crate) fn handle_frame(
        &mut self,
        conn: ConnId,
        frame: ClientFrame,
        role: Option<Role>,
        now: Instant,
    ) {
        let Some(state) = self.conns.get_mut(&conn) else {
            return;
        };
        if state.detached_until.is_some() {
            return; // the driver said it is gone; only a resume brings it back
        }
        if state.parked.is_some() {
            return self.park_frame(conn, frame, role); // waits behind its parked join
        }
        let ClientFrame { id, msg } = frame;
        match msg {
            ClientMsg::Hello { version, resume } => self.handle_hello(conn, version, resume, id),
            ClientMsg::Ping => self.send(conn, ServerMsg::Pong { ref_: id }),
            ClientMsg::Join { room, name, .. } => self.handle_join(conn, room, name, role, id, now),
            ClientMsg::Leave => self.handle_leave(conn, id),
            ClientMsg::Offer { to, sdp } => {
                self.handle_relay(conn, to, id, |from| ServerMsg::Offer { from, sdp })
            }
            ClientMsg::Answer { to, sdp } => {
                self.handle_relay(conn, to, id, |from| ServerMsg::Answer { from, sdp })
            }
            ClientMsg::Candidate { to, candidate } => self.handle_relay(conn, to, id, |from| {
                ServerMsg::Candidate { from, candidate }
            }),
            ClientMsg::Hangup { to } => {
                self.handle_relay(conn, to, id, |from| ServerMsg::Hangup { from })
            }
            ClientMsg::Chat { text } => self.handle_chat(conn, text, id, now),
            ClientMsg::Invite { to } => self.handle_invite(conn, to, id, now),
            ClientMsg::Cancel { to } => self.handle_cancel(conn, to, id),
            ClientMsg::Accept { call } => self.handle_accept(conn, call, id),
            ClientMsg::Decline { call } => self.handle_decline(conn, call, id),
            ClientMsg::JoinCall { call } => self.handle_join_call(conn, call, id),
            ClientMsg::LeaveCall => self.handle_leave_call(conn, id),
            ClientMsg::Media {
                audio_muted,
                video_muted,
            } => self.handle_media(conn, audio_muted, video_muted, id),
            ClientMsg::Kick { peer } => self.handle_kick(conn, peer, id),
            ClientMsg::Mute { peer } => self.handle_mute(conn, peer, id),
            ClientMsg::Lock { locked } => self.handle_lock(conn, locked, id),
            ClientMsg::CallStats { pair, setup_ms, .. } => {
                // Counted only from room members: media flows only between them.
                if self.require_room(conn, &id).is_some() {
                    let event = Event::CallConnected { pair, setup_ms };
                    self.out.push_back(Output::Event(event));
                }
            }
        }
    }

    /// Calls started since the hub was created (a monotonic count, for metrics).
    pub fn calls_started(&self) -> u64 {
        self.next_call_id
    }

    /// `conn` closed. If it is in a room and [`HubConfig::resume_grace`] is not zero,
    /// its place is held for that long (see `resume.rs`): the room sees it
    /// `reconnecting`, and only when the grace ends does it hear `peerLeft` with reason
    /// `disconnected`. Otherwise it leaves at once.
    fn handle_disconnect(&mut self, conn: ConnId, now: Instant) {
        if self.detach(conn, now) {
            return;
        }
        self.remove_conn(conn);
    }

    /// Forgets `conn` for good: its token, its peer id, its room membership (the room
    /// hears `peerLeft` with reason `disconnected`) and its call.
    pub(crate) fn remove_conn(&mut self, conn: ConnId) {
        self.revoke_token(conn);
        let Some(state) = self.conns.remove(&conn) else {
            return;
        };
        if state.detached_until.is_some() {
            self.detached_total -= 1;
        }
        if let Some(parked) = &state.parked {
            self.unpark(conn, parked);
        }
        if let Some(session) = state.session {
            self.by_peer.remove(&session.peer_id);
            if let Some(room) = session.room {
                self.remove_member(&room, conn, confab_proto::LeaveReason::Disconnected);
            }
        }
    }

    /// The next output, oldest first; `None` when there is nothing to do.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Open connections, helloed or not (refused ones and detached ones held for a
    /// resume are not counted).
    pub fn connection_count(&self) -> usize {
        self.conns.len() - self.detached_total
    }

    /// Rooms with at least one member.
    pub fn room_count(&self) -> usize {
        self.rooms.len()
    }

    /// Connections that are in a room.
    pub fn peer_count(&self) -> usize {
        self.peer_total
    }

    /// The members of `room` in join order; empty if the room does not exist.
    pub fn peers_in(&self, room: &RoomId) -> Vec<PeerInfo> {
        self.rooms
            .get(room)
            .map(|r| r.members.iter().map(|m| m.info.clone()).collect())
            .unwrap_or_default()
    }

    /// The chat history `room` keeps (what a joiner would get), oldest first; empty if
    /// the room does not exist.
    pub fn chat_history(&self, room: &RoomId) -> Vec<ChatMessage> {
        self.rooms
            .get(room)
            .map(|r| r.history.iter().cloned().collect())
            .unwrap_or_default()
    }

    fn handle_hello(
        &mut self,
        conn: ConnId,
        version: u32,
        resume: Option<String>,
        ref_: Option<RequestId>,
    ) {
        if self.session(conn).is_some() {
            let message = "hello was already received on this connection";
            return self.error(conn, ErrorCode::AlreadyHello, message, ref_);
        }
        if version != PROTOCOL_VERSION {
            let message = format!(
                "protocol version {version} is not supported; this server speaks version \
                 {PROTOCOL_VERSION}"
            );
            self.error(conn, ErrorCode::UnsupportedVersion, message, ref_);
            self.out.push_back(Output::Close {
                conn,
                code: close::UNSUPPORTED_VERSION,
                reason: "unsupported protocol version".into(),
            });
            // Not yet helloed, so in no room and not indexed: forgetting it is complete.
            self.conns.remove(&conn);
            return;
        }
        if let Some(old) = resume.and_then(|t| self.resumable(&t, conn)) {
            return self.resume(conn, old, ref_);
        }
        let peer_id = self.fresh_peer_id();
        let Some(state) = self.conns.get_mut(&conn) else {
            return;
        };
        state.session = Some(Session {
            peer_id: peer_id.clone(),
            room: None,
        });
        self.by_peer.insert(peer_id.clone(), conn);
        let resume_token = Some(self.issue_token(conn));
        self.welcome(conn, peer_id, resume_token, false);
    }

    /// Sends `welcome`, with ICE servers whose TURN credentials are minted now for
    /// `peer_id` and the host `conn` reached us by.
    pub(crate) fn welcome(
        &mut self,
        conn: ConnId,
        peer_id: PeerId,
        resume_token: Option<String>,
        resumed: bool,
    ) {
        let host = self.conns.get(&conn).and_then(|c| c.host.as_deref());
        let unix_secs = self.wall_clock_ms / 1000;
        let ice_servers = self
            .config
            .ice
            .servers_for(peer_id.as_str(), host, unix_secs);
        let welcome = ServerMsg::Welcome {
            version: PROTOCOL_VERSION,
            peer_id,
            ice_servers,
            resume_token,
            resumed,
        };
        self.send(conn, welcome);
    }

    /// A peer id no open connection has. Collisions need 60 random bits to repeat, so
    /// the loop practically never runs twice.
    fn fresh_peer_id(&mut self) -> PeerId {
        loop {
            let id = self.rng.peer_id();
            if !self.by_peer.contains_key(&id) {
                return id;
            }
        }
    }

    /// The session of a helloed connection.
    pub(crate) fn session(&self, conn: ConnId) -> Option<&Session> {
        self.conns.get(&conn).and_then(|c| c.session.as_ref())
    }

    /// The peer id and room of a helloed `conn`, or `hello_required` sent back and
    /// `None`. Returns copies so the caller can go on to borrow the hub mutably.
    pub(crate) fn require_hello(
        &mut self,
        conn: ConnId,
        ref_: &Option<RequestId>,
    ) -> Option<(PeerId, Option<RoomId>)> {
        match self.session(conn) {
            Some(s) => Some((s.peer_id.clone(), s.room.clone())),
            None => {
                let message = "send hello before any other message";
                self.error(conn, ErrorCode::HelloRequired, message, ref_.clone());
                None
            }
        }
    }

    pub(crate) fn push_close(&mut self, conn: ConnId, code: u16, reason: &str) {
        self.out.push_back(Output::Close {
            conn,
            code,
            reason: reason.into(),
        });
    }

    pub(crate) fn send(&mut self, to: ConnId, msg: ServerMsg) {
        self.out.push_back(Output::Send { to, msg });
    }

    /// Queues an `error` reply. Callers return right after: errors change no state.
    pub(crate) fn error(
        &mut self,
        to: ConnId,
        code: ErrorCode,
        message: impl Into<String>,
        ref_: Option<RequestId>,
    ) {
        let message = message.into();
        self.send(
            to,
            ServerMsg::Error {
                code,
                message,
                ref_,
            },
        );
    }

    /// Panics if the state's internal invariants are broken; for tests.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        let members: usize = self.rooms.values().map(|r| r.members.len()).sum();
        assert_eq!(members, self.peer_total, "peer_count matches the rooms");
        let mut seen_members = std::collections::HashSet::new();
        for (room_id, room) in &self.rooms {
            assert!(!room.members.is_empty(), "room {room_id} is empty");
            assert!(room.history.len() <= self.config.chat_history);
            let ids: Vec<u64> = room.history.iter().map(|m| m.id).collect();
            assert!(ids.windows(2).all(|w| w[0] < w[1]), "history ids increase");
            assert!(ids.last().is_none_or(|&id| id <= room.last_chat_id));
            assert!(room.members.len() <= self.config.max_peers_per_room);
            // Someone hosts, unless everyone's role came from a (guest) token.
            assert!(
                room.members.iter().all(|m| m.fixed_role)
                    || room.members.iter().any(|m| m.info.role == Role::Host),
                "room {room_id} has no host"
            );
            for m in &room.members {
                assert!(seen_members.insert(m.conn), "{} in two rooms", m.conn);
                let s = self.session(m.conn).expect("members are helloed");
                assert_eq!(s.room.as_ref(), Some(room_id));
                assert_eq!(s.peer_id, m.info.id);
            }
        }
        self.check_call_invariants();
        self.check_park_invariants();
        assert!(self.rooms.len() + self.pending.len() <= self.config.max_rooms);
        assert!(self.conns.len() <= self.config.max_connections);
        let mut helloed = 0;
        for (conn, c) in &self.conns {
            if let Some(s) = &c.session {
                helloed += 1;
                assert_eq!(self.by_peer.get(&s.peer_id), Some(conn));
                if s.room.is_some() {
                    assert!(seen_members.contains(conn), "{conn} missing from its room");
                }
            }
        }
        assert_eq!(helloed, self.by_peer.len());
        for (token, conn) in &self.by_token {
            let c = self
                .conns
                .get(conn)
                .expect("tokens belong to known connections");
            assert_eq!(c.resume_token.as_ref(), Some(token));
        }
        for (conn, c) in &self.conns {
            if c.detached_until.is_some() {
                let s = c.session.as_ref().expect("only helloed connections detach");
                assert!(s.room.is_some(), "{conn} detached outside a room");
            }
        }
    }

    /// The rules of `park.rs` and the counters: a loading room does not exist yet, its
    /// waiters are parked for it (helloed, in no room), and every parked connection waits
    /// for exactly one loading room.
    #[cfg(test)]
    fn check_park_invariants(&self) {
        assert!(self.ready.is_none(), "a seed outlived its release");
        let detached = self
            .conns
            .values()
            .filter(|c| c.detached_until.is_some())
            .count();
        assert_eq!(detached, self.detached_total, "detached counter");
        let mut waiting = std::collections::HashSet::new();
        for (room, p) in &self.pending {
            assert!(!self.rooms.contains_key(room), "{room} exists and loads");
            for c in &p.waiting {
                assert!(waiting.insert(*c), "{c} waits twice");
                let conn = self.conns.get(c).expect("waiters are connected");
                assert_eq!(conn.parked.as_ref().map(|p| &p.room), Some(room));
                let s = conn.session.as_ref().expect("waiters are helloed");
                assert!(s.room.is_none(), "{c} waits while in a room");
            }
        }
        for (c, conn) in &self.conns {
            assert_eq!(
                conn.parked.is_some(),
                waiting.contains(c),
                "{c} parked but not waiting"
            );
        }
    }

    /// The call rules of `calls.rs`: one call per peer, members in the room, invitations
    /// from members to ringing peers, the size limit, no call left with nobody to talk to.
    #[cfg(test)]
    fn check_call_invariants(&self) {
        use confab_proto::Status;
        for (room_id, room) in &self.rooms {
            let mut placed = std::collections::HashSet::new();
            for (id, call) in &room.calls {
                assert!(id.0 <= self.next_call_id && id.0 > 0);
                assert!(
                    call.members.len() >= 2 || !call.invites.is_empty(),
                    "{id} in {room_id} has nobody to talk to"
                );
                assert!(
                    !call.members.is_empty(),
                    "{id} has invitations but no members"
                );
                assert!(call.members.len() + call.invites.len() <= self.config.max_call_size);
                for &m in &call.members {
                    assert!(placed.insert(m), "{m} in two calls (or twice)");
                    let st = &room
                        .members
                        .iter()
                        .find(|x| x.conn == m)
                        .expect("member in room")
                        .info
                        .state;
                    assert_eq!((st.status, st.call), (Status::InCall, Some(*id)));
                }
                for inv in &call.invites {
                    assert!(call.members.contains(&inv.from), "inviter is a member");
                    assert!(
                        placed.insert(inv.to),
                        "{} rung twice or rung while in a call",
                        inv.to
                    );
                    let st = &room
                        .members
                        .iter()
                        .find(|x| x.conn == inv.to)
                        .expect("invitee in room")
                        .info
                        .state;
                    assert_eq!((st.status, st.call), (Status::Ringing, Some(*id)));
                }
            }
            for m in &room.members {
                if m.info.state.status == Status::Idle {
                    assert_eq!(m.info.state.call, None);
                } else {
                    assert!(placed.contains(&m.conn), "{} busy in no call", m.conn);
                }
            }
        }
    }
}
