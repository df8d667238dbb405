//! One recorded track's file: created at the track's first frame (a video file at its
//! first keyframe, whose size its header needs), written as frames come, finished with
//! its duration.

use confab_record::{vp8_keyframe_size, Track, WebmWriter};
use confab_sfu::{RecordedCodec, RecordedFrame};
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// How often a track's buffered bytes reach the disk (what a crash can lose).
const FLUSH_EVERY: Duration = Duration::from_secs(1);

/// A finished file, for the manifest.
pub(super) struct Finished {
    pub(super) file: String,
    pub(super) kind: &'static str,
    pub(super) frames: u64,
    /// Its person's display name ("" if not told).
    pub(super) name: String,
    /// Its first frame's time, in ms into the recording (the file's own timestamps are
    /// on the recording's clock too: its first block is at this time).
    pub(super) start_ms: u64,
    /// Where it ends, in ms into the recording (its Duration).
    pub(super) end_ms: u64,
}

pub(super) struct TrackFile {
    name: String,
    /// Its person's display name.
    person: String,
    audio: bool,
    file: BufWriter<File>,
    /// The muxer, once the header is written (video: at the first keyframe).
    writer: Option<WebmWriter>,
    /// The first frame's place (ms into the recording) and RTP time.
    first: Option<(u64, u64)>,
    frames: u64,
    flushed: Instant,
    failed: bool,
}

impl TrackFile {
    /// The file for `frame`'s track in `dir`; `None` for a codec the recorder does not
    /// write, or when the file cannot be made.
    pub(super) fn create(dir: &Path, frame: &RecordedFrame, person: String) -> Option<TrackFile> {
        let Some(suffix) = super::names::suffix(frame.codec) else {
            tracing::warn!(peer = %frame.label, codec = ?frame.codec, "a track in a codec the recorder does not write (only VP8, Opus, H.264 and G.711) is not recorded");
            return None;
        };
        let safe: String = frame
            .label
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        let name = format!("{safe}-{}{suffix}", frame.track);
        let path = dir.join(&name);
        tracing::debug!(path = %path.display(), "recording a track");
        match File::create(&path) {
            Ok(f) => Some(TrackFile {
                name,
                person,
                audio: frame.audio,
                file: BufWriter::new(f),
                writer: None,
                first: None,
                frames: 0,
                flushed: Instant::now(),
                failed: false,
            }),
            Err(e) => {
                tracing::error!(path = %path.display(), error = %e, "cannot create a recording file");
                None
            }
        }
    }

    /// Appends `frame` (the recording started at `started`); returns the bytes written.
    pub(super) fn write(&mut self, started: Instant, frame: &RecordedFrame) -> u64 {
        if self.failed {
            return 0;
        }
        let mut written = 0;
        if self.writer.is_none() {
            // A video file starts at a keyframe (its header needs the picture size, and
            // H.264 its SPS and PPS): earlier frames cannot be decoded.
            let Some(track) = track_of(frame) else {
                return 0;
            };
            let writer = WebmWriter::new(track);
            let header = writer.header();
            self.put(&header);
            written += header.len() as u64;
            self.writer = Some(writer);
        }
        let (first_ms, first_rtp) = *self.first.get_or_insert_with(|| {
            let ms = frame.arrived.saturating_duration_since(started).as_millis();
            (u64::try_from(ms).unwrap_or(u64::MAX), frame.rtp_time)
        });
        let ticks = frame.rtp_time.saturating_sub(first_rtp);
        let ms = first_ms + ticks * 1000 / frame.clock_rate.max(1);
        let Some(writer) = self.writer.as_mut() else {
            return written;
        };
        let bytes = writer.frame(ms, frame.keyframe, &frame.data);
        self.put(&bytes);
        written += bytes.len() as u64;
        self.frames += 1;
        if self.flushed.elapsed() >= FLUSH_EVERY {
            self.flushed = Instant::now();
            if let Err(e) = self.file.flush() {
                self.fail(&e);
            }
        }
        written
    }

    /// Whether the file has its header and first frame (video: its first keyframe).
    pub(super) fn started(&self) -> bool {
        self.writer.is_some()
    }

    fn put(&mut self, bytes: &[u8]) {
        if let Err(e) = self.file.write_all(bytes) {
            self.fail(&e);
        }
    }

    fn fail(&mut self, e: &std::io::Error) {
        tracing::error!(file = %self.name, error = %e, "writing a recording failed; the track stops here");
        self.failed = true;
    }

    /// Writes the duration into the header and closes the file; `None` if it never got
    /// a frame (a video track without a keyframe yet).
    pub(super) fn finish(mut self) -> Option<Finished> {
        let writer = self.writer.take()?;
        let offset = writer.duration_offset() as u64;
        let done = self
            .file
            .flush()
            .and_then(|()| self.file.get_mut().seek(SeekFrom::Start(offset)))
            .and_then(|_| self.file.get_mut().write_all(&writer.duration()))
            .and_then(|()| self.file.get_mut().sync_data());
        if let Err(e) = done {
            tracing::error!(file = %self.name, error = %e, "finishing a recording failed");
        }
        Some(Finished {
            file: self.name,
            kind: if self.audio { "audio" } else { "video" },
            frames: self.frames,
            name: self.person,
            start_ms: self.first.map_or(0, |(ms, _)| ms),
            end_ms: writer.end_ms(),
        })
    }
}

/// The track a file starts with, from its first frame: `None` for a video frame that is
/// not a keyframe that says its size (or a codec the recorder does not write).
fn track_of(frame: &RecordedFrame) -> Option<Track> {
    let key = frame.keyframe;
    match frame.codec {
        RecordedCodec::Opus => Some(Track::opus()),
        RecordedCodec::Pcmu => Some(Track::g711(false)),
        RecordedCodec::Pcma => Some(Track::g711(true)),
        RecordedCodec::Vp8 => {
            let (w, h) = vp8_keyframe_size(&frame.data).filter(|_| key)?;
            Some(Track::vp8(w, h))
        }
        RecordedCodec::H264 => Track::h264(&frame.data).filter(|_| key),
        RecordedCodec::Other => None,
    }
}
