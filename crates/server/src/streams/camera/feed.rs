//! The cameras' frames on their way to the SFU driver: one bounded channel, and per
//! camera a bound in bytes. A camera never waits for the SFU (its RTSP session would
//! stall) and the SFU's owner task never waits for a camera: a frame that does not fit
//! is dropped, and after a dropped video frame the camera's video is dropped until its
//! next keyframe (what follows a gap cannot be decoded).

use confab_sfu::SourceFrame;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Frames queued to the SFU driver at once, all cameras together.
pub const FEED_QUEUE: usize = 1024;
/// Bytes one camera may have queued to the SFU driver (a few seconds of a camera's
/// video; the driver takes a frame in microseconds, so only a stalled driver fills it).
pub const FEED_BYTES: usize = 8 << 20;

/// One frame of a camera, for the SFU driver.
#[derive(Debug)]
pub struct CameraFrame {
    /// The camera's name (how the driver finds its SFU source).
    pub camera: Arc<str>,
    /// The track, by position in the codecs the camera joined with.
    pub track: usize,
    /// The frame.
    pub frame: SourceFrame,
    /// Its camera's queued bytes, given back by [`CameraFrame::taken`].
    queued: Arc<AtomicUsize>,
}

impl CameraFrame {
    /// The driver took the frame off the queue: its bytes no longer count.
    pub fn taken(&self) {
        self.queued
            .fetch_sub(self.frame.data.len(), Ordering::Relaxed);
    }
}

/// The channel: senders for the cameras, the receiver for the SFU driver.
pub fn channel() -> (FeedTx, mpsc::Receiver<CameraFrame>) {
    let (tx, rx) = mpsc::channel(FEED_QUEUE);
    (FeedTx(tx), rx)
}

/// The sending side, shared by the cameras.
#[derive(Clone, Debug)]
pub struct FeedTx(mpsc::Sender<CameraFrame>);

/// One camera's sender.
pub(super) struct Feed {
    tx: FeedTx,
    camera: Arc<str>,
    queued: Arc<AtomicUsize>,
    /// A video frame was dropped: drop video until the next keyframe.
    need_key: bool,
    /// Frames the full queue refused so far (logged at powers of two); not those
    /// skipped while waiting for a keyframe.
    pub(super) dropped: u64,
}

impl Feed {
    pub(super) fn new(tx: FeedTx, camera: Arc<str>) -> Feed {
        Feed {
            tx,
            camera,
            queued: Arc::new(AtomicUsize::new(0)),
            need_key: false,
            dropped: 0,
        }
    }

    /// A new session starts: its first video frame the SFU takes is a keyframe.
    pub(super) fn restart(&mut self) {
        self.need_key = true;
    }

    /// Queues a frame without waiting; false if it was dropped.
    pub(super) fn send(&mut self, track: usize, frame: SourceFrame, video: bool) -> bool {
        if video && self.need_key && !frame.keyframe {
            return false;
        }
        let len = frame.data.len();
        let fits = self.queued.load(Ordering::Relaxed) + len <= FEED_BYTES;
        let sent = fits && {
            self.queued.fetch_add(len, Ordering::Relaxed);
            let item = CameraFrame {
                camera: self.camera.clone(),
                track,
                frame,
                queued: self.queued.clone(),
            };
            match self.tx.0.try_send(item) {
                Ok(()) => true,
                Err(e) => {
                    e.into_inner().taken();
                    false
                }
            }
        };
        if video {
            self.need_key = !sent;
        }
        if !sent {
            self.dropped += 1;
        }
        sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(key: bool, len: usize) -> SourceFrame {
        SourceFrame {
            rtp_time: 0,
            keyframe: key,
            data: vec![0; len].into(),
        }
    }

    #[test]
    fn a_full_queue_drops_video_until_the_next_keyframe() {
        let (tx, mut rx) = channel();
        let mut feed = Feed::new(tx, "cam".into());
        feed.restart();
        assert!(
            !feed.send(0, frame(false, 10), true),
            "waits for a keyframe"
        );
        assert!(feed.send(0, frame(true, FEED_BYTES - 10), true));
        assert!(
            !feed.send(0, frame(false, 100), true),
            "over the byte bound"
        );
        let first = rx.try_recv().unwrap();
        first.taken();
        assert!(
            !feed.send(0, frame(false, 100), true),
            "still waits for a keyframe"
        );
        assert!(feed.send(1, frame(true, 100), false), "audio goes on");
        assert!(feed.send(0, frame(true, 100), true));
        assert!(feed.send(0, frame(false, 100), true));
        assert_eq!(feed.dropped, 1, "one frame did not fit");
    }
}
