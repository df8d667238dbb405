//! The built-in STUN/TURN server's settings: `--turn-*` flags, the `[turn]` table, and
//! the resolved [`TurnSettings`] the TURN driver takes.

use super::{ConfigError, REDACTED};
use clap::Args;
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Flags for the built-in STUN/TURN server.
#[derive(Args, Debug, Default, Clone)]
pub struct TurnArgs {
    /// Disable the built-in STUN/TURN server.
    #[arg(long, env = "CONFAB_NO_TURN")]
    pub no_turn: bool,
    /// UDP and TCP address for STUN/TURN. [default: 0.0.0.0:3478]
    #[arg(long, env = "CONFAB_TURN_LISTEN", value_name = "ADDR:PORT")]
    pub turn_listen: Option<SocketAddr>,
    /// TLS address for TURN over TLS (`turns:`), with the HTTPS certificate; `off` to
    /// disable. [default: 0.0.0.0:5349]
    #[arg(long, env = "CONFAB_TURNS_LISTEN", value_name = "ADDR:PORT|off")]
    pub turns_listen: Option<String>,
    /// UDP port range for relayed traffic. [default: 49152-65535]
    #[arg(long, env = "CONFAB_TURN_RELAY_PORTS", value_name = "MIN-MAX")]
    pub turn_relay_ports: Option<String>,
    /// Address relay sockets bind to. [default: the TURN listen address, or the
    /// address of the default route]
    #[arg(long, env = "CONFAB_TURN_RELAY_IP", value_name = "IP")]
    pub turn_relay_ip: Option<IpAddr>,
    /// Public address of this server when it sits behind 1:1 NAT (cloud VMs): advertised
    /// as the relay address and in the ICE server URLs.
    #[arg(long, env = "CONFAB_EXTERNAL_IP", value_name = "IP")]
    pub external_ip: Option<IpAddr>,
    /// Shared secret for time-limited TURN credentials. [default: random, kept in the
    /// data dir]
    #[arg(
        long,
        env = "CONFAB_TURN_SECRET",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub turn_secret: Option<String>,
    /// Validity of the TURN credentials handed to each client, in seconds. [default: 86400]
    #[arg(long, env = "CONFAB_TURN_CREDENTIAL_TTL", value_name = "SECS")]
    pub turn_credential_ttl: Option<u64>,
    /// Allow relaying to this network even though it is denied by default (e.g.
    /// `10.0.0.0/8` for a LAN-only deployment). Repeatable.
    #[arg(
        long,
        env = "CONFAB_TURN_ALLOW_PEER",
        value_name = "CIDR",
        value_delimiter = ','
    )]
    pub turn_allow_peer: Vec<String>,
    /// Also refuse relaying to this network. Repeatable.
    #[arg(
        long,
        env = "CONFAB_TURN_DENY_PEER",
        value_name = "CIDR",
        value_delimiter = ','
    )]
    pub turn_deny_peer: Vec<String>,
    /// A static TURN user `name:password` (besides the time-limited ones). Repeatable.
    #[arg(
        long,
        env = "CONFAB_TURN_USER",
        value_name = "NAME:PASSWORD",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub turn_user: Vec<String>,
    /// TURN realm. [default: confab]
    #[arg(long, env = "CONFAB_TURN_REALM", value_name = "REALM")]
    pub turn_realm: Option<String>,
    /// Most allocations per TURN user. [default: 10]
    #[arg(long, env = "CONFAB_TURN_USER_QUOTA", value_name = "N")]
    pub turn_user_quota: Option<usize>,
    /// Most TURN allocations at once. [default: 10000]
    #[arg(long, env = "CONFAB_TURN_MAX_ALLOCATIONS", value_name = "N")]
    pub turn_max_allocations: Option<usize>,
}

