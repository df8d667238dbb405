//! The recorder: writes the frames the SFU copies out of recorded rooms to files, one
//! per track (WebM for browsers' VP8 and Opus, Matroska for IP cameras' H.264 and
//! G.711; see `names.rs`), on a thread of its own (file IO never blocks the SFU task).
//!
//! The SFU driver hands it `Start`/`Stop` for each recorded SFU room (a call) and every
//! recorded frame, with `try_send` into a bounded queue: when the disk falls behind,
//! frames are dropped (and counted) rather than slowing media. Each call's recording is a
//! folder `<data dir>/recordings/<room>/<unix ms>-<call>/` holding
//! `<peer>-<mid>-audio.webm` / `-video.webm` (a camera's: `-audio.mka` / `-video.mkv`)
//! and, once stopped, `recording.json` (the
//! room, start and stop times, and the files: each with its person's peer id and display
//! name, and `startMs` and `endMs`, where its first frame and its end sit in the
//! recording). Files are written as frames arrive
//! (`confab-record`): a crash leaves them readable up to the last second; a clean stop
//! also writes each file's duration.
//!
//! Timing: a track's first frame is placed at its arrival since the recording started,
//! the next ones by their RTP time from there, so tracks line up with each other as they
//! arrived and each runs as smoothly as its sender's clock. A person's audio waits for
//! their video's first keyframe (`gate.rs`), so the two start together.

pub mod compose;
mod gate;
mod links;
mod names;
mod prune;
mod replay;
mod track;

pub use links::{Links, LINK_TTL_SECS};
pub use names::{content_type, kind};
pub use prune::Limits;
pub use replay::{Replay, ReplayTrack};

use confab_proto::RoomId;
use confab_sfu::RecordedFrame;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::time::Instant;
use track::TrackFile;

/// Jobs queued for the recorder thread at most (about 20 s of one call's frames).
pub const QUEUE: usize = 4096;

/// How often old recordings are deleted (see `prune.rs`), and how often a recording
/// over the quota tries again to make room.
const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);
const RETRY_ROOM: std::time::Duration = std::time::Duration::from_secs(10);

/// What the recorder thread does.
pub enum Job {
    /// Start recording SFU room `group`, a call of `room`.
    Start {
        /// The SFU room.
        group: u64,
        /// Its signaling room.
        room: RoomId,
        /// When (monotonic), for the tracks' timing.
        at: Instant,
        /// When (wall clock, ms since the Unix epoch), for the folder and manifest.
        unix_ms: u64,
    },
    /// Stop recording SFU room `group`: its files are finished and closed.
    Stop {
        /// The SFU room.
        group: u64,
        /// When (wall clock).
        unix_ms: u64,
    },
    /// A frame of SFU room `group`.
    Frame(u64, Box<RecordedFrame>),
    /// The display name of the member whose tracks carry `label` (its peer id), told
    /// when it joins an SFU call; the manifest names each file's person with it.
    Name {
        /// The peer id.
        label: String,
        /// Its display name then.
        name: String,
    },
}

/// Names kept for labels at most; past that the table starts again (a track takes its
/// person's name when its file is made, so only people who joined before and have not
/// sent a frame since lose theirs).
const MAX_NAMES: usize = 4096;

/// The driver's side: queues jobs for the thread.
#[derive(Clone)]
pub struct Recorder {
    tx: SyncSender<Job>,
}

impl Recorder {
    /// Starts the thread, writing under `dir` within `limits`.
    pub fn spawn(dir: PathBuf, limits: Limits) -> std::io::Result<Recorder> {
        let (tx, rx) = sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("confab-recorder".into())
            .spawn(move || run(dir, limits, rx))?;
        Ok(Recorder { tx })
    }

    /// Queues `job`; false if the queue is full (the job is dropped) or the thread is
    /// gone.
    pub fn send(&self, job: Job) -> bool {
        match self.tx.try_send(job) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => false,
        }
    }
}

/// One call being recorded.
struct Session {
    room: RoomId,
    dir: PathBuf,
    started: Instant,
    unix_ms: u64,
    tracks: HashMap<(String, String), TrackFile>,
    /// Whose audio may be written yet.
    gate: gate::StartGate,
    /// It stopped writing: all recordings would not fit the quota.
    full: bool,
}

