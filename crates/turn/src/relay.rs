//! The data path: what clients send their peers (ChannelData, and Send indications via
//! `methods.rs`), what peers send back, and the in-process hand-overs (to another
//! allocation here, to a service of this process) that never touch a socket.

use crate::framing::{channel_data, parse_channel_data};
use crate::reply::Reply;
use crate::server::{Server, MAX_DATA_INDICATION_PAYLOAD};
use crate::{ClientKey, Output};
use std::net::SocketAddr;
use std::time::Instant;
use stun_types::message::TransactionId;
use turn_types::attribute::{Data as DataAttr, XorPeerAddress};
use turn_types::message::DATA;

impl Server {
    /// A datagram that arrived on relay socket `relay` from `peer`: relayed to the client
    /// as ChannelData if a live channel is bound to `peer`, else as a Data indication if
    /// `peer`'s IP has a permission, else dropped.
    pub fn handle_peer(&mut self, relay: SocketAddr, peer: SocketAddr, data: &[u8], now: Instant) {
        let Some(&key) = self.by_relay.get(&relay) else {
            return;
        };
        self.deliver(key, peer, data, now);
    }

    /// A datagram from the service of this process at `from` (one of
    /// [`TurnConfig::local_services`]) for the allocation whose relayed address (as its
    /// client was told it) is `to`: relayed to that client by [`Server::handle_peer`]'s
    /// rules. Anything else is dropped.
    pub fn handle_local(&mut self, from: SocketAddr, to: SocketAddr, data: &[u8], now: Instant) {
        self.observe(now);
        if !self.config.local_services.contains(&from) {
            return;
        }
        if let Some(&key) = self.by_advertised.get(&to) {
            self.in_process_bytes += data.len() as u64;
            self.deliver(key, from, data, now);
        }
    }

    /// Data from `peer` for `key`'s client, by [`Server::handle_peer`]'s rules.
    fn deliver(&mut self, key: ClientKey, peer: SocketAddr, data: &[u8], now: Instant) {
        let Some(alloc) = self.allocations.get(&key) else {
            return;
        };
        if !alloc.is_live(now) || !alloc.has_permission(peer.ip(), now) {
            return;
        }
        let frame = match alloc.channel_for_peer(peer, now) {
            Some(number) => channel_data(number, data, key.transport.is_stream()),
            None if data.len() <= MAX_DATA_INDICATION_PAYLOAD => {
                let tid = TransactionId::from(self.rng.next_u128());
                let mut reply = Reply::indication(DATA, tid);
                reply
                    .add(&XorPeerAddress::new(peer, tid))
                    .add(&DataAttr::new(data));
                reply.finish_bare()
            }
            None => None,
        };
        if let Some(data) = frame {
            self.outputs.push_back(Output::ToClient { key, data });
        }
    }

    /// Client ChannelData: to the channel's peer if bound, live and permitted.
    pub(crate) fn client_channel_data(&mut self, key: ClientKey, data: &[u8], now: Instant) {
        let Some((number, payload)) = parse_channel_data(data) else {
            return;
        };
        let Some(alloc) = self.allocations.get(&key) else {
            return;
        };
        let (Some(relay), Some(peer)) = (alloc.relay, alloc.peer_for_channel(number, now)) else {
            return;
        };
        if !alloc.is_live(now) {
            return;
        }
        if let Some(in_process_only) = alloc.permitted(peer.ip(), now) {
            let from = alloc.advertised.unwrap_or(relay);
            self.relay_out(relay, from, peer, payload, in_process_only, now);
        }
    }

    /// Data from a client, permitted, out to `peer`: handed in-process to the allocation
    /// whose relayed address `peer` is (arriving from the sender's relayed address
    /// `from`), else sent from socket `relay` unless the permission is in-process only
    /// (our own address that is no relayed address: never reachable).
    pub(crate) fn relay_out(
        &mut self,
        relay: SocketAddr,
        from: SocketAddr,
        peer: SocketAddr,
        data: &[u8],
        in_process_only: bool,
        now: Instant,
    ) {
        if let Some(&target) = self.by_advertised.get(&peer) {
            self.in_process_bytes += data.len() as u64;
            return self.deliver(target, from, data, now);
        }
        if self.config.local_services.contains(&peer) {
            self.in_process_bytes += data.len() as u64;
            let (to, data) = (peer, data.to_vec());
            return self.outputs.push_back(Output::ToLocal { from, to, data });
        }
        if !in_process_only {
            let data = data.to_vec();
            self.outputs.push_back(Output::ToPeer { relay, peer, data });
        }
    }
}
