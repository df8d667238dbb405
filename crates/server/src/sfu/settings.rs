//! The media router's section: `--media`, `--mesh-max`, `--sfu-*` flags, the `[sfu]`
//! table. Declared once (see `crate::config`): each field is its flag, environment
//! variable, file key (`sfu.` + the field's name) and default.

use crate::config::value::as_texts;
use crate::config::ConfigError;
use clap::{Args, ValueEnum};
use confab_signal::MediaPolicy;
use serde::Serialize;
use std::net::{IpAddr, SocketAddr};

/// How calls carry media (`--media`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaArg {
    /// A mesh up to `--mesh-max` people, then the SFU.
    #[default]
    Auto,
    /// Always a mesh; the SFU is not started.
    Mesh,
    /// Every call on the SFU.
    Sfu,
}

/// Most SFU shards (`--sfu-shards`): one per character that can open an ICE ufrag
/// (`confab_sfu::ShardTag`), more than most servers have cores.
pub const MAX_SHARDS: usize = confab_sfu::MAX_SHARDS;

/// The SFU (selective forwarding unit) and how calls choose it.
#[derive(Args, Clone, Debug, Serialize)]
pub struct SfuSettings {
    /// How calls carry media: `auto` (a mesh up to --mesh-max people, then the SFU),
    /// `mesh` (never the SFU, which is then not started) or `sfu` (every call).
    #[arg(
        id = "sfu.media",
        long = "media",
        env = "CONFAB_MEDIA",
        value_name = "auto|mesh|sfu",
        default_value = "auto"
    )]
    pub media: MediaArg,
    /// Most people in a mesh call (each sends its video once per other member); the
    /// next one moves the call to the SFU (with `--media auto`).
    #[arg(
        id = "sfu.mesh_max",
        long = "mesh-max",
        env = "CONFAB_MESH_MAX",
        value_name = "N",
        default_value_t = 4
    )]
    pub mesh_max: usize,
    /// UDP address of the SFU: one port carries every SFU call's media (open it in
    /// the firewall).
    #[arg(
        id = "sfu.listen",
        long = "sfu-listen",
        env = "CONFAB_SFU_LISTEN",
        value_name = "ADDR:PORT",
        default_value = "0.0.0.0:7882"
    )]
    pub listen: SocketAddr,
    /// SFU shards: each an OS thread owning whole SFU calls, so calls are forwarded on
    /// as many cores; all of them serve the one --sfu-listen port. [default: the number
    /// of cores, at most 64]
    #[arg(
        id = "sfu.shards",
        long = "sfu-shards",
        env = "CONFAB_SFU_SHARDS",
        value_name = "N"
    )]
    pub shards: Option<usize>,
    /// An address browsers reach the SFU at, offered as its ICE candidate. Repeatable.
    /// [default: --external-ip, else the SFU listen address, else the HTTP listen
    /// address, else every interface's]
    #[arg(
        id = "sfu.ips",
        long = "sfu-ip",
        env = "CONFAB_SFU_IP",
        value_name = "IP",
        value_delimiter = ','
    )]
    #[serde(serialize_with = "as_texts")]
    pub ips: Vec<IpAddr>,
    /// Days a recording is kept (deleted at start and every hour after); 0 keeps them
    /// until the quota takes them.
    #[arg(
        id = "sfu.recording_retention_days",
        long = "recording-retention-days",
        env = "CONFAB_RECORDING_RETENTION_DAYS",
        value_name = "DAYS",
        default_value_t = 30
    )]
    pub recording_retention_days: u32,
    /// Most megabytes all recordings may take on disk: beyond it the oldest recordings
    /// are deleted, and a recording that would still not fit stops writing.
    #[arg(
        id = "sfu.recording_quota_mb",
        long = "recording-quota-mb",
        env = "CONFAB_RECORDING_QUOTA_MB",
        value_name = "MB",
        default_value_t = 10_240
    )]
    pub recording_quota_mb: u64,
}

impl Default for SfuSettings {
    fn default() -> Self {
        crate::config::defaults()
    }
}

impl SfuSettings {
    /// Whether the SFU runs (any `--media` but `mesh`).
    pub fn enabled(&self) -> bool {
        self.media != MediaArg::Mesh
    }

    /// The hub's media policy.
    pub fn policy(&self) -> MediaPolicy {
        match self.media {
            MediaArg::Auto => MediaPolicy::Auto {
                mesh_max: self.mesh_max,
            },
            MediaArg::Mesh => MediaPolicy::Mesh,
            MediaArg::Sfu => MediaPolicy::Sfu,
        }
    }

    /// How many shards run: `--sfu-shards`, else one per core (at most [`MAX_SHARDS`]).
    /// One port serves them all, so more shards cost the operator nothing to set up.
    pub fn shard_count(&self) -> usize {
        self.shards
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
            .clamp(1, MAX_SHARDS)
    }

    pub(crate) fn finish(&self) -> Result<(), ConfigError> {
        if self.mesh_max < 2 {
            return Err(ConfigError::Invalid("mesh_max must be at least 2".into()));
        }
        if self.shards.is_some_and(|n| !(1..=MAX_SHARDS).contains(&n)) {
            return Err(ConfigError::Invalid(format!(
                "sfu_shards must be 1 to {MAX_SHARDS}"
            )));
        }
        Ok(())
    }
}
