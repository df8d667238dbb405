//! What a stored room's moderation keeps across a restart: the lock, the bans, and who
//! was in with which role ([`Moderation`]), and the places held for them after one.
//!
//! A restart does not end a room: to its members it is a dropped connection, like any
//! other. So a room whose chat a store keeps reports its [`Moderation`] whenever that
//! changes ([`RoomEvent::ModerationStored`]; an empty one once the room has ended), and
//! when the room is next created from the store ([`ChatSeed::moderation`]), it comes
//! back locked if it was, with its bans, and with a *held seat* for every member it had,
//! kept for [`RoomConfig::hold`] (the resume grace). A joiner who proves it is one of
//! those members (see [`Identity`]) takes its seat back: its role (a tokenless host is
//! host again) and its way in through the lock. Meanwhile nobody else becomes host in
//! its place; when the hold ends, seats not taken back are forgotten and, as when a
//! host leaves, the member present longest takes over. A kicked intruder who rejoins
//! first therefore finds the room locked to it, or is a guest, never the host.
//!
//! [`RoomEvent::ModerationStored`]: super::RoomEvent::ModerationStored
//! [`ChatSeed::moderation`]: super::ChatSeed::moderation
//! [`RoomConfig::hold`]: super::RoomConfig::hold

use super::RoomCore;
use confab_proto::{PeerId, Role};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// Bans one room keeps; beyond it the oldest is forgotten. Bounds a room's memory and the
/// row its store rewrites on every change.
pub const MAX_BANS: usize = 100;

/// Who a member is beyond one connection: what a kick bans, and what proves a joiner is
/// a member coming back after a restart. The node derives it; the room only compares.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Identity {
    /// A join token's subject (its `sub` claim, else its name): the same person on any
    /// connection and after a restart, as the application that signed it decided.
    Token(String),
    /// A tokenless browser session: a one-way hash (hex) of its current resume token,
    /// which only that browser holds (it presents it again in `hello` after a restart).
    /// Not the name (anyone can type it) and not the address (a school or office behind
    /// one NAT would share it, so one kick would ban everyone there).
    Session(String),
}

/// A member as the room's saved moderation remembers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seat {
    /// Who.
    pub identity: Identity,
    /// Its role then.
    pub role: Role,
}

/// A kicked member, refused while the room lasts (host-token holders excepted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ban {
    /// Its peer id: a session that resumed since still has it.
    pub peer: PeerId,
    /// Its identity then (`None`: the node gave none).
    #[serde(default)]
    pub identity: Option<Identity>,
}

/// Who locked the room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    /// The host's peer id (shown in `roomLocked`).
    pub by: PeerId,
    /// A token holder locked it (a tokenless host's lock admits token holders).
    pub by_token: bool,
}

/// A room's moderation as a store keeps it: what a restart must not forget. Empty
/// (the default) once the room has ended.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Moderation {
    /// Set while the room is locked.
    pub lock: Option<Lock>,
    /// Its members and the seats still held for members, in join order.
    pub seats: Vec<Seat>,
    /// Kicked members, oldest first, at most [`MAX_BANS`].
    pub banned: Vec<Ban>,
}

impl Moderation {
    /// Nothing to keep: the room has ended (or never had a member with an identity).
    pub fn is_empty(&self) -> bool {
        self == &Moderation::default()
    }
}

impl RoomCore {
    /// The room's moderation now (empty once it has ended).
    pub fn moderation(&self) -> Moderation {
        if self.is_empty() {
            return Moderation::default();
        }
        let members = self.members.values().filter_map(|m| {
            let identity = m.identity.clone()?;
            Some(Seat {
                identity,
                role: m.info.role,
            })
        });
        Moderation {
            lock: self.lock.clone(),
            seats: members.chain(self.held.iter().cloned()).collect(),
            banned: self.banned.iter().cloned().collect(),
        }
    }

    /// Takes back what a store saved (from [`RoomCore::new`]): the lock, the bans, and
    /// the seats, held until `until`. A hold of zero brings nothing back, as a resume
    /// grace of zero holds no place.
    pub(crate) fn restore(&mut self, saved: Moderation, until: Instant) {
        if self.config.hold.is_zero() || saved.seats.is_empty() {
            return; // an ended room, or nothing held: it starts afresh
        }
        self.lock = saved.lock;
        self.banned = saved.banned.into_iter().collect();
        while self.banned.len() > MAX_BANS {
            self.banned.pop_front();
        }
        self.held = saved.seats;
        self.held_until = Some(until);
        self.saved = self.moderation();
    }

