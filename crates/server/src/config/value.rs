//! Typed setting values shared by the sections: each parses from a flag's text (clap uses
//! `FromStr`), prints back the same text (`Display`, for defaults and `check-config`),
//! and serializes as the config file writes it.

use clap::ValueEnum;
use serde::{Serialize, Serializer};
use std::fmt;
use std::net::SocketAddr;
use std::ops::Deref;
use std::str::FromStr;
use std::time::Duration;

/// The format of log lines.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum, Serialize)]
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

/// A duration written as whole seconds (`--idle-timeout 40`, `idle_timeout = 40`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seconds(pub Duration);

/// A duration written as whole milliseconds (`--chat-refill-ms 1000`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Millis(pub Duration);

macro_rules! duration_unit {
    ($ty:ident, $from:ident, $as:ident, $what:literal) => {
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                s.trim()
                    .parse::<u64>()
                    .map(|n| $ty(Duration::$from(n)))
                    .map_err(|_| format!("{s:?} is not a whole number of {}", $what))
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0.$as())
            }
        }
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_u64(u64::try_from(self.0.$as()).unwrap_or(u64::MAX))
            }
        }
        impl Deref for $ty {
            type Target = Duration;
            fn deref(&self) -> &Duration {
                &self.0
            }
        }
        impl From<Duration> for $ty {
            fn from(d: Duration) -> Self {
                $ty(d)
            }
        }
    };
}
duration_unit!(Seconds, from_secs, as_secs, "seconds");
duration_unit!(Millis, from_millis, as_millis, "milliseconds");

/// A secret (a TURN secret, a token key, a password): `Debug` and `Serialize` show
/// [`REDACTED`], so it cannot reach a log line or `check-config`'s output by accident.
/// [`Secret::expose`] is the one way to read it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

/// An inclusive UDP port range `MIN-MAX` with `1024 <= MIN <= MAX`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PortRange {
    /// Lowest port.
    pub min: u16,
    /// Highest port.
    pub max: u16,
}

impl FromStr for PortRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        s.split_once('-')
            .and_then(|(lo, hi)| Some((lo.trim().parse().ok()?, hi.trim().parse().ok()?)))
            .filter(|&(lo, hi): &(u16, u16)| lo >= 1024 && lo <= hi)
            .map(|(min, max)| PortRange { min, max })
            .ok_or_else(|| {
                format!("relay port range {s:?} must be MIN-MAX with 1024 <= MIN <= MAX")
            })
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.min, self.max)
    }
}

/// A listen address that can be switched off: `ADDR:PORT` or `off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listen {
    /// Not listening.
    Off,
    /// Listening here.
    At(SocketAddr),
}

impl Listen {
    /// The address, unless off.
    pub fn addr(self) -> Option<SocketAddr> {
        match self {
            Listen::Off => None,
            Listen::At(a) => Some(a),
        }
    }
}

impl FromStr for Listen {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "off" => Ok(Listen::Off),
            a => a
                .parse()
                .map(Listen::At)
                .map_err(|_| format!("listen address {s:?} is not ADDR:PORT or off")),
        }
    }
}

impl fmt::Display for Listen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Listen::Off => f.write_str("off"),
            Listen::At(a) => a.fmt(f),
        }
    }
}

/// Serializes a value by its `Display` text (for typed values the file writes as strings).
pub(crate) fn as_text<T: fmt::Display, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// [`as_text`] for lists.
pub(crate) fn as_texts<T: fmt::Display, S: Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().map(|x| x.to_string()))
}
