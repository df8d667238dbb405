//! The STUN long-term credential mechanism (RFC 8489 §9.2) as a TURN server runs it.
//!
//! Nonces are stateless: `"obMatJos2" + "gAAA"` (the RFC 8489 nonce cookie with the
//! "password algorithms" security feature bit, so clients may pick SHA-256), then the issue
//! time in milliseconds since the server's first input and an HMAC-SHA1 tag, both hex, over
//! that time and the client's 5-tuple. The tag key comes from the server seed. A nonce is
//! valid for `nonce_lifetime` and only for the 5-tuple it was issued to.
//!
//! Keys are `MD5(username ":" realm ":" password)` for MESSAGE-INTEGRITY (HMAC-SHA1) and
//! `SHA-256(...)` of the same string for MESSAGE-INTEGRITY-SHA256, as stun-types derives
//! them. The key algorithm follows the integrity attribute the client used; a
//! PASSWORD-ALGORITHM attribute, when present, must agree with it.
//!
//! A TURN REST username is refused once its user was revoked ([`Known::revoked`]), and
//! past its expiry, except on a request about the allocation that very username holds
//! ([`Known::holds`]): the expiry limits who may *start* an allocation, not how long a
//! running call may refresh it (coturn behaves alike: it keeps the key of a session once
//! authenticated). Browsers keep the credentials an allocation began with, so a short
//! credential lifetime would otherwise end every call at its expiry; what ends an
//! allocation of a member who left is the revocation.

use crate::config::TurnConfig;
use crate::rest::{rest_expiry, rest_password, rest_user};
use crate::{ClientKey, Transport};
use hmac::{Hmac, Mac};
use std::time::{Duration, Instant};
use stun_types::attribute::{
    Attribute, AttributeFromRaw, AttributeStaticType, MessageIntegrity, MessageIntegritySha256,
    Nonce, PasswordAlgorithm, PasswordAlgorithmValue, PasswordAlgorithms, Realm, Username,
};
use stun_types::message::{IntegrityAlgorithm, IntegrityKey, LongTermKeyCredentials, Message};

/// The RFC 8489 nonce cookie plus base64 of the security feature set 0x800000.
const NONCE_PREFIX: &str = "obMatJos2gAAA";
/// The PASSWORD-ALGORITHMS we offer, in the order we send them.
pub(crate) const OFFERED: [PasswordAlgorithmValue; 2] =
    [PasswordAlgorithmValue::MD5, PasswordAlgorithmValue::SHA256];

/// A request's verified identity: the username and the key and algorithm that sign the
/// response, and the user its allocations are counted under.
#[derive(Clone, Debug)]
pub(crate) struct Credentials {
    pub(crate) username: String,
    pub(crate) key: IntegrityKey,
    pub(crate) algorithm: IntegrityAlgorithm,
    /// The quota key: a static username as it is, or the user of a REST username
    /// ([`rest_user`]), so re-minted credentials share one quota.
    pub(crate) user: String,
    /// A REST username: its user can be revoked ([`crate::Server::handle_revoke`]).
    pub(crate) revocable: bool,
}

/// What the server knows about users beyond its configuration, asked while a request is
/// authenticated.
pub(crate) struct Known<'a> {
    /// Whether a static user is locked out for this client (asked before its password is
    /// checked, so a locked-out guesser learns nothing).
    pub(crate) locked: &'a dyn Fn(&str) -> bool,
    /// Whether the user of a REST username (the part after the expiry) is revoked.
    pub(crate) revoked: &'a dyn Fn(&str) -> bool,
    /// Whether this exact username holds the live allocation the request is about (never
    /// for an Allocate): then its REST expiry is not enforced.
    pub(crate) holds: &'a dyn Fn(&str) -> bool,
}

/// Why a request did not authenticate; each maps to one error response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    /// 400: integrity without USERNAME/REALM/NONCE, or inconsistent password algorithms.
    BadRequest,
    /// 401 with a fresh NONCE: no integrity (the first step of every allocation).
    Challenge,
    /// 401 with a fresh NONCE: unknown or expired user.
    UnknownUser,
    /// 401 with a fresh NONCE, password unchecked: the REST user was revoked.
    Revoked,
    /// 401 with a fresh NONCE: a wrong HMAC; `static_user` names the static user whose
    /// password was wrong (for the lockout), `None` for a TURN REST username.
    WrongPassword {
        /// The static user, if it is one.
        static_user: Option<String>,
    },
    /// 401 with a fresh NONCE, password unchecked: the (source, static user) pair is
    /// locked out.
    LockedOut,
    /// 438 with a fresh NONCE: the nonce is not ours, not for this 5-tuple, or too old.
    StaleNonce,
}

/// Issues and checks stateless nonces.
pub(crate) struct NonceMaker {
    key: [u8; 32],
    epoch: Option<Instant>,
    lifetime: Duration,
}

impl NonceMaker {
    pub(crate) fn new(key: [u8; 32], lifetime: Duration) -> Self {
        NonceMaker {
            key,
            epoch: None,
            lifetime,
        }
    }

