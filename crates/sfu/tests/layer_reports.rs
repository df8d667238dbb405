//! What a receiver is told of the layers it gets (`Output::Layers`): the layer of each
//! video track as it is forwarded (down under a capped link, back up after), paused while
//! hidden, a track without simulcast as its one layer, a layer the publisher stopped
//! still counted among its layers; never more than one report a
//! second per receiver, however often the layers flip (each round tells what stands
//! then: a layer held for less than a round may never be told).
mod common;

use common::World;
use confab_sfu::{EndpointId, ForwardedTrack};
use std::time::Duration;
use str0m::media::MediaKind;

/// The reports receiver `id` got, with when.
fn reports(w: &World, id: u64) -> Vec<(Duration, &[ForwardedTrack])> {
    w.layers
        .iter()
        .filter(|(_, ep, _)| *ep == EndpointId(id))
        .map(|(at, _, tracks)| (*at, tracks.as_slice()))
        .collect()
}

/// What receiver `id` was last told of publisher `from`'s video.
fn told(w: &World, id: u64, from: u64) -> Option<ForwardedTrack> {
    let (_, tracks) = reports(w, id).pop()?;
    let label = format!("peer-{from}");
    tracks.iter().find(|t| t.from == label).cloned()
}

/// The told layer's place, or `None` when paused (panics when nothing was told).
fn place(w: &World, id: u64, from: u64) -> Option<u32> {
    let t = told(w, id, from).expect("a report of the track");
    t.layer.map(|l| l.index)
}

/// No two reports to `id` came within a layer round (a second) of each other.
fn at_most_one_a_second(w: &World, id: u64) {
    let at: Vec<Duration> = reports(w, id).iter().map(|(at, _)| *at).collect();
    for pair in at.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(999),
            "reports to ep{id} {gap:?} apart: {at:?}"
        );
    }
}

#[test]
fn the_report_follows_the_layer_down_under_a_cap_and_back_up() {
    let mut w = World::simulcast_class();
    // The top layer of three, named by the receiver's own mid, with its size.
    let t = told(&w, 2, 1).expect("told of peer 1's video");
    let mid = w.peer(2).mid_from(1, MediaKind::Video).unwrap();
    assert_eq!(t.mid, mid.to_string());
    assert_eq!(t.layers, 3);
    let layer = t.layer.expect("forwarded, not paused");
    assert_eq!((layer.index, layer.rid.as_deref()), (2, Some("h")));
    assert_eq!(layer.size, Some((1280, 720)));
    let settled = reports(&w, 3).len();

    // Capped at 700 kbit/s: a lower layer, and the report says the one that arrives.
    w.cap("203.0.113.2:5000", Some(700_000));
    w.run_for(Duration::from_secs(10));
    let h = w.peer(2).height_from(1);
    assert!(h.is_some_and(|h| h <= 360), "still at {h:?} under the cap");
    let under = told(&w, 2, 1).unwrap().layer.expect("forwarded");
    assert!(under.index < 2, "told {under:?} under the cap");
    assert_eq!(under.size.map(|s| s.1), h, "told the layer it gets");
    // The uncapped receiver never changed, so it heard nothing more.
    assert_eq!(reports(&w, 3).len(), settled, "{:?}", reports(&w, 3));
    assert_eq!(place(&w, 3, 1), Some(2));

    // Lifted: the top layer comes back, and the report within a round of it.
    w.cap("203.0.113.2:5000", None);
    let mut back = None;
    for _ in 0..150 {
        w.run_for(Duration::from_millis(100));
        if back.is_none() && w.peer(2).height_from(1) == Some(720) {
            back = Some(w.now - w.start);
        }
        if back.is_some() && place(&w, 2, 1) == Some(2) {
            break;
        }
    }
    let back = back.expect("not back on the top layer 15 s after the cap lifted");
    let (told_at, _) = *reports(&w, 2).last().unwrap();
    assert_eq!(place(&w, 2, 1), Some(2), "not told of the top layer");
    assert!(
        told_at <= back + Duration::from_millis(1100),
        "back at {back:?}, told at {told_at:?}"
    );
    at_most_one_a_second(&w, 2);
}

