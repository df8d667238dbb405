//! Command-line options of `confab-media`.

use super::synth::MediaSpec;
use clap::{Parser, ValueEnum};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The SFU under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ServerKind {
    /// confab (`confab serve --media sfu`), over its WebSocket signaling.
    Confab,
    /// Janus's VideoRoom plugin, over Janus's HTTP API.
    Janus,
}

/// How the room is made up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shape {
    /// `--size` members, each publishing audio and video and receiving everyone else.
    Meeting,
    /// One publisher and `--size` receive-only members.
    Broadcast,
}

/// Drives an SFU with headless str0m peers sending synthetic VP8 and Opus RTP in one
/// room, measures what reaches the receivers (packets, loss by RTP sequence numbers,
/// video frames) and the server's CPU time per delivered packet.
///
/// Every phase is bounded in time. Peers bind loopback addresses (or those of a
/// private network namespace) and try no remote candidate outside their reach.
#[derive(Parser, Clone, Debug)]
#[command(name = "confab-media", version)]
pub struct MediaOpts {
    /// The server's kind.
    #[arg(long, value_enum, default_value = "confab")]
    pub server: ServerKind,
    /// Its signaling URL [default: ws://127.0.0.1:8080/ws for confab,
    /// http://127.0.0.1:8088/janus for Janus].
    #[arg(long)]
    pub url: Option<String>,
    /// The room's shape.
    #[arg(long, value_enum, default_value = "meeting")]
    pub shape: Shape,
    /// Members of a meeting, or receivers of a broadcast.
    #[arg(long, default_value_t = 5)]
    pub size: u32,
    /// Rooms of that shape, side by side (set up one after another).
    #[arg(long, default_value_t = 1)]
    pub rooms: u32,
    /// Seconds measured.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds of media after every receiver got every source, before measuring.
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Seconds allowed for signaling and for every receiver to get every source's
    /// video; after it the run measures anyway and is marked not ready.
    #[arg(long, default_value_t = 60.0)]
    pub setup_timeout: f64,
    /// Members being set up at once.
    #[arg(long, default_value_t = 16)]
    pub setup_concurrency: usize,
    /// PID of the server process, for its CPU time (`/proc/<pid>/stat`).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Address the peers' sockets bind and offer: loopback, or an address of a network
    /// namespace without a default route (Janus gathers no loopback candidates).
    #[arg(long, default_value = "127.0.0.1")]
    pub bind_ip: IpAddr,
    /// Room name (confab) or numeric room id (Janus) [default: made from the PID and
    /// the time].
    #[arg(long)]
    pub room: Option<String>,
    /// Video frames per second of each publisher.
    #[arg(long, default_value_t = 30)]
    pub fps: u32,
    /// Video bitrate of each publisher, kbit/s of RTP payload.
    #[arg(long, default_value_t = 500)]
    pub video_kbps: u64,
    /// Largest video RTP payload; frames are split into near-equal packets.
    #[arg(long, default_value_t = 1100)]
    pub packet_bytes: usize,
    /// Milliseconds of audio per Opus packet.
    #[arg(long, default_value_t = 20)]
    pub audio_ms: u64,
    /// Bytes per Opus packet.
    #[arg(long, default_value_t = 100)]
    pub audio_bytes: usize,
    /// A run holds its receivers when every receiver got video from every source, loss
    /// end to end (stamped frames and audio packets) and RTP loss (sequence gaps) stay
    /// under this percentage, and no stream stalls (98 % of the frames delivered).
    #[arg(long, default_value_t = 0.5)]
    pub max_loss_pct: f64,
    /// Record every room on the server while it runs (confab: its host sends `record`
    /// and the server writes under its data dir; Janus: rooms made with `record`, the
    /// files in this folder, which must exist where Janus runs).
    #[arg(long, value_name = "JANUS_REC_DIR")]
    pub record: Option<PathBuf>,
    /// Write the report as JSON here too.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// A label for the report [default: the server's kind].
    #[arg(long)]
    pub label: Option<String>,
}

impl MediaOpts {
    /// Rejects options that cannot make a bounded, meaningful run on loopback.
    pub fn check(&self) -> anyhow::Result<()> {
        super::guard::check_bind(self.bind_ip)?;
        anyhow::ensure!((1..=2000).contains(&self.size), "--size must be 1..=2000");
        anyhow::ensure!((1..=500).contains(&self.rooms), "--rooms must be 1..=500");
        anyhow::ensure!(
            u64::from(self.size + 1) * u64::from(self.rooms) <= 4000,
            "at most 4,000 members in all (--size x --rooms)"
        );
        anyhow::ensure!(
            self.shape == Shape::Broadcast || self.size >= 2,
            "a meeting needs --size 2 or more"
        );
        for (name, v) in [
            ("--duration", self.duration),
            ("--warmup", self.warmup),
            ("--setup-timeout", self.setup_timeout),
        ] {
            anyhow::ensure!((0.0..=3600.0).contains(&v), "{name} must be 0..=3600");
        }
        anyhow::ensure!(self.duration > 0.0, "--duration must be above 0");
        anyhow::ensure!((1..=120).contains(&self.fps), "--fps must be 1..=120");
        anyhow::ensure!(
            (64..=1200).contains(&self.packet_bytes),
            "--packet-bytes must be 64..=1200"
        );
        anyhow::ensure!(
            (10..=120).contains(&self.audio_ms),
            "--audio-ms must be 10..=120"
        );
        anyhow::ensure!(
            (16..=1000).contains(&self.audio_bytes),
            "--audio-bytes must be 16..=1000"
        );
        anyhow::ensure!(
            (1..=20_000).contains(&self.video_kbps),
            "--video-kbps must be 1..=20000"
        );
        anyhow::ensure!(
            self.setup_concurrency >= 1,
            "--setup-concurrency must be at least 1"
        );
        Ok(())
    }

    /// The signaling URL.
    pub fn url(&self) -> String {
        self.url.clone().unwrap_or_else(|| match self.server {
            ServerKind::Confab => "ws://127.0.0.1:8080/ws".into(),
            ServerKind::Janus => "http://127.0.0.1:8088/janus".into(),
        })
    }

    /// What every publisher sends.
    pub fn media(&self) -> MediaSpec {
        MediaSpec {
            fps: self.fps,
            video_bps: self.video_kbps * 1000,
            packet_bytes: self.packet_bytes,
            audio_every: Duration::from_millis(self.audio_ms),
            audio_bytes: self.audio_bytes,
            ..MediaSpec::default()
        }
    }

    /// The report's label.
    pub fn label(&self) -> String {
        self.label.clone().unwrap_or_else(|| match self.server {
            ServerKind::Confab => "confab".into(),
            ServerKind::Janus => "janus".into(),
        })
    }
}
