//! Two relay-only clients of the real server reach each other over loopback (issue 12
//! item 1), with the default peer policy: the server's own address (127.0.0.1 here) is
//! denied, yet each client may name the other's relayed address, and the data crosses
//! inside the process. Every other port of the server's address stays unreachable, and
//! `/metrics` shows the in-process bytes and the refusal (item 2).

mod common;
mod turn_udp;

use common::{TestServer, TURN_SECRET};
use std::net::UdpSocket;
use std::time::Duration;
use turn_udp::Client;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_relay_only_clients_reach_each_other_in_process() {
    // The default policy: loopback (the server's own address here) is not allowed.
    let server = TestServer::start_turn(|t| t.allow_peer.clear()).await;
    let turn = server.turn_addr.unwrap();
    let http = server.addr;
    let metrics_before = server.get("/metrics").await.2;
    assert!(
        metrics_before.contains("confab_turn_relayed_bytes_total{direction=\"in_process\"} 0"),
        "{metrics_before}"
    );
    let check = tokio::task::spawn_blocking(move || {
        let mut a = Client::allocate(turn, TURN_SECRET, "alice", 0x1000);
        let mut b = Client::allocate(turn, TURN_SECRET, "bob", 0x2000);
        assert_eq!(a.relayed.ip(), turn.ip(), "relayed on the server's address");
        // Each names the other's relayed address: granted, though the IP is denied.
        assert_eq!(a.permit(b.relayed), 0, "A -> B's relayed address");
        assert_eq!(b.permit(a.relayed), 0, "B -> A's relayed address");
        a.send(b.relayed, b"hello from A");
        assert_eq!(
            b.recv_data(),
            Some((a.relayed, b"hello from A".to_vec())),
            "B gets A's data from A's relayed address"
        );
        b.send(a.relayed, b"hello from B");
        assert_eq!(a.recv_data(), Some((b.relayed, b"hello from B".to_vec())));

        // A holds a permission for 127.0.0.1 now; still no other port of it is reachable:
        // not a UDP service on the server's address, not the TURN listener itself.
        let service = UdpSocket::bind("127.0.0.1:0").unwrap();
        service
            .set_read_timeout(Some(Duration::from_millis(300)))
            .unwrap();
        let service_addr = service.local_addr().unwrap();
        assert_eq!(a.permit(service_addr), 403);
        a.send(service_addr, b"leak?");
        a.send(turn, b"loop?");
        let mut buf = [0u8; 64];
        assert!(
            service.recv(&mut buf).is_err(),
            "data reached a local service"
        );
        assert_eq!(a.permit(http), 403, "the HTTP port");
    });
    check.await.unwrap();
    let metrics = server.get("/metrics").await.2;
    assert!(
        metrics.contains("confab_turn_relayed_bytes_total{direction=\"in_process\"} 24"),
        "{metrics}"
    );
    assert!(
        metrics.contains("confab_turn_refusals_total{reason=\"forbidden_peer\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("confab_turn_refusals_total{reason=\"challenge\"} 2"),
        "{metrics}"
    );
}
