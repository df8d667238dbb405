//! The room's media plan: how each call carries media (a mesh of peer connections, or
//! one connection per member to the server's SFU), and the SFU signaling of its members.
//!
//! Rules:
//! - A call starts as a mesh, unless the policy is [`MediaPolicy::Sfu`].
//! - Under [`MediaPolicy::Auto`], the member who makes a mesh call bigger than
//!   `mesh_max` moves it to the SFU: the others hear `callMode {media: sfu}`, the joiner's
//!   `callJoined` says `sfu`. A call never moves back (a call that shrinks keeps its
//!   connections, so nobody's media flickers).
//! - Only a member of an SFU call may send `sfuOffer`/`sfuAnswer`; the room passes them
//!   to the node as [`RoomEvent::Sfu`] (the node holds the SFU and its endpoints).
//! - A member who leaves an SFU call (hangs up, leaves the room, is kicked, or is the
//!   last one when the call ends) comes out as [`RoomEvent::SfuLeave`], once.

use super::{RoomCore, RoomEvent};
use confab_proto::{CallId, ErrorCode, MediaMode, PeerId, RequestId, ServerMsg, Status};
use serde::{Deserialize, Serialize};

/// How a server's calls carry media (`--media`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MediaPolicy {
    /// Always a mesh (no SFU on this server).
    #[default]
    Mesh,
    /// A mesh up to `mesh_max` members, then the SFU.
    Auto {
        /// Most members of a mesh call.
        mesh_max: usize,
    },
    /// Every call on the SFU.
    Sfu,
}

/// What a member sends the SFU, through its room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum SfuSignal {
    /// Its offer: the first joins the call's media, later ones renegotiate.
    Offer {
        /// SDP.
        sdp: String,
    },
    /// Its answer to the SFU's offer.
    Answer {
        /// SDP.
        sdp: String,
    },
    /// How it shows the tracks it receives (`sfuView`): picks their simulcast layers.
    View {
        /// One entry per track.
        tracks: Vec<confab_proto::TrackView>,
    },
}

impl RoomCore {
    /// How a call started now carries media.
    pub(crate) fn initial_media(&self) -> MediaMode {
        if self.broadcast || self.recording.is_some() {
            return MediaMode::Sfu;
        }
        match self.config.media {
            MediaPolicy::Sfu => MediaMode::Sfu,
            MediaPolicy::Mesh | MediaPolicy::Auto { .. } => MediaMode::Mesh,
        }
    }

    /// `call` just gained a member: under [`MediaPolicy::Auto`], a mesh grown past
    /// `mesh_max` moves to the SFU and its members except `joiner` (who learns it from
    /// its `callJoined`) hear `callMode`.
    pub(crate) fn grow_media(&mut self, call: CallId, joiner: &PeerId) {
        let MediaPolicy::Auto { mesh_max } = self.config.media else {
            return;
        };
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        if c.media != MediaMode::Mesh || c.members.len() <= mesh_max {
            return;
        }
        c.media = MediaMode::Sfu;
        let to: Vec<PeerId> = c.members.iter().filter(|m| *m != joiner).cloned().collect();
        self.announce_sfu(call, to);
    }

    /// Every mesh call of the room moves to the SFU, its members told (`callMode`).
    pub(crate) fn move_calls_to_sfu(&mut self) {
        let mesh: Vec<_> = self
            .calls
            .iter_mut()
            .filter(|(_, c)| c.media == MediaMode::Mesh)
            .map(|(id, c)| {
                c.media = MediaMode::Sfu;
                (*id, c.members.clone())
            })
            .collect();
        for (call, members) in mesh {
            self.announce_sfu(call, members);
        }
    }

    /// Tells `to` that `call` carries its media through the SFU (`callMode`).
    pub(crate) fn announce_sfu(&mut self, call: CallId, to: Vec<PeerId>) {
        let msg = ServerMsg::CallMode {
            call,
            media: MediaMode::Sfu,
        };
        self.emit(RoomEvent::Deliver { to, msg });
    }

    /// `peer` left `call` (or `call` ended with it as its last member): if the call was
    /// on the SFU, the node must drop its endpoint.
    pub(crate) fn left_media(&mut self, call: CallId, peer: &PeerId) {
        if self.calls.get(&call).map(|c| c.media) == Some(MediaMode::Sfu) {
            if let Some(m) = self.members.get_mut(peer) {
                m.told_publish = None;
            }
            self.emit(RoomEvent::SfuLeave { peer: peer.clone() });
        }
    }

    /// `sfuOffer` / `sfuAnswer` from `from`: passed on to the node if `from` is in an SFU
    /// call, else `not_sfu_call`.
    pub(crate) fn sfu_signal(&mut self, from: &PeerId, signal: SfuSignal, ref_: Option<RequestId>) {
        let state = self.state_of(from);
        let call = match (state.status, state.call) {
            (Status::InCall, Some(call))
                if self.calls.get(&call).map(|c| c.media) == Some(MediaMode::Sfu) =>
            {
                call
            }
            // A view outside an SFU call has nothing to size (a call just moved to
            // mesh, say): not an error.
            _ if matches!(signal, SfuSignal::View { .. }) => return,
            _ => {
                let message = "you are not in a call that uses the media server";
                return self.error(from, ErrorCode::NotSfuCall, message, ref_);
            }
        };
        let publish = match self.members.get(from) {
            Some(m) => self.may_publish(m),
            None => return,
        };
        if let Some(m) = self.members.get_mut(from) {
            m.told_publish = Some(publish);
        }
        let name = self.name_of(from);
        self.emit(RoomEvent::Sfu {
            peer: from.clone(),
            name,
            call,
            signal,
            ref_,
            publish,
        });
    }

    /// How `call` carries media, if it exists.
    pub fn call_media(&self, call: CallId) -> Option<MediaMode> {
        self.calls.get(&call).map(|c| c.media)
    }
}
