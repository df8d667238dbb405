//! The `confab` server: configuration, TLS, HTTP routes and the IO drivers that connect
//! sockets to the sans-IO cores (`confab-signal`, `confab-turn`; the SFU next).
//!
//! Layout: [`config`] (flags > env > file), [`tls`] (certificates), [`server`] (the entry
//! point taking a bound listener), `web` (routes), `signal` (one task per WebSocket and
//! the single owner of the signaling hub), [`store`] (chat history on disk),
//! [`turn`] (STUN/TURN drivers),
//! [`logging`] (the subscriber, with no secret at any level),
//! [`metrics`] (the per-server Prometheus registry behind `/metrics`), [`random`] (the
//! one randomness path).
#![forbid(unsafe_code)]

mod app;
pub mod auth;
pub mod cluster;
pub mod config;
mod http;
mod listeners;
pub mod logging;
pub mod metrics;
pub mod random;
pub mod record;
pub mod sfu;
mod signal;
pub mod store;
pub mod streams;
pub mod tls;
pub mod turn;
mod wait;

pub use app::{run, StartError};
pub use listeners::{BindError, Listeners};

/// Milliseconds since the Unix epoch (0 if the system clock is before it): chat
/// timestamps. The one place the server reads the wall clock.
pub(crate) fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// Seconds since the Unix epoch (TURN REST credentials are stamped with it).
pub fn unix_now() -> u64 {
    unix_ms() / 1000
}
