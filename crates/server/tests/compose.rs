//! `confab recording compose ROOM ID` on a recording laid out as the recorder writes
//! one (made here with ffmpeg: each file's timestamps start where its track started in
//! the recording, and `recording.json` says `startMs`/`endMs`): three pictures (two VP8
//! of different sizes, one H.264 joining 2 s in) and two voices (Opus, G.711 joining 2 s
//! in). ffprobe reads `composed.mp4`: one video stream of the 2x2 grid's size
//! (1280x720), one audio stream, lasting the longest track's end within 2 %. The
//! operator's mistakes are errors in words with exit code 2: an unknown room or
//! recording, a recording with nothing to compose, no ffmpeg on PATH.
//!
//! Skipped with a loud note without ffmpeg and ffprobe, unless CONFAB_REQUIRE_INTEROP=1.

mod common;

use common::process::{ffprobe, have_tool, probed_seconds, TempDir};
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

const INSTALL: &str = "scripts/install-test-deps.sh";
const ROOM: &str = "standup";
const ID: &str = "1796628259878-3";

/// Makes `name` in `dir` with ffmpeg: `secs` of a test picture or tone from lavfi
/// `source`, encoded with `codec`, its timestamps starting at `start_ms`.
fn make(dir: &Path, name: &str, source: &str, codec: &[&str], secs: u64, start_ms: u64) {
    let offset = format!("{}.{:03}", start_ms / 1000, start_ms % 1000);
    let status = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-nostdin",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
        ])
        .args(["-i", source, "-t", &secs.to_string()])
        .args(codec)
        .args(["-output_ts_offset", &offset])
        .arg(dir.join(name))
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "making {name}");
}

/// A recording of three pictures and two voices; returns the longest track's end.
fn recording(folder: &Path) -> u64 {
    std::fs::create_dir_all(folder).unwrap();
    let vp8 = [
        "-c:v",
        "libvpx",
        "-deadline",
        "realtime",
        "-cpu-used",
        "8",
        "-b:v",
        "300k",
    ];
    let tracks = [
        (
            "a-1-video.webm",
            "testsrc=size=320x240:rate=30",
            &vp8[..],
            0,
            6,
        ),
        (
            "a-0-audio.webm",
            "sine=f=440:sample_rate=48000",
            &["-c:a", "libopus"][..],
            0,
            6,
        ),
        (
            "b-1-video.webm",
            "testsrc2=size=640x360:rate=30",
            &vp8[..],
            1500,
            5,
        ),
        (
            "c-s0-video.mkv",
            "testsrc=size=320x240:rate=25",
            &["-c:v", "libx264", "-preset", "ultrafast", "-g", "100"][..],
            2000,
            6,
        ),
        (
            "c-s1-audio.mka",
            "sine=f=660:sample_rate=8000",
            &["-c:a", "pcm_mulaw"][..],
            2000,
            6,
        ),
    ];
    let mut files = Vec::new();
    for (name, source, codec, start_ms, secs) in tracks {
        make(folder, name, source, codec, secs, start_ms);
        let kind = if name.contains("-audio.") {
            "audio"
        } else {
            "video"
        };
        files.push(json!({
            "file": name, "peer": &name[..1], "name": "", "kind": kind, "frames": 1,
            "startMs": start_ms, "endMs": start_ms + secs * 1000,
        }));
    }
    let manifest = json!({"room": ROOM, "startedMs": 1796628259878u64, "stoppedMs": 1796628267878u64, "files": files});
    std::fs::write(folder.join("recording.json"), manifest.to_string()).unwrap();
    8000
}

/// `confab recording compose ROOM ID --data-dir DIR` with `path` as PATH (else ours).
fn compose(data: &Path, room: &str, id: &str, path: Option<&Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_confab"));
    cmd.args(["recording", "compose", room, id, "--data-dir"])
        .arg(data)
        .env_remove("CONFAB_CONFIG");
    if let Some(p) = path {
        cmd.env("PATH", p);
    }
    cmd.output().expect("confab runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).trim().to_owned()
}

#[test]
fn compose_mixes_a_recording_into_one_grid_and_one_voice() {
    if !(have_tool("ffmpeg", "-version", INSTALL) && have_tool("ffprobe", "-version", INSTALL)) {
        return;
    }
    let data = TempDir::new("compose");
    let folder = data.join("recordings").join(ROOM).join(ID);
    let longest_ms = recording(&folder);

    let started = Instant::now();
    let out = compose(&data.0, ROOM, ID, None);
    let took = started.elapsed();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    assert_eq!(Path::new(&printed), folder.join("composed.mp4"));
    assert!(!folder.join("composed.mp4.part").exists());

    let probe = ffprobe(Path::new(&printed));
    let streams = probe["streams"].as_array().unwrap();
    let video: Vec<&Value> = streams
        .iter()
        .filter(|s| s["codec_type"] == "video")
        .collect();
    let audio: Vec<&Value> = streams
        .iter()
        .filter(|s| s["codec_type"] == "audio")
        .collect();
    assert_eq!((video.len(), audio.len()), (1, 1), "{probe}");
    assert_eq!(
        (&video[0]["width"], &video[0]["height"]),
        (&json!(1280), &json!(720))
    );
    assert_eq!(video[0]["codec_name"], "h264");
    assert_eq!(audio[0]["codec_name"], "aac");
    let duration = probed_seconds(&probe);
    let want = longest_ms as f64 / 1000.0;
    println!("composed {duration:.3} s (the longest track ends at {want:.3} s) in {took:?}");
    assert!(
        (duration - want).abs() <= want * 0.02,
        "{duration} s for {want} s"
    );
    // Both streams run to the end (a late joiner's track is delayed, not squeezed).
    for s in [video[0], audio[0]] {
        let d: f64 = s["duration"].as_str().unwrap().parse().unwrap();
        assert!((d - want).abs() <= want * 0.02, "{s}");
    }
}

#[test]
fn the_operators_mistakes_are_errors_in_words_with_exit_code_2() {
    let data = TempDir::new("compose-errors");
    let folder = data.join("recordings").join(ROOM).join(ID);
    std::fs::create_dir_all(&folder).unwrap();
    let cases = [
        ("nowhere", ID, "no recordings of room \"nowhere\""),
        (ROOM, "1-1", "room \"standup\" has no recording \"1-1\""),
        (ROOM, "../x", "has no recording"),
        (ROOM, ID, "has no recording.json"),
    ];
    for (room, id, says) in cases {
        let out = compose(&data.0, room, id, None);
        let err = text(&out.stderr);
        println!("{room} {id}: {err}");
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(says), "{err}");
    }
    std::fs::write(folder.join("recording.json"), r#"{"files":[]}"#).unwrap();
    let out = compose(&data.0, ROOM, ID, None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("nothing to compose"),
        "{}",
        text(&out.stderr)
    );

    // A track to compose, and no ffmpeg on PATH.
    std::fs::write(folder.join("a-0-audio.webm"), b"x").unwrap();
    let manifest =
        json!({"files": [{"file": "a-0-audio.webm", "kind": "audio", "startMs": 0, "endMs": 10}]});
    std::fs::write(folder.join("recording.json"), manifest.to_string()).unwrap();
    let empty = data.join("empty-path");
    std::fs::create_dir_all(&empty).unwrap();
    let out = compose(&data.0, ROOM, ID, Some(&empty));
    let err = text(&out.stderr);
    println!("{err}");
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("ffmpeg is not installed"), "{err}");
}
