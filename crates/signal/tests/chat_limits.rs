//! Chat is rate-limited per client address and per room as well as per connection
//! (issue 12, item 11): reconnecting gets a fresh connection bucket, not a fresh budget.

mod common;

use common::{chat, Harness};
use confab_proto::{ClientMsg, ErrorCode, ServerMsg, PROTOCOL_VERSION};
use confab_signal::{ConnId, HubConfig, Output};
use std::time::Duration;

fn harness() -> Harness {
    Harness::with_config(HubConfig {
        chat_burst: 10,
        chat_ip_burst: 15,
        chat_ip_refill: Duration::from_secs(10),
        chat_room_burst: 25,
        chat_room_refill: Duration::from_secs(10),
        ..HubConfig::default()
    })
}

/// A connection from `ip`, helloed and in `room`.
fn joined_from(h: &mut Harness, conn: u64, ip: [u8; 4], room: &str) -> ConnId {
    let c = h.connect_from(conn, ip);
    let hello = ClientMsg::Hello {
        version: PROTOCOL_VERSION,
        resume: None,
    };
    h.frame(c, hello);
    h.join(c, room, "Mallory");
    h.drain();
    c
}

/// How many of `n` chats from `conn` were accepted (the sender's echo).
fn accepted(h: &mut Harness, conn: ConnId, n: usize) -> usize {
    let mut ok = 0;
    for i in 0..n {
        h.frame(conn, chat(&format!("m{i}")));
        let out = h.drain();
        let echoed = out.iter().any(|o| {
            matches!(o, Output::Send { to, msg: ServerMsg::Chat { ref_: None, message } }
                if *to == conn && message.text == format!("m{i}"))
        });
        ok += usize::from(echoed);
    }
    ok
}

#[test]
fn reconnecting_does_not_reset_the_chat_limit_of_an_address() {
    let mut h = harness();
    let c1 = joined_from(&mut h, 1, [203, 0, 113, 7], "r");
    assert_eq!(accepted(&mut h, c1, 12), 10, "the connection's burst");
    h.close(c1);
    let c2 = joined_from(&mut h, 2, [203, 0, 113, 7], "r");
    assert_eq!(
        accepted(&mut h, c2, 10),
        5,
        "what is left of the address's 15"
    );
    let message = h.expect_error(c2, chat("more"), ErrorCode::RateLimited);
    assert!(message.contains("network address"), "{message}");
    // Another address is not held up.
    let other = joined_from(&mut h, 3, [198, 51, 100, 1], "r");
    assert_eq!(accepted(&mut h, other, 3), 3);
}

#[test]
fn many_addresses_together_cannot_flood_one_room() {
    let mut h = harness();
    let conns: Vec<ConnId> = (1..=4)
        .map(|i| joined_from(&mut h, i, [10, 0, 0, i as u8], "r"))
        .collect();
    let total: usize = conns.iter().map(|&c| accepted(&mut h, c, 10)).sum();
    assert_eq!(total, 25, "the room's burst");
    let message = h.expect_error(conns[3], chat("more"), ErrorCode::RateLimited);
    assert!(message.contains("this room"), "{message}");
    // Another room is not held up.
    let elsewhere = joined_from(&mut h, 9, [10, 0, 1, 1], "s");
    assert_eq!(accepted(&mut h, elsewhere, 3), 3);
}
