//! The layers an SFU endpoint gets: the SFU's report for one endpoint reaches that
//! member alone, as `layers` with its call, and a report for an endpoint that is gone
//! (its member left the call) is dropped.

mod common;

use common::*;
use confab_proto::{ClientMsg, LayerTrack, PeerId, ServerMsg};
use confab_signal::{Input, MediaCommand, MediaEndpoint, MediaEvent, Output};

/// The endpoints the `Join`s in `out` made, in order.
fn joins(out: &[Output]) -> Vec<MediaEndpoint> {
    out.iter()
        .filter_map(|o| match o {
            Output::Media(MediaCommand::Join { endpoint, .. }) => Some(*endpoint),
            _ => None,
        })
        .collect()
}

/// `from`'s camera on mid 3: the middle of three layers, 640 by 360.
fn middle(from: &PeerId) -> LayerTrack {
    LayerTrack {
        mid: "3".into(),
        from: from.clone(),
        layer: Some(1),
        layers: 3,
        rid: Some("m".into()),
        width: Some(640),
        height: Some(360),
    }
}

#[test]
fn a_layers_report_reaches_its_member_alone() {
    let mut h = Harness::sfu();
    let (a, ida) = h.joined(1, "r", "Ada");
    let (b, idb) = h.joined(2, "r", "Bob");
    let (c, _) = h.joined(3, "r", "Cy"); // in the room, not in the call
    let call = h.call(a, b, &idb);
    for conn in [a, b] {
        h.frame(conn, ClientMsg::SfuOffer { sdp: "o".into() });
    }
    let out = h.drain();
    let [ea, eb] = joins(&out)[..] else {
        panic!("{out:?}");
    };

    // Bob's endpoint gets Ada's camera in the middle layer: Bob hears it, nobody else.
    let tracks = vec![middle(&ida)];
    h.input(Input::Media(MediaEvent::Layers {
        endpoint: eb,
        tracks: tracks.clone(),
    }));
    let out = h.drain();
    let want = ServerMsg::Layers { call, tracks };
    assert_eq!(to(&out, b), [want]);
    for conn in [a, c] {
        assert!(to(&out, conn).is_empty(), "{conn:?}: {out:?}");
    }

    // Ada's endpoint: everything it got went away (an empty list) — to Ada.
    h.input(Input::Media(MediaEvent::Layers {
        endpoint: ea,
        tracks: vec![],
    }));
    let out = h.drain();
    assert_eq!(
        to(&out, a),
        [ServerMsg::Layers {
            call,
            tracks: vec![]
        }]
    );
    assert!(to(&out, b).is_empty());

    // Bob leaves the call: a late report of his endpoint is dropped.
    h.frame(b, ClientMsg::LeaveCall);
    h.drain();
    h.input(Input::Media(MediaEvent::Layers {
        endpoint: eb,
        tracks: vec![middle(&ida)],
    }));
    let out = h.drain();
    assert!(
        !out.iter().any(|o| matches!(o, Output::Send { .. })),
        "{out:?}"
    );
}
