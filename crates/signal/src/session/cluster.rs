//! Rooms shared between the nodes of a cluster (with [`crate::HubConfig::cluster`]).
//!
//! Each room lives on one node, its owner (the holder of the room's lease, which the
//! driver takes when a `join` would create the room). A member whose connection is on
//! another node is a *remote member* there: the owner's room keeps its node
//! ([`RoomSlot::remote`]) and sends it the room's events that concern its members
//! ([`ClusterOut::Events`]); the member's node keeps the room as a [`RemoteRoom`] and
//! sends every command of its members to the owner ([`ClusterOut::Command`]). Both
//! sides use the same room commands and events as a single node (`room/seam.rs`), so
//! the room core does not know it is shared.
//!
//! Ordering and loss are the driver's business (sequence numbers per pair of nodes);
//! a gap comes in as [`ClusterIn::Resync`], which gives every member the two nodes
//! share a fresh `joined` snapshot.

use super::hub::{Hub, RoomSlot};
use crate::room::{RoomCommand, RoomEvent};
use crate::{ClusterIn, ClusterOut, NodeId, Output};
use confab_proto::{PeerId, RoomId, ServerMsg};
use std::collections::{HashMap, HashSet};

/// A room owned by another node that members held here are in (or joining).
#[derive(Debug)]
pub(crate) struct RemoteRoom {
    /// The node that owns it (and runs its core).
    pub(crate) owner: NodeId,
    /// Its members whose connections are here.
    pub(crate) members: HashSet<PeerId>,
}

impl Hub {
    /// One message from another node.
    pub(crate) fn handle_cluster(&mut self, input: ClusterIn) {
        match input {
            ClusterIn::Command { from, room, cmd } => self.remote_command(from, room, cmd),
            ClusterIn::Events { from, room, events } => self.remote_events(from, room, events),
            ClusterIn::Elsewhere { room, owner } => self.owned_elsewhere(room, owner),
            ClusterIn::Resync { node } => self.resync(&node),
        }
    }

    /// A command for `room` that this node does not run: it goes to the room's owner
    /// if one is known, else it is dropped (its room has ended).
    pub(crate) fn command_elsewhere(&mut self, room: &RoomId, cmd: RoomCommand) {
        if let Some(remote) = self.remote_rooms.get(room) {
            let to = remote.owner.clone();
            let room = room.clone();
            self.out
                .push_back(Output::Cluster(ClusterOut::Command { to, room, cmd }));
        }
    }

    /// Sends `msg` to `peer`, a member of `room` (owned here) on this node or another:
    /// what the SFU says to a member goes where its connection is.
    pub(crate) fn send_member(&mut self, room: &RoomId, peer: &PeerId, msg: ServerMsg) {
        if let Some(&conn) = self.by_peer.get(peer) {
            return self.send(conn, msg);
        }
        let Some(to) = self.rooms.get(room).and_then(|s| s.remote.get(peer)) else {
            return;
        };
        let (to, room) = (to.clone(), room.clone());
        let events = vec![RoomEvent::Deliver {
            to: vec![peer.clone()],
            msg,
        }];
        let out = ClusterOut::Events { to, room, events };
        self.out.push_back(Output::Cluster(out));
    }

    /// A command from a member on node `from`. A `join` makes `from` the node of that
    /// peer in the room (undone if the room refuses it).
    fn remote_command(&mut self, from: NodeId, room: RoomId, cmd: RoomCommand) {
        if let Some(slot) = self.rooms.get_mut(&room) {
            let joining = match &cmd {
                RoomCommand::Join { peer, .. } | RoomCommand::Reattach { peer, .. } => {
                    slot.remote.insert(peer.clone(), from);
                    Some(peer.clone())
                }
                _ => None,
            };
            self.command(&room, cmd);
            if let (Some(peer), Some(slot)) = (joining, self.rooms.get_mut(&room)) {
                if !slot.core.contains(&peer) {
                    slot.remote.remove(&peer);
                }
            }
            return;
        }
        if let Some(pending) = self.pending.get_mut(&room) {
            pending.remote.push((from, cmd));
            return;
        }
        if self.remote_rooms.contains_key(&room) {
            // Sent here by a node that thought we own it: pass it on to the owner.
            return self.command_elsewhere(&room, cmd);
        }
        if matches!(cmd, RoomCommand::Join { .. }) {
            // The room ended here (its lease given up) before the join arrived: claim
            // it again, as a local join would.
            let now = self.now.mono;
            self.claim_for_remote(room, from, cmd, now);
        }
    }

