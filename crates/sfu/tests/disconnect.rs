//! An endpoint that goes silent is dropped, reported, and its tracks leave the others.
mod common;

use common::World;
use confab_sfu::{DisconnectReason, EndpointId, SfuConfig};
use std::time::Duration;

#[test]
fn a_silent_endpoint_is_reported_and_freed() {
    let config = SfuConfig {
        idle_timeout: Duration::from_secs(10),
        ..SfuConfig::default()
    };
    let mut w = World::with_config(config);
    w.join(1, "203.0.113.1:5000", "standup", true);
    w.join(2, "203.0.113.2:5000", "standup", false);
    w.run_for(Duration::from_secs(2));
    assert_eq!(w.peer(2).live_sources(), ["peer-1", "peer-1"]);

    // 1's network dies (no leave: the browser just vanished).
    w.cut("203.0.113.1:5000");
    w.run_for(Duration::from_secs(12));
    assert_eq!(w.disconnected.len(), 1, "{:?}", w.disconnected);
    let (id, reason) = w.disconnected[0];
    assert_eq!(id, EndpointId(1));
    assert!(matches!(
        reason,
        DisconnectReason::IceDisconnected | DisconnectReason::Idle
    ));
    assert_eq!(w.sfu.endpoints(), 1);
    assert_eq!(w.sfu.tracks(), 0);
    assert!(w.peer(2).live_sources().is_empty());
}

#[test]
fn an_endpoint_that_never_connects_times_out() {
    let config = SfuConfig {
        idle_timeout: Duration::from_secs(5),
        ..SfuConfig::default()
    };
    let mut w = World::with_config(config);
    w.cut("203.0.113.1:5000");
    w.join(1, "203.0.113.1:5000", "standup", true);
    w.run_for(Duration::from_secs(6));
    assert_eq!(w.disconnected, [(EndpointId(1), DisconnectReason::Idle)]);
    assert_eq!(w.sfu.endpoints(), 0);
}
