//! confab's cluster core, sans-IO: what a node tells the other nodes and Redis, and
//! what it makes of their answers.
//!
//! Several confab nodes share rooms over Redis (see `docs/cluster.md`). Each room lives
//! on the node holding its lease ([`lease`]); a member whose WebSocket is on another
//! node reaches it through the room seam's commands and events, sent in an
//! [`envelope::Envelope`] over Redis pub/sub to the addressee's channel, numbered per
//! pair of nodes ([`links`]) so a lost message shows as a gap and the hub
//! resynchronises. Heartbeats make the node [`directory`].
//!
//! [`Node`] has the hub's shape: the driver feeds it one [`Input`] with the time, drains
//! [`Output`]s, and wakes it at [`Node::poll_timeout`]. The driver does every Redis
//! command and passes the hub's cluster outputs in and the hub's cluster inputs out.
//!
//! # Example
//!
//! ```
//! use confab_cluster::{Input, Node, Output};
//! use confab_signal::{ClusterIn, ClusterOut, NodeId, Now};
//! use confab_signal::room::RoomCommand;
//! use confab_proto::RoomId;
//! use std::time::Instant;
//!
//! let now = Now { mono: Instant::now(), unix_ms: 1_700_000_000_000 };
//! let (mut a, mut b) = (Node::new(NodeId("a".into()), 1), Node::new(NodeId("b".into()), 2));
//! let room = RoomId::parse("r").unwrap();
//! let out = ClusterOut::Command { to: NodeId("b".into()), room: room.clone(), cmd: RoomCommand::Tick };
//! a.handle(now, Input::Hub(out));
//! let Some(Output::Publish { to, payload }) = a.poll_output() else { panic!() };
//! assert_eq!(to, NodeId("b".into()));
//! b.handle(now, Input::Received(payload));
//! assert_eq!(
//!     b.poll_output(),
//!     Some(Output::ToHub(ClusterIn::Command { from: NodeId("a".into()), room, cmd: RoomCommand::Tick })),
//! );
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod directory;
pub mod envelope;
pub mod lease;
pub mod links;

use confab_proto::RoomId;
use confab_signal::{ClusterIn, ClusterOut, NodeId, Now};
use directory::Directory;
use envelope::{Body, Envelope};
use lease::Leases;
use links::{Arrival, Links};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How often a node writes its heartbeat and reads everyone's.
pub const BEAT_EVERY: Duration = Duration::from_secs(1);
/// How soon a claim that found a dead node's lease is tried again (the lease runs out
/// within [`lease::LEASE_TTL`] of the node's death).
pub const CLAIM_RETRY: Duration = Duration::from_millis(500);

/// What happens to a node's cluster core.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Input {
    /// The hub's output for the cluster: a message to another node, or a lease to give
    /// up.
    Hub(ClusterOut),
    /// Bytes published on this node's channel.
    Received(Vec<u8>),
    /// A claim of `room` sent at `sent` found `owner` holding it: this node (the claim
    /// set the key, or renewed it since it was ours already: either way a fresh lease
    /// from `sent`) or another.
    Claimed {
        /// The room.
        room: RoomId,
        /// Who holds its lease.
        owner: NodeId,
        /// When the claim was sent (the lease counts from then).
        sent: Instant,
    },
    /// Redis answered a renewal: `ok` false means the lease is not ours any more.
    Renewed {
        /// The room.
        room: RoomId,
        /// Still ours.
        ok: bool,
    },
    /// The registry as read: every node's last heartbeat (unix ms).
    Nodes {
        /// Node names and beats.
        beats: Vec<(NodeId, u64)>,
    },
    /// This node stops (SIGTERM): the hub stops acting as an owner, every lease is given
    /// up, and every live node is told, so they take the rooms over at once.
    Drain,
    /// Time passed.
    Timeout,
}

/// What the driver must do.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Output {
    /// Publish `payload` on node `to`'s channel.
    Publish {
        /// The addressee.
        to: NodeId,
        /// The envelope's bytes.
        payload: Vec<u8>,
    },
    /// Feed this to the hub.
    ToHub(ClusterIn),
    /// This node owns `room` now: load its chat and answer the hub's parked joins with
    /// `Input::History`.
    Owned {
        /// The room.
        room: RoomId,
    },
    /// Claim `room` again (its lease was a dead node's), then answer [`Input::Claimed`].
    Claim {
        /// The room.
        room: RoomId,
    },
    /// Renew the lease of `room` (`PEXPIRE` if the key is still ours), then answer
    /// [`Input::Renewed`].
    Renew {
        /// The room.
        room: RoomId,
    },
    /// Give the lease of `room` up (`DEL` if the key is still ours).
    Release {
        /// The room.
        room: RoomId,
    },
    /// Write this node's heartbeat and read the registry ([`Input::Nodes`]).
    Beat,
    /// The lease of `room` ran out unrenewed (Redis unreachable, or too slow): this
    /// node must not act as its owner any more.
    Lost {
        /// The room.
        room: RoomId,
    },
    /// A message from another node was dropped: not an envelope, or a replay.
    Dropped {
        /// Why, in words (for the log).
        why: String,
    },
}

/// One node's cluster state.
#[derive(Debug)]
pub struct Node {
    me: NodeId,
    epoch: u64,
    links: Links,
    directory: Directory,
    leases: Leases,
    next_beat: Option<Instant>,
    /// Claims to try again, and when.
    retries: Vec<(Instant, RoomId)>,
    out: VecDeque<Output>,
}

impl Node {
    /// The core of node `me` in its run `epoch` (random for each start of the process,
    /// so a node restarted under the same name is told apart).
    pub fn new(me: NodeId, epoch: u64) -> Node {
        Node {
            me,
            epoch,
            links: Links::default(),
            directory: Directory::default(),
            leases: Leases::default(),
            next_beat: None,
            retries: Vec::new(),
            out: VecDeque::new(),
        }
    }

