//! The [`Sfu`]: its state, [`Sfu::handle`] for each kind of input, the drain, and the
//! one deadline heap.

use crate::demux::{Demux, Route};
use crate::endpoint::{Endpoint, Work};
use crate::io::{Datagram, DisconnectReason, EndpointId, EndpointKind, Input, Output, SfuError};
use crate::router::Router;
use crate::speakers::Speakers;
use crate::SfuConfig;
use confab_proto::RoomId;
use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::bwe::Bitrate;
use str0m::config::{CryptoProvider, DtlsCert};
use str0m::media::KeyframeRequestKind;
use str0m::net::{DatagramRecv, Protocol, Receive};
use str0m::{Candidate, IceCreds, Rtc};

/// The least time between two rounds of one endpoint's str0m timers.
const MIN_TICK: Duration = Duration::from_millis(1);

/// The SFU core. See the [crate docs](crate) for the contract and an example.
pub struct Sfu {
    pub(crate) config: SfuConfig,
    crypto: Arc<CryptoProvider>,
    /// One DTLS certificate for every endpoint, made once: generating a key pair per
    /// join was most of a join's cost. Each answer still carries its fingerprint, so
    /// DTLS is authenticated exactly as before. `None` if the provider could not make
    /// one (then each endpoint makes its own).
    cert: Option<DtlsCert>,
    rng: ChaCha20Rng,
    pub(crate) endpoints: HashMap<EndpointId, Endpoint>,
    /// Participants without a connection (cameras): see `source.rs`.
    pub(crate) sources: HashMap<EndpointId, crate::source::Source>,
    pub(crate) demux: Demux,
    pub(crate) router: Router,
    /// Audio levels and each room's active speakers (their own deadline: the tick).
    pub(crate) speakers: Speakers,
    /// Endpoint deadlines (min-heap). An entry is live only while it equals its
    /// endpoint's `scheduled`; others are skipped when they come up. Each endpoint has
    /// one live entry; superseded ones are dropped as they come due.
    pub(crate) timers: BinaryHeap<Reverse<(Instant, EndpointId)>>,
    pub(crate) out: VecDeque<Output>,
    pub(crate) work: VecDeque<Work>,
    /// Endpoints with a [`Work::Negotiate`] queued (each at most once).
    pub(crate) to_negotiate: HashSet<EndpointId>,
    /// Frames taken from publishers and offered to their rooms (a counter for tests and
    /// metrics).
    pub(crate) forwarded: u64,
    /// Keyframe requests passed on to publishers.
    pub(crate) keyframe_requests: u64,
    /// When receivers held back by bandwidth are next allocated again.
    pub(crate) next_layer_round: Option<Instant>,
}

impl Sfu {
    /// A new, empty SFU. `seed` seeds the generator of ICE credentials (the driver
    /// takes it from the OS; tests fix it).
    pub fn new(config: SfuConfig, seed: [u8; 32]) -> Sfu {
        let crypto = Arc::new(str0m::crypto::from_feature_flags());
        Sfu {
            config,
            cert: crypto.dtls_provider.generate_certificate(),
            crypto,
            rng: ChaCha20Rng::from_seed(seed),
            endpoints: HashMap::new(),
            sources: HashMap::new(),
            demux: Demux::default(),
            router: Router::default(),
            speakers: Speakers::default(),
            timers: BinaryHeap::new(),
            out: VecDeque::new(),
            work: VecDeque::new(),
            to_negotiate: HashSet::new(),
            forwarded: 0,
            keyframe_requests: 0,
            next_layer_round: None,
        }
    }

    /// Feeds one input at time `now` (monotonic, never earlier than a previous call's).
    /// Drain [`Sfu::poll_output`] afterwards. Deadlines that are due run first, whatever
    /// the input.
    pub fn handle(&mut self, now: Instant, input: Input<'_>) {
        self.fire_timers(now);
        match input {
            Input::Join {
                endpoint,
                room,
                label,
                name,
                offer,
                publish,
                kind,
                follow,
            } => {
                let who = (label.as_str(), name.as_str(), follow);
                self.handle_join(now, endpoint, room, who, &offer, (publish, kind));
            }
            Input::Publish { endpoint, publish } => self.set_publish(endpoint, publish),
            Input::Record { room, on } => self.set_recording(now, room, on),
            Input::View { endpoint, views } => self.set_views(endpoint, &views),
            Input::Offer { endpoint, sdp } => self.handle_offer(now, endpoint, &sdp),
            Input::Answer { endpoint, sdp } => self.handle_answer(endpoint, &sdp),
            Input::Leave { endpoint } => {
                if !self.remove_endpoint(endpoint) {
                    self.remove_source(endpoint);
                }
            }
            Input::SourceJoin {
                endpoint,
                room,
                label,
                name,
                tracks,
            } => self.handle_source_join(endpoint, room, (&label, &name), &tracks),
            Input::SourceFrame {
                endpoint,
                track,
                frame,
            } => self.handle_source_frame(now, endpoint, track, frame),
            Input::Datagram(d) => self.handle_datagram(now, d),
            Input::Timeout => {}
        }
        self.run_work(now);
        self.compact_timers();
    }

