//! The cluster's section: `--redis-url`, `--node-id`, `--node-address`. Declared once
//! (see `crate::config`): each field is its flag, environment variable, file key and
//! default.

use crate::config::{ConfigError, Secret};
use clap::Args;
use serde::Serialize;
use std::net::IpAddr;

/// Several nodes sharing rooms over Redis (see `docs/cluster.md`).
#[derive(Args, Clone, Debug, Serialize)]
pub struct ClusterSettings {
    /// Redis to share rooms with other confab nodes (`redis://HOST:PORT/DB`, or
    /// `rediss://` for TLS; a password as `redis://:PASSWORD@HOST`): turns cluster mode
    /// on. Never logged or printed.
    #[arg(long, env = "CONFAB_REDIS_URL", value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_url: Option<Secret>,
    /// PEM file of the certificate authority that signed Redis's TLS certificate, for a
    /// `rediss://` URL to a Redis with a private CA. [default: the system's roots]
    #[arg(long, env = "CONFAB_REDIS_CA", value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_ca: Option<std::path::PathBuf>,
    /// This node's name in the cluster, unique among live nodes. [default: the host
    /// name and a random suffix]
    #[arg(long, env = "CONFAB_NODE_ID", value_name = "NAME")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    /// The address other nodes' clients reach this node's media ports by, when it is not
    /// --external-ip (it is what this node's SFU and TURN advertise).
    #[arg(long, env = "CONFAB_NODE_ADDRESS", value_name = "IP")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node_address: Option<IpAddr>,
}

impl ClusterSettings {
    /// Whether cluster mode is on.
    pub fn enabled(&self) -> bool {
        self.redis_url.is_some()
    }

    pub(crate) fn finish(&mut self) -> Result<(), ConfigError> {
        if let Some(url) = &self.redis_url {
            let url = url.expose();
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(ConfigError::Invalid(
                    "redis_url must start with redis:// or rediss://".into(),
                ));
            }
        }
        if self.redis_ca.is_some()
            && !self
                .redis_url
                .as_ref()
                .is_some_and(|u| u.expose().starts_with("rediss://"))
        {
            return Err(ConfigError::Invalid(
                "redis_ca needs a rediss:// redis_url".into(),
            ));
        }
        if let Some(id) = &self.node_id {
            let ok = !id.is_empty()
                && id.len() <= 64
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
            if !ok {
                return Err(ConfigError::Invalid(
                    "node_id must be 1 to 64 letters, digits, '-', '_' or '.'".into(),
                ));
            }
        }
        Ok(())
    }
}
