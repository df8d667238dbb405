//! With 5 % of datagrams lost both ways, media still reaches everyone: str0m's NACK
//! repairs video on both hops (publisher to SFU, SFU to receiver); audio has no
//! retransmission and loses about what the two hops drop.
mod common;

use common::World;
use confab_sfu::EndpointId;
use std::time::Duration;
use str0m::media::MediaKind;

#[test]
fn media_flows_through_loss() {
    let mut w = World::new();
    w.join(1, "203.0.113.1:5000", "standup", true);
    w.join(2, "203.0.113.2:5000", "standup", true);
    w.join(3, "203.0.113.3:5000", "standup", false);
    w.run_for(Duration::from_secs(1));
    assert_eq!(w.connected.len(), 3);
    let pairs = [(1, 2), (2, 1), (3, 1), (3, 2)];
    let count =
        |w: &World, (rx, from): (u64, u64), kind| w.peer(rx).frames_from(EndpointId(from), kind);
    let before: Vec<_> = pairs
        .iter()
        .map(|p| {
            (
                count(&w, *p, MediaKind::Audio),
                count(&w, *p, MediaKind::Video),
            )
        })
        .collect();

    // The loss starts once everyone is connected: this is about media, not handshakes.
    w.loss_every = Some(20);
    w.run_for(Duration::from_secs(5));
    assert!(w.lost > 100, "only {} datagrams lost", w.lost);
    // 5 s of media: 250 audio and 125 video frames per publisher. Audio has no
    // retransmission (about 5 % lost); video is repaired by NACK.
    for (p, (audio0, video0)) in pairs.iter().zip(before) {
        let audio = count(&w, *p, MediaKind::Audio) - audio0;
        let video = count(&w, *p, MediaKind::Video) - video0;
        assert!(
            audio > 200,
            "ep{} got {audio} audio frames from ep{}",
            p.0,
            p.1
        );
        assert!(
            video > 100,
            "ep{} got {video} video frames from ep{}",
            p.0,
            p.1
        );
    }
    // Repaired loss asks for no keyframes; in any case two video tracks get at most
    // one request a second each.
    assert!(
        w.sfu.keyframe_requests() <= 2 * 7,
        "{}",
        w.sfu.keyframe_requests()
    );
}
