//! Messages from the server to a client.

use crate::ids::{CallId, PeerId, RequestId, RoomId};
use crate::IceCandidate;
use serde::{Deserialize, Serialize};

pub use crate::errors::ErrorCode;
pub use crate::peer::{PeerInfo, PeerState, Role, Status};

/// A server-to-client message, tagged by `"type"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ServerMsg {
    /// Answer to `hello`: the connection's identity and the ICE servers anyone may use.
    Welcome {
        /// [`crate::PROTOCOL_VERSION`].
        version: u32,
        /// This connection's peer id.
        peer_id: PeerId,
        /// ICE servers for `RTCPeerConnection` that need no credentials (STUN), possibly
        /// empty. TURN servers, with credentials, come to room members only, in
        /// [`ServerMsg::IceServers`].
        ice_servers: Vec<IceServer>,
        /// Opaque, single-use secret for `hello {resume}` after a dropped connection.
        /// Absent from servers older than reconnection.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume_token: Option<String>,
        /// This connection took over an earlier identity (`hello {resume}`); a `joined`
        /// snapshot of its room follows when it is in one.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        resumed: bool,
    },
    /// The ICE servers for `RTCPeerConnection` from now on, TURN credentials included,
    /// which only room members get: sent right before the `joined` of a join or resume,
    /// and again before the credentials expire while the member stays. Replaces the list
    /// of `welcome` (and of any earlier `iceServers`) for new peer connections.
    IceServers {
        /// The whole list, with fresh credentials.
        ice_servers: Vec<IceServer>,
    },
    /// Answer to `join`: a snapshot of the room.
    Joined {
        /// The `id` of the `join` request.
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        ref_: Option<RequestId>,
        /// The room joined.
        room: RoomId,
        /// This connection, as others see it.
        you: PeerInfo,
        /// Everyone else already in the room, in join order.
        peers: Vec<PeerInfo>,
        /// The room's most recent chat messages, oldest first (at most the server's
        /// history length, 100 by default). Absent from servers older than chat.
        #[serde(default)]
        history: Vec<ChatMessage>,
        /// The room is in broadcast mode (absent: it is not).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        broadcast: bool,
        /// The room is being recorded: the host who started it (absent: it is not).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recording: Option<PeerId>,
    },
    /// Answer to `leave`.
    Left {
        /// The `id` of the `leave` request.
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        ref_: Option<RequestId>,
        /// The room left.
        room: RoomId,
    },
    /// Someone entered your room.
    PeerJoined {
        /// Who.
        peer: PeerInfo,
    },
    /// Someone left your room.
    PeerLeft {
        /// Who.
        peer_id: PeerId,
        /// Why.
        reason: LeaveReason,
    },
    /// A relayed SDP offer.
    Offer {
        /// Sender, stamped by the server.
        from: PeerId,
        /// The session description.
        sdp: String,
    },
    /// A relayed SDP answer.
    Answer {
        /// Sender, stamped by the server.
        from: PeerId,
        /// The session description.
        sdp: String,
    },
    /// A relayed ICE candidate; `null` means end of candidates.
    Candidate {
        /// Sender, stamped by the server.
        from: PeerId,
        /// The candidate.
        candidate: Option<IceCandidate>,
    },
    /// The sender ended its call with you.
    Hangup {
        /// Sender, stamped by the server.
        from: PeerId,
    },
    /// A chat message in your room, sent to every member including its sender; the
    /// sender's copy carries `ref`, the `id` of its `chat` request.
    Chat {
        /// The `id` of the `chat` request (sender's copy only).
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        ref_: Option<RequestId>,
        /// The message, as stored.
        message: ChatMessage,
    },
    /// A peer's presence changed (call status or mute flags); sent to everyone in the
    /// room, the peer itself included.
    Presence {
        /// Whose.
        peer_id: PeerId,
        /// The new state.
        state: PeerState,
    },
    /// Someone is calling you: an invitation to `call`, pending until you `accept` or
    /// `decline`, the inviter cancels, or the ring timeout passes (`inviteEnded`).
    Invited {
        /// The call you are invited to.
        call: CallId,
        /// Who invites you.
        from: PeerId,
        /// Who is in the call now (the inviter included), in join order.
        members: Vec<PeerId>,
    },
    /// Answer to `invite`: your invitation rings at `to`.
    Inviting {
        /// The `id` of the `invite` request.
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        ref_: Option<RequestId>,
        /// The call `to` is invited to (yours; new if you were in none).
        call: CallId,
        /// The invitee.
        to: PeerId,
    },
    /// An invitation is over; sent to both the inviter and the invitee.
    InviteEnded {
        /// The call of the invitation.
        call: CallId,
        /// The inviter.
        from: PeerId,
        /// The invitee.
        to: PeerId,
        /// How it ended.
        reason: InviteEndReason,
    },
    /// Answer to `accept` or `joinCall`: you are in `call`. Connect to each member; the
    /// joiner sends the offers.
    CallJoined {
        /// The `id` of the `accept` or `joinCall` request.
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        ref_: Option<RequestId>,
        /// The call joined.
        call: CallId,
        /// Everyone else in it, in join order.
        members: Vec<PeerId>,
        /// How the call carries media: `mesh` (absent: servers without an SFU) or `sfu`.
        #[serde(default, skip_serializing_if = "MediaMode::is_mesh")]
        media: MediaMode,
    },
    /// Your call changed how it carries media (it grew past the mesh size and moved
    /// to the server's media router). Sent to every member of the call.
    CallMode {
        /// The call.
        call: CallId,
        /// How it carries media from now on.
        media: MediaMode,
    },
    /// The server's media router offers the tracks of the others in your call (or
    /// stops some); reply with `sfuAnswer`.
    SfuOffer {
        /// The session description.
        sdp: String,
    },
    /// The media router's answer to your `sfuOffer`.
    SfuAnswer {
        /// The session description.
        sdp: String,
    },
    /// Who is talking in your call on the media router, loudest first: at most three
    /// members, empty when nobody is. Sent to every member connected to the router when
    /// the list changes, and to one whose media connection comes up.
    ActiveSpeakers {
        /// The call.
        call: CallId,
        /// The members talking, loudest first.
        speakers: Vec<PeerId>,
    },
    /// Which layer of each video track you receive the media router forwards to you
    /// (see `docs/protocol.md`): the whole list, sent when something in it changes, at
    /// most once a second.
    Layers {
        /// Your call.
        call: CallId,
        /// One entry per video track you get something of.
        tracks: Vec<crate::LayerTrack>,
    },
    /// You were removed from the room by a host; you are in no room now (the connection
    /// stays open; `join` again unless the room is locked).
    Kicked {
        /// The room you were removed from.
        room: RoomId,
        /// The host who removed you.
        by: PeerId,
    },
    /// A host asks you to mute your microphone. Clients do, and say who asked.
    MuteRequest {
        /// The host who asked.
        by: PeerId,
    },
    /// A host turned the waiting room on or off; sent to every member (also to a member
    /// who joins while it is on, right after `joined`).
    WaitingRoom {
        /// Whether joiners wait to be admitted now.
        on: bool,
        /// The host who did it.
        by: PeerId,
    },
    /// The answer to a `join` into a room whose waiting room is on: you wait until a
    /// host lets you in (then `joined`, with the same `ref`) or not (`not_admitted`).
    Waiting {
        /// The `id` of the `join`.
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        ref_: Option<RequestId>,
        /// The room.
        room: RoomId,
    },
    /// To the room's hosts: `peer` waits to join under `name` (`admit` answers).
    Knocking {
        /// Who.
        peer: PeerId,
        /// The name it asked to join under.
        name: String,
    },
    /// To the room's hosts: `peer` waits no more (`admitted`, or denied, or it left).
    KnockEnded {
        /// Who.
        peer: PeerId,
        /// Whether it was let in.
        admitted: bool,
    },
    /// A host locked or unlocked your room; sent to every member (also to a host who
    /// joins a locked room, right after `joined`).
    RoomLocked {
        /// Whether new joins are refused now.
        locked: bool,
        /// The host who did it.
        by: PeerId,
    },
    /// A host turned broadcast mode on or off (see `broadcast` in `docs/protocol.md`);
    /// sent to every member.
    Broadcast {
        /// Whether the room is in broadcast mode now.
        on: bool,
        /// The host who did it.
        by: PeerId,
    },
    /// A member reacted (`react`); sent to every member, the sender included.
    Reacted {
        /// Who.
        peer: PeerId,
        /// Which reaction.
        reaction: crate::Reaction,
    },
    /// A member changed its display name (`rename`); sent to every member, the sender
    /// with its request's `ref`.
    Renamed {
        /// The `id` of the sender's `rename` (only in the copy sent to it).
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        ref_: Option<RequestId>,
        /// Whose.
        peer_id: PeerId,
        /// The new name.
        name: String,
    },
    /// A host started or stopped recording the room on the server; sent to every member.
    Recording {
        /// Whether the room is being recorded now.
        on: bool,
        /// The host who did it.
        by: PeerId,
    },
    /// The answer to `recordings`: the room's recordings, newest first.
    Recordings {
        /// The `id` of the `recordings` request.
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        ref_: Option<RequestId>,
        /// The recordings.
        list: Vec<RecordingInfo>,
    },
    /// A peer's role changed (the last host left and this peer took over, or a tokenless
    /// host became a guest because a token holder entered); sent to every member, the
    /// peer itself included.
    RoleChanged {
        /// Whose.
        peer_id: PeerId,
        /// The new role.
        role: Role,
    },
    /// Answer to `ping`.
    Pong {
        /// The `id` of the `ping` request.
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        ref_: Option<RequestId>,
    },
    /// A request failed; nothing changed and the connection stays open (unless the
    /// code's documentation says otherwise).
    Error {
        /// Machine-readable reason.
        code: ErrorCode,
        /// Human-readable explanation, in English.
        message: String,
        /// The `id` of the offending request, when it had a readable one.
        #[serde(rename = "ref", default, skip_serializing_if = "Option::is_none")]
        ref_: Option<RequestId>,
    },
}

