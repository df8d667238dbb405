//! Simulcast: which layer of each published video each receiver gets.
//!
//! A browser publishing simulcast sends its camera as up to three RTP streams of one
//! track, each named by a rid (RFC 8851), smaller and cheaper to larger. The SFU learns
//! each layer's bitrate and (for VP8, from its keyframes) its picture height as frames
//! arrive ([`Layers`]), and gives every receiver of the track one layer at a time
//! ([`Selection`]): the smallest that is at least as tall as the receiver shows that
//! tile (its [`View`]), lowered while the receiver's tracks together exceed what its
//! link carries (str0m's bandwidth estimate, see [`allocate`]). A hidden tile gets no
//! layer at all.
//!
//! A switch happens only on a keyframe of the new layer (the decoder could not use
//! anything else), and the RTP timestamps the receiver sees continue across it (the
//! layers' clocks may have different origins), so its jitter buffer sees one stream.
//! The other layers' frames are dropped for that receiver without depacketizing
//! anything again.

use std::time::{Duration, Instant};
use str0m::media::{MediaData, Rid};

/// A layer from which nothing came for this long is gone (the browser stopped it, for
/// CPU or bandwidth); receivers of it move to one that is live.
pub(crate) const STALE_AFTER: Duration = Duration::from_millis(1200);
/// How long the bitrate of a layer is averaged over.
const RATE_WINDOW: Duration = Duration::from_millis(500);
/// Share of the bandwidth estimate given to media: the rest is headroom for RTP
/// headers, retransmissions and the estimate's own error.
pub(crate) const USABLE: f64 = 0.85;
/// What one audio track is counted as in a receiver's budget.
pub(crate) const AUDIO_BPS: u64 = 48_000;
/// Bitrates assumed for layers not measured yet, lowest first (what the web client
/// asks the browser for).
const NOMINAL_BPS: [u64; 3] = [150_000, 500_000, 1_500_000];

/// How a receiver shows one video track.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum View {
    /// Not reported: the top layer.
    Unknown,
    /// Not shown (scrolled off, a minimized window): no layer at all.
    Hidden,
    /// Shown at this many device pixels tall (at least: wide tiles count by width).
    Height(u32),
}

/// One layer of a published track, as measured.
#[derive(Debug)]
struct Layer {
    rid: Rid,
    /// Bits per second, averaged over the last completed window.
    bps: u64,
    window_start: Instant,
    window_bytes: u64,
    /// Its picture size, from its last VP8 keyframe (0: unknown).
    width: u32,
    height: u32,
    last_seen: Instant,
}

/// The layers of one published video track.
#[derive(Debug, Default)]
pub(crate) struct Layers {
    layers: Vec<Layer>,
    /// Whether a layer is known stale (so staleness is reported once).
    stale: Vec<Rid>,
    /// The top live layer, kept as layers change (asked for every frame).
    top: Option<Rid>,
}

/// A layer as the allocator sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LayerInfo {
    pub(crate) rid: Rid,
    pub(crate) bps: u64,
    pub(crate) width: u32,
    pub(crate) height: u32,
}

impl Layers {
    /// Counts a frame of layer `rid`. True if the set of live layers or their order
    /// changed (a layer appeared, went stale, came back, or its height changed), so
    /// receivers should be allocated again.
    pub(crate) fn observe(&mut self, now: Instant, rid: Rid, data: &MediaData) -> bool {
        let mut changed = false;
        let pos = match self.layers.iter().position(|l| l.rid == rid) {
            Some(pos) => pos,
            None => {
                self.layers.push(Layer {
                    rid,
                    bps: 0,
                    window_start: now,
                    window_bytes: 0,
                    width: 0,
                    height: 0,
                    last_seen: now,
                });
                changed = true;
                self.layers.len() - 1
            }
        };
        let layer = &mut self.layers[pos];
        layer.last_seen = now;
        layer.window_bytes += data.data.len() as u64;
        let elapsed = now.saturating_duration_since(layer.window_start);
        let rolled = elapsed >= RATE_WINDOW;
        if rolled {
            layer.bps = layer.window_bytes * 8 * 1000 / (elapsed.as_millis() as u64).max(1);
            layer.window_start = now;
            layer.window_bytes = 0;
        }
        if data.is_keyframe() {
            if let Some((w, h)) = vp8_size(&data.data) {
                changed |= layer.height != h;
                layer.height = h;
                layer.width = w;
            }
        }
        // Staleness is checked as frames of any layer arrive: a stopped layer shows
        // while the others go on.
        let before = self.stale.len();
        self.stale.retain(|r| *r != rid);
        changed |= self.stale.len() != before;
        for l in &self.layers {
            if now.saturating_duration_since(l.last_seen) > STALE_AFTER
                && !self.stale.contains(&l.rid)
            {
                self.stale.push(l.rid);
                changed = true;
            }
        }
        if changed || rolled {
            self.top = self.ranked().last().map(|l| l.rid);
        }
        changed
    }

