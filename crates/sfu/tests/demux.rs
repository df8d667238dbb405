//! One port for all: endpoints behind one IP (one NAT, different ports) are told apart,
//! and datagrams for nobody change nothing.
mod common;

use common::{sfu_addr, World};
use confab_sfu::{Datagram, EndpointId, Input, Output};
use std::time::Duration;
use str0m::media::MediaKind;

#[test]
fn two_endpoints_sharing_a_source_ip_are_told_apart() {
    let mut w = World::new();
    w.join(1, "203.0.113.9:40000", "standup", true);
    w.join(2, "203.0.113.9:40001", "standup", true);
    w.run_for(Duration::from_secs(3));

    assert_eq!(w.sfu.bound_addresses(), 2);
    assert!(w.peer(1).frames_from(EndpointId(2), MediaKind::Video) > 30);
    assert!(w.peer(2).frames_from(EndpointId(1), MediaKind::Video) > 30);
    assert_eq!(w.peer(1).frames_from(EndpointId(1), MediaKind::Video), 0);
}

#[test]
fn stray_datagrams_are_dropped() {
    let mut w = World::new();
    w.join(1, "203.0.113.1:5000", "standup", true);
    w.run_for(Duration::from_secs(1));
    let bound = w.sfu.bound_addresses();
    // From an unknown address: junk, an RTP-looking packet, and a STUN request with a
    // ufrag nobody has.
    let mut stun = vec![0, 1, 0, 12, 0x21, 0x12, 0xA4, 0x42];
    stun.extend_from_slice(&[1; 12]);
    stun.extend_from_slice(&[0, 6, 0, 8]);
    stun.extend_from_slice(b"nope:xyz");
    let stray = "192.0.2.7:9".parse().unwrap();
    for bytes in [&b"hello"[..], &[0x80; 100][..], &stun[..], &[][..]] {
        let d = Datagram {
            source: stray,
            destination: sfu_addr(),
            bytes,
        };
        w.sfu.handle(w.now, Input::Datagram(d));
        // Only what the endpoint's own timers produce (its RTCP), nothing to the stray.
        while let Some(out) = w.sfu.poll_output() {
            match out {
                Output::Transmit { destination, .. } => assert_ne!(destination, stray),
                other => panic!("unexpected {other:?}"),
            }
        }
    }
    assert_eq!(w.sfu.bound_addresses(), bound);
    assert_eq!(w.sfu.endpoints(), 1);
}
