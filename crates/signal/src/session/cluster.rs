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
use super::timers::Timer;
use crate::room::{Identity, RoomCommand, RoomEvent};
use crate::{ClusterIn, ClusterOut, Grant, NodeId, Output};
use confab_proto::{LeaveReason, PeerId, Role, RoomId, ServerMsg};
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// How long joins parked to re-create a room whose owner died wait for the new claim:
/// the dead node's lease must run out first (`confab_cluster::lease::LEASE_TTL`, 8 s).
const REHOME_WAIT: Duration = Duration::from_secs(15);

/// A room owned by another node that members held here are in (or joining).
#[derive(Debug)]
pub(crate) struct RemoteRoom {
    /// The node that owns it (and runs its core).
    pub(crate) owner: NodeId,
    /// Its members whose connections are here.
    pub(crate) members: HashSet<PeerId>,
    /// How each member held here joined, to join again if the owner dies.
    pub(crate) joins: HashMap<PeerId, Rejoin>,
}

impl RemoteRoom {
    fn new(owner: NodeId) -> RemoteRoom {
        RemoteRoom {
            owner,
            members: HashSet::new(),
            joins: HashMap::new(),
        }
    }
}

/// What a member's `join` said, kept by its node for a rejoin.
#[derive(Clone, Debug)]
pub(crate) struct Rejoin {
    name: String,
    role: Option<Role>,
}

impl Hub {
    /// One message from another node.
    pub(crate) fn handle_cluster(&mut self, input: ClusterIn) {
        match input {
            ClusterIn::Command { from, room, cmd } => self.remote_command(from, room, cmd),
            ClusterIn::Events { from, room, events } => self.remote_events(from, room, events),
            ClusterIn::Elsewhere { room, owner } => self.owned_elsewhere(room, owner),
            ClusterIn::Resync { node } => self.resync(&node),
            ClusterIn::NodeDown { node } => self.node_down(&node),
            ClusterIn::SessionFound { conn, record } => self.session_found(conn, record),
            ClusterIn::Draining => self.draining = true,
        }
    }

    /// A command for `room` that this node does not run: it goes to the room's owner
    /// if one is known, else it is dropped (its room has ended).
    pub(crate) fn command_elsewhere(&mut self, room: &RoomId, cmd: RoomCommand) {
        if let Some(remote) = self.remote_rooms.get_mut(room) {
            if let RoomCommand::Join {
                peer, name, grant, ..
            } = &cmd
            {
                let (name, role) = (name.clone(), *grant);
                remote.joins.insert(peer.clone(), Rejoin { name, role });
            }
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
                    slot.remote.insert(peer.clone(), from.clone());
                    self.remote_held.remove(peer);
                    Some(peer.clone())
                }
                _ => None,
            };
            self.command_as(&room, cmd, Some(&from));
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
                RoomEvent::Entered { peer } | RoomEvent::Waiting { peer }
                    if self.by_peer.contains_key(peer) =>
                {
                    let remote = self.remote_rooms.entry(room.clone());
                    let remote = remote.or_insert_with(|| RemoteRoom::new(from.clone()));
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
            remote.joins.remove(peer);
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
        let remote = self.remote_rooms.entry(room.clone());
        let first = RemoteRoom::new(owner.clone());
        remote.or_insert(first).owner = owner;
        let now = self.now.mono;
        self.release(room, None, now);
    }

    /// `node` died: its members of rooms owned here are held (they may resume on
    /// another node), and the rooms it owned are made again, by their members held
    /// here joining anew.
    fn node_down(&mut self, node: &NodeId) {
        let mut held = Vec::new();
        for (room, slot) in &self.rooms {
            for (peer, at) in &slot.remote {
                if at == node && !self.remote_held.contains_key(peer) {
                    held.push((room.clone(), peer.clone()));
                }
            }
        }
        held.sort();
        let until = self.now.mono + self.config.resume_grace;
        for (room, peer) in held {
            // On the dead node's behalf: it held them.
            if self.config.resume_grace.is_zero() {
                let reason = LeaveReason::Disconnected;
                let cmd = RoomCommand::Leave {
                    peer,
                    reason,
                    ref_: None,
                };
                self.command_as(&room, cmd, Some(node));
                continue;
            }
            self.remote_held.insert(peer.clone(), (room.clone(), until));
            self.timers
                .schedule(until, Timer::RemoteHold { peer: peer.clone() });
            self.command_as(&room, RoomCommand::Detach { peer }, Some(node));
        }
        let mut orphaned: Vec<RoomId> = self
            .remote_rooms
            .iter()
            .filter(|(_, r)| &r.owner == node)
            .map(|(room, _)| room.clone())
            .collect();
        orphaned.sort();
        for room in orphaned {
            self.rehome(room);
        }
    }

