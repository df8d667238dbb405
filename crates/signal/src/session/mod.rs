//! The session layer, one per node: connections and their sessions (hello, resume, rate
//! limits, parked joins, the connection-to-room index), the map of rooms, and the
//! deadline heap. It reaches rooms only through `crate::room`'s commands and events
//! (`route.rs`).

mod cluster;
mod credentials;
pub(crate) mod hub;
pub(crate) mod ice;
pub(crate) mod ids;
#[cfg(test)]
mod invariants;
mod limits;
pub(crate) mod media;
pub(crate) mod moved;
mod park;
pub use park::MAX_PARKED_FRAMES;
pub use resume::address_key;
pub mod rate;
mod resume;
mod route;
pub(crate) mod timers;
