//! The SFU's side of simulcast: each receiver's views and bandwidth estimate in, each
//! of its simulcast tracks' target layer out (the policy is in [`crate::layers`]).

use crate::endpoint::Work;
use crate::io::{EndpointId, TrackView};
use crate::layers::{allocate, Demand, View, AUDIO_BPS, USABLE};
use crate::sfu::Sfu;
use std::time::{Duration, Instant};
use str0m::bwe::Bitrate;
use str0m::media::{KeyframeRequestKind, Mid};

/// The least a video track without layers is counted as in a receiver's budget (it
/// cannot be made cheaper, only the others around it), before its rate is measured.
const SINGLE_VIDEO_BPS: u64 = 500_000;
/// Least time between two probes of a receiver's link for a layer up.
const PROBE_EVERY: Duration = Duration::from_secs(4);
/// How often receivers held back by bandwidth are allocated again (and probed).
pub(crate) const LAYER_ROUND: Duration = Duration::from_secs(1);

impl Sfu {
    /// Records how `id` shows the tracks it receives, and allocates again if that
    /// changed.
    pub(crate) fn set_views(&mut self, id: EndpointId, views: &[TrackView]) {
        let Some(ep) = self.endpoints.get_mut(&id) else {
            return;
        };
        let mut changed = false;
        for v in views {
            let view = match (v.width, v.height) {
                (0, _) | (_, 0) => View::Hidden,
                // A wide tile needs the height a 16:9 picture of its width has.
                (w, h) => View::Height(h.max(w.saturating_mul(9) / 16)),
            };
            changed |= ep.set_view(Mid::from(v.mid.as_str()), view);
        }
        if changed {
            self.work.push_back(Work::Allocate { id });
        }
    }

    /// Chooses the layer of every simulcast track `id` receives (see
    /// [`crate::layers::allocate`]), asks publishers for a keyframe of each layer it
    /// should switch to, and tells its bandwidth estimator what it would like to send
    /// (so it probes toward it).
    pub(crate) fn allocate(&mut self, now: Instant, id: EndpointId) {
        let Some(ep) = self.endpoints.get_mut(&id) else {
            return;
        };
        let mut fixed = ep.open_audio() as u64 * AUDIO_BPS;
        let (mut keys, mut demands) = (Vec::new(), Vec::new());
        let video = ep.open_video();
        if video.is_empty() {
            return;
        }
        for (key, view) in video {
            let Some(track) = self.router.tracks.get(&key) else {
                continue;
            };
            let layers = track.layers.ranked();
            if layers.is_empty() {
                fixed += track.meter.bps().max(SINGLE_VIDEO_BPS);
                continue;
            }
            keys.push(key);
            demands.push(Demand { layers, view });
        }
        let wanted = allocate(None, 0, &demands);
        let chosen = allocate(ep.estimate, fixed, &demands);
        let rate = |choice: &[Option<usize>]| -> u64 {
            choice
                .iter()
                .zip(&demands)
                .filter_map(|(c, d)| c.map(|i| d.layers[i].bps))
                .sum::<u64>()
        };
        // With the headroom the allocation leaves, or the estimate would stop short.
        let gross = |bps: u64| Bitrate::bps(((fixed + bps) as f64 / USABLE) as u64);
        let desired = gross(rate(&wanted));
        ep.held_back = chosen != wanted;
        for ((key, choice), demand) in keys.iter().zip(&chosen).zip(&demands) {
            let target = choice.map(|i| demand.layers[i].rid);
            let Some(sel) = ep.selection(*key) else {
                continue;
            };
            if sel.target == target {
                continue;
            }
            sel.target = target;
            if target.is_some() && target != sel.current {
                ep.switching = true;
                let kind = KeyframeRequestKind::Pli;
                let rid = target;
                self.work.push_back(Work::Keyframe {
                    key: *key,
                    kind,
                    rid,
                });
            }
        }
        // No minimum (no padding): finding room for a layer up is the restart's job.
        ep.rtc.bwe().set_bitrate(Bitrate::ZERO, desired);
        // Held back, and not probed for a while: str0m probes on its own only
        // every few seconds, and then not far, so a link whose cap lifted would
        // wait long for its layers. Restarting its estimator from where it is
        // makes it probe upward at once, as at the start of a call; a limit that
        // is still there is found again within a round trip or two.
        let due = ep
            .probed
            .is_none_or(|t| now.saturating_duration_since(t) >= PROBE_EVERY);
        if ep.held_back && due {
            if let Some(estimate) = ep.estimate {
                ep.rtc.bwe().reset(Bitrate::bps(estimate));
                ep.probed = Some(now);
            }
        }
        self.drain(id);
    }
}

impl Sfu {
    /// Every [`LAYER_ROUND`]: browsers hear of the layers they got since the last
    /// round (`Output::Layers`, see `forwarded.rs`), every receiver is allocated again
    /// (the rates of what it receives move, and its estimator should probe toward what
    /// it needs), and a receiver still waiting to switch layers asks for the keyframe
    /// again (the first request may have met the throttle, or been lost).
    pub(crate) fn layer_round(&mut self, now: Instant) {
        if self.next_layer_round.is_some_and(|t| t > now) {
            return;
        }
        self.next_layer_round = Some(now + LAYER_ROUND);
        self.report_layers();
        for ep in self.endpoints.values_mut() {
            self.work.push_back(Work::Allocate { id: ep.id });
            if !ep.switching {
                continue;
            }
            let switches = ep.switches();
            ep.switching = !switches.is_empty();
            for (key, rid) in switches {
                let kind = KeyframeRequestKind::Pli;
                let rid = Some(rid);
                self.work.push_back(Work::Keyframe { key, kind, rid });
            }
        }
    }
}