    /// The place of a dead node's member that was held until `at` ends: it leaves.
    pub(crate) fn remote_hold_over(&mut self, peer: &PeerId, at: std::time::Instant) {
        if self.remote_held.get(peer).is_none_or(|h| h.1 != at) {
            return;
        }
        if let Some((room, _)) = self.remote_held.remove(peer) {
            // On behalf of the dead node that still holds it (a resume elsewhere would
            // have moved it, and ended the hold).
            let holder = self
                .rooms
                .get(&room)
                .and_then(|s| s.remote.get(peer))
                .cloned();
            let (peer, reason) = (peer.clone(), LeaveReason::Disconnected);
            let cmd = RoomCommand::Leave {
                peer,
                reason,
                ref_: None,
            };
            self.command_as(&room, cmd, holder.as_ref());
        }
    }

    /// `room`'s owner died: its members held here leave it and join it again as they
    /// first did, parked until a live node owns it (waiting out the dead one's lease).
    /// Each gets a fresh `joined` when the room is back.
    fn rehome(&mut self, room: RoomId) {
        let Some(remote) = self.remote_rooms.remove(&room) else {
            return;
        };
        let now = self.now.mono;
        // Members, and those whose `join` went to the dead owner unanswered.
        let mut members: Vec<PeerId> = remote.members.into_iter().collect();
        for joining in remote.joins.keys() {
            if !members.contains(joining) {
                members.push(joining.clone());
            }
        }
        members.sort();
        for peer in members {
            let Some(&conn) = self.by_peer.get(&peer) else {
                continue;
            };
            let live = self
                .conns
                .get(&conn)
                .is_some_and(|c| c.detached_until.is_none());
            self.exited(&room, &peer);
            let Some(join) = remote.joins.get(&peer) else {
                continue;
            };
            if !live {
                continue; // a dropped connection left with the room; its resume finds none
            }
            let grant = self.rejoin_grant(conn, join.role);
            self.park_join(conn, room.clone(), join.name.clone(), grant, None, now);
        }
        if let Some(p) = self.pending.get_mut(&room) {
            p.until = now + REHOME_WAIT;
            let until = p.until;
            self.timers.schedule(until, Timer::History { room });
        }
    }

    /// The grant a member joined with, rebuilt from its session: a role a token fixed,
    /// for the token's subject.
    fn rejoin_grant(&self, conn: crate::ConnId, role: Option<Role>) -> Option<Grant> {
        let session = self.conns.get(&conn)?.session.as_ref()?;
        let Some(Identity::Token(subject)) = &session.identity else {
            return None;
        };
        let grant = Grant::new(role?, subject.clone()).for_kind(session.kind);
        Some(grant.following(session.follow.clone()))
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
    /// Whether node `from` (`None`: this one) holds the member `cmd` acts for, so the
    /// room takes it. A `join` or resume is how a member moves, so those always pass.
    pub(crate) fn holds(&self, cmd: &RoomCommand, from: Option<&NodeId>) -> bool {
        let actor = match cmd {
            RoomCommand::Join { .. } | RoomCommand::Reattach { .. } | RoomCommand::Tick => {
                return true
            }
            RoomCommand::Leave { peer, .. } | RoomCommand::Detach { peer } => peer,
            RoomCommand::Relay { from, .. }
            | RoomCommand::Chat { from, .. }
            | RoomCommand::Call { from, .. }
            | RoomCommand::Host { from, .. }
            | RoomCommand::Stage { from, .. }
            | RoomCommand::Rename { from, .. }
            | RoomCommand::Sfu { from, .. } => from,
        };
        self.remote.get(actor) == from
    }

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
                RoomEvent::Entered { peer }
                | RoomEvent::Exited { peer }
                | RoomEvent::Waiting { peer } => {
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
