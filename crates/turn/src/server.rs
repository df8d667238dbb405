//! [`Server`]: the state, the entry points, and dispatch of client input to the method
//! handlers in `methods.rs`.

use crate::allocation::Allocation;
use crate::auth::{authenticate, AuthFailure, Credentials, Known, NonceMaker, OFFERED};
use crate::config::TurnConfig;
use crate::limits::{ErrorBudget, Lockout};
use crate::quota::Quotas;
use crate::refusal::{method_name, Refusal, RefusalReason, MAX_QUEUED};
use crate::reply::Reply;
use crate::rng::SplitMix64;
use crate::{BindError, ClientKey, Output, RelayRequestId, Transport};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::Instant;
use stun_types::attribute::{
    Attribute, AttributeType, ErrorCode, Nonce, PasswordAlgorithms, Realm, Software,
};
use stun_types::message::{
    Message, MessageClass, MessageHeader, StunParseError, TransactionId, BINDING,
};
use turn_types::message::{ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, REFRESH, SEND};

/// Requests longer than this get 400 without further parsing: no legitimate request comes
/// close, and it keeps every integrity offset far from the codec's 16-bit arithmetic.
const MAX_REQUEST_LEN: usize = 16 * 1024;
/// Largest peer payload that still fits a Data indication (16-bit STUN length).
pub(crate) const MAX_DATA_INDICATION_PAYLOAD: usize = 65_535 - 64;

/// The comprehension-required attributes we understand in requests. Others get 420.
const KNOWN_REQUIRED: [u16; 20] = [
    0x0003, // CHANGE-REQUEST (RFC 5780; ignored, we have no alternate address)
    0x0006, // USERNAME
    0x0008, // MESSAGE-INTEGRITY
    0x000C, // CHANNEL-NUMBER
    0x000D, // LIFETIME
    0x0012, // XOR-PEER-ADDRESS
    0x0013, // DATA
    0x0014, // REALM
    0x0015, // NONCE
    0x0017, // REQUESTED-ADDRESS-FAMILY
    0x0018, // EVEN-PORT (508)
    0x0019, // REQUESTED-TRANSPORT
    0x001A, // DONT-FRAGMENT (accepted, no-op)
    0x001C, // MESSAGE-INTEGRITY-SHA256
    0x001D, // PASSWORD-ALGORITHM
    0x001E, // USERHASH (not supported: a USERNAME is still required)
    0x0022, // RESERVATION-TOKEN (508)
    0x0024, // PRIORITY (ICE; ignored)
    0x0025, // USE-CANDIDATE (ICE; ignored)
    0x0020, // XOR-MAPPED-ADDRESS (harmless in a request; ignored)
];

/// A `BindRelay` the server is waiting on, with what it needs to answer the Allocate.
pub(crate) struct PendingBind {
    pub(crate) key: ClientKey,
    pub(crate) tid: TransactionId,
    pub(crate) creds: Credentials,
    pub(crate) lifetime_secs: u32,
}

/// The sans-IO STUN/TURN server. See the crate docs for the contract.
pub struct Server {
    pub(crate) config: TurnConfig,
    pub(crate) software: Option<Software>,
    pub(crate) rng: SplitMix64,
    pub(crate) nonces: NonceMaker,
    pub(crate) allocations: HashMap<ClientKey, Allocation>,
    pub(crate) by_relay: HashMap<SocketAddr, ClientKey>,
    /// Allocations by the relayed address their clients were told: a peer address found
    /// here is reached in-process, never through a socket.
    pub(crate) by_advertised: HashMap<SocketAddr, ClientKey>,
    pub(crate) pending: HashMap<RelayRequestId, PendingBind>,
    /// Allocations per user and per client address, and revoked users (`quota.rs`).
    pub(crate) quotas: Quotas,
    timers: BinaryHeap<Reverse<(Instant, ClientKey)>>,
    pub(crate) next_request: u64,
    pub(crate) outputs: VecDeque<Output>,
    refusals: VecDeque<Refusal>,
    /// The time of the input being handled (every entry point sets it first).
    now: Option<Instant>,
    error_budget: ErrorBudget,
    lockout: Lockout,
    pub(crate) in_process_bytes: u64,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("allocations", &self.allocations.len())
            .field("pending", &self.pending.len())
            .field("outputs", &self.outputs.len())
            .finish_non_exhaustive()
    }
}

