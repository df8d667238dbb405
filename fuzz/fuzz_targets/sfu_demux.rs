//! The SFU's datagram entry point: two endpoints joined (one offer each, made once by a
//! str0m peer), then datagrams from fuzzer bytes arrive from a few addresses (two of
//! them sharing an IP), some wrapped as STUN requests carrying a real endpoint's ufrag
//! so the ufrag route and the address binding are reached. Nothing may panic, no
//! endpoint may be lost to datagrams alone, and the demux holds at most MAX_ADDRS tuples per
//! endpoint.
#![no_main]
use confab_proto::RoomId;
use confab_sfu::{Datagram, EndpointId, Input, Output, ShardTag, Sfu, SfuConfig, MAX_ADDRS};
use libfuzzer_sys::fuzz_target;
use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use str0m::media::{Direction, MediaKind};
use str0m::Rtc;

const LOCAL: &str = "198.51.100.1:3478";

/// Two offers (audio+video publishers), made once: building them is the slow part.
fn offers() -> &'static [String; 2] {
    static OFFERS: OnceLock<[String; 2]> = OnceLock::new();
    OFFERS.get_or_init(|| {
        let make = || {
            let mut rtc = Rtc::new(Instant::now());
            let mut change = rtc.sdp_api();
            change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
            change.add_media(MediaKind::Video, Direction::SendRecv, None, None, None);
            change.apply().unwrap().0.to_sdp_string()
        };
        [make(), make()]
    })
}

fn source(n: u8) -> SocketAddr {
    match n % 4 {
        0 => "203.0.113.9:40000",
        1 => "203.0.113.9:40001",
        2 => "192.0.2.1:5000",
        _ => "[2001:db8::1]:6000",
    }
    .parse()
    .unwrap()
}

/// A STUN binding request with USERNAME `ufrag:peer` and then `rest` as more bytes.
fn stun(ufrag: &str, rest: &[u8]) -> Vec<u8> {
    let user = format!("{ufrag}:peer");
    let mut body = Vec::new();
    body.extend_from_slice(&[0x00, 0x06]);
    body.extend_from_slice(&(user.len() as u16).to_be_bytes());
    body.extend_from_slice(user.as_bytes());
    while body.len() % 4 != 0 {
        body.push(0);
    }
    body.extend_from_slice(rest);
    let mut msg = vec![0x00, 0x01];
    msg.extend_from_slice(&(body.len() as u16).to_be_bytes());
    msg.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
    msg.extend_from_slice(&[3; 12]);
    msg.extend_from_slice(&body);
    msg
}

fuzz_target!(|data: &[u8]| {
    let local: SocketAddr = LOCAL.parse().unwrap();
    // A shard's SFU, as the server runs it: its ufrags open with its tag.
    let shard = ShardTag::new(5);
    let config = SfuConfig { candidates: vec![local], shard, ..SfuConfig::default() };
    let mut sfu = Sfu::new(config, [5; 32]);
    let t0 = Instant::now();
    let mut now = t0;
    let room = RoomId::parse("fuzz").unwrap();
    let mut ufrags = Vec::new();
    for (i, offer) in offers().iter().enumerate() {
        let endpoint = EndpointId(i as u64 + 1);
        sfu.handle(now, Input::Join { endpoint, room: room.clone(), label: String::new(), name: String::new(), offer: offer.clone(), publish: true, kind: confab_sfu::EndpointKind::Browser, follow: None });
        while let Some(out) = sfu.poll_output() {
            if let Output::Answer { sdp, .. } = out {
                let ufrag = sdp.lines().find_map(|l| l.strip_prefix("a=ice-ufrag:")).unwrap();
                assert_eq!(ShardTag::of_ufrag(ufrag.trim().as_bytes()), shard);
                ufrags.push(ufrag.trim().to_owned());
            }
        }
    }
    assert_eq!(ufrags.len(), 2);
    // Records are separated by 0xFF. First byte: bits 0-1 the source, bit 2 "wrap as
    // STUN for endpoint (bit 3)", bit 4 "time passes first" (bits 5-7 x 100 ms).
    for record in data.split(|b| *b == 0xFF) {
        let Some((&head, rest)) = record.split_first() else { continue };
        if head & 0x10 != 0 {
            now += Duration::from_millis(100 * u64::from(head >> 5));
            sfu.handle(now, Input::Timeout);
            while sfu.poll_output().is_some() {}
        }
        let wrapped;
        let bytes = if head & 0x04 != 0 {
            wrapped = stun(&ufrags[usize::from(head >> 3 & 1)], rest);
            &wrapped[..]
        } else {
            rest
        };
        // What the driver asks of every datagram first; a request wrapped for an
        // endpoint names its shard.
        let named = ShardTag::of_datagram(bytes);
        if head & 0x04 != 0 {
            assert_eq!(named, shard);
        }
        let d = Datagram { source: source(head), destination: local, bytes };
        sfu.handle(now, Input::Datagram(d));
        while let Some(out) = sfu.poll_output() {
            if let Output::Transmit { source, .. } = out {
                assert_eq!(source, local);
            }
        }
        assert!(sfu.bound_addresses() <= 2 * MAX_ADDRS);
    }
    // Datagrams alone (no time passing) never remove an endpoint.
    if now == t0 {
        assert_eq!(sfu.endpoints(), 2);
    }
});
