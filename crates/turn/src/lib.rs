//! confab's STUN/TURN server core, sans-IO: RFC 8489 STUN Binding and RFC 8656 TURN over a
//! UDP relay, with the long-term credential mechanism and TURN REST API credentials.
//!
//! The [`Server`] owns every allocation, permission and channel. It never touches a socket
//! and never reads the clock: an IO driver feeds it what arrives (`handle_client` for the
//! listening sockets and TCP/TLS streams, `handle_peer` for relay sockets,
//! `handle_relay_bound` when a relay socket it asked for is ready), each with the current
//! [`std::time::Instant`], then drains [`Output`]s with [`Server::poll_output`] and performs
//! them, and calls [`Server::handle_timeout`] at [`Server::poll_timeout`]. Every rule is
//! therefore testable in simulated time, and the state has one owner.
//!
//! Contract highlights:
//! - No input panics. Data that is neither STUN nor ChannelData is dropped silently; a
//!   request whose header parses but whose body does not gets 400.
//! - Every response carries FINGERPRINT; responses to authenticated requests also carry
//!   MESSAGE-INTEGRITY (or -SHA256, whichever the client used).
//! - Relayed data only ever leaves through a relay socket to a peer for which the
//!   allocation holds a live permission ([`Server::has_permission`]), and permissions are
//!   only granted to peers the [`PeerPolicy`] allows, or to another allocation's relayed
//!   address ([`Server::is_relayed_address`]): data for one of those never leaves at
//!   all, it is handed to that allocation in-process, and no other port of our own
//!   addresses becomes reachable through such a permission. The one other exception is
//!   [`TurnConfig::local_services`] (the SFU of the same process), reached the same
//!   way: [`Output::ToLocal`] out, [`Server::handle_local`] back.
//! - Nonces are stateless (an HMAC over issue time and 5-tuple with a key derived from the
//!   seed), so unauthenticated traffic creates no state.
//! - Limits: `user_quota` allocations per user (486; a TURN REST username counts under
//!   its user, the part after the expiry), `ip_quota` per client address (486),
//!   `max_allocations` in all (508), [`MAX_PERMISSIONS`] permissions and [`MAX_CHANNELS`]
//!   channels per allocation (508); error replies to unauthenticated UDP requests per
//!   source prefix, and a lockout per (source, static user) after wrong passwords
//!   ([`TurnConfig`]).
//! - A TURN REST username is accepted until its expiry to start an allocation, and for as
//!   long as that allocation lives to refresh it and add permissions and channels. The
//!   driver revokes a REST user with [`Server::handle_revoke`]: its allocations go at once
//!   and its credentials are refused from then on.
//! - Every refused request is reported as a [`Refusal`] ([`Server::poll_refusal`]).
//!
//! Not implemented (answered as documented): TCP relays (RFC 6062, 442), EVEN-PORT and
//! RESERVATION-TOKEN (508), dual allocations (ADDITIONAL-ADDRESS-FAMILY is ignored),
//! USERHASH (400: a USERNAME is required), and ICMP forwarding.
//!
//! # Example
//!
//! A Binding request answered with the client's reflexive address, then an unauthenticated
//! Allocate challenged with 401:
//!
//! ```
//! use confab_turn::{ClientKey, Output, Server, Transport, TurnConfig};
//! use std::time::Instant;
//! use stun_types::attribute::{ErrorCode, Nonce, XorMappedAddress};
//! use stun_types::message::{Message, MessageClass, MessageType, MessageWriteVec, MessageWrite,
//!     TransactionId, BINDING};
//!
//! let mut server = Server::new(TurnConfig::default(), 7);
//! let key = ClientKey {
//!     transport: Transport::Udp,
//!     client: "203.0.113.5:40000".parse().unwrap(),
//!     local: "198.51.100.1:3478".parse().unwrap(),
//! };
//! let (now, unix_now) = (Instant::now(), 1_700_000_000);
//! let request = |method, tid: u128| {
//!     let mtype = MessageType::from_class_method(MessageClass::Request, method);
//!     Message::builder(mtype, TransactionId::from(tid), MessageWriteVec::new()).finish()
//! };
//!
//! server.handle_client(key, &request(BINDING, 1), now, unix_now);
//! let Some(Output::ToClient { data, .. }) = server.poll_output() else { panic!() };
//! let reply = Message::from_bytes(&data).unwrap();
//! let mapped = reply.attribute::<XorMappedAddress>().unwrap();
//! assert_eq!(mapped.addr(reply.transaction_id()), key.client);
//!
//! server.handle_client(key, &request(turn_types::message::ALLOCATE, 2), now, unix_now);
//! let Some(Output::ToClient { data, .. }) = server.poll_output() else { panic!() };
//! let reply = Message::from_bytes(&data).unwrap();
//! assert_eq!(reply.attribute::<ErrorCode>().unwrap().code(), 401);
//! assert!(reply.attribute::<Nonce>().unwrap().nonce().starts_with("obMatJos2"));
//! assert_eq!(server.allocation_count(), 0);
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod allocation;
mod auth;
mod config;
mod framing;
mod limits;
mod methods;
mod policy;
mod quota;
mod refusal;
mod relay;
mod reply;
mod rest;
mod rng;
mod server;

