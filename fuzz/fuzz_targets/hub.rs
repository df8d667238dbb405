//! A sequence of events from a few connections, each frame decoded from fuzzer text,
//! driven through the Hub: nothing panics, every output addresses a known connection,
//! and after the timers run no deadline is left behind. Chat persistence is on, and the
//! "store" answers each history request at once, late (at the next timer step) or
//! never, as bits of the input say.
#![no_main]
use confab_signal::{ChatSeed, ConnId, Hub, HubConfig, Input, Now, Output};
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
    let mut hub = Hub::new(config, [7; 32]);
    let t0 = Instant::now();
    let mut ever = std::collections::HashSet::new();
    let mut skew = Duration::ZERO;
    let mut answers: Vec<(confab_proto::RoomId, Option<ChatSeed>)> = Vec::new();
    let mut late = Vec::new();
    let mut saved = std::collections::HashMap::new();
    // Records are separated by 0xFF: first byte = connection and action, rest = frame.
    // Action 1 with an empty body disconnects; with a body, time jumps by body[0] x 100 ms
    // and the ring timer runs.
    for (i, rec) in data.split(|&b| b == 0xFF).enumerate().take(256) {
        let Some((&head, body)) = rec.split_first() else {
            continue;
        };
        let conn = ConnId(u64::from(head & 0x07));
        let mut now = t0 + skew + Duration::from_millis(i as u64);
        let at = |mono| Now {
            mono,
            unix_ms: 1_700_000_000_000,
        };
        match head >> 6 {
            0 => {
                ever.insert(conn);
                let ip = Some(std::net::IpAddr::from([10, 0, 0, head & 0x01]));
                hub.handle(at(now), Input::Connect { conn, host: None, ip })
            }
            1 if body.is_empty() => {
                let clean = head & 0x08 != 0;
                hub.handle(at(now), Input::Disconnect { conn, clean })
            }
            1 => {
                skew += Duration::from_millis(100 * u64::from(body[0]));
                now = t0 + skew + Duration::from_millis(i as u64);
                for room in late.drain(..) {
                    hub.handle(at(now), Input::History { room, seed: None });
                }
                hub.handle(at(now), Input::Timeout);
                assert!(hub.poll_timeout().is_none_or(|d| d > now));
            }
            _ => {
                let frame = std::str::from_utf8(body)
                    .ok()
                    .and_then(|t| confab_proto::decode_client(t).ok());
                // Bits 3-5 of the head: 1 a host token, 2 a guest token, else none; bit 6
                // picks one of two subjects.
                let role = match (head >> 3) & 0x07 {
                    1 => Some(confab_proto::Role::Host),
                    2 => Some(confab_proto::Role::Guest),
                    _ => None,
                };
                let subject = if head & 0x40 != 0 { "u1" } else { "u2" };
                if let Some(frame) = frame {
                    let input = Input::Frame {
                        conn,
                        frame,
                        grant: role.map(|r| confab_signal::Grant::new(r, subject)),
                    };
                    hub.handle(at(now), input);
                }
            }
        }
        while let Some(out) = hub.poll_output() {
            let to = match out {
                Output::Send { to, .. } => to,
                Output::Close { conn, .. } => conn,
                // Bits 3-4 of the head: 0 answer now (with a seed), 1 now (nothing), 2
                // late, 3 never (the hub's timeout must release the joins).
                Output::LoadHistory { room } => {
                    // The moderation the room last reported, as a store gives it back.
                    let seed = ChatSeed {
                        room: room.clone(),
                        history: Vec::new(),
                        last_id: u64::from(head),
                        moderation: saved.get(&room).cloned(),
                    };
                    match (head >> 3) & 0x03 {
                        0 => answers.push((room, Some(seed))),
                        1 => answers.push((room, None)),
                        2 => late.push(room),
                        _ => {}
                    }
                    continue;
                }
                Output::ModerationStored { room, moderation } => {
                    saved.insert(room, moderation);
                    continue;
                }
                _ => continue,
            };
            assert!(ever.contains(&to), "output to a connection that never connected");
        }
        for (room, seed) in answers.drain(..) {
            hub.handle(at(now), Input::History { room, seed });
            while let Some(out) = hub.poll_output() {
                if let Output::Send { to, .. } | Output::Close { conn: to, .. } = out {
                    assert!(ever.contains(&to), "output to a connection that never connected");
                }
                if let Output::ModerationStored { room, moderation } = out {
                    saved.insert(room, moderation);
                }
            }
        }
    }
});
