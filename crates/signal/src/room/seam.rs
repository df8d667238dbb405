//! The seam between the node (sessions) and a room: [`RoomCommand`] in, [`RoomEvent`]
//! out, both serde types.
//!
//! Everything a room knows about its members is a [`PeerId`]: connections, rate limits,
//! resume tokens and parked joins belong to the node that holds the socket. So a room
//! can live on another node than some of its members; a cluster sends exactly these
//! values between nodes (over Redis), and the SFU issue adds the room's media plan here.
//!
//! The node checks what only it can (hello, "in a room at all", the chat rate limit) and
//! sends a command naming the acting peer; the room checks the rest (full, locked, host,
//! call rules) and answers every command with events, errors included, addressed to
//! peers.

use super::{Identity, Moderation, SfuSignal, StageOp};
use confab_proto::{
    CallId, ChatMessage, IceCandidate, LeaveReason, PeerId, RequestId, Role, ServerMsg,
};
use serde::{Deserialize, Serialize};

/// What a node asks of a room on behalf of one of its peers (or of time passing).
///
/// `ref_` is the request id of the client frame behind the command: the room's answer
/// (or error) to `peer` echoes it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "camelCase")]
#[non_exhaustive]
pub enum RoomCommand {
    /// `peer` enters under `name`. `grant` is the role a join token fixed, if any. Answered
    /// with `joined` and [`RoomEvent::Entered`], or an error (`room_full`, `room_locked`,
    /// also for a peer a host removed).
    Join {
        /// Who.
        peer: PeerId,
        /// The display name (validated by the decoder).
        name: String,
        /// The role a join token grants.
        grant: Option<Role>,
        /// The `join`'s request id.
        #[serde(rename = "ref")]
        ref_: Option<RequestId>,
        /// Who it is beyond this connection (a token's subject, else its session).
        #[serde(default)]
        identity: Option<Identity>,
        /// Who it says it was before a restart (its session's identity then), proven by
        /// the node: it takes back a seat held for that identity.
        #[serde(default)]
        claim: Option<Identity>,
        /// A stream (a WHIP encoder, a WHEP player), not a person: its token fixes its
        /// role, but it does not make the room's tokenless hosts guests (see
        /// `moderation.rs`), so an encoder's host token never demotes the teacher.
        #[serde(default)]
        stream: bool,
    },
    /// `peer` goes. With [`LeaveReason::Left`] it hears `left` (echoing `ref_`); the others
    /// hear `peerLeft` with `reason`. Ends with [`RoomEvent::Exited`].
    Leave {
        /// Who.
        peer: PeerId,
        /// Why (`left` or `disconnected`).
        reason: LeaveReason,
        /// The `leave`'s request id.
        #[serde(rename = "ref")]
        ref_: Option<RequestId>,
    },
    /// `peer`'s socket dropped and its place is held: the room sees it `reconnecting`.
    Detach {
        /// Who.
        peer: PeerId,
    },
    /// `peer` resumed on a new socket: it gets a `joined` snapshot (echoing `ref_`) and the
    /// room sees it back.
    Reattach {
        /// Who.
        peer: PeerId,
        /// The resuming `hello`'s request id.
        #[serde(rename = "ref")]
        ref_: Option<RequestId>,
        /// Its identity from now on, if the resume changed it (a new resume token).
        #[serde(default)]
        identity: Option<Identity>,
    },
    /// One of the room's peers sends another one signaling (offer, answer, ...).
    Relay {
        /// The sender (stamped as `from`; a client cannot impersonate another).
        from: PeerId,
        /// The addressee, which must be another member.
        to: PeerId,
        /// What to relay.
        msg: Relayed,
        /// The request id (echoed only by an error).
        #[serde(rename = "ref")]
        ref_: Option<RequestId>,
    },
    /// A chat message, already rate-limited by the sender's node.
    Chat {
        /// The sender.
        from: PeerId,
        /// The text (validated and trimmed by the decoder).
        text: String,
        /// The sender's idempotency key: a repeat is answered, not sent again.
        #[serde(default)]
        key: Option<String>,
        /// Echoed on the sender's copy.
        #[serde(rename = "ref")]
        ref_: Option<RequestId>,
    },
    /// A call request (invite, accept, ...); see [`CallOp`].
    Call {
        /// The requester.
        from: PeerId,
        /// What it asks.
        op: CallOp,
        /// Echoed by the answer or error.
        #[serde(rename = "ref")]
        ref_: Option<RequestId>,
    },
    /// A host's request (kick, mute, lock); see [`HostOp`].
    Host {
        /// The requester (must host the room).
        from: PeerId,
        /// What it asks.
        op: HostOp,
        /// Echoed by an error.
        #[serde(rename = "ref")]
        ref_: Option<RequestId>,
    },
    /// `from` changes its display name (validated by the decoder): everyone hears
    /// `renamed`, `from` with `ref_`; refused with `name_fixed` when a join token named
    /// it (see `members.rs`).
    Rename {
        /// The requester.
        from: PeerId,
        /// The new name.
        name: String,
        /// Echoed to the requester.
        #[serde(rename = "ref")]
        ref_: Option<RequestId>,
    },
    /// Broadcast mode, a raised hand, the stage (see `broadcast.rs`).
    Stage {
        /// The requester.
        from: PeerId,
        /// What it asks.
        op: StageOp,
        /// Echoed by an error.
        #[serde(rename = "ref")]
        ref_: Option<RequestId>,
    },
    /// SFU signaling from a member of an SFU call (`sfuOffer`, `sfuAnswer`); see
    /// `media.rs`. Passed back to the node as [`RoomEvent::Sfu`], or refused with
    /// `not_sfu_call`.
    Sfu {
        /// The sender.
        from: PeerId,
        /// What it sends.
        signal: SfuSignal,
        /// Echoed by an error.
        #[serde(rename = "ref")]
        ref_: Option<RequestId>,
    },
    /// Time has passed: invitations due ring out. Harmless early or twice.
    Tick,
}

