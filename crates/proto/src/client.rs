//! Messages from a client to the server.

use crate::ids::{CallId, PeerId, RequestId, RoomId};
use serde::{Deserialize, Serialize};

/// One client frame: a message plus the optional request id the server echoes as `ref`.
///
/// Produce these from network input only through [`crate::decode_client`], which also
/// validates field contents; plain `serde` deserialization checks shapes only.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientFrame {
    /// Client-chosen id of this request, echoed as `ref` in its reply or error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<RequestId>,
    /// The message.
    #[serde(flatten)]
    pub msg: ClientMsg,
}

/// A client-to-server message, tagged by `"type"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum ClientMsg {
    /// First message on a connection: the protocol version the client speaks.
    Hello {
        /// Must equal [`crate::PROTOCOL_VERSION`].
        version: u32,
        /// The `resumeToken` of an earlier `welcome`: asks for that identity back (same
        /// peer id, room, presence and call) after the connection dropped. Unknown,
        /// expired or already used tokens get a fresh identity, not an error.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<String>,
    },
    /// Enter a room under a display name. A connection is in at most one room.
    Join {
        /// The room to enter; created on first join.
        room: RoomId,
        /// Display name, trimmed, 1 to [`crate::MAX_NAME_CHARS`] characters.
        name: String,
        /// The room's password, for a room that has one. The server checks it and never
        /// passes it on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        password: Option<String>,
        /// A signed join token (JWT) from the application's backend: it names the room,
        /// the display name (which wins over `name`), the role and the expiry.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        token: Option<String>,
    },
    /// Leave the current room (the connection stays open).
    Leave,
    /// An SDP offer for one peer in the same room.
    Offer {
        /// Addressee.
        to: PeerId,
        /// The session description.
        sdp: String,
    },
    /// An SDP answer for one peer in the same room.
    Answer {
        /// Addressee.
        to: PeerId,
        /// The session description.
        sdp: String,
    },
    /// A trickled ICE candidate; `null` means end of candidates.
    Candidate {
        /// Addressee.
        to: PeerId,
        /// The candidate, as `RTCIceCandidate.toJSON()` gives it.
        candidate: Option<IceCandidate>,
    },
    /// End the call with one peer; both stay in the room.
    Hangup {
        /// Addressee.
        to: PeerId,
    },
    /// Keep-alive; answered with `pong`.
    Ping,
    /// A chat message to everyone in the room (the sender included).
    Chat {
        /// The text, trimmed, 1 to [`crate::MAX_CHAT_CHARS`] characters; no control
        /// characters other than `\n` and `\t`.
        text: String,
        /// A key the client chose for this message (1 to [`crate::MAX_CHAT_KEY_LEN`]
        /// characters of `A-Z a-z 0-9 _ -`), so that sending it again (after a lost
        /// confirmation: the socket dropped, the server node died) delivers and keeps it
        /// once: the room answers a repeat with the message it already has.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
    /// Ring a peer in your room into your call (a new call when you are in none).
    Invite {
        /// The peer to ring.
        to: PeerId,
    },
    /// Withdraw your pending invitation to a peer.
    Cancel {
        /// The peer you invited.
        to: PeerId,
    },
    /// Accept the pending invitation to a call: join it.
    Accept {
        /// The call you were invited to.
        call: CallId,
    },
    /// Decline the pending invitation to a call.
    Decline {
        /// The call you were invited to.
        call: CallId,
    },
    /// Join a call running in your room, without an invitation.
    JoinCall {
        /// The call to join.
        call: CallId,
    },
    /// Leave your call (hang up); the others in it stay connected.
    LeaveCall,
    /// Report your microphone and camera state, shown to the room in `presence`.
    Media {
        /// The microphone is muted (or there is none).
        audio_muted: bool,
        /// The camera is off (or there is none).
        video_muted: bool,
        /// Its screen, not its camera, is its outgoing video (absent: false). In calls
        /// through the server's router this is how the others know to show it whole.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        screen: bool,
    },
    /// Host only: remove a peer from the room (it may come back unless the room is
    /// locked). Guests get `not_host`.
    Kick {
        /// The peer to remove.
        peer: PeerId,
    },
    /// Host only: ask a peer to mute its microphone (its client does, and reports the
    /// new state with `media`).
    Mute {
        /// The peer to mute.
        peer: PeerId,
    },
    /// Host only: turn the waiting room on or off. While it is on (and a host is in the
    /// room), a joiner without a host token waits (`waiting`) until a host admits or
    /// denies it (`admit`); turning it off lets everyone waiting in.
    WaitingRoom {
        /// `true` to ask joiners to wait.
        on: bool,
    },
    /// Host only: let `peer`, waiting to join (`knocking`), in (`allow`) or not.
    Admit {
        /// Who.
        peer: PeerId,
        /// In, or not.
        allow: bool,
    },
    /// Host only: lock the room (new joins are refused with `room_locked`) or unlock it.
    Lock {
        /// `true` to lock, `false` to unlock.
        locked: bool,
    },
    /// Host only: turn broadcast mode on or off (see `docs/protocol.md`). In a broadcast
    /// room only hosts and the members they bring on stage send media; everyone else
    /// watches. Needs the server's media router (`no_media_server` without one).
    Broadcast {
        /// `true` to turn it on.
        on: bool,
    },
    /// Host only: start or stop recording the room's calls on the server (one file per
    /// track). Needs the server's media router (`no_media_server` without one).
    Record {
        /// `true` to start.
        on: bool,
    },
    /// Host only: the room's recordings on the server, answered by `recordings` (with
    /// download links that work for an hour).
    Recordings,
    /// A reaction everyone in the room sees for a moment (`reacted`). Counted against
    /// the chat rate limits: like a message, it goes to the whole room.
    React {
        /// Which one.
        reaction: Reaction,
    },
    /// Change your display name in the room (same rules as `join`'s). Everyone hears
    /// `renamed`; you with your request's `ref`. Refused with `name_fixed` when a join
    /// token named you. Counted against the chat rate limits (it goes to the room).
    Rename {
        /// The new name.
        name: String,
    },
    /// You started or stopped recording the call on your own device (the browser's
    /// MediaRecorder); the room sees it in `presence` (`recordingLocally`), so nobody is
    /// recorded without knowing.
    LocalRecording {
        /// `true` while recording.
        on: bool,
    },
    /// Raise or lower your hand; the room sees it in `presence` (`hand`).
    Hand {
        /// `true` to raise it.
        up: bool,
    },
    /// Bring a member on stage (it may send media in a broadcast room) or back to the
    /// audience. Host only, except that a member may step down itself (`on: false`).
    Stage {
        /// Who.
        peer: PeerId,
        /// `true`: on stage.
        on: bool,
    },
    /// An SDP offer for the server's media router (SFU), in a call whose `media` is
    /// `sfu`: the first one joins the call's media, later ones renegotiate (a track
    /// added or stopped). Answered by `sfuAnswer`.
    SfuOffer {
        /// The session description.
        sdp: String,
    },
    /// The answer to the server's `sfuOffer` (it offers the tracks of the others).
    SfuAnswer {
        /// The session description.
        sdp: String,
    },
    /// How the client shows the video tracks it receives from the media router, so the
    /// router sends each in the layer that fits (simulcast): by the m-line's `mid` on
    /// the client's router connection, the tile's size in device pixels, `0` by `0` for a
    /// tile not shown. No reply; send again when a size or visibility changes.
    SfuView {
        /// One entry per track, at most [`MAX_VIEWS`].
        tracks: Vec<TrackView>,
    },
    /// Report, once per peer connection, that media from `peer` is playing: how long the
    /// setup took and what kind of path it uses. Only counted in the server's metrics
    /// (`confab_call_setup_seconds`, `confab_calls_connected_total`); no reply.
    CallStats {
        /// The peer whose media arrived.
        peer: PeerId,
        /// Milliseconds from the start of the call (accept or join) to the first decoded
        /// frame; at most [`MAX_SETUP_MS`].
        setup_ms: u32,
        /// The selected ICE candidate pair's local candidate type.
        pair: PairType,
    },
}

