//! A frame on its way to receivers, whoever sent it: a publisher's (str0m's
//! [`MediaData`]) or a source's (a camera's, see `source.rs`). Both take the one path
//! `router::fan_out` → `Endpoint::forward` → [`write`], so a camera's frames reach a
//! receiver exactly as a browser's do.

use crate::endpoint::{Endpoint, OutState, TrackKey};
use std::sync::Arc;
use std::time::Instant;
use str0m::format::PayloadParams;
use str0m::media::{MediaData, MediaTime, Mid, Pt, Rid, Writer};
use str0m::Rtc;

/// What a receiver's writer needs of a frame (borrowed: the payload is shared).
pub(crate) struct Frame<'a> {
    /// The sender's codec parameters; each receiver's payload type is matched to them.
    pub(crate) params: PayloadParams,
    /// Its media time on the sender's clock.
    pub(crate) time: MediaTime,
    /// When it arrived (str0m's pacer and statistics use it).
    pub(crate) network_time: Instant,
    /// Its simulcast layer, if the sender sends layers.
    pub(crate) rid: Option<Rid>,
    /// A video frame that decodes alone (every audio frame of a source is one).
    pub(crate) keyframe: bool,
    /// RFC 6464 level and voice activity, passed on so receivers see who is loud.
    pub(crate) audio_level: Option<(i8, bool)>,
    /// The payload.
    pub(crate) data: &'a Arc<[u8]>,
}

impl<'a> Frame<'a> {
    /// A publisher's frame, as str0m depacketized it.
    pub(crate) fn of(data: &'a MediaData) -> Frame<'a> {
        let ext = &data.ext_vals;
        Frame {
            params: data.params,
            time: data.time,
            network_time: data.network_time,
            rid: data.rid,
            keyframe: data.is_keyframe(),
            audio_level: ext
                .audio_level
                .map(|l| (l, ext.voice_activity.unwrap_or(false))),
            data: &data.data,
        }
    }
}

/// Writes `frame` at `time` on the receiver's m-line `mid`. True if the `Rtc` was
/// mutated (then drain it). An error is this receiver's problem only (a codec it
/// refused): the frame is dropped for it, and the others still get theirs.
pub(crate) fn write(rtc: &mut Rtc, mid: Mid, frame: &Frame<'_>, time: MediaTime) -> bool {
    let Some(writer) = rtc.writer(mid) else {
        return false;
    };
    let Some(pt) = payload_type(&writer, frame.params) else {
        return false;
    };
    let writer = match frame.audio_level {
        Some((level, voice)) => writer.audio_level(level, voice),
        None => writer,
    };
    let _ = writer.write(pt, frame.network_time, time, frame.data.clone());
    true
}

/// The receiver's payload type for the sender's codec: the best match among ours, if
/// this m-line negotiated it, else another of ours of the same codec and packetization
/// that it did (a camera's H.264 is offered as one profile; a receiver may have taken
/// another).
fn payload_type(writer: &Writer<'_>, params: PayloadParams) -> Option<Pt> {
    let best = writer.match_params(params)?;
    if writer.payload_params().any(|p| p.pt() == best) {
        return Some(best);
    }
    let spec = params.spec();
    writer
        .payload_params()
        .find(|p| {
            p.spec().codec == spec.codec
                && p.spec().format.packetization_mode == spec.format.packetization_mode
        })
        .map(|p| p.pt())
}

impl Endpoint {
    /// Writes a frame of another endpoint's track, if it is negotiated here (and, of a
    /// simulcast track, if it is of the layer this endpoint gets; of a source's, once a
    /// keyframe came). True if the `Rtc` was mutated (then drain it).
    pub(crate) fn forward(&mut self, key: TrackKey, frame: &Frame<'_>) -> bool {
        let Some(track) = self.tracks_out.get_mut(&key) else {
            return false;
        };
        let OutState::Open(mid) = track.state else {
            return false;
        };
        if track.wait_key {
            if !frame.keyframe {
                return false;
            }
            track.wait_key = false;
        }
        let time = match frame.rid {
            Some(rid) => {
                let numer = frame.time.numer();
                match track.sel.admit(rid, numer, frame.keyframe) {
                    Some(t) => MediaTime::new(t, frame.time.frequency()),
                    None => return false,
                }
            }
            None => frame.time,
        };
        write(&mut self.rtc, mid, frame, time)
    }

    /// A receiver asked for a keyframe of source track `key`: it waits for one again
    /// (the cached group, sent next by the caller). False if it did so less than
    /// `interval` ago, or does not receive the track.
    pub(crate) fn restart_track(
        &mut self,
        key: TrackKey,
        now: std::time::Instant,
        interval: std::time::Duration,
    ) -> bool {
        let Some(track) = self.tracks_out.get_mut(&key) else {
            return false;
        };
        if track.rekeyed.is_some_and(|at| now < at + interval) {
            return false;
        }
        track.rekeyed = Some(now);
        track.wait_key = true;
        true
    }

    /// Sends a source's cached group of pictures (keyframe first) on its open m-line,
    /// if the track still waits for a keyframe; a receiver not yet connected gets it
    /// once it is. True if the `Rtc` was mutated (then drain it).
    pub(crate) fn prime<'f>(
        &mut self,
        key: TrackKey,
        frames: impl Iterator<Item = (MediaTime, Frame<'f>)>,
    ) -> bool {
        let Some(track) = self.tracks_out.get_mut(&key) else {
            return false;
        };
        let OutState::Open(mid) = track.state else {
            return false;
        };
        if !track.wait_key {
            return false;
        }
        if !self.rtc.is_connected() {
            if !self.unprimed.contains(&key) {
                self.unprimed.push(key);
            }
            return false;
        }
        let mut mutated = false;
        for (time, frame) in frames {
            track.wait_key = false;
            mutated |= write(&mut self.rtc, mid, &frame, time);
        }
        mutated
    }
}
