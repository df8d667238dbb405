//! The per-room gate in front of argon2, sans-IO (the caller passes `now`).
//!
//! Guessers from many addresses (each held back by the per-address throttle of
//! `signal/throttle.rs`) could still queue up argon2 checks of one room faster than the
//! server runs them (2 at once), and a member who knew the password waited behind them
//! all: 64 guessers took a right-password join from 35 ms to 660 ms. The gate:
//!
//! - remembers, per room, a keyed digest (HMAC-SHA256 under a key made at start) of the
//!   password last verified right. A join whose digest matches is admitted at once,
//!   without argon2 and without queueing; one that does not match is wrong, also
//!   without argon2 (one hash admits one password). The digest covers the room's hash
//!   too, so a changed hash forgets it. Compared in constant time.
//! - while no password is remembered (after a start), bounds the argon2 checks of a
//!   room in two lanes. A client address with no recent wrong password (`clean`, from
//!   the per-address throttle) takes the clean lane: [`CLEAN_IN_FLIGHT`] waiting or
//!   running at once ([`CLEAN_TOTAL`] in all rooms), run one at a time on a verifier of
//!   its own, so a member's first join does not wait behind guessers. A check whose
//!   turn comes after the room's password became known is decided by the digest
//!   ([`PasswordGate::recheck`]), so members arriving together cost one argon2.
//!   Any other address: [`ROOM_IN_FLIGHT`] waiting or running at once and a bucket of
//!   [`ROOM_BURST`] then one per [`ROOM_REFILL`]; [`TOTAL_IN_FLIGHT`] in all rooms. Beyond, the join is refused (`rate_limited`) at once instead of
//!   queueing, and the refusal counts against the address like a wrong password, so a
//!   guesser is clean for one try only, then waits its turn in the other lane.
//!
//! The gate bounds work, not guesses: a room under attack still admits its right
//! password, so every answer tells a guesser "not this one", and guessing from many
//! addresses is bounded only by each address's throttle. A strong password is the
//! defence against a distributed guesser.

use aws_lc_rs::{constant_time, hmac};
use confab_proto::RoomId;
use confab_signal::rate::TokenBucket;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Argon2 checks of one room waiting or running at once, for suspect addresses.
pub const ROOM_IN_FLIGHT: u32 = 2;
/// Checks of one room waiting or running at once, for clean addresses (members arrive
/// together as a meeting starts; all but the first are usually decided by the digest).
pub const CLEAN_IN_FLIGHT: u32 = 32;
/// Checks waiting or running at once for clean addresses, all rooms together.
pub const CLEAN_TOTAL: u32 = 128;
/// Argon2 checks one room may start in a burst (while no password is remembered); more
/// than one address's burst of wrong passwords, so one guesser alone cannot spend it.
pub const ROOM_BURST: u32 = 32;
/// One more argon2 check per room per this interval.
pub const ROOM_REFILL: Duration = Duration::from_millis(500);
/// Argon2 checks waiting or running at once for other addresses, all rooms together (2
/// run at a time).
pub const TOTAL_IN_FLIGHT: u32 = 16;

/// A keyed digest of (room hash, password).
#[derive(Clone, Debug)]
pub struct Digest(hmac::Tag);

/// Which lane an argon2 check runs in (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// For addresses with no recent wrong password.
    Clean,
    /// For the others.
    Suspect,
}

/// An argon2 check the gate allowed: hand it back to [`PasswordGate::finished`].
#[derive(Debug)]
pub struct Ticket {
    digest: Digest,
    /// The lane it runs in (a verifier of its own for [`Lane::Clean`]).
    pub lane: Lane,
}

impl Digest {
    fn matches(&self, other: &Digest) -> bool {
        constant_time::verify_slices_are_equal(self.0.as_ref(), other.0.as_ref()).is_ok()
    }
}

/// What to do with a password join (see the module docs).
#[derive(Debug)]
pub enum Decision {
    /// The password last verified right for this room: admit, no argon2.
    Remembered,
    /// Not the remembered password: wrong, no argon2.
    Wrong,
    /// Run argon2, then call [`PasswordGate::finished`] with this ticket (always, also
    /// when the check is abandoned: it frees the place).
    Verify(Ticket),
    /// Too many checks of this room or in total: refuse now, retry after the duration.
    Busy(Duration),
}

