//! An IP camera over RTSP, for real on loopback: GStreamer's RTSP server
//! (`tests/rtsp/server.py`, Debian's gir1.2-gst-rtsp-server-1.0) serves H.264 with a 4 s
//! group of pictures and G.711 audio behind a password; confab pulls it as a
//! `[[camera]]` into a room, where it shows as a member and broadcasts; a browser that
//! watches is offered its tracks (H.264, PCMU) under its peer id. A WHEP player
//! (a str0m peer over UDP) gets its first H.264 frame, a keyframe, within a second
//! although the camera's next keyframe may be 4 s away (the SFU's cache of the last
//! group); the figure is printed. The camera server killed, the camera leaves the room;
//! started again, the camera comes back, and frames flow again to the player that
//! stayed (one of `/whep/yard/participant/Yard%20cam`) and to a new one (of the room's
//! stage).
//!
//! A camera sending H.265 is refused with a logged sentence naming it and the codec,
//! and never joins its room; the camera's password is never logged.
//!
//! Skipped with a loud note when GStreamer's RTSP server is not installed, unless
//! CONFAB_REQUIRE_INTEROP=1 (the test script sets it), where that is a failure.

mod common;

use common::process::free_port;
use common::rtc::receive;
use common::rtsp::{cameras, have_gstreamer, kill, rtsp_server, rtsp_server_of};
use common::{join_token, TestServer};
use confab_server::auth::token::Role;
use serde_json::json;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind};
use str0m::{Candidate, Event, Input, Output, Rtc};

const KEY: &str = "camera-token-key-0123456789abcdef-0123";

/// What a player saw.
#[derive(Default)]
struct Seen {
    connected: bool,
    /// When the first video frame came, and whether it was a keyframe.
    first_video: Option<(Instant, bool)>,
    video: usize,
    audio: usize,
    codecs: Vec<Codec>,
    /// The first video frames: size, keyframe, contiguous, RTP time.
    log: Vec<(usize, bool, bool, u64)>,
}

/// A WHEP player: a str0m peer on a loopback socket, pumped by a thread of its own.
struct Player {
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Player {
    /// POSTs an offer to receive audio and video to `path` (a WHEP URL) and plays the
    /// answer.
    async fn start(s: &TestServer, path: &str, token: &str) -> Player {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_nonblocking(true).unwrap();
        let addr = socket.local_addr().unwrap();
        let now = Instant::now();
        let mut rtc = Rtc::builder()
            .enable_pcmu(true, false)
            .enable_pcma(true, false)
            .build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        let mut change = rtc.sdp_api();
        change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
        change.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        let (offer, pending) = change.apply().unwrap();
        let bearer = format!("Bearer {token}");
        let headers = [
            ("Content-Type", "application/sdp"),
            ("Authorization", bearer.as_str()),
        ];
        let (status, _, body) = s
            .request("POST", path, &headers, &offer.to_sdp_string())
            .await;
        assert_eq!(status, 201, "{body}");
        let answer = str0m::change::SdpAnswer::from_sdp_string(&body).unwrap();
        rtc.sdp_api().accept_answer(pending, answer).unwrap();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (s2, stop2) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || pump(rtc, socket, addr, &s2, &stop2));
        Player {
            seen,
            stop,
            thread: Some(thread),
        }
    }

    fn seen<T>(&self, f: impl FnOnce(&Seen) -> T) -> T {
        f(&self.seen.lock().unwrap())
    }

