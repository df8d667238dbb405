//! A recorded room records its IP camera: GStreamer's RTSP server (H.264 320x240 at
//! 30 fps with a 4 s group of pictures, G.711 mu-law; see `common::rtsp`) is pulled into
//! room `yard`; a host records the room for a few seconds, starting in the middle of a
//! group. The recording holds the camera's H.264 as `.mkv` and its G.711 as `.mka`,
//! named in `recording.json` with the camera's name; the video starts at once with the
//! cached keyframe (not up to 4 s later at the next one); ffprobe reads it as h264 of
//! the camera's size lasting the recorded wall time within 2 %, mkvinfo reads both
//! files, and their signed links serve them as `video/x-matroska` / `audio/x-matroska`;
//! `confab recording compose` makes one MP4 of it.
//!
//! Skipped with a loud note without GStreamer's RTSP server, ffprobe or mkvinfo, unless
//! CONFAB_REQUIRE_INTEROP=1, where that is a failure.

mod common;

use common::process::{ffprobe, free_port, have_tool, probed_seconds};
use common::rtsp::{cameras, have_gstreamer, kill, rtsp_server};
use common::{join_token, TestServer};
use confab_server::auth::token::Role;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const KEY: &str = "camrec-token-key-0123456789abcdef-01234";
const INSTALL: &str = "scripts/install-test-deps.sh";

