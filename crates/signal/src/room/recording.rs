//! Recording a room on the server.
//!
//! Rules:
//! - A host starts or stops it (`record`); everyone hears `recording` with who did it,
//!   and a joiner's `joined` names who started a recording that runs. It needs the SFU
//!   (the server only sees media it forwards): under [`MediaPolicy::Mesh`] it is refused
//!   with `no_media_server`.
//! - Starting moves every call of the room to the SFU (`callMode`) and makes new calls
//!   start there while it lasts; the node hears [`RoomEvent::Record`] and records the
//!   room's SFU calls. Starting twice or stopping twice changes nothing.
//! - A recording lasts until a host stops it or the room ends.
//!
//! [`MediaPolicy::Mesh`]: super::MediaPolicy::Mesh

use super::{MediaPolicy, RoomCore, RoomEvent};
use confab_proto::{ErrorCode, PeerId, RequestId, Role, ServerMsg};

impl RoomCore {
    /// `record` from `from`.
    pub(crate) fn record(&mut self, from: &PeerId, on: bool, ref_: Option<RequestId>) {
        if self.members.get(from).map(|m| m.info.role) != Some(Role::Host) {
            let message = "only a host of the room can start or stop a recording";
            return self.error(from, ErrorCode::NotHost, message, ref_);
        }
        if self.config.media == MediaPolicy::Mesh {
            let message = "recordings need the media server, which this server does not run";
            return self.error(from, ErrorCode::NoMediaServer, message, ref_);
        }
        if self.recording.is_some() == on {
            return;
        }
        self.recording = on.then(|| from.clone());
        let by = from.clone();
        self.broadcast(ServerMsg::Recording { on, by });
        if on {
            self.move_calls_to_sfu();
        }
        self.emit(RoomEvent::Record { on });
    }

    /// `recordings` from `from`: a host's request goes to the node (the files are its
    /// business), anyone else's gets `not_host`.
    pub(crate) fn list_recordings(&mut self, from: &PeerId, ref_: Option<RequestId>) {
        if self.members.get(from).map(|m| m.info.role) != Some(Role::Host) {
            let message = "only a host of the room can see its recordings";
            return self.error(from, ErrorCode::NotHost, message, ref_);
        }
        let peer = from.clone();
        self.emit(RoomEvent::ListRecordings { peer, ref_ });
    }

    /// Who started the recording that runs, if one does.
    pub fn recorded_by(&self) -> Option<&PeerId> {
        self.recording.as_ref()
    }
}
