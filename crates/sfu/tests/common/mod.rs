//! A tiny in-memory network in simulated time: str0m peers (standing in for browsers)
//! against one [`Sfu`], with the signaling relay done in place.
//!
//! Time only moves in [`World::run_for`]: it jumps to the next deadline (a peer's, the
//! SFU's, a datagram's arrival, a media tick), never by less than a millisecond. Every
//! datagram takes [`LATENCY`]; a peer can be cut off (its datagrams, both ways, lost).
#![allow(dead_code)]

use confab_proto::RoomId;
use confab_sfu::{Datagram, EndpointId, EndpointKind, Input, Output, Sfu, SfuConfig};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{
    Direction, KeyframeRequestKind, MediaKind, MediaTime, Mid, Rid, Simulcast, SimulcastLayer,
};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Output as RtcOutput, Rtc};

/// One-way delay of every datagram.
pub const LATENCY: Duration = Duration::from_millis(5);
/// Where the SFU's one socket lives.
pub const SFU_ADDR: &str = "198.51.100.1:3478";
/// An audio frame every 20 ms, a video frame every 40 ms.
const AUDIO_EVERY: Duration = Duration::from_millis(20);
const VIDEO_EVERY: Duration = Duration::from_millis(40);

pub fn sfu_addr() -> SocketAddr {
    SFU_ADDR.parse().unwrap()
}

pub fn room(name: &str) -> RoomId {
    RoomId::parse(name).unwrap()
}

/// A str0m peer: what a browser would be.
pub struct Peer {
    pub id: EndpointId,
    pub addr: SocketAddr,
    pub rtc: Rtc,
    pub due: Instant,
    pending: Option<SdpPendingOffer>,
    /// Mids it publishes on, with their kind.
    pub sending: Vec<(Mid, MediaKind)>,
    /// Frames received, by the stream id of the forwarded track (the publisher) and kind.
    pub frames: HashMap<(String, MediaKind), usize>,
    /// The audio level (as str0m reads it: 0 down to -127) of the last frame received,
    /// by the stream id of the forwarded track.
    pub levels_in: HashMap<String, i8>,
    /// Frames received, by our mid.
    pub frames_by_mid: HashMap<Mid, usize>,
    /// Mids the SFU added to it (tracks of others), in order.
    pub added: Vec<Mid>,
    /// Keyframe requests that reached it as a publisher.
    pub keyframe_requests: usize,
    pub connected: bool,
    /// The RFC 6464 level its audio frames carry, in -dBov (0 loudest, 127 silence);
    /// `None`: no level at all.
    pub audio_level: Option<u8>,
    next_audio: Instant,
    next_video: Instant,
    /// It publishes its video in three simulcast layers ([`LAYERS`]).
    pub simulcast: bool,
    /// Layers (rid; `None`: all) a keyframe was asked for and not yet sent.
    key_due: Vec<Option<Rid>>,
    /// Keyframe requests that reached it, per layer asked for.
    pub keyframe_requests_by_rid: HashMap<Option<Rid>, usize>,
    /// Of each mid it receives on: the height of the last VP8 keyframe, bytes received,
    /// and the RTP times' largest step forward and whether one ever went back.
    pub height_by_mid: HashMap<Mid, u32>,
    pub bytes_by_mid: HashMap<Mid, usize>,
    pub last_time_by_mid: HashMap<Mid, u64>,
    pub max_step_by_mid: HashMap<Mid, u64>,
    /// Of each mid it receives on: when its first frame arrived, and whether that one
    /// was a keyframe.
    pub first_by_mid: HashMap<Mid, (Instant, bool)>,
    /// Keyframes received, by mid.
    pub keys_by_mid: HashMap<Mid, usize>,
}

/// The simulcast layers a simulcast peer sends: rid, picture height, bytes per frame
/// (at 25 frames a second: about 128 kbit/s, 400 kbit/s and 1.2 Mbit/s).
pub const LAYERS: [(&str, u16, usize); 3] = [("l", 180, 640), ("m", 360, 2000), ("h", 720, 6000)];

