//! Recording taps a room: once `Input::Record` is on, every frame forwarded in that room
//! comes out as `Output::Recorded` (each track's RTP times increasing, audio as Opus),
//! its publishers are asked for a keyframe, and nothing of another room comes out; off
//! stops it.
mod common;

use common::World;
use confab_sfu::{Input, RecordedCodec};
use std::collections::HashMap;
use std::time::Duration;

#[test]
fn a_recorded_room_copies_its_frames_out_until_stopped() {
    let mut w = World::new();
    w.join(1, "203.0.113.1:5000", "class", true);
    w.join(2, "203.0.113.2:5000", "class", false);
    w.join(3, "203.0.113.3:5000", "other", true);
    w.join(4, "203.0.113.4:5000", "other", false);
    w.run_for(Duration::from_secs(2));
    assert!(w.recorded.is_empty());
    let requests = w.peer(1).keyframe_requests;

    let room = common::room("class");
    w.sfu_handle(Input::Record {
        room: room.clone(),
        on: true,
    });
    w.run_for(Duration::from_secs(2));
    assert!(
        w.peer(1).keyframe_requests > requests,
        "the publisher is asked for a keyframe"
    );
    let frames = std::mem::take(&mut w.recorded);
    assert!(frames.iter().all(|f| f.room == room && f.label == "peer-1"));
    let audio = frames.iter().filter(|f| f.audio).count();
    let video = frames.len() - audio;
    assert!(
        audio > 80 && video > 40,
        "{audio} audio and {video} video frames in 2 s"
    );
    assert!(frames
        .iter()
        .all(|f| (f.codec == RecordedCodec::Opus) == f.audio && f.clock_rate > 0));
    let mut last: HashMap<&str, u64> = HashMap::new();
    for f in &frames {
        let before = last.insert(&f.track, f.rtp_time);
        assert!(
            before.is_none_or(|b| b < f.rtp_time),
            "RTP times increase per track"
        );
    }
    assert_eq!(last.len(), 2, "one audio and one video track");

    w.sfu_handle(Input::Record { room, on: false });
    w.run_for(Duration::from_secs(1));
    assert!(w.recorded.is_empty(), "nothing once stopped");
}

/// Of a simulcast publisher, a recording gets the top layer only, from a keyframe on
/// (the layers' own RTP clocks never show: times keep increasing).
#[test]
fn a_recording_of_simulcast_video_takes_the_top_layer_from_a_keyframe() {
    let mut w = World::new();
    w.simulcasters.insert(confab_sfu::EndpointId(1));
    w.join(1, "203.0.113.1:5000", "class", true);
    w.join(2, "203.0.113.2:5000", "class", false);
    w.run_for(Duration::from_secs(2));
    w.sfu_handle(Input::Record {
        room: common::room("class"),
        on: true,
    });
    w.run_for(Duration::from_secs(3));
    let video: Vec<_> = w.recorded.iter().filter(|f| !f.audio).collect();
    assert!(video.len() > 60, "{} video frames in 3 s", video.len());
    assert!(video[0].keyframe, "the file starts at a keyframe");
    let top = common::LAYERS[2];
    for f in &video {
        assert_eq!(f.data.len(), top.2, "a frame of another layer was recorded");
    }
    assert!(video.windows(2).all(|p| p[0].rtp_time < p[1].rtp_time));
}
