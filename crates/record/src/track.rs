//! The one track of a recording file: its codec, and the TrackEntry that describes it.
//! VP8 and Opus make a WebM file; H.264 and G.711 (what IP cameras send) make a Matroska
//! file, WebM's parent format, which allows them.

use crate::{ebml, h264};

/// A track's codec.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// VP8 video (`V_VP8`).
    Vp8,
    /// Opus audio (`A_OPUS`), 48 kHz.
    Opus,
    /// H.264 video (`V_MPEG4/ISO/AVC`): frames given in Annex B form are written with
    /// 4-byte NAL lengths, as the track's `avcC` says.
    H264,
    /// G.711 mu-law audio (`A_MS/ACM`, format tag 7), 8 kHz mono.
    Pcmu,
    /// G.711 A-law audio (`A_MS/ACM`, format tag 6), 8 kHz mono.
    Pcma,
}

impl Codec {
    /// Whether its frames are pictures (a keyframe may start a Cluster).
    pub fn is_video(self) -> bool {
        matches!(self, Codec::Vp8 | Codec::H264)
    }

    /// Whether WebM allows it (else the file is Matroska).
    pub fn is_webm(self) -> bool {
        matches!(self, Codec::Vp8 | Codec::Opus)
    }
}

/// The one track of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Track {
    /// Its codec.
    pub codec: Codec,
    /// Video: the picture size (from the first keyframe: see [`crate::vp8_keyframe_size`],
    /// [`Track::h264`]).
    pub width: u16,
    /// Video: the picture height.
    pub height: u16,
    /// Audio: channels (Opus in WebRTC is 2; G.711 is 1).
    pub channels: u8,
    /// H.264: the decoder configuration (`avcC`), the track's CodecPrivate.
    pub avcc: Vec<u8>,
}

impl Track {
    /// Opus audio, stereo as WebRTC negotiates it.
    pub fn opus() -> Track {
        Track::audio(Codec::Opus, 2)
    }

    /// VP8 video of `width` x `height`.
    pub fn vp8(width: u16, height: u16) -> Track {
        Track {
            codec: Codec::Vp8,
            width,
            height,
            channels: 0,
            avcc: Vec::new(),
        }
    }

    /// H.264 video as a keyframe (an Annex B access unit with its SPS and PPS) describes
    /// it; `None` for a frame without them or with an SPS that does not parse.
    pub fn h264(keyframe: &[u8]) -> Option<Track> {
        let (avcc, width, height) = h264::decoder_config(keyframe)?;
        Some(Track {
            codec: Codec::H264,
            width,
            height,
            channels: 0,
            avcc,
        })
    }

    /// G.711 audio (8 kHz mono): mu-law, or A-law if `alaw`.
    pub fn g711(alaw: bool) -> Track {
        Track::audio(if alaw { Codec::Pcma } else { Codec::Pcmu }, 1)
    }

    fn audio(codec: Codec, channels: u8) -> Track {
        Track {
            codec,
            width: 0,
            height: 0,
            channels,
            avcc: Vec::new(),
        }
    }

    /// The EBML header's DocType.
    pub(crate) fn doc_type(&self) -> &'static str {
        if self.codec.is_webm() {
            "webm"
        } else {
            "matroska"
        }
    }

    /// The TrackEntry's body: number 1, its type, codec and settings.
    pub(crate) fn entry(&self) -> Vec<u8> {
        let mut entry = Vec::new();
        ebml::uint(&mut entry, id::TRACK_NUMBER, 1);
        ebml::uint(&mut entry, id::TRACK_UID, 1);
        let (codec_id, private) = match self.codec {
            Codec::Vp8 => ("V_VP8", Vec::new()),
            Codec::H264 => ("V_MPEG4/ISO/AVC", self.avcc.clone()),
            Codec::Opus => ("A_OPUS", opus_head(self.channels)),
            Codec::Pcmu => ("A_MS/ACM", wave_format(7)),
            Codec::Pcma => ("A_MS/ACM", wave_format(6)),
        };
        ebml::uint(
            &mut entry,
            id::TRACK_TYPE,
            if self.codec.is_video() { 1 } else { 2 },
        );
        ebml::string(&mut entry, id::CODEC_ID, codec_id);
        if !private.is_empty() {
            ebml::element(&mut entry, id::CODEC_PRIVATE, &private);
        }
        if self.codec.is_video() {
            let mut video = Vec::new();
            ebml::uint(&mut video, id::PIXEL_WIDTH, self.width.into());
            ebml::uint(&mut video, id::PIXEL_HEIGHT, self.height.into());
            ebml::element(&mut entry, id::VIDEO, &video);
        } else {
            let rate = if self.codec == Codec::Opus {
                48_000.0
            } else {
                8_000.0
            };
            let mut audio = Vec::new();
            ebml::float(&mut audio, id::SAMPLING_FREQUENCY, rate);
            ebml::uint(&mut audio, id::CHANNELS, self.channels.into());
            if !self.codec.is_webm() {
                ebml::uint(&mut audio, id::BIT_DEPTH, 8);
            }
            ebml::element(&mut entry, id::AUDIO, &audio);
        }
        entry
    }
}

/// Element ids of a TrackEntry (Matroska's specification).
mod id {
    pub const TRACK_NUMBER: u32 = 0xD7;
    pub const TRACK_UID: u32 = 0x73C5;
    pub const TRACK_TYPE: u32 = 0x83;
    pub const CODEC_ID: u32 = 0x86;
    pub const CODEC_PRIVATE: u32 = 0x63A2;
    pub const VIDEO: u32 = 0xE0;
    pub const PIXEL_WIDTH: u32 = 0xB0;
    pub const PIXEL_HEIGHT: u32 = 0xBA;
    pub const AUDIO: u32 = 0xE1;
    pub const SAMPLING_FREQUENCY: u32 = 0xB5;
    pub const CHANNELS: u32 = 0x9F;
    pub const BIT_DEPTH: u32 = 0x6264;
}

/// The Opus identification header (RFC 7845 §5.1) a WebM Opus track carries as its
/// CodecPrivate: no pre-skip, 48 kHz, no gain, mapping family 0.
fn opus_head(channels: u8) -> Vec<u8> {
    let mut head = b"OpusHead".to_vec();
    head.push(1);
    head.push(channels);
    head.extend_from_slice(&0u16.to_le_bytes());
    head.extend_from_slice(&48_000u32.to_le_bytes());
    head.extend_from_slice(&0i16.to_le_bytes());
    head.push(0);
    head
}

/// The WAVEFORMATEX an `A_MS/ACM` track carries (what ffmpeg writes for G.711 and reads
/// back as `pcm_mulaw` / `pcm_alaw`): `tag` 7 mu-law or 6 A-law, mono, 8 kHz, 8 bits.
fn wave_format(tag: u16) -> Vec<u8> {
    let mut w = Vec::with_capacity(18);
    w.extend_from_slice(&tag.to_le_bytes());
    w.extend_from_slice(&1u16.to_le_bytes()); // channels
    w.extend_from_slice(&8_000u32.to_le_bytes()); // samples a second
    w.extend_from_slice(&8_000u32.to_le_bytes()); // bytes a second
    w.extend_from_slice(&1u16.to_le_bytes()); // block align
    w.extend_from_slice(&8u16.to_le_bytes()); // bits a sample
    w.extend_from_slice(&0u16.to_le_bytes()); // no extra bytes
    w
}
