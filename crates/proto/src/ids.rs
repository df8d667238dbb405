//! Identifiers on the wire: peers, rooms and client request ids.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A connection's identity, assigned by the server in `welcome`.
///
/// Opaque to clients except for ordering: in a call the peer with the smaller id (by
/// byte-wise string comparison) is the *polite* side of perfect negotiation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PeerId(String);

impl PeerId {
    /// Wraps a server-chosen id. Clients never mint ids.
    pub fn new(id: impl Into<String>) -> Self {
        PeerId(id.into())
    }
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A room name: 1 to [`crate::MAX_ROOM_LEN`] characters of `A-Z a-z 0-9 _ -`, so it can
/// appear unescaped in a `/r/<room>` link. Case-sensitive.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoomId(String);

impl RoomId {
    /// Validates `s` as a room id.
    pub fn parse(s: &str) -> Option<RoomId> {
        let ok = !s.is_empty()
            && s.len() <= crate::MAX_ROOM_LEN
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        ok.then(|| RoomId(s.to_owned()))
    }
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A client-chosen request id (`"id"` on a client message), echoed as `"ref"` in the
/// reply or error it caused. A string of at most [`crate::MAX_REQUEST_ID_LEN`] bytes
/// or a non-negative integer.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RequestId {
    /// A numeric id.
    Num(u64),
    /// A string id.
    Str(String),
}

impl RequestId {
    /// Reads a request id out of a JSON value, if it is a valid one.
    pub fn from_json(v: &serde_json::Value) -> Option<RequestId> {
        match v {
            serde_json::Value::Number(n) => n.as_u64().map(RequestId::Num),
            serde_json::Value::String(s) if s.len() <= crate::MAX_REQUEST_ID_LEN => {
                Some(RequestId::Str(s.clone()))
            }
            _ => None,
        }
    }
}

/// A call's id, assigned by the server when the call starts (its first invitation).
/// Unique among the server's calls while the call lasts; a number on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CallId(pub u64);

impl fmt::Display for CallId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "call {}", self.0)
    }
}
