//! What recordings may take: they are kept `--recording-retention-days`, and all of them
//! together at most `--recording-quota-mb`, the oldest going first. Recordings being
//! written are never deleted; one that would still not fit stops writing (see
//! `Recorder`).

use std::path::{Path, PathBuf};
use std::time::Duration;

/// The limits on recordings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// How long a recording is kept (`None`: until the quota takes it).
    pub retention: Option<Duration>,
    /// Most bytes all recordings may take.
    pub quota_bytes: u64,
}

impl Limits {
    /// From the settings: days (0: no retention limit) and megabytes.
    pub fn new(retention_days: u32, quota_mb: u64) -> Limits {
        Limits {
            retention: (retention_days > 0)
                .then(|| Duration::from_secs(u64::from(retention_days) * 86_400)),
            quota_bytes: quota_mb.saturating_mul(1_000_000),
        }
    }
}

/// One recording on disk.
struct Found {
    path: PathBuf,
    started_ms: u64,
    bytes: u64,
}

/// Deletes recordings under `dir` past the retention, then the oldest until all fit the
/// quota, never one of `active`. Returns the bytes the remaining ones take.
pub fn prune(dir: &Path, limits: Limits, now_ms: u64, active: &[PathBuf]) -> u64 {
    let mut found = find(dir);
    found.sort_by_key(|f| f.started_ms);
    let mut used: u64 = found.iter().map(|f| f.bytes).sum();
    let cutoff = limits
        .retention
        .map(|r| now_ms.saturating_sub(u64::try_from(r.as_millis()).unwrap_or(u64::MAX)));
    for f in found {
        if active.contains(&f.path) {
            continue;
        }
        let expired = cutoff.is_some_and(|c| f.started_ms < c);
        if !expired && used <= limits.quota_bytes {
            continue;
        }
        match std::fs::remove_dir_all(&f.path) {
            Ok(()) => {
                used = used.saturating_sub(f.bytes);
                tracing::info!(path = %f.path.display(), expired, "recording deleted");
            }
            Err(e) => {
                tracing::error!(path = %f.path.display(), error = %e, "cannot delete a recording");
            }
        }
    }
    used
}

/// Every recording folder under `dir` (`<room>/<start ms>-<call>`), with its size.
fn find(dir: &Path) -> Vec<Found> {
    let mut out = Vec::new();
    for room in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        for rec in std::fs::read_dir(room.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = rec.file_name().to_string_lossy().into_owned();
            if !super::links::is_folder(&name) {
                continue;
            }
            let started_ms = super::links::started_ms(&name);
            let bytes = std::fs::read_dir(rec.path())
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|f| f.metadata().ok())
                .map(|m| m.len())
                .sum();
            out.push(Found {
                path: rec.path(),
                started_ms,
                bytes,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A recording of `bytes`: half a browser's WebM, half a camera's Matroska (the
    /// quota counts every file).
    fn recording(dir: &Path, room: &str, started_ms: u64, bytes: usize) -> PathBuf {
        let path = dir.join(room).join(format!("{started_ms}-1"));
        std::fs::create_dir_all(&path).unwrap();
        std::fs::write(path.join("p-0-audio.webm"), vec![0u8; bytes / 2]).unwrap();
        std::fs::write(path.join("c-s0-video.mkv"), vec![0u8; bytes - bytes / 2]).unwrap();
        path
    }

    #[test]
    fn old_recordings_go_then_the_oldest_until_all_fit_never_an_active_one() {
        let dir = std::env::temp_dir().join(format!("confab-prune-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let day = 86_400_000;
        let now = 100 * day;
        let ancient = recording(&dir, "a", now - 40 * day, 100);
        let old = recording(&dir, "a", now - 5 * day, 1_000);
        let active = recording(&dir, "b", now - 4 * day, 1_000);
        let new = recording(&dir, "b", now - day, 1_000);
        let limits = Limits {
            retention: Some(Duration::from_secs(30 * 86_400)),
            quota_bytes: 2_500,
        };
        let used = prune(&dir, limits, now, std::slice::from_ref(&active));
        // 40 days old: past retention. Then 3,000 bytes > 2,500: the oldest that is not
        // being written goes.
        assert!(!ancient.exists() && !old.exists());
        assert!(active.exists() && new.exists());
        assert_eq!(used, 2_000);
        // Under the quota and within retention: nothing more goes.
        assert_eq!(prune(&dir, limits, now, &[]), 2_000);
        assert!(new.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
