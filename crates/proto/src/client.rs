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
    },
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
    ];
}
