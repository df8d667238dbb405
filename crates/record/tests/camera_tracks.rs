//! What IP cameras send, muxed to Matroska and read by third-party tools: ffmpeg encodes
//! 4 s of H.264 (raw Annex B, as an RTSP camera's access units arrive) and of G.711
//! (mu-law and A-law, 20 ms frames); each frame goes through [`WebmWriter`] at its time;
//! ffprobe and mkvinfo read the files (codec, picture size, sample rate, a duration
//! within 2 % of 4 s), ffmpeg decodes every video frame without an error, and a copy cut
//! off mid-block (a crash) still reads. Skipped with a loud note without ffmpeg and
//! mkvtoolnix, unless CONFAB_REQUIRE_INTEROP=1 (the test script sets it).

mod common;

use common::{duration, ffmpeg, ffprobe, have, mkvinfo, packets, tmp};
use confab_record::{h264, Track, WebmWriter};
use std::process::Command;

const SECONDS: f64 = 4.0;
const FPS: u64 = 25;

/// The access units of a raw H.264 stream with one slice per picture (x264's default):
/// each ends with its slice, after the parameter sets and SEI before it.
fn access_units(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut units = Vec::new();
    let mut unit = Vec::new();
    for nal in h264::nal_units(stream) {
        unit.extend_from_slice(&[0, 0, 0, 1]);
        unit.extend_from_slice(nal);
        if matches!(nal[0] & 0x1F, 1 | 5) {
            units.push(std::mem::take(&mut unit));
        }
    }
    units
}

/// Writes `frames` (each at `ms`) through a writer for `track`; returns the finished file
/// and a copy without the Duration (as a crash leaves it).
fn mux(track: Track, frames: &[(u64, bool, Vec<u8>)]) -> (Vec<u8>, Vec<u8>) {
    let mut w = WebmWriter::new(track);
    let mut file = w.header();
    for (ms, key, data) in frames {
        file.extend(w.frame(*ms, *key, data));
    }
    let unfinished = file.clone();
    let at = w.duration_offset();
    file[at..at + 11].copy_from_slice(&w.duration());
    (file, unfinished)
}

#[test]
fn ffprobe_and_mkvinfo_read_our_h264_and_g711_files() {
    if !have("ffmpeg") || !have("ffprobe") || !have("mkvinfo") {
        return;
    }
    let secs = SECONDS.to_string();
    let raw = tmp("in.h264");
    let src = format!("testsrc=size=320x240:rate={FPS}:duration={secs}");
    ffmpeg(
        &[
            "-f", "lavfi", "-i", &src, "-pix_fmt", "yuv420p", "-c:v", "libx264", "-bf", "0", "-g",
            "50", "-f", "h264",
        ],
        &raw,
    );
    let units = access_units(&std::fs::read(&raw).unwrap());
    assert_eq!(units.len() as u64, 4 * FPS);
    let track = Track::h264(&units[0]).expect("the first access unit has the SPS and PPS");
    assert_eq!((track.width, track.height), (320, 240));
    let frames: Vec<_> = units
        .iter()
        .enumerate()
        .map(|(i, u)| (i as u64 * 1000 / FPS, h264::is_keyframe(u), u.clone()))
        .collect();
    assert_eq!(
        frames.iter().filter(|f| f.1).count(),
        2,
        "a keyframe every 50"
    );
    let (file, unfinished) = mux(track, &frames);
    let video = tmp("video.mkv");
    std::fs::write(&video, &file).unwrap();

    let probe = ffprobe(&video, "format=duration:stream=codec_name,width,height");
    assert!(
        probe.contains("codec_name=h264")
            && probe.contains("width=320")
            && probe.contains("height=240"),
        "{probe}"
    );
    let d = duration(&probe);
    assert!((d - SECONDS).abs() / SECONDS <= 0.02, "video lasts {d} s");
    let info = mkvinfo(&video);
    assert!(
        info.contains("V_MPEG4/ISO/AVC") && info.contains("Pixel width: 320"),
        "{info}"
    );
    assert!(info.contains("Document type: matroska"), "{info}");
    // Every frame decodes, without a complaint (the avcC and NAL lengths are right).
    let decoded = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&video)
        .args(["-f", "framemd5", "-"])
        .output()
        .unwrap();
    assert!(decoded.status.success());
    assert_eq!(
        String::from_utf8_lossy(&decoded.stderr),
        "",
        "decoding errors"
    );
    let pictures = String::from_utf8_lossy(&decoded.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count();
    assert_eq!(pictures, units.len(), "every frame decodes");

    // Cut off mid-block: the frames before the cut still read.
    let cut = tmp("cut.mkv");
    std::fs::write(&cut, &unfinished[..unfinished.len() * 2 / 3 + 7]).unwrap();
    let read = packets(&cut);
    assert!(
        read > units.len() / 2 && read < units.len(),
        "{read} of {} frames read from the cut file",
        units.len()
    );

    for (format, alaw, name) in [("mulaw", false, "pcm_mulaw"), ("alaw", true, "pcm_alaw")] {
        let raw = tmp(&format!("in.{format}"));
        let tone = format!("sine=frequency=440:duration={secs}");
        ffmpeg(
            &[
                "-f", "lavfi", "-i", &tone, "-ar", "8000", "-ac", "1", "-f", format,
            ],
            &raw,
        );
        // 20 ms frames of 160 samples, as cameras send G.711 over RTP.
        let samples = std::fs::read(&raw).unwrap();
        let frames: Vec<_> = samples
            .chunks(160)
            .enumerate()
            .map(|(i, c)| (i as u64 * 20, true, c.to_vec()))
            .collect();
        let (file, unfinished) = mux(Track::g711(alaw), &frames);
        let audio = tmp(&format!("audio-{format}.mka"));
        std::fs::write(&audio, &file).unwrap();
        let probe = ffprobe(
            &audio,
            "format=duration:stream=codec_name,sample_rate,channels",
        );
        assert!(
            probe.contains(&format!("codec_name={name}"))
                && probe.contains("sample_rate=8000")
                && probe.contains("channels=1"),
            "{probe}"
        );
        let d = duration(&probe);
        assert!(
            (d - SECONDS).abs() / SECONDS <= 0.02,
            "{format} lasts {d} s"
        );
        let info = mkvinfo(&audio);
        assert!(info.contains("A_MS/ACM"), "{info}");
        let cut = tmp(&format!("cut-{format}.mka"));
        std::fs::write(&cut, &unfinished[..unfinished.len() / 2 + 3]).unwrap();
        let read = packets(&cut);
        assert!(
            read > frames.len() / 3 && read < frames.len(),
            "{format}: {read} of {} frames read from the cut file",
            frames.len()
        );
    }
    let _ = std::fs::remove_dir_all(raw.parent().unwrap());
}
