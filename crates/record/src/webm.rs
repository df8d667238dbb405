//! A WebM file of one track (VP8 video or Opus audio), or a Matroska file of one H.264 or
//! G.711 track (see [`crate::Track`]), written as frames arrive.
//!
//! The Segment and its Clusters have unknown sizes (see [`crate::ebml::UNKNOWN_SIZE`]),
//! so nothing needs rewriting: a file cut off anywhere (the server killed) is read up to
//! its last whole block. One thing is written at the end when there is one: the header
//! keeps an 11-byte Void element where a clean close puts the Duration (players show
//! and seek a length then; without it a file reads like a live stream). A new Cluster starts at a video keyframe once the current
//! one is a second old, and at the latest every five seconds (block times are 16-bit
//! offsets from the Cluster's).

use crate::ebml;

use crate::track::{Codec, Track};
use std::borrow::Cow;

/// Longest a Cluster runs, in milliseconds.
const MAX_CLUSTER_MS: u64 = 5_000;
/// A video keyframe starts a new Cluster once the current one is this old.
const KEYFRAME_CLUSTER_MS: u64 = 1_000;

/// Element ids used here (Matroska's specification).
mod id {
    pub const EBML: u32 = 0x1A45_DFA3;
    pub const EBML_VERSION: u32 = 0x4286;
    pub const EBML_READ_VERSION: u32 = 0x42F7;
    pub const EBML_MAX_ID_LENGTH: u32 = 0x42F2;
    pub const EBML_MAX_SIZE_LENGTH: u32 = 0x42F3;
    pub const DOC_TYPE: u32 = 0x4282;
    pub const DOC_TYPE_VERSION: u32 = 0x4287;
    pub const DOC_TYPE_READ_VERSION: u32 = 0x4285;
    pub const SEGMENT: u32 = 0x1853_8067;
    pub const INFO: u32 = 0x1549_A966;
    pub const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
    pub const DURATION: u32 = 0x4489;
    pub const VOID: u32 = 0xEC;
    pub const MUXING_APP: u32 = 0x4D80;
    pub const WRITING_APP: u32 = 0x5741;
    pub const TRACKS: u32 = 0x1654_AE6B;
    pub const TRACK_ENTRY: u32 = 0xAE;
    pub const CLUSTER: u32 = 0x1F43_B675;
    pub const TIMESTAMP: u32 = 0xE7;
    pub const SIMPLE_BLOCK: u32 = 0xA3;
}

/// Writes one track's WebM file: [`WebmWriter::header`] once, then
/// [`WebmWriter::frame`] for every frame, each returning the bytes to append.
#[derive(Debug)]
pub struct WebmWriter {
    track: Track,
    /// The current Cluster's time, once one is open.
    cluster: Option<u64>,
    /// The last block's time (blocks never go back in time).
    last: u64,
    /// The gap before the last block: the last block's own length, as far as we know.
    step: u64,
}

/// Bytes of the Void in the header that [`WebmWriter::duration`] replaces.
const DURATION_BYTES: usize = 11;

impl WebmWriter {
    /// A writer for `track`.
    pub fn new(track: Track) -> WebmWriter {
        WebmWriter {
            track,
            cluster: None,
            last: 0,
            step: 0,
        }
    }

    /// Where in [`WebmWriter::header`]'s bytes the Duration goes (see
    /// [`WebmWriter::duration`]).
    pub fn duration_offset(&self) -> usize {
        self.header().len() - self.tracks_len() - DURATION_BYTES
    }

    /// The Duration element to write over the header's Void at
    /// [`WebmWriter::duration_offset`] when the recording ends: the last frame's time
    /// plus its length (taken as the gap before it).
    pub fn duration(&self) -> [u8; DURATION_BYTES] {
        let mut out = Vec::with_capacity(DURATION_BYTES);
        ebml::float(&mut out, id::DURATION, self.end_ms() as f64);
        out.try_into().expect("a Duration element is 11 bytes")
    }

    /// Where the track ends, in ms into the recording: the last frame's time plus its
    /// length (what [`WebmWriter::duration`] writes).
    pub fn end_ms(&self) -> u64 {
        self.last + self.step
    }

    fn tracks_len(&self) -> usize {
        self.tracks().len()
    }

    /// The file's start: the EBML header, the Segment (unknown size), its Info
    /// (millisecond timestamps) and its one track.
    pub fn header(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut head = Vec::new();
        ebml::uint(&mut head, id::EBML_VERSION, 1);
        ebml::uint(&mut head, id::EBML_READ_VERSION, 1);
        ebml::uint(&mut head, id::EBML_MAX_ID_LENGTH, 4);
        ebml::uint(&mut head, id::EBML_MAX_SIZE_LENGTH, 8);
        ebml::string(&mut head, id::DOC_TYPE, self.track.doc_type());
        ebml::uint(&mut head, id::DOC_TYPE_VERSION, 4);
        ebml::uint(&mut head, id::DOC_TYPE_READ_VERSION, 2);
        ebml::element(&mut out, id::EBML, &head);
        ebml::open(&mut out, id::SEGMENT);
        let mut info = Vec::new();
        ebml::uint(&mut info, id::TIMESTAMP_SCALE, 1_000_000);
        ebml::string(&mut info, id::MUXING_APP, "confab");
        ebml::string(&mut info, id::WRITING_APP, "confab");
        // Room for the Duration: a Void of the same size (2 + 1 + 8 bytes).
        ebml::element(&mut info, id::VOID, &[0; DURATION_BYTES - 2]);
        ebml::element(&mut out, id::INFO, &info);
        out.extend(self.tracks());
        out
    }

