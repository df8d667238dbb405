//! One room's core, sans-IO: members, presence, calls, chat, roles and the lock.
//!
//! A [`RoomCore`] knows peers only by [`PeerId`] and talks to the node layer only
//! through [`RoomCommand`] (in, with [`RoomCore::handle`]) and [`RoomEvent`] (out, with
//! [`RoomCore::poll_event`]); see `seam.rs`. It has the hub's shape on a smaller scale:
//! time is an input, deadlines come out of [`RoomCore::poll_timeout`], and its work per
//! command is bounded by the room's size, never by the server's.
//!
//! Members are an [`IndexMap`] by peer id: join order for snapshots and fan-out, O(1)
//! lookup for everything else. Membership in `members.rs`, chat in `chat.rs`, calls in
//! `calls.rs`, roles and moderation in `moderation.rs`, what moderation keeps across a
//! restart in `saved.rs`, the relay in `relay.rs`.

mod broadcast;
mod calls;
mod chat;
mod media;
mod members;
mod moderation;
mod recording;
mod relay;
mod saved;
mod seam;
mod waiting;

pub use broadcast::StageOp;
pub use calls::CallSnapshot;
pub use chat::{chat_bytes, ChatSeed};
pub use media::{MediaPolicy, SfuSignal};
pub use saved::{Ban, Identity, Lock, Moderation, Seat, MAX_BANS};
pub use seam::{CallOp, HostOp, Relayed, RoomCommand, RoomEvent};

