//! Access control for `join`: room passwords (argon2 hashes in the configuration) and
//! signed join tokens (JWT). Rooms are open unless the configuration says otherwise.
//!
//! The connection driver calls [`Auth::check_join`] before a `join` reaches the hub,
//! and strips the password and token from it, so the hub, its logs and its metrics
//! never see a secret. Password checks are slow on purpose (argon2); they run on
//! threads of their own (`verifier.rs`), at most [`PARALLEL_VERIFICATIONS`] at once
//! (and one for the gate's clean lane), so a flood of guesses cannot starve the server,
//! and each connection gets [`MAX_FAILURES`] wrong tries.
//! In front of them, the per-room [`gate`] admits the password last verified right at
//! once and bounds the checks one room may queue.

pub mod gate;
pub mod password;
pub mod settings;
pub mod token;
mod verifier;

use confab_proto::{normalize_name, ErrorCode, RoomId};
use gate::{Decision, Lane, PasswordGate, Ticket};
use settings::AuthSettings;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use token::{Role, Verifier};
use tokio::sync::Semaphore;

/// Password verifications running at once, server-wide (and one more for clean
/// addresses: see [`gate`]).
pub const PARALLEL_VERIFICATIONS: usize = 2;
// One verifier thread per permit: a caller holding a permit never finds them all busy.
const _: () = assert!(verifier::VERIFIER_THREADS == PARALLEL_VERIFICATIONS + 1);
/// Failed joins (wrong password, bad token) one connection may make before it is closed.
pub const MAX_FAILURES: u32 = 5;

/// Who a successful `join` admits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grant {
    /// The display name from a token, which replaces the one in `join`.
    pub name: Option<String>,
    /// The role from a token.
    pub role: Option<Role>,
    /// Whom the token names (its `sub`, else its name): what a kick bans, and how its
    /// holder takes its place back after a restart.
    pub subject: Option<String>,
}

/// Why a `join` was refused: a protocol error code and a sentence for the person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The error code sent.
    pub code: ErrorCode,
    /// The explanation sent.
    pub message: String,
}

impl Refusal {
    fn new(code: ErrorCode, message: impl Into<String>) -> Refusal {
        Refusal {
            code,
            message: message.into(),
        }
    }
}

/// The access rules of one server. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct Auth {
    verifier: Verifier,
    require_token: bool,
    passwords: HashMap<RoomId, Arc<str>>,
    slots: Semaphore,
    /// The verifier of the gate's clean lane (one at a time).
    clean_slot: Semaphore,
    /// A std mutex: each use is a map lookup and an HMAC, never across `.await`.
    gate: Mutex<PasswordGate>,
    verifiers: verifier::Verifiers,
}

impl Auth {
    /// Builds the rules; reads the token public key file if one is configured.
    pub fn new(settings: &AuthSettings) -> Result<Auth, String> {
        let pem = match &settings.token_public_key {
            Some(path) => Some(
                std::fs::read(path)
                    .map_err(|e| format!("cannot read token public key {}: {e}", path.display()))?,
            ),
            None => None,
        };
        Ok(Auth {
            verifier: Verifier::new(
                settings.token_key.as_ref().map(|k| k.expose()),
                pem.as_deref(),
                settings.token_rules(),
            )?,
            require_token: settings.require_token,
            passwords: settings
                .passwords()
                .map(|(r, h)| (r.clone(), Arc::from(h.as_str())))
                .collect(),
            slots: Semaphore::new(PARALLEL_VERIFICATIONS),
            clean_slot: Semaphore::new(1),
            gate: Mutex::new(PasswordGate::new(crate::random::bytes())),
            verifiers: verifier::Verifiers::start(),
        })
    }

    /// Open rooms, no tokens.
    pub fn open() -> Auth {
        Auth::new(&AuthSettings::default()).expect("no files to read")
    }

    /// Whether `room` has a password (a tokenless join to it needs one).
    pub fn has_password(&self, room: &RoomId) -> bool {
        self.passwords.contains_key(room)
    }

