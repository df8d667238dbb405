//! Issue 12 item 20 at the hub: a stored room's moderation (lock, bans, who is in with
//! which role) comes out as `Output::ModerationStored` whenever it changes, and a new hub
//! (a restart) given it back in `Input::History` holds every member's seat for the
//! resume grace: a kicked intruder who rejoins first is refused or a guest, never the
//! host, and the owner and the other members get back in through the lock.

mod common;

use common::{room, Harness};
use confab_proto::{ClientMsg, ErrorCode, PeerId, Role, RoomId, ServerMsg, PROTOCOL_VERSION};
use confab_signal::{ChatSeed, ConnId, Hub, HubConfig, Input, Moderation, Output};
use std::time::Duration;

const GRACE: Duration = Duration::from_secs(30);

fn config() -> HubConfig {
    HubConfig {
        persist_chat: true,
        resume_grace: GRACE,
        ..HubConfig::default()
    }
}

/// A test's store: the last moderation each room reported.
#[derive(Default)]
struct Store(Vec<(RoomId, Moderation)>);

impl Store {
    fn keep(&mut self, out: &[Output]) {
        for o in out {
            if let Output::ModerationStored { room, moderation } = o {
                self.0.retain(|(r, _)| r != room);
                if !moderation.is_empty() {
                    self.0.push((room.clone(), moderation.clone()));
                }
            }
        }
    }
    fn get(&self, r: &RoomId) -> Option<Moderation> {
        self.0.iter().find(|(x, _)| x == r).map(|(_, m)| m.clone())
    }
}

/// Hello on a new connection (resuming `resume` if given): its peer id and token.
fn hello(h: &mut Harness, conn: u64, resume: Option<String>) -> (ConnId, PeerId, String) {
    let c = h.connect(conn);
    let version = PROTOCOL_VERSION;
    h.frame(c, ClientMsg::Hello { version, resume });
    for o in h.drain() {
        if let Output::Send {
            msg:
                ServerMsg::Welcome {
                    peer_id,
                    resume_token,
                    ..
                },
            ..
        } = o
        {
            return (c, peer_id, resume_token.unwrap());
        }
    }
    panic!("no welcome");
}

/// `conn` joins "standup" as `name`; a load the join asks for is answered from `store`.
/// Returns every output.
fn join(h: &mut Harness, store: &mut Store, conn: ConnId, name: &str) -> Vec<Output> {
    h.join(conn, "standup", name);
    let mut out = h.drain();
    if out.contains(&Output::LoadHistory {
        room: room("standup"),
    }) {
        let seed = ChatSeed {
            room: room("standup"),
            history: Vec::new(),
            last_id: 0,
            moderation: store.get(&room("standup")),
        };
        h.input(Input::History {
            room: room("standup"),
            seed: Some(seed),
        });
        out.extend(h.drain());
    }
    store.keep(&out);
    out
}

/// The role `conn` got in its `joined`, or the error code it got instead.
fn outcome(out: &[Output], conn: ConnId) -> Result<Role, ErrorCode> {
    for o in out {
        match o {
            Output::Send {
                to,
                msg: ServerMsg::Joined { you, .. },
            } if *to == conn => return Ok(you.role),
            Output::Send {
                to,
                msg: ServerMsg::Error { code, .. },
            } if *to == conn => return Err(*code),
            _ => {}
        }
    }
    panic!("{conn} got neither joined nor an error: {out:?}");
}

/// Sends a host request from `conn` and returns its outputs.
fn act(h: &mut Harness, store: &mut Store, conn: ConnId, msg: ClientMsg) -> Vec<Output> {
    h.frame(conn, msg);
    let out = h.drain();
    store.keep(&out);
    out
}

/// Ada hosts "standup" with Grace; Mallory got in and was kicked; `lock` locks it.
/// Returns the store and everyone's last resume token (Ada, Grace, Mallory).
fn before_the_restart(h: &mut Harness, lock: bool) -> (Store, [String; 3]) {
    let mut store = Store::default();
    let (a, _, ta) = hello(h, 1, None);
    assert_eq!(outcome(&join(h, &mut store, a, "Ada"), a), Ok(Role::Host));
    let (g, _, tg) = hello(h, 2, None);
    assert_eq!(
        outcome(&join(h, &mut store, g, "Grace"), g),
        Ok(Role::Guest)
    );
    let (m, idm, tm) = hello(h, 3, None);
    assert_eq!(
        outcome(&join(h, &mut store, m, "Mallory"), m),
        Ok(Role::Guest)
    );
    act(h, &mut store, a, ClientMsg::Kick { peer: idm });
    if lock {
        act(h, &mut store, a, ClientMsg::Lock { locked: true });
    }
    let saved = store
        .get(&room("standup"))
        .expect("the room's moderation is stored");
    assert_eq!(saved.seats.len(), 2, "Ada and Grace: {saved:?}");
    assert_eq!(saved.banned.len(), 1);
    assert_eq!(saved.lock.is_some(), lock);
    (store, [ta, tg, tm])
}