/// mkvinfo's text of `path` (it must read it).
fn mkvinfo(path: &Path) -> String {
    let out = std::process::Command::new("mkvinfo")
        .arg(path)
        .output()
        .expect("mkvinfo runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "mkvinfo {}: {text}", path.display());
    text
}

/// Waits for the one recording folder under `dir` to have its manifest.
async fn manifest(dir: &Path) -> (PathBuf, Value) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let folder = std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.join("recording.json").is_file());
        if let Some(folder) = folder {
            let text = std::fs::read_to_string(folder.join("recording.json")).unwrap();
            return (folder, serde_json::from_str(&text).unwrap());
        }
        assert!(Instant::now() < deadline, "no recording.json under {dir:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_room_records_its_camera_as_h264_and_g711_in_matroska() {
    let tools =
        have_tool("ffprobe", "-version", INSTALL) && have_tool("mkvinfo", "--version", INSTALL);
    if !have_gstreamer() || !tools {
        return;
    }
    let port = free_port();
    let camera = rtsp_server(port).await;
    let data = std::env::temp_dir().join(format!("confab-camrec-{}", std::process::id()));
    let data2 = data.clone();
    let mut s = TestServer::start_with(|c| {
        c.auth.token_key = Some(KEY.into());
        c.cameras = cameras(port);
        c.data_dir = data2;
    })
    .await;
    s.data_dir = Some(data.clone()); // removed on drop
    let (mut host, _) = s.client().await;
    let token = join_token(KEY, "yard", "Ada", Role::Host);
    let r = host
        .request(json!({"type": "join", "room": "yard", "name": "Ada", "token": token}))
        .await;
    assert_eq!(r["type"], "joined", "{r}");
    // The camera joins (or is there already); then 1.5 s, into its 4 s group.
    let in_room = r["peers"]
        .as_array()
        .is_some_and(|p| p.iter().any(|p| p["name"] == "Yard cam"));
    if !in_room {
        let joined = host.next_of("peerJoined", Duration::from_secs(15)).await;
        assert_eq!(joined["peer"]["name"], "Yard cam", "{joined}");
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    let started = Instant::now();
    host.send(json!({"type": "record", "id": 1, "on": true}))
        .await;
    host.next_of("recording", Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    host.send(json!({"type": "record", "id": 2, "on": false}))
        .await;
    let wall = started.elapsed();
    host.next_of("recording", Duration::from_secs(5)).await;

    let (folder, m) = manifest(&data.join("recordings").join("yard")).await;
    println!("{m:#}");
    let recorded_ms = m["stoppedMs"].as_u64().unwrap() - m["startedMs"].as_u64().unwrap();
    let files = m["files"].as_array().unwrap();
    let file = |suffix: &str| {
        files
            .iter()
            .find(|f| f["file"].as_str().unwrap().ends_with(suffix))
            .unwrap_or_else(|| panic!("no {suffix} in {m}"))
    };
    let (video, audio) = (file("-video.mkv"), file("-audio.mka"));
    for f in [video, audio] {
        assert_eq!(f["name"], "Yard cam", "{f}");
        assert!(f["frames"].as_u64().unwrap() > 0, "{f}");
    }
    // The video began with the cached group's keyframe, not at the next keyframe.
    let start_ms = video["startMs"].as_u64().unwrap();
    let end_ms = video["endMs"].as_u64().unwrap();
    println!(
        "camera recording: {recorded_ms} ms recorded ({} ms by the test), video {start_ms}-{end_ms} ms, audio {}-{} ms",
        wall.as_millis(),
        audio["startMs"],
        audio["endMs"]
    );
    assert!(start_ms < 300, "the video started {start_ms} ms in");
    assert!(audio["startMs"].as_u64().unwrap() < 500, "{audio}");

    let mkv = folder.join(video["file"].as_str().unwrap());
    let probe = ffprobe(&mkv);
    let stream = &probe["streams"][0];
    assert_eq!(stream["codec_name"], "h264", "{probe}");
    assert_eq!(
        (stream["width"].as_u64(), stream["height"].as_u64()),
        (Some(320), Some(240))
    );
    let duration = probed_seconds(&probe);
    let want = recorded_ms as f64 / 1000.0;
    println!("ffprobe: {duration:.3} s of h264 for {want:.3} s recorded");
    assert!(
        (duration - want).abs() <= want * 0.02,
        "{duration} s of video for {want} s recorded"
    );
    let mka = folder.join(audio["file"].as_str().unwrap());
    let probe = ffprobe(&mka);
    assert_eq!(probe["streams"][0]["codec_name"], "pcm_mulaw", "{probe}");
    assert!(mkvinfo(&mkv).contains("V_MPEG4/ISO/AVC"));
    assert!(mkvinfo(&mka).contains("A_MS/ACM"));

    // The host's list links both; each link serves its file as Matroska.
    host.send(json!({"type": "recordings", "id": 3})).await;
    let list = host.next_of("recordings", Duration::from_secs(5)).await;
    let listed = list["list"][0]["files"].as_array().unwrap().clone();
    for (suffix, kind, content_type) in [
        ("-video.mkv", "video", "video/x-matroska"),
        ("-audio.mka", "audio", "audio/x-matroska"),
    ] {
        let f = listed
            .iter()
            .find(|f| f["name"].as_str().unwrap().ends_with(suffix))
            .unwrap_or_else(|| panic!("no {suffix} listed: {list}"));
        assert_eq!(f["kind"], kind, "{f}");
        let url = f["url"].as_str().unwrap();
        let (status, head, _) = s.request("GET", url, &[("Range", "bytes=0-3")], "").await;
        assert_eq!(status, 206, "{head}");
        let head = head.to_ascii_lowercase();
        assert!(
            head.contains(&format!("content-type: {content_type}")),
            "{head}"
        );
    }
    drop(host);
    kill(camera).await;

    // `confab recording compose` makes one file of it: one cell, its voice.
    let id = folder.file_name().unwrap().to_str().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_confab"))
        .args(["recording", "compose", "yard", id, "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    let composed = folder.join("composed.mp4");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        composed.to_str().unwrap()
    );
    let probe = ffprobe(&composed);
    let kinds: Vec<&str> = probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["codec_type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.len(), 2, "{probe}");
    assert!(
        kinds.contains(&"video") && kinds.contains(&"audio"),
        "{probe}"
    );
    let cell = probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["codec_type"] == "video")
        .map(|s| (s["width"].as_u64(), s["height"].as_u64()));
    assert_eq!(cell, Some((Some(640), Some(360))), "one 640x360 cell");
    let duration = probed_seconds(&probe);
    let longest = end_ms.max(audio["endMs"].as_u64().unwrap()) as f64 / 1000.0;
    println!("composed: {duration:.3} s for tracks ending at {longest:.3} s");
    assert!((duration - longest).abs() <= longest * 0.02, "{duration} s");
}
