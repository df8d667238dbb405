//! What goes into the [`Sfu`](crate::Sfu) and what comes out: one input type, one output
//! type, and the small values they carry.

use confab_proto::RoomId;
use std::fmt;
use std::net::SocketAddr;

/// Identifies one endpoint (one WebRTC peer connection to the SFU). Assigned by the
/// caller, which must never reuse a value while the SFU may still know it (a counter is
/// the simple choice). The signaling layer keeps the mapping to its own connection ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EndpointId(pub u64);

impl fmt::Display for EndpointId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ep{}", self.0)
    }
}

/// What kind of peer an endpoint is: what it sends, what it gets, and whether it
/// renegotiates. Participants are kinds: the room does not care which.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum EndpointKind {
    /// A browser: publishes its tracks, and is offered everyone else's by renegotiation.
    #[default]
    Browser,
    /// A WHIP encoder: publishes only, and is never offered anything (it does not
    /// renegotiate).
    Publisher,
    /// A WHEP player: receives only, on the m-lines of its own offer (each one the SFU
    /// may send on carries one track of that kind: the room's first publisher of it, or
    /// the first of the name it follows, then the next when that one goes); never
    /// renegotiates.
    Player,
}

/// One UDP datagram that arrived on the SFU's socket, borrowed from the driver's receive
/// buffer (the core copies nothing it does not keep).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// The remote address it came from.
    pub source: SocketAddr,
    /// The local address it arrived on (the socket's address as the driver sees it; it
    /// must be one of [`SfuConfig::candidates`](crate::SfuConfig::candidates)).
    pub destination: SocketAddr,
    /// The payload: STUN, DTLS, SRTP or SRTCP.
    pub bytes: &'a [u8],
}

