//! Synthetic media: what a publisher puts on the wire. VP8 frames of a fixed size split
//! into near-equal RTP packets (a valid payload descriptor and frame tag, so SFUs that
//! look inside, str0m's depacketizer and Janus's keyframe check, read them), and Opus
//! packets of a fixed size. Nothing is encoded: after the headers come a stamp (the
//! frame's or audio packet's number in its stream, [`stamp_of`]) and filler. The stamp
//! survives an SFU that renumbers RTP packets per receiver, so receivers measure loss
//! end to end, frames an SFU drops included.

use std::time::Duration;

/// Rates and sizes of the synthetic streams every publisher sends.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaSpec {
    /// Video frames per second.
    pub fps: u32,
    /// Video bitrate in bits per second (RTP payload).
    pub video_bps: u64,
    /// Largest video RTP payload in bytes; a frame is split into near-equal packets.
    pub packet_bytes: usize,
    /// Opus packet duration.
    pub audio_every: Duration,
    /// Opus RTP payload bytes.
    pub audio_bytes: usize,
    /// A keyframe at least this often (and on every keyframe request).
    pub keyframe_every: Duration,
}

impl Default for MediaSpec {
    fn default() -> Self {
        MediaSpec {
            fps: 30,
            video_bps: 500_000,
            packet_bytes: 1100,
            audio_every: Duration::from_millis(20),
            audio_bytes: 100,
            keyframe_every: Duration::from_secs(3),
        }
    }
}

impl MediaSpec {
    /// Bytes of one video frame.
    pub fn frame_bytes(&self) -> usize {
        ((self.video_bps / 8) / u64::from(self.fps.max(1))).max(16) as usize
    }

    /// RTP packets one video frame takes.
    pub fn packets_per_frame(&self) -> usize {
        self.frame_bytes().div_ceil(self.packet_bytes.max(64))
    }

    /// Time between video frames.
    pub fn frame_every(&self) -> Duration {
        Duration::from_secs(1) / self.fps.max(1)
    }

    /// RTP packets per second one publisher sends (video and audio).
    pub fn packets_per_sec(&self) -> f64 {
        let video = f64::from(self.fps) * self.packets_per_frame() as f64;
        video + 1.0 / self.audio_every.as_secs_f64()
    }

    /// The RTP payloads of video frame number `n` (a keyframe if `key`), in order; the
    /// last one carries the frame's marker bit.
    pub fn video_frame(&self, n: u64, key: bool) -> Vec<Vec<u8>> {
        let total = self.frame_bytes();
        let parts = self.packets_per_frame();
        let mut out = Vec::with_capacity(parts);
        let mut left = total;
        for i in 0..parts {
            let len = left / (parts - i);
            left -= len;
            let mut p = Vec::with_capacity(len + 1);
            // VP8 payload descriptor (RFC 7741): S (start of partition) on the first.
            p.push(if i == 0 { 0x10 } else { 0x00 });
            if i == 0 {
                p.extend_from_slice(&vp8_frame_header(key, total as u32));
                p.extend_from_slice(&STAMP);
                p.extend_from_slice(&n.to_be_bytes());
            }
            let fill = (n as u8).wrapping_add(i as u8);
            p.resize(len.max(p.len()), fill);
            out.push(p);
        }
        out
    }

    /// The RTP payload of an Opus packet.
    pub fn audio_packet(&self, n: u64) -> Vec<u8> {
        // TOC byte: config 31 (CELT fullband 20 ms), mono, one frame.
        let mut p = vec![0xf8];
        p.extend_from_slice(&STAMP);
        p.extend_from_slice(&n.to_be_bytes());
        p.resize(self.audio_bytes.max(p.len()), n as u8);
        p
    }
}

/// Marks the number that follows it in a payload (filler bytes repeat one value, so
/// they never spell it).
const STAMP: [u8; 4] = *b"cfmb";

/// Where in a payload the stamp may start at the latest (after a VP8 descriptor with
/// every extension and a keyframe header).
const STAMP_WITHIN: usize = 32;

/// The number stamped in a payload: a video frame's (only in the frame's first packet)
/// or an audio packet's.
pub fn stamp_of(payload: &[u8]) -> Option<u64> {
    let head = &payload[..payload.len().min(STAMP_WITHIN + STAMP.len() + 8)];
    let at = head.windows(STAMP.len()).position(|w| w == STAMP)?;
    let n = head.get(at + STAMP.len()..at + STAMP.len() + 8)?;
    Some(u64::from_be_bytes(n.try_into().ok()?))
}

/// A VP8 frame tag (RFC 6386 9.1), and for a keyframe the start code and a 640x360
/// size: enough for parsers that tell keyframes apart.
fn vp8_frame_header(key: bool, size: u32) -> Vec<u8> {
    // Bit 0: 0 = keyframe; bits 1-3: version 0; bit 4: show_frame; then 19 bits of
    // the first partition's size.
    let first_part = size.min((1 << 19) - 1);
    let tag = u32::from(!key) | (1 << 4) | (first_part << 5);
    let mut h = vec![tag as u8, (tag >> 8) as u8, (tag >> 16) as u8];
    if key {
        h.extend_from_slice(&[0x9d, 0x01, 0x2a]);
        h.extend_from_slice(&640u16.to_le_bytes());
        h.extend_from_slice(&360u16.to_le_bytes());
    }
    h
}

/// Whether a VP8 RTP payload starts a keyframe (what an SFU checks).
pub fn is_vp8_keyframe_start(payload: &[u8]) -> bool {
    payload.len() > 1 && payload[0] & 0x10 != 0 && payload[1] & 0x01 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_frames_split_into_near_equal_packets_of_at_most_the_packet_size() {
        let spec = MediaSpec::default();
        assert_eq!(spec.frame_bytes(), 2083);
        let frame = spec.video_frame(7, false);
        let sizes: Vec<usize> = frame.iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![1041, 1042]);
        assert_eq!(stamp_of(&frame[0]), Some(7));
        assert_eq!(stamp_of(&frame[1]), None);
        assert_eq!(stamp_of(&spec.video_frame(9, true)[0]), Some(9));
        assert_eq!(stamp_of(&spec.audio_packet(1 << 40)), Some(1 << 40));
        assert_eq!(spec.audio_packet(3).len(), 100);
        assert!((spec.packets_per_sec() - 110.0).abs() < 1e-9);
        let small = MediaSpec {
            packet_bytes: 700,
            ..MediaSpec::default()
        };
        let sizes: Vec<usize> = small.video_frame(1, true).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![694, 694, 695]);
    }

    #[test]
    fn keyframes_are_told_apart() {
        let spec = MediaSpec::default();
        assert!(is_vp8_keyframe_start(&spec.video_frame(0, true)[0]));
        assert!(!is_vp8_keyframe_start(&spec.video_frame(1, false)[0]));
        assert!(!is_vp8_keyframe_start(&spec.video_frame(0, true)[1]));
        assert_eq!(&spec.video_frame(0, true)[0][4..7], &[0x9d, 0x01, 0x2a]);
    }
}
