//! The [`Hub`], the session layer of a node: connection lifecycle, `hello`/`ping`, and
//! the output queue.
//!
//! The node holds what belongs to a connection (its session, rate limit, resume token,
//! parked join) and the map of rooms. It talks to each room only through room commands
//! and events (`crate::room`): `route.rs` turns frames into commands and events into
//! outputs. Resumes are in `resume.rs`, parked joins in `park.rs` and deadlines in
//! `timers.rs`; all are further `impl Hub` blocks over the state declared here.

use super::cluster::RemoteRoom;
use super::credentials::TurnGrant;
use super::ids::Rng;
use super::media::MediaLinks;
use super::park::{Parked, PendingRoom, Ready};
use super::rate::{BucketMap, TokenBucket};
use super::timers::Timers;
use crate::room::{CallSnapshot, Identity, RoomCommand, RoomCore};
use crate::{ConnId, HubConfig, Input, Now, Output};
use confab_proto::{
    close, ChatMessage, ErrorCode, LeaveReason, PeerId, PeerInfo, RequestId, RoomId, ServerMsg,
    PROTOCOL_VERSION,
};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
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
    /// Every room that has not ended: it has members, or seats held for members after a
    /// restart (`room/saved.rs`).
    pub(crate) rooms: HashMap<RoomId, RoomSlot>,
    /// Rooms other nodes own that members held here are in (`cluster.rs`).
    pub(crate) remote_rooms: HashMap<RoomId, RemoteRoom>,
    /// This node is stopping (`ClusterIn::Draining`): rooms owned here take no commands.
    pub(crate) draining: bool,
    /// Connections whose `hello {resume}` waits for the shared store (`moved.rs`): the
    /// token and the hello's request id.
    pub(crate) finding: HashMap<ConnId, (String, Option<RequestId>)>,
    /// Members of rooms owned here whose node died: their room and until when their
    /// place is held (`cluster.rs`).
    pub(crate) remote_held: HashMap<PeerId, (RoomId, Instant)>,
    /// Rooms whose stored chat is loading, with the joins parked for them (`park.rs`).
    pub(crate) pending: HashMap<RoomId, PendingRoom>,
    /// The chat of the room being created while parked joins are released.
    pub(crate) ready: Option<Ready>,
    /// Index from peer id to connection, for every helloed connection.
    pub(crate) by_peer: HashMap<PeerId, ConnId>,
    /// Members of all rooms together (kept by `route.rs`; checked by the invariants).
    pub(crate) peer_total: usize,
    /// Connections held for a resume (kept by `resume.rs`; checked by the invariants).
    pub(crate) detached_total: usize,
    /// The same, by client address (`resume.rs`; no zero entries).
    pub(crate) detached_by_ip: HashMap<IpAddr, usize>,
    /// The time of the input being handled (rooms get it with every command; TURN
    /// credentials are minted on its wall clock).
    pub(crate) now: Now,
    /// Calls started so far, counted from the rooms' `CallStarted` events.
    pub(crate) calls_started: u64,
    /// Ring, grace and history deadlines (see `timers.rs`).
    pub(crate) timers: Timers,
    pub(crate) out: VecDeque<Output>,
    /// Index from resume token to connection (see `resume.rs`).
    pub(crate) by_token: HashMap<String, ConnId>,
    /// Chat rate limits per client address and per room (see `limits.rs`).
    pub(crate) chat_by_ip: BucketMap<IpAddr>,
    pub(crate) chat_by_room: BucketMap<RoomId>,
    /// The SFU endpoints of members of SFU calls (see `media.rs`).
    pub(crate) media: MediaLinks,
}

/// A room and the deadline the hub's timer heap holds for it.
#[derive(Debug)]
pub(crate) struct RoomSlot {
    pub(crate) core: RoomCore,
    /// The room's [`RoomCore::poll_timeout`] when it was last scheduled.
    pub(crate) wake: Option<Instant>,
    /// Its members whose connections are on other nodes, and where (`cluster.rs`).
    pub(crate) remote: HashMap<PeerId, crate::NodeId>,
}

