//! Simulcast: a publisher sends three layers; each receiver gets the one its tile
//! needs, none while the tile is hidden, a lower one while its link is capped and the
//! top one back after; switches wait for keyframes and keep the RTP timeline.
mod common;

use common::World;
use std::time::Duration;
use str0m::media::{MediaKind, Rid};

/// Video bytes receiver `id` got from publisher 1 over `dur`.
fn bytes_over(w: &mut World, id: u64, dur: Duration) -> usize {
    let mid = w.peer(id).mid_from(1, MediaKind::Video).unwrap();
    let before = w.peer(id).bytes_by_mid.get(&mid).copied().unwrap_or(0);
    w.run_for(dur);
    w.peer(id).bytes_by_mid.get(&mid).copied().unwrap_or(0) - before
}

/// Runs until receiver `id` gets publisher 1's layer of `height`, at most `max`.
fn wait_height(w: &mut World, id: u64, height: u32, max: Duration) {
    let start = w.now;
    while w.peer(id).height_from(1) != Some(height) {
        let waited = w.now - start;
        assert!(
            waited <= max,
            "ep{id} still at {:?} after {waited:?}, not {height}",
            w.peer(id).height_from(1)
        );
        w.run_for(Duration::from_millis(20));
    }
}

#[test]
fn each_receiver_gets_the_layer_its_tile_needs() {
    let mut w = World::simulcast_class();
    // No view reported: the top layer.
    assert_eq!(w.peer(2).height_from(1), Some(720));
    assert_eq!(w.peer(3).height_from(1), Some(720));

    // A thumbnail: the bottom layer, at its rate (640 bytes a frame, 25 a second).
    w.view(3, 1, 300, 170);
    wait_height(&mut w, 3, 180, Duration::from_millis(300));
    let small = bytes_over(&mut w, 3, Duration::from_secs(2));
    assert!((25_000..=40_000).contains(&small), "{small} bytes in 2 s");
    // The other receiver is unaffected.
    assert_eq!(w.peer(2).height_from(1), Some(720));
    let big = bytes_over(&mut w, 2, Duration::from_secs(2));
    assert!(big > 250_000, "{big} bytes in 2 s");

    // A half-screen tile: the middle layer.
    // Up takes a probe of the link first (its estimate followed the small layer).
    w.view(3, 1, 640, 360);
    wait_height(&mut w, 3, 360, Duration::from_secs(10));

    // Hidden: nothing at all; shown again: back at once.
    w.view(3, 1, 0, 0);
    w.run_for(Duration::from_millis(200));
    assert_eq!(bytes_over(&mut w, 3, Duration::from_secs(1)), 0);
    w.view(3, 1, 1280, 720);
    wait_height(&mut w, 3, 720, Duration::from_secs(10));
    assert!(bytes_over(&mut w, 3, Duration::from_secs(1)) > 100_000);

    // Across every switch the receiver's RTP clock only moved forward, by at most a
    // frame's step plus the pause (no jump to another layer's clock origin).
    let mid = w.peer(3).mid_from(1, MediaKind::Video).unwrap();
    let step = w.peer(3).max_step_by_mid[&mid];
    assert!(step <= 90_000 * 2, "largest RTP step {step}");
    // Each switch asked the publisher for a keyframe of its new layer.
    let asked = &w.peer(1).keyframe_requests_by_rid;
    for rid in ["l", "m", "h"] {
        assert!(
            asked.get(&Some(Rid::from(rid))).is_some_and(|n| *n >= 1),
            "{asked:?}"
        );
    }
}

#[test]
fn a_capped_link_gets_a_lower_layer_and_the_top_one_after() {
    let mut w = World::simulcast_class();
    assert_eq!(w.peer(2).height_from(1), Some(720));
    // 700 kbit/s cannot carry the top layer (1.2 Mbit/s) but carries the middle one.
    w.cap("203.0.113.2:5000", Some(700_000));
    w.run_for(Duration::from_secs(10));
    let h = w.peer(2).height_from(1);
    assert!(h.is_some_and(|h| h <= 360), "still at {h:?} under the cap");
    let under = bytes_over(&mut w, 2, Duration::from_secs(3));
    assert!(under > 30_000, "only {under} bytes in 3 s under the cap");
    // Probing for more (every 4 s while held back) finds the cap again: the layer
    // never goes back up into it.
    for _ in 0..50 {
        w.run_for(Duration::from_millis(100));
        let h = w.peer(2).height_from(1);
        assert!(h.is_some_and(|h| h <= 360), "up to {h:?} under the cap");
    }
    // The uncapped receiver never left the top layer.
    assert_eq!(w.peer(3).height_from(1), Some(720));

    w.cap("203.0.113.2:5000", None);
    let mut back = None;
    for tenth in 1..=150 {
        w.run_for(Duration::from_millis(100));
        if w.peer(2).height_from(1) == Some(720) {
            back = Some(tenth);
            break;
        }
    }
    let back = back.expect("not back on the top layer 15 s after the cap lifted");
    eprintln!(
        "back on the top layer {} ms after the cap lifted",
        back * 100
    );
    assert!(
        back <= 100,
        "back on the top layer {} ms after the cap lifted",
        back * 100
    );
}

#[test]
fn keyframe_requests_for_a_layer_are_throttled() {
    let mut w = World::simulcast_class();
    let before = w.peer(1).keyframe_requests;
    // Receivers flip between layers every 100 ms for 3 s: each flip wants a keyframe.
    for n in 0..30 {
        let (wid, h) = if n % 2 == 0 { (300, 170) } else { (1280, 720) };
        w.view(2, 1, wid, h);
        w.view(3, 1, h, wid);
        w.run_for(Duration::from_millis(100));
    }
    // At most one a second per layer (3 layers, 3 s, and the edges).
    let asked = w.peer(1).keyframe_requests - before;
    assert!(asked <= 3 * 4, "{asked} keyframe requests");
}
