//! Active speakers: who is talking in each room, worked out from the audio level every
//! publisher puts in its audio packets (RFC 6464, the `ssrc-audio-level` header
//! extension browsers send), and reported when a room's list changes.
//!
//! # The measure
//!
//! Each forwarded audio frame carries a level in -dBov (0 loudest, 127 digital silence).
//! A frame counts for how far it is above [`FLOOR_DBOV`] (-50 dBov, a quiet voice):
//! `x = max(0, 50 - level)` dB, so silence, a muted microphone and most background noise
//! count as 0 and a normal voice (about -30 dBov) as about 20. Per publisher the SFU keeps
//! an exponential moving average of `x` over time, with time constant [`SMOOTHING`]
//! (400 ms), weighting each frame by the time since the previous one (arrival times,
//! from the input's `now`). A publisher whose frames stop (a muted track that sends
//! nothing, packet loss, DTX) is fed silence for the gap at the next tick, so it decays
//! exactly as if silence had arrived. Cost per frame: two hash lookups and one `exp`.
//!
//! # The list
//!
//! Every [`TICK`] (300 ms; one deadline for all rooms, armed only while some room has
//! levels) each room's list is worked out again: publishers whose average is at least
//! [`ENTER`] dB (or still at least [`STAY`] dB for those already on the list), loudest
//! first, at most [`MAX_SPEAKERS`]. Two kinds of hysteresis keep it from flickering: the
//! enter/stay thresholds, and order: a publisher moves ahead of one listed before it (or
//! onto a full list) only when louder by [`MARGIN`] dB. When the list differs from the
//! last one reported, the room gets an [`Output::ActiveSpeakers`] with the publishers'
//! labels. A talker who stops drops out within about a second (the average falls from
//! 20 to [`STAY`] in `0.4 s · ln 5 ≈ 0.65 s`, plus up to one tick); one who starts is
//! listed within about half a second.
//!
//! Rooms are independent: a publisher's levels count in its own room only.

use crate::io::{EndpointId, Output};
use confab_proto::RoomId;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often each room's list is worked out again.
pub const TICK: Duration = Duration::from_millis(300);
/// The time constant of the moving average of each publisher's level.
pub const SMOOTHING: Duration = Duration::from_millis(400);
/// Frames quieter than this (in -dBov) count as silence.
pub const FLOOR_DBOV: u8 = 50;
/// The average (dB above the floor) a publisher needs to join the list.
pub const ENTER: f32 = 8.0;
/// The average a publisher on the list needs to stay on it.
pub const STAY: f32 = 4.0;
/// How much louder (dB) a publisher must be to move ahead of one listed before it.
pub const MARGIN: f32 = 3.0;
/// The most speakers a list names.
pub const MAX_SPEAKERS: usize = 3;
/// A publisher with no frame for this long is fed silence at the next tick.
const STALE: Duration = Duration::from_millis(100);
/// A publisher whose average fell below this, off the list and with no frame for a
/// tick, is forgotten (its state freed; its next frame starts it again from zero).
const FORGET: f32 = 0.05;

/// The levels of every room with audio, and the one tick deadline.
#[derive(Debug, Default)]
pub(crate) struct Speakers {
    rooms: HashMap<RoomId, RoomLevels>,
    /// When the lists are worked out next; `None` while no room has levels.
    next_tick: Option<Instant>,
}

#[derive(Debug, Default)]
struct RoomLevels {
    publishers: HashMap<EndpointId, Level>,
    /// The list last reported, loudest first (empty before the first report).
    listed: Vec<EndpointId>,
}

#[derive(Debug)]
struct Level {
    /// What the room's members know the publisher as (its stream id).
    label: Arc<str>,
    /// The moving average of dB above [`FLOOR_DBOV`].
    average: f32,
    /// When it was last updated (a frame, or silence fed at a tick).
    last: Instant,
    /// When its last frame arrived.
    heard: Instant,
}

