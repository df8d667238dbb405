//! Sources: participants without a WebRTC connection (IP cameras, pulled by the
//! driver), whose frames come in as [`Input::SourceFrame`](crate::Input::SourceFrame)
//! and go out by the publishers' path (`router::fan_out`).
//!
//! A source's video keeps its last group of pictures ([`Gop`]): a receiver whose
//! m-line for it opens is sent that group at once, keyframe first, with its times
//! squeezed into the few ticks before the newest one, so the receiver decodes the whole
//! group on arrival and shows the live picture without waiting for the camera's next
//! keyframe (cameras send one every 2 to 10 s, and cannot be asked for one). Until a
//! keyframe has gone to a receiver, none of the track's frames do.

use crate::endpoint::TrackKey;
use crate::frame::Frame;
use crate::io::{
    EndpointId, Output, RecordedCodec, RecordedFrame, SfuError, SourceCodec, SourceFrame,
};
use crate::sfu::Sfu;
use confab_proto::RoomId;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Instant;
use str0m::format::{Codec, CodecConfig, PayloadParams};
use str0m::media::{Frequency, MediaKind, MediaTime, Mid};

/// One source, as the SFU knows it.
#[derive(Debug)]
pub(crate) struct Source {
    pub(crate) room: RoomId,
    pub(crate) label: Arc<str>,
    /// Its name (see `Input::SourceJoin`).
    pub(crate) name: Arc<str>,
    pub(crate) tracks: Vec<SourceTrack>,
}

/// One track of a source.
#[derive(Debug)]
pub(crate) struct SourceTrack {
    /// Its made-up mid (`s0`, `s1`...): the second half of its [`TrackKey`].
    pub(crate) mid: Mid,
    pub(crate) kind: MediaKind,
    params: PayloadParams,
    clock: Frequency,
    /// Video only: the frames since the last keyframe.
    gop: Option<Gop>,
    /// A recording of its room has had this track's start (video: a keyframe, or the
    /// cached group); cleared when a recording starts or stops.
    recorded: bool,
}

impl Source {
    /// The mids of its tracks (what `tracks_in` is for an endpoint).
    pub(crate) fn mids(&self) -> impl Iterator<Item = (Mid, MediaKind)> + '_ {
        self.tracks.iter().map(|t| (t.mid, t.kind))
    }
}

/// The frames of a video track since its last keyframe, at most `max` bytes of them.
/// Pure: fed every frame, asked for the group when a receiver opens the track.
#[derive(Debug)]
pub(crate) struct Gop {
    frames: VecDeque<(u64, Arc<[u8]>)>,
    bytes: usize,
    max: usize,
}

impl Gop {
    /// An empty cache of at most `max` bytes.
    pub(crate) fn new(max: usize) -> Gop {
        Gop {
            frames: VecDeque::new(),
            bytes: 0,
            max,
        }
    }

    /// Takes the next frame: a keyframe starts the group again; a frame that would
    /// make it too big empties it until the next keyframe (a partial group is
    /// undecodable, so it is worth nothing).
    pub(crate) fn push(&mut self, rtp_time: u64, keyframe: bool, data: &Arc<[u8]>) {
        if keyframe {
            self.frames.clear();
            self.bytes = 0;
        } else if self.frames.is_empty() {
            return;
        }
        if self.bytes + data.len() > self.max {
            self.frames.clear();
            self.bytes = 0;
            return;
        }
        self.bytes += data.len();
        self.frames.push_back((rtp_time, data.clone()));
    }

    /// Bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The group, keyframe first, each frame with the time a receiver gets it at: one
    /// tick apart, so the group plays at once. For a new receiver (`again` false) the
    /// last is at its own time, and the live frames after it keep theirs; for one that
    /// had the newest frame already (`again`: it asked for a keyframe) the group starts
    /// a tick after it, since a decoder drops a frame older than one it showed. (The
    /// live frames stay ahead while the group holds fewer frames than a frame interval
    /// has ticks: 3 000 at 30 frames a second on a 90 kHz clock.)
    pub(crate) fn replay(&self, again: bool) -> impl Iterator<Item = (u64, &Arc<[u8]>)> + '_ {
        let n = self.frames.len() as u64;
        let last = self.frames.back().map_or(0, |f| f.0);
        let first = if again {
            last + 1
        } else {
            last.saturating_sub(n.saturating_sub(1))
        };
        self.frames
            .iter()
            .enumerate()
            .map(move |(i, (_, data))| (first + i as u64, data))
    }
}

/// Our payload parameters for a source codec (matched to each receiver's payload
/// type), and its clock.
fn params_of(codec: SourceCodec) -> Option<(PayloadParams, Frequency, MediaKind)> {
    let mut config = CodecConfig::new_with_defaults();
    config.enable_pcmu(true, false);
    config.enable_pcma(true, false);
    let (params, kind) = match codec {
        SourceCodec::H264 => (
            config.find(|p| {
                let f = p.spec().format;
                p.spec().codec == Codec::H264
                    && f.profile_level_id == Some(0x42e01f)
                    && f.packetization_mode == Some(1)
            })?,
            MediaKind::Video,
        ),
        SourceCodec::Pcmu => (
            config.find(|p| p.spec().codec == Codec::PCMU)?,
            MediaKind::Audio,
        ),
        SourceCodec::Pcma => (
            config.find(|p| p.spec().codec == Codec::PCMA)?,
            MediaKind::Audio,
        ),
    };
    Some((*params, params.spec().clock_rate, kind))
}

