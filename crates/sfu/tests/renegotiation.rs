//! Tracks come and go after joining: a publisher that adds video by its own offer, and
//! a publisher that joins after the receivers, reach everyone by renegotiation.
mod common;

use common::World;
use confab_sfu::EndpointId;
use std::time::Duration;
use str0m::media::MediaKind;

#[test]
fn a_track_added_by_the_publishers_own_offer_reaches_the_room() {
    let mut w = World::new();
    w.join_with(1, "203.0.113.1:5000", "standup", &[MediaKind::Audio]);
    w.join(2, "203.0.113.2:5000", "standup", false);
    w.run_for(Duration::from_secs(2));
    assert_eq!(w.peer(2).live_sources(), ["peer-1"]);
    assert_eq!(w.peer(2).frames_from(EndpointId(1), MediaKind::Video), 0);

    // 1 turns its camera on: its offer is answered, 2 is offered the new track.
    w.publish(1, MediaKind::Video);
    w.run_for(Duration::from_secs(2));
    assert!(w.rejected.is_empty(), "{:?}", w.rejected);
    assert_eq!(w.sfu.tracks(), 2);
    assert_eq!(w.peer(2).live_sources(), ["peer-1", "peer-1"]);
    assert!(w.peer(2).frames_from(EndpointId(1), MediaKind::Video) > 30);
    assert!(w.peer(2).frames_from(EndpointId(1), MediaKind::Audio) > 150);
}

#[test]
fn a_late_publisher_reaches_those_already_there() {
    let mut w = World::new();
    w.join(2, "203.0.113.2:5000", "standup", false);
    w.join(3, "203.0.113.3:5000", "standup", false);
    w.run_for(Duration::from_secs(1));
    let offers = |w: &World, rx: u64| w.offers.get(&EndpointId(rx)).copied().unwrap_or(0);
    let before = [2, 3].map(|rx| offers(&w, rx));
    w.join(1, "203.0.113.1:5000", "standup", true);
    w.run_for(Duration::from_secs(2));
    for (rx, before) in [2, 3].into_iter().zip(before) {
        assert_eq!(w.peer(rx).live_sources(), ["peer-1", "peer-1"]);
        assert!(w.peer(rx).frames_from(EndpointId(1), MediaKind::Video) > 30);
        // Its audio and video, announced together, came in one offer: a receiver slow
        // to answer waits one round trip for both, not two.
        assert_eq!(offers(&w, rx) - before, 1, "offers to {rx}");
    }
}

#[test]
fn an_offer_of_the_endpoint_wins_over_a_crossing_offer_of_the_sfu() {
    let mut w = World::new();
    w.join(2, "203.0.113.2:5000", "standup", false);
    w.run_for(Duration::from_secs(1));
    // The SFU's next offer to 2 (1's tracks) is still on its way when 2 offers too.
    w.hold_offers(2);
    w.join(1, "203.0.113.1:5000", "standup", true);
    w.run_for(Duration::from_secs(1));
    w.publish(2, MediaKind::Audio);
    w.run_for(Duration::from_millis(100));
    // 2's offer was answered; the SFU dropped its own and made it again.
    assert!(w.rejected.is_empty(), "{:?}", w.rejected);
    assert_eq!(w.release_offers(2), 2);
    w.run_for(Duration::from_secs(2));
    assert!(w.rejected.is_empty(), "{:?}", w.rejected);
    assert_eq!(w.peer(2).live_sources(), ["peer-1", "peer-1"]);
    assert_eq!(w.peer(1).live_sources(), ["peer-2"]);
    assert!(w.peer(2).frames_from(EndpointId(1), MediaKind::Video) > 30);
    assert!(w.peer(1).frames_from(EndpointId(2), MediaKind::Audio) > 50);
}

#[test]
fn a_track_the_publisher_stops_sending_leaves_the_room() {
    for stop in [false, true] {
        let mut w = World::new();
        w.join(1, "203.0.113.1:5000", "standup", true);
        w.join(2, "203.0.113.2:5000", "standup", false);
        w.run_for(Duration::from_secs(2));
        assert_eq!(w.peer(2).live_sources(), ["peer-1", "peer-1"]);

        w.unpublish(1, MediaKind::Video, stop);
        w.run_for(Duration::from_millis(500));
        assert!(w.rejected.is_empty(), "stop={stop}: {:?}", w.rejected);
        assert_eq!(w.sfu.tracks(), 1, "stop={stop}");
        assert_eq!(w.peer(2).live_sources(), ["peer-1"], "stop={stop}");
        let audio = w.peer(2).frames_from(EndpointId(1), MediaKind::Audio);
        w.run_for(Duration::from_secs(1));
        assert!(w.peer(2).frames_from(EndpointId(1), MediaKind::Audio) > audio + 40);
    }
}

#[test]
fn an_offer_from_a_new_connection_replaces_the_endpoint_without_failing_it() {
    let mut w = World::new();
    w.join(1, "203.0.113.1:5000", "standup", true);
    w.join(2, "203.0.113.2:5000", "standup", false);
    w.run_for(Duration::from_secs(2));
    let before = w.peer(2).frames_from(EndpointId(1), MediaKind::Video);
    assert!(before > 30);

    // 1's browser gave up its connection and made another, from another port; its
    // signaling still held the endpoint, so the offer comes as a renegotiation.
    w.reconnect(1, "203.0.113.1:5001", &[MediaKind::Audio, MediaKind::Video]);
    w.run_for(Duration::from_secs(3));
    assert!(w.rejected.is_empty(), "{:?}", w.rejected);
    assert!(
        w.disconnected.is_empty(),
        "no failure told: {:?}",
        w.disconnected
    );
    assert!(w.peer(1).connected, "the new connection is up");
    // 2 was offered the new tracks and gets 1's picture again.
    assert_eq!(w.peer(2).live_sources(), ["peer-1", "peer-1"]);
    let after = w.peer(2).frames_from(EndpointId(1), MediaKind::Video);
    assert!(after > before + 30, "{before} -> {after}");
}

#[test]
fn a_refused_offer_of_a_new_connection_leaves_the_endpoint_as_it_was() {
    let mut w = World::new();
    w.join(1, "203.0.113.1:5000", "standup", true);
    w.join(2, "203.0.113.2:5000", "standup", false);
    w.run_for(Duration::from_secs(2));
    // Another certificate, but not an offer str0m takes.
    let sdp = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=fingerprint:sha-256 AA:BB\r\n";
    w.sfu_handle(confab_sfu::Input::Offer {
        endpoint: EndpointId(1),
        sdp: sdp.into(),
    });
    assert_eq!(w.rejected.len(), 1, "{:?}", w.rejected);
    let before = w.peer(2).frames_from(EndpointId(1), MediaKind::Video);
    w.run_for(Duration::from_secs(1));
    assert!(w.disconnected.is_empty(), "{:?}", w.disconnected);
    assert!(w.peer(2).frames_from(EndpointId(1), MediaKind::Video) > before + 15);
}
