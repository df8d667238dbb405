//! A sequence of events from a few connections, each frame decoded from fuzzer text,
//! driven through the Hub: nothing panics, every output addresses a known connection,
//! and after the ring timer runs no invitation outlives its deadline.
#![no_main]
use confab_signal::{ConnId, Hub, HubConfig, Output};
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, Instant};

fuzz_target!(|data: &[u8]| {
    let config = HubConfig {
        max_rooms: 2,
        max_peers_per_room: 3,
        max_connections: 4,
        chat_history: 3,
        chat_burst: 4,
        max_call_size: 3,
        ring_timeout: Duration::from_secs(1),
        persist_chat: true,
        ..HubConfig::default()
    };
    let mut hub = Hub::new(config, 7);
    let t0 = Instant::now();
    let mut ever = std::collections::HashSet::new();
    let mut skew = Duration::ZERO;
    // Records are separated by 0xFF: first byte = connection and action, rest = frame.
    // Action 1 with an empty body disconnects; with a body, time jumps by body[0] x 100 ms
    // and the ring timer runs.
    for (i, rec) in data.split(|&b| b == 0xFF).enumerate().take(256) {
        let Some((&head, body)) = rec.split_first() else {
            continue;
        };
        let conn = ConnId(u64::from(head & 0x07));
        let mut now = t0 + skew + Duration::from_millis(i as u64);
        match head >> 6 {
            0 => {
                ever.insert(conn);
                hub.handle_connect(conn, now)
            }
            1 if body.is_empty() => hub.handle_disconnect(conn, now),
            1 => {
                skew += Duration::from_millis(100 * u64::from(body[0]));
                now = t0 + skew + Duration::from_millis(i as u64);
                hub.handle_timeout(now);
                assert!(hub.poll_timeout().is_none_or(|d| d > now));
            }
            _ => {
                let frame = std::str::from_utf8(body)
                    .ok()
                    .and_then(|t| confab_proto::decode_client(t).ok());
                // Bits 3-5 of the head: 1 a host token, 2 a guest token, else none.
                let role = match (head >> 3) & 0x07 {
                    1 => Some(confab_proto::Role::Host),
                    2 => Some(confab_proto::Role::Guest),
                    _ => None,
                };
                if let Some(frame) = frame {
                    hub.handle_frame_as(conn, frame, role, now);
                }
            }
        }
        while let Some(out) = hub.poll_output() {
            let to = match out {
                Output::Send { to, .. } => to,
                Output::Close { conn, .. } => conn,
                Output::ChatStored { .. } => continue,
            };
            assert!(ever.contains(&to), "output to a connection that never connected");
        }
    }
});
