//! [`TurnConfig`]: everything the core needs to know, passed to [`crate::Server::new`].

use crate::policy::PeerPolicy;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// Server configuration. [`Default`] gives the documented defaults; call
/// [`TurnConfig::validate`] before [`crate::Server::new`] to reject bad values with a reason
/// (`new` itself never fails: it falls back to the default for an invalid realm or
/// software string and clamps lifetimes).
#[derive(Clone, Debug)]
pub struct TurnConfig {
    /// REALM of the long-term credential mechanism (default `"confab"`); part of every key.
    pub realm: String,
    /// TURN REST API shared secret: usernames `"<expiry unix secs>:<user>"` get the password
    /// `base64(HMAC-SHA1(secret, username))` ([`crate::rest_credentials`]).
    pub rest_secret: Option<Vec<u8>>,
    /// Static `(username, password)` pairs; checked before the REST form.
    pub static_users: Vec<(String, String)>,
    /// Where relay sockets are bound ([`crate::Output::BindRelay`]). Also the advertised
    /// relay address unless `external_ip` is set; if it is unspecified (`0.0.0.0`), the
    /// address the client reached us on is advertised instead.
    pub relay_ip: IpAddr,
    /// Advertised in XOR-RELAYED-ADDRESS instead of `relay_ip` (servers behind 1:1 NAT).
    pub external_ip: Option<IpAddr>,
    /// Allocation lifetime when the client asks for less or nothing (600 s).
    pub default_lifetime: Duration,
    /// Longest allocation lifetime granted (3600 s).
    pub max_lifetime: Duration,
    /// How long a NONCE stays valid before 438 Stale Nonce (600 s).
    pub nonce_lifetime: Duration,
    /// Allocations per user, pending ones included (16); more gets 486. A static user is
    /// its username; a TURN REST username counts under its user (the part after the
    /// expiry), so credentials minted again for the same user share the quota.
    pub user_quota: usize,
    /// Allocations per client address (an IPv4 address, or an IPv6 /64), pending ones
    /// included, whatever the user (256); more gets 486. One client cannot gather
    /// allocations under many users until `max_allocations`.
    pub ip_quota: usize,
    /// Allocations in all, pending ones included (10 000); more gets 508.
    pub max_allocations: usize,
    /// Which peers may be relayed to.
    pub peer_policy: PeerPolicy,
    /// SOFTWARE attribute on every response (`Some("confab")`), except error responses to
    /// unauthenticated requests, which are kept small.
    pub software: Option<String>,
    /// Error replies to unauthenticated UDP requests one source prefix (/24, IPv6 /64) may
    /// get at once (64); past it they are dropped. Reflection guard: such a reply is
    /// larger than its request and its source may be spoofed.
    pub error_reply_burst: u32,
    /// ... and per second after the burst (32; 0 disables the limit).
    pub error_reply_rate: u32,
    /// Wrong passwords for one static user from one source IP within `lockout_window`
    /// that lock that pair out (5; 0 disables the lockout).
    pub lockout_failures: u32,
    /// The window of `lockout_failures` (60 s).
    pub lockout_window: Duration,
    /// How long a locked-out (source IP, static user) pair gets 401 whatever its password
    /// (300 s).
    pub lockout_duration: Duration,
    /// Services of this process that allocations may reach, by exact address (the SFU's
    /// candidates): a permission for one is granted although it is one of our own
    /// addresses, data for it never leaves through a socket but comes out as
    /// [`crate::Output::ToLocal`], and its answers come in with
    /// [`crate::Server::handle_local`]. No other port of that address becomes reachable.
    /// Default: none.
    pub local_services: Vec<std::net::SocketAddr>,
}

