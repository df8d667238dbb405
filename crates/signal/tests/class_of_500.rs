//! A class of 500 joins a broadcast: what the room's fan-out costs. Every join and call
//! join is told to everyone (presence is O(room) per change, O(room²) in all), so this
//! bounds it where it matters: each change costs one message per member, and what one
//! student receives while the whole class arrives stays well inside its outbound queue
//! (1 MiB by default), so nobody is cut off as a slow consumer at the start of a lesson.

mod common;

use common::*;
use confab_proto::{CallId, ClientMsg};
use confab_signal::{ConnId, HubConfig, MediaPolicy, Output};
use std::collections::HashMap;
use std::time::Duration;

const CLASS: u64 = 500;

#[test]
fn a_class_of_500_arrives_with_one_message_per_member_per_change() {
    let mut h = Harness::with_config(HubConfig {
        resume_grace: Duration::ZERO,
        media: MediaPolicy::Auto { mesh_max: 4 },
        max_peers_per_room: 1000,
        ..HubConfig::default()
    });
    let teacher = h.joined(1, "class", "Teacher");
    h.frame(teacher.0, ClientMsg::Broadcast { on: true });
    h.drain();
    // Bytes each connection was sent, as JSON text frames.
    let mut received: HashMap<ConnId, usize> = HashMap::new();
    let mut tally = |out: Vec<Output>| -> usize {
        let mut n = 0;
        for o in out {
            if let Output::Send { to, msg } = o {
                n += 1;
                *received.entry(to).or_default() += serde_json::to_string(&msg).unwrap().len();
            }
        }
        n
    };
    for i in 0..CLASS {
        let (conn, _) = h.ready(10 + i);
        h.join(conn, "class", &format!("学生 {i}"));
        let joining = tally(h.drain());
        h.frame(conn, ClientMsg::JoinCall { call: CallId(1) });
        let entering = tally(h.drain());
        // The others: the teacher and the students before. `joined` to the joiner,
        // `peerJoined` to each other; then `callJoined`, and the joiner's presence to each.
        let room = i as usize + 1;
        assert!(
            joining <= room + 3,
            "join {i}: {joining} messages for a room of {room}"
        );
        assert!(entering <= room + 3, "call join {i}: {entering} messages");
    }
    let most = received.values().max().copied().unwrap_or(0);
    let first_student = received[&ConnId(10)];
    eprintln!("a class of {CLASS}: the most one connection got {most} bytes; the first student {first_student}");
    assert!(most < 256 * 1024, "{most} bytes to one connection");
}
