//! Rooms' moderation in the chat database (schema version 2): what a restart must not
//! forget of a room that was alive, its lock, its bans and who was in with which role
//! (`confab_signal::Moderation`, see `crates/signal/src/room/saved.rs`).
//!
//! `room_moderation (room, state, saved_ms)`: one row per room whose moderation the hub
//! reported, `state` its JSON, replaced on every report and deleted when the room ends
//! (an empty report). So a row exists only for a room that was alive when the server
//! stopped, and gives it back when the room is next created.
//!
//! A row counts for [`MODERATION_TTL`] after `saved_ms`: the time of its last report, or
//! of the last clean stop ([`ChatDb::stamp_moderation`]). A room alive at a stop that
//! nobody came back to would otherwise come back locked, to strangers, whenever its name
//! was next used; older rows are ignored and pruned. (A crash does not stamp: a room
//! whose moderation last changed more than a day before a crash comes back without it.)

use super::sqlite::{ChatDb, DbError};
use confab_proto::RoomId;
use confab_signal::Moderation;
use rusqlite::{params, OptionalExtension, Transaction};
use std::time::Duration;

/// How long a saved moderation counts after it was last written or stamped.
pub const MODERATION_TTL: Duration = Duration::from_secs(86_400);

/// The table (schema version 2); applied to version-1 databases by `ChatDb::open`.
pub(super) const SCHEMA_V2: &str = "
CREATE TABLE IF NOT EXISTS room_moderation (
    room     TEXT    NOT NULL PRIMARY KEY,
    state    TEXT    NOT NULL,
    saved_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS room_moderation_saved ON room_moderation (saved_ms);
";

/// Milliseconds as SQLite's signed integer.
fn int(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The oldest `saved_ms` that still counts at `now_ms`.
fn cutoff(now_ms: u64) -> i64 {
    let ttl = u64::try_from(MODERATION_TTL.as_millis()).unwrap_or(u64::MAX);
    int(now_ms.saturating_sub(ttl))
}

/// Replaces each room's row with its report, in order, inside `tx` (an empty report
/// deletes it: the room ended).
pub(super) fn save(
    tx: &Transaction<'_>,
    reports: &[(RoomId, Moderation)],
    now_ms: u64,
) -> Result<(), DbError> {
    let mut upsert = tx.prepare_cached(
        "INSERT INTO room_moderation (room, state, saved_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (room) DO UPDATE SET state = excluded.state, saved_ms = excluded.saved_ms",
    )?;
    let mut delete = tx.prepare_cached("DELETE FROM room_moderation WHERE room = ?1")?;
    for (room, m) in reports {
        if m.is_empty() {
            delete.execute([room.as_str()])?;
        } else {
            let state = serde_json::to_string(m).map_err(std::io::Error::other)?;
            upsert.execute(params![room.as_str(), state, int(now_ms)])?;
        }
    }
    Ok(())
}

impl ChatDb {
    /// `room`'s saved moderation if it is younger than [`MODERATION_TTL`] at `now_ms`.
    /// A row that does not parse (hand-edited, or from a newer confab) is ignored with
    /// a warning: the room then starts afresh.
    pub fn moderation(&self, room: &RoomId, now_ms: u64) -> Result<Option<Moderation>, DbError> {
        let state: Option<String> = self
            .conn()
            .prepare_cached("SELECT state FROM room_moderation WHERE room = ?1 AND saved_ms >= ?2")?
            .query_row(params![room.as_str(), cutoff(now_ms)], |r| r.get(0))
            .optional()?;
        Ok(state.and_then(|s| match serde_json::from_str(&s) {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::warn!(%room, error = %e, "ignoring a room's unreadable saved moderation");
                None
            }
        }))
    }

    /// Marks every saved moderation as current at `now_ms`: on a clean stop, so the
    /// rooms alive then count for [`MODERATION_TTL`] from the stop.
    pub fn stamp_moderation(&mut self, now_ms: u64) -> Result<usize, DbError> {
        let n = self
            .conn()
            .execute("UPDATE room_moderation SET saved_ms = ?1", [int(now_ms)])?;
        Ok(n)
    }

    /// Deletes moderation older than [`MODERATION_TTL`] at `now_ms`; returns how many.
    pub fn prune_moderation(&mut self, now_ms: u64) -> Result<usize, DbError> {
        let n = self.conn().execute(
            "DELETE FROM room_moderation WHERE saved_ms < ?1",
            [cutoff(now_ms)],
        )?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::super::sqlite::tests::TempDir;
    use super::*;
    use confab_proto::{PeerId, Role};
    use confab_signal::room::{Identity, Lock, Seat};

    const T0: u64 = 1_700_000_000_000;
    const HOUR: u64 = 3_600_000;

    fn room(s: &str) -> RoomId {
        RoomId::parse(s).unwrap()
    }

    fn locked() -> Moderation {
        Moderation {
            lock: Some(Lock {
                by: PeerId::new("a8d2kq0n5v1c"),
                by_token: false,
            }),
            seats: vec![Seat {
                identity: Identity::Session("ab".repeat(32)),
                role: Role::Host,
            }],
            banned: Vec::new(),
        }
    }

    #[test]
    fn a_report_replaces_the_last_an_empty_one_forgets_and_old_ones_do_not_count() {
        let dir = TempDir::new("moderation");
        let mut db = ChatDb::open(&dir.0.join("confab.db")).unwrap();
        assert_eq!(db.moderation(&room("r"), T0).unwrap(), None);
        db.write(
            &[],
            &[(room("r"), Moderation::default()), (room("r"), locked())],
            T0,
        )
        .unwrap();
        db.write(&[], &[(room("s"), locked())], T0).unwrap();
        assert_eq!(db.moderation(&room("r"), T0).unwrap(), Some(locked()));
        // The room ended: forgotten.
        db.write(&[], &[(room("s"), Moderation::default())], T0)
            .unwrap();
        assert_eq!(db.moderation(&room("s"), T0).unwrap(), None);
        // A day later it no longer counts, unless a clean stop stamped it meanwhile.
        assert_eq!(db.moderation(&room("r"), T0 + 25 * HOUR).unwrap(), None);
        assert_eq!(db.stamp_moderation(T0 + 20 * HOUR).unwrap(), 1);
        assert_eq!(
            db.moderation(&room("r"), T0 + 25 * HOUR).unwrap(),
            Some(locked())
        );
        assert_eq!(db.prune_moderation(T0 + 40 * HOUR).unwrap(), 0);
        assert_eq!(db.prune_moderation(T0 + 45 * HOUR).unwrap(), 1);
    }

    #[test]
    fn an_unreadable_row_is_ignored() {
        let dir = TempDir::new("moderation-bad");
        let db = ChatDb::open(&dir.0.join("confab.db")).unwrap();
        db.conn()
            .execute(
                "INSERT INTO room_moderation VALUES ('r', '{\"seats\": 7}', ?1)",
                [int(T0)],
            )
            .unwrap();
        assert_eq!(db.moderation(&room("r"), T0).unwrap(), None);
    }
}
