//! The str0m peers of the simulated world: what each receives, and the drain that
//! records it.

use super::{World, LATENCY};
use confab_sfu::EndpointId;
use std::cmp::Reverse;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;
use str0m::change::SdpPendingOffer;
use str0m::media::{MediaKind, Mid, Rid};
use str0m::{Event, Output as RtcOutput, Rtc};

/// A str0m peer: what a browser would be.
pub struct Peer {
    pub id: EndpointId,
    pub addr: SocketAddr,
    pub rtc: Rtc,
    pub due: Instant,
    pub(super) pending: Option<SdpPendingOffer>,
    /// Mids it publishes on, with their kind.
    pub sending: Vec<(Mid, MediaKind)>,
    /// Frames received, by the stream id of the forwarded track (the publisher) and kind.
    pub frames: HashMap<(String, MediaKind), usize>,
    /// The audio level (as str0m reads it: 0 down to -127) of the last frame received,
    /// by the stream id of the forwarded track.
    pub levels_in: HashMap<String, i8>,
    /// Frames received, by our mid.
    pub frames_by_mid: HashMap<Mid, usize>,
    /// Mids the SFU added to it (tracks of others), in order.
    pub added: Vec<Mid>,
    /// Keyframe requests that reached it as a publisher.
    pub keyframe_requests: usize,
    pub connected: bool,
    /// The RFC 6464 level its audio frames carry, in -dBov (0 loudest, 127 silence);
    /// `None`: no level at all.
    pub audio_level: Option<u8>,
    pub(super) next_audio: Instant,
    pub(super) next_video: Instant,
    /// It publishes its video in three simulcast layers ([`LAYERS`]).
    pub simulcast: bool,
    /// Rids of the layers it stopped sending (a shared screen, a starved encoder).
    pub stopped: Vec<&'static str>,
    /// Layers (rid; `None`: all) a keyframe was asked for and not yet sent.
    pub(super) key_due: Vec<Option<Rid>>,
    /// Keyframe requests that reached it, per layer asked for.
    pub keyframe_requests_by_rid: HashMap<Option<Rid>, usize>,
    /// Of each mid it receives on: the height of the last VP8 keyframe, bytes received,
    /// and the RTP times' largest step forward and whether one ever went back.
    pub height_by_mid: HashMap<Mid, u32>,
    pub bytes_by_mid: HashMap<Mid, usize>,
    pub last_time_by_mid: HashMap<Mid, u64>,
    pub max_step_by_mid: HashMap<Mid, u64>,
    /// Of each mid it receives on: when its first frame arrived, and whether that one
    /// was a keyframe.
    pub first_by_mid: HashMap<Mid, (Instant, bool)>,
    /// Keyframes received, by mid.
    pub keys_by_mid: HashMap<Mid, usize>,
}

/// The simulcast layers a simulcast peer sends: rid, picture height, bytes per frame
/// (at 25 frames a second: about 128 kbit/s, 400 kbit/s and 1.2 Mbit/s).
pub const LAYERS: [(&str, u16, usize); 3] = [("l", 180, 640), ("m", 360, 2000), ("h", 720, 6000)];

/// A VP8 frame of `size` bytes: a keyframe declaring `height` (and a 16:9 width), or an
/// interframe.
pub fn vp8_frame(key: bool, height: u16, size: usize) -> Vec<u8> {
    let mut f = vec![if key { 0x10 } else { 0x11 }, 0, 0, 0x9d, 0x01, 0x2a];
    f.extend((height * 16 / 9).to_le_bytes());
    f.extend(height.to_le_bytes());
    f.resize(size, 0x42);
    f
}

impl Peer {
    /// Stream ids of the tracks the SFU added to it whose m-lines are not stopped, one
    /// per track (a publisher of audio and video appears twice), sorted.
    pub fn live_sources(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .added
            .iter()
            .filter_map(|mid| self.rtc.media(*mid))
            .filter(|m| !m.disabled())
            .map(|m| m.stream_id().to_owned())
            .collect();
        ids.sort();
        ids
    }