    /// Waits until `done` holds of what it saw (at most `limit`).
    async fn until(&self, limit: Duration, what: &str, done: impl Fn(&Seen) -> bool) {
        let deadline = Instant::now() + limit;
        while !self.seen(&done) {
            if Instant::now() >= deadline {
                let (v, a, c) = self.seen(|s| (s.video, s.audio, s.codecs.clone()));
                panic!("timed out waiting for {what}: {v} video, {a} audio frames, {c:?}");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs a player's peer until `stop`: datagrams in, timers, datagrams out, frames seen.
fn pump(mut rtc: Rtc, socket: UdpSocket, addr: SocketAddr, seen: &Mutex<Seen>, stop: &AtomicBool) {
    let mut buf = vec![0u8; 2000];
    while !stop.load(Ordering::Relaxed) && rtc.is_alive() {
        let now = Instant::now();
        while let Ok((n, source)) = socket.recv_from(&mut buf) {
            let _ = receive(&mut rtc, now, (source, addr), &buf[..n]);
        }
        let _ = rtc.handle_input(Input::Timeout(now));
        loop {
            match rtc.poll_output() {
                Ok(Output::Timeout(_)) | Err(_) => break,
                Ok(Output::Transmit(t)) => {
                    let _ = socket.send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(Event::Connected)) => seen.lock().unwrap().connected = true,
                Ok(Output::Event(Event::MediaData(d))) => {
                    let mut s = seen.lock().unwrap();
                    let codec = d.params.spec().codec;
                    if !s.codecs.contains(&codec) {
                        s.codecs.push(codec);
                    }
                    if codec == Codec::H264 {
                        s.first_video
                            .get_or_insert((Instant::now(), d.is_keyframe()));
                        s.video += 1;
                        if s.log.len() < 8 {
                            s.log.push((
                                d.data.len(),
                                d.is_keyframe(),
                                d.contiguous,
                                d.time.numer(),
                            ));
                        }
                    } else {
                        s.audio += 1;
                    }
                }
                Ok(Output::Event(_)) => {}
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rtsp_camera_broadcasts_h264_into_its_room_and_comes_back_after_a_restart() {
    if !have_gstreamer() {
        return;
    }
    let port = free_port();
    let camera = rtsp_server(port).await;
    let s = TestServer::start_with(|c| {
        c.auth.token_key = Some(KEY.into());
        c.cameras = cameras(port);
    })
    .await;
    let (mut watcher, _) = s.joined("yard", "Watcher").await;

    // The camera shows up as a member of the room, a host, and starts the broadcast.
    let joined = watcher.next_of("peerJoined", Duration::from_secs(15)).await;
    assert_eq!(joined["peer"]["name"], "Yard cam", "{joined}");
    assert_eq!(joined["peer"]["role"], "host", "{joined}");
    let cam = joined["peer"]["id"].as_str().unwrap().to_owned();
    // ... in a call of its own, which it makes a broadcast (in either order).
    let (mut broadcast, mut call) = (false, None);
    while !broadcast || call.is_none() {
        let m = tokio::time::timeout(Duration::from_secs(5), watcher.recv())
            .await
            .expect("the camera's broadcast and call");
        match m["type"].as_str() {
            Some("broadcast") => broadcast = m["on"] == true,
            Some("presence") => {
                let state = &m["state"];
                if m["peerId"] == cam.as_str() && state["status"] == "inCall" {
                    call = Some(state["call"].clone());
                }
            }
            _ => {}
        }
    }

    // A browser watching gets the camera's tracks under the camera's peer id (what a
    // page puts them on the camera's tile by).
    let call = call.unwrap();
    watcher
        .send(json!({"type": "joinCall", "call": call}))
        .await;
    watcher.next_of("callJoined", Duration::from_secs(5)).await;
    let mut rtc = Rtc::new(Instant::now());
    let mut change = rtc.sdp_api();
    change.add_channel("signal".into());
    let (offer, _) = change.apply().unwrap();
    watcher
        .send(json!({"type": "sfuOffer", "sdp": offer.to_sdp_string()}))
        .await;
    let tracks = watcher.next_of("sfuOffer", Duration::from_secs(5)).await;
    let sdp = tracks["sdp"].as_str().unwrap();
    assert!(sdp.contains(&format!("a=msid:{cam} ")), "{sdp}");
    assert!(
        sdp.contains("H264/90000") && sdp.contains("PCMU/8000"),
        "{sdp}"
    );

    // A viewer comes in the middle of a 4 s group of pictures.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let token = join_token(KEY, "yard", "Viewer", Role::Guest);
    let asked = Instant::now();
    // It plays the camera by name (the room's stage would give the same picture here,
    // but the name also holds through the restart below).
    let player = Player::start(&s, "/whep/yard/participant/Yard%20cam", &token).await;
    player
        .until(Duration::from_secs(5), "the first video frame", |s| {
            s.first_video.is_some()
        })
        .await;
    let (at, key) = player.seen(|s| s.first_video.unwrap());
    let first = at.duration_since(asked);
    println!(
        "camera first frame: {} ms after the WHEP POST (keyframe: {key})",
        first.as_millis()
    );
    assert!(key, "the first frame is a keyframe");
    assert!(
        first < Duration::from_secs(1),
        "first frame after {first:?}"
    );
    player
        .until(Duration::from_secs(5), "video and audio flowing", |s| {
            s.video > 60 && s.audio > 100
        })
        .await;
    let codecs = player.seen(|s| s.codecs.clone());
    assert!(
        codecs.contains(&Codec::H264) && codecs.contains(&Codec::PCMU),
        "{codecs:?}"
    );

    // The camera goes away: it leaves the room (offline).
    kill(camera).await;
    let left = watcher.next_of("peerLeft", Duration::from_secs(10)).await;
    assert_eq!(left["peerId"], cam.as_str(), "{left}");
    let before = player.seen(|s| s.video);

    // It comes back: in the room again, and a player gets its picture.
    let camera = rtsp_server(port).await;
    let back = watcher.next_of("peerJoined", Duration::from_secs(15)).await;
    assert_eq!(back["peer"]["name"], "Yard cam", "{back}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let asked = Instant::now();
    let player2 = Player::start(&s, "/whep/yard", &token).await;
    player2
        .until(Duration::from_secs(6), "video after the restart", |s| {
            s.video > 30
        })
        .await;
    let (at, key) = player2.seen(|s| s.first_video.unwrap());
    println!(
        "after the camera's restart: first frame {} ms after the WHEP POST (keyframe: {key})",
        at.duration_since(asked).as_millis()
    );
    assert!(key, "{:?}", player2.seen(|s| s.log.clone()));
    drop(player2);
    // The player of the camera's name that stayed through it plays the camera again
    // (its m-lines take the returning camera's tracks).
    player
        .until(
            Duration::from_secs(3),
            "the first player's picture again",
            |s| s.video > before + 30,
        )
        .await;
    drop(player);
    kill(camera).await;
}

/// Log lines, collected in memory.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Log {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Log {
    type Writer = Log;
    fn make_writer(&'a self) -> Log {
        self.clone()
    }
}

impl Log {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn a_camera_sending_h265_is_refused_in_words_and_stays_out_of_its_room() {
    if !have_gstreamer() {
        return;
    }
    let log = Log::default();
    let filter = tracing_subscriber::EnvFilter::new("info");
    confab_server::logging::init(filter, false, log.clone()).unwrap();
    let port = free_port();
    let camera = rtsp_server_of(port, "h265").await;
    let s = TestServer::start_with(|c| {
        c.auth.token_key = Some(KEY.into());
        c.cameras = cameras(port);
    })
    .await;
    let (mut watcher, _) = s.joined("yard", "Watcher").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let text = log.text();
        if let Some(line) = text.lines().find(|l| l.contains("camera refused")) {
            break line.to_owned();
        }
        assert!(Instant::now() < deadline, "no refusal logged:\n{text}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    println!("{refused}");
    assert!(refused.contains("Yard cam"), "{refused}");
    assert!(
        refused.contains("H.265") && refused.contains("only H.264"),
        "{refused}"
    );
    watcher.expect_silence(1_500).await;
    let text = log.text();
    assert!(!text.contains("s3cret"), "the password was logged:\n{text}");
    assert!(
        text.contains("rtsp://viewer:<redacted>@127.0.0.1"),
        "{text}"
    );
    kill(camera).await;
}
