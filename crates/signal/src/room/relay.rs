//! The SDP/ICE relay: `offer`, `answer`, `candidate` and `hangup` to one member.

use super::{Relayed, RoomCore};
use confab_proto::{PeerId, RequestId};

impl RoomCore {
    /// Delivers `msg`, stamped with `from`, to `to`, which must be another member. The
    /// room stamps `from`, so a client cannot impersonate another, and relays only to
    /// members, so a peer id alone reaches nobody.
    pub(crate) fn relay(
        &mut self,
        from: PeerId,
        to: PeerId,
        msg: Relayed,
        ref_: Option<RequestId>,
    ) {
        if to == from || !self.members.contains_key(&to) || !self.members.contains_key(&from) {
            return self.unknown_peer(&from, &to, ref_);
        }
        self.send(&to, msg.stamped(from));
    }
}
