//! A peer as the room sees it: its info, role and presence (in `joined`, `peerJoined`,
//! `presence`).

use crate::ids::{CallId, PeerId};
use serde::{Deserialize, Serialize};

/// A peer as others in the room see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerInfo {
    /// Its peer id.
    pub id: PeerId,
    /// Its display name.
    pub name: String,
    /// Its presence: idle, ringing or in a call, and its mute flags. Absent from servers
    /// older than calls (then idle).
    #[serde(default)]
    pub state: PeerState,
    /// Host or guest; absent means guest.
    #[serde(default, skip_serializing_if = "Role::is_guest")]
    pub role: Role,
}

/// What a peer may do in its room.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Takes part.
    #[default]
    Guest,
    /// Takes part and moderates: `kick`, `mute`, `lock`, `broadcast`, `stage`.
    Host,
    /// Watches and listens: sends media only while a host has it on stage. Only a join
    /// token makes a viewer; it never becomes host.
    Viewer,
}

impl Role {
    /// Whether this is [`Role::Guest`] (the default, left out of JSON).
    pub fn is_guest(&self) -> bool {
        *self == Role::Guest
    }

    /// The wire name (`guest`, `host`), as in JSON and join tokens.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::Guest => "guest",
            Role::Host => "host",
            Role::Viewer => "viewer",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    /// Parses a wire name (`guest`, `host`), for command lines.
    fn from_str(s: &str) -> Result<Role, String> {
        match s {
            "guest" => Ok(Role::Guest),
            "host" => Ok(Role::Host),
            "viewer" => Ok(Role::Viewer),
            other => Err(format!("{other:?} is not a role (guest, host or viewer)")),
        }
    }
}

/// What a peer is doing, as the room sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerState {
    /// Idle, ringing (an invitation waits for its answer) or in a call.
    pub status: Status,
    /// The call it is in (status `inCall`) or rung into (status `ringing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<CallId>,
    /// Its microphone is muted (as last reported by its client).
    #[serde(default)]
    pub audio_muted: bool,
    /// Its camera is off (as last reported by its client).
    #[serde(default)]
    pub video_muted: bool,
    /// Its connection dropped and the server holds its place for the resume grace
    /// period; it keeps its room, call and id if it comes back in time.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reconnecting: bool,
    /// Its hand is raised.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub hand: bool,
    /// A host brought it on stage: in a broadcast room it may send media.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub on_stage: bool,
    /// It records the call on its own device (`localRecording`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recording_locally: bool,
    /// It shares its screen instead of its camera (as last reported by its client).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub screen: bool,
}

/// A peer's call status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Status {
    /// In no call and not being rung.
    #[default]
    Idle,
    /// An invitation to a call is waiting for its answer.
    Ringing,
    /// In a call (possibly alone, while its first invitations ring).
    InCall,
}
