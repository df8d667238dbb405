//! The names a recording's files take, in one place: the recorder makes them, the
//! links and the replay page accept only them, downloads are typed by them.
//!
//! `<peer>-<mid>-<audio|video>.<ext>`: WebM for what browsers send (VP8, Opus), Matroska
//! for what IP cameras send (H.264 as `.mkv`, G.711 as `.mka`; WebM does not allow
//! them). Besides the tracks, [`COMPOSED`]: the one MP4 `confab recording compose`
//! mixes them into, which links may name too (it is no track: not [`is_file`]).

use confab_sfu::RecordedCodec;

/// A file name's ending: its kind and the content type it is served as.
struct Ending {
    suffix: &'static str,
    kind: &'static str,
    content_type: &'static str,
}

const ENDINGS: [Ending; 4] = [
    Ending {
        suffix: "-audio.webm",
        kind: "audio",
        content_type: "audio/webm",
    },
    Ending {
        suffix: "-video.webm",
        kind: "video",
        content_type: "video/webm",
    },
    Ending {
        suffix: "-audio.mka",
        kind: "audio",
        content_type: "audio/x-matroska",
    },
    Ending {
        suffix: "-video.mkv",
        kind: "video",
        content_type: "video/x-matroska",
    },
];

/// The composed file's name in its recording's folder (`crate::record::compose`).
pub const COMPOSED: &str = "composed.mp4";

fn ending(name: &str) -> Option<&'static Ending> {
    ENDINGS.iter().find(|e| name.ends_with(e.suffix))
}

/// The ending of a track's file in `codec` (`None`: a codec the recorder does not
/// write).
pub(super) fn suffix(codec: RecordedCodec) -> Option<&'static str> {
    let i = match codec {
        RecordedCodec::Opus => 0,
        RecordedCodec::Vp8 => 1,
        RecordedCodec::Pcmu | RecordedCodec::Pcma => 2,
        RecordedCodec::H264 => 3,
        RecordedCodec::Other => return None,
    };
    Some(ENDINGS[i].suffix)
}

/// A recording file's name, in safe characters, with an ending a recording writes.
pub(super) fn is_file(name: &str) -> bool {
    ending(name).is_some()
        && name.len() <= 200
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !name.starts_with('.')
}

/// `audio` or `video`, by a recording file's name (`video` for another name).
pub fn kind(name: &str) -> &'static str {
    ending(name).map_or("video", |e| e.kind)
}

/// The content type a recording file (a track's, or [`COMPOSED`]) is served as
/// (`application/octet-stream` for another name).
pub fn content_type(name: &str) -> &'static str {
    if name == COMPOSED {
        return "video/mp4";
    }
    ending(name).map_or("application/octet-stream", |e| e.content_type)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_codec_has_an_ending_that_names_its_kind_and_type() {
        let cases = [
            (RecordedCodec::Opus, "audio", "audio/webm"),
            (RecordedCodec::Vp8, "video", "video/webm"),
            (RecordedCodec::Pcmu, "audio", "audio/x-matroska"),
            (RecordedCodec::Pcma, "audio", "audio/x-matroska"),
            (RecordedCodec::H264, "video", "video/x-matroska"),
        ];
        for (codec, k, t) in cases {
            let name = format!("ab12-s0{}", suffix(codec).unwrap());
            assert!(is_file(&name), "{name}");
            assert_eq!((kind(&name), content_type(&name)), (k, t), "{name}");
        }
        assert_eq!(suffix(RecordedCodec::Other), None);
        assert!(!is_file(COMPOSED), "the composed file is no track");
        assert_eq!(content_type(COMPOSED), "video/mp4");
        for bad in [
            "recording.json",
            "a-video.mp4",
            ".x-video.mkv",
            "a/b-video.mkv",
        ] {
            assert!(!is_file(bad), "{bad}");
        }
    }
}