#[test]
fn a_hidden_tile_is_told_paused_and_a_track_without_layers_its_one_layer() {
    let mut w = World::simulcast_class();
    // Publisher 4 sends one stream (no simulcast).
    w.join(4, "203.0.113.4:5000", "class", true);
    w.run_for(Duration::from_secs(3));
    let single = told(&w, 2, 4).expect("told of peer 4's video");
    assert_eq!(single.layers, 1);
    let layer = single.layer.expect("forwarded");
    assert_eq!((layer.index, layer.rid), (0, None));

    // Receiver 3 hides peer 1's tile: paused (of three layers); shown again: a layer.
    w.view(3, 1, 0, 0);
    w.run_for(Duration::from_secs(2));
    assert_eq!(place(&w, 3, 1), None, "paused");
    assert_eq!(told(&w, 3, 1).unwrap().layers, 3);
    w.view(3, 1, 640, 360);
    w.run_for(Duration::from_secs(3));
    assert_eq!(
        place(&w, 3, 1),
        Some(1),
        "the middle layer for a 360-line tile"
    );
    // A hidden tile of a track without layers is still forwarded (it cannot be paused).
    w.view(3, 4, 0, 0);
    w.run_for(Duration::from_secs(2));
    assert_eq!(place(&w, 3, 4), Some(0));

    // Publisher 4 leaves: the next report has only peer 1's track.
    w.leave(4);
    w.run_for(Duration::from_secs(2));
    let (_, last) = reports(&w, 2).pop().unwrap();
    let from: Vec<&str> = last.iter().map(|t| t.from.as_str()).collect();
    assert_eq!(from, ["peer-1"]);
}

#[test]
fn a_layer_the_publisher_stops_still_counts() {
    let mut w = World::simulcast_class();
    assert_eq!(place(&w, 2, 1), Some(2));
    // Publisher 1 stops its top layer (as a starved encoder may for a while): receivers
    // move to the middle one, which is told as the middle of three, not the top of two.
    w.peer_mut(1).stopped.push("h");
    w.run_for(Duration::from_secs(4));
    assert_eq!(w.peer(2).height_from(1), Some(360));
    let t = told(&w, 2, 1).unwrap();
    assert_eq!((t.layer.map(|l| l.index), t.layers), (Some(1), 3));
    // A shared screen: only the top layer goes out, and it is the top one.
    w.peer_mut(1).stopped = vec!["l", "m"];
    w.run_for(Duration::from_secs(5));
    assert_eq!(w.peer(2).height_from(1), Some(720));
    let t = told(&w, 2, 1).unwrap();
    assert_eq!((t.layer.map(|l| l.index), t.layers), (Some(2), 3));
}

#[test]
fn flipping_layers_make_at_most_one_report_a_second() {
    let mut w = World::simulcast_class();
    let before = reports(&w, 2).len();
    // The tile flips between a thumbnail and full size every 100 ms for 4 s: the layer
    // forwarded flips too, as often as the keyframe throttle lets it (a second a layer).
    let (mut switches, mut last) = (0, w.peer(2).height_from(1));
    for n in 0..40 {
        let (wid, h) = if n % 2 == 0 { (300, 170) } else { (1280, 720) };
        w.view(2, 1, wid, h);
        w.run_for(Duration::from_millis(100));
        let now = w.peer(2).height_from(1);
        switches += usize::from(now != last);
        last = now;
    }
    assert!(switches >= 6, "the layer switched only {switches} times");
    // Each round tells what stands then, so at most one report a round, not one a switch.
    let during = reports(&w, 2).len() - before;
    assert!(
        during <= 4,
        "{during} reports in 4 s of {switches} switches"
    );
    at_most_one_a_second(&w, 2);
    // Settled on a thumbnail: the low layer, told within a round of the switch.
    w.view(2, 1, 300, 170);
    w.run_for(Duration::from_secs(3));
    assert_eq!(w.peer(2).height_from(1), Some(180));
    assert_eq!(place(&w, 2, 1), Some(0));
    at_most_one_a_second(&w, 2);
}
