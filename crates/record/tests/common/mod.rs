//! What the third-party tests share: finding ffmpeg, ffprobe and mkvinfo (a loud skip
//! without them, a failure under CONFAB_REQUIRE_INTEROP=1), a scratch folder per test
//! process, and reading the tools' answers.
#![allow(dead_code)] // each test binary uses its part

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Whether `tool` runs; see the module doc for when it does not.
pub fn have(tool: &str) -> bool {
    let ok = Command::new(tool)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        assert!(
            std::env::var("CONFAB_REQUIRE_INTEROP").as_deref() != Ok("1"),
            "{tool} is required (apt-get install ffmpeg mkvtoolnix)"
        );
        eprintln!("!!! SKIPPED: {tool} not installed (apt-get install ffmpeg mkvtoolnix)");
    }
    ok
}

/// A path in this process's scratch folder.
pub fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("confab-record-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Runs ffmpeg quietly with `args`, writing `out`.
pub fn ffmpeg(args: &[&str], out: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .arg(out)
        .status()
        .unwrap();
    assert!(status.success(), "ffmpeg {args:?}");
}

/// ffprobe's `key=value` lines for `entries` of `path`.
pub fn ffprobe(path: &Path, entries: &str) -> String {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", entries])
        .args(["-of", "default=noprint_wrappers=1"])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The `duration=` of an ffprobe answer.
pub fn duration(probe: &str) -> f64 {
    probe
        .lines()
        .find_map(|l| l.strip_prefix("duration="))
        .and_then(|d| d.parse().ok())
        .unwrap_or_else(|| panic!("no duration in {probe}"))
}

/// How many packets ffprobe reads from `path` (0 if it cannot read it).
pub fn packets(path: &Path) -> usize {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_packets", "-show_entries"])
        .args(["stream=nb_read_packets", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// mkvinfo's description of `path`.
pub fn mkvinfo(path: &Path) -> String {
    let out = Command::new("mkvinfo").arg(path).output().unwrap();
    assert!(
        out.status.success(),
        "mkvinfo: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout).unwrap()
}
