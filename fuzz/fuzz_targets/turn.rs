//! Decode + core: a sequence of client datagrams/frames, peer datagrams, relay binds and
//! timeouts and in-process datagrams from the SFU driven through the TURN server, plus
//! `frame_len` on every record. Nothing may panic, every ToPeer must be permitted, data
//! in-process goes only to the SFU, and the allocation cap must hold.
#![no_main]
use confab_turn::{frame_len, BindError, ClientKey, Output, RelayRequestId, Server, Transport};
use libfuzzer_sys::fuzz_target;

/// The same configuration the seed-writing test uses (one file, so they cannot drift).
#[path = "../../crates/turn/tests/support/fuzz_config.rs"]
mod fuzz_config;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn client(n: u8) -> ClientKey {
    let transport = match n % 3 {
        0 => Transport::Udp,
        1 => Transport::Tcp,
        _ => Transport::Tls,
    };
    ClientKey {
        transport,
        client: SocketAddr::from(([203, 0, 113, 5], 40_000 + u16::from(n & 3))),
        local: SocketAddr::from(([198, 51, 100, 1], 3478)),
    }
}

fn peer(n: u8) -> SocketAddr {
    SocketAddr::from(([8, 8, 4, n & 3], 7000 + u16::from(n >> 2 & 3)))
}

fuzz_target!(|data: &[u8]| {
    let mut config = fuzz_config::fuzz_config();
    // The SFU of the same process, reachable in-process only.
    let sfu = SocketAddr::from(([198, 51, 100, 1], 7882));
    config.local_services = vec![sfu];
    let max = config.max_allocations;
    let mut server = Server::new(config, 1);
    let t0 = Instant::now();
    let mut now = t0;
    let mut requests: Vec<RelayRequestId> = Vec::new();
    let mut relays: Vec<SocketAddr> = Vec::new();
    let mut port = 50_000u16;
    // Records are separated by the 4 bytes "TURN": first byte = action, second = who.
    let mut rest = data;
    for _ in 0..128 {
        let (rec, tail) = match rest.windows(4).position(|w| w == b"TURN") {
            Some(at) => (&rest[..at], &rest[at + 4..]),
            None => (rest, &[][..]),
        };
        let Some((&action, rec)) = rec.split_first() else {
            if tail.is_empty() {
                break;
            }
            rest = tail;
            continue;
        };
        let (who, body) = rec.split_first().map_or((0, rec), |(w, b)| (*w, b));
        let _ = frame_len(body);
        match action % 8 {
            0..=2 => server.handle_client(
                client(who),
                body,
                now,
                1_700_000_000 + now.duration_since(t0).as_secs(),
            ),
            3 => {
                if let Some(&relay) = relays.get(usize::from(who) % relays.len().max(1)) {
                    if who & 0x80 != 0 {
                        // The SFU answering a relayed address (or a stranger posing as it).
                        let from = if who & 0x40 != 0 { sfu } else { peer(who) };
                        server.handle_local(from, relay, body, now);
                    } else {
                        server.handle_peer(relay, peer(who), body, now);
                    }
                }
            }
            4 => {
                if let Some(request) = requests.pop() {
                    if who % 4 == 0 {
                        server.handle_relay_bound(request, Err(BindError("full".into())), now);
                    } else {
                        port = port.wrapping_add(1);
                        let relay = SocketAddr::from(([198, 51, 100, 1], port));
                        relays.push(relay);
                        server.handle_relay_bound(request, Ok(relay), now);
                    }
                }
            }
            5 => {
                now += Duration::from_secs(u64::from(who) * 8);
                server.handle_timeout(now);
            }
            6 => server.handle_client_closed(client(who), now),
            _ => server.handle_client(client(who), body, now, 0),
        }
        while let Some(out) = server.poll_output() {
            match out {
                Output::BindRelay { request, .. } => requests.push(request),
                Output::ToPeer { relay, peer, .. } => {
                    assert!(
                        server.has_permission(relay, peer.ip(), now),
                        "unpermitted ToPeer"
                    );
                }
                Output::ToClient { data, .. } => assert!(!data.is_empty()),
                Output::ReleaseRelay { .. } => {}
                Output::ToLocal { to, .. } => assert_eq!(to, sfu, "in-process only to the SFU"),
            }
        }
        assert!(server.allocation_count() <= max);
        let _ = server.poll_timeout();
        if tail.is_empty() {
            break;
        }
        rest = tail;
    }
});
