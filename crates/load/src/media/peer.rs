//! A headless WebRTC peer: one str0m [`Rtc`] in RTP mode on its own UDP socket (bound
//! to a loopback address), driven by one tokio task. A publisher sends the synthetic
//! VP8 and Opus of [`MediaSpec`] once connected; every peer counts what it receives per
//! RTP stream ([`SeqTracker`]). Signaling adapters talk to the task through
//! [`PeerHandle`] (offer, answer, accept an offer); counters are shared atomics, read
//! at any time with [`PeerStats::snapshot`]. Remote candidates out of reach of the
//! bound address are dropped before str0m sees them ([`guard`]).

use super::guard;
use super::stats::PeerStats;
use super::synth::{self, MediaSpec};
use super::track::SeqTracker;
use anyhow::{anyhow, bail, Context};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::config::{CryptoProvider, DtlsCert};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite, Ssrc};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Socket receive buffer asked for (the kernel caps it at net.core.rmem_max unless the
/// process may force it): a peer starved of CPU for a moment should not lose packets
/// the server delivered.
const RECV_BUFFER: usize = 2 << 20;

/// What a peer is.
#[derive(Clone)]
pub struct PeerConfig {
    /// For logs and errors.
    pub name: String,
    /// Sends audio and video (send-only m-lines in its offer); else its own offer has
    /// one receive-only audio m-line, and it receives what the server offers.
    pub publish: bool,
    /// The synthetic streams it sends when publishing.
    pub media: MediaSpec,
    /// The address its socket binds (port 0) and offers as its one host candidate.
    pub bind: IpAddr,
    /// The crypto backend and a DTLS certificate shared by the run's peers.
    pub crypto: Arc<CryptoProvider>,
    pub cert: DtlsCert,
}

enum Cmd {
    CreateOffer(oneshot::Sender<anyhow::Result<String>>),
    AcceptAnswer(String, oneshot::Sender<anyhow::Result<()>>),
    AcceptOffer(String, oneshot::Sender<anyhow::Result<String>>),
}

/// A running peer: its task lives until the run's stop token is cancelled.
#[derive(Clone)]
pub struct PeerHandle {
    tx: mpsc::Sender<Cmd>,
    /// Its counters.
    pub stats: Arc<PeerStats>,
    /// Its name.
    pub name: String,
    /// Whether it publishes.
    pub publish: bool,
}

impl PeerHandle {
    /// Binds the peer's socket and starts its task (on the current runtime).
    pub fn spawn(config: PeerConfig, stop: CancellationToken) -> anyhow::Result<PeerHandle> {
        let socket = bind(config.bind).with_context(|| format!("bind {}", config.bind))?;
        let local = socket.local_addr()?;
        let now = Instant::now();
        let mut rtc = Rtc::builder()
            .set_rtp_mode(true)
            .set_crypto_provider(config.crypto.clone())
            .set_dtls_cert(config.cert.clone())
            .clear_codecs()
            .enable_vp8(true)
            .enable_opus(true, false)
            .build(now);
        rtc.add_local_candidate(Candidate::host(local, "udp")?);
        let (tx, rx) = mpsc::channel(8);
        let stats = Arc::new(PeerStats::default());
        let handle = PeerHandle {
            tx,
            stats: stats.clone(),
            name: config.name.clone(),
            publish: config.publish,
        };
        let driver = Driver {
            rtc,
            socket,
            local,
            stats,
            pending: None,
            sending: Vec::new(),
            tracks: HashMap::new(),
            due: now,
            next_video: None,
            next_audio: None,
            next_key: now,
            frames: 0,
            audio_packets: 0,
            force_key: true,
            config,
        };
        tokio::spawn(driver.run(rx, stop));
        Ok(handle)
    }

    async fn ask<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<anyhow::Result<T>>) -> Cmd,
    ) -> anyhow::Result<T> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(make(reply))
            .await
            .map_err(|_| anyhow!("peer {} stopped", self.name))?;
        rx.await
            .map_err(|_| anyhow!("peer {} stopped", self.name))?
    }

    /// Our offer: send-only audio and video when publishing, else one receive-only
    /// audio m-line.
    pub async fn create_offer(&self) -> anyhow::Result<String> {
        self.ask(Cmd::CreateOffer).await
    }

    /// The remote answer to our pending offer.
    pub async fn accept_answer(&self, sdp: String) -> anyhow::Result<()> {
        self.ask(|r| Cmd::AcceptAnswer(sdp, r)).await
    }

    /// Answers a remote offer. Refused while an offer of ours is pending (glare: the
    /// confab SFU drops its crossing offer and makes it again after our answer).
    pub async fn accept_offer(&self, sdp: String) -> anyhow::Result<String> {
        self.ask(|r| Cmd::AcceptOffer(sdp, r)).await
    }
}

