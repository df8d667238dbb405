//! The router: rooms, the tracks published in them, and what happens to the [`Work`]
//! endpoints produce (forward a frame, open or stop a track on the others, pass a
//! keyframe request to the publisher, drop an endpoint).
//!
//! Everything a publisher sends goes to every other endpoint of its room (an endpoint
//! that may not publish sends to nobody: its tracks are known, never offered); a room never
//! sees another room's tracks (the member list is per room, and the track key names the
//! publisher, whose room is looked up once per frame).

use crate::endpoint::{Endpoint, TrackKey, Work};
use crate::frame::Frame;
use crate::io::{EndpointId, EndpointKind, Output};
use crate::layers::{vp8_size, Layers, Meter, Selection};
use crate::sfu::Sfu;
use confab_proto::RoomId;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};
use str0m::media::{KeyframeRequestKind, MediaData, MediaKind, Mid, Rid};

/// One published track, as the router knows it.
#[derive(Debug)]
pub(crate) struct Track {
    pub(crate) kind: MediaKind,
    /// When the publisher was last asked for a keyframe of each layer (the throttle;
    /// `None`: a track without layers).
    keyframe_asked: Vec<(Option<Rid>, Instant)>,
    /// Its simulcast layers (none: it sends one stream).
    pub(crate) layers: Layers,
    /// Its bitrate, if it sends one stream.
    pub(crate) meter: Meter,
    /// A recording waits for its first keyframe: asked for (throttled) until it comes.
    wants_keyframe: bool,
    /// The layer a recording of a simulcast track takes: the top one, switched to (as a
    /// receiver would) on its keyframe, so a layer that appears later (the publisher's
    /// bandwidth growing) does not cut in mid-picture.
    recorded: Selection,
}

/// Rooms and tracks.
#[derive(Debug, Default)]
pub(crate) struct Router {
    /// Members of each room, in join order. Rooms with no members do not exist.
    pub(crate) rooms: HashMap<RoomId, Vec<EndpointId>>,
    pub(crate) tracks: HashMap<TrackKey, Track>,
    /// Rooms whose frames are copied out (`Input::Record`).
    pub(crate) recording: std::collections::HashSet<RoomId>,
}

impl Router {
    /// How many endpoints are in a room.
    pub(crate) fn size(&self, room: &RoomId) -> usize {
        self.rooms.get(room).map_or(0, Vec::len)
    }

    /// Registers a published track of `kind`.
    pub(crate) fn add_track(&mut self, key: TrackKey, kind: MediaKind) {
        let track = Track {
            kind,
            keyframe_asked: Vec::new(),
            layers: Layers::default(),
            wants_keyframe: false,
            recorded: Selection::default(),
            meter: Meter::default(),
        };
        self.tracks.insert(key, track);
    }

    /// The other members of `id`'s room (a copy: the caller mutates endpoints while
    /// walking it).
    fn others(&self, room: &RoomId, id: EndpointId) -> Vec<EndpointId> {
        self.rooms
            .get(room)
            .map(|m| m.iter().copied().filter(|m| *m != id).collect())
            .unwrap_or_default()
    }
}

impl Sfu {
    /// Runs queued work until none is left; work may queue more (a forwarded frame's
    /// drain can carry a keyframe request back, for instance).
    pub(crate) fn run_work(&mut self, now: Instant) {
        while let Some(work) = self.work.pop_front() {
            match work {
                Work::TrackAdded { key, kind } => self.on_track_added(key, kind),
                Work::TrackRemoved { key } => self.on_track_removed(key),
                Work::Media { key, data } => self.on_media(now, key, &data),
                Work::Keyframe { key, kind, rid } => self.on_keyframe(now, key, kind, rid),
                Work::Allocate { id } => self.allocate(now, id),
                Work::Negotiate { id } => {
                    self.to_negotiate.remove(&id);
                    self.negotiate(id);
                }
                Work::Prime { id, key } => self.prime(now, id, key, false),
                Work::Rekey { id, key } => self.rekey(now, id, key),
                Work::SlotOpened { id } => self.subscribe_all(id),
                Work::Drop { id, reason } => {
                    if self.remove_endpoint(id) {
                        self.out.push_back(Output::Disconnected {
                            endpoint: id,
                            reason,
                        });
                    }
                }
            }
        }
    }

    fn on_track_added(&mut self, key: TrackKey, kind: MediaKind) {
        let Some(publish) = self.endpoints.get(&key.0).map(|e| e.publish) else {
            return;
        };
        self.router.add_track(key, kind);
        if publish {
            self.offer_track(key, kind);
        }
    }