impl Sfu {
    /// A source joins its room: its tracks are offered to the others at once (it has
    /// no connection to wait for).
    pub(crate) fn handle_source_join(
        &mut self,
        id: EndpointId,
        room: RoomId,
        (label, name): (&str, &str),
        codecs: &[SourceCodec],
    ) {
        let refused = if self.endpoints.contains_key(&id) || self.sources.contains_key(&id) {
            Some(SfuError::EndpointExists)
        } else if self.endpoints.len() + self.sources.len() >= self.config.max_endpoints {
            Some(SfuError::Full)
        } else if self.router.size(&room) >= self.config.max_room_size {
            Some(SfuError::RoomFull)
        } else {
            None
        };
        if let Some(error) = refused {
            self.out.push_back(Output::Rejected {
                endpoint: id,
                error,
            });
            return;
        }
        let max = self.config.source_cache_bytes;
        let tracks: Vec<SourceTrack> = codecs
            .iter()
            .enumerate()
            .filter_map(|(i, codec)| {
                let (params, clock, kind) = params_of(*codec)?;
                Some(SourceTrack {
                    mid: Mid::from(format!("s{i}").as_str()),
                    kind,
                    params,
                    clock,
                    gop: (kind == MediaKind::Video).then(|| Gop::new(max)),
                    recorded: false,
                })
            })
            .collect();
        let label = crate::sfu::stream_label(id, label);
        let source = Source {
            room: room.clone(),
            label,
            name: name.into(),
            tracks,
        };
        let keys: Vec<(TrackKey, MediaKind)> =
            source.mids().map(|(mid, kind)| ((id, mid), kind)).collect();
        self.sources.insert(id, source);
        self.router.rooms.entry(room).or_default().push(id);
        self.out.push_back(Output::Connected { endpoint: id });
        for (key, kind) in keys {
            self.router.add_track(key, kind);
            self.offer_track(key, kind);
        }
    }

    /// One frame of a source: kept in its video's group, and forwarded.
    pub(crate) fn handle_source_frame(
        &mut self,
        now: Instant,
        id: EndpointId,
        track: usize,
        frame: SourceFrame,
    ) {
        let Some(source) = self.sources.get_mut(&id) else {
            return;
        };
        let Some(t) = source.tracks.get_mut(track) else {
            return;
        };
        // Audio frames all decode alone.
        let keyframe = frame.keyframe || t.kind == MediaKind::Audio;
        if let Some(gop) = &mut t.gop {
            gop.push(frame.rtp_time, keyframe, &frame.data);
        }
        let key = (id, t.mid);
        // Its bitrate counts in receivers' allocations like a publisher's.
        if let Some(track) = self.router.tracks.get_mut(&key) {
            track.meter.observe(now, frame.data.len());
        }
        let out = Frame {
            params: t.params,
            time: MediaTime::new(frame.rtp_time, t.clock),
            network_time: now,
            rid: None,
            keyframe,
            audio_level: None,
            data: &frame.data,
        };
        let room = &source.room;
        if self.router.recording.contains(room) {
            record(&mut self.out, now, (room, &source.label), t, &frame);
        }
        if let Some(members) = self.router.rooms.get(room) {
            crate::router::fan_out(
                members,
                &mut self.endpoints,
                (&mut self.out, &mut self.work, &mut self.timers),
                self.config.idle_timeout,
                (key, &out, false),
            );
        }
        self.forwarded += 1;
    }

    /// A receiver asked for a keyframe of `key`: a source's track starts again from
    /// the cached group (at most once per keyframe interval per receiver and track).
    pub(crate) fn rekey(&mut self, now: Instant, id: EndpointId, key: TrackKey) {
        if !self.is_source(key.0) {
            return;
        }
        let interval = self.config.keyframe_interval;
        let Some(ep) = self.endpoints.get_mut(&id) else {
            return;
        };
        if ep.restart_track(key, now, interval) {
            self.prime(now, id, key, true);
        }
    }

    /// Sends receiver `id` the cached group of source track `key` (see the module
    /// docs; `again`: see [`Gop::replay`]); nothing if it is not a source's video or
    /// holds no group.
    pub(crate) fn prime(&mut self, now: Instant, id: EndpointId, key: TrackKey, again: bool) {
        let Some(t) = self
            .sources
            .get(&key.0)
            .and_then(|s| s.tracks.iter().find(|t| t.mid == key.1))
        else {
            return;
        };
        let Some(gop) = t.gop.as_ref().filter(|g| g.bytes() > 0) else {
            return;
        };
        let Some(ep) = self.endpoints.get_mut(&id) else {
            return;
        };
        let (params, clock) = (t.params, t.clock);
        let frames = gop.replay(again).enumerate().map(|(i, (time, data))| {
            let time = MediaTime::new(time, clock);
            let frame = Frame {
                params,
                time,
                network_time: now,
                rid: None,
                keyframe: i == 0,
                audio_level: None,
                data,
            };
            (time, frame)
        });
        if ep.prime(key, frames) {
            ep.drain(&mut self.out, &mut self.work);
            crate::sfu::schedule(ep, &mut self.timers, self.config.idle_timeout);
        }
    }

