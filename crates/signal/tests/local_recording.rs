//! Recording on one's own device is told to the room: `localRecording` sets the sender's
//! `recordingLocally` presence flag for everyone, and clears it again.

mod common;

use common::*;
use confab_proto::{ClientMsg, ErrorCode, ServerMsg};

fn flag(out: &[confab_signal::Output], to_conn: confab_signal::ConnId) -> Option<bool> {
    to(out, to_conn).iter().rev().find_map(|m| match m {
        ServerMsg::Presence { state, .. } => Some(state.recording_locally),
        _ => None,
    })
}

#[test]
fn the_room_sees_who_records_on_their_device() {
    let mut h = Harness::new();
    let (lobby, _) = h.ready(9);
    h.expect_error(
        lobby,
        ClientMsg::LocalRecording { on: true },
        ErrorCode::NotJoined,
    );
    let (a, _) = h.joined(1, "r", "Ada");
    let (b, _) = h.joined(2, "r", "Bob");
    h.drain();
    h.frame(a, ClientMsg::LocalRecording { on: true });
    let out = h.drain();
    assert_eq!(flag(&out, b), Some(true), "Bob sees Ada record: {out:?}");
    h.frame(a, ClientMsg::LocalRecording { on: false });
    let out = h.drain();
    assert_eq!(flag(&out, b), Some(false));
}
