//! The `--config` TOML file: its shape and how it is read.

use super::{ConfigError, FileAuth, FileTurn, LogFormat};
use confab_proto::IceServer;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The `--config` TOML file. Unknown keys are an error, so typos are caught.
///
/// Every key is documented in `docs/configuration.md`; `tests/config.rs` reads the key
/// list from serde (the unknown-field error names them all) and fails on an
/// undocumented one. It is also the shape `confab check-config` prints.
#[derive(Deserialize, Serialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// See [`ServeArgs::listen`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// See [`ServeArgs::data_dir`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// See [`ServeArgs::tls_cert`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// See [`ServeArgs::tls_key`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    /// See [`ServeArgs::insecure_http`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure_http: Option<bool>,
    /// See [`ServeArgs::public_host`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_host: Option<Vec<String>>,
    /// See [`ServeArgs::web_dir`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_dir: Option<PathBuf>,
    /// Full ICE server entries (with credentials if needed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ice_servers: Option<Vec<IceServer>>,
    /// See [`ServeArgs::idle_timeout`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout: Option<u64>,
    /// See [`ServeArgs::handshake_timeout`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handshake_timeout: Option<u64>,
    /// See [`ServeArgs::msg_rate`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg_rate: Option<u32>,
    /// See [`ServeArgs::msg_burst`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg_burst: Option<u32>,
    /// See [`ServeArgs::max_peers_per_room`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_peers_per_room: Option<usize>,
    /// See [`ServeArgs::max_rooms`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_rooms: Option<usize>,
    /// See [`ServeArgs::max_call_size`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_call_size: Option<usize>,
    /// See [`ServeArgs::ring_timeout`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ring_timeout: Option<u64>,
    /// See [`ServeArgs::resume_grace`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resume_grace: Option<u64>,
    /// See [`ServeArgs::max_connections`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<usize>,
    /// See [`ServeArgs::chat_retention_days`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_retention_days: Option<u32>,
    /// See [`ServeArgs::chat_history`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_history: Option<usize>,
    /// See [`ServeArgs::chat_burst`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_burst: Option<u32>,
    /// See [`ServeArgs::chat_refill_ms`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chat_refill_ms: Option<u64>,
    /// See [`ServeArgs::log`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// See [`ServeArgs::log_format`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    /// See [`ServeArgs::allowed_origin`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_origins: Option<Vec<String>>,
    /// The `[turn]` table.
    #[serde(default)]
    pub turn: FileTurn,
    /// The `[auth]` table.
    #[serde(default)]
    pub auth: FileAuth,
}

pub(super) fn load_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.to_owned(),
        message: one_line_toml_error(&text, &e),
    })
}

/// `line L, column C: message` — the TOML error on one line (its `Display` draws a
/// multi-line excerpt of the file, which would also echo a secret on that line).
fn one_line_toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}
