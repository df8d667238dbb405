//! The machine-readable codes of `error` messages.

use serde::{Deserialize, Serialize};

/// Machine-readable error codes, sent as snake_case strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ErrorCode {
    /// The frame was not a JSON object (or was a binary frame).
    BadJson,
    /// `type` was missing, not a string, or not a known message type.
    UnknownType,
    /// A field was missing or of the wrong type.
    BadField,
    /// The frame exceeded [`crate::MAX_FRAME_BYTES`].
    TooLarge,
    /// The display name was empty, too long, or held control characters.
    BadName,
    /// The room id was empty, too long, or held characters other than letters, digits, `_` and `-`.
    BadRoom,
    /// An SDP was empty.
    BadSdp,
    /// A message other than `hello` (or `ping`) came before `hello`.
    HelloRequired,
    /// A second `hello` on one connection.
    AlreadyHello,
    /// `hello` named a version this server does not speak; the server then closes
    /// the connection with code 4000.
    UnsupportedVersion,
    /// The request needs a joined room.
    NotJoined,
    /// `join` while already in a room; `leave` first.
    AlreadyJoined,
    /// The addressee is not a peer in your room (or is yourself).
    UnknownPeer,
    /// The room is at its peer limit.
    RoomFull,
    /// The server is at its room limit.
    ServerFull,
    /// A chat text was empty after trimming, too long, or held control characters
    /// other than newline and tab.
    BadText,
    /// Too many chat messages too fast; this one was dropped (not stored, not sent).
    RateLimited,
    /// The invitee is already in another call or being rung into one.
    Busy,
    /// The call is at its size limit (members plus pending invitations).
    CallFull,
    /// The invitee is already in your call.
    AlreadyInCall,
    /// The invitee is already being rung into your call.
    AlreadyInvited,
    /// `joinCall` while in a call; leave it first.
    InAnotherCall,
    /// No such pending invitation (for `accept`, `decline` or `cancel`).
    NoInvitation,
    /// No such call running in your room (for `joinCall`).
    UnknownCall,
    /// `leaveCall` while in no call.
    NotInCall,
    /// The room needs a password and `join` had none.
    PasswordRequired,
    /// The password was wrong.
    BadPassword,
    /// The server (or room) admits only holders of a join token, and `join` had none.
    TokenRequired,
    /// The join token was malformed, badly signed, expired, or for another room.
    BadToken,
    /// A host-only request (`kick`, `mute`, `lock`, `broadcast`, `stage`, `record`,
    /// `recordings`) from a peer that is not a host of its room.
    NotHost,
    /// `join` to a room a host has locked.
    RoomLocked,
    /// `sfuOffer` or `sfuAnswer` while not in a call whose media is `sfu`.
    NotSfuCall,
    /// The media router refused an SDP, is full, or lost your connection to it; the
    /// message says which. Send a fresh `sfuOffer` to try again.
    MediaFailed,
    /// `broadcast` or `record` on a server that runs no media router (`--media mesh`).
    NoMediaServer,
    /// `rename` by a member whose join token named it (the token's name is kept).
    NameFixed,
    /// A host did not let you in from the waiting room (the answer to your `join`).
    NotAdmitted,
}