    /// The room and stream label of publisher or source `id`.
    fn publisher(&self, id: EndpointId) -> Option<(RoomId, Arc<str>)> {
        match self.endpoints.get(&id) {
            Some(e) => Some((e.room.clone(), e.label.clone())),
            None => self
                .sources
                .get(&id)
                .map(|s| (s.room.clone(), s.label.clone())),
        }
    }

    /// Subscribes every other member of the publisher's room to `key`.
    pub(crate) fn offer_track(&mut self, key: TrackKey, kind: MediaKind) {
        let Some((room, stream)) = self.publisher(key.0) else {
            return;
        };
        let source = self.is_source(key.0);
        for other in self.router.others(&room, key.0) {
            // A player takes tracks into its free m-lines in `negotiate`.
            if let Some(ep) = self.endpoints.get_mut(&other) {
                if ep.kind != EndpointKind::Player {
                    ep.subscribe(key, kind, stream.clone(), source);
                }
            }
            self.negotiate_soon(other);
        }
    }

    fn on_track_removed(&mut self, key: TrackKey) {
        self.router.tracks.remove(&key);
        self.withdraw_track(key);
    }

    /// Stops `key` on every other member of the publisher's room.
    fn withdraw_track(&mut self, key: TrackKey) {
        let Some((room, _)) = self.publisher(key.0) else {
            return;
        };
        for other in self.router.others(&room, key.0) {
            if let Some(ep) = self.endpoints.get_mut(&other) {
                ep.unsubscribe(key);
            }
            self.negotiate_soon(other);
        }
    }

    /// Forwards one frame to every other member of the publisher's room (of a simulcast
    /// track, to those who get its layer); an audio frame's level goes to the room's
    /// active speakers. A recording gets a simulcast track's top layer.
    fn on_media(&mut self, now: Instant, key: TrackKey, data: &MediaData) {
        let Sfu {
            endpoints,
            router,
            out,
            work,
            timers,
            config,
            speakers,
            ..
        } = self;
        let (mut audio, mut relayer) = (false, false);
        let recording = endpoints
            .get(&key.0)
            .is_some_and(|p| router.recording.contains(&p.room));
        // The RTP time a recording gets the frame at (`None`: not its layer).
        let mut record_at = Some(data.time.numer()).filter(|_| recording);
        if let Some(track) = router.tracks.get_mut(&key) {
            audio = track.kind == MediaKind::Audio;
            let keyframe = data.is_keyframe();
            match data.rid {
                Some(rid) => relayer = track.layers.observe(now, rid, data),
                None => track.meter.observe(now, data.data.len()),
            }
            if data.rid.is_none() && keyframe {
                track.meter.size = vp8_size(&data.data).or(track.meter.size);
            }
            if let Some(rid) = data.rid.filter(|_| recording) {
                let rec = &mut track.recorded;
                rec.target = track.layers.top();
                record_at = rec.admit(rid, data.time.numer(), keyframe);
                if rec.target.is_some() && rec.target != rec.current {
                    track.wants_keyframe = true;
                }
            }
            // Only a recording waits for keyframes (one stopped while waiting, no more).
            track.wants_keyframe &= recording;
            if track.wants_keyframe && record_at.is_some() {
                track.wants_keyframe = !keyframe;
            }
            if track.wants_keyframe {
                let kind = KeyframeRequestKind::Pli;
                let rid = track.recorded.target;
                work.push_back(Work::Keyframe { key, kind, rid });
            }
        }
        let Some(publisher) = endpoints.get(&key.0).filter(|p| p.publish) else {
            return;
        };
        let room = &publisher.room;
        if let Some(level) = data.ext_vals.audio_level {
            speakers.observe(now, room, key.0, &publisher.label, level);
        }
        if let Some(rtp_time) = record_at {
            let frame = recorded(room, &publisher.label, key, data, rtp_time);
            out.push_back(Output::Recorded(Box::new(frame)));
        }
        let Some(members) = router.rooms.get(room) else {
            return;
        };
        // A crowd's audio: only its active speakers are heard (see `SfuConfig`).
        if audio
            && members.len() > config.loudest_audio_above
            && !speakers.listed(room).contains(&key.0)
        {
            return;
        }
        let frame = (key, &Frame::of(data), relayer);
        fan_out(
            members,
            endpoints,
            (out, work, timers),
            config.idle_timeout,
            frame,
        );
        self.forwarded += 1;
    }