    /// The live layers, lowest first: by height where every one is known, else by
    /// bitrate (a layer not measured yet counts as the nominal rate of its place).
    pub(crate) fn ranked(&self) -> Vec<LayerInfo> {
        self.sorted(false)
    }

    /// Every layer seen, stale ones too, ordered as [`Layers::ranked`] orders the live
    /// ones: where a receiver's layer stands among all the publisher sends, which does
    /// not jump when its top layer stalls for a moment (a starved encoder), nor when a
    /// shared screen turns the smaller ones off (`forwarded.rs`).
    pub(crate) fn every(&self) -> Vec<LayerInfo> {
        self.sorted(true)
    }

    fn sorted(&self, stale_too: bool) -> Vec<LayerInfo> {
        let mut live: Vec<LayerInfo> = self
            .layers
            .iter()
            .filter(|l| stale_too || !self.stale.contains(&l.rid))
            .map(|l| LayerInfo {
                rid: l.rid,
                bps: l.bps,
                width: l.width,
                height: l.height,
            })
            .collect();
        if live.iter().all(|l| l.height > 0) {
            live.sort_by_key(|l| (l.height, l.bps));
        } else {
            live.sort_by_key(|l| l.bps);
        }
        for (i, l) in live.iter_mut().enumerate() {
            if l.bps == 0 {
                l.bps = NOMINAL_BPS[i.min(NOMINAL_BPS.len() - 1)];
            }
        }
        live
    }

    /// The top live layer: the one recorded, and the default.
    pub(crate) fn top(&self) -> Option<Rid> {
        self.top
    }
}

/// The bitrate of a track sent in one stream (no layers), measured as [`Layers`] measures
/// each layer's: what a receiver's budget must count it at.
#[derive(Debug, Default)]
pub(crate) struct Meter {
    bps: u64,
    window: Option<(Instant, u64)>,
    /// Its picture size, from its last VP8 keyframe.
    pub(crate) size: Option<(u32, u32)>,
}

impl Meter {
    /// Counts `bytes` arriving at `now`.
    pub(crate) fn observe(&mut self, now: Instant, bytes: usize) {
        let (start, sum) = self.window.get_or_insert((now, 0));
        *sum += bytes as u64;
        let elapsed = now.saturating_duration_since(*start);
        if elapsed >= RATE_WINDOW {
            self.bps = *sum * 8 * 1000 / (elapsed.as_millis() as u64).max(1);
            self.window = Some((now, 0));
        }
    }

    /// Bits per second over the last completed window (0 before one).
    pub(crate) fn bps(&self) -> u64 {
        self.bps
    }

    /// Whether anything came yet.
    pub(crate) fn seen(&self) -> bool {
        self.window.is_some()
    }
}

/// Where one receiver stands on one simulcast track.
#[derive(Debug, Default)]
pub(crate) struct Selection {
    /// The layer it gets now (`None`: nothing yet, or paused).
    pub(crate) current: Option<Rid>,
    /// The layer it should get: switched to on that layer's next keyframe.
    pub(crate) target: Option<Rid>,
    /// Added to the publisher's RTP time (wrapping) so the receiver's timeline goes on
    /// across switches.
    offset: u64,
    /// The last RTP time written to the receiver (after the offset).
    last_out: Option<u64>,
    /// How the receiver shows the track.
    pub(crate) view: Option<View>,
}

