//! The hub's deadlines in one heap: rooms' next deadlines (ringing invitations, see
//! [`crate::RoomCore::poll_timeout`]), resume grace periods, parked joins waiting for
//! their room's stored chat, and members' TURN credentials due to be minted again.
//!
//! Why a heap: before it, every input scanned all rooms and all connections to find the
//! next deadline, so the owner's work per message grew with the number of connections.
//! Now [`Hub::poll_timeout`] peeks at the heap's top and `Input::Timeout` pops only
//! what is due: O(log n) per deadline, nothing per idle connection.
//!
//! Entries are not searched for and removed when they stop applying (the invitation was
//! answered, the peer resumed, the history arrived): an entry is *live* while its
//! subject still waits for exactly that instant, and after every input the hub pops
//! stale entries off the top, so [`Hub::poll_timeout`] is exact. An entry names its
//! subject by something stable across a resume (a peer id, not a connection id). Every
//! entry is popped once, so the cost is O(log n) per deadline scheduled, and the heap
//! holds at most what was scheduled within the longest timeout (ring, grace, history).

use super::hub::Hub;
use crate::room::RoomCommand;
use confab_proto::{LeaveReason, PeerId, RoomId};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// What a deadline is for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Timer {
    /// `room`'s next deadline (an invitation rings out).
    Room { room: RoomId },
    /// The grace period of a detached `peer` ends.
    Grace { peer: PeerId },
    /// Joins parked for `room`'s stored chat stop waiting.
    History { room: RoomId },
    /// `peer`'s TURN credentials are minted again (`credentials.rs`).
    Credentials { peer: PeerId },
    /// The place a dead node's member holds in a room owned here ends (`cluster.rs`).
    RemoteHold { peer: PeerId },
}

/// A min-heap of deadlines; ties fire in scheduling order.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Instant, u64, Timer)>>,
    seq: u64,
}

impl Timers {
    pub(crate) fn schedule(&mut self, at: Instant, timer: Timer) {
        self.seq += 1;
        self.heap.push(Reverse((at, self.seq, timer)));
    }

    /// The earliest deadline, live or stale.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _, _))| *at)
    }

    /// The earliest entry.
    fn peek(&self) -> Option<(Instant, &Timer)> {
        self.heap.peek().map(|Reverse((at, _, timer))| (*at, timer))
    }

    /// Removes the earliest entry.
    fn pop(&mut self) {
        self.heap.pop();
    }

    /// Removes and returns the earliest entry if it is due at `now`.
    fn pop_due(&mut self, now: Instant) -> Option<(Instant, Timer)> {
        if self.next()? > now {
            return None;
        }
        self.heap.pop().map(|Reverse((at, _, timer))| (at, timer))
    }

    /// Entries in the heap, live or stale (for tests and the size bound).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
}

impl Hub {
    /// When the driver must feed `Input::Timeout` next: the earliest pending
    /// invitation, grace period or history wait. `None` while nothing waits.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Fires every deadline at or before `now` that still applies: invitations end
    /// with `timeout` (both sides told), detached peers leave their room, parked joins
    /// go ahead without stored chat, members get fresh TURN credentials.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        while let Some((at, timer)) = self.timers.pop_due(now) {
            match timer {
                Timer::Room { room } => self.room_due(&room, at),
                Timer::Grace { peer } => self.grace_over(&peer, at),
                Timer::History { room } => self.history_wait_over(room, at),
                Timer::Credentials { peer } => self.credentials_due(&peer, at),
                Timer::RemoteHold { peer } => self.remote_hold_over(&peer, at),
            }
        }
    }

    /// Pops entries that no longer apply off the top of the heap (after every input).
    pub(crate) fn drop_stale_timers(&mut self) {
        while let Some((at, timer)) = self.timers.peek() {
            if self.timer_is_live(at, timer) {
                return;
            }
            self.timers.pop();
        }
    }

    /// Whether `timer`'s subject still waits for `at`.
    fn timer_is_live(&self, at: Instant, timer: &Timer) -> bool {
        match timer {
            Timer::Room { room } => self
                .rooms
                .get(room)
                .is_some_and(|r| r.wake == Some(at) && r.core.poll_timeout() == Some(at)),
            Timer::Grace { peer } => self
                .by_peer
                .get(peer)
                .and_then(|c| self.conns.get(c))
                .is_some_and(|c| c.detached_until == Some(at)),
            Timer::History { room } => self.pending.get(room).is_some_and(|p| p.until == at),
            Timer::Credentials { peer } => self
                .by_peer
                .get(peer)
                .is_some_and(|&c| self.credentials_timer_is_live(c, at)),
            Timer::RemoteHold { peer } => self.remote_held.get(peer).is_some_and(|h| h.1 == at),
        }
    }

    /// `room`'s deadline due at `at` has come, if it is still the one scheduled.
    fn room_due(&mut self, room: &RoomId, at: Instant) {
        let Some(slot) = self.rooms.get_mut(room) else {
            return;
        };
        if slot.wake != Some(at) {
            return;
        }
        slot.wake = None;
        self.command(room, RoomCommand::Tick);
    }

    /// A detached `peer` whose grace period ended at `at` leaves for good.
    fn grace_over(&mut self, peer: &PeerId, at: Instant) {
        let Some(&conn) = self.by_peer.get(peer) else {
            return;
        };
        let due = self
            .conns
            .get(&conn)
            .is_some_and(|c| c.detached_until == Some(at));
        if due {
            self.remove_conn(conn, LeaveReason::Disconnected);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn entries_come_out_by_deadline_then_scheduling_order_and_only_when_due() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        let grace = |p: &str| Timer::Grace {
            peer: PeerId::new(p),
        };
        t.schedule(t0 + Duration::from_secs(2), grace("b"));
        t.schedule(t0 + Duration::from_secs(1), grace("a"));
        t.schedule(t0 + Duration::from_secs(2), grace("c"));
        assert_eq!((t.len(), t.next()), (3, Some(t0 + Duration::from_secs(1))));
        assert_eq!(t.pop_due(t0), None, "nothing is due yet");
        let due: Vec<Timer> = std::iter::from_fn(|| t.pop_due(t0 + Duration::from_secs(2)))
            .map(|(_, timer)| timer)
            .collect();
        assert_eq!(due, vec![grace("a"), grace("b"), grace("c")]);
        assert_eq!((t.len(), t.next()), (0, None));
    }
}
