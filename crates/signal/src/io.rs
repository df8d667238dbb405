//! The hub's one input type and one output type, and the time every input carries.

use crate::room::{Moderation, RoomCommand, RoomEvent};
use crate::{ChatSeed, ConnId, NodeId};
use confab_proto::{CallId, ChatMessage, ClientFrame, PairType, PeerId, Role, RoomId, ServerMsg};
use std::net::IpAddr;
use std::time::Instant;

/// The time of an input, read once by the driver. The hub never reads a clock.
///
/// `mono` drives every limit and deadline (rate limits, ring timeouts, resume grace),
/// so a wall-clock jump cannot disturb them; `unix_ms` only stamps what people see
/// (chat `ts`) and what outlives the process (TURN credential expiry).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    /// The monotonic instant.
    pub mono: Instant,
    /// The wall clock, in milliseconds since the Unix epoch.
    pub unix_ms: u64,
}

/// What kind of participant a connection is (participants are kinds: the room does
/// not care which). The driver knows; the SFU endpoint of its member follows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ParticipantKind {
    /// A person's browser on the WebSocket.
    #[default]
    Browser,
    /// A WHIP encoder: publishes, receives nothing, never renegotiates.
    WhipPublisher,
    /// A WHEP player: receives the broadcast on the m-lines of its own offer, sends
    /// nothing, never renegotiates.
    WhepPlayer,
    /// An IP camera the server pulls over RTSP: publishes like a WHIP encoder, but
    /// has no WebRTC connection (its `sfuOffer` names its tracks, not SDP; the SFU
    /// takes its frames from the server).
    Camera,
}

/// What a join token the driver verified says about its holder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The role it fixes.
    pub role: Role,
    /// Whom it names (its `sub` claim, else its name): the holder's identity in a room
    /// (what a kick bans; how it takes its seat back after a restart).
    pub subject: String,
    /// What kind of participant joins with it (a browser unless the driver says).
    pub kind: ParticipantKind,
    /// A WHEP player's: the name of the one participant it plays (its SFU endpoint
    /// takes only the tracks of members of that name); `None`: the stage.
    pub follow: Option<String>,
}

impl Grant {
    /// A grant of `role` to `subject`, for a browser.
    pub fn new(role: Role, subject: impl Into<String>) -> Grant {
        Grant {
            role,
            subject: subject.into(),
            kind: ParticipantKind::Browser,
            follow: None,
        }
    }

    /// The same grant, for a participant of `kind`.
    pub fn for_kind(self, kind: ParticipantKind) -> Grant {
        Grant { kind, ..self }
    }

    /// The same grant, for a player of the participant named `name` only.
    pub fn following(self, name: Option<String>) -> Grant {
        Grant {
            follow: name,
            ..self
        }
    }
}

/// Everything that can happen to the hub, fed with [`crate::Hub::handle`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Input {
    /// A new connection opened. Over [`crate::HubConfig::max_connections`] it is refused
    /// (an `error` `server_full`, then a close with 1013) and not counted. A `conn` the
    /// hub already knows is left as it is (a driver bug, not client input).
    Connect {
        /// The driver's id for it.
        conn: ConnId,
        /// The host (no port) the browser reached us by, from the request: the host of
        /// confab's own STUN/TURN URLs in its `welcome` and `iceServers` when no fixed one
        /// is configured.
        host: Option<String>,
        /// The client's address, from the socket: places held for a resume are capped
        /// per address (see [`crate::HubConfig::max_detached_per_ip`]). `None` when the
        /// driver does not know it (then only the total cap applies).
        ip: Option<IpAddr>,
    },
    /// One decoded frame from `conn`. Frames for a connection the hub does not know
    /// (never connected, refused, or already closed) are ignored.
    Frame {
        /// The sender.
        conn: ConnId,
        /// The frame, with any password or token already checked and removed.
        frame: ClientFrame,
        /// For a `join` the driver admitted with a join token: the role it grants and
        /// whom it names. `None` is a join without a token (the hub picks the role, see
        /// `moderation.rs`). Other frames ignore it.
        grant: Option<Grant>,
    },
    /// `conn` closed (or the driver dropped it). A clean close leaves the room at once
    /// (`peerLeft` with reason `left`): the client said goodbye. Otherwise, if it is in
    /// a room, [`crate::HubConfig::resume_grace`] is not zero and the caps on held places
    /// allow, its place is held for that long (see `resume.rs`). Idempotent: an unknown `conn` is a no-op.
    Disconnect {
        /// The connection that went away.
        conn: ConnId,
        /// The client closed the socket on purpose (the driver decides: a WebSocket close
        /// with 1000 or 1001). `false` for a dropped socket, a timeout, or the server
        /// dropping the client: those may come back and get the grace.
        clean: bool,
    },
    /// Time has passed; due deadlines fire (see [`crate::Hub::poll_timeout`]). Feeding it
    /// early or twice is harmless.
    Timeout,
    /// The stored chat (and moderation) of `room`, answering an [`Output::LoadHistory`];
    /// `None` when the store has nothing usable (failed, or too slow). Ignored unless joins for `room`
    /// are still parked (e.g. after [`crate::HubConfig::history_timeout`]).
    History {
        /// The room asked for.
        room: RoomId,
        /// What the store holds of it, in any order (the hub sorts and trims it).
        seed: Option<ChatSeed>,
    },
    /// The SFU answered or reported something about one of the endpoints the hub made
    /// with [`Output::Media`]. Events for endpoints the hub has dropped are ignored.
    Media(MediaEvent),
    /// Another node of the cluster (see [`crate::HubConfig::cluster`]).
    Cluster(ClusterIn),
}

