//! One endpoint: a str0m [`Rtc`] (ICE-lite, one peer connection), the tracks it
//! publishes, the tracks of others it receives, and its side of renegotiation.
//!
//! The endpoint never reaches another endpoint. Draining its `Rtc` turns str0m's events
//! into [`Work`] for the router (media to forward, a track that appeared, a keyframe
//! request) and its transmits into [`Output::Transmit`]; the router then calls other
//! endpoints' `forward`/`request_keyframe`, each followed by their own drain. That keeps
//! str0m's rule (every mutation is followed by a full drain) without two endpoints ever
//! borrowed at once.

use crate::demux::Tuple;
use crate::io::{DisconnectReason, EndpointId, EndpointKind, Output, SfuError};
use crate::layers::{Selection, View};
use confab_proto::RoomId;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;
use str0m::bwe::BweKind;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::media::{Direction, KeyframeRequestKind, MediaData, MediaKind, Mid, Rid};
use str0m::{Event, IceConnectionState, Output as RtcOutput, Rtc};

/// A published track: the publishing endpoint and the mid it arrives on there.
pub(crate) type TrackKey = (EndpointId, Mid);

/// What draining an endpoint asks of the router.
#[derive(Debug)]
pub(crate) enum Work {
    /// The endpoint published a new track.
    TrackAdded { key: TrackKey, kind: MediaKind },
    /// The endpoint stopped publishing a track (renegotiated it away).
    TrackRemoved { key: TrackKey },
    /// A frame of a published track, to forward to the room.
    Media { key: TrackKey, data: Box<MediaData> },
    /// A receiver of `key` (or the SFU itself, after loss or to switch a receiver's
    /// layer) wants a keyframe: of simulcast layer `rid`, or of the track's only one.
    Keyframe {
        key: TrackKey,
        kind: KeyframeRequestKind,
        rid: Option<Rid>,
    },
    /// The endpoint's tracks to receive changed: offer it the change once the work
    /// queued before this is done (a publisher's audio and video, announced together,
    /// go into one offer instead of two round trips).
    Negotiate { id: EndpointId },
    /// The endpoint's bandwidth estimate or views changed, or a track it receives
    /// opened: choose its simulcast layers again.
    Allocate { id: EndpointId },
    /// A player's m-line we send on came up (str0m announces m-lines once connected):
    /// fill it with a track of the room.
    SlotOpened { id: EndpointId },
    /// A receiver's m-line for a source's track opened, or the receiver connected with
    /// such m-lines open: send it the source's cached group of pictures.
    Prime { id: EndpointId, key: TrackKey },
    /// A receiver asked for a keyframe of `key`: if a source's, it is sent the cached
    /// group again (a camera cannot be asked).
    Rekey { id: EndpointId, key: TrackKey },
    /// The endpoint is finished; drop it and tell the driver.
    Drop {
        id: EndpointId,
        reason: DisconnectReason,
    },
}

/// Where one forwarded track stands in the receiving endpoint's SDP.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutState {
    /// Needs an m-line: the next offer adds it.
    ToOpen,
    /// In our outstanding offer.
    Negotiating(Mid),
    /// Negotiated: frames are written to this mid.
    Open(Mid),
    /// Its publisher is gone: the next offer stops it.
    ToStop(Mid),
    /// Stopped in our outstanding offer.
    NegotiatingStop(Mid),
}

#[derive(Debug)]
pub(crate) struct TrackOut {
    pub(crate) kind: MediaKind,
    /// The stream id it carries: its publisher's label.
    pub(crate) stream: Arc<str>,
    pub(crate) state: OutState,
    /// The publisher went away while this track was being negotiated.
    gone: bool,
    /// Its simulcast layer, when the publisher sends layers.
    pub(crate) sel: Selection,
    /// A source's track: nothing is sent until a keyframe (the cached one, or the next).
    pub(crate) wait_key: bool,
    /// When it was last sent a source's cached group again (`Work::Rekey`).
    pub(crate) rekeyed: Option<Instant>,
}

