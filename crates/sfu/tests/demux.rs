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

/// A shard's SFU opens every ufrag with its tag, so a STUN request to any of its
/// endpoints names the shard; and str0m peers connect to such endpoints as to any.
#[test]
fn a_shards_ufrags_name_it_and_its_endpoints_connect() {
    let tag = confab_sfu::ShardTag::new(37).unwrap();
    let config = confab_sfu::SfuConfig {
        shard: Some(tag),
        candidates: vec![sfu_addr()],
        ..confab_sfu::SfuConfig::default()
    };
    let mut sfu = confab_sfu::Sfu::new(config.clone(), [3; 32]);
    let mut rtc = str0m::Rtc::new(std::time::Instant::now());
    let mut change = rtc.sdp_api();
    change.add_media(
        MediaKind::Audio,
        str0m::media::Direction::SendOnly,
        None,
        None,
        None,
    );
    let offer = change.apply().unwrap().0.to_sdp_string();
    let mut ufrags = std::collections::HashSet::new();
    for id in 1..=50 {
        sfu.handle(
            std::time::Instant::now(),
            Input::Join {
                endpoint: EndpointId(id),
                room: common::room("standup"),
                label: String::new(),
                name: String::new(),
                offer: offer.clone(),
                publish: true,
                kind: confab_sfu::EndpointKind::Browser,
                follow: None,
            },
        );
        while let Some(out) = sfu.poll_output() {
            if let Output::Answer { sdp, .. } = out {
                let ufrag = sdp
                    .lines()
                    .find_map(|l| l.strip_prefix("a=ice-ufrag:"))
                    .unwrap();
                assert_eq!(ufrag.len(), 16, "{ufrag}");
                assert_eq!(confab_sfu::ShardTag::of_ufrag(ufrag.as_bytes()), Some(tag));
                ufrags.insert(ufrag.to_owned());
            }
        }
    }
    assert_eq!(ufrags.len(), 50, "every endpoint has a ufrag of its own");

    let mut w = World::with_config(config);
    w.join(1, "203.0.113.1:5000", "standup", true);
    w.join(2, "203.0.113.2:5000", "standup", true);
    w.run_for(Duration::from_secs(3));
    assert!(w.peer(1).frames_from(EndpointId(2), MediaKind::Video) > 30);
    assert!(w.peer(2).frames_from(EndpointId(1), MediaKind::Audio) > 30);
}