/// The `[turn]` table of the config file; keys as the `--turn-*` flags.
#[derive(Deserialize, Serialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct FileTurn {
    /// `false` disables TURN (as `--no-turn`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// See [`TurnArgs::turn_listen`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    /// See [`TurnArgs::turns_listen`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_listen: Option<String>,
    /// See [`TurnArgs::turn_relay_ports`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay_ports: Option<String>,
    /// See [`TurnArgs::turn_relay_ip`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay_ip: Option<IpAddr>,
    /// See [`TurnArgs::external_ip`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_ip: Option<IpAddr>,
    /// See [`TurnArgs::turn_secret`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// See [`TurnArgs::turn_credential_ttl`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_ttl: Option<u64>,
    /// See [`TurnArgs::turn_allow_peer`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_peer: Option<Vec<String>>,
    /// See [`TurnArgs::turn_deny_peer`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deny_peer: Option<Vec<String>>,
    /// See [`TurnArgs::turn_user`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub users: Option<Vec<String>>,
    /// See [`TurnArgs::turn_realm`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub realm: Option<String>,
    /// See [`TurnArgs::turn_user_quota`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_quota: Option<usize>,
    /// See [`TurnArgs::turn_max_allocations`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_allocations: Option<usize>,
}

/// The resolved TURN settings (`None` in [`Config::turn`] when disabled).
///
/// `Debug` redacts the secret and the static users' passwords.
#[derive(Clone)]
pub struct TurnSettings {
    /// UDP + TCP listen address.
    pub listen: SocketAddr,
    /// TLS listen address, if any.
    pub tls_listen: Option<SocketAddr>,
    /// Relay port range, inclusive.
    pub relay_ports: (u16, u16),
    /// Relay bind address; `None` = decide at start (listen address or default route).
    pub relay_ip: Option<IpAddr>,
    /// Advertised public address.
    pub external_ip: Option<IpAddr>,
    /// Shared secret; `None` = random, kept in the data dir.
    pub secret: Option<String>,
    /// Credential validity.
    pub credential_ttl: Duration,
    /// Allowed peer networks (overriding the default deny list).
    pub allow_peers: Vec<String>,
    /// Extra denied peer networks.
    pub deny_peers: Vec<String>,
    /// Static users.
    pub users: Vec<(String, String)>,
    /// Realm.
    pub realm: String,
    /// Allocations per user.
    pub user_quota: usize,
    /// Allocations in all.
    pub max_allocations: usize,
}

impl std::fmt::Debug for TurnSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let users: Vec<String> = self
            .users
            .iter()
            .map(|(n, _)| format!("{n}:{REDACTED}"))
            .collect();
        f.debug_struct("TurnSettings")
            .field("listen", &self.listen)
            .field("tls_listen", &self.tls_listen)
            .field("relay_ports", &self.relay_ports)
            .field("relay_ip", &self.relay_ip)
            .field("external_ip", &self.external_ip)
            .field("secret", &self.secret.as_ref().map(|_| REDACTED))
            .field("credential_ttl", &self.credential_ttl)
            .field("allow_peers", &self.allow_peers)
            .field("deny_peers", &self.deny_peers)
            .field("users", &users)
            .field("realm", &self.realm)
            .field("user_quota", &self.user_quota)
            .field("max_allocations", &self.max_allocations)
            .finish()
    }
}

impl Default for TurnSettings {
    fn default() -> Self {
        TurnSettings {
            listen: SocketAddr::from(([0, 0, 0, 0], 3478)),
            tls_listen: Some(SocketAddr::from(([0, 0, 0, 0], 5349))),
            relay_ports: (49152, 65535),
            relay_ip: None,
            external_ip: None,
            secret: None,
            credential_ttl: Duration::from_secs(86_400),
            allow_peers: Vec::new(),
            deny_peers: Vec::new(),
            users: Vec::new(),
            realm: "confab".into(),
            user_quota: 10,
            max_allocations: 10_000,
        }
    }
}

