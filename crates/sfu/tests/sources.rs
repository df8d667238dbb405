//! Sources (IP cameras): a participant without a WebRTC connection hands the SFU H.264
//! access units; they reach str0m receivers by the publishers' path. A receiver that
//! joins in the middle of a 4 s group of pictures gets the cached group, keyframe
//! first, at once; the cache is bounded in bytes; a source that leaves is stopped on
//! its receivers; a receiver that asks for a keyframe gets the cached group again; a
//! player following a camera's name gets no other camera, and the camera again after
//! it reconnects.
mod common;

use common::World;
use confab_sfu::{
    EndpointId, EndpointKind, Input, RecordedCodec, SfuConfig, SourceCodec, SourceFrame,
};
use std::time::Duration;
use str0m::media::MediaKind;

/// Frames a second, and frames between keyframes (4 s, as many cameras send).
const FPS: u64 = 30;
const GOP: u64 = 120;

/// An H.264 access unit in Annex B form: SPS, PPS and an IDR slice, or one non-IDR
/// slice; filler bytes that never make a start code.
fn h264(key: bool, size: usize) -> Vec<u8> {
    let mut f = Vec::new();
    if key {
        f.extend([0, 0, 0, 1, 0x67, 0x42, 0xe0, 0x1f, 0x8c, 0x8d, 0x40]);
        f.extend([0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80]);
        f.extend([0, 0, 0, 1, 0x65]);
    } else {
        f.extend([0, 0, 0, 1, 0x41]);
    }
    f.resize(size, 0x42);
    f
}

/// A camera in room `cam`: its id and the next frame's number.
struct Camera {
    id: u64,
    frame: u64,
}

impl Camera {
    fn join(w: &mut World, id: u64, room: &str) -> Camera {
        Camera::join_as(w, id, room, &format!("cam-{id}"))
    }

    /// The camera joins under `name` (one back after a reconnect has a new id).
    fn join_as(w: &mut World, id: u64, room: &str, name: &str) -> Camera {
        w.sfu_handle(Input::SourceJoin {
            endpoint: EndpointId(id),
            room: common::room(room),
            label: format!("peer-{id}"),
            name: name.into(),
            tracks: vec![SourceCodec::H264],
        });
        Camera { id, frame: 0 }
    }

    /// Sends a frame every 1/30 s for `dur`: 8 kB keyframes, 1.5 kB others.
    fn run(&mut self, w: &mut World, dur: Duration) {
        let end = w.now + dur;
        while w.now < end {
            let key = self.frame.is_multiple_of(GOP);
            let data = h264(key, if key { 8_000 } else { 1_500 });
            let frame = SourceFrame {
                rtp_time: self.frame * 90_000 / FPS,
                keyframe: key,
                data: data.into(),
            };
            w.sfu_handle(Input::SourceFrame {
                endpoint: EndpointId(self.id),
                track: 0,
                frame,
            });
            self.frame += 1;
            w.run_for(Duration::from_millis(1000 / FPS));
        }
    }
}

#[test]
fn a_sources_h264_reaches_a_receiver() {
    let mut w = World::new();
    w.join(2, "203.0.113.2:5000", "yard", false);
    let mut cam = Camera::join(&mut w, 1, "yard");
    assert_eq!(w.connected, [EndpointId(1)], "a source is up at once");
    assert_eq!(w.sfu.members(&common::room("yard")).len(), 2);
    cam.run(&mut w, Duration::from_secs(3));
    assert!(w.rejected.is_empty(), "{:?}", w.rejected);

    let rx = w.peer(2);
    assert_eq!(rx.live_sources(), ["peer-1"]);
    let video = rx.frames_from(EndpointId(1), MediaKind::Video);
    assert!(video > 70, "{video} frames of about 90");
    let mid = rx.mid_from(1, MediaKind::Video).unwrap();
    assert!(rx.first_by_mid[&mid].1, "the first frame is a keyframe");
    let bytes = rx.bytes_by_mid[&mid];
    assert!(bytes > video * 1_400, "whole frames arrive: {bytes} bytes");
}

