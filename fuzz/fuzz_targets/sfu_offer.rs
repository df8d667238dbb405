//! The SFU's SDP entry points after a join: a browser's offer (a renegotiation, or a new
//! connection's offer that replaces the endpoint, `crates/sfu/src/replace.rs`) and its
//! answer, from fuzzer text. The input is taken as the offer after a prefix: the first
//! byte picks whether a real offer (with another DTLS fingerprint than the join's) comes
//! before it, so the replacement path is reached too. Nothing may panic, a refused SDP
//! changes nothing, and the endpoint is never lost to SDP alone.
#![no_main]
use confab_proto::RoomId;
use confab_sfu::{EndpointId, EndpointKind, Input, Output, Sfu, SfuConfig};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use std::time::Instant;
use str0m::media::{Direction, MediaKind};
use str0m::Rtc;

/// Two offers of two peer connections (two certificates): made once.
fn offers() -> &'static [String; 2] {
    static OFFERS: OnceLock<[String; 2]> = OnceLock::new();
    OFFERS.get_or_init(|| {
        let make = || {
            let mut rtc = Rtc::new(Instant::now());
            let mut change = rtc.sdp_api();
            change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
            change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
            change.apply().unwrap().0.to_sdp_string()
        };
        [make(), make()]
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else { return };
    let config = SfuConfig { candidates: vec!["198.51.100.1:3478".parse().unwrap()], ..SfuConfig::default() };
    let mut sfu = Sfu::new(config, [7; 32]);
    let now = Instant::now();
    let room = RoomId::parse("fuzz").unwrap();
    let endpoint = EndpointId(1);
    let join = Input::Join { endpoint, room, label: String::new(), name: String::new(), offer: offers()[0].clone(), publish: true, kind: EndpointKind::Browser, follow: None };
    sfu.handle(now, join);
    while sfu.poll_output().is_some() {}
    let text = String::from_utf8_lossy(rest).into_owned();
    let mut inputs = Vec::new();
    if head & 1 != 0 {
        // A new connection's offer first: the endpoint is replaced, then the text follows.
        inputs.push(offers()[1].clone());
    }
    inputs.push(text);
    for sdp in inputs {
        let input = if head & 2 != 0 { Input::Answer { endpoint, sdp } } else { Input::Offer { endpoint, sdp } };
        sfu.handle(now, input);
        while let Some(out) = sfu.poll_output() {
            assert!(!matches!(out, Output::Disconnected { .. }), "SDP alone never drops an endpoint");
        }
        assert!(sfu.contains(endpoint), "the endpoint is still there");
    }
});