/// The reactions there are: a fixed set, so nothing but these few pictures can be
/// flashed on everyone's screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Reaction {
    /// 👍
    ThumbsUp,
    /// 👏
    Clap,
    /// 😂
    Laugh,
    /// ❤️
    Heart,
    /// 🎉
    Party,
    /// 😮
    Surprised,
}

/// Most entries one `sfuView` may carry (a call's size, with screens).
pub const MAX_VIEWS: usize = 200;
/// Longest `mid` an `sfuView` entry may name (str0m's are a few digits).
pub const MAX_MID_LEN: usize = 16;

/// How one received video track is shown (`sfuView`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackView {
    /// The m-line's mid on the client's connection to the media router.
    pub mid: String,
    /// The tile's width in device pixels (0: not shown).
    pub width: u32,
    /// The tile's height in device pixels (0: not shown).
    pub height: u32,
}

/// Longest call setup time a `callStats` may report (10 minutes).
pub const MAX_SETUP_MS: u32 = 600_000;

/// An ICE candidate type, as `RTCIceCandidate.type` spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PairType {
    /// A local interface address.
    Host,
    /// A public address learned through STUN.
    Srflx,
    /// An address learned from the peer's checks.
    Prflx,
    /// A TURN relay.
    Relay,
}

impl PairType {
    /// The lowercase name (also the metrics label).
    pub fn as_str(self) -> &'static str {
        match self {
            PairType::Host => "host",
            PairType::Srflx => "srflx",
            PairType::Prflx => "prflx",
            PairType::Relay => "relay",
        }
    }

    /// Every type, for registering metrics up front.
    pub const ALL: [PairType; 4] = [
        PairType::Host,
        PairType::Srflx,
        PairType::Prflx,
        PairType::Relay,
    ];
}