/// What the other nodes of a cluster tell this one, passed on by the cluster driver
/// (which has already put each node's messages in order and detected gaps).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ClusterIn {
    /// A session on node `from` acts in `room`, which this node owns (or is claiming:
    /// then the command waits for the claim). A `join` for a room this node does not
    /// have starts a claim, as a local one would.
    Command {
        /// The node that holds the acting peer's connection.
        from: NodeId,
        /// The room.
        room: RoomId,
        /// What the peer does.
        cmd: RoomCommand,
    },
    /// The owner of `room` reports its events for the members this node holds, in the
    /// room's order (deliveries, entries, exits).
    Events {
        /// The room's owner.
        from: NodeId,
        /// The room.
        room: RoomId,
        /// What happened.
        events: Vec<RoomEvent>,
    },
    /// Answers an [`Output::LoadHistory`]: `owner` holds `room`'s lease, so the joins
    /// parked for it go there (and so do the members' later commands).
    Elsewhere {
        /// The room.
        room: RoomId,
        /// The node that owns it.
        owner: NodeId,
    },
    /// `node` is dead (silent for 5 s). Its members of rooms owned here are held as
    /// `reconnecting` for [`crate::HubConfig::resume_grace`] (they may resume on another
    /// node), then leave. Rooms it owned are gone: their members held here join them
    /// again, through a new claim (which waits for the dead node's lease to run out).
    NodeDown {
        /// The dead node.
        node: NodeId,
    },
    /// This node is stopping and has given its rooms up: it takes no more commands for
    /// them (their members come back through other nodes).
    Draining,
    /// The shared store's answer to [`ClusterOut::FindSession`] for `conn`'s resume:
    /// the session's record, or `None` (unknown, or the store failed).
    SessionFound {
        /// The resuming connection.
        conn: ConnId,
        /// What the store keeps about the session.
        record: Option<crate::SessionRecord>,
    },
    /// What `node` and this node told each other may have lost a message (a gap in the
    /// sequence numbers, or `node` asked): every member of a room they share gets a
    /// fresh `joined` snapshot, so nothing stays out of step.
    Resync {
        /// The other node.
        node: NodeId,
    },
}

/// What this node tells the other nodes of its cluster ([`Output::Cluster`]).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum ClusterOut {
    /// A member held here acts in `room`, which node `to` owns.
    Command {
        /// The owner.
        to: NodeId,
        /// The room.
        room: RoomId,
        /// What the member does.
        cmd: RoomCommand,
    },
    /// The events of `room` (owned here) for the members node `to` holds, in order.
    Events {
        /// The node holding those members.
        to: NodeId,
        /// The room.
        room: RoomId,
        /// What happened, each delivery trimmed to `to`'s members.
        events: Vec<RoomEvent>,
    },
    /// `room`, owned here, ended: give its lease up.
    Released {
        /// The room.
        room: RoomId,
    },
    /// Keep `record` in the shared store under `key` (a hash of a resume token), or
    /// forget it (`None`): a session in a room, resumable on any node.
    Session {
        /// The key.
        key: String,
        /// The record, or `None` to delete it.
        record: Option<crate::SessionRecord>,
    },
    /// Look up the record under `key` for `conn`'s resume; answer with
    /// [`ClusterIn::SessionFound`] (always, `None` on failure: `conn` waits for it).
    FindSession {
        /// The resuming connection.
        conn: ConnId,
        /// The key.
        key: String,
    },
}