#[test]
fn a_receiver_joining_mid_gop_gets_a_keyframe_at_once() {
    let mut w = World::new();
    let mut cam = Camera::join(&mut w, 1, "yard");
    // 2 s into a 4 s group of pictures: the next keyframe is 2 s away.
    cam.run(&mut w, Duration::from_secs(2));
    let held = w.sfu.source_cache_bytes(EndpointId(1));
    assert!(
        held > 8_000 + 50 * 1_500,
        "the group so far is cached: {held}"
    );

    // A browser and a WHEP-like player join.
    w.kinds.insert(EndpointId(3), EndpointKind::Player);
    let joined = w.now;
    w.join(2, "203.0.113.2:5000", "yard", false);
    w.join_with(3, "203.0.113.3:5000", "yard", &[MediaKind::Video]);
    cam.run(&mut w, Duration::from_secs(1));
    assert!(w.rejected.is_empty(), "{:?}", w.rejected);

    for id in [2, 3] {
        let rx = w.peer(id);
        let (&mid, &(at, key)) = rx.first_by_mid.iter().next().expect("a frame arrived");
        let after = at.duration_since(joined);
        println!("receiver {id}: first frame {after:?} after joining (keyframe: {key})");
        assert!(key, "receiver {id}: the first frame is the cached keyframe");
        assert!(
            after < Duration::from_millis(300),
            "receiver {id}: {after:?}"
        );
        // The whole cached group (60 frames) and the live ones since (30).
        let n = rx.frames_by_mid[&mid];
        assert!(n > 85, "receiver {id} got {n} frames");
        // Times never step back across the cache and the live frames.
        let step = rx.max_step_by_mid.get(&mid).copied().unwrap_or(0);
        assert!(step <= 2 * 90_000 / FPS, "receiver {id}: step {step}");
    }
}

#[test]
fn the_cache_is_bounded_in_bytes() {
    let bound = 20_000;
    let mut w = World::with_config(SfuConfig {
        source_cache_bytes: bound,
        ..SfuConfig::default()
    });
    let mut cam = Camera::join(&mut w, 1, "yard");
    let mut seen_full = false;
    for _ in 0..(GOP + 6) {
        cam.run(&mut w, Duration::from_millis(1));
        let held = w.sfu.source_cache_bytes(EndpointId(1));
        assert!(held <= bound, "{held} > {bound}");
        seen_full |= held > bound - 1_500;
    }
    assert!(seen_full);
    // Past the bound the partial group was dropped; the next keyframe starts one again.
    assert_eq!(
        w.sfu.source_cache_bytes(EndpointId(1)),
        8_000 + 5 * 1_500,
        "refilled from the second keyframe"
    );
}

#[test]
fn a_source_that_leaves_is_stopped_on_its_receivers() {
    let mut w = World::new();
    w.join(2, "203.0.113.2:5000", "yard", false);
    let mut cam = Camera::join(&mut w, 1, "yard");
    cam.run(&mut w, Duration::from_secs(1));
    assert_eq!(w.peer(2).live_sources(), ["peer-1"]);
    w.sfu_handle(Input::Leave {
        endpoint: EndpointId(1),
    });
    w.run_for(Duration::from_millis(200));
    assert!(w.peer(2).live_sources().is_empty());
    assert_eq!(w.sfu.tracks(), 0);
    assert_eq!(w.sfu.members(&common::room("yard")), [EndpointId(2)]);
    // It may come back under a new id (the camera reconnected).
    let mut cam = Camera::join(&mut w, 4, "yard");
    cam.run(&mut w, Duration::from_secs(1));
    assert_eq!(w.peer(2).live_sources(), ["peer-4"]);
    assert!(w.peer(2).frames_from(EndpointId(4), MediaKind::Video) > 20);
}

