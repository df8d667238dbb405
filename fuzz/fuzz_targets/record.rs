//! The recorder's reading of network input: a forwarded frame's bytes (whatever a
//! publisher or camera sent) through `vp8_keyframe_size`, the H.264 reading (start codes,
//! SPS, `avcC`) and into the WebM and Matroska muxers, at any time. Nothing may panic;
//! every VP8 or audio block is as long as its frame plus its head, and every H.264 block
//! holds each NAL unit after a 4-byte length.
#![no_main]

use confab_record::{h264, vp8_keyframe_size, Track, WebmWriter};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (head, frames) = data.split_at(data.len().min(4));
    let (w, h) = vp8_keyframe_size(frames).unwrap_or((2, 2));
    let mut video = WebmWriter::new(Track::vp8(w, h));
    let mut audio = WebmWriter::new(Track::opus());
    let mut g711 = WebmWriter::new(Track::g711(head.first().is_some_and(|b| b & 1 == 1)));
    // A camera's first keyframe sets up the H.264 track, if it parses.
    let mut avc = Track::h264(frames).map(WebmWriter::new);
    let _ = video.header();
    let _ = avc.as_ref().map(WebmWriter::header);
    let mut ms = u64::from(head.first().copied().unwrap_or(0)) * 1000;
    for (i, chunk) in frames.chunks(97).enumerate() {
        ms += u64::from(head.get(1 + i % 3).copied().unwrap_or(20));
        let block = video.frame(ms, vp8_keyframe_size(chunk).is_some(), chunk);
        assert!(block.len() >= chunk.len() + 4);
        let _ = audio.frame(ms.saturating_sub(7), true, chunk);
        let block = g711.frame(ms, true, chunk);
        assert!(block.len() >= chunk.len() + 4);
        let nals: usize = h264::nal_units(chunk).map(|n| n.len() + 4).sum();
        assert_eq!(h264::length_prefixed(chunk).len(), nals);
        if let Some(avc) = avc.as_mut() {
            let block = avc.frame(ms, h264::is_keyframe(chunk), chunk);
            assert!(block.len() >= nals + 4);
        }
        let _ = h264::parse_sps(chunk);
    }
    let _ = video.duration();
    let _ = avc.map(|w| w.duration());
});
