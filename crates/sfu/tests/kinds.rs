//! Endpoint kinds: a WHIP-like publisher is never offered anything; a WHEP-like player
//! gets the room's publisher on the m-lines of its own offer without renegotiating, and
//! the next publisher's when that one goes; one that follows a name gets only the
//! publisher of that name, and again when one of that name comes back.
mod common;

use common::World;
use confab_sfu::{EndpointId, EndpointKind};
use std::time::Duration;
use str0m::media::MediaKind;

const AV: &[MediaKind] = &[MediaKind::Audio, MediaKind::Video];

#[test]
fn a_player_receives_on_its_own_m_lines_and_a_publisher_receives_nothing() {
    let mut w = World::new();
    w.kinds.insert(EndpointId(1), EndpointKind::Publisher);
    w.kinds.insert(EndpointId(3), EndpointKind::Player);
    w.join_with(1, "203.0.113.1:5000", "stage", AV);
    w.join_with(2, "203.0.113.2:5000", "stage", AV);
    w.join_with(3, "203.0.113.3:5000", "stage", AV);
    w.run_for(Duration::from_secs(3));
    assert!(w.rejected.is_empty(), "{:?}", w.rejected);

    // The encoder is offered nothing (it would not answer); the browser gets its tracks.
    assert_eq!(w.offers.get(&EndpointId(1)).copied().unwrap_or(0), 0);
    assert_eq!(w.peer(1).added.len(), 0);
    assert!(w.peer(2).frames_from(EndpointId(1), MediaKind::Video) > 30);

    // The player: never an offer, and the first publisher's audio and video arrive on
    // its own two m-lines.
    assert_eq!(w.offers.get(&EndpointId(3)).copied().unwrap_or(0), 0);
    let player = w.peer(3);
    let per_mid: Vec<usize> = player.frames_by_mid.values().copied().collect();
    assert_eq!(per_mid.len(), 2, "{:?}", player.frames_by_mid);
    assert!(
        per_mid.iter().all(|n| *n > 30),
        "{:?}",
        player.frames_by_mid
    );
    let before: usize = per_mid.iter().sum();

    // The encoder leaves: the player's m-lines carry the browser's media next.
    w.leave(1);
    w.run_for(Duration::from_secs(2));
    let player = w.peer(3);
    let after: usize = player.frames_by_mid.values().sum();
    assert!(
        after > before + 60,
        "the next publisher fills the m-lines: {before} -> {after}"
    );
    assert_eq!(
        w.offers.get(&EndpointId(3)).copied().unwrap_or(0),
        0,
        "still no offer"
    );
}

/// Frames a player got so far, on all its m-lines.
fn received(w: &World, id: u64) -> usize {
    w.peer(id).frames_by_mid.values().sum()
}

/// The audio level of the last frame a player got (whose audio it is: each publisher
/// here sends its own level).
fn last_level(w: &World, id: u64) -> Option<i8> {
    w.peer(id).levels_in.values().next().copied()
}

#[test]
fn a_player_following_a_name_plays_only_that_publisher_and_again_when_it_returns() {
    let mut w = World::new();
    for (id, name) in [(1, "Alice"), (2, "Bob"), (5, "Bob")] {
        w.names.insert(EndpointId(id), name.into());
    }
    w.kinds.insert(EndpointId(3), EndpointKind::Player);
    w.kinds.insert(EndpointId(4), EndpointKind::Player);
    w.follows.insert(EndpointId(3), "Bob".into());
    w.join_with(1, "203.0.113.1:5000", "stage", AV);
    w.join_with(2, "203.0.113.2:5000", "stage", AV);
    w.set_level(1, Some(20));
    w.set_level(2, Some(50));
    w.join_with(3, "203.0.113.3:5000", "stage", AV);
    w.join_with(4, "203.0.113.4:5000", "stage", AV);
    w.run_for(Duration::from_secs(3));
    assert!(w.rejected.is_empty(), "{:?}", w.rejected);

    // The follower plays Bob (the second publisher); the other player the first, Alice.
    let per_mid: Vec<usize> = w.peer(3).frames_by_mid.values().copied().collect();
    assert_eq!(per_mid.len(), 2, "audio and video: {per_mid:?}");
    assert!(per_mid.iter().all(|n| *n > 30), "{per_mid:?}");
    assert_eq!(last_level(&w, 3), Some(-50), "Bob's audio");
    assert_eq!(last_level(&w, 4), Some(-20), "Alice's audio");

    // Bob goes: the follower gets nothing, although Alice still publishes.
    w.leave(2);
    w.run_for(Duration::from_millis(100));
    let before = received(&w, 3);
    w.run_for(Duration::from_secs(2));
    assert_eq!(
        received(&w, 3),
        before,
        "nothing of Alice's reaches Bob's player"
    );

    // A Bob joins again (a new endpoint, as a camera back after a reconnect): the
    // follower's m-lines take its tracks, with no offer.
    w.join_with(5, "203.0.113.5:5000", "stage", AV);
    w.set_level(5, Some(50));
    w.run_for(Duration::from_secs(2));
    let after = received(&w, 3);
    assert!(after > before + 60, "Bob again: {before} -> {after}");
    assert_eq!(last_level(&w, 3), Some(-50));
    assert_eq!(w.offers.get(&EndpointId(3)).copied().unwrap_or(0), 0);
}
