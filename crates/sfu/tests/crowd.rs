//! In a crowd (more endpoints than `loudest_audio_above`), only the active speakers'
//! audio is forwarded: a receiver hears the one talking and nothing of eleven silent
//! microphones; a smaller room forwards everyone's audio (the other tests).
mod common;

use common::World;
use confab_sfu::{EndpointId, SfuConfig};
use std::time::Duration;
use str0m::media::MediaKind;

#[test]
fn a_crowd_hears_only_its_speakers() {
    let mut w = World::with_config(SfuConfig {
        loudest_audio_above: 10,
        ..SfuConfig::default()
    });
    for id in 1..=12u64 {
        w.join_with(
            id,
            &format!("203.0.113.{id}:5000"),
            "hall",
            &[MediaKind::Audio],
        );
        w.set_level(id, Some(if id == 1 { 25 } else { 127 }));
    }
    w.join(20, "203.0.113.20:5000", "hall", false);
    w.run_for(Duration::from_secs(3));
    assert!(w.rejected.is_empty(), "{:?}", w.rejected);

    let listener = w.peer(20);
    let talker = listener.frames_from(EndpointId(1), MediaKind::Audio);
    // Listed after about half a second: some 2.5 s of its 50 frames a second.
    assert!(talker > 100, "the talker's audio: {talker} frames");
    for id in 2..=12u64 {
        let n = listener.frames_from(EndpointId(id), MediaKind::Audio);
        assert_eq!(
            n, 0,
            "a silent microphone in the crowd (ep{id}) is not forwarded"
        );
    }
    // The talker hears nobody (everyone else is silent) and is not starved of anything.
    assert_eq!(w.peer(1).frames_from(EndpointId(2), MediaKind::Audio), 0);
}
