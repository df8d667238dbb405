//! A tiny in-memory network in simulated time: str0m peers (standing in for browsers)
//! against one [`Sfu`], with the signaling relay done in place.
//!
//! Time only moves in [`World::run_for`]: it jumps to the next deadline (a peer's, the
//! SFU's, a datagram's arrival, a media tick), never by less than a millisecond. Every
//! datagram takes [`LATENCY`]; a peer can be cut off (its datagrams, both ways, lost).
#![allow(dead_code)]

mod media;
mod peer;

pub use peer::*;

use confab_proto::RoomId;
use confab_sfu::{
    Datagram, EndpointId, EndpointKind, ForwardedTrack, Input, Output, Sfu, SfuConfig,
};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::media::{Direction, KeyframeRequestKind, MediaKind, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Rtc};

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
    /// Every `Layers` report the SFU made: when (since the start), to whom, the list.
    pub layers: Vec<(Duration, EndpointId, Vec<ForwardedTrack>)>,
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
            layers: Vec::new(),
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
        let (idx, offer) = self.new_peer(id, addr, kinds);
        let input = Input::Join {
            endpoint: EndpointId(id),
            room: room(room_name),
            label: format!("peer-{id}"),
            name: self.names.get(&EndpointId(id)).cloned().unwrap_or_default(),
            offer,
            publish: !self.viewers.contains(&EndpointId(id)),
            kind: self.kinds.get(&EndpointId(id)).copied().unwrap_or_default(),
            follow: self.follows.get(&EndpointId(id)).cloned(),
        };
        self.sfu_handle(input);
        idx
    }

    /// Peer `id` gives up its connection and makes a new one (another `Rtc`, another
    /// certificate, from `addr`), whose offer its signaling relays as a renegotiation of
    /// the endpoint it still holds.
    pub fn reconnect(&mut self, id: u64, addr: &str, kinds: &[MediaKind]) {
        self.peers.retain(|p| p.id != EndpointId(id));
        let (_, sdp) = self.new_peer(id, addr, kinds);
        self.sfu_handle(Input::Offer {
            endpoint: EndpointId(id),
            sdp,
        });
    }

    /// A new peer's `Rtc` and its offer (not sent).
    fn new_peer(&mut self, id: u64, addr: &str, kinds: &[MediaKind]) -> (usize, String) {
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
            stopped: Vec::new(),
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
        (idx, offer.to_sdp_string())
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
                Output::Layers { endpoint, tracks } => {
                    let at = self.now.duration_since(self.start);
                    self.layers.push((at, endpoint, tracks));
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
