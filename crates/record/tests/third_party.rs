//! The muxer's files read by third-party tools: ffmpeg encodes 4 s of VP8 video (IVF) and
//! Opus audio (Ogg); their frames go through [`WebmWriter`] at their own times; ffprobe
//! and mkvinfo then read both files: codec, size, a duration within 2 % of 4 s. A copy
//! cut off mid-block (a crash) still reads. Skipped with a loud note without ffmpeg and
//! mkvtoolnix, unless CONFAB_REQUIRE_INTEROP=1 (the test script sets it).

mod common;

use common::{duration, ffmpeg, ffprobe, have, mkvinfo, tmp};
use confab_record::{vp8_keyframe_size, Track, WebmWriter};

const SECONDS: f64 = 4.0;
const ENTRIES: &str = "format=duration:stream=codec_name,width,height,channels";

/// One IVF frame: its presentation time in timebase units, and the frame.
type IvfFrame = (u64, Vec<u8>);

/// IVF frames, and the timebase (rate, scale).
fn ivf_frames(bytes: &[u8]) -> (Vec<IvfFrame>, (u32, u32)) {
    assert_eq!(&bytes[..4], b"DKIF");
    let rate = u32::from_le_bytes(bytes[16..20].try_into().unwrap());
    let scale = u32::from_le_bytes(bytes[20..24].try_into().unwrap());
    let mut at = usize::from(u16::from_le_bytes([bytes[6], bytes[7]]));
    let mut frames = Vec::new();
    while at + 12 <= bytes.len() {
        let size = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let pts = u64::from_le_bytes(bytes[at + 4..at + 12].try_into().unwrap());
        frames.push((pts, bytes[at + 12..at + 12 + size].to_vec()));
        at += 12 + size;
    }
    (frames, (rate, scale))
}

/// The packets of an Ogg stream (RFC 3533), in order.
fn ogg_packets(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut packets = Vec::new();
    let mut packet = Vec::new();
    let mut at = 0;
    while at + 27 <= bytes.len() {
        assert_eq!(&bytes[at..at + 4], b"OggS");
        let segments = usize::from(bytes[at + 26]);
        let table = &bytes[at + 27..at + 27 + segments];
        let mut body = at + 27 + segments;
        for &len in table {
            packet.extend_from_slice(&bytes[body..body + usize::from(len)]);
            body += usize::from(len);
            if len < 255 {
                packets.push(std::mem::take(&mut packet));
            }
        }
        at = body;
    }
    packets
}

#[test]
fn ffprobe_and_mkvinfo_read_our_vp8_and_opus_files() {
    if !have("ffmpeg") || !have("ffprobe") || !have("mkvinfo") {
        return;
    }
    let secs = SECONDS.to_string();
    let ivf = tmp("in.ivf");
    let src = format!("testsrc=size=320x240:rate=25:duration={secs}");
    ffmpeg(
        &[
            "-f", "lavfi", "-i", &src, "-c:v", "libvpx", "-g", "50", "-f", "ivf",
        ],
        &ivf,
    );
    let ogg = tmp("in.ogg");
    let tone = format!("sine=frequency=440:duration={secs}");
    ffmpeg(
        &[
            "-f",
            "lavfi",
            "-i",
            &tone,
            "-ac",
            "2",
            "-ar",
            "48000",
            "-c:a",
            "libopus",
            "-frame_duration",
            "20",
            "-f",
            "ogg",
        ],
        &ogg,
    );

    // Video: each frame at its own time; the header waits for the first keyframe's size.
    let (frames, (rate, scale)) = ivf_frames(&std::fs::read(&ivf).unwrap());
    let (w, h) = vp8_keyframe_size(&frames[0].1).expect("ffmpeg starts with a keyframe");
    assert_eq!((w, h), (320, 240));
    let mut video = WebmWriter::new(Track::vp8(w, h));
    let mut file = video.header();
    for (pts, frame) in &frames {
        let ms = pts * 1000 * u64::from(scale) / u64::from(rate);
        file.extend(video.frame(ms, vp8_keyframe_size(frame).is_some(), frame));
    }
    // A clean close writes the Duration over the header's Void.
    let at = video.duration_offset();
    let cut_copy = file.clone();
    file[at..at + 11].copy_from_slice(&video.duration());
    let vpath = tmp("video.webm");
    std::fs::write(&vpath, &file).unwrap();

    // Audio: 20 ms packets after OpusHead and OpusTags.
    let packets = ogg_packets(&std::fs::read(&ogg).unwrap());
    assert!(packets[0].starts_with(b"OpusHead") && packets[1].starts_with(b"OpusTags"));
    let mut audio = WebmWriter::new(Track::opus());
    let mut afile = audio.header();
    for (i, p) in packets[2..].iter().enumerate() {
        afile.extend(audio.frame(i as u64 * 20, true, p));
    }
    let at = audio.duration_offset();
    afile[at..at + 11].copy_from_slice(&audio.duration());
    let apath = tmp("audio.webm");
    std::fs::write(&apath, &afile).unwrap();

    let vp = ffprobe(&vpath, ENTRIES);
    assert!(
        vp.contains("codec_name=vp8") && vp.contains("width=320") && vp.contains("height=240"),
        "{vp}"
    );
    let ap = ffprobe(&apath, ENTRIES);
    assert!(
        ap.contains("codec_name=opus") && ap.contains("channels=2"),
        "{ap}"
    );
    for (probe, what) in [(&vp, "video"), (&ap, "audio")] {
        let d = duration(probe);
        assert!(
            (d - SECONDS).abs() / SECONDS <= 0.02,
            "{what} lasts {d} s, not {SECONDS} s"
        );
    }
    let vi = mkvinfo(&vpath);
    assert!(
        vi.contains("V_VP8") && vi.contains("Pixel width: 320"),
        "{vi}"
    );
    let ai = mkvinfo(&apath);
    assert!(ai.contains("A_OPUS") && ai.contains("Channels: 2"), "{ai}");

    // Cut off mid-block, as by a crash (no Duration written): ffprobe still reads the
    // frames before the cut.
    let cut = tmp("cut.webm");
    std::fs::write(&cut, &cut_copy[..cut_copy.len() * 2 / 3 + 7]).unwrap();
    let read = common::packets(&cut);
    assert!(
        read > frames.len() / 2 && read < frames.len(),
        "{read} of {} frames read from the cut file",
        frames.len()
    );
    let _ = std::fs::remove_dir_all(ivf.parent().unwrap());
}
