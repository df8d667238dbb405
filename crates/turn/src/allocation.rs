//! One allocation's state: its relay, lifetime, permissions and channel bindings, and the
//! rules that govern them (RFC 8656 §9, §11, §12).
//!
//! Times are absolute `Instant` deadlines. Something whose deadline has passed is dead
//! at once for every decision (a permission at `expires` no longer lets data through);
//! [`Allocation::sweep`] only reclaims memory later. A channel, once expired, stays
//! reserved for [`CHANNEL_GUARD`] more: during that time neither its number nor its peer
//! may be bound to anything else, but rebinding the same pair revives it (RFC 8656 §12).

use crate::RelayRequestId;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use stun_types::message::TransactionId;

/// Permission lifetime (RFC 8656 §9: 300 s).
pub(crate) const PERMISSION_LIFETIME: Duration = Duration::from_secs(300);
/// Channel binding lifetime (RFC 8656 §12: 600 s).
pub(crate) const CHANNEL_LIFETIME: Duration = Duration::from_secs(600);
/// How long an expired channel's number and peer stay reserved (RFC 8656 §12: 5 min).
pub(crate) const CHANNEL_GUARD: Duration = Duration::from_secs(300);
/// Permissions per allocation; a CreatePermission or ChannelBind that would exceed it gets
/// 508 Insufficient Capacity.
pub const MAX_PERMISSIONS: usize = 1000;
/// Channel bindings per allocation (expired ones in their guard time included); 508 beyond.
pub const MAX_CHANNELS: usize = 1000;

/// A channel binding.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Channel {
    pub(crate) peer: SocketAddr,
    pub(crate) expires: Instant,
}

/// A permission (RFC 8656 §9) for one peer IP.
#[derive(Clone, Copy, Debug)]
struct Permission {
    expires: Instant,
    /// Granted only for one of the server's own relayed addresses (see
    /// [`Allocation::permitted`]).
    in_process_only: bool,
}

/// Why a ChannelBind cannot be honoured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BindConflict {
    /// The number is bound (or reserved) for another peer, or the peer for another number:
    /// 400 Bad Request.
    Rebind,
    /// [`MAX_CHANNELS`] or [`MAX_PERMISSIONS`] reached: 508.
    Full,
}

/// One allocation, keyed by its client's 5-tuple in the server.
#[derive(Debug)]
pub(crate) struct Allocation {
    /// The username that created it; every later request on it must use the same one.
    pub(crate) username: String,
    /// The user it counts under (see `quota.rs`): the username, or a REST username's user.
    pub(crate) user: String,
    /// Created with a REST username: revoking its user deletes it.
    pub(crate) revocable: bool,
    /// The bound relay socket; `None` while the driver is binding it.
    pub(crate) relay: Option<SocketAddr>,
    /// The outstanding `BindRelay` while `relay` is `None`.
    pub(crate) pending: Option<RelayRequestId>,
    pub(crate) expires: Instant,
    /// The Allocate that created it, to recognise retransmissions.
    pub(crate) allocate_tid: TransactionId,
    /// The success response, resent verbatim to a retransmitted Allocate.
    pub(crate) allocate_response: Option<Vec<u8>>,
    /// Whether the relay is IPv4 (peers must be of the same family).
    pub(crate) ipv4: bool,
    /// The relayed address the client was told (XOR-RELAYED-ADDRESS), once bound: what
    /// other clients name as their peer to reach this allocation in-process.
    pub(crate) advertised: Option<SocketAddr>,
    permissions: HashMap<IpAddr, Permission>,
    channels: HashMap<u16, Channel>,
    peer_channels: HashMap<SocketAddr, u16>,
    /// The time of this allocation's live entry in the server's timer heap.
    pub(crate) wake: Instant,
}

impl Allocation {
    pub(crate) fn new(
        username: String,
        pending: RelayRequestId,
        expires: Instant,
        allocate_tid: TransactionId,
        ipv4: bool,
    ) -> Self {
        Allocation {
            user: username.clone(),
            revocable: false,
            username,
            relay: None,
            pending: Some(pending),
            expires,
            allocate_tid,
            allocate_response: None,
            ipv4,
            advertised: None,
            permissions: HashMap::new(),
            channels: HashMap::new(),
            peer_channels: HashMap::new(),
            wake: expires,
        }
    }

    /// Counts it under `user` (`revocable` if that is a REST user) instead of its username.
    pub(crate) fn owned_by(mut self, user: String, revocable: bool) -> Self {
        self.user = user;
        self.revocable = revocable;
        self
    }

    /// Whether the allocation is bound and not expired: it may relay data.
    pub(crate) fn is_live(&self, now: Instant) -> bool {
        self.relay.is_some() && now < self.expires
    }

    /// Whether `ip` has an unexpired permission.
    pub(crate) fn has_permission(&self, ip: IpAddr, now: Instant) -> bool {
        self.permitted(ip, now).is_some()
    }

    /// `Some(in_process_only)` if `ip` has an unexpired permission; `in_process_only` says
    /// it was granted only because the peer named one of the server's own relayed
    /// addresses, so data to `ip` may only be handed to another allocation, never sent.
    pub(crate) fn permitted(&self, ip: IpAddr, now: Instant) -> Option<bool> {
        self.permissions
            .get(&ip)
            .filter(|p| now < p.expires)
            .map(|p| p.in_process_only)
    }

