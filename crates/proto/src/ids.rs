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

/// A room name: 1 to [`crate::MAX_ROOM_LEN`] characters, each `_`, `-`, or a letter or
/// digit of any script (Unicode Alphabetic or Numeric: `standup`, `会议室`, `встреча`,
/// `café`), so people name rooms in their own language. Nothing else: no spaces,
/// punctuation, symbols or format characters, so a name cannot hide or reorder text, and
/// links carry it percent-encoded ([`RoomId::url_segment`]). Case-sensitive and compared
/// as sent (the web client normalises to NFC first).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoomId(String);

impl RoomId {
    /// Validates `s` as a room id.
    pub fn parse(s: &str) -> Option<RoomId> {
        let mut chars = 0;
        for c in s.chars() {
            chars += 1;
            if chars > crate::MAX_ROOM_LEN || !(c.is_alphanumeric() || c == '_' || c == '-') {
                return None;
            }
        }
        (chars > 0).then(|| RoomId(s.to_owned()))
    }

    /// The id as one path segment of a URL: ASCII letters, digits, `_` and `-` as they
    /// are, every other byte of its UTF-8 percent-encoded (`会` is `%E4%BC%9A`).
    pub fn url_segment(&self) -> String {
        let mut out = String::with_capacity(self.0.len());
        for b in self.0.bytes() {
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
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

#[cfg(test)]
mod tests {
    use super::RoomId;

    #[test]
    fn room_ids_take_letters_and_digits_of_any_script() {
        for ok in [
            "standup",
            "team_2-a",
            "会议室",
            "встреча",
            "café",
            "부산-회의",
            "x".repeat(64).as_str(),
            "会".repeat(64).as_str(),
        ] {
            assert!(RoomId::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            "stand up",
            "a/b",
            "a.b",
            "a%20",
            "会议室。",
            "a\u{200B}b",
            "a\u{202E}b",
            "e\u{301}",
            "😀",
            "x".repeat(65).as_str(),
            "会".repeat(65).as_str(),
        ] {
            assert!(RoomId::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn url_segments_percent_encode_all_but_the_ascii_safe_characters() {
        let r = RoomId::parse("会议-a_1").unwrap();
        assert_eq!(r.url_segment(), "%E4%BC%9A%E8%AE%AE-a_1");
        assert_eq!(RoomId::parse("standup").unwrap().url_segment(), "standup");
    }
}
