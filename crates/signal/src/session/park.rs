//! Joins parked while their room's stored chat loads.
//!
//! With [`HubConfig::persist_chat`], a `join` that would create a room must not create
//! it before its stored history is in (the ids continue from the store's). Loading is
//! IO, and the hub's owner task must never wait for IO (one slow disk would stall every
//! room on the server), so the join is *parked*: the hub emits [`Output::LoadHistory`]
//! once per room, and goes on serving everything else. When [`Input::History`] arrives,
//! or [`HubConfig::history_timeout`] passes, the parked joins go ahead in arrival order,
//! the first one creating the room.
//!
//! While a connection's join is parked, its later frames wait behind it (so a `chat`
//! sent right after `join` still follows `joined`), at most [`MAX_PARKED_FRAMES`] of
//! them; more are refused with `rate_limited`, since a client that does not wait for
//! `joined` is flooding.
//!
//! [`HubConfig::persist_chat`]: crate::HubConfig::persist_chat
//! [`HubConfig::history_timeout`]: crate::HubConfig::history_timeout
//! [`Output::LoadHistory`]: crate::Output::LoadHistory
//! [`Input::History`]: crate::Input::History

use super::hub::Hub;
use super::timers::Timer;
use crate::room::RoomCommand;
use crate::{ChatSeed, ConnId, Grant, NodeId, Output};
use confab_proto::{ClientFrame, ErrorCode, RequestId, RoomId};
use std::collections::VecDeque;
use std::time::Instant;

/// Frames a parked connection may send before its `joined`.
pub const MAX_PARKED_FRAMES: usize = 32;

/// A room being loaded: who waits for it, and until when.
#[derive(Debug)]
pub(crate) struct PendingRoom {
    /// Parked connections in arrival order.
    pub(crate) waiting: Vec<ConnId>,
    /// Commands other nodes' members sent meanwhile (in a cluster), in arrival order.
    pub(crate) remote: Vec<(NodeId, RoomCommand)>,
    /// When the hub stops waiting for the store.
    pub(crate) until: Instant,
}

/// A connection's parked `join` and what it sent after it.
#[derive(Debug)]
pub(crate) struct Parked {
    pub(crate) room: RoomId,
    name: String,
    granted: Option<Grant>,
    ref_: Option<RequestId>,
    then: VecDeque<(ClientFrame, Option<Grant>)>,
}

/// The chat (and moderation) a room about to be created starts with, set only while
/// parked joins are released (see [`Hub::release`]).
#[derive(Debug)]
pub(crate) struct Ready {
    pub(crate) room: RoomId,
    /// `None`: the store had nothing usable, so the room starts empty and unstored.
    pub(crate) seed: Option<ChatSeed>,
}

impl Hub {
    /// Parks `conn`'s join to `room` and asks for the room's chat if nobody has yet.
    /// The caller has checked the join (hello, not in a room, room limit).
    pub(crate) fn park_join(
        &mut self,
        conn: ConnId,
        room: RoomId,
        name: String,
        granted: Option<Grant>,
        ref_: Option<RequestId>,
        now: Instant,
    ) {
        let Some(state) = self.conns.get_mut(&conn) else {
            return;
        };
        state.parked = Some(Parked {
            room: room.clone(),
            name,
            granted,
            ref_,
            then: VecDeque::new(),
        });
        if let Some(p) = self.pending.get_mut(&room) {
            p.waiting.push(conn);
            return;
        }
        self.start_loading(room, vec![conn], Vec::new(), now);
    }

    /// A `join` from another node's member for a room this node does not have: it waits
    /// for the claim like a local one (see `cluster.rs`).
    pub(crate) fn claim_for_remote(
        &mut self,
        room: RoomId,
        from: NodeId,
        cmd: RoomCommand,
        now: Instant,
    ) {
        if self.rooms.len() + self.pending.len() >= self.config.max_rooms {
            return; // the member's node hears nothing and its client's join times out
        }
        self.start_loading(room, Vec::new(), vec![(from, cmd)], now);
    }