/// One peer connection to the SFU.
pub(crate) struct Endpoint {
    pub(crate) id: EndpointId,
    pub(crate) room: RoomId,
    /// The stream id its tracks carry to the others (see `Input::Join`).
    pub(crate) label: Arc<str>,
    /// Its participant's name (see `Input::Join`).
    pub(crate) name: Arc<str>,
    /// A player's: the name of the only publishers it plays (see `Input::Join`).
    pub(crate) follow: Option<Arc<str>>,
    /// The DTLS fingerprint its joining offer named (see `replace.rs`).
    pub(crate) fingerprint: Option<String>,
    pub(crate) rtc: Rtc,
    /// Our local ICE ufrag (the demux key).
    pub(crate) ufrag: String,
    /// The 5-tuples bound to it in the demux.
    pub(crate) tuples: Vec<Tuple>,
    /// Mids of the tracks it sends.
    pub(crate) tracks_in: Vec<Mid>,
    /// Sources' tracks opened before it connected: primed once it does.
    pub(crate) unprimed: Vec<TrackKey>,
    /// Whether its tracks go to the others (see `Input::Join`).
    pub(crate) publish: bool,
    /// What kind of peer it is (see [`EndpointKind`]).
    pub(crate) kind: EndpointKind,
    /// A player's m-lines we send on, in its offer's order, and the track each carries.
    slots: Vec<(Mid, MediaKind, Option<TrackKey>)>,
    /// Tracks of others it receives, by publisher and publisher's mid (ordered, so mids
    /// are assigned in a stable order).
    pub(crate) tracks_out: BTreeMap<TrackKey, TrackOut>,
    /// Our mid on this endpoint → the track it carries (for keyframe requests).
    out_by_mid: HashMap<Mid, TrackKey>,
    /// str0m's estimate of the bandwidth to it, bits per second (as last allocated by).
    pub(crate) estimate: Option<u64>,
    /// Some track gets a lower layer than it wants, for want of bandwidth: the layer
    /// round probes for more (see `Sfu::allocate`).
    pub(crate) held_back: bool,
    /// When its estimator was last made to probe.
    pub(crate) probed: Option<Instant>,
    /// Some track may be waiting to switch layers (set by the allocation, cleared by the
    /// layer round once none is).
    pub(crate) switching: bool,
    /// What it was last told of the layers it gets (`Output::Layers`).
    pub(crate) told: Vec<crate::forwarded::Told>,
    pending: Option<SdpPendingOffer>,
    /// When a datagram last arrived from it (or when it joined).
    pub(crate) last_rx: Instant,
    /// The `Rtc`'s next deadline, from its last drain.
    pub(crate) rtc_due: Instant,
    /// The earliest entry it has in the SFU's timer heap, if any.
    pub(crate) scheduled: Option<Instant>,
}

impl Endpoint {
    pub(crate) fn new(
        id: EndpointId,
        room: RoomId,
        label: Arc<str>,
        rtc: Rtc,
        ufrag: String,
        now: Instant,
    ) -> Self {
        Endpoint {
            id,
            room,
            label,
            name: Arc::from(""),
            follow: None,
            fingerprint: None,
            rtc,
            ufrag,
            tuples: Vec::new(),
            tracks_in: Vec::new(),
            unprimed: Vec::new(),
            publish: true,
            kind: EndpointKind::Browser,
            slots: Vec::new(),
            tracks_out: BTreeMap::new(),
            out_by_mid: HashMap::new(),
            estimate: None,
            held_back: false,
            probed: Some(now),
            switching: false,
            told: Vec::new(),
            pending: None,
            last_rx: now,
            rtc_due: now,
            scheduled: None,
        }
    }

    /// Polls the `Rtc` until its next timeout: transmits go to `out`, events become
    /// `work`. The one place str0m output is read.
    pub(crate) fn drain(&mut self, out: &mut VecDeque<Output>, work: &mut VecDeque<Work>) {
        loop {
            let output = match self.rtc.poll_output() {
                Ok(o) => o,
                Err(_) => {
                    work.push_back(Work::Drop {
                        id: self.id,
                        reason: DisconnectReason::Closed,
                    });
                    return;
                }
            };
            match output {
                RtcOutput::Timeout(t) => {
                    self.rtc_due = t;
                    break;
                }
                RtcOutput::Transmit(t) => out.push_back(Output::Transmit {
                    source: t.source,
                    destination: t.destination,
                    bytes: t.contents.into(),
                }),
                RtcOutput::Event(e) => self.on_event(e, out, work),
            }
        }
        if !self.rtc.is_alive() {
            work.push_back(Work::Drop {
                id: self.id,
                reason: DisconnectReason::Closed,
            });
        }
    }

