//! The node's side of SFU calls: which SFU endpoint belongs to which member, and the
//! SFU's room (group) of each SFU call.
//!
//! A room passes a member's `sfuOffer`/`sfuAnswer` out as [`RoomEvent::Sfu`] and its
//! departure from an SFU call as [`RoomEvent::SfuLeave`] (`room/media.rs`); here they
//! become [`MediaCommand`]s for the SFU driver, and the SFU's [`MediaEvent`]s go back to
//! the member's connection. Links are keyed by peer id, not connection: a member whose
//! socket drops keeps its SFU connection (media does not go through the socket) and
//! gets the SFU's messages again once it resumes.
//!
//! [`RoomEvent::Sfu`]: crate::room::RoomEvent::Sfu
//! [`RoomEvent::SfuLeave`]: crate::room::RoomEvent::SfuLeave

use super::hub::Hub;
use crate::io::{MediaCommand, MediaEndpoint, MediaEvent};
use crate::room::SfuSignal;
use crate::Output;
use confab_proto::{CallId, ErrorCode, PeerId, RequestId, RoomId, ServerMsg};
use std::collections::HashMap;

/// Every SFU endpoint the node made, and the SFU rooms they are in.
#[derive(Debug, Default)]
pub(crate) struct MediaLinks {
    by_peer: HashMap<PeerId, Link>,
    by_endpoint: HashMap<MediaEndpoint, PeerId>,
    /// The SFU room of each SFU call with endpoints, and how many it has.
    groups: HashMap<(RoomId, CallId), (u64, usize)>,
    last_endpoint: u64,
    last_group: u64,
}

#[derive(Debug)]
struct Link {
    endpoint: MediaEndpoint,
    key: (RoomId, CallId),
}

impl MediaLinks {
    /// Endpoints the node holds (for metrics and the invariants).
    pub(crate) fn len(&self) -> usize {
        self.by_peer.len()
    }

    fn unlink(&mut self, peer: &PeerId) -> Option<MediaEndpoint> {
        let link = self.by_peer.remove(peer)?;
        self.by_endpoint.remove(&link.endpoint);
        if let Some((_, n)) = self.groups.get_mut(&link.key) {
            *n -= 1;
            if *n == 0 {
                self.groups.remove(&link.key);
            }
        }
        Some(link.endpoint)
    }
}

impl Hub {
    /// Every endpoint belongs to a member of an SFU call of its room, indexed both ways,
    /// and each SFU call's endpoint count is right; for tests.
    #[cfg(test)]
    pub(crate) fn check_media_invariants(&self) {
        let m = &self.media;
        assert_eq!(m.by_peer.len(), m.by_endpoint.len());
        let mut counts: HashMap<&(RoomId, CallId), usize> = HashMap::new();
        for (peer, link) in &m.by_peer {
            assert_eq!(m.by_endpoint.get(&link.endpoint), Some(peer));
            let (room, call) = &link.key;
            let core = &self
                .rooms
                .get(room)
                .expect("an endpoint's room exists")
                .core;
            let state = core
                .peers()
                .into_iter()
                .find(|p| &p.id == peer)
                .expect("a member")
                .state;
            assert_eq!(
                state.call,
                Some(*call),
                "{peer} is in the call of its endpoint"
            );
            assert_eq!(core.call_media(*call), Some(confab_proto::MediaMode::Sfu));
            *counts.entry(&link.key).or_default() += 1;
        }
        assert_eq!(counts.len(), m.groups.len());
        for (key, n) in counts {
            assert_eq!(
                m.groups.get(key).map(|g| g.1),
                Some(n),
                "endpoints of {key:?}"
            );
        }
    }

    /// A member of SFU call `call` in `room` sends the SFU `signal`.
    pub(crate) fn sfu_signal(
        &mut self,
        room: &RoomId,
        peer: PeerId,
        call: CallId,
        signal: SfuSignal,
        ref_: Option<RequestId>,
    ) {
        let key = (room.clone(), call);
        let existing = self
            .media
            .by_peer
            .get(&peer)
            .map(|l| (l.endpoint, l.key == key));
        let cmd = match (signal, existing) {
            (SfuSignal::Offer { sdp }, Some((endpoint, true))) => {
                MediaCommand::Offer { endpoint, sdp }
            }
            (SfuSignal::Answer { sdp }, Some((endpoint, true))) => {
                MediaCommand::Answer { endpoint, sdp }
            }
            (SfuSignal::Offer { sdp }, stale) => {
                // A first offer, or one from a call the peer has since left: a new endpoint.
                if stale.is_some() {
                    self.sfu_leave(&peer);
                }
                self.media_join(peer, key, sdp)
            }
            (SfuSignal::Answer { .. }, _) => {
                if let Some(&conn) = self.by_peer.get(&peer) {
                    let message = "no offer from the media server to answer: send sfuOffer first";
                    self.error(conn, ErrorCode::NotSfuCall, message, ref_);
                }
                return;
            }
        };
        self.out.push_back(Output::Media(cmd));
    }

    fn media_join(&mut self, peer: PeerId, key: (RoomId, CallId), offer: String) -> MediaCommand {
        let m = &mut self.media;
        m.last_endpoint += 1;
        let endpoint = MediaEndpoint(m.last_endpoint);
        let group = match m.groups.get_mut(&key) {
            Some((group, n)) => {
                *n += 1;
                *group
            }
            None => {
                m.last_group += 1;
                m.groups.insert(key.clone(), (m.last_group, 1));
                m.last_group
            }
        };
        m.by_endpoint.insert(endpoint, peer.clone());
        m.by_peer.insert(peer.clone(), Link { endpoint, key });
        MediaCommand::Join {
            endpoint,
            group,
            label: peer,
            offer,
        }
    }

    /// `peer` left its SFU call (or its room): its endpoint goes, if it has one.
    pub(crate) fn sfu_leave(&mut self, peer: &PeerId) {
        if let Some(endpoint) = self.media.unlink(peer) {
            self.out
                .push_back(Output::Media(MediaCommand::Leave { endpoint }));
        }
    }

    /// Something the SFU says about one of our endpoints: relayed to its member's
    /// connection (if it has one now; a member away on a dropped socket misses it and
    /// renegotiates after its resume).
    pub(crate) fn handle_media(&mut self, event: MediaEvent) {
        let endpoint = match &event {
            MediaEvent::Answer { endpoint, .. }
            | MediaEvent::Offer { endpoint, .. }
            | MediaEvent::Connected { endpoint }
            | MediaEvent::Failed { endpoint, .. } => *endpoint,
        };
        let Some(peer) = self.media.by_endpoint.get(&endpoint).cloned() else {
            return; // dropped by us meanwhile (the member left)
        };
        let msg = match event {
            MediaEvent::Answer { sdp, .. } => ServerMsg::SfuAnswer { sdp },
            MediaEvent::Offer { sdp, .. } => ServerMsg::SfuOffer { sdp },
            MediaEvent::Connected { .. } => return,
            MediaEvent::Failed { message, gone, .. } => {
                if gone {
                    self.media.unlink(&peer);
                }
                ServerMsg::Error {
                    code: ErrorCode::MediaFailed,
                    message: format!("the media server: {message}"),
                    ref_: None,
                }
            }
        };
        if let Some(&conn) = self.by_peer.get(&peer) {
            self.send(conn, msg);
        }
    }
}
