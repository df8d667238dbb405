//! Relayed bytes are budgeted per sender and per addressee (issue 12, item 12): a member
//! who relays large SDPs at someone gets `rate_limited`, and what reaches the addressee
//! stays within one burst, well under its outbound queue, so it is never the one dropped.

mod common;

use common::Harness;
use confab_proto::{ClientMsg, ErrorCode, PeerId, ServerMsg};
use confab_signal::{ConnId, HubConfig, Output};
use std::time::Duration;

const BURST: u32 = 200_000;

fn harness() -> Harness {
    Harness::with_config(HubConfig {
        relay_burst: BURST,
        relay_rate: 10_000,
        ..HubConfig::default()
    })
}

fn big_offer(to: &PeerId) -> ClientMsg {
    ClientMsg::Offer {
        to: to.clone(),
        sdp: "a".repeat(60_000),
    }
}

/// The SDP bytes `to` was sent in `out`.
fn offered_to(out: &[Output], to: ConnId) -> usize {
    out.iter()
        .filter_map(|o| match o {
            Output::Send {
                to: t,
                msg: ServerMsg::Offer { sdp, .. },
            } if *t == to => Some(sdp.len()),
            _ => None,
        })
        .sum()
}

#[test]
fn a_sender_of_large_sdps_is_rate_limited_before_its_target_is_flooded() {
    let mut h = harness();
    let (a, _) = h.joined(1, "r", "Ada");
    let (g, idg) = h.joined(2, "r", "Grace");
    let mut delivered = 0;
    for _ in 0..3 {
        h.frame(a, big_offer(&idg));
        delivered += offered_to(&h.drain(), g);
    }
    assert_eq!(delivered, 180_000, "three fit the burst");
    for _ in 0..20 {
        let message = h.expect_error(a, big_offer(&idg), ErrorCode::RateLimited);
        assert!(message.contains("relaying too much"), "{message}");
    }
    // Small messages still pass within what is left, and the budget comes back.
    h.frame(a, common::offer(&idg));
    assert_eq!(offered_to(&h.drain(), g), 5);
    h.advance(Duration::from_secs(6));
    h.frame(a, big_offer(&idg));
    assert_eq!(offered_to(&h.drain(), g), 60_000);
}

#[test]
fn many_senders_together_cannot_flood_one_target() {
    let mut h = harness();
    let (a, _) = h.joined(1, "r", "Ada");
    let (g, idg) = h.joined(2, "r", "Grace");
    let (l, _) = h.joined(3, "r", "Linus");
    let mut delivered = 0;
    for from in [a, l, a] {
        h.frame(from, big_offer(&idg));
        delivered += offered_to(&h.drain(), g);
    }
    assert_eq!(delivered, 180_000);
    let message = h.expect_error(l, big_offer(&idg), ErrorCode::RateLimited);
    assert!(message.contains("being sent too much"), "{message}");
    // Linus's own budget is not spent: he can still relay to Ada.
    let ida = h.hub.peers_in(&common::room("r"))[0].id.clone();
    h.frame(l, big_offer(&ida));
    assert_eq!(offered_to(&h.drain(), a), 60_000);
}