/// Per room: the remembered digest, checks in flight, the bucket of checks.
#[derive(Debug)]
struct RoomState {
    remembered: Option<Digest>,
    in_flight: u32,
    clean_in_flight: u32,
    bucket: TokenBucket,
}

/// See the module docs. Its map holds only rooms with a configured password.
#[derive(Debug)]
pub struct PasswordGate {
    key: hmac::Key,
    rooms: HashMap<RoomId, RoomState>,
    in_flight: u32,
    clean_in_flight: u32,
}

impl PasswordGate {
    /// A gate whose digests are keyed by `key` (random, made at start, never stored).
    pub fn new(key: [u8; 32]) -> PasswordGate {
        PasswordGate {
            key: hmac::Key::new(hmac::HMAC_SHA256, &key),
            rooms: HashMap::new(),
            in_flight: 0,
            clean_in_flight: 0,
        }
    }

    /// Decides a join to `room` (whose argon2 hash is `hash`) with `password`, from an
    /// address that is `clean` (no recent wrong password).
    pub fn check(
        &mut self,
        room: &RoomId,
        hash: &str,
        password: &str,
        clean: bool,
        now: Instant,
    ) -> Decision {
        let digest = self.digest(hash, password);
        let state = self.rooms.entry(room.clone()).or_insert_with(|| RoomState {
            remembered: None,
            in_flight: 0,
            clean_in_flight: 0,
            bucket: TokenBucket::full(ROOM_BURST, now),
        });
        if let Some(known) = &state.remembered {
            return if known.matches(&digest) {
                Decision::Remembered
            } else {
                Decision::Wrong
            };
        }
        let lane = if clean
            && state.clean_in_flight < CLEAN_IN_FLIGHT
            && self.clean_in_flight < CLEAN_TOTAL
        {
            state.clean_in_flight += 1;
            self.clean_in_flight += 1;
            Lane::Clean
        } else {
            if state.in_flight >= ROOM_IN_FLIGHT || self.in_flight >= TOTAL_IN_FLIGHT {
                return Decision::Busy(ROOM_REFILL);
            }
            if let Err(wait) = state.bucket.try_take(now, ROOM_BURST, ROOM_REFILL) {
                return Decision::Busy(wait);
            }
            state.in_flight += 1;
            self.in_flight += 1;
            Lane::Suspect
        };
        Decision::Verify(Ticket { digest, lane })
    }

    /// For a check about to run argon2: whether the room's password became known while
    /// it waited (`Some(right)`: decided by the digest, finish it without argon2).
    pub fn recheck(&self, room: &RoomId, ticket: &Ticket) -> Option<bool> {
        let known = self.rooms.get(room)?.remembered.as_ref()?;
        Some(known.matches(&ticket.digest))
    }

    /// An argon2 check that [`check`](Self::check) allowed is over: `right` when the
    /// password verified (it is remembered), `false` when wrong or abandoned.
    pub fn finished(&mut self, room: &RoomId, ticket: Ticket, right: bool) {
        let total = match ticket.lane {
            Lane::Clean => &mut self.clean_in_flight,
            Lane::Suspect => &mut self.in_flight,
        };
        *total = total.saturating_sub(1);
        if let Some(state) = self.rooms.get_mut(room) {
            match ticket.lane {
                Lane::Clean => state.clean_in_flight = state.clean_in_flight.saturating_sub(1),
                Lane::Suspect => state.in_flight = state.in_flight.saturating_sub(1),
            }
            if right {
                state.remembered = Some(ticket.digest);
            }
        }
    }