/// One open connection.
#[derive(Debug)]
pub(crate) struct Conn {
    /// The host the browser reached us by (for the TURN URLs in its `welcome`).
    pub(crate) host: Option<String>,
    /// The client's address as the resume caps count it (`resume.rs`: an IPv6 /64).
    pub(crate) ip: Option<IpAddr>,
    /// `None` until a successful `hello`.
    pub(crate) session: Option<Session>,
    /// Chat rate limit; per connection, so leaving and rejoining does not reset it.
    pub(crate) chat_bucket: TokenBucket,
    /// Relay budgets in bytes, as sender and as addressee (see `limits.rs`).
    pub(crate) relay_out: TokenBucket,
    pub(crate) relay_in: TokenBucket,
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
    /// Its membership's TURN credentials (`credentials.rs`): set exactly while it is in a
    /// room and confab's TURN is advertised.
    pub(crate) turn: Option<TurnGrant>,
    /// Its identity in its room (a token's subject, else its session: see
    /// `room/saved.rs`), set when it joins.
    pub(crate) identity: Option<Identity>,
    /// The session identity it had before a restart: the `hello` carried a resume token
    /// this node does not know (it may have been issued before a restart). Proves
    /// nothing by itself; a room holding a seat for that identity gives it back.
    pub(crate) claim: Option<Identity>,
    /// What kind of participant it is (its join's grant says; a browser by default).
    pub(crate) kind: crate::ParticipantKind,
    /// A WHEP player's: whom it plays (its join's grant says, [`crate::Grant::follow`]).
    pub(crate) follow: Option<String>,
    /// In a cluster, how it joined its room (kept in the shared store for a resume on
    /// another node, `moved.rs`).
    pub(crate) joined_as: Option<super::moved::SessionRecord>,
    /// The room whose waiting room holds its join (`room/waiting.rs`), until it is let
    /// in (then `room`) or not.
    pub(crate) waiting: Option<RoomId>,
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
            remote_rooms: HashMap::new(),
            remote_held: HashMap::new(),
            finding: HashMap::new(),
            draining: false,
            pending: HashMap::new(),
            ready: None,
            by_peer: HashMap::new(),
            peer_total: 0,
            detached_total: 0,
            detached_by_ip: HashMap::new(),
            now: Now {
                mono: Instant::now(),
                unix_ms: 0,
            },
            calls_started: 0,
            timers: Timers::default(),
            by_token: HashMap::new(),
            out: VecDeque::new(),
            chat_by_ip: BucketMap::default(),
            chat_by_room: BucketMap::default(),
            media: MediaLinks::default(),
        }
    }

    /// Handles one input at time `now`. Drain [`Hub::poll_output`] after every call.
    pub fn handle(&mut self, now: Now, input: Input) {
        self.now = now;
        let now = now.mono;
        match input {
            Input::Connect { conn, host, ip } => self.handle_connect(conn, host, ip, now),
            Input::Frame { conn, frame, grant } => self.handle_frame(conn, frame, grant, now),
            Input::Disconnect { conn, clean } => self.handle_disconnect(conn, clean, now),
            Input::Timeout => self.handle_timeout(now),
            Input::History { room, seed } => self.history_arrived(room, seed, now),
            Input::Media(event) => self.handle_media(event),
            Input::Cluster(input) => self.handle_cluster(input),
        }
        self.drop_stale_timers();
    }

    fn handle_connect(
        &mut self,
        conn: ConnId,
        host: Option<String>,
        ip: Option<IpAddr>,
        now: Instant,
    ) {
        if self.conns.contains_key(&conn) {
            return;
        }
        // Live connections only: ghosts held for a resume have their own caps.
        if self.connection_count() >= self.config.max_connections {
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
            ip: ip.map(super::resume::address_key),
            session: None,
            chat_bucket: TokenBucket::full(self.config.chat_burst, now),
            relay_out: TokenBucket::full(self.config.relay_burst, now),
            relay_in: TokenBucket::full(self.config.relay_burst, now),
            resume_token: None,
            detached_until: None,
            parked: None,
        };
        self.conns.insert(conn, state);
    }

    /// Calls started since the hub was created (a monotonic count, for metrics).
    pub fn calls_started(&self) -> u64 {
        self.calls_started
    }

    /// `conn` closed. A clean close leaves at once, as a `leave` would (the room hears
    /// `peerLeft` with reason `left`): holding the place of someone who said goodbye
    /// would show a "reconnecting" ghost, drop offers sent to it, and meet its own rejoin.
    /// Else, if it is in a room and [`HubConfig::resume_grace`] is not zero, its place is
    /// held for that long (see `resume.rs`): the room sees it `reconnecting`, and only
    /// when the grace ends does it hear `peerLeft` with reason `disconnected`. Otherwise
    /// it leaves at once.
    fn handle_disconnect(&mut self, conn: ConnId, clean: bool, now: Instant) {
        if self
            .conns
            .get(&conn)
            .is_some_and(|c| c.detached_until.is_some())
        {
            return; // reported already; only a resume or the grace's end changes it
        }
        if clean {
            return self.remove_conn(conn, LeaveReason::Left);
        }
        if self.detach(conn, now) {
            return;
        }
        self.remove_conn(conn, LeaveReason::Disconnected);
    }

    /// Forgets `conn` for good: its token, its peer id, its room membership (the room
    /// hears `peerLeft` with `reason`) and its call.
    pub(crate) fn remove_conn(&mut self, conn: ConnId, reason: LeaveReason) {
        self.finding.remove(&conn);
        if self.session(conn).is_some_and(|s| s.joined_as.is_some()) {
            self.save_record(conn, None); // gone for good: not resumable anywhere
        }
        self.revoke_token(conn);
        let Some(state) = self.conns.remove(&conn) else {
            return;
        };
        if state.detached_until.is_some() {
            self.count_detached(state.ip, false);
        }
        if let Some(parked) = &state.parked {
            self.unpark(conn, parked);
        }
        if let Some(mut session) = state.session {
            self.by_peer.remove(&session.peer_id);
            self.revoke_turn(&mut session);
            if session.room.is_some() {
                // The session is gone already, so the room's `Exited` finds nothing to
                // update: count the member out here.
                self.peer_total -= 1;
            }
            // A member leaves its room; a joiner waiting to be let in gives up (the room
            // tells its hosts). A session is never both.
            if let Some(room) = session.room.or(session.waiting) {
                let peer = session.peer_id;
                let cmd = RoomCommand::Leave {
                    peer: peer.clone(),
                    reason,
                    ref_: None,
                };
                self.command(&room, cmd);
                self.remote_member_gone(&room, &peer);
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

    /// Rooms that have not ended (members, or seats held for them after a restart).
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
            .map(|r| r.core.peers())
            .unwrap_or_default()
    }

    /// The chat history `room` keeps (what a joiner would get), oldest first; empty if
    /// the room does not exist.
    pub fn chat_history(&self, room: &RoomId) -> Vec<ChatMessage> {
        self.rooms
            .get(room)
            .map(|r| r.core.chat_history())
            .unwrap_or_default()
    }

    /// SFU endpoints the hub holds for members of SFU calls.
    pub fn media_endpoints(&self) -> usize {
        self.media.len()
    }

    /// The calls running in `room`, by id; empty if the room does not exist.
    pub fn calls_in(&self, room: &RoomId) -> Vec<CallSnapshot> {
        self.rooms
            .get(room)
            .map(|r| r.core.calls())
            .unwrap_or_default()
    }

    /// Whether `room` exists and a host has locked it. Before it verifies a password, a
    /// driver asks [`Hub::room_locked_to`] instead, which lets members back in.
    pub fn room_locked(&self, room: &RoomId) -> bool {
        self.rooms.get(room).is_some_and(|r| r.core.is_locked())
    }

    /// Whether `room` exists and its lock keeps out a `join` without a token from
    /// `conn`: a driver checks this before it verifies a password, so a locked room is
    /// no right/wrong oracle. A member taking its place back after a restart (its
    /// session claims a seat the room holds, `room/saved.rs`) is not kept out, so the
    /// driver goes on to check its password.
    pub fn room_locked_to(&self, room: &RoomId, conn: ConnId) -> bool {
        let Some(r) = self.rooms.get(room).filter(|r| r.core.is_locked()) else {
            return false;
        };
        let state = self.conns.get(&conn);
        let identity = state
            .and_then(|c| c.resume_token.as_deref())
            .map(super::resume::session_identity);
        let claim = state
            .and_then(|c| c.session.as_ref())
            .and_then(|s| s.claim.clone());
        !r.core.has_seat(identity.as_ref(), claim.as_ref())
    }

    /// Whether `room` exists, i.e. has members or held seats (a `join` to it would not
    /// create it).
    pub fn room_exists(&self, room: &RoomId) -> bool {
        self.rooms.contains_key(room)
    }

    pub(crate) fn handle_hello(
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
        if let Some(old) = resume.as_deref().and_then(|t| self.resumable(t, conn)) {
            return self.resume(conn, old, ref_);
        }
        let claim = resume.as_deref().map(super::resume::session_identity);
        match resume {
            // Perhaps a session of another node (`moved.rs`).
            Some(token) if self.config.cluster => {
                if !self.finding.contains_key(&conn) {
                    self.find_session(conn, token, ref_);
                }
            }
            _ => self.new_session(conn, claim),
        }
    }

    /// Gives `conn` a new session (a fresh peer id), remembering the identity it claims
    /// to have had before a restart.
    pub(crate) fn new_session(&mut self, conn: ConnId, claim: Option<Identity>) {
        let peer_id = self.fresh_peer_id();
        let Some(state) = self.conns.get_mut(&conn) else {
            return;
        };
        state.session = Some(Session {
            peer_id: peer_id.clone(),
            room: None,
            turn: None,
            identity: None,
            claim,
            kind: crate::ParticipantKind::Browser,
            follow: None,
            joined_as: None,
            waiting: None,
        });
        self.by_peer.insert(peer_id.clone(), conn);
        let resume_token = Some(self.issue_token(conn));
        self.welcome(conn, peer_id, resume_token, false);
    }

    /// Sends `welcome`, with the public ICE servers (no credentials: those go to room
    /// members, see `credentials.rs`) for the host `conn` reached us by.
    pub(crate) fn welcome(
        &mut self,
        conn: ConnId,
        peer_id: PeerId,
        resume_token: Option<String>,
        resumed: bool,
    ) {
        let host = self.conns.get(&conn).and_then(|c| c.host.as_deref());
        let ice_servers = self.config.ice.public_servers(host);
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
            // A join waiting to be admitted counts as being in that room.
            Some(s) => Some((
                s.peer_id.clone(),
                s.room.clone().or_else(|| s.waiting.clone()),
            )),
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
}