    /// Fix the time origin at the first input the server sees.
    pub(crate) fn observe(&mut self, now: Instant) {
        self.epoch.get_or_insert(now);
    }

    fn millis(&self, now: Instant) -> u64 {
        let since = self
            .epoch
            .map_or(Duration::ZERO, |e| now.saturating_duration_since(e));
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    }

    /// The tag state; `None` never happens (HMAC accepts keys of any length).
    fn mac(&self, stamp: &[u8], client: &ClientKey) -> Option<Hmac<sha1::Sha1>> {
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(&self.key).ok()?;
        let transport = match client.transport {
            Transport::Udp => b'u',
            Transport::Tcp => b't',
            Transport::Tls => b's',
        };
        mac.update(stamp);
        mac.update(&[transport]);
        mac.update(format!("{}|{}", client.client, client.local).as_bytes());
        Some(mac)
    }

    /// A fresh nonce for `client`.
    pub(crate) fn issue(&self, client: &ClientKey, now: Instant) -> String {
        let stamp = format!("{:016x}", self.millis(now));
        let tag = match self.mac(stamp.as_bytes(), client) {
            Some(mac) => mac.finalize().into_bytes().to_vec(),
            None => vec![0; 8],
        };
        let mut nonce = String::with_capacity(NONCE_PREFIX.len() + 32);
        nonce.push_str(NONCE_PREFIX);
        nonce.push_str(&stamp);
        for byte in tag.iter().take(8) {
            nonce.push_str(&format!("{byte:02x}"));
        }
        nonce
    }

    /// Whether `nonce` was issued by us to `client` less than `lifetime` ago.
    pub(crate) fn is_valid(&self, nonce: &str, client: &ClientKey, now: Instant) -> bool {
        let Some(rest) = nonce.strip_prefix(NONCE_PREFIX) else {
            return false;
        };
        let rest = rest.as_bytes();
        if rest.len() != 32 || !rest.iter().all(u8::is_ascii_hexdigit) {
            return false;
        }
        let (stamp, tag) = rest.split_at(16);
        let mut tag_bytes = [0u8; 8];
        for (i, pair) in tag.chunks(2).enumerate() {
            tag_bytes[i] = (hex(pair[0]) << 4) | hex(pair[1]);
        }
        let Some(mac) = self.mac(stamp, client) else {
            return false;
        };
        if mac.verify_truncated_left(&tag_bytes).is_err() {
            return false;
        }
        let issued = stamp
            .iter()
            .fold(0u64, |acc, &c| (acc << 4) | u64::from(hex(c)));
        let lifetime = u64::try_from(self.lifetime.as_millis()).unwrap_or(u64::MAX);
        self.millis(now).saturating_sub(issued) < lifetime
    }
}

fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// The password for `username`: a static user first, else a REST username (when a REST
/// secret is configured) whose user is not revoked and that has not expired (`expiry >=
/// unix_now`) or holds the allocation asked about.
fn password_for(
    config: &TurnConfig,
    username: &str,
    unix_now: u64,
    known: &Known<'_>,
) -> Result<String, AuthFailure> {
    if let Some((_, password)) = config.static_users.iter().find(|(u, _)| u == username) {
        return Ok(password.clone());
    }
    let secret = config
        .rest_secret
        .as_ref()
        .ok_or(AuthFailure::UnknownUser)?;
    let (Some(expiry), Some(user)) = (rest_expiry(username), rest_user(username)) else {
        return Err(AuthFailure::UnknownUser);
    };
    if (known.revoked)(user) {
        return Err(AuthFailure::Revoked);
    }
    if expiry < unix_now && !(known.holds)(username) {
        return Err(AuthFailure::UnknownUser);
    }
    Ok(rest_password(secret, username))
}