    /// The owner's events for members held here. Entries and exits keep the
    /// [`RemoteRoom`] (an entry also makes `from` the owner: the room may have moved).
    fn remote_events(&mut self, from: NodeId, room: RoomId, events: Vec<RoomEvent>) {
        for event in events {
            match &event {
                RoomEvent::Entered { peer } if self.by_peer.contains_key(peer) => {
                    let remote =
                        self.remote_rooms
                            .entry(room.clone())
                            .or_insert_with(|| RemoteRoom {
                                owner: from.clone(),
                                members: HashSet::new(),
                            });
                    remote.owner = from.clone();
                    remote.members.insert(peer.clone());
                }
                RoomEvent::Exited { peer } => self.remote_member_gone(&room, peer),
                _ => {}
            }
            self.apply(&room, event);
        }
    }

    /// `peer`, held here, is no longer a member of remote `room`; the last one out
    /// forgets the room.
    pub(crate) fn remote_member_gone(&mut self, room: &RoomId, peer: &PeerId) {
        if let Some(remote) = self.remote_rooms.get_mut(room) {
            remote.members.remove(peer);
            if remote.members.is_empty() {
                self.remote_rooms.remove(room);
            }
        }
    }

    /// The claim of `room` found another owner: parked joins (and commands other nodes
    /// sent here meanwhile) go there.
    fn owned_elsewhere(&mut self, room: RoomId, owner: NodeId) {
        if !self.pending.contains_key(&room) {
            return;
        }
        let members = HashSet::new();
        let remote = self.remote_rooms.entry(room.clone());
        let first = owner.clone();
        remote
            .or_insert(RemoteRoom {
                owner: first,
                members,
            })
            .owner = owner;
        let now = self.now.mono;
        self.release(room, None, now);
    }

    /// Every member this node shares with `node` gets a fresh `joined` snapshot: those
    /// of rooms owned here that `node` holds, and those held here in rooms `node` owns.
    fn resync(&mut self, node: &NodeId) {
        let mut owned: Vec<(RoomId, PeerId)> = Vec::new();
        for (room, slot) in &self.rooms {
            for (peer, at) in &slot.remote {
                if at == node {
                    owned.push((room.clone(), peer.clone()));
                }
            }
        }
        for (room, remote) in &self.remote_rooms {
            if &remote.owner == node {
                for peer in &remote.members {
                    owned.push((room.clone(), peer.clone()));
                }
            }
        }
        owned.sort();
        for (room, peer) in owned {
            let cmd = RoomCommand::Reattach {
                peer,
                ref_: None,
                identity: None,
            };
            self.command(&room, cmd);
        }
    }
}

impl RoomSlot {
    /// Splits `events` of this room by the node holding each remote member they
    /// concern: deliveries trimmed to that node's addressees, entries and exits to the
    /// member's node. The rest (stores, metrics, the SFU) happen on the owner only.
    pub(crate) fn route_remote(&self, events: &[RoomEvent]) -> Vec<(NodeId, Vec<RoomEvent>)> {
        let mut by_node: HashMap<&NodeId, Vec<RoomEvent>> = HashMap::new();
        for event in events {
            match event {
                RoomEvent::Deliver { to, msg } => {
                    let mut split: HashMap<&NodeId, Vec<PeerId>> = HashMap::new();
                    for peer in to {
                        if let Some(node) = self.remote.get(peer) {
                            split.entry(node).or_default().push(peer.clone());
                        }
                    }
                    for (node, to) in split {
                        let msg = msg.clone();
                        by_node
                            .entry(node)
                            .or_default()
                            .push(RoomEvent::Deliver { to, msg });
                    }
                }
                RoomEvent::Entered { peer } | RoomEvent::Exited { peer } => {
                    if let Some(node) = self.remote.get(peer) {
                        by_node.entry(node).or_default().push(event.clone());
                    }
                }
                _ => {}
            }
        }
        let mut routed: Vec<(NodeId, Vec<RoomEvent>)> = by_node
            .into_iter()
            .map(|(node, events)| (node.clone(), events))
            .collect();
        routed.sort_by(|a, b| a.0.cmp(&b.0));
        routed
    }
}
