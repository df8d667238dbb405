//! The STUN/TURN method handlers: Binding, Allocate, Refresh, CreatePermission,
//! ChannelBind and the Send indication. Each request reaching a TURN handler here has
//! already passed authentication and the unknown-attribute check (`server.rs`), so every
//! response below is signed with the request's credentials.

use crate::allocation::{Allocation, BindConflict};
use crate::auth::Credentials;
use crate::framing::CHANNEL_RANGE;
use crate::refusal::RefusalReason;
use crate::reply::Reply;
use crate::server::{PendingBind, Server};
use crate::{ClientKey, Output, RelayRequestId};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use stun_types::attribute::{
    Attribute, AttributeFromRaw, AttributeStaticType, ErrorCode, XorMappedAddress,
};
use stun_types::message::{Message, Method, TransactionId, BINDING};
use stun_types::AddressFamily;
use turn_types::attribute::{
    ChannelNumber, Data as DataAttr, EvenPort, Lifetime, RequestedAddressFamily,
    RequestedTransport, ReservationToken, XorPeerAddress, XorRelayedAddress,
};
use turn_types::message::{ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, REFRESH};

impl Server {
    /// Binding request: XOR-MAPPED-ADDRESS, no authentication.
    pub(crate) fn binding(&mut self, key: ClientKey, msg: &Message<'_>) {
        let tid = msg.transaction_id();
        let unknown = self.unknown_required(msg);
        if !unknown.is_empty() {
            return self.send(key, Reply::unknown_attributes(BINDING, tid, &unknown), None);
        }
        let mut reply = Reply::success(BINDING, tid);
        reply.add(&XorMappedAddress::new(key.client, tid));
        self.send(key, reply, None);
    }

    /// An error response signed with the request's credentials.
    fn reject(
        &mut self,
        key: ClientKey,
        method: Method,
        tid: TransactionId,
        code: u16,
        creds: &Credentials,
    ) {
        self.send(key, Reply::error(method, tid, code), Some(creds));
    }

    /// Allocate (RFC 8656 §7.2): checks in the RFC's order, then asks the driver for a
    /// relay socket; the success response goes out from `handle_relay_bound`.
    pub(crate) fn allocate(
        &mut self,
        key: ClientKey,
        msg: &Message<'_>,
        creds: Credentials,
        now: Instant,
    ) {
        let tid = msg.transaction_id();
        if let Some(alloc) = self.allocations.get(&key) {
            if alloc.allocate_tid == tid {
                // A retransmission: resend the cached success, or wait for the bind.
                if let Some(data) = alloc.allocate_response.clone() {
                    self.push(Output::ToClient { key, data });
                }
                return;
            }
            return self.reject(key, ALLOCATE, tid, ErrorCode::ALLOCATION_MISMATCH, &creds);
        }
        let even_port = match self.allocate_checks(msg) {
            Ok(even) => even,
            Err(code) => return self.reject(key, ALLOCATE, tid, code, &creds),
        };
        let quota = ErrorCode::ALLOCATION_QUOTA_REACHED;
        if self.quotas.user_count(&creds.user) >= self.config.user_quota {
            return self.reject(key, ALLOCATE, tid, quota, &creds);
        }
        if self.quotas.ip_count(key.client.ip()) >= self.config.ip_quota {
            let mut reply = Reply::error(ALLOCATE, tid, quota);
            reply.reason = Some(RefusalReason::IpQuota);
            return self.send(key, reply, Some(&creds));
        }
        if self.allocations.len() >= self.config.max_allocations {
            return self.reject(key, ALLOCATE, tid, ErrorCode::INSUFFICIENT_CAPACITY, &creds);
        }
        let Ok(lifetime_secs) = self.desired_lifetime(msg) else {
            return self.reject(key, ALLOCATE, tid, ErrorCode::BAD_REQUEST, &creds);
        };
        let lifetime = Duration::from_secs(u64::from(lifetime_secs));
        let request = self.next_request_id();
        let ipv4 = self.config.relay_ip.is_ipv4();
        let alloc = Allocation::new(creds.username.clone(), request, now + lifetime, tid, ipv4)
            .owned_by(creds.user.clone(), creds.revocable);
        self.insert_allocation(key, alloc);
        self.pending.insert(
            request,
            PendingBind {
                key,
                tid,
                creds,
                lifetime_secs,
            },
        );
        self.push(Output::BindRelay {
            request,
            ip: self.config.relay_ip,
            even_port,
        });
    }