    fn digest(&self, hash: &str, password: &str) -> Digest {
        let mut ctx = hmac::Context::with_key(&self.key);
        // Length-prefixed, so no (hash, password) pair reads as another.
        ctx.update(&(hash.len() as u64).to_be_bytes());
        ctx.update(hash.as_bytes());
        ctx.update(password.as_bytes());
        Digest(ctx.sign())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(s: &str) -> RoomId {
        RoomId::parse(s).unwrap()
    }

    #[test]
    fn a_verified_password_is_remembered_and_decides_later_joins_without_argon2() {
        let mut g = PasswordGate::new([7; 32]);
        let now = Instant::now();
        let r = room("board");
        let Decision::Verify(d) = g.check(&r, "H", "secret", false, now) else {
            panic!("first check runs argon2");
        };
        g.finished(&r, d, true);
        assert!(matches!(
            g.check(&r, "H", "secret", false, now),
            Decision::Remembered
        ));
        assert!(matches!(
            g.check(&r, "H", "guess", false, now),
            Decision::Wrong
        ));
        // A changed hash does not match what was remembered for the old one.
        assert!(matches!(
            g.check(&r, "H2", "secret", false, now),
            Decision::Wrong
        ));
        // Another room knows nothing of it.
        assert!(matches!(
            g.check(&room("other"), "H", "secret", false, now),
            Decision::Verify(_)
        ));
    }

    #[test]
    fn checks_of_one_room_are_bounded_in_flight_and_in_rate() {
        let mut g = PasswordGate::new([1; 32]);
        let now = Instant::now();
        let r = room("board");
        let mut pending = Vec::new();
        for _ in 0..ROOM_IN_FLIGHT {
            let Decision::Verify(d) = g.check(&r, "H", "guess", false, now) else {
                panic!("within the bound");
            };
            pending.push(d);
        }
        assert!(matches!(
            g.check(&r, "H", "guess", false, now),
            Decision::Busy(_)
        ));
        // Other rooms are not held up by this one.
        assert!(matches!(
            g.check(&room("other"), "H", "x", false, now),
            Decision::Verify(_)
        ));
        for d in pending.drain(..) {
            g.finished(&r, d, false);
        }
        // The rest of the burst, one at a time, then the bucket is empty.
        for _ in ROOM_IN_FLIGHT..ROOM_BURST {
            let Decision::Verify(d) = g.check(&r, "H", "guess", false, now) else {
                panic!("within the burst");
            };
            g.finished(&r, d, false);
        }
        let Decision::Busy(wait) = g.check(&r, "H", "guess", false, now) else {
            panic!("burst spent");
        };
        assert!(wait <= ROOM_REFILL, "{wait:?}");
        assert!(matches!(
            g.check(&r, "H", "guess", false, now + ROOM_REFILL),
            Decision::Verify(_)
        ));
    }

    #[test]
    fn clean_addresses_have_a_lane_of_their_own_while_guessers_fill_theirs() {
        let mut g = PasswordGate::new([3; 32]);
        let now = Instant::now();
        let r = room("board");
        for _ in 0..ROOM_IN_FLIGHT {
            assert!(matches!(
                g.check(&r, "H", "guess", false, now),
                Decision::Verify(_)
            ));
        }
        assert!(matches!(
            g.check(&r, "H", "guess", false, now),
            Decision::Busy(_)
        ));
        let mut clean = Vec::new();
        for _ in 0..CLEAN_IN_FLIGHT {
            let Decision::Verify(t) = g.check(&r, "H", "secret", true, now) else {
                panic!("the clean lane is free");
            };
            assert_eq!(t.lane, Lane::Clean);
            clean.push(t);
        }
        // A full clean lane overflows into the other one (full too here).
        assert!(matches!(
            g.check(&r, "H", "secret", true, now),
            Decision::Busy(_)
        ));
        assert_eq!(g.recheck(&r, &clean[0]), None, "not known yet");
        g.finished(&r, clean.pop().unwrap(), true);
        assert!(matches!(
            g.check(&r, "H", "secret", false, now),
            Decision::Remembered
        ));
        // The checks still waiting are decided by the digest now.
        assert_eq!(g.recheck(&r, &clean[0]), Some(true));
    }

    #[test]
    fn checks_in_total_are_bounded() {
        let mut g = PasswordGate::new([2; 32]);
        let now = Instant::now();
        let mut n = 0;
        for i in 0..TOTAL_IN_FLIGHT {
            if let Decision::Verify(_) = g.check(&room(&format!("r{i}")), "H", "x", false, now) {
                n += 1;
            }
        }
        assert_eq!(n, TOTAL_IN_FLIGHT);
        assert!(matches!(
            g.check(&room("last"), "H", "x", false, now),
            Decision::Busy(_)
        ));
    }
}