impl Level {
    /// Feeds `x` (dB above the floor) as the signal since `last`.
    fn feed(&mut self, now: Instant, x: f32) {
        let dt = now.saturating_duration_since(self.last).as_secs_f32();
        let alpha = 1.0 - (-dt / SMOOTHING.as_secs_f32()).exp();
        self.average += alpha * (x - self.average);
        self.last = now;
    }

    /// A frame at `now` with `x` dB above the floor.
    fn hear(&mut self, now: Instant, x: f32) {
        self.feed(now, x);
        self.heard = now;
    }
}

impl Speakers {
    /// One audio frame of `publisher` (labelled `label`, in `room`) with RFC 6464 level
    /// `level`, as str0m gives it (0 loudest down to -127 silence; magnitudes above 127
    /// are read as 127). O(1).
    pub(crate) fn observe(
        &mut self,
        now: Instant,
        room: &RoomId,
        publisher: EndpointId,
        label: &Arc<str>,
        level: i8,
    ) {
        let dbov = level.unsigned_abs().min(127);
        let x = f32::from(FLOOR_DBOV.saturating_sub(dbov));
        let levels = match self.rooms.get_mut(room) {
            Some(r) => r,
            None => self.rooms.entry(room.clone()).or_default(),
        };
        levels
            .publishers
            .entry(publisher)
            .or_insert_with(|| Level {
                label: label.clone(),
                average: 0.0,
                last: now,
                heard: now,
            })
            .hear(now, x);
        self.next_tick.get_or_insert(now + TICK);
    }

    /// `publisher` left `room` (or was dropped): its level goes; if it was listed, the
    /// next tick reports the list without it. `last`: it was the room's last member, so
    /// the room's state goes (nobody is left to tell).
    pub(crate) fn remove(&mut self, room: &RoomId, publisher: EndpointId, last: bool) {
        if last {
            self.rooms.remove(room);
            if self.rooms.is_empty() {
                self.next_tick = None;
            }
        } else if let Some(levels) = self.rooms.get_mut(room) {
            levels.publishers.remove(&publisher);
        }
    }

    /// When [`Speakers::tick`] is due, if ever.
    pub(crate) fn deadline(&self) -> Option<Instant> {
        self.next_tick
    }

    /// The list last reported for `room`, loudest first.
    pub(crate) fn listed(&self, room: &RoomId) -> &[EndpointId] {
        self.rooms.get(room).map_or(&[], |r| r.listed.as_slice())
    }

    /// If the tick is due, works out every room's list and queues an
    /// [`Output::ActiveSpeakers`] for each room whose list changed. `exists` says whether
    /// a room still has members (a list is not reported to a room that is gone).
    pub(crate) fn tick(
        &mut self,
        now: Instant,
        exists: impl Fn(&RoomId) -> bool,
        out: &mut VecDeque<Output>,
    ) {
        if self.next_tick.is_none_or(|t| t > now) {
            return;
        }
        self.rooms.retain(|room, levels| {
            if let Some(speakers) = levels.update(now) {
                if exists(room) {
                    out.push_back(Output::ActiveSpeakers {
                        room: room.clone(),
                        speakers,
                    });
                }
            }
            !(levels.publishers.is_empty() && levels.listed.is_empty())
        });
        self.next_tick = (!self.rooms.is_empty()).then_some(now + TICK);
    }
}

