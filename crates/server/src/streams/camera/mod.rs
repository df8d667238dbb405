//! IP cameras over RTSP: each `[[camera]]` of the config file is a task that pulls the
//! camera (one RTSP session however many people watch), and while the session is up
//! has the camera in its room as a participant of its kind
//! ([`ParticipantKind::Camera`]), broadcasting like a WHIP encoder: the same headless
//! client joins through the hub (`super::client`), starts the room's broadcast or joins
//! the running one, on stage. Its `sfuOffer` carries no SDP but [`describe`]'s short
//! text (its name and track codecs), which the SFU driver turns into a source of the
//! SFU core (`confab_sfu::Input::SourceJoin`); its frames then go to the driver over
//! the feed (`feed.rs`: bounded, never waits).
//!
//! - H.264 video passes through (no transcoding); a camera sending anything else is
//!   refused with a logged sentence naming it and its codec. G.711 audio passes
//!   through; other audio is left out (logged).
//! - When the session fails (the camera is unreachable, drops, stalls for
//!   [`STALL`]), the camera leaves its room: people see it go, which is how it shows
//!   offline. It tries again after a delay that doubles from [`BACKOFF_MIN`] to
//!   [`BACKOFF_MAX`] (back to the minimum after a session that ran for a while).
//! - A viewer's picture starts at once: the SFU keeps the camera's last group of
//!   pictures (see `confab_sfu`'s sources).

mod feed;
mod rtsp;
pub mod settings;

pub use feed::{channel, CameraFrame, FeedTx};
pub use settings::{Camera, Cameras};

use super::{client::Client, Origin};
use crate::signal::HubHandle;
use confab_proto::Role;
use confab_sfu::SourceCodec;
use confab_signal::{ConnId, ParticipantKind};
use feed::Feed;
use rtsp::{Pull, RtspError};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{timeout, Instant};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The first delay before trying a failed camera again.
pub const BACKOFF_MIN: Duration = Duration::from_secs(1);
/// The longest delay between tries.
pub const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A session that ran this long was healthy: the next failure waits `BACKOFF_MIN`.
const HEALTHY: Duration = Duration::from_secs(30);
/// How long connecting (DESCRIBE, SETUP, PLAY) may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A playing session that delivers no frame for this long has failed.
pub const STALL: Duration = Duration::from_secs(5);

/// What the first line of a camera's `sfuOffer` says.
const MAGIC: &str = "confab-camera";

/// What a camera's member sends as its `sfuOffer`: its name and its tracks' codecs,
/// one per line. Only a member of kind [`ParticipantKind::Camera`] (which only this
/// module makes) is read this way.
pub fn describe(name: &str, codecs: &[SourceCodec]) -> String {
    let mut text = format!("{MAGIC}\n{name}\n");
    for c in codecs {
        text.push_str(match c {
            SourceCodec::H264 => "h264\n",
            SourceCodec::Pcmu => "pcmu\n",
            SourceCodec::Pcma => "pcma\n",
        });
    }
    text
}

