//! The built-in STUN/TURN server's section: `--turn-*` flags, the `[turn]` table.
//! Declared once (see `crate::config`): each field is its flag, environment variable,
//! file key (`turn.` + the field's name) and default.

use crate::config::value::{as_text, as_texts};
use crate::config::{ConfigError, Listen, PortRange, Seconds, Secret, REDACTED};
use clap::Args;
use confab_turn::IpNet;
use serde::{Serialize, Serializer};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

/// The built-in STUN/TURN server (see [`TurnSettings::enabled`]).
#[derive(Args, Clone, Debug, Serialize)]
pub struct TurnSettings {
    /// Disable the built-in STUN/TURN server.
    #[arg(id = "turn.no_turn", long = "no-turn", env = "CONFAB_NO_TURN")]
    #[serde(rename = "enabled", serialize_with = "not")]
    pub no_turn: bool,
    /// UDP and TCP address for STUN/TURN.
    #[arg(
        id = "turn.listen",
        long = "turn-listen",
        env = "CONFAB_TURN_LISTEN",
        value_name = "ADDR:PORT",
        default_value = "0.0.0.0:3478"
    )]
    pub listen: SocketAddr,
    /// TLS address for TURN over TLS (`turns:`), with the HTTPS certificate; `off` to
    /// disable (it is off with --insecure-http).
    #[arg(
        id = "turn.tls_listen",
        long = "turns-listen",
        env = "CONFAB_TURNS_LISTEN",
        value_name = "ADDR:PORT|off",
        default_value = "0.0.0.0:5349"
    )]
    #[serde(serialize_with = "as_text")]
    pub tls_listen: Listen,
    /// UDP port range for relayed traffic.
    #[arg(
        id = "turn.relay_ports",
        long = "turn-relay-ports",
        env = "CONFAB_TURN_RELAY_PORTS",
        value_name = "MIN-MAX",
        default_value = "49152-65535"
    )]
    #[serde(serialize_with = "as_text")]
    pub relay_ports: PortRange,
    /// Address relay sockets bind to. [default: the TURN listen address, or the
    /// address of the default route]
    #[arg(
        id = "turn.relay_ip",
        long = "turn-relay-ip",
        env = "CONFAB_TURN_RELAY_IP",
        value_name = "IP"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay_ip: Option<IpAddr>,
    /// Public address of this server when it sits behind 1:1 NAT (cloud VMs): advertised
    /// as the relay address and in the ICE server URLs.
    #[arg(
        id = "turn.external_ip",
        long = "external-ip",
        env = "CONFAB_EXTERNAL_IP",
        value_name = "IP"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_ip: Option<IpAddr>,
    /// Shared secret for time-limited TURN credentials. [default: random, kept in the
    /// data dir]
    #[arg(
        id = "turn.secret",
        long = "turn-secret",
        env = "CONFAB_TURN_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
    /// Validity of the TURN credentials handed to room members, in seconds, for starting
    /// allocations (running ones keep refreshing); members get new ones every half of it.
    #[arg(
        id = "turn.credential_ttl",
        long = "turn-credential-ttl",
        env = "CONFAB_TURN_CREDENTIAL_TTL",
        value_name = "SECS",
        default_value = "600"
    )]
    pub credential_ttl: Seconds,
    /// Allow relaying to this network even though it is denied by default (e.g.
    /// `10.0.0.0/8` for a LAN-only deployment). Repeatable.
    #[arg(
        id = "turn.allow_peer",
        long = "turn-allow-peer",
        env = "CONFAB_TURN_ALLOW_PEER",
        value_name = "CIDR",
        value_delimiter = ','
    )]
    #[serde(serialize_with = "as_texts")]
    pub allow_peer: Vec<IpNet>,
    /// Also refuse relaying to this network. Repeatable.
    #[arg(
        id = "turn.deny_peer",
        long = "turn-deny-peer",
        env = "CONFAB_TURN_DENY_PEER",
        value_name = "CIDR",
        value_delimiter = ','
    )]
    #[serde(serialize_with = "as_texts")]
    pub deny_peer: Vec<IpNet>,
    /// A static TURN user `name:password` (besides the time-limited ones). Repeatable.
    #[arg(
        id = "turn.users",
        long = "turn-user",
        env = "CONFAB_TURN_USER",
        value_name = "NAME:PASSWORD",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub users: Vec<TurnUser>,
    /// TURN realm.
    #[arg(
        id = "turn.realm",
        long = "turn-realm",
        env = "CONFAB_TURN_REALM",
        value_name = "REALM",
        default_value = "confab"
    )]
    pub realm: String,
    /// Most allocations per TURN user: per room member for the credentials confab hands
    /// out, per name for a static user.
    #[arg(
        id = "turn.user_quota",
        long = "turn-user-quota",
        env = "CONFAB_TURN_USER_QUOTA",
        value_name = "N",
        default_value_t = 16
    )]
    pub user_quota: usize,
    /// Most allocations per client address (IPv4, IPv6 /64), whatever the user.
    #[arg(
        id = "turn.ip_quota",
        long = "turn-ip-quota",
        env = "CONFAB_TURN_IP_QUOTA",
        value_name = "N",
        default_value_t = 256
    )]
    pub ip_quota: usize,
    /// Most TURN allocations at once.
    #[arg(
        id = "turn.max_allocations",
        long = "turn-max-allocations",
        env = "CONFAB_TURN_MAX_ALLOCATIONS",
        value_name = "N",
        default_value_t = 10_000
    )]
    pub max_allocations: usize,
    /// Most TURN TCP/TLS connections open at once; more are closed at accept.
    #[arg(
        id = "turn.max_stream_connections",
        long = "turn-max-stream-connections",
        env = "CONFAB_TURN_MAX_STREAM_CONNECTIONS",
        value_name = "N",
        default_value_t = 10_000
    )]
    pub max_stream_connections: usize,
    /// Most TURN TCP/TLS connections open at once per client address (IPv4, IPv6 /64);
    /// more are closed at accept.
    #[arg(
        id = "turn.max_stream_connections_per_ip",
        long = "turn-max-stream-connections-per-ip",
        env = "CONFAB_TURN_MAX_STREAM_CONNECTIONS_PER_IP",
        value_name = "N",
        default_value_t = 256
    )]
    pub max_stream_connections_per_ip: usize,
}

