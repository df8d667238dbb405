//! The right to publish (broadcast mode): what an endpoint without it sends reaches
//! nobody and is offered to nobody, whatever its browser sends; given the right, its
//! tracks are offered to the room and flow; taken back, they stop on everyone.
mod common;

use common::World;
use confab_sfu::{EndpointId, Input};
use std::time::Duration;
use str0m::media::MediaKind;

#[test]
fn a_viewer_reaches_nobody_until_it_may_publish_and_stops_when_it_may_not() {
    let mut w = World::new();
    // The viewer's browser sends audio and video anyway.
    w.viewers.insert(EndpointId(2));
    w.join(1, "203.0.113.1:5000", "class", true);
    w.join(2, "203.0.113.2:5000", "class", true);
    w.join(3, "203.0.113.3:5000", "class", false);
    w.run_for(Duration::from_secs(3));
    assert!(w.rejected.is_empty(), "{:?}", w.rejected);

    // The teacher reaches both; the viewer reaches nobody, not even as an offered track.
    for rx in [2, 3] {
        let p = w.peer(rx);
        assert!(
            p.frames_from(EndpointId(1), MediaKind::Video) > 30,
            "ep{rx}"
        );
    }
    for rx in [1, 3] {
        let p = w.peer(rx);
        assert_eq!(p.frames_from(EndpointId(2), MediaKind::Audio), 0, "ep{rx}");
        assert_eq!(p.frames_from(EndpointId(2), MediaKind::Video), 0, "ep{rx}");
    }
    assert_eq!(w.peer(3).live_sources(), ["peer-1", "peer-1"]);
    assert_eq!(w.sfu.receiving(EndpointId(1)), 0);

    // On stage: its tracks are offered and flow to both.
    w.sfu_handle(Input::Publish {
        endpoint: EndpointId(2),
        publish: true,
    });
    w.run_for(Duration::from_secs(3));
    for rx in [1, 3] {
        let p = w.peer(rx);
        assert!(
            p.frames_from(EndpointId(2), MediaKind::Audio) > 50,
            "ep{rx}"
        );
        assert!(
            p.frames_from(EndpointId(2), MediaKind::Video) > 20,
            "ep{rx}"
        );
    }
    assert_eq!(
        w.peer(3).live_sources(),
        ["peer-1", "peer-1", "peer-2", "peer-2"]
    );

    // Back in the audience: stopped on both; a newcomer is not offered its tracks.
    w.sfu_handle(Input::Publish {
        endpoint: EndpointId(2),
        publish: false,
    });
    w.run_for(Duration::from_secs(1));
    let before = w.peer(3).frames_from(EndpointId(2), MediaKind::Video);
    w.join(4, "203.0.113.4:5000", "class", false);
    w.run_for(Duration::from_secs(2));
    assert_eq!(w.peer(3).live_sources(), ["peer-1", "peer-1"]);
    assert_eq!(w.peer(1).live_sources(), Vec::<String>::new());
    assert_eq!(w.peer(4).live_sources(), ["peer-1", "peer-1"]);
    assert_eq!(
        w.peer(3).frames_from(EndpointId(2), MediaKind::Video),
        before,
        "nothing of the viewer's after it left the stage"
    );
}