    /// REQUESTED-TRANSPORT (400/442), RESERVATION-TOKEN (400/508: we reserve no ports),
    /// EVEN-PORT (honoured with R=0: `Ok(true)` asks the driver for an even port; R=1
    /// would reserve the next port too, which we do not, so 508), REQUESTED-ADDRESS-FAMILY
    /// (400/440). DONT-FRAGMENT is accepted and ignored: relay sockets keep their defaults.
    fn allocate_checks(&self, msg: &Message<'_>) -> Result<bool, u16> {
        let raw = msg
            .raw_attribute(RequestedTransport::TYPE)
            .ok_or(ErrorCode::BAD_REQUEST)?;
        let transport =
            RequestedTransport::from_raw_ref(&raw).map_err(|_| ErrorCode::BAD_REQUEST)?;
        if transport.protocol() != RequestedTransport::UDP {
            return Err(ErrorCode::UNSUPPORTED_TRANSPORT_PROTOCOL);
        }
        let has_family = msg.has_attribute(RequestedAddressFamily::TYPE);
        if msg.has_attribute(ReservationToken::TYPE) {
            if msg.has_attribute(EvenPort::TYPE) || has_family {
                return Err(ErrorCode::BAD_REQUEST);
            }
            return Err(ErrorCode::INSUFFICIENT_CAPACITY);
        }
        let even_port = match msg.raw_attribute(EvenPort::TYPE) {
            None => false,
            Some(raw) => {
                let even = EvenPort::from_raw_ref(&raw).map_err(|_| ErrorCode::BAD_REQUEST)?;
                if even.requested() {
                    return Err(ErrorCode::INSUFFICIENT_CAPACITY);
                }
                true
            }
        };
        if let Some(raw) = msg.raw_attribute(RequestedAddressFamily::TYPE) {
            let family = RequestedAddressFamily::from_raw_ref(&raw)
                .map_err(|_| ErrorCode::BAD_REQUEST)?
                .family();
            if (family == AddressFamily::IPV4) != self.config.relay_ip.is_ipv4() {
                return Err(ErrorCode::ADDRESS_FAMILY_NOT_SUPPORTED);
            }
        }
        Ok(even_port)
    }

    /// LIFETIME per RFC 8656 §7.2/§7.3: 0 stays 0 (Refresh deletes), else
    /// `max(default, min(requested, max))`; absent means the default. `Err` if malformed.
    fn desired_lifetime(&self, msg: &Message<'_>) -> Result<u32, ()> {
        let secs = |d: Duration| u32::try_from(d.as_secs()).unwrap_or(u32::MAX);
        let (default, max) = (
            secs(self.config.default_lifetime),
            secs(self.config.max_lifetime),
        );
        match msg.raw_attribute(Lifetime::TYPE) {
            None => Ok(default),
            Some(raw) => match Lifetime::from_raw_ref(&raw).map_err(|_| ())?.seconds() {
                0 => Ok(0),
                asked => Ok(asked.min(max).max(default)),
            },
        }
    }

    /// The relay socket for a pending Allocate is bound: answer it and start relaying.
    pub(crate) fn finish_allocate(
        &mut self,
        request: RelayRequestId,
        pending: PendingBind,
        relay: SocketAddr,
        now: Instant,
    ) {
        let key = pending.key;
        let Some(alloc) = self
            .allocations
            .get_mut(&key)
            .filter(|a| a.pending == Some(request))
        else {
            return self.push(Output::ReleaseRelay { relay });
        };
        let ip = match (self.config.external_ip, relay.ip()) {
            (Some(external), _) => external,
            (None, ip) if ip.is_unspecified() => key.local.ip(),
            (None, ip) => ip,
        };
        let advertised = SocketAddr::new(ip, relay.port());
        alloc.relay = Some(relay);
        alloc.advertised = Some(advertised);
        alloc.pending = None;
        alloc.expires = now + Duration::from_secs(u64::from(pending.lifetime_secs));
        let tid = pending.tid;
        let mut reply = Reply::success(ALLOCATE, tid);
        reply
            .add(&XorRelayedAddress::new(advertised, tid))
            .add(&Lifetime::new(pending.lifetime_secs))
            .add(&XorMappedAddress::new(key.client, tid));
        let data = reply.finish(self.software.as_ref(), Some(&pending.creds));
        alloc.allocate_response.clone_from(&data);
        self.by_relay.insert(relay, key);
        self.by_advertised.entry(advertised).or_insert(key);
        if let Some(data) = data {
            self.push(Output::ToClient { key, data });
        }
        self.schedule(key);
    }

