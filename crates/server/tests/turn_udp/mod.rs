//! A blocking UDP TURN client for the server's scenario tests (run it inside
//! `spawn_blocking`): Allocate with long-term credentials, Refresh, CreatePermission,
//! Send and Data indications. Requests are built by the TURN crate's test client.
#![allow(dead_code)]

#[path = "../../../turn/tests/common/mod.rs"]
mod turn_client;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use stun_types::attribute::AttributeWrite;
use turn_client::{request, Auth, Reply};
use turn_types::attribute::{Data, Lifetime, RequestedTransport, XorPeerAddress};
use turn_types::message::{ALLOCATE, CREATE_PERMISSION, DATA, REFRESH, SEND};

/// TURN REST credentials for `user` from `secret`, valid ten minutes from now.
pub fn rest_credentials(secret: &str, user: &str) -> (String, String) {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    confab_turn::rest_credentials(secret.as_bytes(), user, unix, Duration::from_secs(600))
}

/// One UDP TURN client with its allocation.
pub struct Client {
    sock: UdpSocket,
    auth: Auth,
    /// The relayed address (the server's address until allocated).
    pub relayed: SocketAddr,
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

    /// Challenge, then Allocate with `username`/`password`: the client, or the error code
    /// of the refusal.
    pub fn try_allocate(
        server: SocketAddr,
        username: &str,
        password: &str,
        tid: u128,
    ) -> Result<Client, u16> {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.connect(server).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut client = Client {
            sock,
            auth: Auth::new(username, password),
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
        if !reply.is_success() {
            return Err(reply.code());
        }
        client.relayed = reply.relayed();
        Ok(client)
    }

    /// Challenge, then Allocate with TURN REST credentials for `user` from `secret`.
    pub fn allocate(server: SocketAddr, secret: &str, user: &str, tid: u128) -> Client {
        let (username, password) = rest_credentials(secret, user);
        Client::try_allocate(server, &username, &password, tid)
            .unwrap_or_else(|code| panic!("Allocate: {code}"))
    }

    fn next_tid(&mut self) -> u128 {
        self.tid += 1;
        self.tid
    }

    /// Refresh for ten minutes; the response code (0 for success).
    pub fn refresh(&mut self) -> u16 {
        let tid = self.next_tid();
        let lifetime = Lifetime::new(600);
        let msg = request(REFRESH, tid, &[&lifetime], Some(&self.auth));
        self.transact(&msg, tid).code()
    }

    /// CreatePermission for `peer`; the response code (0 for success).
    pub fn permit(&mut self, peer: SocketAddr) -> u16 {
        let tid = self.next_tid();
        let attr = XorPeerAddress::new(peer, tid.into());
        let msg = request(CREATE_PERMISSION, tid, &[&attr], Some(&self.auth));
        self.transact(&msg, tid).code()
    }

    /// A Send indication of `payload` to `peer`.
    pub fn send(&mut self, peer: SocketAddr, payload: &[u8]) {
        let tid = self.next_tid();
        let attrs: [&dyn AttributeWrite; 2] =
            [&XorPeerAddress::new(peer, tid.into()), &Data::new(payload)];
        self.sock
            .send(&turn_client::indication(SEND, tid, &attrs))
            .unwrap();
    }

    /// The client's own address (where it sends to the server from).
    pub fn local_addr(&self) -> SocketAddr {
        self.sock.local_addr().unwrap()
    }

    /// A Data indication that has arrived, if any, without waiting: (peer, payload).
    pub fn poll_data(&self) -> Option<(SocketAddr, Vec<u8>)> {
        let mut buf = vec![0u8; 2048];
        self.sock.set_nonblocking(true).unwrap();
        let mut got = None;
        while let Ok(n) = self.sock.recv(&mut buf) {
            let reply = Reply(buf[..n].to_vec());
            if reply.msg().method() == DATA {
                got = Some((reply.peer(), reply.data()));
                break;
            }
        }
        self.sock.set_nonblocking(false).unwrap();
        got
    }

    /// The next Data indication within 2 s: (peer, payload).
    pub fn recv_data(&self) -> Option<(SocketAddr, Vec<u8>)> {
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
