//! Publishers' media in the simulated world (audio, video, simulcast layers), the
//! views receivers report, and the links' rate caps.

use super::{vp8_frame, World, AUDIO_EVERY, LATENCY, LAYERS, VIDEO_EVERY};
use confab_sfu::{EndpointId, Input};
use std::cmp::Reverse;
use std::net::SocketAddr;
use std::time::Duration;
use str0m::format::Codec;
use str0m::media::{MediaKind, MediaTime, Mid, Rid};

impl World {
    /// Publisher 1 (simulcast) and receive-only browsers 2 and 3 in room "class",
    /// connected and flowing for 5 s (their bandwidth estimates settled: from the start
    /// value, 2.5 Mbit/s, or grown by probing).
    pub fn simulcast_class() -> World {
        let mut w = World::new();
        w.simulcasters.insert(EndpointId(1));
        w.join(1, "203.0.113.1:5000", "class", true);
        w.join(2, "203.0.113.2:5000", "class", false);
        w.join(3, "203.0.113.3:5000", "class", false);
        w.run_for(Duration::from_secs(5));
        assert_eq!(w.connected.len(), 3);
        w
    }

    /// Publishers write the frames that are due (each write followed by a drain).
    pub(super) fn write_media(&mut self) {
        let now = self.now;
        let elapsed = now.duration_since(self.start);
        for idx in 0..self.peers.len() {
            if !self.peers[idx].connected {
                continue;
            }
            for (mid, kind) in self.peers[idx].sending.clone() {
                let peer = &mut self.peers[idx];
                let (next, every, codec, size) = match kind {
                    MediaKind::Audio => (&mut peer.next_audio, AUDIO_EVERY, Codec::Opus, 80),
                    _ => (&mut peer.next_video, VIDEO_EVERY, Codec::Vp8, 1000),
                };
                if *next > now {
                    continue;
                }
                *next = now + every;
                let level = peer.audio_level.filter(|_| kind == MediaKind::Audio);
                let Some(writer) = peer.rtc.writer(mid) else {
                    continue;
                };
                let writer = match level {
                    Some(l) => writer.audio_level(-(l.min(127) as i8), l < 127),
                    None => writer,
                };
                let Some(pt) = writer
                    .payload_params()
                    .find(|p| p.spec().codec == codec)
                    .map(|p| p.pt())
                else {
                    continue;
                };
                let time = match kind {
                    MediaKind::Audio => MediaTime::from_millis(elapsed.as_millis() as u64),
                    _ => MediaTime::from_90khz(elapsed.as_millis() as u64 * 90),
                };
                if kind == MediaKind::Video && peer.simulcast {
                    self.write_layers(idx, mid, pt, time);
                    continue;
                }
                // A VP8 payload whose first byte marks a keyframe (P bit clear).
                writer.write(pt, now, time, vec![0x10; size]).unwrap();
                self.drain_peer(idx);
            }
        }
    }

    /// A simulcast peer's video frame, in each layer: a keyframe where one was asked
    /// for (or every 4 s), else an interframe. Each layer's RTP clock has its own
    /// origin, as it may in a browser.
    fn write_layers(&mut self, idx: usize, mid: Mid, pt: str0m::media::Pt, time: MediaTime) {
        let now = self.now;
        let periodic = time.numer() % (4 * 90_000) < 3_600;
        for (n, (rid, height, size)) in LAYERS.iter().enumerate() {
            let peer = &mut self.peers[idx];
            if peer.stopped.contains(rid) {
                continue;
            }
            let rid = Rid::from(*rid);
            let asked = peer.key_due.iter().any(|r| r.is_none_or(|r| r == rid));
            peer.key_due.retain(|r| r.is_some_and(|r| r != rid));
            let key = asked || periodic;
            let t = MediaTime::from_90khz(time.numer() + n as u64 * 1_000_000);
            let Some(writer) = peer.rtc.writer(mid) else {
                return;
            };
            writer
                .rid(rid)
                .write(pt, now, t, vp8_frame(key, *height, *size))
                .unwrap();
            self.drain_peer(idx);
        }
    }

    /// Receiver `id` reports showing `from`'s video at `width` x `height` (0 x 0:
    /// hidden).
    pub fn view(&mut self, id: u64, from: u64, width: u32, height: u32) {
        let mid = self
            .peer(id)
            .mid_from(from, MediaKind::Video)
            .expect("no such track");
        let views = vec![confab_sfu::TrackView {
            mid: mid.to_string(),
            width,
            height,
        }];
        self.sfu_handle(Input::View {
            endpoint: EndpointId(id),
            views,
        });
    }

    /// Caps the link to `addr` (what reaches it) at `bps`; `None` lifts the cap.
    pub fn cap(&mut self, addr: &str, bps: Option<u64>) {
        let addr: SocketAddr = addr.parse().unwrap();
        match bps {
            Some(bps) => self.caps.insert(addr, (bps, self.now)),
            None => self.caps.remove(&addr),
        };
    }

    /// Puts a datagram on the wire, through the destination's cap if it has one.
    pub(super) fn send(&mut self, source: SocketAddr, destination: SocketAddr, bytes: Vec<u8>) {
        let mut at = self.now + LATENCY;
        if let Some((bps, free)) = self.caps.get_mut(&destination) {
            let start = (*free).max(self.now);
            if start > self.now + Duration::from_millis(100) {
                self.capped += 1;
                return;
            }
            *free = start + Duration::from_nanos(bytes.len() as u64 * 8 * 1_000_000_000 / *bps);
            at = *free + LATENCY;
        }
        self.sent += 1;
        self.wire
            .push(Reverse((at, self.sent, source, destination, bytes)));
    }
}
