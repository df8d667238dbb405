//! Two relay-only clients of the real server reach each other over loopback (issue 12
//! item 1), with the default peer policy: the server's own address (127.0.0.1 here) is
//! denied, yet each client may name the other's relayed address, and the data crosses
//! inside the process. Every other port of the server's address stays unreachable, and
//! `/metrics` shows the in-process bytes and the refusal (item 2).

mod common;
#[path = "../../turn/tests/common/mod.rs"]
mod turn_client;

use common::{TestServer, TURN_SECRET};
use confab_turn::rest_credentials;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use stun_types::attribute::AttributeWrite;
use turn_client::{request, Auth, Reply};
use turn_types::attribute::{Data, RequestedTransport, XorPeerAddress};
use turn_types::message::{ALLOCATE, CREATE_PERMISSION, DATA, SEND};

/// One UDP TURN client with its allocation.
struct Client {
    sock: UdpSocket,
    auth: Auth,
    relayed: SocketAddr,
    tid: u128,
}

impl Client {
    /// Sends `msg` (transaction `tid`) and waits for its response (2 s, retransmitting).
    fn transact(&self, msg: &[u8], tid: u128) -> Reply {
        let mut buf = vec![0u8; 2048];
        for _ in 0..8 {
            self.sock.send(msg).unwrap();
            let until = Instant::now() + Duration::from_millis(250);
            while Instant::now() < until {
                if let Ok(n) = self.sock.recv(&mut buf) {
                    let reply = Reply(buf[..n].to_vec());
                    if stun_types::message::Message::from_bytes(&reply.0).is_ok()
                        && reply.tid() == tid
                    {
                        return reply;
                    }
                }
            }
        }
        panic!("no response to transaction {tid:x}");
    }

    /// Challenge, then Allocate with TURN REST credentials for `user`.
    fn allocate(server: SocketAddr, user: &str, tid: u128) -> Client {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.connect(server).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let (username, password) =
            rest_credentials(TURN_SECRET.as_bytes(), user, unix, Duration::from_secs(600));
        let mut client = Client {
            sock,
            auth: Auth::new(&username, &password),
            relayed: server,
            tid,
        };
        let transport = RequestedTransport::new(RequestedTransport::UDP);
        let challenge = client.transact(&request(ALLOCATE, tid, &[&transport], None), tid);
        assert_eq!(challenge.code(), 401);
        client.auth.nonce = challenge.nonce().unwrap();
        client.auth.realm = challenge.realm().unwrap();
        let tid = client.next_tid();
        let msg = request(ALLOCATE, tid, &[&transport], Some(&client.auth));
        let reply = client.transact(&msg, tid);
        assert!(reply.is_success(), "Allocate: {}", reply.code());
        client.relayed = reply.relayed();
        client
    }

    fn next_tid(&mut self) -> u128 {
        self.tid += 1;
        self.tid
    }

    /// CreatePermission for `peer`; the response code (0 for success).
    fn permit(&mut self, peer: SocketAddr) -> u16 {
        let tid = self.next_tid();
        let attr = XorPeerAddress::new(peer, tid.into());
        let msg = request(CREATE_PERMISSION, tid, &[&attr], Some(&self.auth));
        self.transact(&msg, tid).code()
    }

    fn send(&mut self, peer: SocketAddr, payload: &[u8]) {
        let tid = self.next_tid();
        let attrs: [&dyn AttributeWrite; 2] =
            [&XorPeerAddress::new(peer, tid.into()), &Data::new(payload)];
        self.sock
            .send(&turn_client::indication(SEND, tid, &attrs))
            .unwrap();
    }

    /// The next Data indication within 2 s: (peer, payload).
    fn recv_data(&self) -> Option<(SocketAddr, Vec<u8>)> {
        let mut buf = vec![0u8; 2048];
        let until = Instant::now() + Duration::from_secs(2);
        while Instant::now() < until {
            if let Ok(n) = self.sock.recv(&mut buf) {
                let reply = Reply(buf[..n].to_vec());
                if reply.msg().method() == DATA {
                    return Some((reply.peer(), reply.data()));
                }
            }
        }
        None
    }
}

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
        let mut a = Client::allocate(turn, "alice", 0x1000);
        let mut b = Client::allocate(turn, "bob", 0x2000);
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