/// One SFU endpoint (a member's peer connection to the SFU), numbered by the hub; never
/// reused while the hub runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MediaEndpoint(pub u64);

/// What the hub asks of the SFU ([`Output::Media`]); the driver passes each on in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaCommand {
    /// A member's first `sfuOffer`: a new endpoint in `group`.
    Join {
        /// The new endpoint.
        endpoint: MediaEndpoint,
        /// The SFU room: one per call, numbered by the hub.
        group: u64,
        /// The stream id its tracks carry to the others: the member's peer id.
        label: PeerId,
        /// The member's display name when it joined (recordings label tracks with it).
        name: String,
        /// The SDP offer.
        offer: String,
        /// Whether its media goes to the others (false: a viewer in a broadcast).
        publish: bool,
        /// What kind of participant its member is.
        kind: ParticipantKind,
        /// A WHEP player's: the name of the one participant it plays ([`Grant::follow`]).
        follow: Option<String>,
    },
    /// Record SFU room `group` (a call of `room`) from now on, or stop: its files close.
    Record {
        /// The SFU room.
        group: u64,
        /// The signaling room it belongs to (recordings are filed by it).
        room: confab_proto::RoomId,
        /// On or off.
        on: bool,
    },
    /// The member's right to send media changed (brought on stage, or back).
    Publish {
        /// The endpoint.
        endpoint: MediaEndpoint,
        /// Whether its media goes to the others from now on.
        publish: bool,
    },
    /// A later `sfuOffer` of the endpoint's member (renegotiation).
    Offer {
        /// The endpoint.
        endpoint: MediaEndpoint,
        /// The SDP offer.
        sdp: String,
    },
    /// The member's `sfuAnswer` to the SFU's offer.
    Answer {
        /// The endpoint.
        endpoint: MediaEndpoint,
        /// The SDP answer.
        sdp: String,
    },
    /// The member's `sfuView`: how it shows the tracks it receives.
    View {
        /// The endpoint.
        endpoint: MediaEndpoint,
        /// One entry per track.
        tracks: Vec<confab_proto::TrackView>,
    },
    /// The member left its SFU call (or the room, or the call ended): free the endpoint.
    Leave {
        /// The endpoint.
        endpoint: MediaEndpoint,
    },
}

/// What the SFU tells the hub ([`Input::Media`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MediaEvent {
    /// The SFU's answer to a `Join` or `Offer`: goes to the member as `sfuAnswer`.
    Answer {
        /// The endpoint.
        endpoint: MediaEndpoint,
        /// SDP.
        sdp: String,
    },
    /// The SFU renegotiates (others' tracks came or went): goes to the member as
    /// `sfuOffer`.
    Offer {
        /// The endpoint.
        endpoint: MediaEndpoint,
        /// SDP.
        sdp: String,
    },
    /// ICE and DTLS are up.
    Connected {
        /// The endpoint.
        endpoint: MediaEndpoint,
    },
    /// The active speakers of SFU room `group` changed: the members talking now,
    /// loudest first (at most three; empty when nobody is). Goes to every member of the
    /// group's call holding an endpoint, as `activeSpeakers`.
    Speakers {
        /// The SFU room, as numbered in [`MediaCommand::Join`].
        group: u64,
        /// Their peer ids (the labels of their endpoints), loudest first.
        speakers: Vec<PeerId>,
    },
    /// What the endpoint gets of each video track it receives changed (a layer switch,
    /// a pause, a track opened or closed): the whole list, which goes to its member as
    /// `layers` (the SFU coalesces changes, at most one a second per endpoint).
    Layers {
        /// The endpoint.
        endpoint: MediaEndpoint,
        /// One entry per video track it gets something of.
        tracks: Vec<confab_proto::LayerTrack>,
    },
    /// A command was refused, or the endpoint's connection was lost; the member hears
    /// `media_failed` with `message`. `gone`: the SFU no longer has the endpoint (a
    /// refused join, a lost connection), so the member's next `sfuOffer` makes a new
    /// one.
    Failed {
        /// The endpoint.
        endpoint: MediaEndpoint,
        /// Why, in words.
        message: String,
        /// The SFU has dropped the endpoint.
        gone: bool,
    },
}