impl Default for TurnSettings {
    fn default() -> Self {
        crate::config::defaults()
    }
}

impl TurnSettings {
    /// Whether the server runs (not `--no-turn`, not `enabled = false`).
    pub fn enabled(&self) -> bool {
        !self.no_turn
    }

    pub(crate) fn finish(&mut self, tls_off: bool) -> Result<(), ConfigError> {
        if tls_off {
            // TURN over TLS uses the HTTPS certificate; without one there is none.
            self.tls_listen = Listen::Off;
        }
        if self.max_stream_connections == 0 || self.max_stream_connections_per_ip == 0 {
            return Err(ConfigError::Invalid(
                "turn max stream connections (in total and per ip) must be at least 1".into(),
            ));
        }
        if *self.credential_ttl < Duration::from_secs(60) {
            return Err(ConfigError::Invalid(
                "turn credential ttl must be at least 60 seconds".into(),
            ));
        }
        if self.secret.as_ref().is_some_and(|s| s.expose().len() < 16) {
            return Err(ConfigError::Invalid(
                "the TURN secret must be at least 16 characters".into(),
            ));
        }
        Ok(())
    }
}

fn not<S: Serializer>(v: &bool, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_bool(!v)
}

/// A static TURN user, `name:password`. Its `Debug` and `Serialize` hide the password.
#[derive(Clone, PartialEq, Eq)]
pub struct TurnUser {
    /// The user name.
    pub name: String,
    /// The password.
    pub password: Secret,
}

impl FromStr for TurnUser {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.split_once(':')
            .filter(|(n, p)| !n.is_empty() && !p.is_empty())
            .map(|(n, p)| TurnUser {
                name: n.to_owned(),
                password: Secret::from(p),
            })
            .ok_or_else(|| "a TURN user must be NAME:PASSWORD".into())
    }
}

impl fmt::Debug for TurnUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{REDACTED}", self.name)
    }
}

impl Serialize for TurnUser {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{}:{REDACTED}", self.name))
    }
}
