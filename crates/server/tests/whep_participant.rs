//! WHEP playback of one participant over real HTTP and UDP: two WHIP encoders (str0m
//! peers on loopback) broadcast into a room, each marking its audio with a byte of its
//! own; a player of `POST /whep/<room>/participant/<name>` (percent-encoded) gets the
//! named one's audio and never the other's, also while the named one is away (where a
//! player of the room's stage moves on to the other); the named one back as a new
//! encoder, the same player gets it again. Nobody of that name: `404` in words; the
//! token rules are the room URL's.

mod common;

use common::rtc::receive;
use common::TestServer;
use confab_server::auth::token::Role;
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, MediaTime, Mid};
use str0m::{Candidate, Event, Input, Output, Rtc};

const KEY: &str = "whep-one-token-key-0123456789abcdef-01";

/// Audio frames received, by their first byte (the marker of the encoder that sent it).
type Seen = Arc<Mutex<HashMap<u8, usize>>>;

/// A str0m peer on a loopback socket, pumped by a thread of its own: an encoder sending
/// audio frames filled with its marker byte, or a player of audio and video.
struct Peer {
    seen: Seen,
    /// Its session URL (`Location`).
    location: String,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Peer {
    /// An encoder publishing with `/whip/{room}`, its audio marked `marker`.
    async fn encoder(s: &TestServer, room: &str, name: &str, marker: u8) -> Peer {
        let token = common::join_token(KEY, room, name, Role::Host);
        let path = format!("/whip/{room}");
        Peer::start(s, &path, &token, Some(marker)).await.unwrap()
    }

    /// A player of `path` (a `/whep/...` URL) with a viewer token for `name`.
    async fn player(s: &TestServer, path: &str, room: &str, name: &str) -> Peer {
        let token = common::join_token(KEY, room, name, Role::Viewer);
        Peer::start(s, path, &token, None).await.unwrap()
    }

    /// POSTs an offer to `path` (to send audio marked `marker`, or, without one, to
    /// receive audio and video) and runs the answer; a refusal gives its status and body.
    async fn start(
        s: &TestServer,
        path: &str,
        token: &str,
        marker: Option<u8>,
    ) -> Result<Peer, (u16, String)> {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let addr = socket.local_addr().unwrap();
        let mut rtc = Rtc::new(Instant::now());
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        let mut change = rtc.sdp_api();
        let sending = match marker {
            Some(m) => {
                let mid = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
                Some((mid, m))
            }
            None => {
                change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
                change.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
                None
            }
        };
        let (offer, pending) = change.apply().unwrap();
        let (status, head, body) = post(s, path, Some(token), &offer.to_sdp_string()).await;
        if status != 201 {
            return Err((status, body));
        }
        let location = header(&head, "location").unwrap().to_owned();
        let answer = str0m::change::SdpAnswer::from_sdp_string(&body).unwrap();
        rtc.sdp_api().accept_answer(pending, answer).unwrap();
        let seen = Seen::default();
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            pump(rtc, (socket, addr), sending, &seen2, &stop2);
        });
        Ok(Peer {
            seen,
            location,
            stop,
            thread: Some(thread),
        })
    }

    /// Frames received with `marker`.
    fn got(&self, marker: u8) -> usize {
        self.seen.lock().unwrap().get(&marker).copied().unwrap_or(0)
    }

    /// Waits until more than `n` frames marked `marker` came (at most 5 s).
    async fn until_more(&self, marker: u8, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.got(marker) <= n {
            let seen = self.seen.lock().unwrap().clone();
            assert!(
                Instant::now() < deadline,
                "waited for {marker:#x}: {seen:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs a peer until `stop`: datagrams in, timers, an audio frame out every 20 ms once
/// connected (an encoder), datagrams out, frames received counted by marker.
fn pump(
    mut rtc: Rtc,
    (socket, addr): (UdpSocket, SocketAddr),
    sending: Option<(Mid, u8)>,
    seen: &Mutex<HashMap<u8, usize>>,
    stop: &AtomicBool,
) {
    let mut buf = vec![0u8; 2000];
    let start = Instant::now();
    let (mut connected, mut next_write) = (false, start);
    while !stop.load(Ordering::Relaxed) && rtc.is_alive() {
        let now = Instant::now();
        while let Ok((n, source)) = socket.recv_from(&mut buf) {
            let _ = receive(&mut rtc, now, (source, addr), &buf[..n]);
        }
        let _ = rtc.handle_input(Input::Timeout(now));
        if let (true, Some((mid, marker))) = (connected, sending) {
            if next_write <= now {
                next_write = now + Duration::from_millis(20);
                if let Some(writer) = rtc.writer(mid) {
                    let pt = writer
                        .payload_params()
                        .find(|p| p.spec().codec == Codec::Opus)
                        .map(|p| p.pt());
                    if let Some(pt) = pt {
                        let ms = now.duration_since(start).as_millis() as u64;
                        let time = MediaTime::from_millis(ms);
                        let _ = writer.write(pt, now, time, vec![marker; 60]);
                    }
                }
            }
        }
        loop {
            match rtc.poll_output() {
                Ok(Output::Timeout(_)) | Err(_) => break,
                Ok(Output::Transmit(t)) => {
                    let _ = socket.send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(Event::Connected)) => connected = true,
                Ok(Output::Event(Event::MediaData(d))) => {
                    if let Some(&marker) = d.data.first() {
                        *seen.lock().unwrap().entry(marker).or_default() += 1;
                    }
                }
                Ok(Output::Event(_)) => {}
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// `POST path` of `sdp` as `application/sdp`, with `token` as the Bearer token.
async fn post(s: &TestServer, path: &str, token: Option<&str>, sdp: &str) -> (u16, String, String) {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/sdp")];
    if let Some(b) = &bearer {
        headers.push(("Authorization", b.as_str()));
    }
    s.request("POST", path, &headers, sdp).await
}

/// A player's offer that is never run (for the refusals).
fn offer() -> String {
    let mut rtc = Rtc::new(Instant::now());
    rtc.add_local_candidate(Candidate::host("127.0.0.1:5004".parse().unwrap(), "udp").unwrap());
    let mut change = rtc.sdp_api();
    change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
    let (offer, _) = change.apply().unwrap();
    offer.to_sdp_string()
}

const ALICE: u8 = 0xA1;
const BOB: u8 = 0xB0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_player_of_one_participant_plays_only_them_and_again_when_they_return() {
    let s = TestServer::start_with(|c| c.auth.token_key = Some(KEY.into())).await;
    let bob_url = "/whep/stage/participant/Bob%20Smith";

    // Before the broadcast: refused as the room URL is.
    let viewer = common::join_token(KEY, "stage", "Screen", Role::Viewer);
    let (status, _, body) = post(&s, bob_url, Some(&viewer), &offer()).await;
    assert_eq!(status, 409, "{body}");

    let alice = Peer::encoder(&s, "stage", "Alice", ALICE).await;
    let bob = Peer::encoder(&s, "stage", "Bob Smith", BOB).await;

    // The token rules of the room URL.
    let (status, head, body) = post(&s, bob_url, None, &offer()).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(header(&head, "www-authenticate"), Some("Bearer"));
    let other_room = common::join_token(KEY, "elsewhere", "Screen", Role::Viewer);
    let (status, _, body) = post(&s, bob_url, Some(&other_room), &offer()).await;
    assert_eq!(status, 401, "{body}");
    // Nobody of that name: 404, in words naming them.
    let path = "/whep/stage/participant/Carol";
    let (status, _, body) = post(&s, path, Some(&viewer), &offer()).await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("nobody named \"Carol\""), "{body}");
    let (status, head, _) = s.request("OPTIONS", bob_url, &[], "").await;
    assert_eq!(status, 204);
    assert_eq!(header(&head, "accept-post"), Some("application/sdp"));

    // Bob's player gets Bob (the second encoder); the stage's player gets Alice.
    let player = Peer::player(&s, bob_url, "stage", "Bob screen").await;
    let (prefix, id) = player.location.rsplit_once('/').unwrap();
    assert_eq!(prefix, "/whep/stage", "a session URL like any player's");
    assert_eq!(id.len(), 32, "{}", player.location);
    let stage = Peer::player(&s, "/whep/stage", "stage", "Stage screen").await;
    player.until_more(BOB, 50).await;
    stage.until_more(ALICE, 50).await;
    assert_eq!(player.got(ALICE), 0, "Alice reached Bob's player");

    // Bob goes: his player gets nothing while Alice goes on (the stage's player keeps
    // Alice's).
    let (status, _, body) = s.request("DELETE", &bob.location, &[], "").await;
    assert_eq!(status, 200, "{body}");
    drop(bob);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = player.got(BOB);
    let alice_then = stage.got(ALICE);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(player.got(BOB), before, "Bob is gone");
    assert_eq!(player.got(ALICE), 0, "Alice took Bob's place");
    assert!(stage.got(ALICE) > alice_then + 30, "Alice goes on");

    // Bob comes back (a new session, as a camera after a reconnect): the same player
    // gets him again.
    let bob = Peer::encoder(&s, "stage", "Bob Smith", BOB).await;
    player.until_more(BOB, before + 50).await;
    assert_eq!(player.got(ALICE), 0);

    let (status, _, _) = s.request("DELETE", &player.location, &[], "").await;
    assert_eq!(status, 200);
    drop((player, stage, bob, alice));
}
