//! The room leases this node holds, and when to renew them.
//!
//! A lease is a Redis key `SET NX PX ttl` with this node's name: while it lives, no
//! other node can take the room. Redis starts the TTL when the command arrives, which
//! is after this node sent it, so a lease counts as held only until *send time* + ttl
//! − a margin for clock rates; a renewal (sent every third of the TTL) pushes that on
//! only when Redis confirms it. A lease that runs out unconfirmed is lost: the node
//! must stop acting as the room's owner before anyone else can take it.

use confab_proto::RoomId;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a lease lives in Redis without renewal: with the 5 s a dead node takes to
/// be noticed, a dead owner's rooms are owned again within it (renewed every third).
pub const LEASE_TTL: Duration = Duration::from_secs(8);
/// What a node does not count on at the end of a lease (clock rates, scheduling).
pub const LEASE_MARGIN: Duration = Duration::from_secs(1);

#[derive(Debug)]
struct Held {
    /// Until when this node may act as the owner.
    until: Instant,
    /// A renewal sent at this time awaits Redis's answer.
    renewing: Option<Instant>,
}

/// The leases held, in a node's own clock.
#[derive(Debug, Default)]
pub struct Leases {
    held: HashMap<RoomId, Held>,
}

impl Leases {
    /// Redis granted (or renewed) `room` to this node for a command sent at `sent`.
    pub fn granted(&mut self, room: RoomId, sent: Instant) {
        let until = sent + LEASE_TTL - LEASE_MARGIN;
        let held = self.held.entry(room).or_insert(Held {
            until,
            renewing: None,
        });
        held.until = held.until.max(until);
        held.renewing = None;
    }

    /// Whether this node may act as `room`'s owner at `now`.
    pub fn holds(&self, room: &RoomId, now: Instant) -> bool {
        self.held.get(room).is_some_and(|h| now < h.until)
    }

    /// The leases to renew at `now` (a third of the TTL has passed since the last
    /// grant and none is in flight); each is marked as renewing.
    pub fn due(&mut self, now: Instant) -> Vec<RoomId> {
        let mut due = Vec::new();
        for (room, h) in &mut self.held {
            let renew_at = h.until + LEASE_MARGIN - LEASE_TTL + LEASE_TTL / 3;
            if h.renewing.is_none() && now >= renew_at && now < h.until {
                h.renewing = Some(now);
                due.push(room.clone());
            }
        }
        due.sort();
        due
    }

    /// Redis answered the renewal of `room`: `ok` false means the key is not ours any
    /// more (it expired and another node took it), so the lease is lost now.
    pub fn renewed(&mut self, room: &RoomId, ok: bool) -> bool {
        let Some(h) = self.held.get_mut(room) else {
            return false;
        };
        let Some(sent) = h.renewing.take() else {
            return true;
        };
        if ok {
            h.until = h.until.max(sent + LEASE_TTL - LEASE_MARGIN);
            true
        } else {
            self.held.remove(room);
            false
        }
    }

    /// Leases that ran out by `now`, unrenewed: forgotten here and returned.
    pub fn expired(&mut self, now: Instant) -> Vec<RoomId> {
        let mut gone: Vec<RoomId> = self
            .held
            .iter()
            .filter(|(_, h)| now >= h.until)
            .map(|(r, _)| r.clone())
            .collect();
        for room in &gone {
            self.held.remove(room);
        }
        gone.sort();
        gone
    }

    /// This node gave `room` up (the room ended).
    pub fn released(&mut self, room: &RoomId) {
        self.held.remove(room);
    }

    /// The next time [`Leases::due`] or [`Leases::expired`] has something.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.held
            .values()
            .map(|h| match h.renewing {
                Some(_) => h.until,
                None => (h.until + LEASE_MARGIN - LEASE_TTL + LEASE_TTL / 3).min(h.until),
            })
            .min()
    }

    /// The rooms held.
    pub fn rooms(&self) -> impl Iterator<Item = &RoomId> {
        self.held.keys()
    }
}
