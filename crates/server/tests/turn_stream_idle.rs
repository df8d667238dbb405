//! TURN TCP connections that hold no allocation are closed (issue 12 item 5): one that
//! never allocates after a few seconds, one whose allocation was deleted at the next
//! check; one with a live allocation stays. `/metrics` counts the closes.

mod common;
#[path = "../../turn/tests/common/mod.rs"]
mod turn_client;

use common::{TestServer, TURN_SECRET};
use confab_turn::rest_credentials;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use turn_client::{request, Auth, Reply};
use turn_types::attribute::{Lifetime, RequestedTransport};
use turn_types::message::{ALLOCATE, REFRESH};

/// Reads one STUN message (20-byte header, then its length) from `s`.
fn read_msg(s: &mut TcpStream) -> Reply {
    let mut head = [0u8; 20];
    s.read_exact(&mut head).expect("a STUN response");
    let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
    let mut msg = head.to_vec();
    msg.resize(20 + len, 0);
    s.read_exact(&mut msg[20..]).expect("its body");
    Reply(msg)
}

/// Waits (at most 12 s) until the server closes `s`; how long that took from `t0`.
fn time_to_close(s: &mut TcpStream, t0: Instant) -> Duration {
    s.set_read_timeout(Some(Duration::from_secs(12))).unwrap();
    let mut b = [0u8; 512];
    loop {
        match s.read(&mut b) {
            Ok(0) => return t0.elapsed(),
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return t0.elapsed(),
            Err(e) => panic!("not closed after {:?}: {e}", t0.elapsed()),
        }
    }
}

/// Whether `s` is still open: nothing to read within 200 ms, and no EOF.
fn still_open(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut b = [0u8; 1];
    matches!(s.read(&mut b), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock
        || e.kind() == std::io::ErrorKind::TimedOut)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_connection_without_an_allocation_is_closed() {
    let s = TestServer::start_turn(|_| {}).await;
    let addr = s.turn_addr.unwrap();
    let took = tokio::task::spawn_blocking(move || {
        let mut c = TcpStream::connect(addr).unwrap();
        time_to_close(&mut c, Instant::now())
    })
    .await
    .unwrap();
    assert!(took >= Duration::from_secs(4), "{took:?}");
    assert!(took < Duration::from_secs(9), "{took:?}");
    let (_, _, metrics) = s.get("/metrics").await;
    assert!(
        metrics.contains("confab_turn_stream_timeouts_total 1"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tcp_connection_whose_allocation_is_deleted_is_closed() {
    let s = TestServer::start_turn(|_| {}).await;
    let addr = s.turn_addr.unwrap();
    tokio::task::spawn_blocking(move || {
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let (user, pass) = rest_credentials(
            TURN_SECRET.as_bytes(),
            "tcp",
            unix,
            Duration::from_secs(600),
        );
        let mut auth = Auth::new(&user, &pass);
        let transport = RequestedTransport::new(RequestedTransport::UDP);
        c.write_all(&request(ALLOCATE, 1, &[&transport], None))
            .unwrap();
        let challenge = read_msg(&mut c);
        assert_eq!(challenge.code(), 401);
        auth.nonce = challenge.nonce().unwrap();
        auth.realm = challenge.realm().unwrap();
        c.write_all(&request(ALLOCATE, 2, &[&transport], Some(&auth)))
            .unwrap();
        let reply = read_msg(&mut c);
        assert!(reply.is_success(), "Allocate: {}", reply.code());
        // Past the grace and one more check: a live allocation keeps it open.
        std::thread::sleep(Duration::from_secs(6));
        assert!(still_open(&mut c), "a connection with an allocation stays");
        // Delete the allocation (a Refresh to lifetime 0): closed at the next check.
        c.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let zero = Lifetime::new(0);
        c.write_all(&request(REFRESH, 3, &[&zero], Some(&auth)))
            .unwrap();
        assert!(read_msg(&mut c).is_success());
        let took = time_to_close(&mut c, Instant::now());
        assert!(took < Duration::from_secs(7), "{took:?}");
    })
    .await
    .unwrap();
}