impl ServerMsg {
    /// The `type` tag this message has on the wire (for metrics, without serializing).
    /// The fixture test checks it against the serialized tag of every fixture.
    pub fn type_name(&self) -> &'static str {
        match self {
            ServerMsg::Welcome { .. } => "welcome",
            ServerMsg::IceServers { .. } => "iceServers",
            ServerMsg::Joined { .. } => "joined",
            ServerMsg::Left { .. } => "left",
            ServerMsg::PeerJoined { .. } => "peerJoined",
            ServerMsg::PeerLeft { .. } => "peerLeft",
            ServerMsg::Offer { .. } => "offer",
            ServerMsg::Answer { .. } => "answer",
            ServerMsg::Candidate { .. } => "candidate",
            ServerMsg::Hangup { .. } => "hangup",
            ServerMsg::Chat { .. } => "chat",
            ServerMsg::Presence { .. } => "presence",
            ServerMsg::Invited { .. } => "invited",
            ServerMsg::Inviting { .. } => "inviting",
            ServerMsg::InviteEnded { .. } => "inviteEnded",
            ServerMsg::CallJoined { .. } => "callJoined",
            ServerMsg::CallMode { .. } => "callMode",
            ServerMsg::SfuOffer { .. } => "sfuOffer",
            ServerMsg::SfuAnswer { .. } => "sfuAnswer",
            ServerMsg::ActiveSpeakers { .. } => "activeSpeakers",
            ServerMsg::Layers { .. } => "layers",
            ServerMsg::Kicked { .. } => "kicked",
            ServerMsg::MuteRequest { .. } => "muteRequest",
            ServerMsg::RoomLocked { .. } => "roomLocked",
            ServerMsg::RoleChanged { .. } => "roleChanged",
            ServerMsg::Broadcast { .. } => "broadcast",
            ServerMsg::Recording { .. } => "recording",
            ServerMsg::Reacted { .. } => "reacted",
            ServerMsg::Renamed { .. } => "renamed",
            ServerMsg::WaitingRoom { .. } => "waitingRoom",
            ServerMsg::Waiting { .. } => "waiting",
            ServerMsg::Knocking { .. } => "knocking",
            ServerMsg::KnockEnded { .. } => "knockEnded",
            ServerMsg::Recordings { .. } => "recordings",
            ServerMsg::Pong { .. } => "pong",
            ServerMsg::Error { .. } => "error",
        }
    }

    /// Every `type` tag the server sends. The fixture test checks each has a fixture and
    /// that every fixture's type is listed, so this list cannot drift from the enum.
    pub const TYPES: &'static [&'static str] = &[
        "welcome",
        "iceServers",
        "joined",
        "left",
        "peerJoined",
        "peerLeft",
        "offer",
        "answer",
        "candidate",
        "hangup",
        "chat",
        "presence",
        "invited",
        "inviting",
        "inviteEnded",
        "callJoined",
        "callMode",
        "sfuOffer",
        "sfuAnswer",
        "activeSpeakers",
        "layers",
        "kicked",
        "muteRequest",
        "roomLocked",
        "roleChanged",
        "broadcast",
        "recording",
        "recordings",
        "reacted",
        "renamed",
        "waitingRoom",
        "waiting",
        "knocking",
        "knockEnded",
        "pong",
        "error",
    ];
}