/// `[turn]` flags over the file over defaults; `None` when TURN is disabled.
pub(super) fn resolve(a: TurnArgs, f: FileTurn) -> Result<Option<TurnSettings>, ConfigError> {
    if a.no_turn || f.enabled == Some(false) {
        return Ok(None);
    }
    let invalid = |m: String| ConfigError::Invalid(m);
    let d = TurnSettings::default();
    let tls_listen = match a.turns_listen.or(f.tls_listen) {
        None => d.tls_listen,
        Some(s) if s == "off" => None,
        Some(s) => Some(s.parse().map_err(|_| {
            invalid(format!(
                "turns listen address {s:?} is not ADDR:PORT or off"
            ))
        })?),
    };
    let ports = a
        .turn_relay_ports
        .or(f.relay_ports)
        .unwrap_or_else(|| format!("{}-{}", d.relay_ports.0, d.relay_ports.1));
    let relay_ports = ports
        .split_once('-')
        .and_then(|(lo, hi)| {
            Some((
                lo.trim().parse::<u16>().ok()?,
                hi.trim().parse::<u16>().ok()?,
            ))
        })
        .filter(|(lo, hi)| *lo >= 1024 && lo <= hi)
        .ok_or_else(|| {
            invalid(format!(
                "relay port range {ports:?} must be MIN-MAX with 1024 <= MIN <= MAX"
            ))
        })?;
    let users = if a.turn_user.is_empty() {
        f.users.unwrap_or_default()
    } else {
        a.turn_user
    };
    let users = users
        .iter()
        .map(|u| {
            u.split_once(':')
                .filter(|(n, p)| !n.is_empty() && !p.is_empty() && !n.contains(':'))
                .map(|(n, p)| (n.to_owned(), p.to_owned()))
                .ok_or_else(|| invalid("a TURN user must be NAME:PASSWORD".into()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let pick = |v: Vec<String>, f: Option<Vec<String>>| {
        if v.is_empty() {
            f.unwrap_or_default()
        } else {
            v
        }
    };
    let t = TurnSettings {
        listen: a.turn_listen.or(f.listen).unwrap_or(d.listen),
        tls_listen,
        relay_ports,
        relay_ip: a.turn_relay_ip.or(f.relay_ip),
        external_ip: a.external_ip.or(f.external_ip),
        secret: a.turn_secret.or(f.secret),
        credential_ttl: a
            .turn_credential_ttl
            .or(f.credential_ttl)
            .map(Duration::from_secs)
            .unwrap_or(d.credential_ttl),
        allow_peers: pick(a.turn_allow_peer, f.allow_peer),
        deny_peers: pick(a.turn_deny_peer, f.deny_peer),
        users,
        realm: a.turn_realm.or(f.realm).unwrap_or(d.realm),
        user_quota: a.turn_user_quota.or(f.user_quota).unwrap_or(d.user_quota),
        max_allocations: a
            .turn_max_allocations
            .or(f.max_allocations)
            .unwrap_or(d.max_allocations),
    };
    if t.credential_ttl < Duration::from_secs(60) {
        return Err(invalid(
            "turn credential ttl must be at least 60 seconds".into(),
        ));
    }
    if t.secret.as_deref().is_some_and(|s| s.len() < 16) {
        return Err(invalid(
            "the TURN secret must be at least 16 characters".into(),
        ));
    }
    for cidr in t.allow_peers.iter().chain(&t.deny_peers) {
        if cidr.parse::<confab_turn::IpNet>().is_err() {
            return Err(invalid(format!(
                "{cidr:?} is not a network like 10.0.0.0/8"
            )));
        }
    }
    Ok(Some(t))
}

/// The `[turn]` table for `check-config`, secrets redacted; `enabled = false` alone when
/// TURN is off.
pub(super) fn to_file_redacted(turn: Option<&TurnSettings>) -> FileTurn {
    match turn {
        None => FileTurn {
            enabled: Some(false),
            ..FileTurn::default()
        },
        Some(t) => FileTurn {
            enabled: Some(true),
            listen: Some(t.listen),
            tls_listen: Some(
                t.tls_listen
                    .map_or_else(|| "off".to_owned(), |a| a.to_string()),
            ),
            relay_ports: Some(format!("{}-{}", t.relay_ports.0, t.relay_ports.1)),
            relay_ip: t.relay_ip,
            external_ip: t.external_ip,
            secret: t.secret.as_ref().map(|_| REDACTED.to_owned()),
            credential_ttl: Some(t.credential_ttl.as_secs()),
            allow_peer: Some(t.allow_peers.clone()),
            deny_peer: Some(t.deny_peers.clone()),
            users: Some(
                t.users
                    .iter()
                    .map(|(n, _)| format!("{n}:{REDACTED}"))
                    .collect(),
            ),
            realm: Some(t.realm.clone()),
            user_quota: Some(t.user_quota),
            max_allocations: Some(t.max_allocations),
        },
    }
}