    /// 437 if there is no bound allocation on this 5-tuple, 441 if it belongs to another
    /// username; then the allocation's relay family (true for IPv4).
    fn owned(&self, key: &ClientKey, creds: &Credentials) -> Result<bool, u16> {
        match self.allocations.get(key) {
            Some(a) if a.relay.is_none() => Err(ErrorCode::ALLOCATION_MISMATCH),
            Some(a) if a.username != creds.username => Err(ErrorCode::WRONG_CREDENTIALS),
            Some(a) => Ok(a.ipv4),
            None => Err(ErrorCode::ALLOCATION_MISMATCH),
        }
    }

    /// Refresh (RFC 8656 §7.3): LIFETIME 0 deletes, anything else extends.
    pub(crate) fn refresh(
        &mut self,
        key: ClientKey,
        msg: &Message<'_>,
        creds: Credentials,
        now: Instant,
    ) {
        let tid = msg.transaction_id();
        let checked = self.owned(&key, &creds).and_then(|ipv4| {
            if let Some(raw) = msg.raw_attribute(RequestedAddressFamily::TYPE) {
                let family = RequestedAddressFamily::from_raw_ref(&raw)
                    .map_err(|_| ErrorCode::BAD_REQUEST)?
                    .family();
                if (family == AddressFamily::IPV4) != ipv4 {
                    return Err(ErrorCode::PEER_ADDRESS_FAMILY_MISMATCH);
                }
            }
            self.desired_lifetime(msg)
                .map_err(|_| ErrorCode::BAD_REQUEST)
        });
        let secs = match checked {
            Ok(secs) => secs,
            Err(code) => return self.reject(key, REFRESH, tid, code, &creds),
        };
        if secs == 0 {
            self.remove_allocation(&key);
        } else if let Some(alloc) = self.allocations.get_mut(&key) {
            alloc.expires = now + Duration::from_secs(u64::from(secs));
            self.schedule(key);
        }
        let mut reply = Reply::success(REFRESH, tid);
        reply.add(&Lifetime::new(secs));
        self.send(key, reply, Some(&creds));
    }

    /// Every XOR-PEER-ADDRESS in `msg`, decoded; `Err` if one is malformed.
    fn peer_addresses(msg: &Message<'_>) -> Result<Vec<SocketAddr>, ()> {
        let tid = msg.transaction_id();
        msg.iter_attributes()
            .filter(|(_, raw)| raw.get_type() == XorPeerAddress::TYPE)
            .map(|(_, raw)| {
                XorPeerAddress::from_raw_ref(&raw)
                    .map(|a| a.addr(tid))
                    .map_err(|_| ())
            })
            .collect()
    }

    /// 443 for a peer of the other family, 403 for one the policy forbids unless it is
    /// the relayed address of another allocation here. `Ok(in_process_only)`: `true` when
    /// only that exception let it pass, so its permission may carry data only to our own
    /// relayed addresses (in-process), never through a socket: two relay-only clients
    /// reach each other while every other address of ours stays unreachable.
    fn check_peer(&self, key: &ClientKey, ipv4: bool, peer: SocketAddr) -> Result<bool, u16> {
        if peer.is_ipv4() != ipv4 {
            return Err(ErrorCode::PEER_ADDRESS_FAMILY_MISMATCH);
        }
        if self.config.local_services.contains(&peer) {
            return Ok(true); // in-process only: the rest of that address stays closed
        }
        if self
            .config
            .peer_policy
            .allows_from(peer.ip(), key.local.ip())
        {
            return Ok(false);
        }
        match self.by_advertised.get(&peer) {
            Some(owner) if owner != key => Ok(true),
            _ => Err(ErrorCode::FORBIDDEN),
        }
    }

