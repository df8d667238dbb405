//! `confab recording compose <ROOM> <RECORDING-ID>`: one file of a whole recording, for
//! people who want to watch or share the call rather than its tracks. ffmpeg (run as a
//! child, found on `PATH`) puts the video tracks in a grid and mixes the audio tracks,
//! each placed where it started in the recording (`recording.json`'s `startMs`), into
//! `<recording folder>/composed.mp4`.
//!
//! MP4 (H.264 and AAC) rather than WebM: it is a file to hand on, and MP4 plays
//! everywhere people take it (browsers, phones, QuickTime, editors) where WebM does
//! not; and x264 encodes the grid several times faster than libvpx on a small server.
//! The output is written as `composed.mp4.part` and renamed when ffmpeg succeeds, so a
//! `composed.mp4` is always whole.
//!
//! Bounded: ffmpeg is killed (by its PID) after the timeout (by default a minute plus
//! three times the recording's length) or on Ctrl-C, and its partial output removed;
//! ffmpeg's stderr is kept to its last 4 KiB for the error message.

mod plan;

pub use plan::{grid, plan, Plan, Track, CELL, FPS};

use super::links::is_folder;
use super::names::{is_file, kind};
use confab_proto::RoomId;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// The composed file's name in its recording's folder.
pub const OUTPUT: &str = super::names::COMPOSED;
/// Bytes of ffmpeg's stderr kept for an error message.
const STDERR_KEPT: usize = 4096;
/// Most bytes of `recording.json` read.
const MANIFEST_MAX: u64 = 1 << 20;

/// Why a recording was not composed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ComposeError {
    /// ffmpeg is not on `PATH`.
    #[error("ffmpeg is not installed (or not on PATH): install it (Debian: apt-get install ffmpeg) to compose recordings")]
    FfmpegMissing,
    /// No recordings of that room (or not a room id).
    #[error("no recordings of room {0:?} under {1}")]
    UnknownRoom(String, PathBuf),
    /// The room has no recording of that id.
    #[error("room {room:?} has no recording {id:?} (its ids are the folders under {dir})")]
    UnknownRecording {
        /// The room.
        room: String,
        /// The id asked for.
        id: String,
        /// The room's recordings folder.
        dir: PathBuf,
    },
    /// The recording is still being written, or was cut off by a crash: no manifest.
    #[error("{0} has no recording.json: the recording is still running, or was cut off before it stopped")]
    NoManifest(PathBuf),
    /// No track file of the recording is there.
    #[error("nothing to compose: {0} holds no track that its recording.json lists")]
    NothingToCompose(PathBuf),
    /// ffmpeg failed.
    #[error("ffmpeg failed ({status}): {stderr}")]
    Ffmpeg {
        /// How it ended.
        status: ExitStatus,
        /// The end of what it said.
        stderr: String,
    },
    /// ffmpeg ran past the timeout and was stopped.
    #[error("ffmpeg took longer than {0:?} and was stopped (raise --timeout)")]
    TimedOut(Duration),
    /// Ctrl-C: ffmpeg was stopped.
    #[error("interrupted: ffmpeg was stopped, nothing written")]
    Interrupted,
    /// Reading the recording or writing the output failed.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

impl ComposeError {
    /// The process exit code: 2 for what the operator asked wrong or lacks (no ffmpeg,
    /// an unknown room or recording, nothing to compose), 130 when interrupted, 1 when
    /// composing failed.
    pub fn exit_code(&self) -> u8 {
        match self {
            ComposeError::FfmpegMissing
            | ComposeError::UnknownRoom(..)
            | ComposeError::UnknownRecording { .. }
            | ComposeError::NoManifest(_)
            | ComposeError::NothingToCompose(_) => 2,
            ComposeError::Interrupted => 130,
            _ => 1,
        }
    }
}