/// One input to [`Sfu::handle`](crate::Sfu::handle).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input<'a> {
    /// A new endpoint joins `room` with its SDP offer (what the browser's
    /// `createOffer` gave). Answered by [`Output::Answer`], or [`Output::Rejected`] (bad
    /// SDP, an id already in use, a limit).
    Join {
        /// The caller-chosen id of the new endpoint.
        endpoint: EndpointId,
        /// The room it joins; created on first use, freed with its last endpoint.
        room: RoomId,
        /// The media stream id its tracks carry to the others (`a=msid`), so a browser
        /// knows whose media a track is: the signaling layer's peer id. Only SDP token
        /// characters are kept, at most 64 (RFC 8830, done by str0m); empty means the
        /// endpoint id.
        label: String,
        /// The participant's name (the signaling layer's display name of its member):
        /// what a player's `follow` matches. May be empty.
        name: String,
        /// The offer, as SDP text.
        offer: String,
        /// Whether its tracks go to the others. A non-publisher (a viewer in a
        /// broadcast) only receives: whatever it sends is dropped, and nobody is offered
        /// its tracks.
        publish: bool,
        /// What kind of peer it is.
        kind: EndpointKind,
        /// A player only (ignored for other kinds): play only publishers and sources
        /// whose `name` is this one, the first of them in join order, then the next when
        /// that one goes, and one who joins later under the name (a camera back after a
        /// reconnect) when none is left. `None`: every publisher of the room is a
        /// candidate, in join order.
        follow: Option<String>,
    },
    /// An endpoint may publish from now on, or may no longer: its tracks are offered to
    /// the others of its room, or stopped on them (both by renegotiation). Unknown ids
    /// and no change are ignored.
    Publish {
        /// Whose right changes.
        endpoint: EndpointId,
        /// Whether its tracks go to the others from now on.
        publish: bool,
    },
    /// An endpoint renegotiates (adds or removes a track of its own). Answered by
    /// [`Output::Answer`]. An offer that crosses one of ours wins: ours is dropped and
    /// made again after this one is answered (the SFU is the polite side). An offer from
    /// a browser's new peer connection (another DTLS fingerprint than its join's) is a
    /// join under the same id: the old endpoint goes without a [`Output::Disconnected`].
    Offer {
        /// Who offers.
        endpoint: EndpointId,
        /// The offer, as SDP text.
        sdp: String,
    },
    /// The endpoint's answer to an [`Output::Offer`] the SFU made.
    Answer {
        /// Who answers.
        endpoint: EndpointId,
        /// The answer, as SDP text.
        sdp: String,
    },
    /// The endpoint is gone (left the room, closed its connection). Its tracks are
    /// removed from everyone else's connection and its state freed. Unknown ids are
    /// ignored. No output for the leaver itself.
    Leave {
        /// Who leaves.
        endpoint: EndpointId,
    },
    /// Start (or stop) copying every frame forwarded in `room` out as
    /// [`Output::Recorded`], and ask its publishers for keyframes so video files start
    /// at once. A source's frames (H.264, G.711) are copied too; its video starts with
    /// the cached group of pictures (keyframe first, squeezed a tick apart before the
    /// frame that arrived, as a new receiver gets it), or at its next keyframe when the
    /// cache holds none. Unknown rooms are remembered: their frames are copied once they
    /// exist.
    Record {
        /// The room.
        room: RoomId,
        /// On or off.
        on: bool,
    },
    /// How an endpoint shows the video tracks it receives, by our m-line's mid on its
    /// connection: each simulcast track's layer follows (see the crate docs). Unknown
    /// endpoints and mids are ignored.
    View {
        /// Whose views.
        endpoint: EndpointId,
        /// One per track it reports; tracks not named keep what they had.
        views: Vec<TrackView>,
    },
    /// A source joins `room`: a participant with no WebRTC connection (an IP camera
    /// the driver pulls), whose frames come in as [`Input::SourceFrame`] and go to the
    /// room's receivers exactly as a publisher's do. Answered by [`Output::Connected`]
    /// (there is nothing to set up) or [`Output::Rejected`] (an id in use, a limit).
    /// Leaves with [`Input::Leave`].
    SourceJoin {
        /// The caller-chosen id (from the same space as other endpoints' ids).
        endpoint: EndpointId,
        /// The room it joins.
        room: RoomId,
        /// The stream id its tracks carry (see `Join`); empty means the endpoint id.
        label: String,
        /// Its name: what a player's `follow` matches (see `Join`).
        name: String,
        /// Its tracks, in order: [`Input::SourceFrame`]'s `track` indexes this list.
        tracks: Vec<SourceCodec>,
    },
    /// One frame of a source's track. Unknown sources and tracks are ignored. The last
    /// group of pictures of a video track (from its last keyframe, bounded by
    /// [`SfuConfig::source_cache_bytes`](crate::SfuConfig::source_cache_bytes)) is kept,
    /// so a receiver that opens the track gets a keyframe at once.
    SourceFrame {
        /// The source.
        endpoint: EndpointId,
        /// Its track, by position in `SourceJoin`'s `tracks`.
        track: usize,
        /// The frame.
        frame: SourceFrame,
    },
    /// A datagram arrived on the SFU's UDP socket.
    Datagram(Datagram<'a>),
    /// Nothing arrived; time passed (the deadline from
    /// [`Sfu::poll_timeout`](crate::Sfu::poll_timeout), or any later time).
    Timeout,
}

/// The codec of a source's track ([`Input::SourceJoin`]): what the SFU can pass through
/// to browsers without transcoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SourceCodec {
    /// H.264 video, clock 90 kHz, one access unit per frame in Annex B form (start
    /// codes; a keyframe carries its SPS and PPS). Offered to receivers as
    /// packetization-mode 1, profile-level-id 42e01f, whatever the camera's profile is:
    /// browsers decode higher profiles behind that signal too.
    H264,
    /// G.711 mu-law audio (PCMU), clock 8 kHz.
    Pcmu,
    /// G.711 A-law audio (PCMA), clock 8 kHz.
    Pcma,
}