/// One frame's spacing at 30 frames a second on the 90 kHz video clock: the gap put
/// between the last frame of the old layer and the first of the new.
const SWITCH_GAP: u64 = 3_000;

impl Selection {
    /// Whether a frame of layer `rid` goes to this receiver; switches to the target on
    /// its keyframe. Returns the RTP time to write it with.
    pub(crate) fn admit(&mut self, rid: Rid, time: u64, keyframe: bool) -> Option<u64> {
        if self.target == Some(rid) && self.current != Some(rid) && keyframe {
            self.offset = match self.last_out {
                Some(last) => last.wrapping_add(SWITCH_GAP).wrapping_sub(time),
                None => 0,
            };
            self.current = Some(rid);
        }
        if self.current != Some(rid) {
            return None;
        }
        if self.target.is_none() {
            // Paused: the current layer stops here.
            self.current = None;
            return None;
        }
        let out = time.wrapping_add(self.offset);
        self.last_out = Some(out);
        Some(out)
    }
}

/// One simulcast track of a receiver, for [`allocate`].
#[derive(Debug)]
pub(crate) struct Demand {
    /// Its live layers, lowest first (never empty).
    pub(crate) layers: Vec<LayerInfo>,
    pub(crate) view: View,
}

/// The layer each track should get (an index into its `layers`; `None`: hidden),
/// given `estimate` (bits per second to this receiver; `None`: not known) of which
/// `fixed` is taken by what cannot be chosen (audio, video without layers). Each track
/// gets the smallest layer tall enough for its view, then the most expensive choices
/// step down one layer at a time until the total fits; no track goes below its lowest
/// layer (a small picture beats a black one).
pub(crate) fn allocate(
    estimate: Option<u64>,
    fixed: u64,
    demands: &[Demand],
) -> Vec<Option<usize>> {
    let mut chosen: Vec<Option<usize>> = demands.iter().map(wanted).collect();
    let Some(estimate) = estimate else {
        return chosen;
    };
    let budget = ((estimate as f64 * USABLE) as u64).saturating_sub(fixed);
    let cost = |chosen: &[Option<usize>]| -> u64 {
        chosen
            .iter()
            .zip(demands)
            .filter_map(|(c, d)| c.map(|i| d.layers[i].bps))
            .sum()
    };
    while cost(&chosen) > budget {
        let step = chosen
            .iter()
            .zip(demands)
            .enumerate()
            .filter_map(|(n, (c, d))| c.filter(|i| *i > 0).map(|i| (n, d.layers[i].bps)))
            .max_by_key(|(_, bps)| *bps);
        let Some((n, _)) = step else {
            break;
        };
        chosen[n] = chosen[n].map(|i| i - 1);
    }
    chosen
}

/// The smallest layer at least as tall as the view (unknown heights: by place, the
/// bottom layer up to 240 pixels, the middle up to 480, else the top).
fn wanted(d: &Demand) -> Option<usize> {
    let top = d.layers.len() - 1;
    match d.view {
        View::Hidden => None,
        View::Unknown => Some(top),
        View::Height(h) if d.layers.iter().all(|l| l.height > 0) => Some(
            d.layers
                .iter()
                .position(|l| l.height * 10 >= h * 9)
                .unwrap_or(top),
        ),
        View::Height(h) => Some(match h {
            0..=240 => 0,
            241..=480 => 1.min(top),
            _ => top,
        }),
    }
}