/// The tracks of recording `id` of `room` under `recordings` (the data dir's
/// `recordings`), as its manifest places them; the folder too.
pub fn tracks(
    recordings: &Path,
    room: &str,
    id: &str,
) -> Result<(PathBuf, Vec<Track>), ComposeError> {
    let unknown = || ComposeError::UnknownRoom(room.to_owned(), recordings.to_owned());
    let base = recordings.join(RoomId::parse(room).ok_or_else(unknown)?.as_str());
    if !base.is_dir() {
        return Err(unknown());
    }
    let folder = base.join(id);
    if !is_folder(id) || !folder.is_dir() {
        return Err(ComposeError::UnknownRecording {
            room: room.to_owned(),
            id: id.to_owned(),
            dir: base,
        });
    }
    let path = folder.join("recording.json");
    let mut text = Vec::new();
    match std::fs::File::open(&path) {
        Ok(f) => {
            use std::io::Read;
            f.take(MANIFEST_MAX)
                .read_to_end(&mut text)
                .map_err(|e| ComposeError::Io(path.clone(), e))?;
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ComposeError::NoManifest(folder));
        }
        Err(e) => return Err(ComposeError::Io(path, e)),
    }
    let manifest: serde_json::Value = serde_json::from_slice(&text).map_err(|e| {
        ComposeError::Io(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        )
    })?;
    let files = manifest["files"].as_array().cloned().unwrap_or_default();
    let mut tracks: Vec<Track> = files
        .iter()
        .filter_map(|f| {
            let name = f["file"].as_str().filter(|n| is_file(n))?;
            let path = folder.join(name);
            path.is_file().then(|| Track {
                video: kind(name) == "video",
                start_ms: f["startMs"].as_u64().unwrap_or(0),
                end_ms: f["endMs"].as_u64().unwrap_or(0),
                path,
            })
        })
        .collect();
    // Pictures in the order people appear in the files' names (stable between runs).
    tracks.sort_by(|a, b| a.path.cmp(&b.path));
    if tracks.is_empty() {
        return Err(ComposeError::NothingToCompose(folder));
    }
    Ok((folder, tracks))
}

/// Composes recording `id` of `room` under `recordings` (see the module docs) within
/// `timeout` (`None`: a minute plus three times its length); returns the file written.
pub async fn compose(
    recordings: &Path,
    room: &str,
    id: &str,
    timeout: Option<Duration>,
) -> Result<PathBuf, ComposeError> {
    let (folder, tracks) = tracks(recordings, room, id)?;
    let out = folder.join(OUTPUT);
    let part = folder.join(format!("{OUTPUT}.part"));
    let plan =
        plan(&tracks, &part).ok_or_else(|| ComposeError::NothingToCompose(folder.clone()))?;
    let timeout =
        timeout.unwrap_or(Duration::from_secs(60) + 3 * Duration::from_millis(plan.duration_ms));
    let result = run(&plan, timeout).await;
    if result.is_err() {
        let _ = std::fs::remove_file(&part);
    }
    result?;
    std::fs::rename(&part, &out).map_err(|e| ComposeError::Io(out.clone(), e))?;
    Ok(out)
}

/// Runs ffmpeg with `plan`'s arguments until it ends, the timeout, or Ctrl-C.
async fn run(plan: &Plan, timeout: Duration) -> Result<(), ComposeError> {
    let mut child = tokio::process::Command::new("ffmpeg")
        .args(&plan.args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ComposeError::FfmpegMissing,
            _ => ComposeError::Io("ffmpeg".into(), e),
        })?;
    let stderr = child.stderr.take();
    let said = tokio::spawn(async move {
        let mut kept = Vec::new();
        if let Some(mut s) = stderr {
            let mut buf = [0u8; 1024];
            while let Ok(n) = s.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                kept.extend_from_slice(&buf[..n]);
                let over = kept.len().saturating_sub(STDERR_KEPT);
                kept.drain(..over);
            }
        }
        String::from_utf8_lossy(&kept).trim().to_owned()
    });
    let ended = tokio::select! {
        status = child.wait() => Ok(status),
        () = tokio::time::sleep(timeout) => Err(ComposeError::TimedOut(timeout)),
        _ = tokio::signal::ctrl_c() => Err(ComposeError::Interrupted),
    };
    let status = match ended {
        Ok(status) => status.map_err(|e| ComposeError::Io("ffmpeg".into(), e))?,
        Err(e) => {
            // Killed by its PID and reaped: no ffmpeg outlives us.
            let _ = child.kill().await;
            return Err(e);
        }
    };
    let stderr = said.await.unwrap_or_default();
    if !status.success() {
        return Err(ComposeError::Ffmpeg { status, stderr });
    }
    Ok(())
}
