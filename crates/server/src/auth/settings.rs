//! The access-control section: `--token-*`, `--require-token`, `--room-password` and the
//! `[auth]` table. Declared once (see `crate::config`): each field is its flag,
//! environment variable, file key (`auth.` + the field's name) and default.

use super::token::TokenRules;
use crate::config::{ConfigError, Seconds, Secret};
use clap::Args;
use confab_proto::RoomId;
use serde::{Serialize, Serializer};
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// Who may join which room. Rooms are open unless these say otherwise.
#[derive(Args, Clone, Debug, Serialize)]
pub struct AuthSettings {
    /// Secret (HS256) that signs join tokens; `confab token` mints them with it, and an
    /// application's backend can too. At least 32 characters.
    #[arg(
        id = "auth.token_key",
        long = "token-key",
        env = "CONFAB_TOKEN_KEY",
        value_name = "SECRET",
        hide_env_values = true
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_key: Option<Secret>,
    /// Ed25519 public key (PEM file) that verifies EdDSA join tokens signed by an
    /// application's backend with the private key.
    #[arg(
        id = "auth.token_public_key",
        long = "token-public-key",
        env = "CONFAB_TOKEN_PUBLIC_KEY",
        value_name = "FILE"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_public_key: Option<PathBuf>,
    /// Longest a join token may be valid, in seconds: from its `iat` (or `nbf`) to its
    /// `exp`, and from now to its `exp`. Longer ones are refused, so a leaked link
    /// stops working within this.
    #[arg(
        id = "auth.token_max_lifetime",
        long = "token-max-lifetime",
        env = "CONFAB_TOKEN_MAX_LIFETIME",
        value_name = "SECS",
        default_value = "604800"
    )]
    pub token_max_lifetime: Seconds,
    /// The `aud` every join token must include (tokens are then refused without it);
    /// unset, a token that has an `aud` is refused.
    #[arg(
        id = "auth.token_audience",
        long = "token-audience",
        env = "CONFAB_TOKEN_AUDIENCE",
        value_name = "AUD"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_audience: Option<String>,
    /// The `iss` every join token must have (tokens are then refused without it).
    #[arg(
        id = "auth.token_issuer",
        long = "token-issuer",
        env = "CONFAB_TOKEN_ISSUER",
        value_name = "ISS"
    )]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_issuer: Option<String>,
    /// Every join needs a valid token (rooms are open by default).
    #[arg(
        id = "auth.require_token",
        long = "require-token",
        env = "CONFAB_REQUIRE_TOKEN"
    )]
    pub require_token: bool,
    /// A room that needs a password: `ROOM=HASH`, where HASH is an argon2 hash printed
    /// by `confab hash-password`. Repeatable, or several separated by commas.
    #[arg(
        id = "auth.room_passwords",
        long = "room-password",
        env = "CONFAB_ROOM_PASSWORD",
        value_name = "ROOM=HASH"
    )]
    #[serde(serialize_with = "entries")]
    pub room_passwords: Vec<RoomPasswords>,
}

impl Default for AuthSettings {
    /// The declared defaults (as `confab serve` with no flags).
    fn default() -> Self {
        crate::config::defaults()
    }
}

impl AuthSettings {
    /// What a join token must meet beyond its signature (see `token.rs`).
    pub fn token_rules(&self) -> TokenRules {
        TokenRules {
            max_lifetime: *self.token_max_lifetime,
            audience: self.token_audience.clone(),
            issuer: self.token_issuer.clone(),
        }
    }

    /// Every room password: the room and its argon2 hash (PHC string).
    pub fn passwords(&self) -> impl Iterator<Item = &(RoomId, String)> {
        self.room_passwords.iter().flat_map(|p| &p.0)
    }

