//! Two publishers and a receive-only endpoint in one room: everyone gets every other
//! publisher's audio and video, through the SFU's one port.
mod common;

use common::World;
use confab_sfu::EndpointId;
use std::time::Duration;
use str0m::media::MediaKind;

#[test]
fn two_publishers_and_a_subscriber_receive_each_others_media() {
    let mut w = World::new();
    w.join(1, "203.0.113.1:5000", "standup", true);
    w.join(2, "203.0.113.2:5000", "standup", true);
    w.join(3, "203.0.113.3:5000", "standup", false);
    w.run_for(Duration::from_secs(4));

    assert!(w.rejected.is_empty(), "{:?}", w.rejected);
    let mut connected = w.connected.clone();
    connected.sort();
    assert_eq!(connected, [EndpointId(1), EndpointId(2), EndpointId(3)]);
    assert_eq!(w.sfu.tracks(), 4);
    assert_eq!(w.sfu.receiving(EndpointId(1)), 2);
    assert_eq!(w.sfu.receiving(EndpointId(2)), 2);
    assert_eq!(w.sfu.receiving(EndpointId(3)), 4);

    // About 3 s of media after connecting: 50 audio and 25 video frames a second.
    let (a, b, c) = (w.peer(1), w.peer(2), w.peer(3));
    for (rx, from) in [(a, 2), (b, 1), (c, 1), (c, 2)] {
        let audio = rx.frames_from(EndpointId(from), MediaKind::Audio);
        let video = rx.frames_from(EndpointId(from), MediaKind::Video);
        assert!(
            audio > 100,
            "{} got {audio} audio frames from ep{from}",
            rx.id
        );
        assert!(
            video > 50,
            "{} got {video} video frames from ep{from}",
            rx.id
        );
    }
    // Nobody gets its own media back.
    assert_eq!(a.frames_from(EndpointId(1), MediaKind::Audio), 0);
    assert_eq!(b.frames_from(EndpointId(2), MediaKind::Video), 0);
    assert_eq!(a.live_sources(), ["peer-2", "peer-2"]);
    assert_eq!(c.live_sources(), ["peer-1", "peer-1", "peer-2", "peer-2"]);
    assert!(w.sfu.frames_forwarded() > 300);
}