/// How an invitation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum InviteEndReason {
    /// The invitee accepted and is now in the call.
    Accepted,
    /// The invitee declined.
    Declined,
    /// The inviter withdrew it (or left the call or the room).
    Cancelled,
    /// Nobody answered within the ring timeout.
    Timeout,
    /// The invitee left the room.
    Left,
}

/// One chat message as the server stored and sent it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Server-assigned, increasing within a room (1, 2, 3, …; with a store, also across
    /// server restarts); clients order and de-duplicate by it.
    pub id: u64,
    /// The sender's peer id.
    pub from: PeerId,
    /// The sender's display name when it sent the message.
    pub name: String,
    /// The validated text.
    pub text: String,
    /// When the server received it, in milliseconds since the Unix epoch.
    pub ts: u64,
    /// The key its sender chose (`chat.key`), if any: a client matches its own message
    /// by it after a reconnect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// How a call carries media.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaMode {
    /// Every member has a peer connection with every other (small calls).
    #[default]
    Mesh,
    /// Every member has one peer connection, to the server's media router (SFU), which
    /// forwards each member's tracks to the others.
    Sfu,
}

impl MediaMode {
    /// For `skip_serializing_if`: `mesh` is the default and left out.
    pub fn is_mesh(&self) -> bool {
        *self == MediaMode::Mesh
    }
}