impl Server {
    /// A server with `config` (invalid values fall back to defaults, see
    /// [`TurnConfig::validate`]). `seed` drives the PRNG behind nonce keys and transaction
    /// ids: pass a random one in production, a fixed one in tests.
    pub fn new(config: TurnConfig, seed: u64) -> Server {
        let mut config = config.sanitized();
        let own = [Some(config.relay_ip), config.external_ip];
        for ip in own.into_iter().flatten().filter(|ip| !ip.is_unspecified()) {
            if !config.peer_policy.server_addrs.contains(&ip) {
                config.peer_policy.server_addrs.push(ip);
            }
        }
        let error_budget = ErrorBudget::new(config.error_reply_burst, config.error_reply_rate);
        let lockout = Lockout::new(
            config.lockout_failures,
            config.lockout_window,
            config.lockout_duration,
        );
        let mut rng = SplitMix64::new(seed);
        let nonces = NonceMaker::new(rng.bytes(), config.nonce_lifetime);
        let software = config
            .software
            .as_deref()
            .and_then(|s| Software::new(s).ok());
        Server {
            config,
            software,
            rng,
            nonces,
            allocations: HashMap::new(),
            by_relay: HashMap::new(),
            by_advertised: HashMap::new(),
            pending: HashMap::new(),
            quotas: Quotas::default(),
            timers: BinaryHeap::new(),
            next_request: 0,
            outputs: VecDeque::new(),
            refusals: VecDeque::new(),
            now: None,
            error_budget,
            lockout,
            in_process_bytes: 0,
        }
    }

    /// A UDP datagram, or ONE complete STUN message / ChannelData frame already cut from a
    /// TCP/TLS stream ([`crate::frame_len`]), from a client. `unix_now` (seconds) is only
    /// used to check the expiry of TURN REST usernames.
    pub fn handle_client(&mut self, key: ClientKey, data: &[u8], now: Instant, unix_now: u64) {
        self.observe(now);
        match data.first().map(|b| b >> 6) {
            Some(0) => self.client_stun(key, data, now, unix_now),
            Some(1) => self.client_channel_data(key, data, now),
            _ => {}
        }
    }

    /// The driver bound (or failed to bind) the relay socket asked for with
    /// [`Output::BindRelay`]. On success the Allocate is answered and the allocation starts
    /// relaying; on failure it gets 508 and is dropped. A socket for an allocation that
    /// is gone meanwhile is released at once.
    pub fn handle_relay_bound(
        &mut self,
        request: RelayRequestId,
        result: Result<SocketAddr, BindError>,
        now: Instant,
    ) {
        self.observe(now);
        let Some(pending) = self.pending.remove(&request) else {
            if let Ok(relay) = result {
                self.outputs.push_back(Output::ReleaseRelay { relay });
            }
            return;
        };
        match result {
            Ok(relay) if !self.by_relay.contains_key(&relay) => {
                self.finish_allocate(request, pending, relay, now)
            }
            // A driver bug (the same socket twice) must not merge two allocations.
            Ok(_) | Err(_) => {
                self.remove_allocation(&pending.key);
                let reply = Reply::error(ALLOCATE, pending.tid, ErrorCode::INSUFFICIENT_CAPACITY);
                self.send(pending.key, reply, Some(&pending.creds));
            }
        }
    }

    /// A client's TCP/TLS connection closed: its allocation is dropped at once (any
    /// transport is accepted, so a driver may also use this to evict a UDP client).
    pub fn handle_client_closed(&mut self, key: ClientKey, now: Instant) {
        self.observe(now);
        self.remove_allocation(&key);
    }

