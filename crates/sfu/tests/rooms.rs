//! Rooms are isolated: a track goes to its own room only.
mod common;

use common::{room, World};
use confab_sfu::EndpointId;
use std::time::Duration;
use str0m::media::MediaKind;

#[test]
fn a_second_room_is_isolated() {
    let mut w = World::new();
    w.join(1, "203.0.113.1:5000", "standup", true);
    w.join(2, "203.0.113.2:5000", "standup", true);
    w.join(3, "203.0.113.3:5000", "retro", true);
    w.join(4, "203.0.113.4:5000", "retro", false);
    w.run_for(Duration::from_secs(3));

    assert_eq!(
        w.sfu.members(&room("standup")),
        [EndpointId(1), EndpointId(2)]
    );
    assert_eq!(
        w.sfu.members(&room("retro")),
        [EndpointId(3), EndpointId(4)]
    );
    // In retro: 4 gets 3's media, and nothing of standup's.
    let d = w.peer(4);
    assert!(d.frames_from(EndpointId(3), MediaKind::Video) > 30);
    assert_eq!(d.live_sources(), ["peer-3", "peer-3"]);
    // In standup: nothing of retro's.
    for id in [1, 2] {
        let p = w.peer(id);
        assert_eq!(p.frames_from(EndpointId(3), MediaKind::Audio), 0);
        assert_eq!(p.frames_from(EndpointId(3), MediaKind::Video), 0);
        assert!(!p.live_sources().contains(&"peer-3".to_string()));
    }
    assert!(w.peer(1).frames_from(EndpointId(2), MediaKind::Audio) > 50);
    // 3 gets nothing: the only other member of retro publishes nothing.
    assert!(w.peer(3).live_sources().is_empty());
    assert_eq!(w.sfu.receiving(EndpointId(3)), 0);
}
