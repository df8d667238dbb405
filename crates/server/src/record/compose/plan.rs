//! The ffmpeg command that mixes a recording's tracks into one file (pure: tracks in,
//! arguments out). Video tracks go into a grid of 640x360 cells (each picture scaled to
//! fit, bars around it), audio tracks are mixed; each track is delayed by where it
//! starts in the recording, so the mix lines up as the call did.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// One cell of the grid, in pixels (16:9, what cameras and most webcams send).
pub const CELL: (u32, u32) = (640, 360);
/// Frames a second of the composed video (tracks are resampled to it).
pub const FPS: u32 = 30;

/// One track to mix: its file and where it sits in the recording.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Track {
    /// Its file.
    pub path: PathBuf,
    /// Video (else audio).
    pub video: bool,
    /// Where its first frame sits, in ms into the recording.
    pub start_ms: u64,
    /// Where it ends, in ms into the recording.
    pub end_ms: u64,
}

/// The command, and what it will make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// ffmpeg's arguments (the program not included).
    pub args: Vec<OsString>,
    /// The composed picture's size (`None`: no video track).
    pub size: Option<(u32, u32)>,
    /// The longest track's end, in ms: the composed file's length.
    pub duration_ms: u64,
}

/// The grid for `n` pictures: columns, rows (as square as it gets, wider than tall).
pub fn grid(n: usize) -> (u32, u32) {
    let mut cols = 1;
    while cols * cols < n {
        cols += 1;
    }
    let rows = n.div_ceil(cols).max(1);
    (cols as u32, rows as u32)
}

/// The command that mixes `tracks` into `out` (MP4: H.264 and AAC; see the module
/// docs of `compose`); `None` with no track at all.
pub fn plan(tracks: &[Track], out: &Path) -> Option<Plan> {
    if tracks.is_empty() {
        return None;
    }
    let mut args: Vec<OsString> = ["-hide_banner", "-nostdin", "-v", "error", "-y"]
        .map(OsString::from)
        .to_vec();
    for t in tracks {
        args.push("-i".into());
        args.push(t.path.clone().into_os_string());
    }
    let (w, h) = CELL;
    let mut graph = Vec::new();
    let (mut videos, mut audios) = (Vec::new(), Vec::new());
    for (i, t) in tracks.iter().enumerate() {
        let delay = t.start_ms;
        if t.video {
            let label = format!("v{}", videos.len());
            // Each file starts at 0 in ffmpeg (it drops the file's own offset); a
            // constant rate makes the black lead-in exact.
            graph.push(format!(
                "[{i}:v]setpts=PTS-STARTPTS,fps={FPS},\
                 scale={w}:{h}:force_original_aspect_ratio=decrease,\
                 pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p,\
                 tpad=start_duration={}:color=black[{label}]",
                seconds(delay)
            ));
            videos.push(label);
        } else {
            let label = format!("a{}", audios.len());
            graph.push(format!(
                "[{i}:a]asetpts=PTS-STARTPTS,aresample=48000,\
                 aformat=sample_fmts=fltp:channel_layouts=stereo,\
                 adelay={delay}:all=1[{label}]"
            ));
            audios.push(label);
        }
    }
    let size = (!videos.is_empty()).then(|| {
        let (cols, rows) = grid(videos.len());
        (cols * w, rows * h)
    });
    if videos.len() == 1 {
        graph.push("[v0]null[vout]".into());
    } else if !videos.is_empty() {
        let (cols, _) = grid(videos.len());
        let layout: Vec<String> = (0..videos.len() as u32)
            .map(|i| format!("{}_{}", (i % cols) * w, (i / cols) * h))
            .collect();
        let inputs: String = videos.iter().map(|l| format!("[{l}]")).collect();
        graph.push(format!(
            "{inputs}xstack=inputs={}:layout={}:fill=black[vout]",
            videos.len(),
            layout.join("|")
        ));
    }
    if audios.len() == 1 {
        graph.push("[a0]anull[aout]".into());
    } else if !audios.is_empty() {
        let inputs: String = audios.iter().map(|l| format!("[{l}]")).collect();
        // Not normalized: people rarely talk at once, and 1/n would make each quiet.
        graph.push(format!(
            "{inputs}amix=inputs={}:duration=longest:dropout_transition=0:normalize=0[aout]",
            audios.len()
        ));
    }
    args.push("-filter_complex".into());
    args.push(graph.join(";").into());
    if !videos.is_empty() {
        for a in ["-map", "[vout]", "-c:v", "libx264", "-preset", "veryfast"] {
            args.push(a.into());
        }
        for a in ["-crf", "23", "-pix_fmt", "yuv420p", "-r", &FPS.to_string()] {
            args.push(a.into());
        }
    }
    if !audios.is_empty() {
        for a in ["-map", "[aout]", "-c:a", "aac", "-b:a", "128k"] {
            args.push(a.into());
        }
    }
    for a in ["-movflags", "+faststart", "-f", "mp4"] {
        args.push(a.into());
    }
    args.push(out.as_os_str().to_owned());
    Some(Plan {
        args,
        size,
        duration_ms: tracks.iter().map(|t| t.end_ms).max().unwrap_or(0),
    })
}