/// A VP8 frame of `size` bytes: a keyframe declaring `height` (and a 16:9 width), or an
/// interframe.
pub fn vp8_frame(key: bool, height: u16, size: usize) -> Vec<u8> {
    let mut f = vec![if key { 0x10 } else { 0x11 }, 0, 0, 0x9d, 0x01, 0x2a];
    f.extend((height * 16 / 9).to_le_bytes());
    f.extend(height.to_le_bytes());
    f.resize(size, 0x42);
    f
}

impl Peer {
    /// Stream ids of the tracks the SFU added to it whose m-lines are not stopped, one
    /// per track (a publisher of audio and video appears twice), sorted.
    pub fn live_sources(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .added
            .iter()
            .filter_map(|mid| self.rtc.media(*mid))
            .filter(|m| !m.disabled())
            .map(|m| m.stream_id().to_owned())
            .collect();
        ids.sort();
        ids
    }

    pub fn frames_from(&self, from: EndpointId, kind: MediaKind) -> usize {
        self.frames
            .get(&(format!("peer-{}", from.0), kind))
            .copied()
            .unwrap_or(0)
    }

    /// Mids on which it receives video.
    /// The height of the layer `from`'s video arrives in (from its last keyframe).
    pub fn height_from(&self, from: u64) -> Option<u32> {
        let mid = self.mid_from(from, MediaKind::Video)?;
        self.height_by_mid.get(&mid).copied()
    }

    /// Our mid that carries `from`'s track of `kind`.
    pub fn mid_from(&self, from: u64, kind: MediaKind) -> Option<Mid> {
        let stream = format!("peer-{from}");
        self.added.iter().copied().find(|m| {
            self.rtc
                .media(*m)
                .is_some_and(|m| m.kind() == kind && m.stream_id() == stream && !m.disabled())
        })
    }

    pub fn video_mids(&self) -> Vec<Mid> {
        self.added
            .iter()
            .copied()
            .filter(|m| {
                self.rtc
                    .media(*m)
                    .is_some_and(|m| m.kind() == MediaKind::Video && !m.disabled())
            })
            .collect()
    }
}

/// A datagram on the wire: arrival, order sent, source, destination, bytes.
type InFlight = (Instant, u64, SocketAddr, SocketAddr, Vec<u8>);

/// The SFU, its peers, and the datagrams and signaling between them.
pub struct World {
    pub start: Instant,
    pub now: Instant,
    pub sfu: Sfu,
    pub peers: Vec<Peer>,
    /// Datagrams on the wire, by arrival: (arrival, order sent, source, destination,
    /// bytes).
    wire: BinaryHeap<Reverse<InFlight>>,
    sent: u64,
    /// Links capped to a rate, by destination: bits per second, and when the link is
    /// free again (a token bucket with a 100 ms queue, as `tc tbf ... latency 100ms`).
    caps: HashMap<SocketAddr, (u64, Instant)>,
    /// Datagrams a cap dropped.
    pub capped: u64,
    pub connected: Vec<EndpointId>,
    pub disconnected: Vec<(EndpointId, confab_sfu::DisconnectReason)>,
    pub rejected: Vec<(EndpointId, confab_sfu::SfuError)>,
    /// Every `ActiveSpeakers` the SFU made: when (since the start), the room, the list.
    pub speakers: Vec<(Duration, RoomId, Vec<String>)>,
    /// Offers the SFU made, per endpoint.
    pub offers: HashMap<EndpointId, usize>,
    /// Addresses cut off: their datagrams are lost both ways.
    cut: HashSet<SocketAddr>,
    /// Loss: one datagram in `n` on the wire is dropped, chosen by a fixed-seed
    /// generator (repeatable, and not periodic, which would hit one flow only).
    pub loss_every: Option<u64>,
    rng: u64,
    pub lost: u64,
    /// Endpoints whose SFU offers the relay holds back (to make offers cross).
    hold: HashSet<EndpointId>,
    /// Endpoints that join without the right to publish (`Input::Join`'s `publish`).
    pub viewers: HashSet<EndpointId>,
    /// Endpoints of another kind than a browser.
    pub kinds: HashMap<EndpointId, EndpointKind>,
    /// Endpoints' names (`Input::Join`'s `name`; empty when not set).
    pub names: HashMap<EndpointId, String>,
    /// Players that follow a name (`Input::Join`'s `follow`).
    pub follows: HashMap<EndpointId, String>,
    /// Endpoints that publish their video in simulcast layers ([`LAYERS`]).
    pub simulcasters: HashSet<EndpointId>,
    /// Frames the SFU copied out of recorded rooms.
    pub recorded: Vec<confab_sfu::RecordedFrame>,
    held: Vec<(EndpointId, String)>,
}

