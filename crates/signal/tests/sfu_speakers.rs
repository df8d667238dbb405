//! Active speakers in SFU calls: the SFU's list for a group reaches every member of
//! that call holding an endpoint (and nobody else), a member whose connection to the SFU
//! comes up later hears the current list, and news about a group that is gone is
//! dropped.

mod common;

use common::*;
use confab_proto::{CallId, ClientMsg, PeerId, ServerMsg};
use confab_signal::{Input, MediaCommand, MediaEvent, Output};

/// The `Join`s in `out`: (endpoint, group) in order.
fn joins(out: &[Output]) -> Vec<(confab_signal::MediaEndpoint, u64)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Media(MediaCommand::Join {
                endpoint, group, ..
            }) => Some((*endpoint, *group)),
            _ => None,
        })
        .collect()
}

fn speakers(call: u64, ids: &[&PeerId]) -> ServerMsg {
    ServerMsg::ActiveSpeakers {
        call: CallId(call),
        speakers: ids.iter().map(|p| (*p).clone()).collect(),
    }
}

#[test]
fn speakers_reach_the_members_of_their_call_with_endpoints() {
    let mut h = Harness::sfu();
    let (a, ida) = h.joined(1, "r", "Ada");
    let (b, idb) = h.joined(2, "r", "Bob");
    let (c, idc) = h.joined(3, "r", "Cy");
    let (d, _) = h.joined(4, "r", "Dee"); // in the room, not in the call
    let call1 = h.call(a, b, &idb);
    assert_eq!(call1, CallId(1));
    h.frame(c, ClientMsg::JoinCall { call: call1 });
    h.drain();
    // Another room's SFU call: its own group.
    let (e, _) = h.joined(5, "s", "Eve");
    let (f, idf) = h.joined(6, "s", "Fay");
    let call2 = h.call(e, f, &idf);
    h.drain();

    // Ada, Bob, Eve and Fay connect to the SFU; Cy (in the call) has not yet.
    for conn in [a, b, e, f] {
        h.frame(conn, ClientMsg::SfuOffer { sdp: "o".into() });
    }
    let out = h.drain();
    let [(ea, g1), (_, g1b), (_, g2), _] = joins(&out)[..] else {
        panic!("{out:?}");
    };
    assert_eq!(g1, g1b);
    assert_ne!(g1, g2);

    // Ada talks: Ada and Bob hear it; Cy (no endpoint), Dee and the other call do not.
    h.input(Input::Media(MediaEvent::Speakers {
        group: g1,
        speakers: vec![ida.clone()],
    }));
    let out = h.drain();
    assert_eq!(to(&out, a), [speakers(1, &[&ida])]);
    assert_eq!(to(&out, b), [speakers(1, &[&ida])]);
    for conn in [c, d, e, f] {
        assert!(to(&out, conn).is_empty(), "{conn:?}: {out:?}");
    }

    // Cy connects to the SFU: once up, Cy hears who is talking already.
    h.frame(c, ClientMsg::SfuOffer { sdp: "o".into() });
    let out = h.drain();
    let [(ec, g), ..] = joins(&out)[..] else {
        panic!("{out:?}");
    };
    assert_eq!(g, g1);
    h.input(Input::Media(MediaEvent::Connected { endpoint: ec }));
    assert_eq!(to(&h.drain(), c), [speakers(1, &[&ida])]);

    // The other call's list goes to its members only; names that are not members with
    // an endpoint in the group (a stranger, someone of another call) are left out.
    h.input(Input::Media(MediaEvent::Speakers {
        group: g2,
        speakers: vec![ida.clone(), idf.clone()],
    }));
    let out = h.drain();
    assert_eq!(to(&out, e), [speakers(call2.0, &[&idf])]);
    assert_eq!(to(&out, f), [speakers(call2.0, &[&idf])]);
    for conn in [a, b, c, d] {
        assert!(to(&out, conn).is_empty());
    }

    // Nobody talks: an empty list. A member connecting then hears nothing.
    h.input(Input::Media(MediaEvent::Speakers {
        group: g1,
        speakers: vec![],
    }));
    let out = h.drain();
    for conn in [a, b, c] {
        assert_eq!(to(&out, conn), [speakers(1, &[])]);
    }
    h.input(Input::Media(MediaEvent::Connected { endpoint: ea }));
    assert!(to(&h.drain(), a).is_empty());

    // Everyone leaves call 1: its group is gone, and late news about it is dropped.
    for conn in [a, b, c] {
        h.frame(conn, ClientMsg::LeaveCall);
    }
    h.drain();
    assert_eq!(h.hub.media_endpoints(), 2, "Eve's and Fay's");
    h.input(Input::Media(MediaEvent::Speakers {
        group: g1,
        speakers: vec![idc.clone()],
    }));
    let out = h.drain();
    assert!(
        !out.iter().any(|o| matches!(o, Output::Send { .. })),
        "{out:?}"
    );
}
