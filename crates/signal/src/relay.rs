//! The SDP/ICE relay: `offer`, `answer`, `candidate` and `hangup` to one peer.

use crate::hub::Hub;
use crate::ConnId;
use confab_proto::{ErrorCode, PeerId, RequestId, ServerMsg};

impl Hub {
    /// Delivers `make(sender's peer id)` to the peer `to`, which must be another member
    /// of the sender's room. The hub stamps `from`, so a client cannot impersonate
    /// another, and relays only within a room, so a peer id alone reaches nobody.
    pub(crate) fn handle_relay(
        &mut self,
        conn: ConnId,
        to: PeerId,
        ref_: Option<RequestId>,
        make: impl FnOnce(PeerId) -> ServerMsg,
    ) {
        let Some((from, current)) = self.require_hello(conn, &ref_) else {
            return;
        };
        let Some(room) = current else {
            let message = "not in a room; join one before signaling a peer";
            return self.error(conn, ErrorCode::NotJoined, message, ref_);
        };
        let target = self.by_peer.get(&to).copied().filter(|&target| {
            target != conn && self.session(target).and_then(|s| s.room.as_ref()) == Some(&room)
        });
        let Some(target) = target else {
            // `to` is client text of any length: echo a bounded prefix.
            let shown: String = to.as_str().chars().take(64).collect();
            let message = format!("{shown} is not a peer in your room");
            return self.error(conn, ErrorCode::UnknownPeer, message, ref_);
        };
        self.send(target, make(from));
    }
}