impl RoomLevels {
    /// Decays the silent, forgets the long silent, and works the list out again;
    /// returns the new list's labels if it changed.
    fn update(&mut self, now: Instant) -> Option<Vec<String>> {
        for level in self.publishers.values_mut() {
            if now.saturating_duration_since(level.last) >= STALE {
                level.feed(now, 0.0);
            }
        }
        let listed = &self.listed;
        self.publishers.retain(|id, level| {
            level.average >= FORGET
                || listed.contains(id)
                || now.saturating_duration_since(level.heard) < TICK
        });
        let average = |id: &EndpointId| self.publishers.get(id).map_or(0.0, |l| l.average);
        // Those listed who may stay, in the order reported; then the loudest of the
        // newcomers (more than MAX_SPEAKERS of them could never all get in).
        let mut next: Vec<EndpointId> = self
            .listed
            .iter()
            .copied()
            .filter(|id| average(id) >= STAY)
            .collect();
        let mut newcomers: Vec<(EndpointId, f32)> = self
            .publishers
            .iter()
            .filter(|(id, l)| l.average >= ENTER && !self.listed.contains(id))
            .map(|(id, l)| (*id, l.average))
            .collect();
        // Loudest first; equal averages by endpoint id, so the result never depends on
        // hash order.
        newcomers.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        next.extend(newcomers.iter().take(MAX_SPEAKERS).map(|(id, _)| *id));
        // Insertion sort with a margin: one moves ahead of another only when louder by
        // MARGIN (the newcomers are already in order among themselves).
        for i in 1..next.len() {
            let mut j = i;
            while j > 0 && average(&next[j]) > average(&next[j - 1]) + MARGIN {
                next.swap(j, j - 1);
                j -= 1;
            }
        }
        next.truncate(MAX_SPEAKERS);
        if next == self.listed {
            return None;
        }
        self.listed = next;
        Some(
            self.listed
                .iter()
                .filter_map(|id| self.publishers.get(id).map(|l| l.label.to_string()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(name: &str) -> RoomId {
        RoomId::parse(name).unwrap()
    }

    /// Feeds frames every 20 ms for `dur` at the given levels (per publisher), ticking
    /// as the SFU would; returns the reported lists.
    fn run(
        s: &mut Speakers,
        now: &mut Instant,
        dur: Duration,
        levels: &[(u64, i8)],
    ) -> Vec<Vec<String>> {
        let r = room("r");
        let mut reports = Vec::new();
        let end = *now + dur;
        while *now < end {
            *now += Duration::from_millis(20);
            let mut out = VecDeque::new();
            s.tick(*now, |_| true, &mut out);
            for o in out {
                if let Output::ActiveSpeakers { speakers, .. } = o {
                    reports.push(speakers);
                }
            }
            for (id, level) in levels {
                let label: Arc<str> = format!("p{id}").into();
                s.observe(*now, &r, EndpointId(*id), &label, *level);
            }
        }
        reports
    }

    #[test]
    fn close_levels_do_not_reorder_the_list() {
        let mut s = Speakers::default();
        let mut now = Instant::now();
        let reports = run(&mut s, &mut now, Duration::from_secs(2), &[(1, -30)]);
        assert_eq!(reports, [vec!["p1".to_string()]]);
        // p2 is 2 dB louder than p1: it joins the list, but behind p1.
        let reports = run(
            &mut s,
            &mut now,
            Duration::from_secs(3),
            &[(1, -30), (2, -28)],
        );
        assert_eq!(reports, [vec!["p1".to_string(), "p2".to_string()]]);
        // 6 dB louder: it moves ahead.
        let reports = run(
            &mut s,
            &mut now,
            Duration::from_secs(3),
            &[(1, -30), (2, -24)],
        );
        assert_eq!(reports, [vec!["p2".to_string(), "p1".to_string()]]);
    }

    #[test]
    fn at_most_three_and_a_full_list_needs_a_margin() {
        let mut s = Speakers::default();
        let mut now = Instant::now();
        let four = [(1, -20), (2, -22), (3, -24), (4, -25)];
        let reports = run(&mut s, &mut now, Duration::from_secs(3), &four);
        let last = reports.last().unwrap();
        assert_eq!(last, &["p1", "p2", "p3"]);
        assert_eq!(s.listed(&room("r")).len(), MAX_SPEAKERS);
    }

    #[test]
    fn a_publisher_whose_frames_stop_decays_and_is_forgotten() {
        let mut s = Speakers::default();
        let mut now = Instant::now();
        run(&mut s, &mut now, Duration::from_secs(2), &[(1, -30)]);
        assert_eq!(s.listed(&room("r")), [EndpointId(1)]);
        // No more frames: silence is fed at the ticks.
        let reports = run(&mut s, &mut now, Duration::from_secs(5), &[]);
        assert_eq!(reports, [Vec::<String>::new()]);
        assert!(s.rooms.is_empty(), "{:?}", s.rooms);
        assert_eq!(s.deadline(), None);
    }
}