    fn on_event(&mut self, event: Event, out: &mut VecDeque<Output>, work: &mut VecDeque<Work>) {
        let id = self.id;
        match event {
            Event::Connected => {
                out.push_back(Output::Connected { endpoint: id });
                for key in std::mem::take(&mut self.unprimed) {
                    work.push_back(Work::Prime { id, key });
                }
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                work.push_back(Work::Drop {
                    id,
                    reason: DisconnectReason::IceDisconnected,
                });
            }
            Event::Closed => work.push_back(Work::Drop {
                id,
                reason: DisconnectReason::Closed,
            }),
            // A player's own m-lines, which we send on: its slots.
            Event::MediaAdded(m)
                if self.kind == EndpointKind::Player && m.direction.is_sending() =>
            {
                self.slots.push((m.mid, m.kind, None));
                work.push_back(Work::SlotOpened { id });
            }
            Event::MediaAdded(m) if m.direction.is_receiving() => {
                self.tracks_in.push(m.mid);
                work.push_back(Work::TrackAdded {
                    key: (id, m.mid),
                    kind: m.kind,
                });
            }
            Event::MediaChanged(m) => {
                let known = self.tracks_in.contains(&m.mid);
                if known && !m.direction.is_receiving() {
                    self.tracks_in.retain(|mid| *mid != m.mid);
                    work.push_back(Work::TrackRemoved { key: (id, m.mid) });
                } else if !known && m.direction.is_receiving() {
                    let Some(kind) = self.rtc.media(m.mid).map(|media| media.kind()) else {
                        return;
                    };
                    self.tracks_in.push(m.mid);
                    work.push_back(Work::TrackAdded {
                        key: (id, m.mid),
                        kind,
                    });
                }
            }
            Event::MediaData(data) => {
                let key = (id, data.mid);
                if !data.contiguous {
                    // Loss the publisher's retransmissions did not repair: every
                    // receiver needs a fresh keyframe (throttled by the router).
                    work.push_back(Work::Keyframe {
                        key,
                        kind: KeyframeRequestKind::Fir,
                        rid: data.rid,
                    });
                }
                work.push_back(Work::Media {
                    key,
                    data: Box::new(data),
                });
            }
            Event::KeyframeRequest(req) => {
                if let Some(key) = self.out_by_mid.get(&req.mid) {
                    // Of the layer it gets (or is switching to).
                    let rid = self
                        .tracks_out
                        .get(key)
                        .and_then(|t| t.sel.target.or(t.sel.current));
                    work.push_back(Work::Keyframe {
                        key: *key,
                        kind: req.kind,
                        rid,
                    });
                    work.push_back(Work::Rekey { id, key: *key });
                }
            }
            Event::EgressBitrateEstimate(BweKind::Twcc { estimate, .. })
                if self.take_estimate(estimate.as_u64()) =>
            {
                work.push_back(Work::Allocate { id });
            }
            _ => {}
        }
    }

    /// Takes str0m's new estimate of the bandwidth to it; true if its layers should be
    /// chosen again. Small moves are noise (allocating walks its tracks).
    fn take_estimate(&mut self, bps: u64) -> bool {
        if self
            .estimate
            .is_some_and(|old| bps.abs_diff(old) * 20 <= old)
        {
            return false;
        }
        self.estimate = Some(bps);
        true
    }

    /// Starts receiving a track of another endpoint: a browser by the next offer, a
    /// player on a free m-line of that kind at once (none free: not at all); a publisher
    /// never receives. A source's track (`wait_key`) starts at a keyframe.
    pub(crate) fn subscribe(
        &mut self,
        key: TrackKey,
        kind: MediaKind,
        stream: Arc<str>,
        wait_key: bool,
    ) {
        if self.tracks_out.contains_key(&key) {
            return;
        }
        let state = match self.kind {
            EndpointKind::Browser => OutState::ToOpen,
            EndpointKind::Publisher => return,
            EndpointKind::Player => {
                let Some(slot) = self
                    .slots
                    .iter_mut()
                    .find(|(_, k, held)| *k == kind && held.is_none())
                else {
                    return;
                };
                slot.2 = Some(key);
                self.out_by_mid.insert(slot.0, key);
                OutState::Open(slot.0)
            }
        };
        self.tracks_out.insert(
            key,
            TrackOut {
                kind,
                stream,
                state,
                gone: false,
                sel: Selection::default(),
                wait_key,
                rekeyed: None,
            },
        );
    }

