//! Access-control settings: flags (`AuthArgs`), the `[auth]` table of the config file
//! (`FileAuth`), and the resolved [`AuthSettings`]. Resolved like the rest of the
//! configuration: flags > env > file > defaults.

use crate::config::{ConfigError, REDACTED};
use clap::Args;
use confab_proto::RoomId;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Flags for access control. Rooms are open unless these say otherwise.
#[derive(Args, Debug, Default, Clone)]
pub struct AuthArgs {
    /// Secret (HS256) that signs join tokens; `confab token` mints them with it, and an
    /// application's backend can too. At least 32 characters.
    #[arg(
        long,
        env = "CONFAB_TOKEN_KEY",
        value_name = "SECRET",
        hide_env_values = true
    )]
    pub token_key: Option<String>,
    /// Ed25519 public key (PEM file) that verifies EdDSA join tokens signed by an
    /// application's backend with the private key.
    #[arg(long, env = "CONFAB_TOKEN_PUBLIC_KEY", value_name = "FILE")]
    pub token_public_key: Option<PathBuf>,
    /// Every join needs a valid token (rooms are open by default).
    #[arg(long, env = "CONFAB_REQUIRE_TOKEN")]
    pub require_token: bool,
    /// A room that needs a password: `ROOM=HASH`, where HASH is an argon2 hash printed
    /// by `confab hash-password`. Repeatable.
    #[arg(
        long,
        env = "CONFAB_ROOM_PASSWORD",
        value_name = "ROOM=HASH",
        value_delimiter = ','
    )]
    pub room_password: Vec<String>,
}

/// The `[auth]` table of the config file; keys as the flags.
#[derive(Deserialize, Serialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct FileAuth {
    /// See [`AuthArgs::token_key`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_key: Option<String>,
    /// See [`AuthArgs::token_public_key`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_public_key: Option<PathBuf>,
    /// See [`AuthArgs::require_token`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_token: Option<bool>,
    /// See [`AuthArgs::room_password`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub room_passwords: Option<Vec<String>>,
}

/// Resolved access-control settings. `Debug` redacts the token key.
#[derive(Clone, Default)]
pub struct AuthSettings {
    /// HS256 secret for join tokens.
    pub token_key: Option<String>,
    /// Ed25519 public key file for EdDSA join tokens.
    pub token_public_key: Option<PathBuf>,
    /// Every join needs a token.
    pub require_token: bool,
    /// Rooms with a password: room and argon2 hash (PHC string).
    pub room_passwords: Vec<(RoomId, String)>,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("token_key", &self.token_key.as_ref().map(|_| REDACTED))
            .field("token_public_key", &self.token_public_key)
            .field("require_token", &self.require_token)
            .field("room_passwords", &self.room_passwords.len())
            .finish()
    }
}

impl AuthSettings {
    /// Flags over file; checks what can be checked without reading files.
    pub fn resolve(a: AuthArgs, f: FileAuth) -> Result<AuthSettings, ConfigError> {
        let invalid = |m: String| ConfigError::Invalid(m);
        let token_key = a.token_key.or(f.token_key);
        if token_key.as_ref().is_some_and(|k| k.len() < 32) {
            return Err(invalid("token key must be at least 32 characters".into()));
        }
        let token_public_key = a.token_public_key.or(f.token_public_key);
        let require_token = a.require_token || f.require_token.unwrap_or(false);
        if require_token && token_key.is_none() && token_public_key.is_none() {
            return Err(invalid(
                "require_token needs token_key or token_public_key".into(),
            ));
        }
        let entries = if a.room_password.is_empty() {
            f.room_passwords.unwrap_or_default()
        } else {
            rejoin_hashes(a.room_password)
        };
        let mut room_passwords = Vec::new();
        for e in entries {
            let (room, hash) = e.split_once('=').ok_or_else(|| {
                invalid("room password must be ROOM=HASH (see confab hash-password)".into())
            })?;
            let room = RoomId::parse(room.trim())
                .ok_or_else(|| invalid(format!("room password: {room:?} is not a room id")))?;
            let hash = hash.trim();
            if argon2::PasswordHash::new(hash).is_err() {
                return Err(invalid(format!(
                    "room password for {room}: not an argon2 hash (make one with confab hash-password)"
                )));
            }
            room_passwords.push((room, hash.to_owned()));
        }
        Ok(AuthSettings {
            token_key,
            token_public_key,
            require_token,
            room_passwords,
        })
    }

    /// The `[auth]` table for `check-config`, secrets redacted (hashes are not secrets,
    /// but are long; they are shown).
    pub fn to_file_redacted(&self) -> FileAuth {
        FileAuth {
            token_key: self.token_key.as_ref().map(|_| REDACTED.to_owned()),
            token_public_key: self.token_public_key.clone(),
            require_token: Some(self.require_token),
            room_passwords: Some(
                self.room_passwords
                    .iter()
                    .map(|(r, h)| format!("{r}={h}"))
                    .collect(),
            ),
        }
    }
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