/// Something the IO driver must do, drained with [`crate::Hub::poll_output`].
///
/// Deliberately exhaustive (unlike [`Input`] and [`Event`]): a driver must perform every
/// output, so a new one should fail to compile in the driver, not be ignored there.
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
    /// A host on `conn` asked for `room`'s recordings: the driver lists them (IO) and
    /// answers `conn` with `recordings` (echoing `ref_`).
    ListRecordings {
        /// The host's connection.
        conn: ConnId,
        /// The room.
        room: confab_proto::RoomId,
        /// The request id.
        ref_: Option<confab_proto::RequestId>,
    },
    /// Deliver `msg` on connection `to`. The target may have disconnected since the
    /// message was queued; the driver then drops it.
    Send {
        /// The connection to write to.
        to: ConnId,
        /// The message to encode and send.
        msg: ServerMsg,
    },
    /// Close connection `conn` with a WebSocket close code and reason, after flushing
    /// what was already queued to it. The hub has already forgotten the connection, so
    /// the driver's later [`Input::Disconnect`] for it is a harmless no-op.
    Close {
        /// The connection to close.
        conn: ConnId,
        /// WebSocket close code (see [`confab_proto::close`]).
        code: u16,
        /// Short human-readable reason (well under the 123-byte WebSocket limit).
        reason: String,
    },
    /// Load the stored chat of `room` and answer with [`Input::History`], without
    /// blocking the hub's owner. Only with [`crate::HubConfig::persist_chat`]; at most
    /// one request per room is outstanding.
    LoadHistory {
        /// The room a parked `join` would create.
        room: RoomId,
    },
    /// A chat message was accepted in `room` (and queued to its members just before):
    /// the driver should store it. Only with [`crate::HubConfig::persist_chat`], and only
    /// for rooms whose stored chat was loaded.
    ChatStored {
        /// The room it was sent in.
        room: RoomId,
        /// The message as the members got it (server id and timestamp included).
        message: ChatMessage,
    },
    /// Pass this to the SFU (only with an SFU media policy, see
    /// [`crate::HubConfig::media`]); its answers come back as [`Input::Media`].
    Media(MediaCommand),
    /// A room member whose ICE servers carried confab's TURN credentials left for good
    /// (not a dropped connection held for a resume; that happens when its grace ends):
    /// the driver tells its TURN server to free every allocation of TURN REST user `user`
    /// at once and to refuse its credentials until `until_unix`
    /// (`confab_turn::Server::handle_revoke`). Only when [`crate::HubConfig::ice`]
    /// advertises confab's TURN; exactly once per membership.
    RevokeTurnUser {
        /// The member's TURN REST user (the part of its usernames after the expiry).
        user: String,
        /// The latest expiry minted for it, in unix seconds.
        until_unix: u64,
    },
    /// The moderation of `room` changed (lock, bans, who is in with which role): the
    /// driver should store it in place of the last one, and give it back in the room's
    /// next [`Input::History`] so a restart does not forget it. An empty one
    /// ([`Moderation::is_empty`]) means the room ended: forget it. Only with
    /// [`crate::HubConfig::persist_chat`], for rooms whose stored chat was loaded.
    ModerationStored {
        /// The room.
        room: RoomId,
        /// Its moderation now.
        moderation: Moderation,
    },
    /// Something worth counting happened; for metrics, nothing to deliver.
    Event(Event),
    /// Tell another node of the cluster (only with [`crate::HubConfig::cluster`]).
    Cluster(ClusterOut),
}

/// What the hub reports for metrics (see [`Output::Event`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A call started in `room` (its first invitation went out).
    CallStarted {
        /// The room.
        room: RoomId,
        /// The new call.
        call: CallId,
    },
    /// A dropped connection left its room at once instead of being held for a resume,
    /// because [`crate::HubConfig::max_detached`] or
    /// [`crate::HubConfig::max_detached_per_ip`] was reached.
    HoldRefused,
    /// A room member reported media playing from a peer (`callStats`).
    CallConnected {
        /// The selected candidate pair's local type.
        pair: PairType,
        /// Milliseconds from the start of the call to the first decoded frame.
        setup_ms: u32,
    },
}