    /// Whether it receives (or is about to receive) `key`.
    pub(crate) fn receives(&self, key: TrackKey) -> bool {
        self.tracks_out.contains_key(&key)
    }

    /// Whether it is a player with an m-line free for a track.
    pub(crate) fn has_free_slot(&self) -> bool {
        self.slots.iter().any(|(_, _, held)| held.is_none())
    }

    /// The track's publisher is gone: stop its m-line with the next offer.
    pub(crate) fn unsubscribe(&mut self, key: TrackKey) {
        if self.kind == EndpointKind::Player {
            // Its m-line stays (it cannot renegotiate) and takes the next publisher's.
            if let Some(TrackOut {
                state: OutState::Open(mid),
                ..
            }) = self.tracks_out.remove(&key)
            {
                self.out_by_mid.remove(&mid);
                for slot in self.slots.iter_mut().filter(|s| s.0 == mid) {
                    slot.2 = None;
                }
            }
            return;
        }
        let Some(track) = self.tracks_out.get_mut(&key) else {
            return;
        };
        match track.state {
            OutState::ToOpen => {
                self.tracks_out.remove(&key);
            }
            OutState::Open(m) => track.state = OutState::ToStop(m),
            OutState::Negotiating(_) => track.gone = true,
            OutState::ToStop(_) | OutState::NegotiatingStop(_) => {}
        }
    }

    /// How many tracks of others it receives over negotiated m-lines.
    pub(crate) fn open_tracks(&self) -> usize {
        self.tracks_out
            .values()
            .filter(|t| matches!(t.state, OutState::Open(_)))
            .count()
    }

    /// If tracks need adding or stopping and no offer is outstanding, makes the offer.
    /// A mutation of the `Rtc`: drain after it.
    pub(crate) fn negotiate(&mut self) -> Option<String> {
        if self.pending.is_some() || self.kind != EndpointKind::Browser {
            return None;
        }
        let mut change = self.rtc.sdp_api();
        for track in self.tracks_out.values_mut() {
            match track.state {
                OutState::ToOpen => {
                    // The stream id names the publisher, so a browser groups a
                    // publisher's audio and video into one MediaStream.
                    let stream = track.stream.to_string();
                    let mid =
                        change.add_media(track.kind, Direction::SendOnly, Some(stream), None, None);
                    track.state = OutState::Negotiating(mid);
                }
                OutState::ToStop(mid) => {
                    change.stop_media(mid);
                    track.state = OutState::NegotiatingStop(mid);
                }
                _ => {}
            }
        }
        if !change.has_changes() {
            return None;
        }
        let (offer, pending) = change.apply()?;
        self.pending = Some(pending);
        for (key, track) in &self.tracks_out {
            if let OutState::Negotiating(mid) = track.state {
                self.out_by_mid.insert(mid, *key);
            }
        }
        Some(offer.to_sdp_string())
    }