/// An ICE candidate in the shape of the browser's `RTCIceCandidateInit`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IceCandidate {
    /// The `candidate:` attribute line (may be empty: end of candidates for a generation).
    pub candidate: String,
    /// Media stream identification tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    /// Index of the m-line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_m_line_index: Option<u16>,
    /// ICE username fragment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_fragment: Option<String>,
}

impl ClientMsg {
    /// The message's `type` tag.
    pub fn type_name(&self) -> &'static str {
        match self {
            ClientMsg::Hello { .. } => "hello",
            ClientMsg::Join { .. } => "join",
            ClientMsg::Leave => "leave",
            ClientMsg::Offer { .. } => "offer",
            ClientMsg::Answer { .. } => "answer",
            ClientMsg::Candidate { .. } => "candidate",
            ClientMsg::Hangup { .. } => "hangup",
            ClientMsg::Ping => "ping",
            ClientMsg::Chat { .. } => "chat",
            ClientMsg::Invite { .. } => "invite",
            ClientMsg::Cancel { .. } => "cancel",
            ClientMsg::Accept { .. } => "accept",
            ClientMsg::Decline { .. } => "decline",
            ClientMsg::JoinCall { .. } => "joinCall",
            ClientMsg::LeaveCall => "leaveCall",
            ClientMsg::Media { .. } => "media",
            ClientMsg::Kick { .. } => "kick",
            ClientMsg::Mute { .. } => "mute",
            ClientMsg::Lock { .. } => "lock",
            ClientMsg::CallStats { .. } => "callStats",
            ClientMsg::SfuOffer { .. } => "sfuOffer",
            ClientMsg::SfuAnswer { .. } => "sfuAnswer",
            ClientMsg::SfuView { .. } => "sfuView",
            ClientMsg::Broadcast { .. } => "broadcast",
            ClientMsg::Hand { .. } => "hand",
            ClientMsg::React { .. } => "react",
            ClientMsg::Rename { .. } => "rename",
            ClientMsg::LocalRecording { .. } => "localRecording",
            ClientMsg::WaitingRoom { .. } => "waitingRoom",
            ClientMsg::Admit { .. } => "admit",
            ClientMsg::Stage { .. } => "stage",
            ClientMsg::Record { .. } => "record",
            ClientMsg::Recordings => "recordings",
        }
    }

    /// Every `type` tag a client may send.
    pub const TYPES: &'static [&'static str] = &[
        "hello",
        "join",
        "leave",
        "offer",
        "answer",
        "candidate",
        "hangup",
        "ping",
        "chat",
        "invite",
        "cancel",
        "accept",
        "decline",
        "joinCall",
        "leaveCall",
        "media",
        "kick",
        "mute",
        "lock",
        "callStats",
        "sfuOffer",
        "sfuAnswer",
        "sfuView",
        "broadcast",
        "hand",
        "react",
        "rename",
        "localRecording",
        "waitingRoom",
        "admit",
        "stage",
        "record",
        "recordings",
    ];
}
