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
//! The SFU reports each group's active speakers ([`MediaEvent::Speakers`]); the group's
//! entry names its call and its members with endpoints, so the list goes to them as
//! `activeSpeakers`, and the last list goes to a member whose connection to the SFU
//! comes up later. A group's entry lives exactly as long as it has endpoints. What an
//! endpoint gets of each track ([`MediaEvent::Layers`]) goes to its member alone, as
//! `layers` with its call.
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
    /// The SFU room (group) of each SFU call with endpoints.
    groups: HashMap<(RoomId, CallId), u64>,
    /// Each group's call and members: the reverse of `groups`, with the same keys.
    by_group: HashMap<u64, Group>,
    last_endpoint: u64,
    last_group: u64,
    /// Rooms being recorded: their SFU rooms are, including ones made later.
    recording: std::collections::HashSet<RoomId>,
}

#[derive(Debug)]
struct Link {
    endpoint: MediaEndpoint,
    /// Whether the SFU was told to forward its media.
    publish: bool,
    key: (RoomId, CallId),
    group: u64,
}

/// One SFU room.
#[derive(Debug)]
struct Group {
    /// Its call.
    key: (RoomId, CallId),
    /// The members with an endpoint in it, in the order they joined it (never empty).
    members: Vec<PeerId>,
    /// Its active speakers as the SFU last reported them.
    speakers: Vec<PeerId>,
}

impl MediaLinks {
    /// Endpoints the node holds (for metrics and the invariants).
    pub(crate) fn len(&self) -> usize {
        self.by_peer.len()
    }

    /// Forgets `peer`'s endpoint; also returns its SFU room if that emptied and was
    /// recorded (its recording must stop).
    fn unlink(&mut self, peer: &PeerId) -> Option<(MediaEndpoint, Option<MediaCommand>)> {
        let link = self.by_peer.remove(peer)?;
        self.by_endpoint.remove(&link.endpoint);
        let mut stop = None;
        if let Some(group) = self.by_group.get_mut(&link.group) {
            group.members.retain(|p| p != peer);
            if group.members.is_empty() {
                self.by_group.remove(&link.group);
                self.groups.remove(&link.key);
                if self.recording.contains(&link.key.0) {
                    stop = Some(MediaCommand::Record {
                        group: link.group,
                        room: link.key.0.clone(),
                        on: false,
                    });
                }
            }
        }
        Some((link.endpoint, stop))
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
        assert_eq!(m.by_group.len(), m.groups.len());
        for (key, n) in counts {
            let group = m.groups.get(key).and_then(|g| m.by_group.get(g));
            let group = group.expect("a group both ways");
            assert_eq!(&group.key, key);
            assert_eq!(group.members.len(), n, "endpoints of {key:?}");
            for peer in &group.members {
                assert_eq!(m.by_peer.get(peer).map(|l| &l.key), Some(key));
            }
        }
    }

