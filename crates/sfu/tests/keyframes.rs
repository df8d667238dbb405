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

/// A receiver that joins a running room gets a picture at once: when its answer opens
/// a publisher's video track, the SFU asks that publisher for a keyframe itself
/// (otherwise the newcomer waits for the publisher's next one, or for its own request).
#[test]
fn a_new_receiver_gets_a_keyframe_request_sent_for_it() {
    let mut w = World::new();
    w.join(1, "203.0.113.1:5000", "standup", true);
    w.join(2, "203.0.113.2:5000", "standup", false);
    w.run_for(Duration::from_secs(3));
    let before = w.sfu.keyframe_requests();
    // Past the throttle interval, a newcomer subscribes: one request for it, no PLI of its own.
    w.join(3, "203.0.113.3:5000", "standup", false);
    w.run_for(Duration::from_millis(500));
    assert_eq!(
        w.sfu.keyframe_requests() - before,
        1,
        "one keyframe request for the newcomer's video track"
    );
}
