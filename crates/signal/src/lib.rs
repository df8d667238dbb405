//! confab's signaling hub: connections, rooms, presence, chat and the SDP/ICE relay,
//! sans-IO.
//!
//! The [`Hub`] owns all signaling state. It never touches a socket, spawns a task, takes
//! a lock or reads the clock. It has str0m's shape: an IO driver feeds it one [`Input`]
//! at a time with [`Hub::handle`], each with the time ([`Now`]: the monotonic instant for
//! limits and deadlines, the wall clock for chat timestamps), then drains every
//! [`Output`] with [`Hub::poll_output`] and performs it, and sleeps until
//! [`Hub::poll_timeout`] when nothing else arrives. What the driver knows (the role a
//! join token grants, the host a browser reached us by, a room's stored chat) travels
//! inside the input; there are no setters beside `handle`. That keeps every protocol
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
//!   keeps the last [`HubConfig::chat_history`] messages (at most
//!   [`HubConfig::chat_history_bytes`]) for the `joined` snapshot. Chat is rate-limited
//!   per connection, per client address and per room; relayed bytes per sender and per
//!   addressee (`rate_limited` to the sender).
//! - With [`HubConfig::persist_chat`], a `join` that would create a room is parked: the
//!   hub asks for the room's stored chat with [`Output::LoadHistory`] and goes on serving
//!   every other room; the driver answers later with [`Input::History`] (or the hub gives
//!   up after [`HubConfig::history_timeout`]). The owner task never awaits a store.
//!   Such a room also reports its moderation (lock, bans, who is in with which role)
//!   with [`Output::ModerationStored`] whenever it changes, and comes back with it from
//!   [`Input::History`] after a restart, holding its members' places for
//!   [`HubConfig::resume_grace`] (see `room/saved.rs`).
//! - Calls are hub state (see `calls.rs`): `invite` rings a peer until it answers, the
//!   inviter cancels, or [`HubConfig::ring_timeout`] passes. Presence changes go to the
//!   whole room as `presence`.
//! - The work per input does not grow with the number of connections or rooms: timers
//!   sit in a deadline heap, counts are kept up to date (see `timers.rs`).
//! - Outputs come out in the order the hub produced them, per connection and overall.
//! - TURN credentials go to room members only (`iceServers`, right before `joined`), for a
//!   TURN user new with each membership; the membership's end (leave, kick, clean close,
//!   the end of a resume grace) revokes them with [`Output::RevokeTurnUser`], once.
//!
//! [`ServerMsg::Error`]: confab_proto::ServerMsg::Error
//!
//! # Example
//!
//! Two connections meet in a room and one sends the other an offer:
//!
//! ```
//! use confab_proto::{ClientFrame, ClientMsg, RoomId, ServerMsg, PROTOCOL_VERSION};
//! use confab_signal::{ConnId, Hub, HubConfig, Input, Now, Output};
//! use std::time::Instant;
//!
//! let mut hub = Hub::new(HubConfig::default(), [42; 32]);
//! let now = Now { mono: Instant::now(), unix_ms: 1_700_000_000_000 };
//! let (ada, grace) = (ConnId(1), ConnId(2));
//! let frame = |conn, msg| Input::Frame { conn, frame: ClientFrame { id: None, msg }, grant: None };
//!
//! // Connect and say hello; each connection gets a welcome with its peer id.
//! let mut ids = Vec::new();
//! for conn in [ada, grace] {
//!     hub.handle(now, Input::Connect { conn, host: None, ip: None });
//!     let hello = ClientMsg::Hello { version: PROTOCOL_VERSION, resume: None };
//!     hub.handle(now, frame(conn, hello));
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
//!     hub.handle(now, frame(conn, join));
//! }
//! let outputs: Vec<Output> = std::iter::from_fn(|| hub.poll_output()).collect();
//! assert_eq!(outputs.len(), 3); // joined (Ada), joined (Grace), peerJoined (to Ada)
//! assert_eq!(hub.peers_in(&room).len(), 2);
//!
//! // Ada's offer reaches Grace only, stamped with Ada's id.
//! let offer = ClientMsg::Offer { to: ids[1].clone(), sdp: "v=0\r\n".into() };
//! hub.handle(now, frame(ada, offer));
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