    /// A member of SFU call `call` in `room` (`peer`, under its display name) sends the
    /// SFU `signal`.
    pub(crate) fn sfu_signal(
        &mut self,
        room: &RoomId,
        (peer, name): (PeerId, String),
        call: CallId,
        signal: SfuSignal,
        ref_: Option<RequestId>,
        publish: bool,
    ) {
        let key = (room.clone(), call);
        if self.media.by_peer.get(&peer).is_some_and(|l| l.key == key) {
            self.sfu_publish(&peer, publish);
        }
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
            (SfuSignal::View { tracks }, Some((endpoint, true))) => {
                MediaCommand::View { endpoint, tracks }
            }
            // Before its first offer there is nothing to size.
            (SfuSignal::View { .. }, _) => return,
            (SfuSignal::Offer { sdp }, stale) => {
                // A first offer, or one from a call the peer has since left: a new endpoint.
                if stale.is_some() {
                    self.sfu_leave(&peer);
                }
                let fresh = !self.media.groups.contains_key(&key);
                let join = self.media_join((peer, name), key.clone(), sdp, publish);
                self.out.push_back(Output::Media(join));
                // A new SFU room of a recorded room is recorded from its start.
                if fresh && self.media.recording.contains(&key.0) {
                    if let Some(&group) = self.media.groups.get(&key) {
                        let (room, on) = (key.0, true);
                        let cmd = MediaCommand::Record { group, room, on };
                        self.out.push_back(Output::Media(cmd));
                    }
                }
                return;
            }
            (SfuSignal::Answer { .. }, _) => {
                let message = "no offer from the media server to answer: send sfuOffer first";
                let code = ErrorCode::NotSfuCall;
                let message = message.into();
                let error = ServerMsg::Error {
                    code,
                    message,
                    ref_,
                };
                return self.send_member(room, &peer, error);
            }
        };
        self.out.push_back(Output::Media(cmd));
    }

    /// `peer`'s right to send media: the SFU hears of a change.
    pub(crate) fn sfu_publish(&mut self, peer: &PeerId, publish: bool) {
        let Some(link) = self.media.by_peer.get_mut(peer) else {
            return;
        };
        if link.publish == publish {
            return;
        }
        link.publish = publish;
        let endpoint = link.endpoint;
        let cmd = MediaCommand::Publish { endpoint, publish };
        self.out.push_back(Output::Media(cmd));
    }

    fn media_join(
        &mut self,
        (peer, name): (PeerId, String),
        key: (RoomId, CallId),
        offer: String,
        publish: bool,
    ) -> MediaCommand {
        let (kind, follow) = self
            .by_peer
            .get(&peer)
            .and_then(|c| self.conns.get(c))
            .and_then(|s| s.session.as_ref())
            .map(|s| (s.kind, s.follow.clone()))
            .unwrap_or_default();
        let m = &mut self.media;
        m.last_endpoint += 1;
        let endpoint = MediaEndpoint(m.last_endpoint);
        let group = match m.groups.get(&key) {
            Some(&group) => group,
            None => {
                m.last_group += 1;
                m.groups.insert(key.clone(), m.last_group);
                m.last_group
            }
        };
        m.by_group
            .entry(group)
            .or_insert_with(|| Group {
                key: key.clone(),
                members: Vec::new(),
                speakers: Vec::new(),
            })
            .members
            .push(peer.clone());
        m.by_endpoint.insert(endpoint, peer.clone());
        m.by_peer.insert(
            peer.clone(),
            Link {
                endpoint,
                publish,
                key,
                group,
            },
        );
        MediaCommand::Join {
            endpoint,
            group,
            label: peer,
            name,
            offer,
            publish,
            kind,
            follow,
        }
    }

    /// `peer` left its SFU call (or its room): its endpoint goes, if it has one.
    pub(crate) fn sfu_leave(&mut self, peer: &PeerId) {
        if let Some((endpoint, stop)) = self.media.unlink(peer) {
            self.out
                .push_back(Output::Media(MediaCommand::Leave { endpoint }));
            if let Some(stop) = stop {
                self.out.push_back(Output::Media(stop));
            }
        }
    }

    /// `room`'s recording started or stopped: each of its SFU rooms is recorded, or not.
    pub(crate) fn media_record(&mut self, room: &RoomId, on: bool) {
        let changed = if on {
            self.media.recording.insert(room.clone())
        } else {
            self.media.recording.remove(room)
        };
        if !changed {
            return;
        }
        let mut groups: Vec<u64> = self
            .media
            .groups
            .iter()
            .filter(|((r, _), _)| r == room)
            .map(|(_, g)| *g)
            .collect();
        groups.sort_unstable();
        for group in groups {
            let room = room.clone();
            self.out
                .push_back(Output::Media(MediaCommand::Record { group, room, on }));
        }
    }

    /// `room` ended: it records nothing any more (its SFU rooms emptied already).
    pub(crate) fn media_room_ended(&mut self, room: &RoomId) {
        self.media.recording.remove(room);
    }

    /// Something the SFU says about one of our endpoints: relayed to its member's
    /// connection (if it has one now; a member away on a dropped socket misses it and
    /// renegotiates after its resume).
    pub(crate) fn handle_media(&mut self, event: MediaEvent) {
        let endpoint = match &event {
            MediaEvent::Answer { endpoint, .. }
            | MediaEvent::Offer { endpoint, .. }
            | MediaEvent::Connected { endpoint }
            | MediaEvent::Layers { endpoint, .. }
            | MediaEvent::Failed { endpoint, .. } => *endpoint,
            MediaEvent::Speakers { group, speakers } => {
                return self.media_speakers(*group, speakers);
            }
        };
        let Some(peer) = self.media.by_endpoint.get(&endpoint).cloned() else {
            return; // dropped by us meanwhile (the member left)
        };
        let Some(room) = self.media.by_peer.get(&peer).map(|l| l.key.0.clone()) else {
            return;
        };
        let msg = match event {
            MediaEvent::Answer { sdp, .. } => ServerMsg::SfuAnswer { sdp },
            MediaEvent::Offer { sdp, .. } => ServerMsg::SfuOffer { sdp },
            MediaEvent::Speakers { .. } => return, // handled above
            MediaEvent::Layers { tracks, .. } => {
                let Some(link) = self.media.by_peer.get(&peer) else {
                    return;
                };
                ServerMsg::Layers {
                    call: link.key.1,
                    tracks,
                }
            }
            MediaEvent::Connected { .. } => {
                // A member connected late hears who is talking already.
                let Some(link) = self.media.by_peer.get(&peer) else {
                    return;
                };
                let Some(group) = self.media.by_group.get(&link.group) else {
                    return;
                };
                if group.speakers.is_empty() {
                    return;
                }
                ServerMsg::ActiveSpeakers {
                    call: group.key.1,
                    speakers: group.speakers.clone(),
                }
            }
            MediaEvent::Failed { message, gone, .. } => {
                if gone {
                    if let Some((_, Some(stop))) = self.media.unlink(&peer) {
                        self.out.push_back(Output::Media(stop));
                    }
                }
                ServerMsg::Error {
                    code: ErrorCode::MediaFailed,
                    message: format!("the media server: {message}"),
                    ref_: None,
                }
            }
        };
        self.send_member(&room, &peer, msg);
    }

    /// The SFU's new list of active speakers in `group`: kept (for members who connect
    /// later) and sent to every member of its call holding an endpoint there. Names that
    /// are not such members (one who left since the SFU's round) are left out. A group
    /// that is gone (its last endpoint left meanwhile) is ignored.
    fn media_speakers(&mut self, group: u64, speakers: &[PeerId]) {
        let Some(g) = self.media.by_group.get_mut(&group) else {
            return;
        };
        g.speakers = speakers
            .iter()
            .filter(|p| g.members.contains(p))
            .cloned()
            .collect();
        let msg = ServerMsg::ActiveSpeakers {
            call: g.key.1,
            speakers: g.speakers.clone(),
        };
        let (room, members) = (g.key.0.clone(), g.members.clone());
        for peer in &members {
            self.send_member(&room, peer, msg.clone());
        }
    }
}