    pub fn frames_from(&self, from: EndpointId, kind: MediaKind) -> usize {
        self.frames
            .get(&(format!("peer-{}", from.0), kind))
            .copied()
            .unwrap_or(0)
    }

    /// Mids on which it receives video.
    /// The height of the layer `from`'s video arrives in (from its last keyframe).
    pub fn height_from(&self, from: u64) -> Option<u32> {
        let mid = self.mid_from(from, MediaKind::Video)?;
        self.height_by_mid.get(&mid).copied()
    }

    /// Our mid that carries `from`'s track of `kind`.
    pub fn mid_from(&self, from: u64, kind: MediaKind) -> Option<Mid> {
        let stream = format!("peer-{from}");
        self.added.iter().copied().find(|m| {
            self.rtc
                .media(*m)
                .is_some_and(|m| m.kind() == kind && m.stream_id() == stream && !m.disabled())
        })
    }

    pub fn video_mids(&self) -> Vec<Mid> {
        self.added
            .iter()
            .copied()
            .filter(|m| {
                self.rtc
                    .media(*m)
                    .is_some_and(|m| m.kind() == MediaKind::Video && !m.disabled())
            })
            .collect()
    }
}

impl World {
    /// Polls peer `idx` until its next timeout: transmits go on the wire, events are
    /// recorded.
    pub(super) fn drain_peer(&mut self, idx: usize) {
        let now = self.now;
        let peer = &mut self.peers[idx];
        loop {
            match peer.rtc.poll_output().unwrap() {
                RtcOutput::Timeout(t) => {
                    peer.due = t;
                    break;
                }
                RtcOutput::Transmit(t) => {
                    if !self.cut.contains(&t.source) {
                        let at = now + LATENCY;
                        self.sent += 1;
                        let d = (at, self.sent, t.source, t.destination, t.contents.into());
                        self.wire.push(Reverse(d));
                    }
                }
                RtcOutput::Event(e) => match e {
                    Event::Connected => peer.connected = true,
                    Event::MediaData(d) => {
                        let Some(media) = peer.rtc.media(d.mid) else {
                            continue;
                        };
                        let key = (media.stream_id().to_owned(), media.kind());
                        if let Some(level) = d.ext_vals.audio_level {
                            peer.levels_in.insert(key.0.clone(), level);
                        }
                        *peer.frames.entry(key).or_default() += 1;
                        *peer.frames_by_mid.entry(d.mid).or_default() += 1;
                        let first = (now, d.is_keyframe());
                        peer.first_by_mid.entry(d.mid).or_insert(first);
                        if d.is_keyframe() {
                            *peer.keys_by_mid.entry(d.mid).or_default() += 1;
                        }
                        *peer.bytes_by_mid.entry(d.mid).or_default() += d.data.len();
                        if d.is_keyframe() && d.data.len() >= 10 && d.data[3] == 0x9d {
                            let h = u16::from_le_bytes([d.data[8], d.data[9]]);
                            peer.height_by_mid.insert(d.mid, h.into());
                        }
                        let t = d.time.numer();
                        if let Some(last) = peer.last_time_by_mid.insert(d.mid, t) {
                            // A step back shows as a huge step (u64 wraps).
                            let step = t.wrapping_sub(last);
                            let max = peer.max_step_by_mid.entry(d.mid).or_default();
                            *max = (*max).max(step);
                        }
                    }
                    Event::KeyframeRequest(req) => {
                        peer.keyframe_requests += 1;
                        *peer.keyframe_requests_by_rid.entry(req.rid).or_default() += 1;
                        peer.key_due.push(req.rid);
                    }
                    Event::MediaAdded(m) => peer.added.push(m.mid),
                    _ => {}
                },
            }
        }
    }
}
