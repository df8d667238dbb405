//! Endpoint kinds: a WHIP-like publisher is never offered anything; a WHEP-like player
//! gets the room's publisher on the m-lines of its own offer without renegotiating, and
//! the next publisher's when that one goes.
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