/// One frame of a source's track ([`Input::SourceFrame`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFrame {
    /// Its RTP time, in ticks of the codec's clock (90 kHz for video, 8 kHz for G.711);
    /// it only has to grow with the frames.
    pub rtp_time: u64,
    /// A video frame that decodes alone (an IDR access unit); every audio frame is one.
    pub keyframe: bool,
    /// The frame: an access unit in Annex B form, or G.711 samples.
    pub data: std::sync::Arc<[u8]>,
}

/// How a receiver shows one video track ([`Input::View`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrackView {
    /// The m-line's mid on the receiver's connection.
    pub mid: String,
    /// The tile's size in device pixels; 0 by 0 when it is not shown at all.
    pub width: u32,
    /// See `width`.
    pub height: u32,
}

/// One video track a receiver gets, as [`Output::Layers`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardedTrack {
    /// The m-line's mid on the receiver's connection (what [`TrackView`] names).
    pub mid: String,
    /// The publisher's label (`Input::Join`'s): the stream id the track carries.
    pub from: String,
    /// The layer forwarded; `None`: paused (the receiver does not show the track, so
    /// nothing of it is sent).
    pub layer: Option<ForwardedLayer>,
    /// How many layers the publisher sends (every one seen on the track, one stalled or
    /// turned off for now included); 1 for a track sent in one stream (no simulcast: it
    /// is always forwarded as it comes).
    pub layers: u32,
}

/// The layer of a track a receiver gets ([`ForwardedTrack`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardedLayer {
    /// Its place among the layers the publisher sends, 0 the smallest; the top one
    /// is `layers - 1`. By place, not by rid: rids are whatever the publisher named them.
    pub index: u32,
    /// Its rid (`None`: a track sent in one stream).
    pub rid: Option<String>,
    /// Its picture's width and height, from its last VP8 keyframe (`None`: none seen
    /// yet, or another codec).
    pub size: Option<(u32, u32)>,
}

/// A recorded frame's codec (what a muxer needs to know).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordedCodec {
    /// VP8 video.
    Vp8,
    /// Opus audio.
    Opus,
    /// H.264 video (an IP camera's): each frame an access unit in Annex B form, a
    /// keyframe with its SPS and PPS.
    H264,
    /// G.711 mu-law audio (an IP camera's), 8 kHz.
    Pcmu,
    /// G.711 A-law audio (an IP camera's), 8 kHz.
    Pcma,
    /// Anything else (VP9, a browser's H.264...): not written by the recorder.
    Other,
}

/// One frame of a recorded room, as its publisher sent it (the top simulcast layer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedFrame {
    /// The room.
    pub room: RoomId,
    /// Its publisher's label (`Input::Join`'s).
    pub label: String,
    /// The track: its mid on the publisher's connection (one file per track).
    pub track: String,
    /// Audio (else video).
    pub audio: bool,
    /// The codec.
    pub codec: RecordedCodec,
    /// When its last packet arrived.
    pub arrived: std::time::Instant,
    /// Its RTP time, in ticks of `clock_rate` a second.
    pub rtp_time: u64,
    /// The clock rate of `rtp_time`.
    pub clock_rate: u64,
    /// A video frame that decodes alone (every audio frame does).
    pub keyframe: bool,
    /// The frame (depacketized: a whole VP8 frame, one Opus packet; a source's H.264
    /// access unit or G.711 samples), shared with the forwarding (no copy).
    pub data: std::sync::Arc<[u8]>,
}

/// Why an endpoint was dropped without a [`Input::Leave`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// ICE lost the peer: no STUN consent from it for a while.
    IceDisconnected,
    /// Nothing at all arrived from it for [`SfuConfig::idle_timeout`](crate::SfuConfig::idle_timeout)
    /// (it never connected, or went silent).
    Idle,
    /// Its DTLS or SCTP association closed, or its WebRTC state failed.
    Closed,
}