    /// Checks what can be checked without reading files.
    pub(crate) fn finish(&mut self) -> Result<(), ConfigError> {
        let invalid = |m: &str| Err(ConfigError::Invalid(m.into()));
        if self
            .token_key
            .as_ref()
            .is_some_and(|k| k.expose().len() < 32)
        {
            return invalid("token key must be at least 32 characters");
        }
        if self.require_token && self.token_key.is_none() && self.token_public_key.is_none() {
            return invalid("require_token needs token_key or token_public_key");
        }
        if self.token_max_lifetime.as_secs() < 60 {
            return invalid("token_max_lifetime must be at least 60 seconds");
        }
        if [&self.token_audience, &self.token_issuer]
            .iter()
            .any(|v| v.as_ref().is_some_and(|s| s.trim().is_empty()))
        {
            return invalid("token_audience and token_issuer must not be empty");
        }
        Ok(())
    }
}

/// One `--room-password` value: `ROOM=HASH`, or several separated by commas. A hash holds
/// commas itself (`m=19456,t=2,p=1`), so the value is split only before a new
/// `ROOM=$argon2…` entry (clap's own list splitting is off for this flag).
#[derive(Clone, PartialEq, Eq)]
pub struct RoomPasswords(pub Vec<(RoomId, String)>);

impl FromStr for RoomPasswords {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let pieces = s.split(',').map(str::to_owned).collect();
        let mut out = Vec::new();
        for e in rejoin_hashes(pieces) {
            let (room, hash) = e
                .split_once('=')
                .ok_or("room password must be ROOM=HASH (see confab hash-password)")?;
            let room = RoomId::parse(room.trim())
                .ok_or_else(|| format!("room password: {room:?} is not a room id"))?;
            let hash = hash.trim();
            if argon2::PasswordHash::new(hash).is_err() {
                return Err(format!(
                    "room password for {room}: not an argon2 hash (make one with confab hash-password)"
                ));
            }
            out.push((room, hash.to_owned()));
        }
        Ok(RoomPasswords(out))
    }
}

/// Hashes are not secrets, but are long: `Debug` shows only how many there are.
impl fmt::Debug for RoomPasswords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} room password(s)", self.0.len())
    }
}

/// The file's shape: one `ROOM=HASH` string per room.
fn entries<S: Serializer>(v: &[RoomPasswords], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(v.iter().flat_map(|p| &p.0).map(|(r, h)| format!("{r}={h}")))
}

/// Undoes the comma split of `--room-password` / `CONFAB_ROOM_PASSWORD` inside hashes:
/// argon2 hashes hold commas (`m=19456,t=2,p=1`), so a piece that does not start a new
/// `ROOM=$argon2…` entry belongs to the previous one.
fn rejoin_hashes(pieces: Vec<String>) -> Vec<String> {
    let starts_entry = |p: &str| {
        p.split_once('=').is_some_and(|(room, rest)| {
            RoomId::parse(room.trim()).is_some() && rest.starts_with('$')
        })
    };
    let mut out: Vec<String> = Vec::new();
    for p in pieces {
        match out.last_mut() {
            Some(last) if !starts_entry(&p) => {
                last.push(',');
                last.push_str(&p);
            }
            _ => out.push(p),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_split_at_their_commas_are_put_back_together() {
        let h1 = "$argon2id$v=19$m=19456,t=2,p=1$Bs2XyF+1a8mUrWi7IfM16w$/0WBpS/XigMxnDITf/gWqSsz7vmexP55dKR4A00qRkQ";
        let h2 = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$0WBpS/XigMxnDITf/gWqSsz7vmexP55dKR4A00qRkQ";
        let joined = format!("board={h1},standup={h2}");
        let pieces: Vec<String> = joined.split(',').map(String::from).collect();
        assert_eq!(
            pieces.len(),
            6,
            "clap's value_delimiter splits inside the hashes"
        );
        assert_eq!(
            rejoin_hashes(pieces),
            vec![format!("board={h1}"), format!("standup={h2}")]
        );
        // A piece that is not a hash fragment still stands alone (and is rejected later).
        assert_eq!(
            rejoin_hashes(vec!["board".into()]),
            vec!["board".to_string()]
        );
    }
}