#[test]
fn a_player_following_a_camera_gets_it_back_after_a_reconnect_and_no_other() {
    let mut w = World::new();
    let mut door = Camera::join_as(&mut w, 1, "yard", "Door");
    let gate = Camera::join_as(&mut w, 2, "yard", "Gate");
    w.kinds.insert(EndpointId(3), EndpointKind::Player);
    w.follows.insert(EndpointId(3), "Gate".into());
    w.join_with(3, "203.0.113.3:5000", "yard", &[MediaKind::Video]);
    let frames = |w: &World| -> usize { w.peer(3).frames_by_mid.values().sum() };
    door.run(&mut w, Duration::from_secs(1));
    assert_eq!(frames(&w), 0, "the first camera, Door, is not followed");
    let mut gate = gate;
    gate.run(&mut w, Duration::from_secs(1));
    assert!(frames(&w) > 20, "Gate's picture: {}", frames(&w));

    // Gate drops; Door goes on, and its picture stays off the player's m-line.
    w.sfu_handle(Input::Leave {
        endpoint: EndpointId(2),
    });
    door.run(&mut w, Duration::from_millis(100));
    let before = frames(&w);
    door.run(&mut w, Duration::from_secs(1));
    assert_eq!(frames(&w), before);

    // Gate reconnects (a new id, the same name): the player's m-line takes it again.
    let mut gate = Camera::join_as(&mut w, 4, "yard", "Gate");
    gate.run(&mut w, Duration::from_secs(1));
    assert!(frames(&w) > before + 20, "{before} -> {}", frames(&w));
    assert!(w.rejected.is_empty(), "{:?}", w.rejected);
}

#[test]
fn a_receiver_asking_for_a_keyframe_gets_the_cached_group_again() {
    let mut w = World::new();
    w.join(2, "203.0.113.2:5000", "yard", false);
    let mut cam = Camera::join(&mut w, 1, "yard");
    cam.run(&mut w, Duration::from_secs(2));
    let mid = w.peer(2).mid_from(1, MediaKind::Video).unwrap();
    assert_eq!(w.peer(2).keys_by_mid[&mid], 1);
    let before = w.peer(2).frames_by_mid[&mid];

    // Mid-group (the camera's next keyframe is 2 s away), the receiver asks; asking
    // again soon after is throttled (one replay per keyframe interval, 1 s).
    w.request_keyframes(2);
    cam.run(&mut w, Duration::from_millis(300));
    w.request_keyframes(2);
    cam.run(&mut w, Duration::from_millis(700));
    let rx = w.peer(2);
    assert_eq!(
        rx.keys_by_mid[&mid], 2,
        "the cached keyframe came again, once"
    );
    // The group (60 frames) again, and the live ones (30) behind it.
    let n = rx.frames_by_mid[&mid];
    assert!(n > before + 75, "and the group after it: {before} -> {n}");
    // The replay starts after the newest frame it had: times never step back.
    assert!(rx.max_step_by_mid[&mid] <= 2 * 90_000 / FPS);
}

#[test]
fn a_recording_started_mid_group_gets_a_source_from_its_cached_keyframe() {
    let mut w = World::new();
    let mut cam = Camera::join(&mut w, 1, "yard");
    // 2 s into a 4 s group of pictures: the next keyframe is 2 s away.
    cam.run(&mut w, Duration::from_secs(2));
    assert!(w.recorded.is_empty(), "nothing before the recording");
    let room = common::room("yard");
    w.sfu_handle(Input::Record {
        room: room.clone(),
        on: true,
    });
    cam.run(&mut w, Duration::from_secs(1));
    let frames = std::mem::take(&mut w.recorded);
    let first = &frames[0];
    assert_eq!((first.codec, first.audio), (RecordedCodec::H264, false));
    assert!(first.keyframe, "the copy starts with the cached keyframe");
    assert_eq!(first.label, "peer-1");
    assert_eq!(first.clock_rate, 90_000);
    // The group (60 frames), squeezed before the frame that came, then the live ones.
    assert!(frames.len() > 85, "{} frames", frames.len());
    assert_eq!(frames.iter().filter(|f| f.keyframe).count(), 1);
    assert!(frames.windows(2).all(|p| p[0].rtp_time < p[1].rtp_time));
    let squeezed = frames[60].rtp_time - first.rtp_time;
    assert_eq!(squeezed, 60, "one tick apart: {squeezed}");

    // Stopped, nothing; started again, the group again from its keyframe.
    w.sfu_handle(Input::Record {
        room: room.clone(),
        on: false,
    });
    cam.run(&mut w, Duration::from_millis(200));
    assert!(w.recorded.is_empty());
    w.sfu_handle(Input::Record { room, on: true });
    cam.run(&mut w, Duration::from_millis(100));
    assert!(w.recorded[0].keyframe && w.recorded.len() > 90);
}
