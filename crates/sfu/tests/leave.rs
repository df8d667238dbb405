//! A publisher that leaves: its tracks are stopped on every other endpoint by
//! renegotiation, its frames stop, its state is freed; the room goes on.
mod common;

use common::{room, World};
use confab_sfu::EndpointId;
use std::time::Duration;
use str0m::media::MediaKind;

#[test]
fn a_leaving_publishers_tracks_disappear_from_the_others() {
    let mut w = World::new();
    w.join(1, "203.0.113.1:5000", "standup", true);
    w.join(2, "203.0.113.2:5000", "standup", true);
    w.join(3, "203.0.113.3:5000", "standup", false);
    w.run_for(Duration::from_secs(3));
    assert_eq!(
        w.peer(3).live_sources(),
        ["peer-1", "peer-1", "peer-2", "peer-2"]
    );
    let bound = w.sfu.bound_addresses();

    w.leave(1);
    w.run_for(Duration::from_millis(200));
    assert_eq!(w.sfu.endpoints(), 2);
    assert_eq!(w.sfu.tracks(), 2);
    assert_eq!(
        w.sfu.members(&room("standup")),
        [EndpointId(2), EndpointId(3)]
    );
    assert!(w.sfu.bound_addresses() < bound);
    assert_eq!(w.peer(3).live_sources(), ["peer-2", "peer-2"]);
    assert!(w.peer(2).live_sources().is_empty());
    assert_eq!(w.sfu.receiving(EndpointId(2)), 0);
    assert_eq!(w.sfu.receiving(EndpointId(3)), 2);

    // 2's media still flows to 3; nothing more of 1's.
    let (from1, from2) = (
        w.peer(3).frames_from(EndpointId(1), MediaKind::Video),
        w.peer(3).frames_from(EndpointId(2), MediaKind::Video),
    );
    w.run_for(Duration::from_secs(1));
    assert_eq!(
        w.peer(3).frames_from(EndpointId(1), MediaKind::Video),
        from1
    );
    assert!(w.peer(3).frames_from(EndpointId(2), MediaKind::Video) > from2 + 15);
    assert!(
        w.disconnected.is_empty(),
        "a leave is not reported: {:?}",
        w.disconnected
    );

    // The last two leave: the room is gone.
    w.leave(2);
    w.leave(3);
    assert_eq!(w.sfu.endpoints(), 0);
    assert!(w.sfu.members(&room("standup")).is_empty());
    assert_eq!(w.sfu.bound_addresses(), 0);
}