    /// Accepts an offer of the endpoint's (initial or a renegotiation) and returns the
    /// answer. An offer of ours that crossed it is dropped; its changes go into the
    /// next one. A mutation: drain after it.
    pub(crate) fn accept_offer(&mut self, sdp: &str) -> Result<String, SfuError> {
        let offer = SdpOffer::from_sdp_string(sdp).map_err(|e| SfuError::BadSdp(e.to_string()))?;
        // Our outstanding offer, if any, lives only in `pending` (str0m applies it with
        // the answer), so a refused offer leaves it intact.
        let answer = self
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| SfuError::BadSdp(e.to_string()))?;
        if self.pending.take().is_some() {
            self.rollback();
        }
        Ok(answer.to_sdp_string())
    }

    /// Our offer is gone unanswered: its changes go back to waiting for the next one.
    fn rollback(&mut self) {
        for track in self.tracks_out.values_mut() {
            match track.state {
                OutState::Negotiating(_) => track.state = OutState::ToOpen,
                OutState::NegotiatingStop(m) => track.state = OutState::ToStop(m),
                _ => {}
            }
        }
        // A track whose publisher left while it was in the dropped offer is simply not
        // offered again.
        self.tracks_out
            .retain(|_, t| !(t.gone && t.state == OutState::ToOpen));
        let tracks = &self.tracks_out;
        self.out_by_mid.retain(|_, key| {
            tracks
                .get(key)
                .is_some_and(|t| !matches!(t.state, OutState::ToOpen))
        });
    }

    /// Accepts the endpoint's answer to our outstanding offer. A mutation: drain after
    /// it, then [`Endpoint::negotiate`] again (changes may have queued meanwhile). A
    /// refused answer consumes our offer all the same (str0m takes it by value): its
    /// changes are rolled back, to be offered again.
    /// Applies the endpoint's answer to our offer. Returns the video tracks it opened:
    /// their publishers are asked for a keyframe, so the new receiver shows a picture
    /// at once instead of waiting for the publisher's next one.
    pub(crate) fn accept_answer(&mut self, sdp: &str) -> Result<Vec<TrackKey>, SfuError> {
        let answer =
            SdpAnswer::from_sdp_string(sdp).map_err(|e| SfuError::BadSdp(e.to_string()))?;
        let pending = self.pending.take().ok_or(SfuError::NoPendingOffer)?;
        if let Err(e) = self.rtc.sdp_api().accept_answer(pending, answer) {
            self.rollback();
            return Err(SfuError::BadSdp(e.to_string()));
        }
        let mut opened = Vec::new();
        for (key, track) in self.tracks_out.iter_mut() {
            if let OutState::Negotiating(m) = track.state {
                track.state = if track.gone {
                    OutState::ToStop(m)
                } else {
                    if track.kind == MediaKind::Video {
                        opened.push(*key);
                    }
                    OutState::Open(m)
                };
            }
        }
        // Stopped m-lines are done (str0m may recycle them for a later add_media).
        let out_by_mid = &mut self.out_by_mid;
        self.tracks_out.retain(|_, t| match t.state {
            OutState::NegotiatingStop(m) => {
                out_by_mid.remove(&m);
                false
            }
            _ => true,
        });
        Ok(opened)
    }

    /// Sets how it shows the track on our m-line `mid`. True if that changed.
    pub(crate) fn set_view(&mut self, mid: Mid, view: View) -> bool {
        let Some(key) = self.out_by_mid.get(&mid) else {
            return false;
        };
        let Some(track) = self.tracks_out.get_mut(key) else {
            return false;
        };
        let changed = track.sel.view != Some(view);
        track.sel.view = Some(view);
        changed
    }

    /// Its open video tracks and how it shows them, for the allocator.
    pub(crate) fn open_video(&self) -> Vec<(TrackKey, View)> {
        self.tracks_out
            .iter()
            .filter(|(_, t)| matches!(t.state, OutState::Open(_)) && t.kind == MediaKind::Video)
            .map(|(key, t)| (*key, t.sel.view.unwrap_or(View::Unknown)))
            .collect()
    }

    /// Tracks waiting for a keyframe of the layer they switch to, and that layer.
    pub(crate) fn switches(&self) -> Vec<(TrackKey, Rid)> {
        self.tracks_out
            .iter()
            .filter_map(|(key, t)| {
                let target = t.sel.target?;
                (t.sel.current != Some(target)).then_some((*key, target))
            })
            .collect()
    }

    /// Where it stands on track `key`'s layers.
    pub(crate) fn selection(&mut self, key: TrackKey) -> Option<&mut Selection> {
        self.tracks_out.get_mut(&key).map(|t| &mut t.sel)
    }

    /// How many audio tracks of others it receives over open m-lines.
    pub(crate) fn open_audio(&self) -> usize {
        self.tracks_out
            .values()
            .filter(|t| matches!(t.state, OutState::Open(_)) && t.kind == MediaKind::Audio)
            .count()
    }

    /// Asks the endpoint for a keyframe of a track it publishes (of simulcast layer
    /// `rid`, if it sends layers). True if the `Rtc` was mutated (then drain it).
    pub(crate) fn request_keyframe(
        &mut self,
        mid: Mid,
        rid: Option<Rid>,
        kind: KeyframeRequestKind,
    ) -> bool {
        let Some(mut writer) = self.rtc.writer(mid) else {
            return false;
        };
        // Fails for a track that sends nothing yet, or a codec without feedback.
        let _ = writer.request_keyframe(rid, kind);
        true
    }
}
