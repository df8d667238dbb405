//! Keyframe requests of many receivers reach the publisher at most once a second per
//! track.
mod common;

use common::World;
use std::time::Duration;

#[test]
fn keyframe_requests_are_fanned_in_and_throttled() {
    let mut w = World::new();
    w.join(1, "203.0.113.1:5000", "standup", true);
    w.join(2, "203.0.113.2:5000", "standup", false);
    w.join(3, "203.0.113.3:5000", "standup", false);
    w.run_for(Duration::from_secs(2));
    let before = w.peer(1).keyframe_requests;
    let passed = w.sfu.keyframe_requests();

    // Both receivers ask every 50 ms for 3 s: 120 requests.
    for _ in 0..60 {
        w.request_keyframes(2);
        w.request_keyframes(3);
        w.run_for(Duration::from_millis(50));
    }
    let got = w.peer(1).keyframe_requests - before;
    let passed = w.sfu.keyframe_requests() - passed;
    assert!(
        (2..=4).contains(&passed),
        "the SFU passed on {passed} requests in 3 s"
    );
    assert!(
        (1..=4).contains(&got),
        "the publisher got {got} requests in 3 s"
    );
}