impl World {
    pub fn new() -> World {
        World::with_config(SfuConfig::default())
    }

    pub fn with_config(mut config: SfuConfig) -> World {
        config.candidates = vec![sfu_addr()];
        let now = Instant::now();
        World {
            start: now,
            now,
            sfu: Sfu::new(config, [9; 32]),
            peers: Vec::new(),
            wire: BinaryHeap::new(),
            sent: 0,
            caps: HashMap::new(),
            capped: 0,
            connected: Vec::new(),
            disconnected: Vec::new(),
            rejected: Vec::new(),
            speakers: Vec::new(),
            offers: HashMap::new(),
            cut: HashSet::new(),
            hold: HashSet::new(),
            viewers: HashSet::new(),
            kinds: HashMap::new(),
            names: HashMap::new(),
            follows: HashMap::new(),
            simulcasters: HashSet::new(),
            recorded: Vec::new(),
            held: Vec::new(),
            loss_every: None,
            rng: 0x9E37_79B9_7F4A_7C15,
            lost: 0,
        }
    }

    /// A peer at `addr` joins `room`, publishing audio and video if `publish`, else
    /// only opening a data channel (a receive-only browser).
    pub fn join(&mut self, id: u64, addr: &str, room_name: &str, publish: bool) -> usize {
        let kinds: &[MediaKind] = if publish {
            &[MediaKind::Audio, MediaKind::Video]
        } else {
            &[]
        };
        self.join_with(id, addr, room_name, kinds)
    }