    /// Passes a keyframe request to the publisher, at most one per
    /// [`SfuConfig::keyframe_interval`](crate::SfuConfig::keyframe_interval) per track
    /// and layer: many receivers asking at once (a room joining, loss on a shared link)
    /// cost the publisher one keyframe. A request naming no layer, for a track with
    /// layers, is for its top one.
    fn on_keyframe(
        &mut self,
        now: Instant,
        key: TrackKey,
        kind: KeyframeRequestKind,
        rid: Option<Rid>,
    ) {
        let Some(track) = self.router.tracks.get_mut(&key) else {
            return;
        };
        if track.kind != MediaKind::Video {
            return;
        }
        let rid = rid.or(track.layers.top());
        let interval = self.config.keyframe_interval;
        let asked = track.keyframe_asked.iter_mut().find(|(r, _)| *r == rid);
        match asked {
            Some((_, at)) if now.saturating_duration_since(*at) < interval => return,
            Some((_, at)) => *at = now,
            None => track.keyframe_asked.push((rid, now)),
        }
        let Some(ep) = self.endpoints.get_mut(&key.0) else {
            return;
        };
        if ep.request_keyframe(key.1, rid, kind) {
            self.keyframe_requests += 1;
            self.drain(key.0);
        }
    }

    /// Makes an offer to `id` if its tracks changed and none is outstanding; a player
    /// with a free m-line takes the next track the room has for it instead.
    pub(crate) fn negotiate(&mut self, id: EndpointId) {
        let Some(ep) = self.endpoints.get_mut(&id) else {
            return;
        };
        if ep.has_free_slot() {
            self.subscribe_all(id);
            return;
        }
        if let Some(sdp) = ep.negotiate() {
            self.out.push_back(Output::Offer { endpoint: id, sdp });
            self.drain(id);
        }
    }

    /// Queues [`Sfu::negotiate`] for `id` behind the work queued now, once however
    /// many tracks change meanwhile.
    pub(crate) fn negotiate_soon(&mut self, id: EndpointId) {
        if self.to_negotiate.insert(id) {
            self.work.push_back(Work::Negotiate { id });
        }
    }

    /// Subscribes a new member to every track already published in its room.
    pub(crate) fn subscribe_to_room(&mut self, id: EndpointId) {
        self.subscribe_all(id);
        self.negotiate_soon(id);
    }

    /// Subscribes `id` to every track published in its room, in join order (a player
    /// that follows a name: to those of publishers and sources of that name only).
    fn subscribe_all(&mut self, id: EndpointId) {
        let Some((room, follow)) = self
            .endpoints
            .get(&id)
            .map(|e| (e.room.clone(), e.follow.clone()))
        else {
            return;
        };
        let followed = |name: &str| follow.as_deref().is_none_or(|f| f == name);
        let mut keys = Vec::new();
        for other in self.router.others(&room, id) {
            if let Some(ep) = self.endpoints.get(&other) {
                if !ep.publish || !followed(&ep.name) {
                    continue;
                }
                let label = ep.label.clone();
                keys.extend(
                    ep.tracks_in
                        .iter()
                        .map(|mid| ((other, *mid), label.clone(), false)),
                );
            } else if let Some(s) = self.sources.get(&other).filter(|s| followed(&s.name)) {
                keys.extend(
                    s.mids()
                        .map(|(mid, _)| ((other, mid), s.label.clone(), true)),
                );
            }
        }
        let Some(ep) = self.endpoints.get_mut(&id) else {
            return;
        };
        for (key, label, source) in keys {
            let Some(track) = self.router.tracks.get(&key) else {
                continue;
            };
            let had = ep.receives(key);
            ep.subscribe(key, track.kind, label, source);
            // A player's m-line took a (new) publisher's video: it needs a keyframe now
            // (a source's comes from its cache).
            let opened = !had && ep.kind == EndpointKind::Player && ep.receives(key);
            if opened && source {
                self.work.push_back(Work::Prime { id, key });
            } else if opened && track.kind == MediaKind::Video {
                let kind = KeyframeRequestKind::Pli;
                let rid = None;
                self.work.push_back(Work::Keyframe { key, kind, rid });
            }
        }
    }

    /// Starts or stops copying `room`'s frames out; starting asks each of its video
    /// tracks' publishers for a keyframe (a video file starts at one), again each
    /// keyframe interval until one comes (a request may cross the throttle, or be lost).
    pub(crate) fn set_recording(&mut self, now: Instant, room: RoomId, on: bool) {
        self.restart_source_recording(&room);
        if !on {
            self.router.recording.remove(&room);
            return;
        }
        let members = self.router.rooms.get(&room).cloned().unwrap_or_default();
        self.router.recording.insert(room);
        let mut videos = Vec::new();
        for (key, track) in self.router.tracks.iter_mut() {
            if members.contains(&key.0) && track.kind == MediaKind::Video {
                track.wants_keyframe = true;
                videos.push(*key);
            }
        }
        for key in videos {
            self.on_keyframe(now, key, KeyframeRequestKind::Pli, None);
        }
    }

