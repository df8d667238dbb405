//! confab's signaling hub: connections, rooms, presence, chat and the SDP/ICE relay,
//! sans-IO.
//!
//! The [`Hub`] owns all signaling state. It never touches a socket, spawns a task, takes
//! a lock or reads the clock: an IO driver feeds it events (`handle_connect`,
//! `handle_frame` with an already-decoded [`confab_proto::ClientFrame`],
//! `handle_disconnect`), each with the current [`std::time::Instant`] (and, for chat
//! timestamps, the wall-clock time through [`Hub::set_wall_clock`]), and then drains
//! [`Output`]s with [`Hub::poll_output`] and performs them. That keeps every protocol
//! rule testable without a network and faster than real time, and gives the state one
//! obvious owner (the task that holds the `Hub`).
//!
//! Contract highlights:
//! - Every rejected request produces exactly one [`ServerMsg::Error`] to the requester,
//!   echoing the request id as `ref`, and changes no state. The connection stays open,
//!   except after an unsupported `hello` version (then an [`Output::Close`] follows).
//! - Relayed messages (`offer`, `answer`, `candidate`, `hangup`) go to exactly one
//!   connection, the addressee, with `from` stamped by the hub, never by the client.
//! - A `chat` goes to every member of the sender's room, the sender included (its copy
//!   carries `ref`), with a server-assigned id that increases within the room; the room
//!   keeps the last [`HubConfig::chat_history`] messages for the `joined` snapshot.
//! - Calls are hub state (see `calls.rs`): `invite` rings a peer until it answers, the
//!   inviter cancels, or [`HubConfig::ring_timeout`] passes; the driver calls
//!   [`Hub::handle_timeout`] at [`Hub::poll_timeout`]. Presence changes go to the whole
//!   room as `presence`.
//! - Outputs come out in the order the hub produced them, per connection and overall.
//!
//! [`ServerMsg::Error`]: confab_proto::ServerMsg::Error
//!
//! # Example
//!
//! Two connections meet in a room and one sends the other an offer:
//!
//! ```
//! use confab_proto::{ClientFrame, ClientMsg, RoomId, ServerMsg, PROTOCOL_VERSION};
//! use confab_signal::{ConnId, Hub, HubConfig, Output};
//! use std::time::Instant;
//!
//! let mut hub = Hub::new(HubConfig::default(), 42);
//! let now = Instant::now();
//! let (ada, grace) = (ConnId(1), ConnId(2));
//! let frame = |msg| ClientFrame { id: None, msg };
//!
//! // Connect and say hello; each connection gets a welcome with its peer id.
//! let mut ids = Vec::new();
//! for conn in [ada, grace] {
//!     hub.handle_connect(conn, now);
//!     hub.handle_frame(conn, frame(ClientMsg::Hello { version: PROTOCOL_VERSION, resume: None }), now);
//!     match hub.poll_output() {
//!         Some(Output::Send { to, msg: ServerMsg::Welcome { peer_id, .. } }) if to == conn => {
//!             ids.push(peer_id)
//!         }
//!         other => panic!("expected a welcome, got {other:?}"),
//!     }
//! }
//!
//! // Both join "standup"; Grace's join is announced to Ada.
//! let room = RoomId::parse("standup").unwrap();
//! for (conn, name) in [(ada, "Ada"), (grace, "Grace")] {
//!     let join = ClientMsg::Join { room: room.clone(), name: name.into(), password: None, token: None };
//!     hub.handle_frame(conn, frame(join), now);
//! }
//! let outputs: Vec<Output> = std::iter::from_fn(|| hub.poll_output()).collect();
//! assert_eq!(outputs.len(), 3); // joined (Ada), joined (Grace), peerJoined (to Ada)
//! assert_eq!(hub.peers_in(&room).len(), 2);
//!
//! // Ada's offer reaches Grace only, stamped with Ada's id.
//! let offer = ClientMsg::Offer { to: ids[1].clone(), sdp: "v=0\r\n".into() };
//! hub.handle_frame(ada, frame(offer), now);
//! assert_eq!(
//!     hub.poll_output(),
//!     Some(Output::Send {
//!         to: grace,
//!         msg: ServerMsg::Offer { from: ids[0].clone(), sdp: "v=0\r\n".into() },
//!     })
//! );
//! assert_eq!(hub.poll_output(), None);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod calls;
mod chat;
mod hub;
mod ids;
mod moderation;
#[cfg(test)]
mod proptests;
pub mod rate;
mod relay;
mod resume;
mod room;