impl Default for TurnConfig {
    fn default() -> Self {
        TurnConfig {
            realm: "confab".into(),
            rest_secret: None,
            static_users: Vec::new(),
            relay_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            external_ip: None,
            default_lifetime: Duration::from_secs(600),
            max_lifetime: Duration::from_secs(3600),
            nonce_lifetime: Duration::from_secs(600),
            user_quota: 16,
            ip_quota: 256,
            max_allocations: 10_000,
            peer_policy: PeerPolicy::default(),
            software: Some("confab".into()),
            error_reply_burst: 64,
            error_reply_rate: 32,
            lockout_failures: 5,
            lockout_window: Duration::from_secs(60),
            lockout_duration: Duration::from_secs(300),
            local_services: Vec::new(),
        }
    }
}

/// Why a [`TurnConfig`] is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The realm is empty or not a valid REALM (at most 127 characters).
    #[error("invalid TURN realm {0:?}: must be 1 to 127 characters")]
    Realm(String),
    /// The software string is not a valid SOFTWARE (at most 127 characters).
    #[error("invalid SOFTWARE value: at most 127 characters")]
    Software,
    /// A lifetime is zero, over `u32::MAX` seconds, or default > max.
    #[error("invalid TURN lifetimes: need 1 s <= default <= max <= u32::MAX s and a non-zero nonce lifetime")]
    Lifetimes,
    /// The REST secret is empty.
    #[error("the TURN REST secret must not be empty")]
    EmptySecret,
}

impl TurnConfig {
    /// Check every field; `Ok` means [`crate::Server::new`] uses the values as given.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !short_text(&self.realm) {
            return Err(ConfigError::Realm(self.realm.clone()));
        }
        if let Some(software) = &self.software {
            if software.chars().count() >= 128 {
                return Err(ConfigError::Software);
            }
        }
        let max = Duration::from_secs(u64::from(u32::MAX));
        let secs = Duration::from_secs(1);
        if self.default_lifetime < secs
            || self.default_lifetime > self.max_lifetime
            || self.max_lifetime > max
            || self.nonce_lifetime.is_zero()
        {
            return Err(ConfigError::Lifetimes);
        }
        if self.rest_secret.as_ref().is_some_and(|s| s.is_empty()) {
            return Err(ConfigError::EmptySecret);
        }
        Ok(())
    }

    /// The same config with invalid values replaced by defaults (what `Server::new` runs on).
    pub(crate) fn sanitized(mut self) -> Self {
        let defaults = TurnConfig::default();
        if !short_text(&self.realm) {
            self.realm = defaults.realm;
        }
        if self
            .software
            .as_deref()
            .is_some_and(|s| s.chars().count() >= 128)
        {
            self.software = defaults.software;
        }
        let max = Duration::from_secs(u64::from(u32::MAX));
        self.max_lifetime = self.max_lifetime.clamp(Duration::from_secs(1), max);
        self.default_lifetime = self
            .default_lifetime
            .clamp(Duration::from_secs(1), self.max_lifetime);
        if self.nonce_lifetime.is_zero() {
            self.nonce_lifetime = defaults.nonce_lifetime;
        }
        self
    }
}

/// REALM and SOFTWARE: "fewer than 128 characters" (RFC 8489 §14.9, §14.14); non-empty.
fn short_text(s: &str) -> bool {
    !s.is_empty() && s.chars().count() < 128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(TurnConfig::default().validate(), Ok(()));
    }

    #[test]
    fn rejects_bad_values() {
        let bad_realm = TurnConfig {
            realm: String::new(),
            ..Default::default()
        };
        assert!(matches!(bad_realm.validate(), Err(ConfigError::Realm(_))));
        let long = TurnConfig {
            realm: "r".repeat(200),
            ..Default::default()
        };
        assert!(long.validate().is_err());
        assert_eq!(long.sanitized().realm, "confab");
        let lifetimes = TurnConfig {
            default_lifetime: Duration::from_secs(7200),
            ..Default::default()
        };
        assert_eq!(lifetimes.validate(), Err(ConfigError::Lifetimes));
        assert_eq!(
            lifetimes.sanitized().default_lifetime,
            Duration::from_secs(3600)
        );
        let secret = TurnConfig {
            rest_secret: Some(Vec::new()),
            ..Default::default()
        };
        assert_eq!(secret.validate(), Err(ConfigError::EmptySecret));
    }
}
