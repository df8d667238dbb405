//! An offer from a new peer connection, where a renegotiation was expected.
//!
//! A browser that gives up on its connection to the router (its link was cut long enough)
//! makes a new one and offers again. If its signaling still held the old endpoint, that
//! offer comes as a renegotiation ([`Input::Offer`](crate::Input::Offer)); but a new
//! `RTCPeerConnection` has a new DTLS certificate (a connection keeps its certificate for
//! life, RFC 8829 section 4.1.1), so the old endpoint could never take it, and its
//! failure would then be told to the member, whose client would drop its new connection
//! for it. Seen: a member cut off for 20 s went through five such connections, one every
//! 2 s, before one stayed. So an offer naming another certificate replaces the endpoint:
//! the old one goes without a word, and the offer joins as a new one under the same id.

use crate::io::{EndpointId, EndpointKind, Output};
use crate::sfu::Sfu;
use std::time::Instant;

/// The DTLS fingerprint an SDP names (its first `a=fingerprint:`, session or media level),
/// as written.
pub(crate) fn fingerprint(sdp: &str) -> Option<String> {
    sdp.lines()
        .find_map(|l| l.trim_end().strip_prefix("a=fingerprint:"))
        .map(|f| f.trim().to_ascii_lowercase())
}

impl Sfu {
    /// Whether `sdp`, offered on `id`, comes from another peer connection than the one
    /// the endpoint was made for (a browser's, whose joining offer named a fingerprint).
    pub(crate) fn is_new_connection(&self, id: EndpointId, sdp: &str) -> bool {
        let Some(ep) = self.endpoints.get(&id) else {
            return false;
        };
        let (Some(was), Some(now)) = (ep.fingerprint.as_deref(), fingerprint(sdp)) else {
            return false;
        };
        ep.kind == EndpointKind::Browser && was != now
    }

    /// Joins `offer` under `id`'s id, room, name and right to publish, in place of the
    /// endpoint (the others renegotiate its tracks); a refused offer changes nothing.
    pub(crate) fn replace_endpoint(&mut self, now: Instant, id: EndpointId, offer: &str) {
        let Some(ep) = self.endpoints.get(&id) else {
            return;
        };
        let room = ep.room.clone();
        let (label, name) = (ep.label.to_string(), ep.name.to_string());
        let follow = ep.follow.as_deref().map(str::to_owned);
        let (publish, kind) = (ep.publish, ep.kind);
        // Made first: an offer the new endpoint refuses leaves the old one as it was.
        let names = (label.as_str(), name.as_str(), follow);
        match self.make_endpoint(now, id, room, names, offer, (publish, kind)) {
            Ok(made) => {
                self.remove_endpoint(id);
                self.install(made);
            }
            Err(error) => self.out.push_back(Output::Rejected {
                endpoint: id,
                error,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fingerprint;

    #[test]
    fn the_fingerprint_is_read_from_the_first_line_that_names_one() {
        let sdp = "v=0\r\na=fingerprint:sha-256 AB:CD\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
                   a=fingerprint:sha-256 EF:01\r\n";
        assert_eq!(fingerprint(sdp).as_deref(), Some("sha-256 ab:cd"));
        assert_eq!(fingerprint("v=0\r\n"), None);
    }
}