    /// The Tracks element.
    fn tracks(&self) -> Vec<u8> {
        let mut tracks = Vec::new();
        ebml::element(&mut tracks, id::TRACK_ENTRY, &self.track.entry());
        let mut out = Vec::new();
        ebml::element(&mut out, id::TRACKS, &tracks);
        out
    }

    /// One frame at `ms` milliseconds into the recording (`keyframe`: a video frame
    /// that decodes alone; every audio frame does). Returns the bytes to append: the
    /// block, after a new Cluster when one is due. A time before the last frame's is
    /// taken as the last frame's. H.264 comes in Annex B form (start codes) and is
    /// written length-prefixed.
    pub fn frame(&mut self, ms: u64, keyframe: bool, data: &[u8]) -> Vec<u8> {
        let ms = ms.max(self.last);
        if self.cluster.is_some() {
            self.step = ms - self.last;
        }
        self.last = ms;
        let video = self.track.codec.is_video();
        let keyframe = keyframe || !video;
        let data: Cow<'_, [u8]> = match self.track.codec {
            Codec::H264 => Cow::Owned(crate::h264::length_prefixed(data)),
            _ => Cow::Borrowed(data),
        };
        let mut out = Vec::with_capacity(data.len() + 32);
        let age = self.cluster.map(|start| ms - start);
        let due = match age {
            None => true,
            Some(age) => age >= MAX_CLUSTER_MS || (keyframe && video && age >= KEYFRAME_CLUSTER_MS),
        };
        if due {
            ebml::open(&mut out, id::CLUSTER);
            ebml::uint(&mut out, id::TIMESTAMP, ms);
            self.cluster = Some(ms);
        }
        let offset = ms - self.cluster.unwrap_or(ms);
        let offset = i16::try_from(offset).unwrap_or(i16::MAX);
        ebml::id(&mut out, id::SIMPLE_BLOCK);
        ebml::size(&mut out, data.len() as u64 + 4);
        out.push(0x81); // track number 1, as a one-byte EBML number
        out.extend_from_slice(&offset.to_be_bytes());
        out.push(if keyframe { 0x80 } else { 0x00 });
        out.extend_from_slice(&data);
        out
    }
}

/// Whether a VP8 frame is a keyframe, and its picture size if so (RFC 6386 §9.1: a
/// keyframe's frame tag has bit 0 clear, then the start code 9d 01 2a, then 14-bit width
/// and height).
pub fn vp8_keyframe_size(frame: &[u8]) -> Option<(u16, u16)> {
    if frame.len() < 10 || frame[0] & 1 != 0 || frame[3..6] != [0x9D, 0x01, 0x2A] {
        return None;
    }
    let width = u16::from_le_bytes([frame[6], frame[7]]) & 0x3FFF;
    let height = u16::from_le_bytes([frame[8], frame[9]]) & 0x3FFF;
    Some((width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vp8_keyframe_tells_its_size_and_a_delta_frame_does_not() {
        let key = [
            0x50, 0x42, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0x68, 0x01, 0x00,
        ];
        assert_eq!(vp8_keyframe_size(&key), Some((640, 360)));
        let delta = [0x51, 0x42, 0x00, 0x00, 0x00];
        assert_eq!(vp8_keyframe_size(&delta), None);
    }

    #[test]
    fn clusters_start_at_keyframes_after_a_second_and_every_five_seconds() {
        let mut w = WebmWriter::new(Track::vp8(640, 360));
        let cluster = |bytes: &[u8]| bytes.starts_with(&[0x1F, 0x43, 0xB6, 0x75]);
        assert!(cluster(&w.frame(0, true, b"k")));
        assert!(
            !cluster(&w.frame(500, true, b"k")),
            "a keyframe half a second in"
        );
        assert!(!cluster(&w.frame(1_200, false, b"d")));
        assert!(
            cluster(&w.frame(1_300, true, b"k")),
            "a keyframe past a second"
        );
        assert!(!cluster(&w.frame(6_000, false, b"d")));
        assert!(
            cluster(&w.frame(6_300, false, b"d")),
            "five seconds without a keyframe"
        );
        // Time never goes back: a late frame is placed at the last time.
        let block = w.frame(6_100, false, b"d");
        assert_eq!(&block[..2], [0xA3, 0x85]);
        assert_eq!(&block[3..5], [0x00, 0x00]);
    }
}