    /// A peer joins publishing `kinds` (none: a data channel only).
    pub fn join_with(
        &mut self,
        id: u64,
        addr: &str,
        room_name: &str,
        kinds: &[MediaKind],
    ) -> usize {
        let addr: SocketAddr = addr.parse().unwrap();
        let mut rtc = Rtc::builder().build(self.now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        let mut change = rtc.sdp_api();
        let mut sending = Vec::new();
        let kind_of = self.kinds.get(&EndpointId(id)).copied().unwrap_or_default();
        for kind in kinds {
            // A player offers to receive on its own m-lines, and sends nothing.
            if kind_of == EndpointKind::Player {
                change.add_media(*kind, Direction::RecvOnly, None, None, None);
                continue;
            }
            let simulcast = (*kind == MediaKind::Video
                && self.simulcasters.contains(&EndpointId(id)))
            .then(|| Simulcast {
                send: LAYERS
                    .iter()
                    .map(|(rid, ..)| SimulcastLayer::new(rid))
                    .collect(),
                recv: Vec::new(),
            });
            sending.push((
                change.add_media(*kind, Direction::SendOnly, None, None, simulcast),
                *kind,
            ));
        }
        if kinds.is_empty() {
            change.add_channel("signal".into());
        }
        let (offer, pending) = change.apply().unwrap();
        let peer = Peer {
            id: EndpointId(id),
            addr,
            rtc,
            due: self.now,
            pending: Some(pending),
            sending,
            frames: HashMap::new(),
            frames_by_mid: HashMap::new(),
            levels_in: HashMap::new(),
            added: Vec::new(),
            keyframe_requests: 0,
            connected: false,
            audio_level: None,
            next_audio: self.now,
            next_video: self.now,
            simulcast: false,
            key_due: Vec::new(),
            keyframe_requests_by_rid: HashMap::new(),
            height_by_mid: HashMap::new(),
            bytes_by_mid: HashMap::new(),
            last_time_by_mid: HashMap::new(),
            max_step_by_mid: HashMap::new(),
            first_by_mid: HashMap::new(),
            keys_by_mid: HashMap::new(),
        };
        let mut peer = peer;
        peer.simulcast = self.simulcasters.contains(&EndpointId(id));
        self.peers.push(peer);
        let idx = self.peers.len() - 1;
        self.drain_peer(idx);
        let input = Input::Join {
            endpoint: EndpointId(id),
            room: room(room_name),
            label: format!("peer-{id}"),
            name: self.names.get(&EndpointId(id)).cloned().unwrap_or_default(),
            offer: offer.to_sdp_string(),
            publish: !self.viewers.contains(&EndpointId(id)),
            kind: kind_of,
            follow: self.follows.get(&EndpointId(id)).cloned(),
        };
        self.sfu_handle(input);
        idx
    }

    /// Cuts an address off the network (before or after its peer joins).
    pub fn cut(&mut self, addr: &str) {
        self.cut.insert(addr.parse().unwrap());
    }

    pub fn peer(&self, id: u64) -> &Peer {
        self.peers.iter().find(|p| p.id == EndpointId(id)).unwrap()
    }

    pub fn peer_mut(&mut self, id: u64) -> &mut Peer {
        self.peers
            .iter_mut()
            .find(|p| p.id == EndpointId(id))
            .unwrap()
    }

    /// The peer renegotiates to publish one more track (its own offer, relayed).
    pub fn publish(&mut self, id: u64, kind: MediaKind) {
        let idx = self.index(EndpointId(id)).unwrap();
        let peer = &mut self.peers[idx];
        let mut change = peer.rtc.sdp_api();
        let mid = change.add_media(kind, Direction::SendOnly, None, None, None);
        let (offer, pending) = change.apply().unwrap();
        peer.sending.push((mid, kind));
        peer.pending = Some(pending);
        self.drain_peer(idx);
        self.sfu_handle(Input::Offer {
            endpoint: EndpointId(id),
            sdp: offer.to_sdp_string(),
        });
    }

    /// The peer stops publishing its track of `kind` by its own offer: the m-line
    /// stopped if `stop`, else made inactive (what a browser's `removeTrack` does).
    pub fn unpublish(&mut self, id: u64, kind: MediaKind, stop: bool) {
        let idx = self.index(EndpointId(id)).unwrap();
        let peer = &mut self.peers[idx];
        let pos = peer.sending.iter().position(|(_, k)| *k == kind).unwrap();
        let (mid, _) = peer.sending.remove(pos);
        let mut change = peer.rtc.sdp_api();
        if stop {
            change.stop_media(mid);
        } else {
            change.set_direction(mid, Direction::Inactive);
        }
        let (offer, pending) = change.apply().unwrap();
        peer.pending = Some(pending);
        self.drain_peer(idx);
        self.sfu_handle(Input::Offer {
            endpoint: EndpointId(id),
            sdp: offer.to_sdp_string(),
        });
    }

    /// A syntactically valid answer SDP the SFU never asked for: a fresh str0m peer's
    /// answer to an offer of another fresh peer.
    pub fn sfu_offer_free_answer(&mut self, _id: u64) -> String {
        let mut a = Rtc::builder().build(self.now);
        let mut b = Rtc::builder().build(self.now);
        let mut change = a.sdp_api();
        change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let (offer, _) = change.apply().unwrap();
        b.sdp_api().accept_offer(offer).unwrap().to_sdp_string()
    }

    /// Holds the SFU's offers to `id` in the relay from now on.
    pub fn hold_offers(&mut self, id: u64) {
        self.hold.insert(EndpointId(id));
    }

    /// Stops holding: the SFU offers held for `id` are delivered, except those a later
    /// one supersedes (they crossed an offer of the peer's, and the SFU dropped them).
    /// Returns how many were held.
    pub fn release_offers(&mut self, id: u64) -> usize {
        let id = EndpointId(id);
        self.hold.remove(&id);
        let mine: Vec<String> = self
            .held
            .iter()
            .filter(|(e, _)| *e == id)
            .map(|(_, s)| s.clone())
            .collect();
        self.held.retain(|(e, _)| *e != id);
        if let Some(sdp) = mine.last() {
            let idx = self.index(id).unwrap();
            let offer = SdpOffer::from_sdp_string(sdp).unwrap();
            let answer = self.peers[idx].rtc.sdp_api().accept_offer(offer).unwrap();
            self.drain_peer(idx);
            self.sfu_handle(Input::Answer {
                endpoint: id,
                sdp: answer.to_sdp_string(),
            });
        }
        mine.len()
    }

    /// The peer leaves: the signaling layer tells the SFU, the peer is gone.
    pub fn leave(&mut self, id: u64) {
        self.peers.retain(|p| p.id != EndpointId(id));
        self.sfu_handle(Input::Leave {
            endpoint: EndpointId(id),
        });
    }

    pub fn sfu_handle(&mut self, input: Input<'_>) {
        self.sfu.handle(self.now, input);
        self.drain_sfu();
    }

    fn drain_sfu(&mut self) {
        let mut signaling = VecDeque::new();
        while let Some(out) = self.sfu.poll_output() {
            match out {
                Output::Transmit {
                    source,
                    destination,
                    bytes,
                } => {
                    assert_eq!(source, sfu_addr());
                    if !self.cut.contains(&destination) {
                        self.send(source, destination, bytes);
                    }
                }
                Output::Connected { endpoint } => self.connected.push(endpoint),
                Output::Disconnected { endpoint, reason } => {
                    self.disconnected.push((endpoint, reason))
                }
                Output::Rejected { endpoint, error } => self.rejected.push((endpoint, error)),
                Output::Recorded(frame) => self.recorded.push(*frame),
                Output::ActiveSpeakers { room, speakers } => {
                    let at = self.now.duration_since(self.start);
                    self.speakers.push((at, room, speakers));
                }
                other => signaling.push_back(other),
            }
        }
        // The signaling relay: in order, with no delay.
        for out in signaling {
            match out {
                Output::Answer { endpoint, sdp } => {
                    let Some(idx) = self.index(endpoint) else {
                        continue;
                    };
                    let peer = &mut self.peers[idx];
                    let pending = peer.pending.take().expect("an answer without an offer");
                    let answer = SdpAnswer::from_sdp_string(&sdp).unwrap();
                    peer.rtc.sdp_api().accept_answer(pending, answer).unwrap();
                    self.drain_peer(idx);
                }
                Output::Offer { endpoint, sdp } => {
                    *self.offers.entry(endpoint).or_default() += 1;
                    if self.hold.contains(&endpoint) {
                        self.held.push((endpoint, sdp));
                        continue;
                    }
                    let Some(idx) = self.index(endpoint) else {
                        continue;
                    };
                    let offer = SdpOffer::from_sdp_string(&sdp).unwrap();
                    let answer = self.peers[idx].rtc.sdp_api().accept_offer(offer).unwrap();
                    self.drain_peer(idx);
                    self.sfu_handle(Input::Answer {
                        endpoint,
                        sdp: answer.to_sdp_string(),
                    });
                }
                _ => unreachable!(),
            }
        }
    }

    fn index(&self, id: EndpointId) -> Option<usize> {
        self.peers.iter().position(|p| p.id == id)
    }

    fn drain_peer(&mut self, idx: usize) {
        let now = self.now;
        let peer = &mut self.peers[idx];
        loop {
            match peer.rtc.poll_output().unwrap() {
                RtcOutput::Timeout(t) => {
                    peer.due = t;
                    break;
                }
                RtcOutput::Transmit(t) => {
                    if !self.cut.contains(&t.source) {
                        let at = now + LATENCY;
                        self.sent += 1;
                        let d = (at, self.sent, t.source, t.destination, t.contents.into());
                        self.wire.push(Reverse(d));
                    }
                }
                RtcOutput::Event(e) => match e {
                    Event::Connected => peer.connected = true,
                    Event::MediaData(d) => {
                        let Some(media) = peer.rtc.media(d.mid) else {
                            continue;
                        };
                        let key = (media.stream_id().to_owned(), media.kind());
                        if let Some(level) = d.ext_vals.audio_level {
                            peer.levels_in.insert(key.0.clone(), level);
                        }
                        *peer.frames.entry(key).or_default() += 1;
                        *peer.frames_by_mid.entry(d.mid).or_default() += 1;
                        let first = (now, d.is_keyframe());
                        peer.first_by_mid.entry(d.mid).or_insert(first);
                        if d.is_keyframe() {
                            *peer.keys_by_mid.entry(d.mid).or_default() += 1;
                        }
                        *peer.bytes_by_mid.entry(d.mid).or_default() += d.data.len();
                        if d.is_keyframe() && d.data.len() >= 10 && d.data[3] == 0x9d {
                            let h = u16::from_le_bytes([d.data[8], d.data[9]]);
                            peer.height_by_mid.insert(d.mid, h.into());
                        }
                        let t = d.time.numer();
                        if let Some(last) = peer.last_time_by_mid.insert(d.mid, t) {
                            // A step back shows as a huge step (u64 wraps).
                            let step = t.wrapping_sub(last);
                            let max = peer.max_step_by_mid.entry(d.mid).or_default();
                            *max = (*max).max(step);
                        }
                    }
                    Event::KeyframeRequest(req) => {
                        peer.keyframe_requests += 1;
                        *peer.keyframe_requests_by_rid.entry(req.rid).or_default() += 1;
                        peer.key_due.push(req.rid);
                    }
                    Event::MediaAdded(m) => peer.added.push(m.mid),
                    _ => {}
                },
            }
        }
    }

    /// Publishers write the frames that are due (each write followed by a drain).
    fn write_media(&mut self) {
        let now = self.now;
        let elapsed = now.duration_since(self.start);
        for idx in 0..self.peers.len() {
            if !self.peers[idx].connected {
                continue;
            }
            for (mid, kind) in self.peers[idx].sending.clone() {
                let peer = &mut self.peers[idx];
                let (next, every, codec, size) = match kind {
                    MediaKind::Audio => (&mut peer.next_audio, AUDIO_EVERY, Codec::Opus, 80),
                    _ => (&mut peer.next_video, VIDEO_EVERY, Codec::Vp8, 1000),
                };
                if *next > now {
                    continue;
                }
                *next = now + every;
                let level = peer.audio_level.filter(|_| kind == MediaKind::Audio);
                let Some(writer) = peer.rtc.writer(mid) else {
                    continue;
                };
                let writer = match level {
                    Some(l) => writer.audio_level(-(l.min(127) as i8), l < 127),
                    None => writer,
                };
                let Some(pt) = writer
                    .payload_params()
                    .find(|p| p.spec().codec == codec)
                    .map(|p| p.pt())
                else {
                    continue;
                };
                let time = match kind {
                    MediaKind::Audio => MediaTime::from_millis(elapsed.as_millis() as u64),
                    _ => MediaTime::from_90khz(elapsed.as_millis() as u64 * 90),
                };
                if kind == MediaKind::Video && peer.simulcast {
                    self.write_layers(idx, mid, pt, time);
                    continue;
                }
                // A VP8 payload whose first byte marks a keyframe (P bit clear).
                writer.write(pt, now, time, vec![0x10; size]).unwrap();
                self.drain_peer(idx);
            }
        }
    }

    /// A simulcast peer's video frame, in each layer: a keyframe where one was asked
    /// for (or every 4 s), else an interframe. Each layer's RTP clock has its own
    /// origin, as it may in a browser.
    fn write_layers(&mut self, idx: usize, mid: Mid, pt: str0m::media::Pt, time: MediaTime) {
        let now = self.now;
        let periodic = time.numer() % (4 * 90_000) < 3_600;
        for (n, (rid, height, size)) in LAYERS.iter().enumerate() {
            let peer = &mut self.peers[idx];
            let rid = Rid::from(*rid);
            let asked = peer.key_due.iter().any(|r| r.is_none_or(|r| r == rid));
            peer.key_due.retain(|r| r.is_some_and(|r| r != rid));
            let key = asked || periodic;
            let t = MediaTime::from_90khz(time.numer() + n as u64 * 1_000_000);
            let Some(writer) = peer.rtc.writer(mid) else {
                return;
            };
            writer
                .rid(rid)
                .write(pt, now, t, vp8_frame(key, *height, *size))
                .unwrap();
            self.drain_peer(idx);
        }
    }

    /// Receiver `id` reports showing `from`'s video at `width` x `height` (0 x 0:
    /// hidden).
    pub fn view(&mut self, id: u64, from: u64, width: u32, height: u32) {
        let mid = self
            .peer(id)
            .mid_from(from, MediaKind::Video)
            .expect("no such track");
        let views = vec![confab_sfu::TrackView {
            mid: mid.to_string(),
            width,
            height,
        }];
        self.sfu_handle(Input::View {
            endpoint: EndpointId(id),
            views,
        });
    }

    /// Caps the link to `addr` (what reaches it) at `bps`; `None` lifts the cap.
    pub fn cap(&mut self, addr: &str, bps: Option<u64>) {
        let addr: SocketAddr = addr.parse().unwrap();
        match bps {
            Some(bps) => self.caps.insert(addr, (bps, self.now)),
            None => self.caps.remove(&addr),
        };
    }

    /// Puts a datagram on the wire, through the destination's cap if it has one.
    fn send(&mut self, source: SocketAddr, destination: SocketAddr, bytes: Vec<u8>) {
        let mut at = self.now + LATENCY;
        if let Some((bps, free)) = self.caps.get_mut(&destination) {
            let start = (*free).max(self.now);
            if start > self.now + Duration::from_millis(100) {
                self.capped += 1;
                return;
            }
            *free = start + Duration::from_nanos(bytes.len() as u64 * 8 * 1_000_000_000 / *bps);
            at = *free + LATENCY;
        }
        self.sent += 1;
        self.wire
            .push(Reverse((at, self.sent, source, destination, bytes)));
    }

    /// Lets `dur` of simulated time pass.
    pub fn run_for(&mut self, dur: Duration) {
        let end = self.now + dur;
        while self.now < end {
            self.step();
            let mut next = end;
            for p in &self.peers {
                next = next.min(p.due);
                if p.connected && !p.sending.is_empty() {
                    next = next.min(p.next_audio).min(p.next_video);
                }
            }
            if let Some(t) = self.sfu.poll_timeout() {
                next = next.min(t);
            }
            if let Some(Reverse((t, ..))) = self.wire.peek() {
                next = next.min(*t);
            }
            self.now = next.max(self.now + Duration::from_millis(1));
        }
    }

    /// Everything due at `now`: arrivals, deadlines, media.
    fn step(&mut self) {
        while self
            .wire
            .peek()
            .is_some_and(|Reverse((t, ..))| *t <= self.now)
        {
            let Reverse((_, _, source, destination, bytes)) = self.wire.pop().unwrap();
            // xorshift64
            self.rng ^= self.rng << 13;
            self.rng ^= self.rng >> 7;
            self.rng ^= self.rng << 17;
            let rng = self.rng;
            if self.loss_every.is_some_and(|n| rng.is_multiple_of(n)) {
                self.lost += 1;
                continue;
            }
            if destination == sfu_addr() {
                self.sfu_handle(Input::Datagram(Datagram {
                    source,
                    destination,
                    bytes: &bytes,
                }));
            } else if let Some(idx) = self.peers.iter().position(|p| p.addr == destination) {
                if self.cut.contains(&destination) {
                    continue;
                }
                let input = str0m::Input::Receive(
                    self.now,
                    Receive {
                        proto: Protocol::Udp,
                        source,
                        destination,
                        contents: bytes.as_slice().try_into().unwrap(),
                    },
                );
                self.peers[idx].rtc.handle_input(input).unwrap();
                self.drain_peer(idx);
            }
        }
        for idx in 0..self.peers.len() {
            if self.peers[idx].due <= self.now {
                self.peers[idx]
                    .rtc
                    .handle_input(str0m::Input::Timeout(self.now))
                    .unwrap();
                self.drain_peer(idx);
            }
        }
        if self.sfu.poll_timeout().is_some_and(|t| t <= self.now) {
            self.sfu_handle(Input::Timeout);
        }
        self.write_media();
    }

    /// The last list of active speakers the SFU reported for `room_name`, if any.
    pub fn speakers_in(&self, room_name: &str) -> Option<&[String]> {
        let r = room(room_name);
        self.speakers
            .iter()
            .rev()
            .find(|(_, room, _)| *room == r)
            .map(|(_, _, list)| list.as_slice())
    }

    /// Sets the level `id`'s audio frames carry from now on (see [`Peer::audio_level`]).
    pub fn set_level(&mut self, id: u64, level: Option<u8>) {
        self.peer_mut(id).audio_level = level;
    }

    /// A receiver asks for keyframes on every video track it receives.
    pub fn request_keyframes(&mut self, id: u64) {
        let idx = self.index(EndpointId(id)).unwrap();
        for mid in self.peers[idx].video_mids() {
            if let Some(mut w) = self.peers[idx].rtc.writer(mid) {
                let _ = w.request_keyframe(None, KeyframeRequestKind::Pli);
            }
            self.drain_peer(idx);
        }
    }
}