/// Why a peer left a room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum LeaveReason {
    /// It sent `leave`.
    Left,
    /// Its connection closed or timed out.
    Disconnected,
    /// A host removed it (`kick`).
    Kicked,
}

/// One entry of `RTCConfiguration.iceServers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServer {
    /// `stun:`, `turn:` or `turns:` URLs.
    pub urls: Vec<String>,
    /// TURN username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// One recording of a room's call (see `recordings`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordingInfo {
    /// Its id (unique in the room).
    pub id: String,
    /// When it started, in milliseconds since the Unix epoch.
    pub started_ms: u64,
    /// When it stopped; absent while it runs (or when the server stopped without
    /// finishing it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopped_ms: Option<u64>,
    /// Its files, one per track.
    pub files: Vec<RecordedFile>,
    /// A link to the page that replays all its tracks together, signed for this
    /// recording's files, valid as long as the files' links (absent from older servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay: Option<String>,
    /// Its tracks mixed into one MP4 by `confab recording compose`, once that was run
    /// (absent otherwise, and from older servers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub composed: Option<ComposedFile>,
}

/// A recording mixed into one file (see [`RecordingInfo::composed`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComposedFile {
    /// The file name (`composed.mp4`).
    pub name: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// A download link on this server, signed like a track's (see [`RecordedFile::url`]).
    pub url: String,
}

/// One file of a recording.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordedFile {
    /// The file name.
    pub name: String,
    /// `audio` or `video`.
    pub kind: String,
    /// The peer id of whose track it is.
    pub peer: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// A download link on this server (a path with a signature), valid for an hour.
    pub url: String,
}
