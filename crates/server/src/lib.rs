//! The `confab` server: configuration, TLS, HTTP routes and the IO drivers that connect
//! sockets to the sans-IO cores (`confab-signal` today; TURN and SFU later).
//!
//! Layout: [`config`] (flags > env > file), [`tls`] (certificates), [`server`] (the entry
//! point taking a bound listener), `web` (routes), `ws` (one task per WebSocket) and
//! `hub_task` (the single owner of the signaling hub).
#![forbid(unsafe_code)]

pub mod config;
mod hub_task;
pub mod server;
pub mod tls;
mod web;
mod ws;

pub use server::run;
