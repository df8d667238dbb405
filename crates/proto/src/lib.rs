//! confab's signaling wire protocol, version [`PROTOCOL_VERSION`].
//!
//! This crate holds the message types exchanged over the `/ws` WebSocket and the one
//! decoder that turns a text frame from the network into a validated [`ClientFrame`].
//! It has no IO and no state; `docs/protocol.md` describes the same protocol in prose
//! and `fixtures/protocol/` holds one JSON example per message, checked by both the
//! Rust tests and the browser client's tests.
//!
//! ```
//! use confab_proto::{decode_client, ClientMsg, ServerMsg, ErrorCode};
//!
//! let frame = decode_client(r#"{"type":"join","id":7,"room":"standup","name":"Ada"}"#).unwrap();
//! assert!(matches!(frame.msg, ClientMsg::Join { ref room, .. } if room.as_str() == "standup"));
//!
//! let err = decode_client(r#"{"type":"join","id":"j1","room":"bad room!","name":"Ada"}"#).unwrap_err();
//! assert_eq!(err.code, ErrorCode::BadRoom);
//! let reply: ServerMsg = err.into();
//! assert!(serde_json::to_string(&reply).unwrap().contains(r#""ref":"j1""#));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod decode;
mod errors;
mod ids;
mod media;
mod peer;
mod server;
mod text;

pub use client::{
    ClientFrame, ClientMsg, IceCandidate, PairType, Reaction, TrackView, MAX_MID_LEN, MAX_SETUP_MS,
    MAX_VIEWS,
};
pub use decode::{
    decode_client, DecodeError, MAX_RESUME_TOKEN_BYTES, MAX_SECRET_BYTES, MAX_TOKEN_BYTES,
};
pub use ids::{CallId, PeerId, RequestId, RoomId};
pub use media::LayerTrack;
pub use server::{
    ChatMessage, ComposedFile, ErrorCode, IceServer, InviteEndReason, LeaveReason, MediaMode,
    PeerInfo, PeerState, RecordedFile, RecordingInfo, Role, ServerMsg, Status,
};
pub use text::{is_format_char, normalize_chat_text, normalize_name};

/// The protocol version this crate speaks; sent in `hello` and `welcome`.
pub const PROTOCOL_VERSION: u32 = 1;

/// Largest text frame the server accepts; a larger one gets [`ErrorCode::TooLarge`].
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

/// Longest display name, in Unicode scalar values, after trimming.
pub const MAX_NAME_CHARS: usize = 64;

/// Longest chat message, in Unicode scalar values, after trimming.
pub const MAX_CHAT_CHARS: usize = 2000;

/// Most characters of a chat message's idempotency key (`chat.key`).
pub const MAX_CHAT_KEY_LEN: usize = 64;

/// Longest room id, in characters (so at most 256 bytes of UTF-8).
pub const MAX_ROOM_LEN: usize = 64;

/// Longest client-chosen request id string.
pub const MAX_REQUEST_ID_LEN: usize = 64;

/// WebSocket close codes the server uses, beyond the standard ones.
pub mod close {
    /// The frame was far over [`crate::MAX_FRAME_BYTES`] (standard "message too big").
    pub const TOO_BIG: u16 = 1009;
    /// The client spoke an unsupported protocol version.
    pub const UNSUPPORTED_VERSION: u16 = 4000;
    /// No frame arrived within the idle timeout.
    pub const IDLE_TIMEOUT: u16 = 4001;
    /// The client could not keep up with its outbound queue.
    pub const SLOW_CONSUMER: u16 = 4002;
    /// No `hello` arrived within the handshake timeout.
    pub const HELLO_TIMEOUT: u16 = 4003;
    /// A newer connection resumed this one's identity (`hello {resume}`); this one is
    /// obsolete. Clients must not reconnect on it.
    pub const REPLACED: u16 = 4004;
    /// From a client: it heard nothing from the server (not even `pong`) for 12 s and
    /// gave the connection up; like any drop, its place is held for a resume.
    pub const SILENT: u16 = 4010;
    /// The client kept sending faster than its message rate limit (standard "policy
    /// violation").
    pub const FLOOD: u16 = 1008;
    /// The server is shutting down; reconnect later. From a client: it is going away
    /// (a closed tab), which, like [`NORMAL`], leaves its room at once.
    pub const GOING_AWAY: u16 = 1001;
    /// A normal close. From a client: it is done, and leaves its room at once (no resume
    /// grace).
    pub const NORMAL: u16 = 1000;
}