/// A UDP socket on `ip` (port 0) with a big receive buffer, non-blocking.
fn bind(ip: IpAddr) -> std::io::Result<UdpSocket> {
    let std_socket = std::net::UdpSocket::bind(SocketAddr::new(ip, 0))?;
    raise_recv_buffer(&std_socket);
    std_socket.set_nonblocking(true)?;
    UdpSocket::from_std(std_socket)
}

fn raise_recv_buffer(socket: &std::net::UdpSocket) {
    use std::os::fd::AsRawFd;
    let size = RECV_BUFFER as libc::c_int;
    for opt in [libc::SO_RCVBUFFORCE, libc::SO_RCVBUF] {
        // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from a live local.
        let r = unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if r == 0 {
            return;
        }
    }
}

/// One received stream.
struct Track {
    kind: MediaKind,
    seq: SeqTracker,
    stamps: SeqTracker,
}

/// One outgoing stream, once negotiated.
struct Sending {
    kind: MediaKind,
    ssrc: Ssrc,
    pt: Pt,
    seq: u64,
    time_base: u32,
}

struct Driver {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    config: PeerConfig,
    stats: Arc<PeerStats>,
    pending: Option<SdpPendingOffer>,
    /// Mids we publish on (with their kind), and their streams once negotiated.
    sending: Vec<(Mid, MediaKind, Option<Sending>)>,
    /// Received streams: kind, RTP sequence numbers and payload stamps.
    tracks: HashMap<Ssrc, Track>,
    /// str0m's next deadline.
    due: Instant,
    next_video: Option<Instant>,
    next_audio: Option<Instant>,
    next_key: Instant,
    frames: u64,
    audio_packets: u64,
    force_key: bool,
}

