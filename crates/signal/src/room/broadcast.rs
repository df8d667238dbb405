//! Broadcast mode (a teacher and a class), raised hands and the stage.
//!
//! Rules:
//! - A host turns broadcast mode on or off (`broadcast`); everyone hears `broadcast`, and
//!   a joiner's `joined` says so. It needs the SFU: under [`MediaPolicy::Mesh`] it is
//!   refused with `no_media_server`.
//! - Turning it on moves every call of the room to the SFU (`callMode`), makes new calls
//!   start there, and puts the host in a call if it is idle (a call of one: in a
//!   broadcast room a call lasts while it has a member, since the audience joins later).
//!   Calls then hold up to the room's size, not `max_call_size`.
//! - Who may send media ([`RoomCore::may_publish`]): hosts, members on stage, and, when
//!   the room is not broadcasting, every guest. A viewer (a join token's role) sends
//!   media only on stage, in any room.
//! - A host brings a member on stage or back (`stage`); a member may step down itself.
//!   Coming on stage lowers its hand. Anyone raises or lowers its own hand (`hand`).
//!   Both are presence flags (`onStage`, `hand`). Turning broadcast off takes everyone
//!   off stage.
//! - The node learns each SFU member's right to publish with its first offer
//!   ([`RoomEvent::Sfu`]'s `publish`) and every change after ([`RoomEvent::SfuPublish`]),
//!   so the SFU forwards nothing from a viewer, whatever its browser sends.
//!
//! [`MediaPolicy::Mesh`]: super::MediaPolicy::Mesh

use super::{MediaPolicy, Member, RoomCore, RoomEvent};
use confab_proto::{ErrorCode, PeerId, RequestId, Role, ServerMsg, Status};
use serde::{Deserialize, Serialize};

/// Broadcast mode, hands and the stage (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
#[non_exhaustive]
pub enum StageOp {
    /// Host only: broadcast mode on or off.
    Broadcast {
        /// On after this.
        on: bool,
    },
    /// A reaction of the requester's, for everyone in the room.
    React {
        /// Which.
        reaction: confab_proto::Reaction,
    },
    /// The requester records the call on its own device, or stopped.
    LocalRecording {
        /// Recording after this.
        on: bool,
    },
    /// Raise or lower the requester's hand.
    Hand {
        /// Raised after this.
        up: bool,
    },
    /// Bring `peer` on stage or back to the audience.
    Stage {
        /// Who.
        peer: PeerId,
        /// On stage after this.
        on: bool,
    },
    /// Host only: record the room on the server, or stop (see `recording.rs`).
    Record {
        /// Recording after this.
        on: bool,
    },
    /// Host only: the room's recordings (see `recording.rs`).
    ListRecordings,
}

impl RoomCore {
    /// Whether `m` may send media now (see the module docs).
    pub(crate) fn may_publish(&self, m: &Member) -> bool {
        let info = &m.info;
        info.role == Role::Host
            || info.state.on_stage
            || (!self.broadcast && info.role != Role::Viewer)
    }

    /// Whether the room is in broadcast mode.
    pub fn is_broadcast(&self) -> bool {
        self.broadcast
    }

    /// The most people in one call now: the room's size while broadcasting.
    pub(crate) fn call_cap(&self) -> usize {
        if self.broadcast {
            self.config.max_peers.max(self.config.max_call_size)
        } else {
            self.config.max_call_size
        }
    }

    pub(crate) fn stage_op(&mut self, from: &PeerId, op: StageOp, ref_: Option<RequestId>) {
        let Some(me) = self.members.get(from) else {
            return;
        };
        let is_host = me.info.role == Role::Host;
        match op {
            StageOp::Hand { up } => self.update_state(from, |s| s.hand = up),
            StageOp::LocalRecording { on } => self.update_state(from, |s| s.recording_locally = on),
            StageOp::React { reaction } => {
                let peer = from.clone();
                self.broadcast(ServerMsg::Reacted { peer, reaction });
            }
            StageOp::Stage { peer, on } => {
                let stepping_down = &peer == from && !on;
                if !(is_host || stepping_down) {
                    let message = "only a host can bring someone on stage";
                    return self.error(from, ErrorCode::NotHost, message, ref_);
                }
                if !self.members.contains_key(&peer) {
                    return self.unknown_peer(from, &peer, ref_);
                }
                self.update_state(&peer, |s| {
                    s.on_stage = on;
                    if on {
                        s.hand = false;
                    }
                });
            }
            StageOp::Record { on } => self.record(from, on, ref_),
            StageOp::ListRecordings => self.list_recordings(from, ref_),
            StageOp::Broadcast { on } => {
                if !is_host {
                    let message = "only a host of the room can start or stop a broadcast";
                    return self.error(from, ErrorCode::NotHost, message, ref_);
                }
                if self.config.media == MediaPolicy::Mesh {
                    let message =
                        "broadcasts need the media server, which this server does not run";
                    return self.error(from, ErrorCode::NoMediaServer, message, ref_);
                }
                self.set_broadcast(from, on);
            }
        }
    }

    fn set_broadcast(&mut self, by: &PeerId, on: bool) {
        self.broadcast = on;
        let by = by.clone();
        self.broadcast(ServerMsg::Broadcast { on, by: by.clone() });
        if on {
            self.move_calls_to_sfu();
            if self.state_of(&by).status == Status::Idle {
                self.start_alone(&by);
            }
        } else {
            let staged: Vec<PeerId> = self
                .members
                .values()
                .filter(|m| m.info.state.on_stage)
                .map(|m| m.info.id.clone())
                .collect();
            for peer in staged {
                self.update_state(&peer, |s| s.on_stage = false);
            }
            // A call of one lasted only because the room was broadcasting.
            let ids: Vec<_> = self.calls.keys().copied().collect();
            for call in ids {
                self.end_call_if_over(call);
            }
        }
    }

    /// Tells the node of every SFU member whose right to publish changed since it was
    /// last told; run after every command.
    pub(crate) fn sync_publish(&mut self) {
        let changed: Vec<(PeerId, bool)> = self
            .members
            .values()
            .filter_map(|m| {
                let now = self.may_publish(m);
                (m.told_publish.is_some_and(|told| told != now)).then(|| (m.info.id.clone(), now))
            })
            .collect();
        for (peer, publish) in changed {
            if let Some(m) = self.members.get_mut(&peer) {
                m.told_publish = Some(publish);
            }
            self.emit(RoomEvent::SfuPublish { peer, publish });
        }
    }
}
