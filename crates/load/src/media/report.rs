//! What a media run measured, as text for people and JSON for `bench/media.sh`.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt;

/// One run's figures. Counts are over the measured window unless said otherwise.
#[derive(Clone, Debug, Default)]
pub struct MediaReport {
    /// `--label`.
    pub label: String,
    /// `meeting` or `broadcast`, and `--size`.
    pub shape: String,
    pub size: u32,
    /// Rooms of that shape.
    pub rooms: u32,
    /// Publishing members, receiving peers, and all peers.
    pub publishers: u64,
    pub receivers: u64,
    pub peers: u64,
    /// From the start to every receiver getting every source's video (or the timeout).
    pub setup_secs: f64,
    /// Whether every receiver got video from every source before the timeout.
    pub ready: bool,
    /// Receivers that did.
    pub ready_receivers: u64,
    /// Length of the measured window.
    pub window_secs: f64,
    /// RTP packets the publishers sent.
    pub sent_packets: u64,
    /// Unique RTP packets the receivers got: the forwarded packets.
    pub forwarded_packets: u64,
    /// Packets the received sequence number spans promised.
    pub expected_packets: u64,
    /// Stamped video frames and audio packets the receivers got, and those the spans
    /// of the stamps promised (end to end: see [`MediaReport::loss_pct`]).
    pub stamped_received: u64,
    pub stamped_expected: u64,
    /// The receiver with the most loss (end to end), in percent.
    pub worst_loss_pct: f64,
    /// Video frames the sources sent, once per receiver of each.
    pub frames_expected: u64,
    /// Video frames (marker packets) the receivers got.
    pub frames_received: u64,
    /// Distinct video and audio streams received, over all receivers (whole run), and
    /// the video streams the plan calls for.
    pub video_tracks: u64,
    pub video_tracks_expected: u64,
    pub audio_tracks: u64,
    /// Server CPU time (user + system) in the window, if its PID was given, and the
    /// system (kernel) part of it.
    pub server_cpu_secs: Option<f64>,
    pub server_sys_secs: Option<f64>,
    /// This tool's CPU time in the window (it shares the machine).
    pub tool_cpu_secs: Option<f64>,
    /// Share of the machine's CPU time busy in the window, percent.
    pub machine_busy_pct: Option<f64>,
    /// Datagrams peers' sockets refused, str0m errors, keyframe requests (whole run).
    pub send_drops: u64,
    pub peer_errors: u64,
    pub keyframe_requests: u64,
    /// Unexpected events by description (failed setups, server errors).
    pub errors: BTreeMap<String, u64>,
    /// `--max-loss-pct`.
    pub max_loss_pct: f64,
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

impl MediaReport {
    /// Loss end to end, percent: stamped video frames and audio packets missing from
    /// the span of the numbers each receiver saw per stream. The stamps are the
    /// publishers' own, so this counts what an SFU drops before numbering a receiver's
    /// packets (confab forwards frames and numbers each receiver's packets itself: a
    /// frame it drops leaves no sequence gap).
    pub fn loss_pct(&self) -> f64 {
        pct(
            self.stamped_expected.saturating_sub(self.stamped_received),
            self.stamped_expected,
        )
    }

    /// RTP packets lost in percent of those the sequence numbers promised (what the
    /// receivers' own RTCP would report).
    pub fn rtp_loss_pct(&self) -> f64 {
        pct(
            self.expected_packets.saturating_sub(self.forwarded_packets),
            self.expected_packets,
        )
    }

    /// Video frames received in percent of those the sources sent to the receivers in
    /// the window: catches a stream that stalls (which no span shows), but frames in
    /// flight at the window's edges move it by up to one frame per source and receiver.
    pub fn frame_delivery_pct(&self) -> f64 {
        pct(self.frames_received, self.frames_expected)
    }

    /// Forwarded packets per second.
    pub fn forwarded_per_s(&self) -> f64 {
        if self.window_secs > 0.0 {
            self.forwarded_packets as f64 / self.window_secs
        } else {
            0.0
        }
    }

    /// Server CPU microseconds per forwarded packet.
    pub fn cpu_us_per_packet(&self) -> Option<f64> {
        let cpu = self.server_cpu_secs?;
        (self.forwarded_packets > 0).then(|| cpu * 1e6 / self.forwarded_packets as f64)
    }

    /// Forwarded packets per second of server CPU time.
    pub fn packets_per_cpu_sec(&self) -> Option<f64> {
        let cpu = self.server_cpu_secs?;
        (cpu > 0.0).then(|| self.forwarded_packets as f64 / cpu)
    }

    /// The kernel's share of the server's CPU time, percent.
    pub fn server_sys_pct(&self) -> Option<f64> {
        let (all, sys) = (self.server_cpu_secs?, self.server_sys_secs?);
        (all > 0.0).then(|| sys * 100.0 / all)
    }

    /// Cores the server kept busy on average.
    pub fn server_cores(&self) -> Option<f64> {
        let cpu = self.server_cpu_secs?;
        (self.window_secs > 0.0).then(|| cpu / self.window_secs)
    }

    /// The run held its receivers: all set up, every source's video at every receiver,
    /// loss end to end and RTP loss under `--max-loss-pct`, and no stall (98 % of the
    /// frames sent delivered in the window).
    pub fn held(&self) -> bool {
        self.ready
            && self.stamped_expected > 0
            && self.loss_pct() < self.max_loss_pct
            && self.rtp_loss_pct() < self.max_loss_pct
            && self.frame_delivery_pct() >= 98.0
    }

