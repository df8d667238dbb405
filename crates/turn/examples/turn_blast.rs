//! A TURN load generator cheap enough to saturate a TURN server on the same machine,
//! which coturn's `turnutils_uclient` (one message per client per millisecond at most)
//! cannot. Used by `bench/turn_bench.py --mmsg-ab`; not a test.
//!
//! It makes `--allocations` UDP allocations with TURN REST credentials, binds a channel
//! from each to one peer socket, then for `--seconds` sends ChannelData frames of
//! `--size` bytes at `--rate` frames/s in total (0 = as fast as it can), while a second
//! thread counts what reaches the peer. It prints one line of `key=value` figures:
//! `sent`, `received`, `loss_pct`, `seconds`, and `allocs_per_s` (the allocations, each
//! a 401 challenge, an authenticated Allocate and a ChannelBind, made one after another).
//!
//!     cargo run --release -p confab-turn --example turn_blast -- \
//!         --server 127.0.0.1:3478 --secret S --rate 100000 --seconds 5

#[path = "../tests/common/mod.rs"]
mod common;

use common::{request, Auth, Reply};
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use stun_types::message::MessageClass;
use turn_types::attribute::{ChannelNumber, RequestedTransport, XorPeerAddress};
use turn_types::message::{ALLOCATE, CHANNEL_BIND};

struct Args {
    server: SocketAddr,
    secret: String,
    allocations: usize,
    rate: u64,
    seconds: f64,
    size: usize,
}

fn parse_args() -> Args {
    let mut a = Args {
        server: "127.0.0.1:3478".parse().unwrap(),
        secret: String::new(),
        allocations: 8,
        rate: 0,
        seconds: 5.0,
        size: 120,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--server" => a.server = v.parse().expect("--server host:port"),
            "--secret" => a.secret = v,
            "--allocations" => a.allocations = v.parse().expect("--allocations N"),
            "--rate" => a.rate = v.parse().expect("--rate frames/s"),
            "--seconds" => a.seconds = v.parse().expect("--seconds S"),
            "--size" => a.size = v.parse().expect("--size bytes"),
            _ => panic!("unknown flag {flag}"),
        }
    }
    assert!(
        a.seconds > 0.0 && a.seconds <= 60.0,
        "--seconds must be in (0, 60]"
    );
    assert!(
        (1..=1000).contains(&a.allocations),
        "--allocations must be 1..=1000"
    );
    a
}

/// Sends `msg` and waits (up to 2 s, retransmitting) for the reply with its
/// transaction id.
fn transact(sock: &UdpSocket, msg: &[u8], tid: u128) -> Reply {
    let mut buf = vec![0u8; 2048];
    for _ in 0..8 {
        sock.send(msg).expect("send to the TURN server");
        let until = Instant::now() + Duration::from_millis(250);
        while Instant::now() < until {
            if let Ok(n) = sock.recv(&mut buf) {
                let reply = Reply(buf[..n].to_vec());
                if stun_types::message::Message::from_bytes(&reply.0).is_ok() && reply.tid() == tid
                {
                    return reply;
                }
            }
        }
    }
    panic!("no reply from the TURN server");
}

/// One allocation with a channel (0x4000) bound to `peer`; returns the client socket.
/// A 437 (the kernel handed us a port whose 5-tuple still has an allocation from an
/// earlier client) is retried from a fresh port.
fn allocate(args: &Args, i: usize, peer: SocketAddr) -> UdpSocket {
    for _ in 0..10 {
        match try_allocate(args, i, peer) {
            Ok(sock) => return sock,
            Err(437) => continue,
            Err(code) => panic!("allocate failed: error {code}"),
        }
    }
    panic!("allocate failed: error 437 ten times");
}

fn try_allocate(args: &Args, i: usize, peer: SocketAddr) -> Result<UdpSocket, u16> {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    sock.connect(args.server).unwrap();
    let unix = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (user, pass) = confab_turn::rest_credentials(
        args.secret.as_bytes(),
        &format!("blast{i}"),
        unix,
        Duration::from_secs(3600),
    );
    let mut auth = Auth::new(&user, &pass);
    let udp = RequestedTransport::new(RequestedTransport::UDP);
    let tid = 1 + i as u128 * 10;
    let first = transact(&sock, &request(ALLOCATE, tid, &[&udp], None), tid);
    if first.code() != 401 {
        return Err(first.code());
    }
    auth.realm = first.realm().expect("realm");
    auth.nonce = first.nonce().expect("nonce");
    let tid = tid + 1;
    let ok = transact(&sock, &request(ALLOCATE, tid, &[&udp], Some(&auth)), tid);
    if !ok.is_success() {
        return Err(ok.code());
    }
    let tid = tid + 1;
    let bind = transact(
        &sock,
        &request(
            CHANNEL_BIND,
            tid,
            &[
                &ChannelNumber::new(0x4000),
                &XorPeerAddress::new(peer, tid.into()),
            ],
            Some(&auth),
        ),
        tid,
    );
    assert_eq!(bind.class(), MessageClass::Success, "channel bind failed");
    sock.set_nonblocking(true).unwrap();
    Ok(sock)
}

fn main() {
    let args = parse_args();
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    let _ = peer.set_read_timeout(Some(Duration::from_millis(100)));
    let peer_addr = peer.local_addr().unwrap();
    let t_alloc = Instant::now();
    let clients: Vec<UdpSocket> = (0..args.allocations)
        .map(|i| allocate(&args, i, peer_addr))
        .collect();
    let allocs_per_s = args.allocations as f64 / t_alloc.elapsed().as_secs_f64();

    let received = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let counter = {
        let (received, done) = (received.clone(), done.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 2048];
            while !done.load(Ordering::Relaxed) {
                if peer.recv(&mut buf).is_ok() {
                    received.fetch_add(1, Ordering::Relaxed);
                }
            }
        })
    };

    // ChannelData: channel 0x4000, length, payload (already a multiple of 4 for UDP).
    let mut frame = vec![0u8; 4 + args.size];
    frame[..2].copy_from_slice(&0x4000u16.to_be_bytes());
    frame[2..4].copy_from_slice(&(args.size as u16).to_be_bytes());

    let start = Instant::now();
    let end = start + Duration::from_secs_f64(args.seconds);
    let mut sent: u64 = 0;
    let mut k = 0usize;
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        if args.rate > 0 {
            // Open loop: send what the schedule says is due by now, in small bursts.
            let due = (now - start).as_secs_f64() * args.rate as f64;
            if (sent as f64) >= due {
                std::thread::sleep(Duration::from_micros(200));
                continue;
            }
        }
        for _ in 0..16 {
            if clients[k].send(&frame).is_ok() {
                sent += 1;
            }
            k = (k + 1) % clients.len();
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    // Let the last frames drain through the server before counting.
    std::thread::sleep(Duration::from_millis(500));
    done.store(true, Ordering::Relaxed);
    counter.join().unwrap();
    let got = received.load(Ordering::Relaxed);
    let loss = if sent > 0 {
        100.0 * (sent.saturating_sub(got)) as f64 / sent as f64
    } else {
        100.0
    };
    println!(
        "sent={sent} received={got} loss_pct={loss:.3} seconds={seconds:.3} \
         allocs_per_s={allocs_per_s:.1}"
    );
}
