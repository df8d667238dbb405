//! Endpoints coming and going leave nothing behind: no demux entry, no room, no track,
//! and the deadline heap stays proportional to the endpoints that exist.
mod common;

use common::{room, World};
use confab_sfu::EndpointId;
use std::time::Duration;
use str0m::media::MediaKind;

#[test]
fn churn_leaves_no_state_behind() {
    let mut w = World::new();
    w.join(1, "203.0.113.1:5000", "standup", false);
    for id in 2..14u64 {
        let addr = format!("203.0.113.{id}:6000");
        w.join(id, &addr, "standup", true);
        w.run_for(Duration::from_millis(300));
        assert!(
            w.sfu.timer_entries() <= 4 * w.sfu.endpoints() + 64,
            "{} entries",
            w.sfu.timer_entries()
        );
        w.leave(id);
        w.run_for(Duration::from_millis(100));
    }
    assert!(w.rejected.is_empty() && w.disconnected.is_empty());
    assert_eq!(w.sfu.endpoints(), 1);
    assert_eq!(w.sfu.tracks(), 0);
    assert_eq!(w.sfu.members(&room("standup")), [EndpointId(1)]);
    assert_eq!(w.sfu.bound_addresses(), 1);
    assert!(w.sfu.timer_entries() <= 4 + 64);
    assert!(w.peer(1).live_sources().is_empty());
    // It did receive each of them while they were there.
    for id in 2..14u64 {
        assert!(
            w.peer(1).frames_from(EndpointId(id), MediaKind::Audio) > 0,
            "nothing from ep{id}"
        );
    }
}
