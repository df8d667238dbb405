//! Signaling over WebSocket: the IO around the sans-IO hub (`confab-signal`).
//!
//! - [`connection`]: one task per WebSocket; decodes frames, applies the flood guard,
//!   hands frames to the hub task and writes what it queues (generic over the socket,
//!   so it is unit-tested over channels).
//! - [`admission`]: passwords and join tokens, checked before a frame reaches the hub,
//!   and the error replies the connection makes itself.
//! - [`throttle`]: wrong passwords counted per client address, across connections.
//! - [`hub_task`]: the one task that owns the hub; feeds it inputs, performs its
//!   outputs (queues, the chat store, metrics) and never awaits IO.

pub mod admission;
pub mod connection;
pub mod hub_task;
pub mod settings;
mod snapshots;
pub mod throttle;

pub use connection::{serve, ConnSettings, HARD_FRAME_LIMIT, READ_BUFFER_BYTES};
pub use hub_task::{spawn, HubHandle, Remote, Services};