impl Driver {
    async fn run(mut self, mut rx: mpsc::Receiver<Cmd>, stop: CancellationToken) {
        let mut buf = vec![0u8; 2048];
        loop {
            let wake = [Some(self.due), self.next_video, self.next_audio]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(self.due);
            tokio::select! {
                biased;
                _ = stop.cancelled() => break,
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.command(cmd),
                    None => break,
                },
                r = self.socket.readable() => {
                    if r.is_err() {
                        break;
                    }
                    self.read(&mut buf);
                }
                _ = tokio::time::sleep_until(wake.into()) => {
                    let now = Instant::now();
                    if self.due <= now {
                        self.input(Input::Timeout(now));
                    }
                    self.send_media(now);
                }
            }
        }
        self.rtc.disconnect();
    }

    fn command(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::CreateOffer(reply) => {
                let r = self.create_offer();
                self.drain();
                let _ = reply.send(r);
            }
            Cmd::AcceptAnswer(sdp, reply) => {
                let r = self.accept_answer(&sdp);
                self.drain();
                let _ = reply.send(r);
            }
            Cmd::AcceptOffer(sdp, reply) => {
                let r = self.accept_offer(&sdp);
                self.drain();
                let _ = reply.send(r);
            }
        }
    }

    fn create_offer(&mut self) -> anyhow::Result<String> {
        if self.pending.is_some() {
            bail!("an offer is already pending");
        }
        let mut change = self.rtc.sdp_api();
        let mut mids = Vec::new();
        if self.config.publish && self.sending.is_empty() {
            for kind in [MediaKind::Audio, MediaKind::Video] {
                mids.push((
                    change.add_media(kind, Direction::SendOnly, None, None, None),
                    kind,
                ));
            }
        } else {
            // What a browser with nothing to send offers (web/js/media/sfu.js): one
            // receive-only audio m-line, and no data channel (whose SCTP would cost the
            // SFU time a browser does not make it spend).
            change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
        }
        let (offer, pending) = change.apply().context("nothing to offer")?;
        self.sending
            .extend(mids.into_iter().map(|(mid, kind)| (mid, kind, None)));
        self.pending = Some(pending);
        Ok(offer.to_sdp_string())
    }

    fn accept_answer(&mut self, sdp: &str) -> anyhow::Result<()> {
        let pending = self.pending.take().context("an answer without an offer")?;
        let sdp = guard::keep_candidates(sdp, self.config.bind);
        let answer = SdpAnswer::from_sdp_string(&sdp).context("bad answer SDP")?;
        self.rtc.sdp_api().accept_answer(pending, answer)?;
        Ok(())
    }

    fn accept_offer(&mut self, sdp: &str) -> anyhow::Result<String> {
        if self.pending.is_some() {
            bail!("glare: our own offer is pending");
        }
        let sdp = guard::keep_candidates(sdp, self.config.bind);
        let offer = SdpOffer::from_sdp_string(&sdp).context("bad offer SDP")?;
        let answer = self.rtc.sdp_api().accept_offer(offer)?;
        Ok(answer.to_sdp_string())
    }

    fn read(&mut self, buf: &mut [u8]) {
        loop {
            let (n, source) = match self.socket.try_recv_from(buf) {
                Ok(r) => r,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    PeerStats::add(&self.stats.errors, 1);
                    return;
                }
            };
            let now = Instant::now();
            let Ok(contents) = buf[..n].try_into() else {
                continue;
            };
            let input = Input::Receive(
                now,
                Receive {
                    proto: Protocol::Udp,
                    source,
                    destination: self.local,
                    contents,
                },
            );
            self.input(input);
        }
    }

    fn input(&mut self, input: Input<'_>) {
        if !self.rtc.is_alive() {
            return;
        }
        if self.rtc.handle_input(input).is_err() {
            PeerStats::add(&self.stats.errors, 1);
        }
        self.drain();
    }

    /// Performs every output str0m has, up to its next deadline.
    fn drain(&mut self) {
        while self.rtc.is_alive() {
            let out = match self.rtc.poll_output() {
                Ok(o) => o,
                Err(_) => {
                    PeerStats::add(&self.stats.errors, 1);
                    return;
                }
            };
            match out {
                Output::Timeout(t) => {
                    self.due = t;
                    return;
                }
                Output::Transmit(t) => {
                    if self.socket.try_send_to(&t.contents, t.destination).is_err() {
                        PeerStats::add(&self.stats.send_drops, 1);
                    }
                }
                Output::Event(e) => self.event(e),
            }
        }
    }

    fn event(&mut self, e: Event) {
        match e {
            Event::Connected => {
                self.stats.set_connected();
                let now = Instant::now();
                if self.config.publish {
                    self.next_video = Some(now);
                    self.next_audio = Some(now);
                }
            }
            Event::RtpPacket(p) => self.received(p),
            Event::KeyframeRequest(_) => {
                self.force_key = true;
                PeerStats::add(&self.stats.keyframe_requests, 1);
            }
            _ => {}
        }
    }

    fn received(&mut self, p: RtpPacket) {
        let ssrc = p.header.ssrc;
        if !self.tracks.contains_key(&ssrc) {
            let kind = self.kind_of(ssrc, p.header.payload_type);
            let counter = match kind {
                MediaKind::Video => &self.stats.rx_video_tracks,
                MediaKind::Audio => &self.stats.rx_audio_tracks,
            };
            PeerStats::add(counter, 1);
            let track = Track {
                kind,
                seq: SeqTracker::default(),
                stamps: SeqTracker::default(),
            };
            self.tracks.insert(ssrc, track);
        }
        let Some(t) = self.tracks.get_mut(&ssrc) else {
            return;
        };
        let expected = t.seq.expected;
        if t.seq.observe(*p.seq_no) {
            PeerStats::add(&self.stats.rx_packets, 1);
            PeerStats::add(&self.stats.rx_bytes, p.payload.len() as u64);
            if t.kind == MediaKind::Video && p.header.marker {
                PeerStats::add(&self.stats.rx_video_frames, 1);
            }
        }
        PeerStats::add(&self.stats.rx_expected, t.seq.expected - expected);
        if let Some(n) = synth::stamp_of(&p.payload) {
            let expected = t.stamps.expected;
            if t.stamps.observe(n) {
                PeerStats::add(&self.stats.rx_stamped, 1);
            }
            PeerStats::add(
                &self.stats.rx_stamped_expected,
                t.stamps.expected - expected,
            );
        }
    }

    /// The kind of a received stream: its m-line's, else its payload type's codec.
    fn kind_of(&mut self, ssrc: Ssrc, pt: Pt) -> MediaKind {
        let mid = self.rtc.direct_api().stream_rx(&ssrc).map(|s| s.mid());
        if let Some(kind) = mid.and_then(|m| self.rtc.media(m)).map(|m| m.kind()) {
            return kind;
        }
        let codec = self
            .rtc
            .codec_config()
            .params()
            .iter()
            .find(|p| p.pt() == pt)
            .map(|p| p.spec().codec);
        match codec {
            Some(Codec::Opus) => MediaKind::Audio,
            _ => MediaKind::Video,
        }
    }

    /// Writes the video frame and audio packet that are due.
    fn send_media(&mut self, now: Instant) {
        if !self.rtc.is_alive() {
            return;
        }
        self.negotiated_streams();
        let spec = self.config.media.clone();
        if self.next_video.is_some_and(|t| t <= now) {
            let key = self.force_key || now >= self.next_key;
            if key {
                self.force_key = false;
                self.next_key = now + spec.keyframe_every;
            }
            let payloads = spec.video_frame(self.frames, key);
            let time = (self.frames * 90_000 / u64::from(spec.fps.max(1))) as u32;
            if self.write(MediaKind::Video, now, time, payloads) {
                PeerStats::add(&self.stats.tx_video_frames, 1);
            }
            self.frames += 1;
            self.next_video = self
                .next_video
                .map(|t| next_tick(t, spec.frame_every(), now));
        }
        if self.next_audio.is_some_and(|t| t <= now) {
            let samples = (48_000.0 * spec.audio_every.as_secs_f64()) as u64;
            let time = (self.audio_packets * samples) as u32;
            let payload = spec.audio_packet(self.audio_packets);
            self.write(MediaKind::Audio, now, time, vec![payload]);
            self.audio_packets += 1;
            self.next_audio = self.next_audio.map(|t| next_tick(t, spec.audio_every, now));
        }
        self.drain();
    }

    /// Finds the send streams and payload types of our m-lines once negotiated.
    fn negotiated_streams(&mut self) {
        for i in 0..self.sending.len() {
            let (mid, kind, None) = self.sending[i] else {
                continue;
            };
            let Some(ssrc) = self
                .rtc
                .direct_api()
                .stream_tx_by_mid(mid, None)
                .map(|s| s.ssrc())
            else {
                continue;
            };
            let Some(pt) = self.payload_type(mid, kind) else {
                continue;
            };
            // Starting points that differ per stream; the sequence number stays far
            // from 65,535 so the first packets need no rollover counter signalled.
            let seed = *ssrc;
            self.sending[i].2 = Some(Sending {
                kind,
                ssrc,
                pt,
                seq: 1 + u64::from(seed % 20_000),
                time_base: seed.wrapping_mul(2_654_435_761),
            });
        }
    }

    /// The negotiated payload type of `mid` for VP8 (video) or Opus (audio).
    fn payload_type(&self, mid: Mid, kind: MediaKind) -> Option<Pt> {
        let want = match kind {
            MediaKind::Video => Codec::Vp8,
            MediaKind::Audio => Codec::Opus,
        };
        let media = self.rtc.media(mid)?;
        let params = self.rtc.codec_config().params();
        let ok = |pt: &Pt| {
            params
                .iter()
                .any(|p| p.pt() == *pt && p.spec().codec == want)
        };
        media.remote_pts().iter().copied().find(ok).or_else(|| {
            params
                .iter()
                .find(|p| p.spec().codec == want)
                .map(|p| p.pt())
        })
    }

    /// Writes one frame's packets on the stream of `kind`; false if there is none yet.
    fn write(&mut self, kind: MediaKind, now: Instant, time: u32, payloads: Vec<Vec<u8>>) -> bool {
        let Some(s) = self
            .sending
            .iter_mut()
            .find_map(|(_, k, s)| s.as_mut().filter(|_| *k == kind))
        else {
            return false;
        };
        let count = payloads.len();
        let mut api = self.rtc.direct_api();
        let Some(stream) = api.stream_tx(&s.ssrc) else {
            return false;
        };
        for (i, payload) in payloads.into_iter().enumerate() {
            let mut ext = ExtensionValues::default();
            if s.kind == MediaKind::Audio {
                // A steady talker (-20 dBov), so a speaker-aware SFU forwards it.
                ext.audio_level = Some(-20);
                ext.voice_activity = Some(true);
            }
            let write = RtpWrite::new(
                s.pt,
                s.seq.into(),
                s.time_base.wrapping_add(time),
                now,
                payload,
            )
            .marker(s.kind == MediaKind::Video && i + 1 == count)
            .nackable(s.kind == MediaKind::Video)
            .ext_vals(ext);
            stream.write_rtp(write);
            s.seq += 1;
        }
        PeerStats::add(&self.stats.tx_packets, count as u64);
        true
    }
}

/// The tick after `prev`, skipping ticks already missed by more than one period (a
/// starved peer does not burst to catch up).
fn next_tick(prev: Instant, every: Duration, now: Instant) -> Instant {
    let next = prev + every;
    if next + every < now {
        now + every
    } else {
        next
    }
}