/// The width and height of a VP8 keyframe (RFC 6386, section 9.1: a 3-byte frame tag,
/// the start code 9d 01 2a, then 14 bits each of width and height), or `None` if
/// `frame` is not one.
pub(crate) fn vp8_size(frame: &[u8]) -> Option<(u32, u32)> {
    if frame.len() < 10 || frame[0] & 1 != 0 || frame[3..6] != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let w = u16::from_le_bytes([frame[6], frame[7]]) & 0x3fff;
    let h = u16::from_le_bytes([frame[8], frame[9]]) & 0x3fff;
    Some((w.into(), h.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layers(spec: &[(u64, u32)]) -> Vec<LayerInfo> {
        let rids = ["l", "m", "h"];
        spec.iter()
            .zip(rids)
            .map(|((bps, height), rid)| LayerInfo {
                rid: Rid::from(rid),
                bps: *bps,
                width: height * 16 / 9,
                height: *height,
            })
            .collect()
    }

    fn three() -> Vec<LayerInfo> {
        layers(&[(150_000, 180), (500_000, 360), (1_500_000, 720)])
    }

    #[test]
    fn the_view_picks_the_smallest_tall_enough_layer() {
        let d = |view| Demand {
            layers: three(),
            view,
        };
        let got = allocate(
            None,
            0,
            &[
                d(View::Height(170)),
                d(View::Height(360)),
                d(View::Height(700)),
                d(View::Unknown),
                d(View::Hidden),
                d(View::Height(2000)),
            ],
        );
        assert_eq!(got, [Some(0), Some(1), Some(2), Some(2), None, Some(2)]);
    }

    #[test]
    fn a_tight_link_steps_the_costliest_down_first() {
        let d = |view| Demand {
            layers: three(),
            view,
        };
        let demands = [d(View::Unknown), d(View::Unknown)];
        // 0.85 * 2.4 M = 2.04 M: one top (1.5 M) and one middle (0.5 M).
        assert_eq!(allocate(Some(2_400_000), 0, &demands), [Some(2), Some(1)]);
        // Audio takes its share first: now both step to the middle.
        assert_eq!(
            allocate(Some(2_400_000), 96_000, &demands),
            [Some(1), Some(1)]
        );
        // Nothing fits: everyone keeps the lowest layer.
        assert_eq!(allocate(Some(100_000), 0, &demands), [Some(0), Some(0)]);
    }

    #[test]
    fn unknown_heights_go_by_place() {
        let d = |view| Demand {
            layers: layers(&[(150_000, 0), (500_000, 0)]),
            view,
        };
        assert_eq!(
            allocate(
                None,
                0,
                &[
                    d(View::Height(200)),
                    d(View::Height(400)),
                    d(View::Height(900))
                ]
            ),
            [Some(0), Some(1), Some(1)]
        );
    }

    #[test]
    fn a_switch_waits_for_a_keyframe_and_keeps_the_timeline() {
        let (l, h) = (Rid::from("l"), Rid::from("h"));
        let mut s = Selection {
            target: Some(h),
            ..Selection::default()
        };
        assert_eq!(s.admit(h, 1000, false), None, "nothing before a keyframe");
        assert_eq!(s.admit(h, 4000, true), Some(4000));
        assert_eq!(s.admit(l, 900_000, true), None, "another layer is dropped");
        s.target = Some(l);
        assert_eq!(
            s.admit(h, 7000, false),
            Some(7000),
            "the old layer goes on until the switch"
        );
        assert_eq!(s.admit(l, 900_003, false), None);
        assert_eq!(
            s.admit(l, 906_000, true),
            Some(10_000),
            "one frame after the last"
        );
        assert_eq!(s.admit(l, 909_000, false), Some(13_000));
        s.target = None;
        assert_eq!(s.admit(l, 912_000, false), None, "paused");
        assert_eq!(s.current, None);
    }

    #[test]
    fn vp8_keyframe_sizes_are_read() {
        let mut frame = vec![0x10, 0, 0, 0x9d, 0x01, 0x2a];
        frame.extend(640u16.to_le_bytes());
        frame.extend((360u16 | 0x4000).to_le_bytes());
        assert_eq!(vp8_size(&frame), Some((640, 360)));
        frame[0] = 0x11;
        assert_eq!(vp8_size(&frame), None, "an interframe");
        assert_eq!(vp8_size(&frame[..8]), None);
    }
}
