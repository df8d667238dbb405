//! One RTSP session with a camera (retina): `DESCRIBE`, `SETUP` of the streams the SFU
//! can pass through (H.264 video, required; G.711 audio, if the camera sends it), `PLAY`,
//! then frames. H.264 comes out as access units in Annex B form with the SPS and PPS
//! before every keyframe (retina's `FrameFormat::SIMPLE`): what str0m's packetizer
//! takes and what a receiver that starts at a keyframe needs.

use super::settings::Camera;
use confab_sfu::{SourceCodec, SourceFrame};
use futures_util::StreamExt;
use retina::client::{Credentials, Demuxed, PlayOptions, Session, SessionOptions, SetupOptions};
use retina::codec::{CodecItem, FrameFormat};
use std::sync::Arc;

/// Why a camera's session failed or ended.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RtspError {
    /// The RTSP exchange or the stream failed (unreachable, refused, bad
    /// credentials, the connection dropped).
    #[error("{0}")]
    Rtsp(#[from] retina::Error),
    /// The camera sends no video the SFU can pass through.
    #[error("its video is {0}; only H.264 is passed through (set the camera's stream to H.264)")]
    Unsupported(String),
    /// The camera offers no video stream at all.
    #[error("it offers no video stream")]
    NoVideo,
    /// The stream ended (the camera closed it).
    #[error("the stream ended")]
    Ended,
    /// Connecting, or the next frame, took too long.
    #[error("{0}")]
    Timeout(&'static str),
}

/// A playing session: the tracks the SFU gets, by retina stream index, and the frames.
pub(super) struct Pull {
    demuxed: Demuxed,
    /// `(retina stream index, codec)`; a frame's track is its position here.
    tracks: Vec<(usize, SourceCodec)>,
    /// Streams the camera sends that are not passed through, in words (for the log).
    pub(super) skipped: Vec<String>,
}

impl Pull {
    /// Connects, picks the streams and starts playing.
    pub(super) async fn open(camera: &Camera) -> Result<Pull, RtspError> {
        let creds = camera.credentials.as_ref().map(|(user, pass)| Credentials {
            username: user.clone(),
            password: pass.expose().to_owned(),
        });
        let options = SessionOptions::default()
            .creds(creds)
            .user_agent(format!("confab/{}", env!("CARGO_PKG_VERSION")));
        let mut session = Session::describe(camera.url.clone(), options).await?;
        let mut tracks = Vec::new();
        let mut skipped = Vec::new();
        let mut video = None;
        for (i, s) in session.streams().iter().enumerate() {
            match (s.media(), s.encoding_name()) {
                ("video", "h264") if video.is_none() => {
                    video = Some(Ok(()));
                    tracks.push((i, SourceCodec::H264));
                }
                ("video", other) if video.is_none() => video = Some(Err(codec_name(other))),
                ("audio", "pcmu") => tracks.push((i, SourceCodec::Pcmu)),
                ("audio", "pcma") => tracks.push((i, SourceCodec::Pcma)),
                (media, codec) => skipped.push(format!("{media} {}", codec_name(codec))),
            }
        }
        match video {
            None => return Err(RtspError::NoVideo),
            Some(Err(codec)) => return Err(RtspError::Unsupported(codec)),
            Some(Ok(())) => {}
        }
        // One audio track at most (a receiver shows one).
        let mut audio = false;
        tracks.retain(|(_, c)| match c {
            SourceCodec::H264 => true,
            _ => !std::mem::replace(&mut audio, true),
        });
        for (i, _) in &tracks {
            let setup = SetupOptions::default().frame_format(FrameFormat::SIMPLE);
            session.setup(*i, setup).await?;
        }
        let demuxed = session.play(PlayOptions::default()).await?.demuxed()?;
        Ok(Pull {
            demuxed,
            tracks,
            skipped,
        })
    }

    /// The codecs of the tracks, in order (what the SFU is told at join).
    pub(super) fn codecs(&self) -> Vec<SourceCodec> {
        self.tracks.iter().map(|(_, c)| *c).collect()
    }

    /// The next frame of a track the SFU gets: its track index and the frame.
    pub(super) async fn next(&mut self) -> Result<(usize, SourceFrame), RtspError> {
        loop {
            let item = self.demuxed.next().await.ok_or(RtspError::Ended)??;
            let (stream, rtp_time, keyframe, data) = match item {
                CodecItem::VideoFrame(f) => {
                    let t = f.timestamp().timestamp();
                    let key = f.is_random_access_point();
                    (f.stream_id(), t, key, f.into_data())
                }
                CodecItem::AudioFrame(f) => {
                    let t = f.timestamp().timestamp();
                    (f.stream_id(), t, true, f.data().to_vec())
                }
                _ => continue,
            };
            let Some(track) = self.tracks.iter().position(|(i, _)| *i == stream) else {
                continue;
            };
            let frame = SourceFrame {
                // Extended RTP time: starts at the camera's random 32-bit origin, grows.
                rtp_time: u64::try_from(rtp_time).unwrap_or(0),
                keyframe,
                data: Arc::from(data),
            };
            return Ok((track, frame));
        }
    }
}

/// A codec as people know it.
fn codec_name(encoding: &str) -> String {
    match encoding {
        "h265" => "H.265".into(),
        "jpeg" => "MJPEG".into(),
        "mp4v-es" => "MPEG-4".into(),
        "mpeg4-generic" => "AAC".into(),
        other => other.to_uppercase(),
    }
}