    /// CreatePermission (RFC 8656 §9): all XOR-PEER-ADDRESSes are checked before any is
    /// installed, so a rejected request changes nothing.
    pub(crate) fn create_permission(
        &mut self,
        key: ClientKey,
        msg: &Message<'_>,
        creds: Credentials,
        now: Instant,
    ) {
        let tid = msg.transaction_id();
        let checked = self.owned(&key, &creds).and_then(|ipv4| {
            let peers = Self::peer_addresses(msg).map_err(|_| ErrorCode::BAD_REQUEST)?;
            if peers.is_empty() {
                return Err(ErrorCode::BAD_REQUEST);
            }
            peers
                .iter()
                .map(|&p| Ok((p.ip(), self.check_peer(&key, ipv4, p)?)))
                .collect::<Result<Vec<(IpAddr, bool)>, u16>>()
        });
        let permits = match checked {
            Ok(permits) => permits,
            Err(code) => return self.reject(key, CREATE_PERMISSION, tid, code, &creds),
        };
        let Some(alloc) = self.allocations.get_mut(&key) else {
            return;
        };
        let ips: Vec<IpAddr> = permits.iter().map(|&(ip, _)| ip).collect();
        if !alloc.permissions_fit(&ips) {
            let code = ErrorCode::INSUFFICIENT_CAPACITY;
            return self.reject(key, CREATE_PERMISSION, tid, code, &creds);
        }
        for (ip, in_process_only) in permits {
            alloc.permit(ip, now, in_process_only);
        }
        self.schedule(key);
        self.send(key, Reply::success(CREATE_PERMISSION, tid), Some(&creds));
    }

    /// ChannelBind (RFC 8656 §11): binds or refreshes a channel for 600 s and the peer's
    /// permission for 300 s.
    pub(crate) fn channel_bind(
        &mut self,
        key: ClientKey,
        msg: &Message<'_>,
        creds: Credentials,
        now: Instant,
    ) {
        let tid = msg.transaction_id();
        let checked = self.owned(&key, &creds).and_then(|ipv4| {
            let raw = msg
                .raw_attribute(ChannelNumber::TYPE)
                .ok_or(ErrorCode::BAD_REQUEST)?;
            let number = ChannelNumber::from_raw_ref(&raw)
                .map_err(|_| ErrorCode::BAD_REQUEST)?
                .channel();
            if !CHANNEL_RANGE.contains(&number) {
                return Err(ErrorCode::BAD_REQUEST);
            }
            let peers = Self::peer_addresses(msg).map_err(|_| ErrorCode::BAD_REQUEST)?;
            let [peer] = peers[..] else {
                return Err(ErrorCode::BAD_REQUEST);
            };
            let in_process_only = self.check_peer(&key, ipv4, peer)?;
            Ok((number, peer, in_process_only))
        });
        let (number, peer, in_process_only) = match checked {
            Ok(bind) => bind,
            Err(code) => return self.reject(key, CHANNEL_BIND, tid, code, &creds),
        };
        let Some(alloc) = self.allocations.get_mut(&key) else {
            return;
        };
        let code = match alloc.bind_channel(number, peer, now, in_process_only) {
            Ok(()) => {
                self.schedule(key);
                return self.send(key, Reply::success(CHANNEL_BIND, tid), Some(&creds));
            }
            Err(BindConflict::Rebind) => ErrorCode::BAD_REQUEST,
            Err(BindConflict::Full) => ErrorCode::INSUFFICIENT_CAPACITY,
        };
        self.reject(key, CHANNEL_BIND, tid, code, &creds);
    }

    /// Send indication (RFC 8656 §10.2): DATA to XOR-PEER-ADDRESS if permitted, else
    /// silently dropped (indications are never answered).
    pub(crate) fn send_indication(&mut self, key: ClientKey, msg: &Message<'_>, now: Instant) {
        let Some(alloc) = self.allocations.get(&key) else {
            return;
        };
        let Some(relay) = alloc.relay.filter(|_| alloc.is_live(now)) else {
            return;
        };
        let Ok(peer) = msg.attribute::<XorPeerAddress>() else {
            return;
        };
        let peer = peer.addr(msg.transaction_id());
        let Some(data) = msg.raw_attribute(DataAttr::TYPE) else {
            return;
        };
        if let Some(in_process_only) = alloc.permitted(peer.ip(), now) {
            let from = alloc.advertised.unwrap_or(relay);
            self.relay_out(relay, from, peer, &data.value, in_process_only, now);
        }
    }
}
