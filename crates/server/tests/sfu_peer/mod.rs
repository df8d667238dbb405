//! A str0m peer standing in for a browser in the server's SFU tests, over real UDP on
//! loopback, straight to the SFU or through confab's TURN; and the loop that runs peers
//! and answers the server's SFU signaling for them.
#![allow(dead_code)]

use super::common::rtc::receive;
use super::common::{Client, TestServer, TURN_SECRET};
use super::turn_udp;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, MediaTime, Mid};
use str0m::{Candidate, Event, Input, Output, Rtc};

/// A str0m peer on a loopback UDP socket, or behind a TURN allocation of confab's.
pub struct Peer {
    rtc: Rtc,
    socket: UdpSocket,
    /// Its one candidate's address: the socket's, or the relayed address.
    addr: SocketAddr,
    /// The allocation its datagrams go through, for a relayed peer.
    turn: Option<turn_udp::Client>,
    pending: Option<SdpPendingOffer>,
    sending: Option<Mid>,
    connected: bool,
    /// Audio frames received, by the stream id they came under.
    pub frames: HashMap<String, usize>,
    /// The SFU's candidate ports, from every description it sent.
    pub server_ports: HashSet<u16>,
    next_write: Instant,
    start: Instant,
}

impl Peer {
    /// A peer with a host candidate on a socket of its own.
    pub fn new() -> Peer {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let addr = socket.local_addr().unwrap();
        let candidate = Candidate::host(addr, "udp").unwrap();
        Peer::with(socket, addr, candidate, None)
    }

    /// A relay-only peer: its one candidate an allocation on confab's TURN at `turn`
    /// (credentials from the test server's REST secret), permitted to the SFU at `sfu`.
    /// Blocking (TURN transactions): run it in `spawn_blocking`.
    pub fn relayed(turn: SocketAddr, sfu: SocketAddr) -> Peer {
        let mut client = turn_udp::Client::allocate(turn, TURN_SECRET, "relayed", 1);
        assert_eq!(client.permit(sfu), 0, "a permission for the SFU");
        let addr = client.relayed;
        let candidate = Candidate::relayed(addr, client.local_addr(), "udp").unwrap();
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        Peer::with(socket, addr, candidate, Some(client))
    }

    fn with(
        socket: UdpSocket,
        addr: SocketAddr,
        candidate: Candidate,
        turn: Option<turn_udp::Client>,
    ) -> Peer {
        let now = Instant::now();
        let mut rtc = Rtc::new(now);
        rtc.add_local_candidate(candidate);
        Peer {
            rtc,
            socket,
            addr,
            turn,
            pending: None,
            sending: None,
            connected: false,
            frames: HashMap::new(),
            server_ports: HashSet::new(),
            next_write: now,
            start: now,
        }
    }

    /// The next datagram that arrived, if any: its source and length in `buf`.
    fn recv(&mut self, buf: &mut [u8]) -> Option<(SocketAddr, usize)> {
        match &self.turn {
            Some(turn) => {
                let (source, data) = turn.poll_data()?;
                let n = data.len().min(buf.len());
                buf[..n].copy_from_slice(&data[..n]);
                Some((source, n))
            }
            None => self
                .socket
                .recv_from(buf)
                .ok()
                .map(|(n, source)| (source, n)),
        }
    }

    /// Our first offer: one audio track to send.
    pub fn offer(&mut self) -> String {
        let mut change = self.rtc.sdp_api();
        let mid = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let (offer, pending) = change.apply().unwrap();
        self.pending = Some(pending);
        self.sending = Some(mid);
        offer.to_sdp_string()
    }

    pub fn accept_answer(&mut self, sdp: &str) {
        self.server_ports.insert(candidate_port(sdp));
        let answer = SdpAnswer::from_sdp_string(sdp).unwrap();
        let pending = self.pending.take().expect("an offer of ours");
        self.rtc.sdp_api().accept_answer(pending, answer).unwrap();
    }

    pub fn accept_offer(&mut self, sdp: &str) -> String {
        self.server_ports.insert(candidate_port(sdp));
        let offer = SdpOffer::from_sdp_string(sdp).unwrap();
        let answer = self.rtc.sdp_api().accept_offer(offer).unwrap();
        answer.to_sdp_string()
    }