pub use calls::CallSnapshot;
pub use chat::ChatSeed;
pub use hub::Hub;

use confab_proto::{ChatMessage, IceServer, RoomId, ServerMsg};
use std::fmt;
use std::time::Duration;

/// Identifies one connection to the hub. Assigned by the IO driver, which must never
/// reuse a value while the hub may still know it (a counter is the simple choice).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

/// Limits and settings of a [`Hub`]. Passed in by the server from its configuration;
/// the hub never reads a global.
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// Most rooms that may exist at once; a `join` that would create one more gets
    /// `server_full`. Default 10 000.
    pub max_rooms: usize,
    /// Most peers in one room; a `join` into a room this full gets `room_full`.
    /// A mesh call grows quadratically, so keep it small. Default 16.
    pub max_peers_per_room: usize,
    /// Most open connections; a connection beyond this gets `server_full` and is closed
    /// with code 1013 ("try again later"). Default 20 000.
    pub max_connections: usize,
    /// ICE servers sent in every `welcome`, as given. Default empty.
    pub ice_servers: Vec<IceServer>,
    /// Chat messages a room keeps for the `joined` snapshot of late joiners (the most
    /// recent ones). In the hub the history lives as long as the room, i.e. until its
    /// last member leaves; a driver with a store can seed it again (see
    /// [`Hub::seed_chat`]). Default 100.
    pub chat_history: usize,
    /// Chat rate limit, a token bucket per connection: how many messages may be sent in
    /// a burst. Default 10.
    pub chat_burst: u32,
    /// Chat rate limit: one token is added back per interval, up to
    /// [`HubConfig::chat_burst`]. Default 1 s (so one message per second sustained).
    pub chat_refill: Duration,
    /// Most people in one call, members plus pending invitations (a full mesh: every
    /// pair has its own peer connection, so it grows quadratically). An `invite` or
    /// `joinCall` beyond it gets `call_full`. At least 2 to be useful. Default 6.
    pub max_call_size: usize,
    /// How long an invitation rings before it ends with `timeout`. Default 30 s.
    pub ring_timeout: Duration,
    /// Emit an [`Output::ChatStored`] for every accepted chat message, for a driver that
    /// keeps chat in a store. Default off (then no such output is ever produced).
    pub persist_chat: bool,
    /// How long a dropped connection that was in a room keeps its place (peer id, room,
    /// presence, call) for a `hello {resume}`; zero removes it at once. Default 30 s.
    pub resume_grace: Duration,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            max_rooms: 10_000,
            max_peers_per_room: 16,
            max_connections: 20_000,
            ice_servers: Vec::new(),
            chat_history: 100,
            chat_burst: 10,
            chat_refill: Duration::from_secs(1),
            max_call_size: 6,
            ring_timeout: Duration::from_secs(30),
            persist_chat: false,
            resume_grace: Duration::from_secs(30),
        }
    }
}

/// Something the IO driver must do, drained with [`Hub::poll_output`].
#[derive(Clone, Debug, PartialEq)]
pub enum Output {
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
    /// the driver's later [`Hub::handle_disconnect`] for it is a harmless no-op.
    Close {
        /// The connection to close.
        conn: ConnId,
        /// WebSocket close code (see [`confab_proto::close`]).
        code: u16,
        /// Short human-readable reason (well under the 123-byte WebSocket limit).
        reason: String,
    },
    /// A chat message was accepted in `room` (and queued to its members just before):
    /// the driver should store it. Only with [`HubConfig::persist_chat`].
    ChatStored {
        /// The room it was sent in.
        room: RoomId,
        /// The message as the members got it (server id and timestamp included).
        message: ChatMessage,
    },
}