fn run(dir: PathBuf, limits: Limits, rx: Receiver<Job>) {
    let mut sessions: HashMap<u64, Session> = HashMap::new();
    let mut names: HashMap<String, String> = HashMap::new();
    let active = |s: &HashMap<u64, Session>| s.values().map(|s| s.dir.clone()).collect::<Vec<_>>();
    let mut used = prune::prune(&dir, limits, crate::unix_ms(), &[]);
    let mut pruned = Instant::now();
    loop {
        // The queue closes when the SFU driver goes (shutdown): every file is finished.
        let job = match rx.recv_timeout(PRUNE_EVERY) {
            Ok(job) => Some(job),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => None,
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        };
        let over = used > limits.quota_bytes && pruned.elapsed() >= RETRY_ROOM;
        if over || pruned.elapsed() >= PRUNE_EVERY || matches!(job, Some(Job::Start { .. })) {
            used = prune::prune(&dir, limits, crate::unix_ms(), &active(&sessions));
            pruned = Instant::now();
        }
        let Some(job) = job else {
            continue;
        };
        match job {
            Job::Start {
                group,
                room,
                at,
                unix_ms,
            } => {
                let folder = dir.join(room.as_str()).join(format!("{unix_ms}-{group}"));
                if let Err(e) = std::fs::create_dir_all(&folder) {
                    tracing::error!(path = %folder.display(), error = %e, "cannot create the recording folder");
                    continue;
                }
                tracing::info!(%room, path = %folder.display(), "recording started");
                let session = Session {
                    room,
                    dir: folder,
                    started: at,
                    unix_ms,
                    tracks: HashMap::new(),
                    gate: gate::StartGate::default(),
                    full: false,
                };
                sessions.insert(group, session);
            }
            Job::Name { label, name } => {
                if names.len() >= MAX_NAMES && !names.contains_key(&label) {
                    names.clear();
                }
                names.insert(label, name);
            }
            Job::Stop { group, unix_ms } => {
                if let Some(s) = sessions.remove(&group) {
                    finish(s, unix_ms);
                }
            }
            Job::Frame(group, frame) => {
                let Some(s) = sessions.get_mut(&group) else {
                    continue;
                };
                if used > limits.quota_bytes {
                    if !s.full {
                        s.full = true;
                        tracing::error!(room = %s.room, "recordings are over --recording-quota-mb: this one stops writing");
                    }
                    continue;
                }
                if frame.audio && !s.gate.audio(&frame.label, frame.arrived) {
                    continue;
                }
                let key = (frame.label.clone(), frame.track.clone());
                let track = match s.tracks.entry(key) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        let name = names.get(&frame.label).cloned().unwrap_or_default();
                        match TrackFile::create(&s.dir, &frame, name) {
                            Some(t) => e.insert(t),
                            None => continue,
                        }
                    }
                };
                used += track.write(s.started, &frame);
                if !frame.audio && track.started() {
                    s.gate.video_started(&frame.label);
                }
            }
        }
    }
    let now = crate::unix_ms();
    for (_, s) in sessions.drain() {
        finish(s, now);
    }
}

/// Finishes a session's files and writes its manifest.
fn finish(s: Session, stopped_ms: u64) {
    let mut files = Vec::new();
    for ((peer, _), track) in s.tracks {
        if let Some(entry) = track.finish() {
            files.push(serde_json::json!({
                "file": entry.file,
                "peer": peer,
                "name": entry.name,
                "kind": entry.kind,
                "frames": entry.frames,
                "startMs": entry.start_ms,
                "endMs": entry.end_ms,
            }));
        }
    }
    let manifest = serde_json::json!({
        "room": s.room.as_str(),
        "startedMs": s.unix_ms,
        "stoppedMs": stopped_ms,
        "files": files,
    });
    let path = s.dir.join("recording.json");
    if let Err(e) = std::fs::write(&path, format!("{manifest:#}\n")) {
        tracing::error!(path = %path.display(), error = %e, "cannot write the recording manifest");
    }
    tracing::info!(room = %s.room, path = %s.dir.display(), "recording stopped");
}
