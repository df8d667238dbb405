//! What one node publishes to another: an [`Envelope`] of the sender, its sequence
//! number on this pair of nodes, and the [`Body`] (a room command or a room's events).
//!
//! JSON, because the room seam's types are serde types already and an operator can read
//! a message with `redis-cli subscribe`. A decoder reads input from the network (any
//! process that can publish on the Redis server), so it checks the size first and
//! never panics; `fuzz/fuzz_targets/cluster_envelope.rs` feeds it anything.

use confab_proto::RoomId;
use confab_signal::room::{RoomCommand, RoomEvent};
use confab_signal::NodeId;
use serde::{Deserialize, Serialize};

/// Most bytes of one envelope: a few room events of the largest frames (an SDP is at
/// most 64 KiB) fit with room to spare.
pub const MAX_ENVELOPE_BYTES: usize = 1024 * 1024;

/// One message between two nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The sender.
    pub from: NodeId,
    /// The sender's run (random at its start): numbers start over in a new one.
    pub epoch: u64,
    /// 1 for the sender's first message to this addressee, then one more each time: a
    /// jump shows a lost message (Redis pub/sub delivers at most once).
    pub seq: u64,
    /// What it carries.
    pub body: Body,
}

/// What an envelope carries.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Body {
    /// A member's command for a room the addressee owns.
    Command {
        /// The room.
        room: RoomId,
        /// The command.
        cmd: RoomCommand,
    },
    /// A room's events for the addressee's members.
    Events {
        /// The room.
        room: RoomId,
        /// The events, in the room's order.
        events: Vec<RoomEvent>,
    },
    /// The sender is stopping (drained): it has given its rooms' leases up, so the
    /// addressee takes over at once instead of waiting for it to fall silent.
    Leaving,
}

/// Why bytes are not an envelope.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// Over [`MAX_ENVELOPE_BYTES`].
    #[error("an envelope of {0} bytes is over the limit of {MAX_ENVELOPE_BYTES}")]
    TooLarge(usize),
    /// Not the JSON of an envelope.
    #[error("not an envelope: {0}")]
    Malformed(String),
}

impl Envelope {
    /// The envelope's bytes.
    pub fn encode(&self) -> Vec<u8> {
        // Serializing these types cannot fail: every map key is a string.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Reads an envelope from bytes received from the network.
    pub fn decode(bytes: &[u8]) -> Result<Envelope, DecodeError> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(DecodeError::TooLarge(bytes.len()));
        }
        let env: Envelope =
            serde_json::from_slice(bytes).map_err(|e| DecodeError::Malformed(e.to_string()))?;
        // serde does not check a room's name; files and links are named after it.
        let room = match &env.body {
            Body::Command { room, .. } | Body::Events { room, .. } => Some(room),
            Body::Leaving => None,
        };
        if let Some(room) = room.filter(|r| RoomId::parse(r.as_str()).is_none()) {
            return Err(DecodeError::Malformed(format!("bad room name {room:?}")));
        }
        Ok(env)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use confab_proto::{PeerId, ServerMsg};

    #[test]
    fn round_trips_and_refuses_junk_in_words() {
        let env = Envelope {
            from: NodeId("a".into()),
            epoch: 3,
            seq: 7,
            body: Body::Events {
                room: RoomId::parse("r").unwrap(),
                events: vec![RoomEvent::Deliver {
                    to: vec![PeerId::new("p1234567890a")],
                    msg: ServerMsg::Pong { ref_: None },
                }],
            },
        };
        assert_eq!(Envelope::decode(&env.encode()), Ok(env));
        assert!(matches!(
            Envelope::decode(b"{\"from\":1}"),
            Err(DecodeError::Malformed(_))
        ));
        let bad =
            br#"{"from":"a","epoch":1,"seq":1,"body":{"kind":"command","room":"../x","cmd":{"cmd":"tick"}}}"#;
        assert!(matches!(
            Envelope::decode(bad),
            Err(DecodeError::Malformed(_))
        ));
        let big = vec![b' '; MAX_ENVELOPE_BYTES + 1];
        assert_eq!(
            Envelope::decode(&big),
            Err(DecodeError::TooLarge(MAX_ENVELOPE_BYTES + 1))
        );
    }
}