    /// The held seat a joiner proves it is (its identity or, after a restart, the
    /// identity it claims from before), taken out of the held ones.
    pub(crate) fn take_seat(
        &mut self,
        identity: Option<&Identity>,
        claim: Option<&Identity>,
    ) -> Option<Seat> {
        let i = self
            .held
            .iter()
            .position(|s| Some(&s.identity) == identity || Some(&s.identity) == claim)?;
        let seat = self.held.remove(i);
        if self.held.is_empty() {
            self.held_until = None; // everyone is back: the hold is over
        }
        Some(seat)
    }

    /// Whether a held seat matches (without taking it).
    pub(crate) fn has_seat(&self, identity: Option<&Identity>, claim: Option<&Identity>) -> bool {
        self.held
            .iter()
            .any(|s| Some(&s.identity) == identity || Some(&s.identity) == claim)
    }

    /// Whether a host removed this joiner. A token holder (`by_token`) is refused when
    /// its subject was kicked; a tokenless joiner when its session was: the same peer id
    /// (a resumed session keeps it, whatever it was kicked as), the same session
    /// identity, or that identity claimed from before a restart. A valid token is the
    /// application's word on who someone is, so a kicked session let in by a token for
    /// someone else is that someone.
    pub(crate) fn is_banned(
        &self,
        peer: &PeerId,
        identity: Option<&Identity>,
        claim: Option<&Identity>,
        by_token: bool,
    ) -> bool {
        self.banned.iter().any(|b| {
            let same = |other: Option<&Identity>| other.is_some() && b.identity.as_ref() == other;
            match b.identity {
                Some(Identity::Token(_)) if by_token => same(identity),
                _ if by_token => false,
                Some(Identity::Session(_)) => &b.peer == peer || same(identity) || same(claim),
                _ => &b.peer == peer,
            }
        })
    }

    /// Remembers a kicked member, forgetting the oldest ban beyond [`MAX_BANS`].
    pub(crate) fn ban(&mut self, peer: &PeerId) {
        let identity = self.members.get(peer).and_then(|m| m.identity.clone());
        self.banned.push_back(Ban {
            peer: peer.clone(),
            identity,
        });
        if self.banned.len() > MAX_BANS {
            self.banned.pop_front();
        }
    }

    /// Whether a seat held for a host waits for its return (nobody else is made host
    /// meanwhile).
    pub(crate) fn host_seat_held(&self) -> bool {
        self.held.iter().any(|s| s.role == Role::Host)
    }

    /// Whether a seat held for a token holder waits (tokenless members stay guests, as
    /// if it were in).
    pub(crate) fn token_seat_held(&self) -> bool {
        self.held
            .iter()
            .any(|s| matches!(s.identity, Identity::Token(_)))
    }

    /// The hold has ended at `now`: seats not taken back are forgotten, and a room left
    /// without a host gets one as when a host leaves.
    pub(crate) fn end_hold_if_due(&mut self, now: Instant) {
        if self.held_until.is_some_and(|at| at <= now) {
            self.held.clear();
            self.held_until = None;
            self.changed = true;
            self.promote_if_hostless();
        }
    }

