//! The waiting room ("ask to join"), as Meet and Jitsi have it.
//!
//! Rules:
//! - A host turns it on or off (`waitingRoom`); everyone hears `waitingRoom`, and whoever
//!   joins while it is on hears it right after `joined`.
//! - While it is on and a host is in the room, a joiner without a host token and without
//!   a seat of its own (a member coming back) does not enter: it hears `waiting` (echoing
//!   its `join`'s ref), its node marks it waiting ([`RoomEvent::Waiting`]), and every
//!   host hears `knocking` (so does a host who joins or becomes one later).
//! - A host answers with `admit`: let in, the joiner gets its `joined` (the same ref) as
//!   any join; not, it gets `not_admitted` and is out ([`RoomEvent::Exited`]). Hosts hear
//!   `knockEnded` either way, and when the joiner gives up (leaves, disconnects).
//! - Turning it off lets everyone waiting in, in order; so does the room losing its last
//!   member (no one would be left to answer).
//! - At most [`MAX_WAITING`] wait at once; beyond, a joiner gets `room_full`.

use super::{Identity, RoomCore, RoomEvent};
use confab_proto::{ErrorCode, LeaveReason, PeerId, RequestId, Role, ServerMsg};

/// Most joiners waiting in one room.
pub const MAX_WAITING: usize = 32;

/// A `join` held in the waiting room, to be carried out as it came if a host admits it.
#[derive(Clone, Debug)]
pub(crate) struct Knock {
    pub(crate) name: String,
    pub(crate) grant: Option<Role>,
    pub(crate) stream: bool,
    pub(crate) ref_: Option<RequestId>,
    pub(crate) identity: Option<Identity>,
    pub(crate) claim: Option<Identity>,
}

impl RoomCore {
    /// Whether a joiner with `grant` (and a held seat, `seated`) waits to be admitted.
    pub(crate) fn must_knock(&self, grant: Option<Role>, seated: bool) -> bool {
        self.waiting_room.is_some()
            && !self.admitting
            && grant != Some(Role::Host)
            && !seated
            && self.members.values().any(|m| m.info.role == Role::Host)
    }

    /// Holds `peer`'s join in the waiting room (see the module docs).
    pub(crate) fn knock(&mut self, peer: PeerId, knock: Knock) {
        if self.waiting.len() >= MAX_WAITING {
            let message =
                format!("{MAX_WAITING} people are waiting to join already; try again later");
            return self.error(&peer, ErrorCode::RoomFull, message, knock.ref_);
        }
        let waiting = ServerMsg::Waiting {
            ref_: knock.ref_.clone(),
            room: self.id.clone(),
        };
        self.emit(RoomEvent::Waiting { peer: peer.clone() });
        self.send(&peer, waiting);
        let name = knock.name.clone();
        self.waiting.insert(peer.clone(), knock);
        self.tell_hosts(ServerMsg::Knocking { peer, name });
    }

    /// Host only (checked by the caller): on or off.
    pub(crate) fn set_waiting_room(&mut self, by: &PeerId, on: bool) {
        self.waiting_room = on.then(|| by.clone());
        let by = by.clone();
        self.broadcast(ServerMsg::WaitingRoom { on, by });
        if !on {
            self.admit_all();
        }
    }

    /// Host only (checked by the caller): `peer` in, or not.
    pub(crate) fn admit(
        &mut self,
        from: &PeerId,
        peer: PeerId,
        allow: bool,
        ref_: Option<RequestId>,
    ) {
        let Some(knock) = self.waiting.shift_remove(&peer) else {
            let message = format!("{peer} is not waiting to join");
            return self.error(from, ErrorCode::UnknownPeer, message, ref_);
        };
        self.tell_hosts(ServerMsg::KnockEnded {
            peer: peer.clone(),
            admitted: allow,
        });
        if allow {
            self.enter(peer, knock);
        } else {
            let message = "a host of the room did not let you in";
            self.error(&peer, ErrorCode::NotAdmitted, message, knock.ref_);
            self.emit(RoomEvent::Exited { peer });
        }
    }

    /// `peer` stops waiting of its own accord (left, or its connection went). Returns
    /// whether it was waiting.
    pub(crate) fn give_up_waiting(
        &mut self,
        peer: &PeerId,
        reason: LeaveReason,
        ref_: Option<RequestId>,
    ) -> bool {
        if self.waiting.shift_remove(peer).is_none() {
            return false;
        }
        if reason == LeaveReason::Left {
            let room = self.id.clone();
            self.send(peer, ServerMsg::Left { ref_, room });
        }
        self.emit(RoomEvent::Exited { peer: peer.clone() });
        self.tell_hosts(ServerMsg::KnockEnded {
            peer: peer.clone(),
            admitted: false,
        });
        true
    }

    /// Everyone waiting comes in, in order (the waiting room went off, or no one is left
    /// to answer).
    pub(crate) fn admit_all(&mut self) {
        let waiting: Vec<_> = self.waiting.drain(..).collect();
        for (peer, knock) in waiting {
            self.tell_hosts(ServerMsg::KnockEnded {
                peer: peer.clone(),
                admitted: true,
            });
            self.enter(peer, knock);
        }
    }

    /// A host who just joined or became one hears who waits, and that the room asks.
    pub(crate) fn tell_new_host(&mut self, host: &PeerId) {
        let knocks: Vec<_> = self
            .waiting
            .iter()
            .map(|(peer, k)| ServerMsg::Knocking {
                peer: peer.clone(),
                name: k.name.clone(),
            })
            .collect();
        for msg in knocks {
            self.send(host, msg);
        }
    }

    /// Carries out an admitted join as it came.
    fn enter(&mut self, peer: PeerId, k: Knock) {
        self.admitting = true;
        self.join(
            peer,
            k.name,
            (k.grant, k.stream),
            k.ref_,
            k.identity,
            k.claim,
        );
        self.admitting = false;
    }

    fn tell_hosts(&mut self, msg: ServerMsg) {
        let hosts: Vec<PeerId> = self
            .members
            .values()
            .filter(|m| m.info.role == Role::Host)
            .map(|m| m.info.id.clone())
            .collect();
        if !hosts.is_empty() {
            self.emit(RoomEvent::Deliver { to: hosts, msg });
        }
    }
}