    /// Runs the peer for a moment: reads what arrived, writes an audio frame every
    /// 20 ms once connected, sends what str0m produces.
    pub fn pump(&mut self) {
        let mut buf = vec![0u8; 2000];
        let now = Instant::now();
        while let Some((source, n)) = self.recv(&mut buf) {
            receive(&mut self.rtc, now, (source, self.addr), &buf[..n]).unwrap();
        }
        self.rtc.handle_input(Input::Timeout(now)).unwrap();
        if let (true, Some(mid)) = (self.connected, self.sending) {
            if self.next_write <= now {
                self.next_write = now + Duration::from_millis(20);
                if let Some(writer) = self.rtc.writer(mid) {
                    let pt = writer
                        .payload_params()
                        .find(|p| p.spec().codec == Codec::Opus)
                        .map(|p| p.pt());
                    if let Some(pt) = pt {
                        let ms = now.duration_since(self.start).as_millis() as u64;
                        let _ = writer.write(pt, now, MediaTime::from_millis(ms), vec![0x10; 80]);
                    }
                }
            }
        }
        loop {
            match self.rtc.poll_output().unwrap() {
                Output::Timeout(_) => break,
                Output::Transmit(t) => match &mut self.turn {
                    Some(turn) => turn.send(t.destination, &t.contents),
                    None => {
                        let _ = self.socket.send_to(&t.contents, t.destination);
                    }
                },
                Output::Event(Event::Connected) => self.connected = true,
                Output::Event(Event::MediaData(d)) => {
                    if let Some(media) = self.rtc.media(d.mid) {
                        *self.frames.entry(media.stream_id().to_owned()).or_default() += 1;
                    }
                }
                Output::Event(_) => {}
            }
        }
    }
}

/// Pumps both peers and answers the server's SFU messages until `done` or 30 s pass.
pub async fn run(
    peers: &mut [(&mut Client, &mut Peer)],
    mut done: impl FnMut(&[(&mut Client, &mut Peer)]) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(peers) {
        assert!(Instant::now() < deadline, "timed out");
        for (client, peer) in peers.iter_mut() {
            peer.pump();
            // Any signaling waiting for this peer (a short wait: most rounds have none).
            while let Ok(msg) = tokio::time::timeout(Duration::from_millis(2), client.recv()).await
            {
                match msg["type"].as_str() {
                    Some("sfuAnswer") => peer.accept_answer(msg["sdp"].as_str().unwrap()),
                    Some("sfuOffer") => {
                        let sdp = peer.accept_offer(msg["sdp"].as_str().unwrap());
                        client.send(json!({"type":"sfuAnswer","sdp":sdp})).await;
                    }
                    Some("error") => panic!("server error: {msg}"),
                    _ => {}
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Each member (its client, peer and peer id) offers to the SFU, and all run until each
/// has 25 frames of its partner's: members 2k and 2k+1 are a call. Returns each member's
/// partner's peer id.
pub async fn hear_partners(members: &mut [(Client, Peer, String)]) -> Vec<String> {
    for (client, peer, _) in members.iter_mut() {
        client
            .send(json!({"type":"sfuOffer","sdp":peer.offer()}))
            .await;
    }
    let ids: Vec<String> = members.iter().map(|m| m.2.clone()).collect();
    let partner = |i: usize| ids[i ^ 1].clone();
    let mut pairs: Vec<(&mut Client, &mut Peer)> =
        members.iter_mut().map(|(c, p, _)| (c, p)).collect();
    run(&mut pairs, |p| {
        (0..p.len()).all(|i| p[i].1.frames.get(&partner(i)).copied().unwrap_or(0) >= 25)
    })
    .await;
    (0..ids.len()).map(partner).collect()
}

/// Sets up a call of Ada and Bob in `room` on the SFU: the members' clients and peer ids.
pub async fn sfu_call(server: &TestServer, room: &str) -> (Client, String, Client, String) {
    let (mut ada, ada_id) = server.joined(room, "Ada").await;
    let (mut bob, bob_id) = server.joined(room, "Bob").await;
    ada.send(json!({"type":"invite","to":bob_id})).await;
    let call = loop {
        let m = bob.recv().await;
        if m["type"] == "invited" {
            break m["call"].clone();
        }
    };
    bob.send(json!({"type":"accept","call":call})).await;
    loop {
        if bob.recv().await["type"] == "callJoined" {
            break;
        }
    }
    (ada, ada_id, bob, bob_id)
}

/// The port of the SFU's candidate in an SDP.
pub fn candidate_port(sdp: &str) -> u16 {
    let line = sdp
        .lines()
        .find(|l| l.starts_with("a=candidate"))
        .expect("a candidate");
    line.split_whitespace().nth(5).unwrap().parse().unwrap()
}