    /// Reports the moderation if it changed since last reported (stored rooms only).
    /// Called after every command.
    pub(crate) fn report_moderation(&mut self) {
        if !std::mem::take(&mut self.changed) || !self.stored {
            return;
        }
        let now = self.moderation();
        if now != self.saved {
            self.saved = now.clone();
            self.emit(super::RoomEvent::ModerationStored { moderation: now });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ChatSeed, RoomCommand, RoomConfig, RoomEvent};
    use super::*;
    use crate::Now;
    use confab_proto::{ErrorCode, RoomId, ServerMsg};
    use std::time::Duration;

    const HOLD: Duration = Duration::from_secs(30);

    fn config(hold: Duration) -> RoomConfig {
        RoomConfig {
            max_peers: 8,
            max_call_size: 4,
            media: super::super::MediaPolicy::Mesh,
            ring_timeout: Duration::from_secs(30),
            chat_history: 10,
            chat_history_bytes: 10_000,
            hold,
        }
    }

    fn session(s: &str) -> Identity {
        Identity::Session(s.into())
    }

    fn seed(moderation: Option<Moderation>) -> ChatSeed {
        ChatSeed {
            room: RoomId::parse("standup").unwrap(),
            history: Vec::new(),
            last_id: 0,
            moderation,
        }
    }

    fn at(t0: Instant, secs: u64) -> Now {
        Now {
            mono: t0 + Duration::from_secs(secs),
            unix_ms: 1_700_000_000_000,
        }
    }

    fn join(peer: &str, identity: Option<Identity>, claim: Option<Identity>) -> RoomCommand {
        RoomCommand::Join {
            peer: PeerId::new(peer),
            name: peer.into(),
            grant: None,
            ref_: None,
            identity,
            claim,
            stream: false,
        }
    }

    fn events(room: &mut RoomCore) -> Vec<RoomEvent> {
        std::iter::from_fn(|| room.poll_event()).collect()
    }

    /// The role `peer` joined with, or the error it got.
    fn outcome(events: &[RoomEvent], peer: &str) -> Result<Role, ErrorCode> {
        for e in events {
            if let RoomEvent::Deliver { to, msg } = e {
                if to.as_slice() != [PeerId::new(peer)] {
                    continue;
                }
                match msg {
                    ServerMsg::Joined { you, .. } => return Ok(you.role),
                    ServerMsg::Error { code, .. } => return Err(*code),
                    _ => {}
                }
            }
        }
        panic!("{peer}: neither joined nor refused in {events:?}");
    }

    fn reported(events: &[RoomEvent]) -> Vec<Moderation> {
        events
            .iter()
            .filter_map(|e| match e {
                RoomEvent::ModerationStored { moderation } => Some(moderation.clone()),
                _ => None,
            })
            .collect()
    }

    /// Ada (host) and Grace (guest) were in; Mallory was kicked; it was locked.
    fn saved() -> Moderation {
        Moderation {
            lock: Some(Lock {
                by: PeerId::new("adaadaadaada"),
                by_token: false,
            }),
            seats: vec![
                Seat {
                    identity: session("ada"),
                    role: Role::Host,
                },
                Seat {
                    identity: session("grace"),
                    role: Role::Guest,
                },
            ],
            banned: vec![Ban {
                peer: PeerId::new("malloryxxxxx"),
                identity: Some(session("mallory")),
            }],
        }
    }

    #[test]
    fn the_stored_form_is_plain_json_and_missing_fields_default() {
        let m = saved();
        let json = serde_json::to_string(&m).unwrap();
        assert!(
            json.contains(r#""identity":{"kind":"session","id":"ada"}"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Moderation>(&json).unwrap(), m);
        let sparse: Moderation = serde_json::from_str(r#"{"seats":[]}"#).unwrap();
        assert!(sparse.is_empty());
    }

    #[test]
    fn a_restored_room_gives_seats_back_keeps_newcomers_out_and_reports_changes() {
        let t0 = Instant::now();
        let mut room = RoomCore::new(
            RoomId::parse("standup").unwrap(),
            config(HOLD),
            Some(seed(Some(saved()))),
            t0,
        );
        assert!(room.is_locked() && !room.is_empty(), "seats held, locked");
        assert_eq!(room.poll_timeout(), Some(t0 + HOLD));

        // Mallory claims its old session: banned. A newcomer: locked out.
        room.handle(
            at(t0, 1),
            join("m1", Some(session("m-new")), Some(session("mallory"))),
        );
        let ev = events(&mut room);
        assert_eq!(outcome(&ev, "m1"), Err(ErrorCode::RoomLocked));
        assert!(reported(&ev).is_empty(), "a refusal changes nothing");
        room.handle(at(t0, 1), join("m2", Some(session("m2")), None));
        assert_eq!(
            outcome(&events(&mut room), "m2"),
            Err(ErrorCode::RoomLocked)
        );

        // Grace comes back first: a guest (Ada's host seat is held), through the lock.
        room.handle(
            at(t0, 2),
            join("g1", Some(session("grace-2")), Some(session("grace"))),
        );
        let ev = events(&mut room);
        assert_eq!(outcome(&ev, "g1"), Ok(Role::Guest));
        // The report has Grace under her new identity, Ada's seat still held.
        let report = reported(&ev);
        assert_eq!(report.len(), 1);
        let ids: Vec<_> = report[0].seats.iter().map(|s| s.identity.clone()).collect();
        assert_eq!(ids, vec![session("grace-2"), session("ada")]);
        assert_eq!(report[0].banned, saved().banned);

        // Ada: host again.
        room.handle(
            at(t0, 3),
            join("a1", Some(session("ada-2")), Some(session("ada"))),
        );
        assert_eq!(outcome(&events(&mut room), "a1"), Ok(Role::Host));
        assert_eq!(room.poll_timeout(), None, "nothing held any more");
        room.check_invariants();
    }

    #[test]
    fn when_the_hold_ends_the_longest_present_member_hosts() {
        let t0 = Instant::now();
        let mut saved = saved();
        saved.lock = None;
        let id = RoomId::parse("standup").unwrap();
        let mut room = RoomCore::new(id, config(HOLD), Some(seed(Some(saved))), t0);
        room.handle(at(t0, 1), join("n1", Some(session("n1")), None));
        assert_eq!(outcome(&events(&mut room), "n1"), Ok(Role::Guest));
        room.check_invariants();
        room.handle(at(t0, 29), RoomCommand::Tick);
        assert!(events(&mut room).is_empty(), "not yet");
        room.handle(at(t0, 30), RoomCommand::Tick);
        let ev = events(&mut room);
        assert!(ev.iter().any(|e| matches!(
            e,
            RoomEvent::Deliver {
                msg: ServerMsg::RoleChanged {
                    role: Role::Host,
                    ..
                },
                ..
            }
        )));
        assert_eq!(reported(&ev)[0].seats.len(), 1);
        room.check_invariants();
    }

    #[test]
    fn a_zero_hold_or_an_ended_room_brings_nothing_back() {
        let t0 = Instant::now();
        let id = RoomId::parse("standup").unwrap();
        let room = RoomCore::new(
            id.clone(),
            config(Duration::ZERO),
            Some(seed(Some(saved()))),
            t0,
        );
        assert!(!room.is_locked() && room.is_empty());
        let no_seats = Moderation {
            seats: Vec::new(),
            ..saved()
        };
        let room = RoomCore::new(id, config(HOLD), Some(seed(Some(no_seats))), t0);
        assert!(!room.is_locked() && room.is_empty());
    }

    #[test]
    fn only_stored_rooms_report_and_only_when_moderation_changes() {
        let t0 = Instant::now();
        let id = RoomId::parse("standup").unwrap();
        let mut plain = RoomCore::new(id.clone(), config(HOLD), None, t0);
        plain.handle(at(t0, 0), join("a", Some(session("a")), None));
        assert!(reported(&events(&mut plain)).is_empty());

        let mut stored = RoomCore::new(id, config(HOLD), Some(seed(None)), t0);
        stored.handle(at(t0, 0), join("a", Some(session("a")), None));
        assert_eq!(reported(&events(&mut stored)).len(), 1);
        let chat = RoomCommand::Chat {
            from: PeerId::new("a"),
            text: "hi".into(),
            key: None,
            ref_: None,
        };
        stored.handle(at(t0, 1), chat);
        assert!(
            reported(&events(&mut stored)).is_empty(),
            "chat is no moderation"
        );
        stored.handle(
            at(t0, 2),
            RoomCommand::Leave {
                peer: PeerId::new("a"),
                reason: confab_proto::LeaveReason::Left,
                ref_: None,
            },
        );
        assert_eq!(
            reported(&events(&mut stored)),
            vec![Moderation::default()],
            "ended"
        );
    }

    #[test]
    fn bans_are_bounded_oldest_first() {
        let t0 = Instant::now();
        let id = RoomId::parse("standup").unwrap();
        let mut room = RoomCore::new(id, config(HOLD), None, t0);
        for i in 0..MAX_BANS + 5 {
            room.ban(&PeerId::new(format!("peer{i}")));
        }
        assert_eq!(room.banned.len(), MAX_BANS);
        assert_eq!(
            room.banned.front().map(|b| b.peer.clone()),
            Some(PeerId::new("peer5"))
        );
    }
}
