//! The counters a peer's task keeps, shared with the coordinator as atomics (each
//! written by one task, read at any time).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Counters of one peer, updated by its task.
#[derive(Debug, Default)]
pub struct PeerStats {
    pub(super) connected: AtomicBool,
    pub(super) rx_packets: AtomicU64,
    pub(super) rx_expected: AtomicU64,
    pub(super) rx_stamped: AtomicU64,
    pub(super) rx_stamped_expected: AtomicU64,
    pub(super) rx_bytes: AtomicU64,
    pub(super) rx_video_frames: AtomicU64,
    pub(super) rx_video_tracks: AtomicU64,
    pub(super) rx_audio_tracks: AtomicU64,
    pub(super) tx_packets: AtomicU64,
    pub(super) tx_video_frames: AtomicU64,
    pub(super) keyframe_requests: AtomicU64,
    pub(super) send_drops: AtomicU64,
    pub(super) errors: AtomicU64,
}

/// The counters at one moment (see [`PeerStats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// ICE and DTLS are up.
    pub connected: bool,
    /// Unique RTP packets received (a repaired loss counts, a duplicate does not).
    pub rx_packets: u64,
    /// RTP packets the received sequence number spans say were sent to it.
    pub rx_expected: u64,
    /// Stamped video frames and audio packets received (unique), and the span of their
    /// numbers: loss end to end, whatever the SFU does to sequence numbers.
    pub rx_stamped: u64,
    pub rx_stamped_expected: u64,
    /// RTP payload bytes received.
    pub rx_bytes: u64,
    /// Video packets received with the marker bit (one per frame).
    pub rx_video_frames: u64,
    /// Distinct video and audio streams (SSRCs) received.
    pub rx_video_tracks: u64,
    pub rx_audio_tracks: u64,
    /// RTP packets and video frames sent.
    pub tx_packets: u64,
    pub tx_video_frames: u64,
    /// Keyframe requests (PLI/FIR) that reached it.
    pub keyframe_requests: u64,
    /// Datagrams the socket refused (its send buffer full).
    pub send_drops: u64,
    /// Inputs str0m refused.
    pub errors: u64,
}

impl PeerStats {
    /// Marks ICE and DTLS up.
    pub(super) fn set_connected(&self) {
        self.connected.store(true, Ordering::Relaxed);
    }

    /// All counters, each read once.
    pub fn snapshot(&self) -> Snapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        Snapshot {
            connected: self.connected.load(Ordering::Relaxed),
            rx_packets: g(&self.rx_packets),
            rx_expected: g(&self.rx_expected),
            rx_stamped: g(&self.rx_stamped),
            rx_stamped_expected: g(&self.rx_stamped_expected),
            rx_bytes: g(&self.rx_bytes),
            rx_video_frames: g(&self.rx_video_frames),
            rx_video_tracks: g(&self.rx_video_tracks),
            rx_audio_tracks: g(&self.rx_audio_tracks),
            tx_packets: g(&self.tx_packets),
            tx_video_frames: g(&self.tx_video_frames),
            keyframe_requests: g(&self.keyframe_requests),
            send_drops: g(&self.send_drops),
            errors: g(&self.errors),
        }
    }

    /// Adds `n` to one counter.
    pub(super) fn add(a: &AtomicU64, n: u64) {
        a.fetch_add(n, Ordering::Relaxed);
    }
}