    /// A recording of `room` starts or stops: its sources' tracks start their files
    /// again (video from a keyframe).
    pub(crate) fn restart_source_recording(&mut self, room: &RoomId) {
        for source in self.sources.values_mut().filter(|s| &s.room == room) {
            for t in &mut source.tracks {
                t.recorded = false;
            }
        }
    }

    /// Whether `id` is a source (its tracks wait for a keyframe on each receiver).
    pub(crate) fn is_source(&self, id: EndpointId) -> bool {
        self.sources.contains_key(&id)
    }

    /// Frees a source: its room place and tracks (stopped on every other member). False
    /// if it was not there.
    pub(crate) fn remove_source(&mut self, id: EndpointId) -> bool {
        let Some(source) = self.sources.remove(&id) else {
            return false;
        };
        let mids: Vec<Mid> = source.mids().map(|(mid, _)| mid).collect();
        self.vacate(id, &source.room, &mids);
        true
    }

    /// Bytes held in source `id`'s caches (for tests of the bound).
    #[doc(hidden)]
    pub fn source_cache_bytes(&self, id: EndpointId) -> usize {
        self.sources.get(&id).map_or(0, |s| {
            s.tracks
                .iter()
                .filter_map(|t| t.gop.as_ref())
                .map(Gop::bytes)
                .sum()
        })
    }
}

/// Copies a source's frame (just handed in, and pushed into `t`'s group) out to a
/// recording of its room. A video track's first frames are its cached group, keyframe
/// first, squeezed one tick apart before this frame's time (so the file starts with the
/// picture of now, not one from seconds ago); with no group, video waits for a keyframe.
fn record(
    out: &mut std::collections::VecDeque<Output>,
    now: Instant,
    (room, label): (&RoomId, &str),
    t: &mut SourceTrack,
    frame: &SourceFrame,
) {
    let codec = match t.params.spec().codec {
        Codec::H264 => RecordedCodec::H264,
        Codec::PCMU => RecordedCodec::Pcmu,
        Codec::PCMA => RecordedCodec::Pcma,
        _ => RecordedCodec::Other,
    };
    let audio = t.kind == MediaKind::Audio;
    let copy = |rtp_time: u64, keyframe: bool, data: &Arc<[u8]>| {
        Output::Recorded(Box::new(RecordedFrame {
            room: room.clone(),
            label: label.to_owned(),
            track: t.mid.to_string(),
            audio,
            codec,
            arrived: now,
            rtp_time,
            clock_rate: t.clock.get().into(),
            keyframe: audio || keyframe,
            data: data.clone(),
        }))
    };
    if t.recorded || audio {
        t.recorded = true;
        out.push_back(copy(frame.rtp_time, frame.keyframe, &frame.data));
        return;
    }
    // The group holds this frame as its last (or nothing: no keyframe yet, or past
    // its bound).
    let Some(gop) = t.gop.as_ref().filter(|g| g.bytes() > 0) else {
        return;
    };
    let group: Vec<Output> = gop
        .replay(false)
        .enumerate()
        .map(|(i, (time, data))| copy(time, i == 0, data))
        .collect();
    out.extend(group);
    t.recorded = true;
}

#[cfg(test)]
mod tests {
    use super::Gop;
    use std::sync::Arc;

    fn bytes(n: usize) -> Arc<[u8]> {
        vec![0; n].into()
    }

    #[test]
    fn a_group_starts_at_a_keyframe_and_replays_squeezed_before_the_newest_frame() {
        let mut gop = Gop::new(1_000);
        gop.push(0, false, &bytes(10)); // no keyframe yet: worth nothing
        assert_eq!(gop.bytes(), 0);
        for (t, key) in [(3000, true), (6000, false), (9000, false)] {
            gop.push(t, key, &bytes(100));
        }
        let times: Vec<u64> = gop.replay(false).map(|(t, _)| t).collect();
        assert_eq!(times, [8998, 8999, 9000]);
        let again: Vec<u64> = gop.replay(true).map(|(t, _)| t).collect();
        assert_eq!(again, [9001, 9002, 9003]);
        gop.push(12000, true, &bytes(50));
        assert_eq!(gop.bytes(), 50);
    }

    #[test]
    fn a_group_past_the_bound_is_dropped_until_the_next_keyframe() {
        let mut gop = Gop::new(250);
        gop.push(0, true, &bytes(100));
        gop.push(1, false, &bytes(100));
        gop.push(2, false, &bytes(100));
        assert_eq!(gop.bytes(), 0);
        gop.push(3, false, &bytes(10));
        assert_eq!(gop.bytes(), 0);
        gop.push(4, true, &bytes(10));
        assert_eq!(gop.bytes(), 10);
    }
}