/// Why an input was refused. The endpoint's state is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SfuError {
    /// A `Join` with an id that is already an endpoint.
    #[error("endpoint id already in use")]
    EndpointExists,
    /// An `Offer` or `Answer` for an endpoint the SFU does not know.
    #[error("no such endpoint")]
    UnknownEndpoint,
    /// The SDP text did not parse, or str0m refused it (the reason, in words).
    #[error("bad sdp: {0}")]
    BadSdp(String),
    /// An `Answer` when the SFU had no offer outstanding (it crossed an offer of the
    /// endpoint's, or came twice).
    #[error("no offer outstanding")]
    NoPendingOffer,
    /// [`SfuConfig::max_endpoints`](crate::SfuConfig::max_endpoints) are in use.
    #[error("sfu full")]
    Full,
    /// [`SfuConfig::max_room_size`](crate::SfuConfig::max_room_size) endpoints are in
    /// that room.
    #[error("room full")]
    RoomFull,
}

/// One output of the [`Sfu`](crate::Sfu), drained with
/// [`Sfu::poll_output`](crate::Sfu::poll_output) after every input. Not
/// `#[non_exhaustive]`: a new output is something a driver must perform, so a new
/// variant should fail to compile there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Output {
    /// Send `bytes` from `source` (one of our candidate addresses) to `destination`.
    Transmit {
        /// Our local address to send from (the socket bound to it).
        source: SocketAddr,
        /// The peer's address.
        destination: SocketAddr,
        /// The datagram.
        bytes: Vec<u8>,
    },
    /// The answer to a [`Input::Join`] or [`Input::Offer`], for the signaling layer to
    /// relay to the endpoint.
    Answer {
        /// The endpoint that offered.
        endpoint: EndpointId,
        /// SDP text.
        sdp: String,
    },
    /// The SFU renegotiates: tracks of other endpoints were added or removed. Relay to
    /// the endpoint; its answer comes back as [`Input::Answer`]. At most one is
    /// outstanding per endpoint.
    Offer {
        /// The endpoint to relay it to.
        endpoint: EndpointId,
        /// SDP text.
        sdp: String,
    },
    /// ICE and DTLS are up: media can flow to and from the endpoint.
    Connected {
        /// The endpoint.
        endpoint: EndpointId,
    },
    /// The endpoint was dropped and its state freed (as if it had left; the others
    /// renegotiate without its tracks). Not produced for an [`Input::Leave`].
    Disconnected {
        /// The endpoint.
        endpoint: EndpointId,
        /// Why.
        reason: DisconnectReason,
    },
    /// The active speakers of `room` changed (see the crate docs): the labels of the
    /// publishers talking now, loudest first, at most three; empty when nobody is. Made
    /// at most once per room per round (every 300 ms), and only on a change.
    ActiveSpeakers {
        /// The room.
        room: RoomId,
        /// Their labels (what `Input::Join` named them), loudest first.
        speakers: Vec<String>,
    },
    /// What `endpoint` (a browser) gets of the video tracks it receives changed: a track
    /// opened or closed, the layer forwarded on one switched, paused or resumed, or its
    /// publisher's layers changed. The whole list, made at most once per endpoint per
    /// layer round (every second) and only on a change: whatever happened in between
    /// (an estimate flapping across a layer's rate) is coalesced into one report.
    Layers {
        /// The receiver.
        endpoint: EndpointId,
        /// Each video track it gets something of, by publisher (in join order of their
        /// tracks); a track opened but without a frame yet is left out until it has one.
        tracks: Vec<ForwardedTrack>,
    },
    /// A frame of a room being recorded (see [`Input::Record`]).
    Recorded(Box<RecordedFrame>),
    /// An input about `endpoint` was refused; nothing changed.
    Rejected {
        /// The endpoint the input named.
        endpoint: EndpointId,
        /// Why.
        error: SfuError,
    },
}