/// The signaling a room relays between two of its members.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[non_exhaustive]
pub enum Relayed {
    /// An SDP offer.
    Offer {
        /// The SDP.
        sdp: String,
    },
    /// An SDP answer.
    Answer {
        /// The SDP.
        sdp: String,
    },
    /// A trickled ICE candidate (`None`: end of candidates).
    Candidate {
        /// The candidate.
        candidate: Option<IceCandidate>,
    },
    /// The peer connection is closed.
    Hangup,
}

impl Relayed {
    /// The message the addressee gets, stamped with the sender.
    pub(crate) fn stamped(self, from: PeerId) -> ServerMsg {
        match self {
            Relayed::Offer { sdp } => ServerMsg::Offer { from, sdp },
            Relayed::Answer { sdp } => ServerMsg::Answer { from, sdp },
            Relayed::Candidate { candidate } => ServerMsg::Candidate { from, candidate },
            Relayed::Hangup => ServerMsg::Hangup { from },
        }
    }
}

/// Calls and invitations (see `calls.rs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
#[non_exhaustive]
pub enum CallOp {
    /// Ring `to` into the requester's call, starting one if it is in none.
    Invite {
        /// The invitee.
        to: PeerId,
    },
    /// Withdraw the requester's pending invitation to `to`.
    Cancel {
        /// The invitee.
        to: PeerId,
    },
    /// Join the call the requester is being rung into.
    Accept {
        /// The call.
        call: CallId,
    },
    /// Refuse the requester's invitation.
    Decline {
        /// The call.
        call: CallId,
    },
    /// Enter a running call without an invitation.
    JoinCall {
        /// The call.
        call: CallId,
    },
    /// Hang up.
    LeaveCall,
    /// The requester's mute flags, and whether it shares its screen.
    Media {
        /// Microphone muted.
        audio_muted: bool,
        /// Camera off.
        video_muted: bool,
        /// Its screen is its outgoing video (absent from older nodes: false).
        #[serde(default)]
        screen: bool,
    },
}