    /// Whether installing permissions for `ips` stays within [`MAX_PERMISSIONS`].
    pub(crate) fn permissions_fit(&self, ips: &[IpAddr]) -> bool {
        let new = ips
            .iter()
            .filter(|ip| !self.permissions.contains_key(ip))
            .count();
        self.permissions.len() + new <= MAX_PERMISSIONS
    }

    /// Install or refresh a permission for `ip` until `now + 300 s` (`in_process_only`: see
    /// [`Allocation::permitted`]; for one allocation it is a function of `ip` alone).
    pub(crate) fn permit(&mut self, ip: IpAddr, now: Instant, in_process_only: bool) {
        let expires = now + PERMISSION_LIFETIME;
        self.permissions.insert(
            ip,
            Permission {
                expires,
                in_process_only,
            },
        );
    }

    /// The live channel bound to `peer`, if any.
    pub(crate) fn channel_for_peer(&self, peer: SocketAddr, now: Instant) -> Option<u16> {
        let number = *self.peer_channels.get(&peer)?;
        let channel = self.channels.get(&number)?;
        (now < channel.expires).then_some(number)
    }

    /// The peer of live channel `number`, if any.
    pub(crate) fn peer_for_channel(&self, number: u16, now: Instant) -> Option<SocketAddr> {
        let channel = self.channels.get(&number)?;
        (now < channel.expires).then_some(channel.peer)
    }

    /// Bind (or refresh) `number` to `peer` for 600 s and refresh the peer's permission.
    pub(crate) fn bind_channel(
        &mut self,
        number: u16,
        peer: SocketAddr,
        now: Instant,
        in_process_only: bool,
    ) -> Result<(), BindConflict> {
        if self.channels.get(&number).is_some_and(|c| c.peer != peer)
            || self.peer_channels.get(&peer).is_some_and(|&n| n != number)
        {
            return Err(BindConflict::Rebind);
        }
        if !self.channels.contains_key(&number) && self.channels.len() >= MAX_CHANNELS
            || !self.permissions_fit(&[peer.ip()])
        {
            return Err(BindConflict::Full);
        }
        self.channels.insert(
            number,
            Channel {
                peer,
                expires: now + CHANNEL_LIFETIME,
            },
        );
        self.peer_channels.insert(peer, number);
        self.permit(peer.ip(), now, in_process_only);
        Ok(())
    }

    /// Forget expired permissions and channels whose guard time is over.
    pub(crate) fn sweep(&mut self, now: Instant) {
        self.permissions.retain(|_, p| now < p.expires);
        let peer_channels = &mut self.peer_channels;
        self.channels.retain(|_, channel| {
            let keep = now < channel.expires + CHANNEL_GUARD;
            if !keep {
                peer_channels.remove(&channel.peer);
            }
            keep
        });
    }

    /// The earliest instant at which something here expires or can be reclaimed.
    pub(crate) fn next_deadline(&self) -> Instant {
        let permissions = self.permissions.values().map(|p| p.expires);
        let channels = self.channels.values().map(|c| c.expires + CHANNEL_GUARD);
        permissions.chain(channels).fold(self.expires, Instant::min)
    }

    /// Permission and channel counts (for tests and metrics).
    #[cfg(test)]
    pub(crate) fn counts(&self) -> (usize, usize) {
        (self.permissions.len(), self.channels.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alloc(now: Instant) -> Allocation {
        let mut a = Allocation::new(
            "u".into(),
            RelayRequestId(1),
            now + CHANNEL_LIFETIME,
            1.into(),
            true,
        );
        a.relay = Some(([198, 51, 100, 1], 50000).into());
        a
    }

    #[test]
    fn permissions_expire_at_their_deadline() {
        let t0 = Instant::now();
        let mut a = alloc(t0);
        let ip: IpAddr = [8, 8, 8, 8].into();
        a.permit(ip, t0, false);
        assert!(a.has_permission(ip, t0 + Duration::from_secs(299)));
        assert!(!a.has_permission(ip, t0 + PERMISSION_LIFETIME));
        assert_eq!(a.next_deadline(), t0 + PERMISSION_LIFETIME);
        a.sweep(t0 + PERMISSION_LIFETIME);
        assert_eq!(a.counts(), (0, 0));
    }

    #[test]
    fn channel_rebinding_rules_and_guard() {
        let t0 = Instant::now();
        let mut a = alloc(t0);
        let p1: SocketAddr = ([8, 8, 8, 8], 1).into();
        let p2: SocketAddr = ([8, 8, 8, 8], 2).into();
        assert_eq!(a.bind_channel(0x4000, p1, t0, false), Ok(()));
        assert_eq!(a.bind_channel(0x4000, p1, t0, false), Ok(())); // refresh
        assert_eq!(
            a.bind_channel(0x4000, p2, t0, false),
            Err(BindConflict::Rebind)
        );
        assert_eq!(
            a.bind_channel(0x4001, p1, t0, false),
            Err(BindConflict::Rebind)
        );
        assert_eq!(a.channel_for_peer(p1, t0), Some(0x4000));
        let expired = t0 + CHANNEL_LIFETIME;
        assert_eq!(a.peer_for_channel(0x4000, expired), None);
        a.sweep(expired);
        // Still reserved during the guard time.
        assert_eq!(
            a.bind_channel(0x4000, p2, expired, false),
            Err(BindConflict::Rebind)
        );
        let later = expired + CHANNEL_GUARD;
        a.sweep(later);
        assert_eq!(a.counts(), (0, 0));
        assert_eq!(a.bind_channel(0x4000, p2, later, false), Ok(()));
    }
}
