//! Writes the seed corpus of the `turn` fuzz target (fuzz/seeds/turn). Ignored by default:
//! `TURN_SEED_DIR=../../fuzz/seeds/turn cargo test -p confab-turn --test fuzz_seeds -- --ignored`.
//!
//! The fuzz target runs `Server::new(.., seed 1)` and feeds its first input at its `t0`, so
//! a nonce issued here at `t0` for the same 5-tuple is valid there too: the seeds carry
//! real, signed Allocate/CreatePermission/ChannelBind requests and reach the relay paths.
mod common;

use common::{make_channel_data, request, Auth};
use confab_turn::{ClientKey, Output, Server, Transport};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use turn_types::attribute::{ChannelNumber, Data, Lifetime, RequestedTransport, XorPeerAddress};
use turn_types::message::{ALLOCATE, CHANNEL_BIND, CREATE_PERMISSION, REFRESH, SEND};

#[path = "support/fuzz_config.rs"]
mod fuzz_config;
use fuzz_config::fuzz_config;

fn client0() -> ClientKey {
    ClientKey {
        transport: Transport::Udp,
        client: SocketAddr::from(([203, 0, 113, 5], 40_000)),
        local: SocketAddr::from(([198, 51, 100, 1], 3478)),
    }
}

fn nonce_at_t0() -> String {
    let mut server = Server::new(fuzz_config(), 1);
    let t = RequestedTransport::new(17);
    server.handle_client(
        client0(),
        &request(ALLOCATE, 1, &[&t], None),
        Instant::now(),
        0,
    );
    let Some(Output::ToClient { data, .. }) = server.poll_output() else {
        panic!()
    };
    common::Reply(data).nonce().unwrap()
}

fn record(out: &mut Vec<u8>, action: u8, who: u8, body: &[u8]) {
    assert!(
        !body.windows(4).any(|w| w == b"TURN"),
        "separator inside a record"
    );
    if !out.is_empty() {
        out.extend_from_slice(b"TURN");
    }
    out.push(action);
    out.push(who);
    out.extend_from_slice(body);
}

fn session(auth: &Auth) -> Vec<u8> {
    let peer0 = SocketAddr::from(([8, 8, 4, 0], 7000));
    let peer1 = SocketAddr::from(([8, 8, 4, 1], 7000));
    let t = RequestedTransport::new(17);
    let mut s = Vec::new();
    record(&mut s, 0, 0, &request(ALLOCATE, 1, &[&t], None));
    record(&mut s, 0, 0, &request(ALLOCATE, 2, &[&t], Some(auth)));
    record(&mut s, 4, 1, &[]);
    record(
        &mut s,
        0,
        0,
        &request(
            CREATE_PERMISSION,
            3,
            &[&XorPeerAddress::new(peer0, 3.into())],
            Some(auth),
        ),
    );
    let channel = ChannelNumber::new(0x4000);
    record(
        &mut s,
        0,
        0,
        &request(
            CHANNEL_BIND,
            4,
            &[&channel, &XorPeerAddress::new(peer1, 4.into())],
            Some(auth),
        ),
    );
    let data = Data::new(b"hello peer");
    record(
        &mut s,
        0,
        0,
        &common::indication(SEND, 5, &[&XorPeerAddress::new(peer0, 5.into()), &data]),
    );
    record(
        &mut s,
        0,
        0,
        &make_channel_data(0x4000, b"over the channel"),
    );
    record(&mut s, 3, 1, b"from peer one");
    record(&mut s, 3, 0, b"from peer zero");
    record(
        &mut s,
        0,
        0,
        &request(REFRESH, 6, &[&Lifetime::new(1200)], Some(auth)),
    );
    record(&mut s, 5, 40, &[]);
    record(
        &mut s,
        0,
        0,
        &request(REFRESH, 7, &[&Lifetime::new(0)], Some(auth)),
    );
    s
}

#[test]
#[ignore]
fn write_fuzz_seeds() {
    let dir = std::path::PathBuf::from(std::env::var("TURN_SEED_DIR").expect("set TURN_SEED_DIR"));
    std::fs::create_dir_all(&dir).unwrap();
    let nonce = nonce_at_t0();
    let ada = Auth {
        nonce: nonce.clone(),
        ..Auth::new("ada", "lovelace")
    };
    std::fs::write(dir.join("md5_session"), session(&ada)).unwrap();

    let (user, pass) = confab_turn::rest_credentials(
        b"secret",
        "grace",
        1_700_000_000,
        Duration::from_secs(86_400 * 365 * 50),
    );
    let grace = Auth {
        nonce,
        ..Auth::new(&user, &pass)
    }
    .sha256();
    std::fs::write(dir.join("sha256_rest_session"), session(&grace)).unwrap();

    let mut misc = Vec::new();
    record(
        &mut misc,
        0,
        0,
        &request(stun_types::message::BINDING, 9, &[], None),
    );
    record(
        &mut misc,
        1,
        1,
        &request(stun_types::message::BINDING, 10, &[], None),
    );
    record(&mut misc, 7, 2, &[0xFF, 0x00, 0x12]);
    record(&mut misc, 0, 0, &[0x40, 0x00, 0x00, 0x08, 1, 2, 3]);
    record(&mut misc, 6, 1, &[]);
    record(&mut misc, 5, 200, &[]);
    std::fs::write(dir.join("binding_and_garbage"), misc).unwrap();

    // The same session, but the driver fails the bind and the client closes.
    let t = RequestedTransport::new(17);
    let mut failed = Vec::new();
    record(&mut failed, 0, 0, &request(ALLOCATE, 2, &[&t], Some(&ada)));
    record(&mut failed, 4, 0, &[]);
    record(&mut failed, 0, 0, &request(ALLOCATE, 3, &[&t], Some(&ada)));
    record(&mut failed, 6, 0, &[]);
    record(&mut failed, 4, 1, &[]);
    std::fs::write(dir.join("failed_bind"), failed).unwrap();
}

/// The seeds' nonce really is valid for a fresh seed-1 server, so they reach the relay.
#[test]
fn seed_nonce_is_valid_in_the_fuzz_setup() {
    let ada = Auth {
        nonce: nonce_at_t0(),
        ..Auth::new("ada", "lovelace")
    };
    let mut server = Server::new(fuzz_config(), 1);
    let t = RequestedTransport::new(17);
    let now = Instant::now();
    server.handle_client(client0(), &request(ALLOCATE, 2, &[&t], Some(&ada)), now, 0);
    assert!(matches!(
        server.poll_output(),
        Some(Output::BindRelay { .. })
    ));
}
