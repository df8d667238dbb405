//! Value types and limits shared by the configuration sections.

use clap::ValueEnum;
use confab_proto::IceServer;
use serde::{Deserialize, Serialize};

/// The format of log lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, `message`, fields).
    Json,
}

/// Most chat messages a joiner may be given (each up to 2,000 characters).
pub const MAX_CHAT_HISTORY: usize = 10_000;

/// Longest chat retention: 100 years, i.e. "forever", and far from any overflow.
pub const MAX_CHAT_RETENTION_DAYS: u32 = 36_500;

/// What `confab check-config` prints instead of a secret.
pub const REDACTED: &str = "<redacted>";

/// ICE servers with their credentials replaced by [`REDACTED`].
pub(super) fn redact_ice(servers: &[IceServer]) -> Vec<IceServer> {
    servers
        .iter()
        .map(|s| IceServer {
            credential: s.credential.as_ref().map(|_| REDACTED.to_owned()),
            ..s.clone()
        })
        .collect()
}