    /// This node's name.
    pub fn id(&self) -> &NodeId {
        &self.me
    }

    /// Handles one input at `now`; drain [`Node::poll_output`] after each.
    pub fn handle(&mut self, now: Now, input: Input) {
        match input {
            Input::Hub(out) => self.send(out),
            Input::Received(bytes) => self.received(&bytes),
            Input::Claimed { room, owner, sent } => {
                if owner == self.me {
                    self.leases.granted(room.clone(), sent);
                    self.out.push_back(Output::Owned { room });
                } else if self.directory.is_dead(&owner) {
                    // Its lease outlives it by up to a TTL: wait that out, not the hub.
                    self.retries.push((now.mono + CLAIM_RETRY, room));
                } else {
                    self.out
                        .push_back(Output::ToHub(ClusterIn::Elsewhere { room, owner }));
                }
            }
            Input::Renewed { room, ok } => {
                if !self.leases.renewed(&room, ok) {
                    self.out.push_back(Output::Lost { room });
                }
            }
            Input::Nodes { beats } => {
                for node in self.directory.read(now.unix_ms, &beats).down {
                    if node != self.me {
                        // Silent for `directory::DEAD_AFTER`: the hub takes over.
                        self.links.forget(&node);
                        let down = ClusterIn::NodeDown { node };
                        self.out.push_back(Output::ToHub(down));
                    }
                }
            }
            Input::Drain => self.drain(),
            Input::Timeout => {}
        }
        self.timers(now.mono);
    }

    /// The next output, oldest first.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When to feed [`Input::Timeout`] next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let retry = self.retries.iter().map(|(at, _)| *at).min();
        [self.leases.poll_timeout(), self.next_beat, retry]
            .into_iter()
            .flatten()
            .min()
    }

    /// Whether this node may act as `room`'s owner at `now`.
    pub fn owns(&self, room: &RoomId, now: Instant) -> bool {
        self.leases.holds(room, now)
    }

    /// The nodes alive at the last reading of the registry.
    pub fn alive(&self) -> Vec<NodeId> {
        self.directory.alive()
    }

    fn send(&mut self, out: ClusterOut) {
        let (to, body) = match out {
            ClusterOut::Command { to, room, cmd } => (to, Body::Command { room, cmd }),
            ClusterOut::Events { to, room, events } => (to, Body::Events { room, events }),
            ClusterOut::Released { room } => {
                self.leases.released(&room);
                return self.out.push_back(Output::Release { room });
            }
            other => {
                let why = format!("a cluster output this node cannot send: {other:?}");
                return self.out.push_back(Output::Dropped { why });
            }
        };
        self.publish(to, body);
    }

    /// Numbers `body` for `to` and queues it.
    fn publish(&mut self, to: NodeId, body: Body) {
        let seq = self.links.next_out(&to);
        let (from, epoch) = (self.me.clone(), self.epoch);
        let payload = Envelope {
            from,
            epoch,
            seq,
            body,
        }
        .encode();
        self.out.push_back(Output::Publish { to, payload });
    }

    fn received(&mut self, bytes: &[u8]) {
        let env = match Envelope::decode(bytes) {
            Ok(env) => env,
            Err(e) => {
                let why = e.to_string();
                return self.out.push_back(Output::Dropped { why });
            }
        };
        match self.links.arrived(&env.from, env.epoch, env.seq) {
            Arrival::Next => {}
            Arrival::Stale => {
                let why = format!("message {} from {} seen already", env.seq, env.from);
                return self.out.push_back(Output::Dropped { why });
            }
            Arrival::Gap { .. } => {
                // This one is fine; what came before it is lost: the hub takes this one,
                // then resynchronises what the two nodes share.
                let node = env.from.clone();
                self.deliver(env);
                let resync = ClusterIn::Resync { node };
                return self.out.push_back(Output::ToHub(resync));
            }
        }
        self.deliver(env);
    }

    fn deliver(&mut self, env: Envelope) {
        let from = env.from;
        let input = match env.body {
            Body::Command { room, cmd } => ClusterIn::Command { from, room, cmd },
            Body::Events { room, events } => ClusterIn::Events { from, room, events },
            Body::Leaving => {
                self.links.forget(&from);
                self.directory.gone(&from);
                ClusterIn::NodeDown { node: from }
            }
        };
        self.out.push_back(Output::ToHub(input));
    }

    /// See [`Input::Drain`]: the hub first (no more owner work here), then the leases,
    /// then the others.
    fn drain(&mut self) {
        self.out.push_back(Output::ToHub(ClusterIn::Draining));
        let mut rooms: Vec<RoomId> = self.leases.rooms().cloned().collect();
        rooms.sort();
        for room in rooms {
            self.leases.released(&room);
            self.out.push_back(Output::Release { room });
        }
        for to in self.directory.alive() {
            if to != self.me {
                self.publish(to, Body::Leaving);
            }
        }
    }

    fn timers(&mut self, now: Instant) {
        if self.next_beat.is_none_or(|at| now >= at) {
            self.next_beat = Some(now + BEAT_EVERY);
            self.out.push_back(Output::Beat);
        }
        for room in self.leases.expired(now) {
            self.out.push_back(Output::Lost { room });
        }
        for room in self.leases.due(now) {
            self.out.push_back(Output::Renew { room });
        }
        let (due, later) = self.retries.drain(..).partition(|(at, _)| *at <= now);
        self.retries = later;
        for (_, room) in due {
            self.out.push_back(Output::Claim { room });
        }
    }
}
