//! The recorder's reading of network input: a forwarded frame's bytes (whatever a
//! publisher sent) through `vp8_keyframe_size` and into the WebM muxer, at any time.
//! Nothing may panic, and every block is as long as its frame plus its head.
#![no_main]

use confab_record::{vp8_keyframe_size, Track, WebmWriter};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (head, frames) = data.split_at(data.len().min(4));
    let (w, h) = vp8_keyframe_size(frames).unwrap_or((2, 2));
    let mut video = WebmWriter::new(Track::vp8(w, h));
    let mut audio = WebmWriter::new(Track::opus());
    let _ = video.header();
    let mut ms = u64::from(head.first().copied().unwrap_or(0)) * 1000;
    for (i, chunk) in frames.chunks(97).enumerate() {
        ms += u64::from(head.get(1 + i % 3).copied().unwrap_or(20));
        let block = video.frame(ms, vp8_keyframe_size(chunk).is_some(), chunk);
        assert!(block.len() >= chunk.len() + 4);
        let _ = audio.frame(ms.saturating_sub(7), true, chunk);
    }
    let _ = video.duration();
});