    /// Decides a `join` to `room` with the given password and token:
    /// - a valid token for this room admits (under the token's name and role), whatever
    ///   the room's password;
    /// - else, with `require_token`, nothing else does;
    /// - else a room with a password needs the right one (`clean`: the client's address
    ///   sent no wrong password lately, see [`gate`]);
    /// - else the room is open.
    pub async fn check_join(
        &self,
        room: &RoomId,
        password: Option<String>,
        token: Option<String>,
        clean: bool,
    ) -> Result<Grant, Refusal> {
        if let Some(token) = token {
            if !self.verifier.is_configured() {
                return Err(Refusal::new(
                    ErrorCode::BadToken,
                    "this server does not accept join tokens",
                ));
            }
            let claims = self
                .verifier
                .verify(&token, crate::unix_now())
                .map_err(|e| Refusal::new(ErrorCode::BadToken, e.to_string()))?;
            if claims.room != room.as_str() {
                return Err(Refusal::new(
                    ErrorCode::BadToken,
                    format!("the token is for room {:?}, not this one", claims.room),
                ));
            }
            let name = normalize_name(&claims.name).map_err(|(_, m)| {
                Refusal::new(ErrorCode::BadToken, format!("the token's name: {m}"))
            })?;
            return Ok(Grant {
                // The name as shown (normalized) stands for a token without `sub`.
                subject: Some(claims.sub.unwrap_or_else(|| name.clone())),
                name: Some(name),
                role: Some(claims.role),
            });
        }
        if self.require_token {
            return Err(Refusal::new(
                ErrorCode::TokenRequired,
                "this server admits only people with an invitation link (a join token)",
            ));
        }
        let Some(hash) = self.passwords.get(room) else {
            return Ok(Grant::default());
        };
        let Some(password) = password else {
            return Err(Refusal::new(
                ErrorCode::PasswordRequired,
                "this room needs a password",
            ));
        };
        let decision = lock(&self.gate).check(room, hash, &password, clean, Instant::now());
        let ticket = match decision {
            Decision::Remembered => return Ok(Grant::default()),
            Decision::Wrong => return Err(wrong_password()),
            Decision::Busy(wait) => {
                return Err(Refusal::new(
                    ErrorCode::RateLimited,
                    format!(
                        "too many password attempts for this room; try again in {} s",
                        wait.as_secs().max(1)
                    ),
                ))
            }
            Decision::Verify(ticket) => ticket,
        };
        let slots = match ticket.lane {
            Lane::Clean => &self.clean_slot,
            Lane::Suspect => &self.slots,
        };
        // Frees the gate's place however this ends (also if the join is dropped).
        let mut pending = Pending {
            gate: &self.gate,
            room,
            ticket: Some(ticket),
        };
        let Ok(_slot) = slots.acquire().await else {
            return Err(Refusal::new(ErrorCode::BadPassword, "server shutting down"));
        };
        // Members who arrived together: the first one's check made the password known.
        let known = pending
            .ticket
            .as_ref()
            .and_then(|t| lock(&self.gate).recheck(room, t));
        if let Some(right) = known {
            pending.finish(right);
            return if right {
                Ok(Grant::default())
            } else {
                Err(wrong_password())
            };
        }
        let Some(ok) = self.verifiers.verify(hash.clone(), password).await else {
            return Err(Refusal::new(
                ErrorCode::RateLimited,
                "the server cannot check passwords now; try again",
            ));
        };
        pending.finish(ok);
        if ok {
            Ok(Grant::default())
        } else {
            Err(wrong_password())
        }
    }
}

fn wrong_password() -> Refusal {
    Refusal::new(ErrorCode::BadPassword, "wrong password")
}

fn lock(gate: &Mutex<PasswordGate>) -> std::sync::MutexGuard<'_, PasswordGate> {
    // A panic while holding it leaves a count at worst one off: keep using it.
    gate.lock().unwrap_or_else(|e| e.into_inner())
}

/// An argon2 check the gate allowed; tells the gate when it is over, however it ends.
struct Pending<'a> {
    gate: &'a Mutex<PasswordGate>,
    room: &'a RoomId,
    ticket: Option<Ticket>,
}

impl Pending<'_> {
    fn finish(&mut self, right: bool) {
        if let Some(t) = self.ticket.take() {
            lock(self.gate).finished(self.room, t, right);
        }
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        self.finish(false);
    }
}