/// What only a host may do (see `moderation.rs`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "camelCase")]
#[non_exhaustive]
pub enum HostOp {
    /// Remove `peer` from the room.
    Kick {
        /// Who.
        peer: PeerId,
    },
    /// Ask `peer` to mute its microphone.
    Mute {
        /// Who.
        peer: PeerId,
    },
    /// Lock or unlock the room.
    Lock {
        /// Locked after this.
        locked: bool,
    },
    /// The waiting room on or off (see `waiting.rs`).
    WaitingRoom {
        /// On after this.
        on: bool,
    },
    /// Let `peer`, waiting to join, in or not.
    Admit {
        /// Who.
        peer: PeerId,
        /// In, or not.
        allow: bool,
    },
}

/// What a room tells the nodes of its members, in order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "camelCase")]
#[non_exhaustive]
pub enum RoomEvent {
    /// `peer`'s join waits in the waiting room (see `waiting.rs`): its node holds it as
    /// waiting in this room until [`RoomEvent::Entered`] or [`RoomEvent::Exited`].
    Waiting {
        /// Who.
        peer: PeerId,
    },
    /// Deliver `msg` to each of `to` (members, in the room's order); a node delivers to
    /// those it holds a connection for.
    Deliver {
        /// The addressees.
        to: Vec<PeerId>,
        /// The message.
        msg: ServerMsg,
    },
    /// `peer` is now a member (its `join` was accepted).
    Entered {
        /// Who.
        peer: PeerId,
    },
    /// `peer` is no longer a member (it left, was kicked, or its place expired). After
    /// the last member's, the room is empty and ends.
    Exited {
        /// Who.
        peer: PeerId,
    },
    /// A chat message was accepted in a room whose chat a store keeps: store it.
    ChatStored {
        /// The message as the members got it.
        message: ChatMessage,
    },
    /// The moderation of a room whose chat a store keeps changed: store it in place of
    /// the last one (an empty one: the room ended, forget it). See `saved.rs`.
    ModerationStored {
        /// The room's moderation now.
        moderation: Moderation,
    },
    /// A call started (its first invitation went out); for metrics.
    CallStarted {
        /// The call.
        call: CallId,
    },
    /// `peer`, a member of SFU call `call`, sends the SFU this: the node that holds the
    /// SFU passes it to `peer`'s endpoint (making one for a first offer).
    Sfu {
        /// Who.
        peer: PeerId,
        /// Their display name now (a recording labels their tracks with it).
        #[serde(default)]
        name: String,
        /// Its call (the SFU's room).
        call: CallId,
        /// The SDP.
        signal: SfuSignal,
        /// The request id of the member's frame (echoed by an error).
        #[serde(rename = "ref")]
        ref_: Option<RequestId>,
        /// Whether the SFU may forward `peer`'s media (see `broadcast.rs`).
        #[serde(default = "yes")]
        publish: bool,
    },
    /// `peer`'s right to send media in its SFU call changed: the SFU forwards its
    /// tracks, or stops (see `broadcast.rs`).
    SfuPublish {
        /// Who.
        peer: PeerId,
        /// Whether the SFU may forward its media now.
        publish: bool,
    },
    /// The room's recording started or stopped: the node records its SFU calls (and any
    /// that start while it lasts), or stops (see `recording.rs`).
    Record {
        /// Recording from now on.
        on: bool,
    },
    /// A host asked for the room's recordings: the node that holds the files answers it.
    ListRecordings {
        /// The host.
        peer: PeerId,
        /// Its request id.
        #[serde(rename = "ref")]
        ref_: Option<RequestId>,
    },
    /// `peer` left its SFU call: its endpoint (if any) goes.
    SfuLeave {
        /// Who.
        peer: PeerId,
    },
}

/// The default of a missing `publish` (events from nodes before broadcast mode).
fn yes() -> bool {
    true
}