    /// Asks for `room`'s chat (and, in a cluster, its lease), with these waiting.
    fn start_loading(
        &mut self,
        room: RoomId,
        waiting: Vec<ConnId>,
        remote: Vec<(NodeId, RoomCommand)>,
        now: Instant,
    ) {
        let until = now + self.config.history_timeout;
        let pending = PendingRoom {
            waiting,
            remote,
            until,
        };
        self.pending.insert(room.clone(), pending);
        self.timers
            .schedule(until, Timer::History { room: room.clone() });
        self.out.push_back(Output::LoadHistory { room });
    }

    /// Queues `frame` behind `conn`'s parked join (the caller checked it is parked).
    pub(crate) fn park_frame(&mut self, conn: ConnId, frame: ClientFrame, grant: Option<Grant>) {
        let Some(parked) = self.conns.get_mut(&conn).and_then(|c| c.parked.as_mut()) else {
            return;
        };
        if parked.then.len() < MAX_PARKED_FRAMES {
            parked.then.push_back((frame, grant));
            return;
        }
        let message = format!(
            "wait for joined: at most {MAX_PARKED_FRAMES} messages may follow a join that \
             is still loading; this one was dropped"
        );
        self.error(conn, ErrorCode::RateLimited, message, frame.id);
    }

    /// `Input::History`: the store answered for `room`.
    pub(crate) fn history_arrived(&mut self, room: RoomId, seed: Option<ChatSeed>, now: Instant) {
        if self.pending.contains_key(&room) {
            let seed = seed.filter(|s| s.room == room);
            self.release(room, seed, now);
        }
    }

    /// The history wait for `room` that was due at `at` is over: go ahead without it.
    pub(crate) fn history_wait_over(&mut self, room: RoomId, at: Instant) {
        if self.pending.get(&room).is_none_or(|p| p.until != at) {
            return;
        }
        if self.config.cluster {
            // Without the lease, a room made here could have a second owner.
            return self.refuse_pending(room);
        }
        self.release(room, None, at);
    }

    /// The claim of `room` did not finish in time: its parked joins are refused (the
    /// clients may try again) and other nodes' commands dropped.
    fn refuse_pending(&mut self, room: RoomId) {
        let Some(pending) = self.pending.remove(&room) else {
            return;
        };
        for conn in pending.waiting {
            let Some(parked) = self.conns.get_mut(&conn).and_then(|c| c.parked.take()) else {
                continue;
            };
            let message = "the cluster did not answer in time; try joining again";
            self.error(conn, ErrorCode::ServerFull, message, parked.ref_);
        }
    }

    /// Lets `room`'s parked joins go ahead, in order, the first creating the room with
    /// `seed`; each connection's later frames follow its join.
    pub(crate) fn release(&mut self, room: RoomId, seed: Option<ChatSeed>, now: Instant) {
        let Some(pending) = self.pending.remove(&room) else {
            return;
        };
        self.ready = Some(Ready {
            room: room.clone(),
            seed,
        });
        for conn in pending.waiting {
            let Some(parked) = self.conns.get_mut(&conn).and_then(|c| c.parked.take()) else {
                continue;
            };
            let Parked {
                room,
                name,
                granted,
                ref_,
                then,
            } = parked;
            self.handle_join(conn, room, name, granted, ref_, now);
            for (frame, grant) in then {
                self.handle_frame(conn, frame, grant, now);
            }
        }
        let here = self.rooms.contains_key(&room) || self.remote_rooms.contains_key(&room);
        if !pending.remote.is_empty() && !here {
            let ready = self.ready.take();
            self.create_room(room.clone(), ready, now);
        }
        self.ready = None;
        for (from, cmd) in pending.remote {
            self.handle_cluster(crate::ClusterIn::Command {
                from,
                room: room.clone(),
                cmd,
            });
        }
    }

    /// Forgets a parked `conn` (it disconnected before its room was ready).
    pub(crate) fn unpark(&mut self, conn: ConnId, parked: &Parked) {
        if let Some(p) = self.pending.get_mut(&parked.room) {
            p.waiting.retain(|&c| c != conn);
        }
    }

    /// `old`'s parked join now belongs to `new` (a resume took the identity over).
    pub(crate) fn rekey_parked(&mut self, room: &RoomId, old: ConnId, new: ConnId) {
        if let Some(p) = self.pending.get_mut(room) {
            for c in &mut p.waiting {
                if *c == old {
                    *c = new;
                }
            }
        }
    }
}