    /// Everything, for `bench/media-table.mjs`.
    pub fn to_json(&self) -> Value {
        json!({
            "label": self.label,
            "shape": self.shape,
            "size": self.size,
            "rooms": self.rooms,
            "publishers": self.publishers,
            "receivers": self.receivers,
            "peers": self.peers,
            "setupSecs": self.setup_secs,
            "ready": self.ready,
            "readyReceivers": self.ready_receivers,
            "windowSecs": self.window_secs,
            "sentPackets": self.sent_packets,
            "forwardedPackets": self.forwarded_packets,
            "forwardedPerS": self.forwarded_per_s(),
            "expectedPackets": self.expected_packets,
            "stampedReceived": self.stamped_received,
            "stampedExpected": self.stamped_expected,
            "lossPct": self.loss_pct(),
            "rtpLossPct": self.rtp_loss_pct(),
            "worstLossPct": self.worst_loss_pct,
            "framesExpected": self.frames_expected,
            "framesReceived": self.frames_received,
            "frameDeliveryPct": self.frame_delivery_pct(),
            "videoTracks": self.video_tracks,
            "videoTracksExpected": self.video_tracks_expected,
            "audioTracks": self.audio_tracks,
            "serverCpuSecs": self.server_cpu_secs,
            "serverSysSecs": self.server_sys_secs,
            "serverSysPct": self.server_sys_pct(),
            "serverCores": self.server_cores(),
            "cpuUsPerPacket": self.cpu_us_per_packet(),
            "packetsPerCpuSec": self.packets_per_cpu_sec(),
            "toolCpuSecs": self.tool_cpu_secs,
            "machineBusyPct": self.machine_busy_pct,
            "sendDrops": self.send_drops,
            "peerErrors": self.peer_errors,
            "keyframeRequests": self.keyframe_requests,
            "errors": self.errors,
            "maxLossPct": self.max_loss_pct,
            "held": self.held(),
        })
    }
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.digits$}"))
}

impl fmt::Display for MediaReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rooms = if self.rooms > 1 {
            format!(" x {} rooms", self.rooms)
        } else {
            String::new()
        };
        writeln!(
            f,
            "{} {} {}{rooms}: {} publishers, {} receiving peers ({} peers)",
            self.label, self.shape, self.size, self.publishers, self.receivers, self.peers
        )?;
        writeln!(
            f,
            "  setup {:.1} s, {} ({}/{} receivers got every source's video; tracks: video {}/{}, audio {})",
            self.setup_secs,
            if self.ready { "ready" } else { "NOT READY" },
            self.ready_receivers,
            self.receivers,
            self.video_tracks,
            self.video_tracks_expected,
            self.audio_tracks
        )?;
        writeln!(
            f,
            "  window {:.1} s: sent {} packets, forwarded {} ({:.0}/s); loss end to end {:.3} % (worst receiver {:.3} %), RTP loss {:.3} %; video frames delivered {:.2} %",
            self.window_secs,
            self.sent_packets,
            self.forwarded_packets,
            self.forwarded_per_s(),
            self.loss_pct(),
            self.worst_loss_pct,
            self.rtp_loss_pct(),
            self.frame_delivery_pct()
        )?;
        writeln!(
            f,
            "  server CPU {} s ({} cores, {} % in the kernel): {} µs per forwarded packet, {} packets per CPU second",
            opt(self.server_cpu_secs, 2),
            opt(self.server_cores(), 2),
            opt(self.server_sys_pct(), 0),
            opt(self.cpu_us_per_packet(), 2),
            opt(self.packets_per_cpu_sec(), 0)
        )?;
        writeln!(
            f,
            "  this tool's CPU {} s; machine busy {} %; socket drops {}, str0m errors {}, keyframe requests {}",
            opt(self.tool_cpu_secs, 2),
            opt(self.machine_busy_pct, 1),
            self.send_drops,
            self.peer_errors,
            self.keyframe_requests
        )?;
        for (what, n) in &self.errors {
            writeln!(f, "  error x{n}: {what}")?;
        }
        write!(
            f,
            "  {}",
            if self.held() {
                format!("HELD (loss and RTP loss under {} %)", self.max_loss_pct)
            } else {
                format!(
                    "NOT HELD (needs ready, loss and RTP loss under {} %, 98 % of frames)",
                    self.max_loss_pct
                )
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_figures() {
        let r = MediaReport {
            ready: true,
            window_secs: 10.0,
            forwarded_packets: 99_000,
            expected_packets: 100_000,
            stamped_received: 4_990,
            stamped_expected: 5_000,
            frames_expected: 1000,
            frames_received: 985,
            server_cpu_secs: Some(0.5),
            max_loss_pct: 0.5,
            ..MediaReport::default()
        };
        assert!((r.rtp_loss_pct() - 1.0).abs() < 1e-9);
        assert!((r.loss_pct() - 0.2).abs() < 1e-9);
        assert!(!r.held());
        assert!((r.cpu_us_per_packet().unwrap() - 5.050_505).abs() < 1e-3);
        assert!((r.packets_per_cpu_sec().unwrap() - 198_000.0).abs() < 1e-6);
        let fine = MediaReport {
            forwarded_packets: 99_900,
            ..r.clone()
        };
        assert!(fine.held(), "{fine}");
        assert!(fine.to_json()["held"].as_bool().unwrap());
        let stalled = MediaReport {
            frames_received: 970,
            ..fine
        };
        assert!(!stalled.held());
    }
}