use crate::Now;
use calls::Calls;
use confab_proto::{ChatMessage, ErrorCode, PeerId, PeerInfo, RequestId, Role, RoomId, ServerMsg};
use indexmap::IndexMap;
use saved::Lock as LockState;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The limits a room enforces (the node derives them from its `HubConfig`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomConfig {
    /// Most members; a `join` beyond it gets `room_full`.
    pub max_peers: usize,
    /// Most people in one call, members plus pending invitations.
    pub max_call_size: usize,
    /// How calls carry media: mesh, SFU, or mesh until they grow (see `media.rs`).
    pub media: MediaPolicy,
    /// How long an invitation rings before it ends with `timeout`.
    pub ring_timeout: Duration,
    /// Chat messages kept for the `joined` snapshot.
    pub chat_history: usize,
    /// Most bytes of chat kept for it (by [`chat_bytes`]).
    pub chat_history_bytes: usize,
    /// How long a room brought back from a store holds its members' seats for them (the
    /// node's resume grace: a restart is a dropped connection for everyone); zero brings
    /// no moderation back. See `saved.rs`.
    pub hold: Duration,
}

/// One room (see the module docs).
#[derive(Debug)]
pub struct RoomCore {
    pub(crate) id: RoomId,
    pub(crate) config: RoomConfig,
    /// Members in join order, by peer id.
    pub(crate) members: IndexMap<PeerId, Member>,
    /// The last `chat_history` messages, oldest first.
    pub(crate) history: VecDeque<ChatMessage>,
    /// The size of `history` by [`chat_bytes`], kept up to date.
    pub(crate) history_bytes: usize,
    /// The id of the last chat message (0: none yet); the next one is this plus one.
    pub(crate) last_chat_id: u64,
    /// Its chat continues a store's, so accepted messages are reported for storing.
    pub(crate) stored: bool,
    /// The calls running in the room (see `calls.rs`).
    pub(crate) calls: Calls,
    /// The id of the last call started here (0: none yet); never reused in this room.
    pub(crate) last_call_id: u64,
    /// Who locked the room, while it is locked (see `moderation.rs`).
    pub(crate) lock: Option<LockState>,
    /// Kicked members, refused while the room lasts (see `saved.rs`), oldest first.
    pub(crate) banned: VecDeque<saved::Ban>,
    /// Seats held for members of a room brought back from a store, until `held_until`.
    pub(crate) held: Vec<saved::Seat>,
    pub(crate) held_until: Option<Instant>,
    /// The moderation last reported in [`RoomEvent::ModerationStored`] (or restored).
    pub(crate) saved: saved::Moderation,
    /// Moderation may have changed since it was last reported.
    pub(crate) changed: bool,
    /// Broadcast mode is on (see `broadcast.rs`).
    pub(crate) broadcast: bool,
    /// The waiting room is on: the host who turned it on (see `waiting.rs`).
    pub(crate) waiting_room: Option<PeerId>,
    /// Joins waiting for a host's answer, in arrival order.
    pub(crate) waiting: IndexMap<PeerId, waiting::Knock>,
    /// An admitted join is being carried out (it passes the waiting room).
    pub(crate) admitting: bool,
    /// Who started recording the room, while it is recorded (see `recording.rs`).
    pub(crate) recording: Option<PeerId>,
    /// The wall clock of the command being handled (chat `ts`).
    pub(crate) wall_clock_ms: u64,
    events: VecDeque<RoomEvent>,
}

/// One peer's presence in a room.
#[derive(Debug)]
pub(crate) struct Member {
    /// What the other members see: the peer id, the join name, presence and role.
    pub(crate) info: PeerInfo,
    /// Its role came from a join token, so it is never promoted (see `moderation.rs`).
    pub(crate) fixed_role: bool,
    /// A stream participant (WHIP, WHEP): not a token holder for the demotion rule.
    pub(crate) stream: bool,
    /// Who it is beyond this connection (see `saved.rs`), as the node said.
    pub(crate) identity: Option<saved::Identity>,
    /// Whether it may publish, as last told to the node, while it is in an SFU call
    /// (see `broadcast.rs`).
    pub(crate) told_publish: Option<bool>,
}

impl RoomCore {
    /// An empty room, or one that continues a store's chat (`seed`; then every accepted
    /// message comes out as [`RoomEvent::ChatStored`], and every change of its
    /// moderation as [`RoomEvent::ModerationStored`]). A seed's saved moderation comes
    /// back with its members' seats held from `now` for [`RoomConfig::hold`]. A room
    /// ends when it is empty (no members, no seats held): the node drops it after the
    /// event that emptied it.
    pub fn new(id: RoomId, config: RoomConfig, seed: Option<ChatSeed>, now: Instant) -> RoomCore {
        let mut room = RoomCore {
            id,
            config,
            members: IndexMap::new(),
            history: VecDeque::new(),
            history_bytes: 0,
            last_chat_id: 0,
            stored: false,
            calls: Calls::new(),
            last_call_id: 0,
            lock: None,
            banned: VecDeque::new(),
            held: Vec::new(),
            held_until: None,
            saved: saved::Moderation::default(),
            changed: false,
            broadcast: false,
            waiting_room: None,
            waiting: IndexMap::new(),
            admitting: false,
            recording: None,
            wall_clock_ms: 0,
            events: VecDeque::new(),
        };
        if let Some(mut seed) = seed {
            let moderation = seed.moderation.take();
            room.seed_chat(seed);
            if let Some(m) = moderation {
                let until = now + room.config.hold;
                room.restore(m, until);
            }
        }
        room
    }

    /// Handles one command at time `now`. Drain [`RoomCore::poll_event`] after each.
    pub fn handle(&mut self, now: Now, cmd: RoomCommand) {
        self.wall_clock_ms = now.unix_ms;
        let now = now.mono;
        match cmd {
            RoomCommand::Join {
                peer,
                name,
                grant,
                ref_,
                identity,
                claim,
                stream,
            } => self.join(peer, name, (grant, stream), ref_, identity, claim),
            RoomCommand::Leave { peer, reason, ref_ } => self.leave(&peer, reason, ref_),
            RoomCommand::Detach { peer } => self.update_state(&peer, |s| s.reconnecting = true),
            RoomCommand::Reattach {
                peer,
                ref_,
                identity,
            } => self.reattach(&peer, ref_, identity),
            RoomCommand::Relay {
                from,
                to,
                msg,
                ref_,
            } => self.relay(from, to, msg, ref_),
            RoomCommand::Chat {
                from,
                text,
                key,
                ref_,
            } => self.chat(&from, text, key, ref_),
            RoomCommand::Call { from, op, ref_ } => self.call_op(&from, op, ref_, now),
            RoomCommand::Host { from, op, ref_ } => self.host_op(&from, op, ref_),
            RoomCommand::Stage { from, op, ref_ } => self.stage_op(&from, op, ref_),
            RoomCommand::Rename { from, name, ref_ } => self.rename(&from, name, ref_),
            RoomCommand::Sfu { from, signal, ref_ } => {
                if self.members.contains_key(&from) {
                    self.sfu_signal(&from, signal, ref_);
                }
            }
            RoomCommand::Tick => {
                self.ring_out_due(now);
                self.end_hold_if_due(now);
            }
        }
        self.report_moderation();
        self.sync_publish();
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<RoomEvent> {
        self.events.pop_front()
    }

    /// When [`RoomCommand::Tick`] is due next: the earliest ringing invitation, or the
    /// end of the hold on seats (`saved.rs`). O(calls and invitations in this room).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.calls
            .values()
            .flat_map(|c| c.invites.iter().map(|i| i.deadline))
            .chain(self.held_until)
            .min()
    }

    /// The room's id.
    pub fn id(&self) -> &RoomId {
        &self.id
    }

    /// No members and no seats held for any: the room has ended.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty() && self.held.is_empty()
    }

    /// How many members it has.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether `peer` is a member.
    pub fn contains(&self, peer: &PeerId) -> bool {
        self.members.contains_key(peer) || self.waiting.contains_key(peer)
    }

    /// The members in join order.
    pub fn peers(&self) -> Vec<PeerInfo> {
        self.members.values().map(|m| m.info.clone()).collect()
    }

    /// Whether a host has locked the room.
    pub fn is_locked(&self) -> bool {
        self.lock.is_some()
    }

    /// The chat history a joiner would get, oldest first.
    pub fn chat_history(&self) -> Vec<ChatMessage> {
        self.history.iter().cloned().collect()
    }

    /// Whether a `join` with this grant would be let in (not full, not locked to it).
    /// `seated`: it takes back a seat held for it, which the lock does not keep out.
    pub(crate) fn refusal(&self, grant: Option<Role>, seated: bool) -> Option<(ErrorCode, String)> {
        let room = &self.id;
        if self.members.len() >= self.config.max_peers {
            let max = self.config.max_peers;
            return Some((
                ErrorCode::RoomFull,
                format!("room {room} is full ({max} peers)"),
            ));
        }
        self.lock_refusal(grant, seated)
    }

    /// Whether the lock keeps a `join` with this grant out.
    pub(crate) fn lock_refusal(
        &self,
        grant: Option<Role>,
        seated: bool,
    ) -> Option<(ErrorCode, String)> {
        let room = &self.id;
        let Some(lock) = &self.lock else {
            return None;
        };
        // A tokenless host's lock may not keep token holders out (see `moderation.rs`);
        // a lock keeps newcomers out, not members taking their seat back.
        let admitted = seated
            || match grant {
                Some(Role::Host) => true,
                Some(Role::Guest | Role::Viewer) => !lock.by_token,
                None => false,
            };
        if !admitted {
            let message = format!("room {room} is locked by its host");
            return Some((ErrorCode::RoomLocked, message));
        }
        None
    }

    pub(crate) fn emit(&mut self, event: RoomEvent) {
        self.events.push_back(event);
    }

    /// Delivers `msg` to one peer.
    pub(crate) fn send(&mut self, to: &PeerId, msg: ServerMsg) {
        self.emit(RoomEvent::Deliver {
            to: vec![to.clone()],
            msg,
        });
    }

    /// Sends `mine` to `from` (the requester's copy, carrying its `ref`) and `theirs` to
    /// every other member, in join order.
    pub(crate) fn answer_and_tell(&mut self, from: &PeerId, mine: ServerMsg, theirs: ServerMsg) {
        let others: Vec<PeerId> = self
            .members
            .keys()
            .filter(|p| *p != from)
            .cloned()
            .collect();
        self.send(from, mine);
        if !others.is_empty() {
            self.emit(RoomEvent::Deliver {
                to: others,
                msg: theirs,
            });
        }
    }

    /// Delivers `msg` to every member, in join order.
    pub(crate) fn broadcast(&mut self, msg: ServerMsg) {
        let to = self.members.keys().cloned().collect();
        self.emit(RoomEvent::Deliver { to, msg });
    }

    /// Answers `to` with an error. Callers return right after: errors change no state.
    pub(crate) fn error(
        &mut self,
        to: &PeerId,
        code: ErrorCode,
        message: impl Into<String>,
        ref_: Option<RequestId>,
    ) {
        let message = message.into();
        self.send(
            to,
            ServerMsg::Error {
                code,
                message,
                ref_,
            },
        );
    }

    /// `unknown_peer` for a peer id a client named: echoes a bounded prefix of it.
    pub(crate) fn unknown_peer(&mut self, to: &PeerId, who: &PeerId, ref_: Option<RequestId>) {
        let shown: String = who.as_str().chars().take(64).collect();
        let message = format!("{shown} is not a peer in your room");
        self.error(to, ErrorCode::UnknownPeer, message, ref_);
    }

    /// Panics if the room's rules are broken; for tests.
    #[cfg(test)]
    pub(crate) fn check_invariants(&self) {
        assert!(self.history.len() <= self.config.chat_history);
        let bytes: usize = self.history.iter().map(chat_bytes).sum();
        assert_eq!(self.history_bytes, bytes);
        assert!(bytes <= self.config.chat_history_bytes);
        let ids: Vec<u64> = self.history.iter().map(|m| m.id).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "history ids increase");
        assert!(ids.last().is_none_or(|&id| id <= self.last_chat_id));
        assert!(self.members.len() <= self.config.max_peers);
        for (id, m) in &self.members {
            assert_eq!(id, &m.info.id, "members are keyed by their id");
            // The node hears every change of the right to publish (see `broadcast.rs`).
            if let Some(told) = m.told_publish {
                assert_eq!(told, self.may_publish(m), "{id}'s right to publish is told");
            }
        }
        // With a token holder present (or its seat held), tokenless members are guests;
        // without one, someone hosts, or a host's seat is held for its return.
        if self.has_token_holder() {
            assert!(
                self.members
                    .values()
                    .all(|m| m.fixed_role || m.info.role == Role::Guest),
                "a tokenless member outranks a token holder in {}",
                self.id
            );
        } else {
            assert!(
                self.members.is_empty()
                    || self.members.values().any(|m| m.info.role == Role::Host)
                    || self.host_seat_held(),
                "room {} has no host",
                self.id
            );
        }
        assert_eq!(
            self.held.is_empty(),
            self.held_until.is_none(),
            "a hold ends"
        );
        assert!(self.banned.len() <= MAX_BANS);
        if self.stored {
            assert!(!self.changed, "moderation reported after every command");
            assert_eq!(
                self.moderation(),
                self.saved,
                "{}'s moderation is reported",
                self.id
            );
        }
        self.check_call_invariants();
    }
}