    /// Expire allocations (releasing their relays), permissions and channels due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.observe(now);
        while let Some(&Reverse((at, key))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(alloc) = self.allocations.get_mut(&key) else {
                continue;
            };
            if alloc.wake != at {
                continue; // superseded by an earlier entry for the same allocation
            }
            if now >= alloc.expires {
                self.remove_allocation(&key);
                continue;
            }
            alloc.sweep(now);
            let next = alloc.next_deadline();
            alloc.wake = next;
            self.timers.push(Reverse((next, key)));
        }
    }

    /// The earliest deadline: call [`Server::handle_timeout`] then. It may be early (a
    /// deadline that was pushed back), never late.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.peek().map(|Reverse((at, _))| *at)
    }

    /// The next thing to do, in the order the server produced them.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// The next refused request, oldest first (at most [`crate::MAX_QUEUED_REFUSALS`] are
    /// kept between drains). For counting and logging; nothing needs doing.
    pub fn poll_refusal(&mut self) -> Option<Refusal> {
        self.refusals.pop_front()
    }

    /// Payload bytes handed from one allocation to another in-process so far (a peer
    /// address that is one of our own relayed addresses; see [`Server::is_relayed_address`]).
    pub fn in_process_bytes(&self) -> u64 {
        self.in_process_bytes
    }

    /// Whether `addr` is the relayed address (XOR-RELAYED-ADDRESS) of a bound allocation.
    /// Data a client sends to such a peer is delivered to that allocation's client inside
    /// the server, as if it came from the sender's relayed address: no socket send to our
    /// own address ever happens.
    pub fn is_relayed_address(&self, addr: SocketAddr) -> bool {
        self.by_advertised.contains_key(&addr)
    }

    /// Record the input's time (nonce epoch, rate limits).
    pub(crate) fn observe(&mut self, now: Instant) {
        self.nonces.observe(now);
        self.now = Some(now);
    }

    /// Allocations, including ones whose relay socket is still being bound.
    pub fn allocation_count(&self) -> usize {
        self.allocations.len()
    }

    /// Whether `key` holds an unexpired allocation at `now` (its relay socket may still be
    /// being bound). A stream driver closes a connection without one: it holds a
    /// descriptor for nothing.
    pub fn has_allocation(&self, key: ClientKey, now: Instant) -> bool {
        self.allocations.get(&key).is_some_and(|a| now < a.expires)
    }

    /// Whether relay socket `relay` may send to `peer` at `now` (a live allocation with an
    /// unexpired permission for that IP). Every [`Output::ToPeer`] satisfies this.
    pub fn has_permission(&self, relay: SocketAddr, peer: IpAddr, now: Instant) -> bool {
        self.by_relay
            .get(&relay)
            .and_then(|key| self.allocations.get(key))
            .is_some_and(|a| a.is_live(now) && a.has_permission(peer, now))
    }

    // ---- internals shared with methods.rs ----

    fn client_stun(&mut self, key: ClientKey, data: &[u8], now: Instant, unix_now: u64) {
        let Ok(header) = MessageHeader::from_bytes(data) else {
            return;
        };
        let len = MessageHeader::LENGTH + usize::from(header.data_length());
        let Some(data) = data.get(..len) else {
            return; // truncated datagram: not a message
        };
        let (mtype, tid) = (header.get_type(), header.transaction_id());
        let request = mtype.class() == MessageClass::Request;
        if request && (len > MAX_REQUEST_LEN || header.data_length() % 4 != 0) {
            self.send(
                key,
                Reply::small_error(mtype.method(), tid, ErrorCode::BAD_REQUEST),
                None,
            );
            return;
        }
        match Message::from_bytes(data) {
            Ok(msg) if request => self.dispatch_request(key, &msg, now, unix_now),
            Ok(msg) if mtype.class() == MessageClass::Indication => {
                if msg.has_method(SEND) && self.unknown_required(&msg).is_empty() {
                    self.send_indication(key, &msg, now);
                }
            }
            Ok(_) | Err(StunParseError::FingerprintMismatch) => {}
            Err(_) if request => {
                let reply = Reply::small_error(mtype.method(), tid, ErrorCode::BAD_REQUEST);
                self.send(key, reply, None);
            }
            Err(_) => {}
        }
    }

    fn dispatch_request(&mut self, key: ClientKey, msg: &Message<'_>, now: Instant, unix: u64) {
        let method = msg.method();
        if method == BINDING {
            return self.binding(key, msg);
        }
        if ![ALLOCATE, REFRESH, CREATE_PERMISSION, CHANNEL_BIND].contains(&method) {
            let reply = Reply::small_error(method, msg.transaction_id(), ErrorCode::BAD_REQUEST);
            return self.send(key, reply, None);
        }
        let ip = key.client.ip();
        let lockout = &self.lockout;
        let quotas = &self.quotas;
        // The username of the live allocation a non-Allocate request is about.
        let held = (method != ALLOCATE)
            .then(|| self.allocations.get(&key))
            .flatten()
            .filter(|a| now < a.expires)
            .map(|a| a.username.as_str());
        let known = Known {
            locked: &|user| lockout.is_locked(ip, user, now),
            revoked: &|user| quotas.is_revoked(user),
            holds: &|username| held == Some(username),
        };
        let creds = match authenticate(&self.config, &self.nonces, msg, &key, (now, unix), &known) {
            Ok(creds) => creds,
            Err(failure) => return self.auth_failure(key, msg, failure, now),
        };
        self.lockout.succeeded(ip, &creds.username);
        let unknown = self.unknown_required(msg);
        if !unknown.is_empty() {
            let reply = Reply::unknown_attributes(method, msg.transaction_id(), &unknown);
            return self.send(key, reply, Some(&creds));
        }
        // An allocation past its lifetime is gone for every request, swept or not.
        if self.allocations.get(&key).is_some_and(|a| now >= a.expires) {
            self.remove_allocation(&key);
        }
        match method {
            ALLOCATE => self.allocate(key, msg, creds, now),
            REFRESH => self.refresh(key, msg, creds, now),
            CREATE_PERMISSION => self.create_permission(key, msg, creds, now),
            _ => self.channel_bind(key, msg, creds, now),
        }
    }

    /// 400, or 401/438 with REALM, a fresh NONCE and the PASSWORD-ALGORITHMS we offer;
    /// no SOFTWARE and no reason phrase (kept small: see [`Server::send`]). A wrong static
    /// password counts towards that (source, user) pair's lockout.
    fn auth_failure(
        &mut self,
        key: ClientKey,
        msg: &Message<'_>,
        failure: AuthFailure,
        now: Instant,
    ) {
        let tid = msg.transaction_id();
        let (code, reason) = match failure {
            AuthFailure::BadRequest => {
                let reply = Reply::small_error(msg.method(), tid, ErrorCode::BAD_REQUEST);
                return self.send(key, reply, None);
            }
            AuthFailure::Challenge => (ErrorCode::UNAUTHORIZED, RefusalReason::Challenge),
            AuthFailure::UnknownUser => (ErrorCode::UNAUTHORIZED, RefusalReason::BadCredentials),
            AuthFailure::WrongPassword { static_user } => {
                if let Some(user) = static_user {
                    self.lockout.failed(key.client.ip(), &user, now);
                }
                (ErrorCode::UNAUTHORIZED, RefusalReason::BadCredentials)
            }
            AuthFailure::LockedOut => (ErrorCode::UNAUTHORIZED, RefusalReason::LockedOut),
            AuthFailure::Revoked => (ErrorCode::UNAUTHORIZED, RefusalReason::Revoked),
            AuthFailure::StaleNonce => (ErrorCode::STALE_NONCE, RefusalReason::StaleNonce),
        };
        let mut reply = Reply::small_error(msg.method(), tid, code);
        reply.reason = Some(reason);
        let nonce = self.nonces.issue(&key, now);
        // Both are short and validated, so these never fail; if they did, no reply.
        if let (Ok(realm), Ok(nonce)) = (Realm::new(&self.config.realm), Nonce::new(&nonce)) {
            reply
                .add(&realm)
                .add(&nonce)
                .add(&PasswordAlgorithms::new(&OFFERED));
            self.send(key, reply, None);
        }
    }

    /// Comprehension-required attribute types in `msg` that we do not understand.
    pub(crate) fn unknown_required(&self, msg: &Message<'_>) -> Vec<AttributeType> {
        let mut unknown: Vec<AttributeType> = msg
            .iter_attributes()
            .map(|(_, raw)| raw.get_type())
            .filter(|t| t.comprehension_required() && !KNOWN_REQUIRED.contains(&t.value()))
            .collect();
        unknown.dedup();
        unknown.truncate(16);
        unknown
    }

    /// Queue a finished reply to `key` (dropped if it failed to encode). An error
    /// response is recorded as a [`Refusal`]. An error response to an unauthenticated
    /// request (`creds` is `None`) goes without SOFTWARE, and over UDP only within the
    /// source prefix's error budget ([`TurnConfig::error_reply_burst`]): its source may be
    /// spoofed and the reply is larger than the request, so unbudgeted it would make us a
    /// reflection amplifier. Over TCP/TLS the handshake proved the source.
    pub(crate) fn send(&mut self, key: ClientKey, reply: Reply, creds: Option<&Credentials>) {
        let small = reply.code.is_some() && creds.is_none();
        if let (Some(code), Some(reason)) = (reply.code, reply.reason) {
            let method = method_name(reply.method());
            // `now` is set by every entry point before anything is sent.
            let budgeted = match self.now {
                Some(now) if small && key.transport == Transport::Udp => {
                    self.error_budget.take(key.client.ip(), now)
                }
                _ => true,
            };
            if !budgeted {
                let reason = RefusalReason::RateLimited;
                return self.refused(Refusal {
                    key,
                    method,
                    reason,
                    code: 0,
                });
            }
            self.refused(Refusal {
                key,
                method,
                reason,
                code,
            });
        }
        let software = if small { None } else { self.software.as_ref() };
        if let Some(data) = reply.finish(software, creds) {
            self.outputs.push_back(Output::ToClient { key, data });
        }
    }

    /// Queue a refusal for [`Server::poll_refusal`] (dropped when the queue is full).
    fn refused(&mut self, refusal: Refusal) {
        if self.refusals.len() < MAX_QUEUED {
            self.refusals.push_back(refusal);
        }
    }

    /// Queue a ready-made output.
    pub(crate) fn push(&mut self, output: Output) {
        self.outputs.push_back(output);
    }

    /// Re-arm `key`'s timer if its earliest deadline moved earlier than the armed one.
    pub(crate) fn schedule(&mut self, key: ClientKey) {
        if let Some(alloc) = self.allocations.get_mut(&key) {
            let next = alloc.next_deadline();
            if next < alloc.wake {
                alloc.wake = next;
                self.timers.push(Reverse((next, key)));
            }
        }
    }

    /// Insert a new allocation and arm its timer.
    pub(crate) fn insert_allocation(&mut self, key: ClientKey, alloc: Allocation) {
        self.quotas.add(&alloc.user, key);
        let wake = alloc.next_deadline();
        self.allocations.insert(key, alloc);
        if let Some(alloc) = self.allocations.get_mut(&key) {
            alloc.wake = wake;
        }
        self.timers.push(Reverse((wake, key)));
    }

    /// Drop `key`'s allocation, releasing its relay socket or abandoning its pending bind.
    pub(crate) fn remove_allocation(&mut self, key: &ClientKey) {
        let Some(alloc) = self.allocations.remove(key) else {
            return;
        };
        if let Some(relay) = alloc.relay {
            self.by_relay.remove(&relay);
            self.outputs.push_back(Output::ReleaseRelay { relay });
        }
        if let Some(advertised) = alloc.advertised {
            if self.by_advertised.get(&advertised) == Some(key) {
                self.by_advertised.remove(&advertised);
            }
        }
        if let Some(request) = alloc.pending {
            self.pending.remove(&request);
        }
        self.quotas.remove(&alloc.user, *key);
    }

    /// A request id for a new `BindRelay`.
    pub(crate) fn next_request_id(&mut self) -> RelayRequestId {
        self.next_request += 1;
        RelayRequestId(self.next_request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stun_types::attribute::AttributeStaticType;
    use turn_types::attribute::XorPeerAddress;

    #[test]
    fn known_required_are_required() {
        for t in KNOWN_REQUIRED {
            assert!(AttributeType::new(t).comprehension_required());
        }
        assert!(KNOWN_REQUIRED.contains(&XorPeerAddress::TYPE.value()));
    }
}
