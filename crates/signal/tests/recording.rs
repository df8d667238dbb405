//! Recording a room: a host starts it (everyone hears who), the room's calls move to the
//! SFU, every SFU room of the room is recorded (one made later too), and it stops when
//! the host says or when the call's last endpoint goes. Guests cannot; a server without
//! an SFU refuses.

mod common;

use common::*;
use confab_proto::{CallId, ClientMsg, ErrorCode, MediaMode, ServerMsg};
use confab_signal::{HubConfig, MediaCommand, MediaPolicy, Output};
use std::time::Duration;

fn records(out: &[Output]) -> Vec<(u64, bool)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Media(MediaCommand::Record { group, on, room }) => {
                assert_eq!(room.as_str(), "r");
                Some((*group, *on))
            }
            _ => None,
        })
        .collect()
}

fn harness(media: MediaPolicy) -> Harness {
    Harness::with_config(HubConfig {
        resume_grace: Duration::ZERO,
        media,
        ..HubConfig::default()
    })
}

#[test]
fn a_host_records_the_rooms_sfu_calls_until_it_stops() {
    let mut h = harness(MediaPolicy::Auto { mesh_max: 4 });
    let (a, ida) = h.joined(1, "r", "Host");
    let (b, idb) = h.joined(2, "r", "Guest");
    h.frame(a, ClientMsg::Invite { to: idb });
    h.frame(b, ClientMsg::Accept { call: CallId(1) });
    h.drain();

    h.expect_error(b, ClientMsg::Record { on: true }, ErrorCode::NotHost);
    h.frame(a, ClientMsg::Record { on: true });
    let out = h.drain();
    let started = ServerMsg::Recording {
        on: true,
        by: ida.clone(),
    };
    let mode = ServerMsg::CallMode {
        call: CallId(1),
        media: MediaMode::Sfu,
    };
    for c in [a, b] {
        let got: Vec<_> = out
            .iter()
            .filter_map(|o| match o {
                Output::Send { to, msg } if *to == c => Some(msg.clone()),
                _ => None,
            })
            .collect();
        assert!(got.contains(&started) && got.contains(&mode), "{got:?}");
    }
    // No SFU room yet: nothing to record until a member's first offer makes one.
    assert!(records(&out).is_empty());
    h.frame(a, ClientMsg::SfuOffer { sdp: "v=0".into() });
    assert_eq!(records(&h.drain()), [(1, true)]);
    h.frame(b, ClientMsg::SfuOffer { sdp: "v=0".into() });
    assert!(records(&h.drain()).is_empty(), "the same SFU room");

    // A late joiner hears who records.
    let (late, _) = h.ready(3);
    h.join(late, "r", "Late");
    let out = h.drain();
    assert!(out.iter().any(|o| matches!(o,
        Output::Send { to, msg: ServerMsg::Joined { recording: Some(by), .. } } if *to == late && *by == ida)));

    // Stopping twice changes nothing the second time.
    h.frame(a, ClientMsg::Record { on: false });
    assert_eq!(records(&h.drain()), [(1, false)]);
    h.frame(a, ClientMsg::Record { on: false });
    assert!(h.drain().is_empty());
}

#[test]
fn the_recording_of_an_sfu_room_stops_when_it_empties() {
    let mut h = harness(MediaPolicy::Sfu);
    let (a, _) = h.joined(1, "r", "Host");
    let (b, idb) = h.joined(2, "r", "Guest");
    h.frame(a, ClientMsg::Invite { to: idb });
    h.frame(b, ClientMsg::Accept { call: CallId(1) });
    h.frame(a, ClientMsg::Record { on: true });
    h.frame(a, ClientMsg::SfuOffer { sdp: "v=0".into() });
    h.frame(b, ClientMsg::SfuOffer { sdp: "v=0".into() });
    assert_eq!(records(&h.drain()), [(1, true)]);
    // The call ends (the guest hangs up; the host alone ends it): the SFU room empties.
    h.frame(b, ClientMsg::LeaveCall);
    assert_eq!(records(&h.drain()), [(1, false)]);

    let mut h = harness(MediaPolicy::Mesh);
    let (a, _) = h.joined(1, "r", "Host");
    h.expect_error(a, ClientMsg::Record { on: true }, ErrorCode::NoMediaServer);
}

#[test]
fn a_host_asks_for_the_recordings_and_a_guest_may_not() {
    let mut h = harness(MediaPolicy::Sfu);
    let (a, _) = h.joined(1, "r", "Host");
    let (b, _) = h.joined(2, "r", "Guest");
    h.expect_error(b, ClientMsg::Recordings, ErrorCode::NotHost);
    h.frame(a, ClientMsg::Recordings);
    let out = h.drain();
    assert!(
        matches!(&out[..], [Output::ListRecordings { conn, room, .. }] if *conn == a && room.as_str() == "r"),
        "{out:?}"
    );
}