    /// An endpoint may publish from now on (its tracks are offered to the others), or no
    /// longer (they are stopped on the others).
    pub(crate) fn set_publish(&mut self, id: EndpointId, publish: bool) {
        let Some(ep) = self.endpoints.get_mut(&id) else {
            return;
        };
        if ep.publish == publish {
            return;
        }
        ep.publish = publish;
        let mids = ep.tracks_in.clone();
        for mid in mids {
            let key = (id, mid);
            let Some(kind) = self.router.tracks.get(&key).map(|t| t.kind) else {
                continue;
            };
            if publish {
                self.offer_track(key, kind);
            } else {
                self.withdraw_track(key);
            }
        }
    }

    /// Frees an endpoint: its demux entries, its room place, its tracks (stopped on
    /// every other member by renegotiation). False if it was not there.
    pub(crate) fn remove_endpoint(&mut self, id: EndpointId) -> bool {
        let Some(ep) = self.endpoints.remove(&id) else {
            return false;
        };
        let Endpoint {
            room,
            ufrag,
            tuples,
            tracks_in,
            ..
        } = ep;
        self.demux.remove(&ufrag, &tuples);
        self.vacate(id, &room, &tracks_in);
        true
    }

    /// Takes a departed endpoint or source out of its room: its place, its tracks
    /// (`mids`), stopped on every other member by renegotiation.
    pub(crate) fn vacate(&mut self, id: EndpointId, room: &RoomId, tracks_in: &[Mid]) {
        let others = self.router.others(room, id);
        self.speakers.remove(room, id, others.is_empty());
        if others.is_empty() {
            self.router.rooms.remove(room);
        } else if let Some(members) = self.router.rooms.get_mut(room) {
            members.retain(|m| *m != id);
        }
        for mid in tracks_in {
            self.router.tracks.remove(&(id, *mid));
        }
        for other in others {
            if let Some(ep) = self.endpoints.get_mut(&other) {
                for mid in tracks_in {
                    ep.unsubscribe((id, *mid));
                }
            }
            self.negotiate_soon(other);
        }
    }
}

/// The deadline heap of the SFU's endpoints.
type Timers = BinaryHeap<Reverse<(Instant, EndpointId)>>;

/// Writes one frame of track `key` (a publisher's or a source's) to every member of its
/// room that receives it, each write followed by that receiver's drain; `relayer`: the
/// track's simulcast layers changed, so every receiver chooses its layer again. The one
/// path every forwarded frame takes.
pub(crate) fn fan_out(
    members: &[EndpointId],
    endpoints: &mut HashMap<EndpointId, Endpoint>,
    (out, work, timers): (&mut VecDeque<Output>, &mut VecDeque<Work>, &mut Timers),
    idle: Duration,
    (key, frame, relayer): (TrackKey, &Frame<'_>, bool),
) {
    for member in members {
        if *member == key.0 {
            continue;
        }
        let Some(ep) = endpoints.get_mut(member) else {
            continue;
        };
        if relayer {
            work.push_back(Work::Allocate { id: *member });
        }
        if ep.forward(key, frame) {
            ep.drain(out, work);
            crate::sfu::schedule(ep, timers, idle);
        }
    }
}

/// The copy of a forwarded frame a recorder gets.
fn recorded(
    room: &RoomId,
    label: &str,
    key: TrackKey,
    data: &MediaData,
    rtp_time: u64,
) -> crate::RecordedFrame {
    use str0m::format::Codec;
    let codec = match data.params.spec().codec {
        Codec::Vp8 => crate::RecordedCodec::Vp8,
        Codec::Opus => crate::RecordedCodec::Opus,
        _ => crate::RecordedCodec::Other,
    };
    crate::RecordedFrame {
        room: room.clone(),
        label: label.to_owned(),
        track: key.1.to_string(),
        audio: codec == crate::RecordedCodec::Opus,
        codec,
        arrived: data.network_time,
        rtp_time,
        clock_rate: data.time.denom().into(),
        keyframe: codec == crate::RecordedCodec::Opus || data.is_keyframe(),
        data: data.data.clone(),
    }
}
