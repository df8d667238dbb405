//! Refused inputs: exactly one `Rejected` each, naming the endpoint, and no state
//! changed.
mod common;

use common::{room, World};
use confab_sfu::{EndpointId, Input, Output, SfuConfig, SfuError};

fn rejected(w: &mut World, input: Input<'_>) -> Vec<Output> {
    w.sfu.handle(w.now, input);
    std::iter::from_fn(|| w.sfu.poll_output()).collect()
}

#[test]
fn bad_or_misaddressed_signaling_is_refused() {
    let mut w = World::new();
    let join = Input::Join {
        endpoint: EndpointId(5),
        room: room("standup"),
        label: String::new(),
        name: String::new(),
        offer: "v=0\r\nnonsense".into(),
        publish: true,
        kind: confab_sfu::EndpointKind::Browser,
        follow: None,
    };
    let out = rejected(&mut w, join);
    assert!(
        matches!(
            &out[..],
            [Output::Rejected {
                endpoint: EndpointId(5),
                error: SfuError::BadSdp(_)
            }]
        ),
        "{out:?}"
    );
    assert_eq!(w.sfu.endpoints(), 0);
    assert!(w.sfu.members(&room("standup")).is_empty());

    let answer = Input::Answer {
        endpoint: EndpointId(9),
        sdp: "v=0".into(),
    };
    let out = rejected(&mut w, answer);
    assert_eq!(
        out,
        [Output::Rejected {
            endpoint: EndpointId(9),
            error: SfuError::UnknownEndpoint
        }]
    );
    let offer = Input::Offer {
        endpoint: EndpointId(9),
        sdp: "v=0".into(),
    };
    let out = rejected(&mut w, offer);
    assert_eq!(
        out,
        [Output::Rejected {
            endpoint: EndpointId(9),
            error: SfuError::UnknownEndpoint
        }]
    );

    // A lone endpoint was never offered anything: an answer from it is stray. (The
    // harness's own answers are valid SDP; reuse the peer's local description.)
    w.join(1, "203.0.113.1:5000", "standup", true);
    assert!(w.rejected.is_empty());
    let sdp = w.sfu_offer_free_answer(1);
    let out = rejected(
        &mut w,
        Input::Answer {
            endpoint: EndpointId(1),
            sdp,
        },
    );
    let stray = Output::Rejected {
        endpoint: EndpointId(1),
        error: SfuError::NoPendingOffer,
    };
    assert!(out.contains(&stray), "{out:?}");
    let out = rejected(
        &mut w,
        Input::Offer {
            endpoint: EndpointId(1),
            sdp: "garbage".into(),
        },
    );
    assert!(
        out.iter().any(|o| matches!(
            o,
            Output::Rejected {
                error: SfuError::BadSdp(_),
                ..
            }
        )),
        "{out:?}"
    );
    assert_eq!(w.sfu.endpoints(), 1);
}

#[test]
fn limits_refuse_joins() {
    let config = SfuConfig {
        max_endpoints: 3,
        max_room_size: 2,
        ..SfuConfig::default()
    };
    let mut w = World::with_config(config);
    w.join(1, "203.0.113.1:5000", "standup", true);
    w.join(2, "203.0.113.2:5000", "standup", true);
    w.join(3, "203.0.113.3:5000", "standup", true);
    assert_eq!(w.rejected, [(EndpointId(3), SfuError::RoomFull)]);
    w.join(4, "203.0.113.4:5000", "retro", true);
    w.join(5, "203.0.113.5:5000", "retro", true);
    assert_eq!(w.rejected[1..], [(EndpointId(5), SfuError::Full)]);
    w.join(1, "203.0.113.6:5000", "standup", true);
    // An id in use is refused as such, before any limit.
    assert_eq!(w.rejected[2..], [(EndpointId(1), SfuError::EndpointExists)]);
    assert_eq!(w.sfu.endpoints(), 3);
}