/// Authenticate a request per RFC 8489 §9.2.4, in the RFC's order of checks, with what
/// the server `known`s about lockouts, revocations and allocations.
pub(crate) fn authenticate(
    config: &TurnConfig,
    nonces: &NonceMaker,
    msg: &Message<'_>,
    client: &ClientKey,
    (now, unix_now): (Instant, u64),
    known: &Known<'_>,
) -> Result<Credentials, AuthFailure> {
    let mut username = None;
    let mut realm = None;
    let mut nonce = None;
    let mut algo = None;
    let mut algos = None;
    let (mut sha1, mut sha256) = (false, false);
    for (_, raw) in msg.iter_attributes() {
        let bad = |_| AuthFailure::BadRequest;
        match raw.get_type() {
            MessageIntegrity::TYPE => sha1 = true,
            MessageIntegritySha256::TYPE => sha256 = true,
            Username::TYPE => username = Some(Username::from_raw_ref(&raw).map_err(bad)?),
            Realm::TYPE => realm = Some(Realm::from_raw_ref(&raw).map_err(bad)?),
            Nonce::TYPE => nonce = Some(Nonce::from_raw_ref(&raw).map_err(bad)?),
            PasswordAlgorithm::TYPE => {
                algo = Some(PasswordAlgorithm::from_raw_ref(&raw).map_err(bad)?)
            }
            PasswordAlgorithms::TYPE => {
                algos = Some(PasswordAlgorithms::from_raw_ref(&raw).map_err(bad)?)
            }
            _ => {}
        }
    }
    if !sha1 && !sha256 {
        return Err(AuthFailure::Challenge);
    }
    let (Some(username), Some(_realm), Some(nonce)) = (username, realm, nonce) else {
        return Err(AuthFailure::BadRequest);
    };
    let algorithm = if sha256 {
        IntegrityAlgorithm::Sha256
    } else {
        IntegrityAlgorithm::Sha1
    };
    match (algo, algos) {
        (None, None) => {}
        (Some(algo), Some(algos)) => {
            let chosen = algo.algorithm();
            if algos.algorithms() != OFFERED
                || !algos.algorithms().contains(&chosen)
                || chosen.as_integrity() != algorithm
            {
                return Err(AuthFailure::BadRequest);
            }
        }
        _ => return Err(AuthFailure::BadRequest),
    }
    if !nonces.is_valid(nonce.nonce(), client, now) {
        return Err(AuthFailure::StaleNonce);
    }
    let username = username.username().to_string();
    let is_static = config.static_users.iter().any(|(u, _)| *u == username);
    if is_static && (known.locked)(&username) {
        return Err(AuthFailure::LockedOut);
    }
    let password = password_for(config, &username, unix_now, known)?;
    let long_term = LongTermKeyCredentials::new(username.clone(), password, config.realm.clone());
    let key = long_term.make_key(algorithm);
    let user = match rest_user(&username) {
        Some(user) if !is_static => user.to_owned(),
        _ => username.clone(),
    };
    match msg.validate_integrity_with_key(&key) {
        Ok(used) if used == algorithm => Ok(Credentials {
            username,
            key,
            algorithm,
            user,
            revocable: !is_static,
        }),
        _ => Err(AuthFailure::WrongPassword {
            static_user: is_static.then_some(username),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(port: u16) -> ClientKey {
        ClientKey {
            transport: Transport::Udp,
            client: ([192, 0, 2, 1], port).into(),
            local: ([192, 0, 2, 2], 3478).into(),
        }
    }

    #[test]
    fn nonces_expire_and_bind_to_the_5_tuple() {
        let t0 = Instant::now();
        let mut maker = NonceMaker::new([7; 32], Duration::from_secs(600));
        maker.observe(t0);
        let nonce = maker.issue(&client(1), t0 + Duration::from_secs(5));
        assert!(nonce.starts_with("obMatJos2gAAA"));
        assert!(nonce.len() < 128);
        assert!(maker.is_valid(&nonce, &client(1), t0 + Duration::from_secs(604)));
        assert!(!maker.is_valid(&nonce, &client(1), t0 + Duration::from_secs(605)));
        assert!(!maker.is_valid(&nonce, &client(2), t0 + Duration::from_secs(6)));
        let other = NonceMaker::new([8; 32], Duration::from_secs(600));
        assert!(!other.is_valid(&nonce, &client(1), t0));
        let mut forged = nonce.clone();
        forged.replace_range(13..29, "0000000000000fff");
        assert!(!maker.is_valid(&forged, &client(1), t0));
        for junk in [
            "",
            "obMatJos2gAAA",
            "obMatJos2gAAAé",
            &format!("{nonce}0"),
            "abc",
        ] {
            assert!(!maker.is_valid(junk, &client(1), t0));
        }
    }

    #[test]
    fn password_lookup() {
        let config = TurnConfig {
            rest_secret: Some(b"s3cret".to_vec()),
            static_users: vec![("ada".into(), "lovelace".into())],
            ..Default::default()
        };
        let no = |_: &str| false;
        let known = Known {
            locked: &no,
            revoked: &no,
            holds: &no,
        };
        let lookup = |c: &TurnConfig, name: &str, unix: u64, k: &Known<'_>| {
            password_for(c, name, unix, k).ok()
        };
        assert_eq!(
            lookup(&config, "ada", 0, &known).as_deref(),
            Some("lovelace")
        );
        assert_eq!(lookup(&config, "grace", 0, &known), None);
        let p = lookup(&config, "100:grace", 100, &known).unwrap();
        assert_eq!(p, rest_password(b"s3cret", "100:grace"));
        assert_eq!(lookup(&config, "100:grace", 101, &known), None);
        let no_secret = TurnConfig::default();
        assert_eq!(lookup(&no_secret, "100:grace", 0, &known), None);
        // Expired, but it holds the allocation asked about: still accepted.
        let yes = |_: &str| true;
        let holding = Known {
            holds: &yes,
            ..known
        };
        assert_eq!(lookup(&config, "100:grace", 101, &holding), Some(p));
        // Revoked: refused, whatever the expiry.
        let grace = |u: &str| u == "grace";
        let revoked = Known {
            revoked: &grace,
            ..holding
        };
        assert_eq!(
            password_for(&config, "100:grace", 0, &revoked),
            Err(AuthFailure::Revoked)
        );
        assert!(password_for(&config, "100:alan", 0, &revoked).is_ok());
    }
}
