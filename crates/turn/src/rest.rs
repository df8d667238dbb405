//! TURN REST API credentials (draft-uberti-behave-turn-rest-00), as coturn implements them:
//! username `"<expiry unix secs>:<user>"`, password `base64(HMAC-SHA1(secret, username))`.
//! Signaling mints them with [`rest_credentials`]; the TURN core recomputes the password
//! from the username and rejects it for a new allocation once the expiry has passed (an
//! allocation it created may go on being refreshed with it: see `auth.rs`). Quotas and
//! revocation count the *user*, the part after the expiry, so credentials minted again for
//! the same user share its quota and its revocation ([`crate::Server::handle_revoke`]).

use base64::Engine;
use hmac::{Hmac, Mac};
use std::time::Duration;

/// Credentials valid until `unix_now + ttl` (whole seconds) for `user`: `(username,
/// password)`, the password in standard base64 with padding (like coturn's
/// `--use-auth-secret`).
///
/// ```
/// use confab_turn::rest_credentials;
/// use std::time::Duration;
/// let (username, password) = rest_credentials(b"secret", "ada", 1_000, Duration::from_secs(60));
/// assert_eq!(username, "1060:ada");
/// assert_eq!(password.len(), 28); // 20 bytes of HMAC-SHA1, base64
/// ```
pub fn rest_credentials(
    secret: &[u8],
    user: &str,
    unix_now: u64,
    ttl: Duration,
) -> (String, String) {
    let username = format!("{}:{user}", unix_now.saturating_add(ttl.as_secs()));
    let password = rest_password(secret, &username);
    (username, password)
}

/// The REST password for `username`.
pub(crate) fn rest_password(secret: &[u8], username: &str) -> String {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it.
    let Ok(mut mac) = Hmac::<sha1::Sha1>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// The expiry of a REST-style username: the decimal prefix before the first `:`, or the
/// whole name if it is all digits. `None` if the name has no such timestamp.
pub(crate) fn rest_expiry(username: &str) -> Option<u64> {
    let stamp = username
        .split_once(':')
        .map_or(username, |(stamp, _)| stamp);
    if stamp.is_empty() || !stamp.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    stamp.parse().ok()
}

/// The user of a REST-style username: what follows the expiry and its `:` (empty for a
/// bare timestamp). `None` if the name has no expiry ([`rest_expiry`]).
pub(crate) fn rest_user(username: &str) -> Option<&str> {
    rest_expiry(username)?;
    Some(username.split_once(':').map_or("", |(_, user)| user))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer() {
        // Computed with: printf '1700000000:ada' | openssl dgst -sha1 -hmac secret -binary | base64
        let (user, pass) =
            rest_credentials(b"secret", "ada", 1_699_999_000, Duration::from_secs(1000));
        assert_eq!(user, "1700000000:ada");
        assert_eq!(pass, "lV8v9c9TsajfLXLkZIc5nnmtEng=");
        assert_ne!(pass, rest_password(b"other", "1700000000:ada"));
    }

    #[test]
    fn expiry_parsing() {
        assert_eq!(rest_expiry("1700000000:ada"), Some(1_700_000_000));
        assert_eq!(rest_expiry("1700000000:ada:x"), Some(1_700_000_000));
        assert_eq!(rest_expiry("1700000000"), Some(1_700_000_000));
        assert_eq!(rest_expiry("ada"), None);
        assert_eq!(rest_expiry(":ada"), None);
        assert_eq!(rest_expiry("+5:ada"), None);
        assert_eq!(rest_expiry("99999999999999999999999:ada"), None);
        assert_eq!(rest_user("1700000000:ada"), Some("ada"));
        assert_eq!(rest_user("1700000000:ada:x"), Some("ada:x"));
        assert_eq!(rest_user("1700000000"), Some(""));
        assert_eq!(rest_user("ada"), None);
    }
}