/// `ms` as ffmpeg's seconds (`1.250`).
fn seconds(ms: u64) -> String {
    format!("{}.{:03}", ms / 1000, ms % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn track(name: &str, video: bool, start_ms: u64, end_ms: u64) -> Track {
        Track {
            path: PathBuf::from(name),
            video,
            start_ms,
            end_ms,
        }
    }

    #[test]
    fn grids_are_as_square_as_they_get() {
        let want = [
            (1, (1, 1)),
            (2, (2, 1)),
            (3, (2, 2)),
            (4, (2, 2)),
            (5, (3, 2)),
        ];
        for (n, g) in want {
            assert_eq!(grid(n), g, "{n} pictures");
        }
        assert_eq!(grid(10), (4, 3));
    }

    #[test]
    fn three_pictures_go_in_a_two_by_two_grid_each_delayed_by_its_start() {
        let tracks = [
            track("a-1-video.webm", true, 0, 6000),
            track("a-0-audio.webm", false, 20, 6000),
            track("b-1-video.webm", true, 1250, 5000),
            track("c-s0-video.mkv", true, 2000, 7000),
            track("c-s1-audio.mka", false, 2010, 7000),
        ];
        let p = plan(&tracks, Path::new("out.mp4")).unwrap();
        assert_eq!(p.size, Some((1280, 720)));
        assert_eq!(p.duration_ms, 7000);
        let args: Vec<String> = p
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let graph = &args[args.iter().position(|a| a == "-filter_complex").unwrap() + 1];
        assert!(
            graph.contains("[2:v]setpts=PTS-STARTPTS,fps=30,"),
            "{graph}"
        );
        assert!(
            graph.contains("tpad=start_duration=1.250:color=black[v1]"),
            "{graph}"
        );
        assert!(
            graph.contains("[4:a]") && graph.contains("adelay=2010:all=1[a1]"),
            "{graph}"
        );
        assert!(
            graph.contains("[v0][v1][v2]xstack=inputs=3:layout=0_0|640_0|0_360:fill=black[vout]"),
            "{graph}"
        );
        assert!(
            graph.contains("[a0][a1]amix=inputs=2:duration=longest"),
            "{graph}"
        );
        assert_eq!(args.last().map(String::as_str), Some("out.mp4"));
    }

    #[test]
    fn one_track_of_each_needs_no_stack_nor_mix_and_none_is_nothing() {
        let tracks = [
            track("v.mkv", true, 0, 1000),
            track("a.mka", false, 0, 1000),
        ];
        let p = plan(&tracks, Path::new("o.mp4")).unwrap();
        assert_eq!(p.size, Some(CELL));
        let graph = p
            .args
            .iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ");
        assert!(graph.contains("[v0]null[vout]") && graph.contains("[a0]anull[aout]"));
        assert!(!graph.contains("xstack") && !graph.contains("amix"));
        let audio_only = plan(&tracks[1..], Path::new("o.mp4")).unwrap();
        assert_eq!(audio_only.size, None);
        assert!(plan(&[], Path::new("o.mp4")).is_none());
    }
}