    /// Rebuilds the deadline heap from the live entries once superseded ones outnumber
    /// them: an endpoint's deadline often moves earlier (a far "nothing scheduled"
    /// replaced by a near one), and an entry of a freed endpoint far in the future
    /// would otherwise stay for good. Amortized O(1) per push.
    fn compact_timers(&mut self) {
        if self.timers.len() <= 4 * self.endpoints.len() + 64 {
            return;
        }
        self.timers = self
            .endpoints
            .values()
            .filter_map(|ep| ep.scheduled.map(|at| Reverse((at, ep.id))))
            .collect();
    }

    /// Entries in the deadline heap (live and superseded), for tests of its bound.
    #[doc(hidden)]
    pub fn timer_entries(&self) -> usize {
        self.timers.len()
    }

    /// The next output, in the order produced. Call until `None` after every input.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When to call [`Sfu::handle`] with [`Input::Timeout`] if nothing arrives before:
    /// the earliest endpoint deadline (str0m's timers, idle timeouts) or the next round
    /// of active speakers (while some room has audio levels), or the layer round (each
    /// second). `None` with no endpoints.
    /// May be a little early, never late.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let endpoints = self.timers.peek().map(|Reverse((at, _))| *at);
        // The layer round, once a second while there are endpoints (a walk of them all
        // here, on every poll, would cost more than the wakeup).
        let round = self.next_layer_round.filter(|_| !self.endpoints.is_empty());
        [endpoints, self.speakers.deadline(), round]
            .into_iter()
            .flatten()
            .min()
    }

    /// How many endpoints exist.
    pub fn endpoints(&self) -> usize {
        self.endpoints.len()
    }

    /// Whether `endpoint` exists (joined, not yet left or dropped), a source included.
    pub fn contains(&self, endpoint: EndpointId) -> bool {
        self.endpoints.contains_key(&endpoint) || self.sources.contains_key(&endpoint)
    }

    /// The endpoints in a room, in join order (empty for a room that does not exist).
    pub fn members(&self, room: &RoomId) -> &[EndpointId] {
        self.router.rooms.get(room).map_or(&[], Vec::as_slice)
    }

    /// The active speakers of `room` as last reported ([`Output::ActiveSpeakers`]),
    /// loudest first; empty for a room without any.
    pub fn active_speakers(&self, room: &RoomId) -> &[EndpointId] {
        self.speakers.listed(room)
    }

    /// Tracks of other endpoints that `endpoint` receives over a negotiated m-line.
    pub fn receiving(&self, endpoint: EndpointId) -> usize {
        self.endpoints
            .get(&endpoint)
            .map_or(0, Endpoint::open_tracks)
    }

    /// Published tracks in all rooms.
    pub fn tracks(&self) -> usize {
        self.router.tracks.len()
    }

    /// Frames taken from publishers and forwarded to their rooms so far.
    pub fn frames_forwarded(&self) -> u64 {
        self.forwarded
    }

    /// Keyframe requests passed on to publishers so far (after throttling).
    pub fn keyframe_requests(&self) -> u64 {
        self.keyframe_requests
    }

    /// The bandwidth estimate toward `endpoint` its layers were last chosen by, bits
    /// per second (`None`: none yet, or no such endpoint).
    pub fn estimate(&self, endpoint: EndpointId) -> Option<u64> {
        self.endpoints.get(&endpoint).and_then(|e| e.estimate)
    }

    /// Remote 5-tuples bound in the demultiplexer.
    pub fn bound_addresses(&self) -> usize {
        self.demux.tuples()
    }

    fn reject(&mut self, endpoint: EndpointId, error: SfuError) {
        self.out.push_back(Output::Rejected { endpoint, error });
    }

    fn handle_join(
        &mut self,
        now: Instant,
        id: EndpointId,
        room: RoomId,
        (label, name, follow): (&str, &str, Option<String>),
        offer: &str,
        (publish, kind): (bool, EndpointKind),
    ) {
        if self.endpoints.contains_key(&id) || self.sources.contains_key(&id) {
            return self.reject(id, SfuError::EndpointExists);
        }
        if self.endpoints.len() + self.sources.len() >= self.config.max_endpoints {
            return self.reject(id, SfuError::Full);
        }
        if self.router.size(&room) >= self.config.max_room_size {
            return self.reject(id, SfuError::RoomFull);
        }
        match self.make_endpoint(now, id, room, (label, name, follow), offer, (publish, kind)) {
            Ok(made) => self.install(made),
            Err(e) => self.reject(id, e),
        }
    }

    /// A new endpoint that has answered `offer`, not yet in the SFU (see `install`).
    pub(crate) fn make_endpoint(
        &mut self,
        now: Instant,
        id: EndpointId,
        room: RoomId,
        (label, name, follow): (&str, &str, Option<String>),
        offer: &str,
        (publish, kind): (bool, EndpointKind),
    ) -> Result<Made, SfuError> {
        let creds = self.fresh_credentials();
        let mut builder = Rtc::builder()
            .set_crypto_provider(self.crypto.clone())
            .set_ice_lite(true)
            .set_local_ice_credentials(creds.clone())
            // The estimate of what reaches each receiver picks its simulcast layers.
            .enable_bwe(Some(Bitrate::bps(self.config.start_bitrate)))
            // G.711, after Opus (what browsers send stays Opus): cameras' audio passes
            // through to receivers in it (see `source.rs`).
            .enable_pcmu(true, false)
            .enable_pcma(true, false);
        if let Some(cert) = &self.cert {
            builder = builder.set_dtls_cert(cert.clone());
        }
        let rtc = builder.build(now);
        let mut ep = Endpoint::new(id, room, stream_label(id, label), rtc, creds.ufrag, now);
        ep.publish = publish && kind != EndpointKind::Player;
        ep.kind = kind;
        ep.name = name.into();
        ep.follow = follow
            .filter(|_| kind == EndpointKind::Player)
            .map(Arc::from);
        // Nothing can come out of a new Rtc yet, so these drains only move its clock.
        let (mut out, mut work) = (VecDeque::new(), VecDeque::new());
        for addr in &self.config.candidates {
            if let Ok(c) = Candidate::host(*addr, "udp") {
                ep.rtc.add_local_candidate(c);
                ep.drain(&mut out, &mut work);
            }
        }
        let answer = ep.accept_offer(offer)?;
        ep.fingerprint = crate::replace::fingerprint(offer);
        Ok(Made { ep, answer, out })
    }

    /// Puts a made endpoint in its room: its answer goes out, its tracks are announced
    /// and it is offered the room's.
    pub(crate) fn install(&mut self, made: Made) {
        let Made { ep, answer, out } = made;
        let id = ep.id;
        self.demux.add_ufrag(&ep.ufrag, id);
        self.router
            .rooms
            .entry(ep.room.clone())
            .or_default()
            .push(id);
        self.endpoints.insert(id, ep);
        self.out.extend(out);
        self.out.push_back(Output::Answer {
            endpoint: id,
            sdp: answer,
        });
        // The drain announces the joiner's own tracks (MediaAdded) to the router.
        self.drain(id);
        self.subscribe_to_room(id);
    }

    /// ICE credentials with a ufrag no endpoint has (the demux key). 16 characters of
    /// ufrag, base 36 but for the first, which is the shard's tag when there is one
    /// (`shard.rs`); 24 of password (RFC 8839 asks for at least 4 and 22).
    fn fresh_credentials(&mut self) -> IceCreds {
        loop {
            let ufrag = match self.config.shard {
                Some(tag) => {
                    let mut ufrag = String::from(tag.char());
                    ufrag.push_str(&self.random_ice_chars(15));
                    ufrag
                }
                None => self.random_ice_chars(16),
            };
            if !self.demux.has_ufrag(&ufrag) {
                let pass = self.random_ice_chars(24);
                return IceCreds { ufrag, pass };
            }
        }
    }

    fn random_ice_chars(&mut self, n: usize) -> String {
        const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
        (0..n)
            .map(|_| char::from(ALPHABET[(self.rng.next_u32() % 36) as usize]))
            .collect()
    }

    fn handle_offer(&mut self, now: Instant, id: EndpointId, sdp: &str) {
        if self.is_new_connection(id, sdp) {
            return self.replace_endpoint(now, id, sdp);
        }
        let Some(ep) = self.endpoints.get_mut(&id) else {
            return self.reject(id, SfuError::UnknownEndpoint);
        };
        match ep.accept_offer(sdp) {
            Ok(answer) => {
                self.out.push_back(Output::Answer {
                    endpoint: id,
                    sdp: answer,
                });
                self.drain(id);
                // Changes of ours that its offer displaced.
                self.negotiate(id);
            }
            Err(e) => self.reject(id, e),
        }
    }

    fn handle_answer(&mut self, id: EndpointId, sdp: &str) {
        let Some(ep) = self.endpoints.get_mut(&id) else {
            return self.reject(id, SfuError::UnknownEndpoint);
        };
        match ep.accept_answer(sdp) {
            Ok(opened) => {
                // A simulcast track's keyframe is asked for by the allocation, of the
                // layer it picks.
                for key in opened {
                    // A source's picture starts from its cache; a publisher is asked.
                    if self.sources.contains_key(&key.0) {
                        self.work.push_back(Work::Prime { id, key });
                        continue;
                    }
                    let kind = KeyframeRequestKind::Pli;
                    let rid = None;
                    self.work.push_back(Work::Keyframe { key, kind, rid });
                }
                self.work.push_back(Work::Allocate { id });
            }
            Err(e) => self.reject(id, e),
        }
        self.drain(id);
        // Tracks that came or went while the offer was out, or those of a refused
        // answer's offer, rolled back.
        self.negotiate(id);
    }

    fn handle_datagram(&mut self, now: Instant, d: Datagram<'_>) {
        let tuple = (d.source, d.destination);
        let (id, new) = match self.demux.route(tuple, d.bytes) {
            Route::Known(id) => (id, false),
            Route::ByUfrag(id) => (id, true),
            Route::Unknown => return,
        };
        let Ok(contents) = DatagramRecv::try_from(d.bytes) else {
            return;
        };
        let input = str0m::Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source: d.source,
                destination: d.destination,
                contents,
            },
        );
        let Some(ep) = self.endpoints.get_mut(&id) else {
            return;
        };
        if new {
            if !ep.rtc.accepts(&input) {
                return;
            }
            self.demux.bind(tuple, id, &mut ep.tuples);
        }
        ep.last_rx = now;
        // A datagram str0m refuses (bad SRTP, a replay) is dropped; it does not end the
        // endpoint, or anyone able to spoof its address could.
        let _ = ep.rtc.handle_input(input);
        self.drain(id);
    }

    /// Drains one endpoint's `Rtc` and reschedules its deadline.
    pub(crate) fn drain(&mut self, id: EndpointId) {
        if let Some(ep) = self.endpoints.get_mut(&id) {
            ep.drain(&mut self.out, &mut self.work);
            schedule(ep, &mut self.timers, self.config.idle_timeout);
        }
    }

    /// Runs every endpoint deadline that is due at `now`.
    fn fire_timers(&mut self, now: Instant) {
        let mut due = Vec::new();
        while let Some(Reverse((at, id))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            if let Some(ep) = self.endpoints.get_mut(&id) {
                if ep.scheduled == Some(at) {
                    ep.scheduled = None;
                    due.push(id);
                }
            }
        }
        let idle = self.config.idle_timeout;
        for id in due {
            let Some(ep) = self.endpoints.get_mut(&id) else {
                continue;
            };
            if now >= ep.last_rx + idle {
                self.work.push_back(Work::Drop {
                    id,
                    reason: DisconnectReason::Idle,
                });
            } else if ep.rtc_due <= now {
                // A timeout never fails in a way we could act on; a dead Rtc shows in
                // the drain (is_alive).
                let _ = ep.rtc.handle_input(str0m::Input::Timeout(now));
                ep.drain(&mut self.out, &mut self.work);
                // If str0m names `now` again, serving it again at once would spin the
                // driver: the next round is at least a millisecond later.
                ep.rtc_due = ep.rtc_due.max(now + MIN_TICK);
                schedule(ep, &mut self.timers, idle);
            } else {
                schedule(ep, &mut self.timers, idle);
            }
        }
        self.layer_round(now);
        self.run_work(now);
        let rooms = &self.router.rooms;
        self.speakers
            .tick(now, |room| rooms.contains_key(room), &mut self.out);
    }
}

/// Puts an endpoint's next deadline (its `Rtc`'s, or its idle timeout) in the heap,
/// unless an earlier entry of it is already there.
pub(crate) fn schedule(
    ep: &mut Endpoint,
    timers: &mut BinaryHeap<Reverse<(Instant, EndpointId)>>,
    idle: Duration,
) {
    let at = ep.rtc_due.min(ep.last_rx + idle);
    if ep.scheduled.is_none_or(|s| at < s) {
        ep.scheduled = Some(at);
        timers.push(Reverse((at, ep.id)));
    }
}

/// The stream id an endpoint's tracks carry: `label`, or the endpoint id when it is
/// empty. str0m keeps only its SDP token characters, at most 64 (RFC 8830 `msid-id`),
/// when it writes the offer.
/// An endpoint made for an offer, and what it has to say, before it joins its room.
pub(crate) struct Made {
    ep: Endpoint,
    answer: String,
    out: VecDeque<Output>,
}

pub(crate) fn stream_label(id: EndpointId, label: &str) -> Arc<str> {
    if label.is_empty() {
        id.to_string().into()
    } else {
        label.into()
    }
}