mod io;
#[cfg(test)]
mod proptests;
pub mod room;
mod session;

pub use io::{
    ClusterIn, ClusterOut, Event, Grant, Input, MediaCommand, MediaEndpoint, MediaEvent, Now,
    Output, ParticipantKind,
};
pub use room::{CallSnapshot, ChatSeed, Identity, MediaPolicy, Moderation, RoomCore, SfuSignal};
pub use session::hub::Hub;
pub use session::ice::{IceMinter, TurnAdvert};
pub use session::moved::SessionRecord;
pub use session::rate;
pub use session::{address_key, MAX_PARKED_FRAMES};

use std::fmt;
use std::time::Duration;

/// Identifies one connection to the hub. Assigned by the IO driver, which must never
/// reuse a value while the hub may still know it (a counter is the simple choice).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// One confab node of a cluster, by the name it registers under (unique among live
/// nodes: a host name and a random suffix by default).
#[derive(
    Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct NodeId(pub String);

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "conn#{}", self.0)
    }
}

/// Limits and settings of a [`Hub`]. Passed in by the server from its configuration;
/// the hub never reads a global.
#[derive(Clone, Debug)]
pub struct HubConfig {
    /// Most rooms that may exist at once (rooms waiting for their stored chat count); a
    /// `join` that would create one more gets `server_full`. Default 10 000.
    pub max_rooms: usize,
    /// Most peers in one room; a `join` into a room this full gets `room_full`.
    /// A mesh call grows quadratically, so keep it small. Default 16.
    pub max_peers_per_room: usize,
    /// Most open connections; a connection beyond this gets `server_full` and is closed
    /// with code 1013 ("try again later"). Places held for a resume do not count (see
    /// [`HubConfig::max_detached`]). Default 20 000.
    pub max_connections: usize,
    /// The ICE servers: the public ones go in every `welcome`; room members get the full
    /// list in `iceServers`, with TURN credentials minted for their membership when they
    /// join or resume and again every half credential lifetime, revoked
    /// ([`Output::RevokeTurnUser`]) when they leave for good. Default: none.
    pub ice: IceMinter,
    /// Chat messages a room keeps for the `joined` snapshot of late joiners (the most
    /// recent ones). In the hub the history lives as long as the room, i.e. until its
    /// last member leaves; with [`HubConfig::persist_chat`] a driver's store gives it
    /// back when the room is next created. Default 100.
    pub chat_history: usize,
    /// Most bytes of chat a room keeps for the `joined` snapshot (measured by
    /// [`room::chat_bytes`], about the messages' JSON size): the oldest go first. Bounds
    /// each room's memory and each `joined`, which must fit a connection's outbound
    /// queue. A message larger than this is delivered but not kept. Default 256 KiB.
    pub chat_history_bytes: usize,
    /// Chat rate limit, a token bucket per connection: how many messages may be sent in
    /// a burst. Default 10.
    pub chat_burst: u32,
    /// Chat rate limit: one token is added back per interval, up to
    /// [`HubConfig::chat_burst`]. Default 1 s (so one message per second sustained).
    pub chat_refill: Duration,
    /// Chat rate limit per client address (an IPv4 address, or an IPv6 /64, from
    /// [`Input::Connect`]), shared by all its connections, so reconnecting does not reset
    /// it: a burst of this many messages. Behind a reverse proxy every client has the
    /// proxy's address. Default 30.
    pub chat_ip_burst: u32,
    /// One token per interval back to each address's bucket. Default 250 ms (4/s).
    pub chat_ip_refill: Duration,
    /// Chat rate limit per room, whoever sends: a burst of this many messages (bounds
    /// what many connections or addresses can push into one room and its store).
    /// Default 60.
    pub chat_room_burst: u32,
    /// One token per interval back to each room's bucket. Default 100 ms (10/s).
    pub chat_room_refill: Duration,
    /// Relay budget in bytes (see `session/limits.rs` for what a message costs), per
    /// sender and per addressee: a burst of this many. At least
    /// [`confab_proto::MAX_FRAME_BYTES`] (else a large SDP never fits), and well under a
    /// connection's outbound queue in bytes, so a member cannot get another dropped as a
    /// slow consumer by relaying at it. Default 512 KiB.
    pub relay_burst: u32,
    /// Relay budget: bytes per second back into each sender's and addressee's bucket;
    /// 0 turns the relay limit off. Default 64 KiB/s.
    pub relay_rate: u32,
    /// Most people in one call, members plus pending invitations (a full mesh: every
    /// pair has its own peer connection, so it grows quadratically). An `invite` or
    /// `joinCall` beyond it gets `call_full`. At least 2 to be useful. Default 6.
    pub max_call_size: usize,
    /// How calls carry media: a mesh always (the default: no SFU), the SFU always, or
    /// a mesh that moves to the SFU when it grows past a size. With an SFU policy the
    /// hub emits [`Output::Media`] for the driver's SFU.
    pub media: MediaPolicy,
    /// How long an invitation rings before it ends with `timeout`. Default 30 s.
    pub ring_timeout: Duration,
    /// The driver keeps chat in a store: a `join` that creates a room first asks for its
    /// stored chat ([`Output::LoadHistory`]), and every accepted message of a room whose
    /// chat was loaded is reported ([`Output::ChatStored`]). Default off (then neither
    /// output is ever produced and rooms start empty).
    pub persist_chat: bool,
    /// How long a parked `join` waits for [`Input::History`] before the room starts
    /// without its stored chat (and is then not stored, so its ids, restarted at 1,
    /// cannot collide with stored ones). Default 2 s.
    pub history_timeout: Duration,
    /// How long a dropped connection that was in a room keeps its place (peer id, room,
    /// presence, call) for a `hello {resume}`; zero removes it at once. Also how long a
    /// room brought back from a store after a restart holds its members' seats (see
    /// `room/saved.rs`). Default 30 s.
    pub resume_grace: Duration,
    /// Most places held for a resume at once (dropped connections, "ghosts"); a drop
    /// beyond it leaves at once. Ghosts are counted apart from open connections, so they
    /// never take a place [`HubConfig::max_connections`] keeps for live ones. Default
    /// 5 000.
    pub max_detached: usize,
    /// Most places held for a resume per client address (an IPv4 address, or an IPv6
    /// /64, as the driver reports it in [`Input::Connect`]); a drop beyond it leaves at
    /// once, so one client cannot fill [`HubConfig::max_detached`] by vanishing over and
    /// over. Default 16.
    pub max_detached_per_ip: usize,
    /// This node is one of several sharing rooms (see `session/cluster.rs`): a `join`
    /// that would create a room is parked while the driver takes the room's lease
    /// ([`Output::LoadHistory`]); the driver answers [`Input::History`] (this node owns
    /// it now) or [`ClusterIn::Elsewhere`] (another does: commands go there as
    /// [`ClusterOut::Command`]). A claim that times out refuses the joins rather than
    /// risk two owners. Default off.
    pub cluster: bool,
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            max_rooms: 10_000,
            max_peers_per_room: 16,
            max_connections: 20_000,
            ice: IceMinter::default(),
            chat_history: 100,
            chat_history_bytes: 256 * 1024,
            chat_burst: 10,
            chat_refill: Duration::from_secs(1),
            chat_ip_burst: 30,
            chat_ip_refill: Duration::from_millis(250),
            chat_room_burst: 60,
            chat_room_refill: Duration::from_millis(100),
            relay_burst: 512 * 1024,
            relay_rate: 64 * 1024,
            max_call_size: 6,
            media: MediaPolicy::Mesh,
            ring_timeout: Duration::from_secs(30),
            persist_chat: false,
            history_timeout: Duration::from_secs(2),
            resume_grace: Duration::from_secs(30),
            max_detached: 5_000,
            max_detached_per_ip: 16,
            cluster: false,
        }
    }
}