/// A new hub, as after a restart: connections and rooms gone, the store kept.
fn restart(h: &mut Harness) {
    h.hub = Hub::new(config(), [9; 32]);
}

#[test]
fn after_a_restart_the_lock_and_the_ban_hold_and_the_owner_hosts_again() {
    let mut h = Harness::with_config(config());
    let (mut store, [ta, tg, tm]) = before_the_restart(&mut h, true);
    restart(&mut h);

    // Mallory's browser comes back first, with its old token: removed, refused.
    let (m, _, _) = hello(&mut h, 10, Some(tm));
    let out = join(&mut h, &mut store, m, "Mallory");
    assert_eq!(outcome(&out, m), Err(ErrorCode::RoomLocked));
    // A fresh tab is a newcomer, and the room is still locked.
    let (m2, _, _) = hello(&mut h, 11, None);
    let out = join(&mut h, &mut store, m2, "Mallory");
    assert_eq!(outcome(&out, m2), Err(ErrorCode::RoomLocked));

    // Ada's browser presents its token: host again, through the lock, told it is locked.
    let (a, _, _) = hello(&mut h, 12, Some(ta));
    let out = join(&mut h, &mut store, a, "Ada");
    assert_eq!(outcome(&out, a), Ok(Role::Host));
    assert!(out.iter().any(|o| matches!(o,
        Output::Send { to, msg: ServerMsg::RoomLocked { locked: true, .. } } if *to == a)));
    // Grace's too: a guest, through the lock.
    let (g, _, _) = hello(&mut h, 13, Some(tg));
    let out = join(&mut h, &mut store, g, "Grace");
    assert_eq!(outcome(&out, g), Ok(Role::Guest));
    // Still locked to newcomers after everyone is back.
    let out = join(&mut h, &mut store, m2, "Mallory");
    assert_eq!(outcome(&out, m2), Err(ErrorCode::RoomLocked));
}

#[test]
fn an_intruder_who_rejoins_an_unlocked_room_first_is_a_guest_and_cannot_lock_it() {
    let mut h = Harness::with_config(config());
    let (mut store, [ta, _, _]) = before_the_restart(&mut h, false);
    restart(&mut h);

    let (m, _, _) = hello(&mut h, 10, None);
    let out = join(&mut h, &mut store, m, "Mallory");
    assert_eq!(
        outcome(&out, m),
        Ok(Role::Guest),
        "Ada's seat as host is held"
    );
    let out = act(&mut h, &mut store, m, ClientMsg::Lock { locked: true });
    assert!(matches!(
        out.as_slice(),
        [Output::Send {
            msg: ServerMsg::Error {
                code: ErrorCode::NotHost,
                ..
            },
            ..
        }]
    ));

    let (a, _, _) = hello(&mut h, 12, Some(ta));
    assert_eq!(
        outcome(&join(&mut h, &mut store, a, "Ada"), a),
        Ok(Role::Host)
    );
}

#[test]
fn seats_not_taken_back_within_the_grace_are_forgotten_and_someone_hosts() {
    let mut h = Harness::with_config(config());
    let (mut store, [ta, _, _]) = before_the_restart(&mut h, false);
    restart(&mut h);

    let (n, idn, _) = hello(&mut h, 10, None);
    assert_eq!(
        outcome(&join(&mut h, &mut store, n, "Linus"), n),
        Ok(Role::Guest)
    );
    let until = h.hub.poll_timeout().expect("the hold ends");
    h.timeout_at(until);
    let out = h.drain();
    store.keep(&out);
    assert!(out.iter().any(|o| matches!(o,
        Output::Send { msg: ServerMsg::RoleChanged { peer_id, role: Role::Host }, .. } if *peer_id == idn)));
    let saved = store.get(&room("standup")).unwrap();
    assert_eq!(saved.seats.len(), 1, "only Linus now: {saved:?}");

    // Ada's token comes too late: a newcomer, a guest.
    let (a, _, _) = hello(&mut h, 12, Some(ta));
    assert_eq!(
        outcome(&join(&mut h, &mut store, a, "Ada"), a),
        Ok(Role::Guest)
    );
}

#[test]
fn a_room_that_ends_is_forgotten_and_nobody_returning_ends_it_after_the_grace() {
    let mut h = Harness::with_config(config());
    let (mut store, _) = before_the_restart(&mut h, true);
    restart(&mut h);

    // A newcomer is refused by the lock; the room waits for its members meanwhile.
    let (n, _, _) = hello(&mut h, 10, None);
    let out = join(&mut h, &mut store, n, "Linus");
    assert_eq!(outcome(&out, n), Err(ErrorCode::RoomLocked));
    assert!(h.hub.room_exists(&room("standup")));
    // Nobody comes back: the room ends, and the store forgets it.
    let until = h.hub.poll_timeout().expect("the hold ends");
    h.timeout_at(until);
    store.keep(&h.drain());
    assert!(!h.hub.room_exists(&room("standup")));
    assert_eq!(store.get(&room("standup")), None);
    let out = join(&mut h, &mut store, n, "Linus");
    assert_eq!(
        outcome(&out, n),
        Ok(Role::Host),
        "a new room, open, first in hosts"
    );
}
