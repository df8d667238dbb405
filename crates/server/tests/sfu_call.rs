//! An SFU call through a running server, with str0m peers standing in for browsers over
//! real UDP on loopback: signaling over the WebSocket (`sfuOffer`/`sfuAnswer`), media
//! through the SFU's one port, each member's audio reaching the other under the
//! member's peer id, and hanging up freeing the endpoint.

mod common;

use common::*;
use confab_server::config::MediaArg;
use serde_json::json;
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

/// A str0m peer on a loopback UDP socket.
struct Peer {
    rtc: Rtc,
    socket: UdpSocket,
    addr: SocketAddr,
    pending: Option<SdpPendingOffer>,
    sending: Option<Mid>,
    connected: bool,
    /// Audio frames received, by the stream id they came under.
    frames: HashMap<String, usize>,
    next_write: Instant,
    start: Instant,
}

impl Peer {
    fn new() -> Peer {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let addr = socket.local_addr().unwrap();
        let now = Instant::now();
        let mut rtc = Rtc::new(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        Peer {
            rtc,
            socket,
            addr,
            pending: None,
            sending: None,
            connected: false,
            frames: HashMap::new(),
            next_write: now,
            start: now,
        }
    }

    /// Our first offer: one audio track to send.
    fn offer(&mut self) -> String {
        let mut change = self.rtc.sdp_api();
        let mid = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let (offer, pending) = change.apply().unwrap();
        self.pending = Some(pending);
        self.sending = Some(mid);
        offer.to_sdp_string()
    }

    fn accept_answer(&mut self, sdp: &str) {
        let answer = SdpAnswer::from_sdp_string(sdp).unwrap();
        let pending = self.pending.take().expect("an offer of ours");
        self.rtc.sdp_api().accept_answer(pending, answer).unwrap();
    }

    fn accept_offer(&mut self, sdp: &str) -> String {
        let offer = SdpOffer::from_sdp_string(sdp).unwrap();
        let answer = self.rtc.sdp_api().accept_offer(offer).unwrap();
        answer.to_sdp_string()
    }

    /// Runs the peer for a moment: reads what arrived, writes an audio frame every
    /// 20 ms once connected, sends what str0m produces.
    fn pump(&mut self) {
        let mut buf = vec![0u8; 2000];
        let now = Instant::now();
        while let Ok((n, source)) = self.socket.recv_from(&mut buf) {
            let Ok(contents) = buf[..n].try_into() else {
                continue;
            };
            let input = Input::Receive(
                now,
                Receive {
                    proto: Protocol::Udp,
                    source,
                    destination: self.addr,
                    contents,
                },
            );
            if self.rtc.accepts(&input) {
                self.rtc.handle_input(input).unwrap();
            }
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
                Output::Transmit(t) => {
                    let _ = self.socket.send_to(&t.contents, t.destination);
                }
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

/// Pumps both peers and answers the server's SFU messages until `done` or 15 s pass.
async fn run(
    peers: &mut [(&mut Client, &mut Peer)],
    mut done: impl FnMut(&[(&mut Client, &mut Peer)]) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(15);
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

#[tokio::test]
async fn two_members_hear_each_other_through_the_sfu_and_hanging_up_frees_the_endpoint() {
    let server = TestServer::start_with(|c| c.sfu.media = MediaArg::Sfu).await;
    let (mut ada, ada_id) = server.joined("sfu", "Ada").await;
    let (mut bob, bob_id) = server.joined("sfu", "Bob").await;
    ada.send(json!({"type":"invite","to":bob_id})).await;
    loop {
        if bob.recv().await["type"] == "invited" {
            break;
        }
    }
    bob.send(json!({"type":"accept","call":1})).await;
    loop {
        let m = bob.recv().await;
        if m["type"] == "callJoined" {
            assert_eq!(m["media"], "sfu", "{m}");
            break;
        }
    }
    let (mut pa, mut pb) = (Peer::new(), Peer::new());
    ada.send(json!({"type":"sfuOffer","sdp":pa.offer()})).await;
    bob.send(json!({"type":"sfuOffer","sdp":pb.offer()})).await;
    let (aid, bid) = (ada_id.clone(), bob_id.clone());
    run(&mut [(&mut ada, &mut pa), (&mut bob, &mut pb)], |p| {
        p[0].1.frames.get(&bid).copied().unwrap_or(0) >= 25
            && p[1].1.frames.get(&aid).copied().unwrap_or(0) >= 25
    })
    .await;
    // Each got the other's audio, under the other's peer id, and nothing else.
    assert_eq!(pa.frames.keys().collect::<Vec<_>>(), [&bob_id]);
    assert_eq!(pb.frames.keys().collect::<Vec<_>>(), [&ada_id]);
    let (_, _, metrics) = server.get("/metrics").await;
    assert!(metrics.contains("confab_sfu_endpoints 2"), "{metrics}");

    // Bob hangs up: the call ends, both endpoints go, and signaling for the SFU is refused.
    bob.send(json!({"type":"leaveCall"})).await;
    let sdp = pb.offer();
    bob.send(json!({"type":"sfuOffer","id":9,"sdp":sdp})).await;
    let refused = loop {
        let m = bob.recv().await;
        if m["type"] == "error" {
            break m;
        }
    };
    assert_eq!(refused["code"], "not_sfu_call", "{refused}");
    assert_eq!(refused["ref"], 9);
    let (_, _, metrics) = server.get("/metrics").await;
    assert!(metrics.contains("confab_sfu_endpoints 0"), "{metrics}");
}

/// Sets up a call of Ada and Bob in `room` on the SFU: the members' clients and peers,
/// offers sent.
async fn sfu_call(server: &TestServer, room: &str) -> (Client, Peer, String, Client, Peer, String) {
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
    let (pa, pb) = (Peer::new(), Peer::new());
    (ada, pa, ada_id, bob, pb, bob_id)
}

/// The port of the SFU's candidate in an SDP.
fn candidate_port(sdp: &str) -> u16 {
    let line = sdp
        .lines()
        .find(|l| l.starts_with("a=candidate"))
        .expect("a candidate");
    line.split_whitespace().nth(5).unwrap().parse().unwrap()
}

#[tokio::test]
async fn with_two_shards_two_calls_are_forwarded_by_different_shards_on_their_own_ports() {
    let server = TestServer::start_with(|c| {
        c.sfu.media = MediaArg::Sfu;
        c.sfu.shards = 2;
    })
    .await;
    let (mut a1, mut p1, id1, mut b1, mut q1, jd1) = sfu_call(&server, "one").await;
    let (mut a2, mut p2, id2, mut b2, mut q2, jd2) = sfu_call(&server, "two").await;
    let mut ports = Vec::new();
    for (client, peer) in [(&mut a1, &mut p1), (&mut a2, &mut p2)] {
        client
            .send(json!({"type":"sfuOffer","sdp":peer.offer()}))
            .await;
        let answer = loop {
            let m = client.recv().await;
            if m["type"] == "sfuAnswer" {
                break m["sdp"].as_str().unwrap().to_owned();
            }
        };
        ports.push(candidate_port(&answer));
        peer.accept_answer(&answer);
    }
    assert_ne!(
        ports[0], ports[1],
        "the two calls are on two shards: {ports:?}"
    );
    b1.send(json!({"type":"sfuOffer","sdp":q1.offer()})).await;
    b2.send(json!({"type":"sfuOffer","sdp":q2.offer()})).await;
    run(
        &mut [
            (&mut a1, &mut p1),
            (&mut b1, &mut q1),
            (&mut a2, &mut p2),
            (&mut b2, &mut q2),
        ],
        |p| {
            let got = |i: usize, id: &str| p[i].1.frames.get(id).copied().unwrap_or(0) >= 25;
            got(0, &jd1) && got(1, &id1) && got(2, &jd2) && got(3, &id2)
        },
    )
    .await;
    // Each call's members heard each other, and nobody of the other call.
    assert_eq!(p1.frames.keys().collect::<Vec<_>>(), [&jd1]);
    assert_eq!(q2.frames.keys().collect::<Vec<_>>(), [&id2]);
    // Hanging up frees the endpoints on both shards.
    for c in [&mut a1, &mut b1, &mut a2, &mut b2] {
        c.send(json!({"type":"leaveCall"})).await;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, _, metrics) = server.get("/metrics").await;
        if metrics.contains("confab_sfu_endpoints 0") {
            break;
        }
        assert!(Instant::now() < deadline, "{metrics}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