/// [`describe`]'s text back: the camera's name and codecs.
pub fn parse_description(text: &str) -> Option<(String, Vec<SourceCodec>)> {
    let mut lines = text.lines();
    if lines.next()? != MAGIC {
        return None;
    }
    let name = lines.next()?.to_owned();
    let codecs = lines
        .map(|l| match l {
            "h264" => Some(SourceCodec::H264),
            "pcmu" => Some(SourceCodec::Pcmu),
            "pcma" => Some(SourceCodec::Pcma),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()?;
    Some((name, codecs))
}

/// What every camera task shares.
#[derive(Clone)]
pub struct Deps {
    /// The hub, which the camera's member joins through.
    pub hub: HubHandle,
    /// Connection ids (shared with WebSockets and streams).
    pub next_conn: Arc<AtomicU64>,
    /// The SFU driver's feed.
    pub feed: FeedTx,
}

/// Starts one task per camera.
pub fn spawn(cameras: &Cameras, deps: Deps, tracker: &TaskTracker, shutdown: CancellationToken) {
    for camera in &cameras.0 {
        tracing::info!(camera = %camera.name, url = %camera.redacted_url(), room = %camera.room.as_str(), "camera configured");
        let task = Task {
            camera: camera.clone(),
            deps: deps.clone(),
            tracker: tracker.clone(),
            shutdown: shutdown.clone(),
        };
        tracker.spawn(task.run());
    }
}

/// One camera's task.
struct Task {
    camera: Camera,
    deps: Deps,
    tracker: TaskTracker,
    shutdown: CancellationToken,
}

/// How a session ended.
enum Ended {
    /// The RTSP side failed.
    Camera(RtspError),
    /// The member was refused or removed (a host removed it, the room is full...).
    Member(String),
    /// The server stops.
    Shutdown,
}

impl Task {
    /// Pulls the camera until shutdown, waiting longer after each failure.
    async fn run(self) {
        let name: Arc<str> = self.camera.name.as_str().into();
        let mut feed = Feed::new(self.deps.feed.clone(), name);
        let mut delay = BACKOFF_MIN;
        loop {
            let started = Instant::now();
            let ended = self.session(&mut feed).await;
            if started.elapsed() >= HEALTHY {
                delay = BACKOFF_MIN;
            }
            let camera = &self.camera.name;
            match ended {
                Ended::Shutdown => return,
                Ended::Camera(e @ RtspError::Unsupported(_)) => {
                    tracing::error!(%camera, error = %e, "camera refused")
                }
                Ended::Camera(e) => {
                    tracing::warn!(%camera, error = %e, retry_in = ?delay, "camera offline")
                }
                Ended::Member(why) => {
                    tracing::warn!(%camera, %why, retry_in = ?delay, "camera left its room")
                }
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = self.shutdown.cancelled() => return,
            }
            delay = (delay * 2).min(BACKOFF_MAX);
        }
    }

    /// One session: connect, join the room, pass frames on until something fails;
    /// the member leaves the room on the way out.
    async fn session(&self, feed: &mut Feed) -> Ended {
        let camera = &self.camera;
        let opened = tokio::select! {
            r = timeout(CONNECT_TIMEOUT, Pull::open(camera)) => r,
            () = self.shutdown.cancelled() => return Ended::Shutdown,
        };
        let mut pull = match opened {
            Ok(Ok(pull)) => pull,
            Ok(Err(e)) => return Ended::Camera(e),
            Err(_) => return Ended::Camera(RtspError::Timeout("connecting took over 10 s")),
        };
        if !pull.skipped.is_empty() {
            tracing::info!(camera = %camera.name, skipped = ?pull.skipped, "camera streams not passed through (only H.264 and G.711 are)");
        }
        let codecs = pull.codecs();
        let conn = ConnId(self.deps.next_conn.fetch_add(1, Ordering::Relaxed));
        let grant = crate::auth::Grant {
            name: Some(camera.name.clone()),
            role: Some(Role::Host),
            subject: Some(format!("camera:{}", camera.name)),
        };
        let offer = describe(&camera.name, &codecs);
        let hub = self.deps.hub.clone();
        let setup = Client::start(
            hub,
            conn,
            Origin::default(),
            (grant, ParticipantKind::Camera, None),
            camera.room.clone(),
            offer,
        );
        let client = match timeout(super::SETUP_TIMEOUT, setup).await {
            Ok(Ok((client, _, _))) => client,
            Ok(Err(refused)) => return Ended::Member(refused.message),
            Err(_) => {
                self.deps.hub.disconnect(conn, true).await;
                return Ended::Member("the room did not take it in time".into());
            }
        };
        tracing::info!(camera = %camera.name, room = %camera.room.as_str(), tracks = ?codecs, "camera online");
        let stop = CancellationToken::new();
        let mut member = self
            .tracker
            .spawn(client.run(stop.clone(), self.shutdown.clone()));
        feed.restart();
        let mut member_gone = false;
        let ended = loop {
            tokio::select! {
                next = timeout(STALL, pull.next()) => match next {
                    Ok(Ok((track, frame))) => {
                        let video = codecs.get(track) == Some(&SourceCodec::H264);
                        if !feed.send(track, frame, video) && feed.dropped.is_power_of_two() {
                            tracing::warn!(camera = %camera.name, dropped = feed.dropped, "camera frames dropped: the media router is behind");
                        }
                    }
                    Ok(Err(e)) => break Ended::Camera(e),
                    Err(_) => break Ended::Camera(RtspError::Timeout("no frame for 5 s")),
                },
                _ = &mut member => {
                    member_gone = true;
                    break Ended::Member("removed from the room".into());
                }
                () = self.shutdown.cancelled() => break Ended::Shutdown,
            }
        };
        stop.cancel();
        if !member_gone {
            let _ = member.await;
        }
        ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_reads_back() {
        let codecs = [SourceCodec::H264, SourceCodec::Pcmu];
        let text = describe("Front door", &codecs);
        assert_eq!(
            parse_description(&text),
            Some(("Front door".into(), codecs.to_vec()))
        );
        assert_eq!(parse_description("v=0\r\no=- 1 1 IN IP4 0.0.0.0"), None);
        assert_eq!(parse_description("confab-camera\nx\nvp8\n"), None);
    }
}
