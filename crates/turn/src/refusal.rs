//! [`Refusal`]: why the server answered a request with an error, or dropped the answer.
//!
//! Every error response (and every error reply the rate limit swallowed) is also recorded
//! as a [`Refusal`] the driver drains with [`crate::Server::poll_refusal`], to count by
//! [`RefusalReason`] and log. The queue is bounded ([`MAX_QUEUED`]): a driver that never
//! drains it loses refusals, never memory.

use crate::ClientKey;

/// Refusals kept for [`crate::Server::poll_refusal`]; more are dropped until it is drained.
pub const MAX_QUEUED: usize = 1024;

/// One refused request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Who asked.
    pub key: ClientKey,
    /// The STUN method name (`"Allocate"`, `"CreatePermission"`, ...).
    pub method: &'static str,
    /// Why.
    pub reason: RefusalReason,
    /// The ERROR-CODE sent, or 0 when no reply went out ([`RefusalReason::RateLimited`]).
    pub code: u16,
}

/// Why a request was refused: a fixed vocabulary, usable as a metric label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RefusalReason {
    /// 401 to a request without credentials: the normal first step of every allocation.
    Challenge,
    /// 401: unknown user, expired REST username, or wrong password.
    BadCredentials,
    /// 401 without checking the password: this source is locked out for this static user
    /// after repeated wrong passwords.
    LockedOut,
    /// 438: the nonce is not ours, not for this 5-tuple, or too old (clients retry).
    StaleNonce,
    /// 400: malformed or incomplete request, or an unsupported method.
    BadRequest,
    /// 420: a comprehension-required attribute we do not understand.
    UnknownAttribute,
    /// 403: the peer address is denied by the peer policy.
    ForbiddenPeer,
    /// 437: no allocation on this 5-tuple, or one already there.
    AllocationMismatch,
    /// 441: the allocation belongs to another username.
    WrongCredentials,
    /// 442: a transport other than UDP was requested.
    UnsupportedTransport,
    /// 440/443: address family not supported or not matching.
    AddressFamily,
    /// 486: the user (a static username, or the user of a REST username) holds its quota
    /// of allocations.
    UserQuota,
    /// 486: the client's address (IPv4, or IPv6 /64) holds its quota of allocations.
    IpQuota,
    /// 401, password unchecked: the user of this REST username was revoked (its member
    /// left; see [`crate::Server::handle_revoke`]).
    Revoked,
    /// 508: the server is full (allocations, relay ports, permissions, channels).
    Capacity,
    /// No reply at all: the source's prefix spent its budget of unauthenticated UDP
    /// error replies (reflection amplification guard).
    RateLimited,
    /// Another error code.
    Other,
}

impl RefusalReason {
    /// Every reason, in a stable order (metrics register them all up front).
    pub const ALL: [RefusalReason; 17] = [
        RefusalReason::Challenge,
        RefusalReason::BadCredentials,
        RefusalReason::LockedOut,
        RefusalReason::StaleNonce,
        RefusalReason::BadRequest,
        RefusalReason::UnknownAttribute,
        RefusalReason::ForbiddenPeer,
        RefusalReason::AllocationMismatch,
        RefusalReason::WrongCredentials,
        RefusalReason::UnsupportedTransport,
        RefusalReason::AddressFamily,
        RefusalReason::UserQuota,
        RefusalReason::IpQuota,
        RefusalReason::Revoked,
        RefusalReason::Capacity,
        RefusalReason::RateLimited,
        RefusalReason::Other,
    ];

    /// The snake_case label (`"forbidden_peer"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalReason::Challenge => "challenge",
            RefusalReason::BadCredentials => "bad_credentials",
            RefusalReason::LockedOut => "locked_out",
            RefusalReason::StaleNonce => "stale_nonce",
            RefusalReason::BadRequest => "bad_request",
            RefusalReason::UnknownAttribute => "unknown_attribute",
            RefusalReason::ForbiddenPeer => "forbidden_peer",
            RefusalReason::AllocationMismatch => "allocation_mismatch",
            RefusalReason::WrongCredentials => "wrong_credentials",
            RefusalReason::UnsupportedTransport => "unsupported_transport",
            RefusalReason::AddressFamily => "address_family",
            RefusalReason::UserQuota => "user_quota",
            RefusalReason::IpQuota => "ip_quota",
            RefusalReason::Revoked => "revoked",
            RefusalReason::Capacity => "capacity",
            RefusalReason::RateLimited => "rate_limited",
            RefusalReason::Other => "other",
        }
    }

    /// The reason an error response with `code` stands for when nothing more specific is
    /// known (401 becomes [`RefusalReason::BadCredentials`]).
    pub(crate) fn from_code(code: u16) -> RefusalReason {
        match code {
            400 => RefusalReason::BadRequest,
            401 => RefusalReason::BadCredentials,
            403 => RefusalReason::ForbiddenPeer,
            420 => RefusalReason::UnknownAttribute,
            437 => RefusalReason::AllocationMismatch,
            438 => RefusalReason::StaleNonce,
            440 | 443 => RefusalReason::AddressFamily,
            441 => RefusalReason::WrongCredentials,
            442 => RefusalReason::UnsupportedTransport,
            486 => RefusalReason::UserQuota,
            508 => RefusalReason::Capacity,
            _ => RefusalReason::Other,
        }
    }
}

/// The name of a STUN/TURN method, for [`Refusal::method`].
pub(crate) fn method_name(method: u16) -> &'static str {
    match method {
        0x001 => "Binding",
        0x003 => "Allocate",
        0x004 => "Refresh",
        0x008 => "CreatePermission",
        0x009 => "ChannelBind",
        _ => "other",
    }
}