pub use allocation::{MAX_CHANNELS, MAX_PERMISSIONS};
pub use config::{ConfigError, TurnConfig};
pub use framing::{frame_len, FramingError};
pub use policy::{IpNet, IpNetParseError, PeerPolicy};
pub use refusal::{Refusal, RefusalReason, MAX_QUEUED as MAX_QUEUED_REFUSALS};
pub use rest::rest_credentials;
pub use server::Server;

use std::net::{IpAddr, SocketAddr};

/// How a client reached the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// A UDP datagram on the listening socket.
    Udp,
    /// A TCP connection (RFC 8656 §3.1); messages arrive already framed ([`frame_len`]).
    Tcp,
    /// A TLS-over-TCP connection; framed like [`Transport::Tcp`].
    Tls,
}

impl Transport {
    /// Whether this is a byte stream, where ChannelData is padded to 4 bytes.
    pub fn is_stream(self) -> bool {
        !matches!(self, Transport::Udp)
    }
}

/// The 5-tuple that identifies a client and its (at most one) allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientKey {
    /// How the client reached us.
    pub transport: Transport,
    /// The client's address as we see it (its server-reflexive address).
    pub client: SocketAddr,
    /// Our address the client sent to.
    pub local: SocketAddr,
}

/// Identifies one [`Output::BindRelay`] request, echoed in [`Server::handle_relay_bound`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RelayRequestId(pub u64);

/// Why the driver could not bind a relay socket (e.g. the port range is exhausted).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BindError(pub String);

/// Something the driver must do, drained with [`Server::poll_output`] in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send `data` to the client. Over UDP, send to `key.client` from `key.local`; over
    /// TCP/TLS, write it to that connection. ChannelData is already padded to 4 bytes for
    /// stream transports (RFC 8656 §12.5); STUN messages are always 4-byte aligned.
    ToClient {
        /// The client's 5-tuple.
        key: ClientKey,
        /// One complete STUN message or ChannelData frame.
        data: Vec<u8>,
    },
    /// Send `data` as one datagram from relay socket `relay` to `peer`. A failed send must
    /// be ignored (the allocation lives on).
    ToPeer {
        /// The relay socket's bound address, as given to [`Server::handle_relay_bound`].
        relay: SocketAddr,
        /// The peer's address.
        peer: SocketAddr,
        /// The application payload.
        data: Vec<u8>,
    },
    /// Bind a UDP socket on `ip` with a port from the configured relay range, then call
    /// [`Server::handle_relay_bound`] with `request` (always, also on failure).
    BindRelay {
        /// Echo this in `handle_relay_bound`.
        request: RelayRequestId,
        /// The address to bind on ([`TurnConfig::relay_ip`]).
        ip: IpAddr,
        /// The client sent EVEN-PORT: the port must be even (RTP-style pairing).
        even_port: bool,
    },
    /// The allocation that owned this relay socket is gone: close the socket.
    ReleaseRelay {
        /// The relay socket's bound address.
        relay: SocketAddr,
    },
    /// Hand `data` to the service of this process at `to` (one of
    /// [`TurnConfig::local_services`]) as a datagram from `from`, the sender's relayed
    /// address; its answers come back through [`Server::handle_local`].
    ToLocal {
        /// The allocation's relayed address, as its client was told it.
        from: SocketAddr,
        /// The service's address.
        to: SocketAddr,
        /// The application payload.
        data: Vec<u8>,
    },
}
