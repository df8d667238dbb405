//! confab's SFU core, sans-IO, on [str0m](https://docs.rs/str0m): endpoints join rooms
//! by SDP offer, every UDP datagram of every endpoint comes in through one port, and
//! every audio and video track a publisher sends is forwarded to every other endpoint of
//! its room.
//!
//! The [`Sfu`] has the shape of confab's other cores (and of str0m's `Rtc`): a driver
//! feeds it one [`Input`] at a time with [`Sfu::handle`], with the time, then drains
//! every [`Output`] with [`Sfu::poll_output`] and performs it, and sleeps until
//! [`Sfu::poll_timeout`] when nothing else arrives. It never touches a socket, reads a
//! clock, spawns, or locks, so tests drive real str0m peers against it faster than real
//! time.
//!
//! # Contract
//!
//! - **Signaling.** [`Input::Join`] (endpoint id, room, SDP offer) is answered with
//!   [`Output::Answer`] or [`Output::Rejected`]. When the tracks an endpoint should
//!   receive change (someone publishes, someone leaves), the SFU makes an
//!   [`Output::Offer`] for it; the endpoint's answer comes back as [`Input::Answer`]. At
//!   most one SFU offer is outstanding per endpoint; changes meanwhile go into the next
//!   one. An endpoint's own [`Input::Offer`] (it adds or removes a track) is answered,
//!   and wins over a crossing offer of ours (ours is made again afterwards). A refused
//!   input produces exactly one `Rejected` and changes nothing, except a refused answer
//!   whose SDP parsed: it uses up our offer, which is then made again.
//! - **One port.** The driver owns one UDP socket (its public addresses are
//!   [`SfuConfig::candidates`], the only ICE candidates the SFU offers; it is ICE-lite)
//!   and passes every datagram in as [`Input::Datagram`]. The first datagram of a new
//!   5-tuple is routed by the ICE ufrag in its STUN USERNAME, later ones by address:
//!   two hash lookups at most, never a scan of endpoints. Datagrams for nobody are
//!   dropped silently. [`Output::Transmit`] says what to send, from which local address.
//!   Several SFUs may share one port: each opens its ufrags with its [`ShardTag`], and
//!   [`ShardTag::of_datagram`] tells a driver which one a new address's request is for.
//! - **Forwarding.** A publisher's tracks are offered to the rest of its room once its
//!   connection is up (str0m announces them then). Every frame it sends on a track goes
//!   to every other endpoint of its room that has negotiated that track; rooms are
//!   isolated. The
//!   stream id of a forwarded track is the publisher's [`EndpointId`], so a browser
//!   groups one publisher's audio and video.
//! - **Keyframes.** A receiver's PLI/FIR for a forwarded video track goes to its
//!   publisher, at most once per [`SfuConfig::keyframe_interval`] per track (default
//!   1 s); so does the SFU's own request after unrepaired loss.
//! - **Leaving.** [`Input::Leave`] frees the endpoint at once, and the others
//!   renegotiate without its tracks. An endpoint whose ICE consent lapses, whose DTLS
//!   closes, or from which nothing arrives for [`SfuConfig::idle_timeout`] is dropped
//!   the same way and reported as [`Output::Disconnected`].
//! - **Active speakers.** The audio level of every forwarded audio frame (RFC 6464,
//!   which browsers send) feeds a moving average per publisher; every 300 ms each room's
//!   list of speakers (loudest first, at most three, with hysteresis) is worked out again,
//!   and a change is reported as [`Output::ActiveSpeakers`] with the publishers' labels.
//!   See [`speakers`] for the measure and its constants. The level is also forwarded, so
//!   receivers see it (`RTCRtpReceiver.getSynchronizationSources`).
//! - **Simulcast.** Of a publisher sending its video in layers (rids), each receiver
//!   gets one layer: the smallest as tall as it shows that tile ([`Input::View`]; not
//!   shown: none), stepped down while its tracks exceed str0m's bandwidth estimate
//!   toward it (transport-cc). Switches wait for a keyframe of the new layer (asked for,
//!   throttled per layer) and keep the receiver's RTP timeline; a receiver held back
//!   probes its link every few seconds, so layers come back soon after a limit lifts.
//!   A recording gets the top layer. See the `layers` module. What each browser gets
//!   (per video track: the layer's place among the publisher's, or paused) is reported
//!   as [`Output::Layers`] when it changes, at most once a second per receiver.
//! - **Sources.** A participant without a WebRTC connection (an IP camera) joins with
//!   [`Input::SourceJoin`] and hands its frames in with [`Input::SourceFrame`]; they
//!   reach receivers by the same path as a publisher's (str0m packetizes them per
//!   receiver). Its video's last group of pictures is kept, bounded in bytes, and a
//!   receiver whose m-line for it opens is sent that group first with its timestamps
//!   squeezed together, so its first picture shows at once instead of at the camera's
//!   next keyframe; until then nothing of the track is sent to it.
//! - **Cost.** The work per datagram does not grow with the number of endpoints or
//!   rooms (hash maps, one deadline heap); a frame costs one write per receiver.
//!
//! # Frame mode, for now
//!
//! str0m can hand an SFU whole frames (depacketized, then packetized again per
//! receiver) or RTP packets ("RTP mode"). This slice forwards frames, as str0m's
//! `chat` example does: str0m then owns sequence numbers, timestamps, SSRCs and
//! payload-type mapping per receiver, which makes a late joiner, a receiver whose
//! payload types differ from the publisher's, and a track stopped and replaced all
//! correct with no code of ours. Simulcast works in frame mode too: str0m numbers and
//! packetizes each receiver's stream itself, so a layer switch only needs the RTP time
//! carried over (done here). RTP mode (DESIGN.md) would save depacketizing the layers a
//! receiver does not get; it stays a possible optimization behind the same
//! `Input`/`Output`.
//!
//! # Example
//!
//! A str0m peer (standing in for a browser) offers to publish audio into room
//! `standup` and gets the SFU's answer; an id in use is refused; leaving frees the
//! place. (The peer's tracks are offered to the rest of the room once its connection is
//! up: `tests/forwarding.rs` runs the whole path over an in-memory network.)
//!
//! ```
//! use confab_proto::RoomId;
//! use confab_sfu::{EndpointId, EndpointKind, Input, Output, Sfu, SfuConfig, SfuError};
//! use std::time::Instant;
//! use str0m::change::SdpAnswer;
//! use str0m::media::{Direction, MediaKind};
//! use str0m::Rtc;
//!
//! let config = SfuConfig { candidates: vec!["192.0.2.1:3478".parse().unwrap()], ..SfuConfig::default() };
//! let mut sfu = Sfu::new(config, [7; 32]);
//! let now = Instant::now();
//! let room = RoomId::parse("standup").unwrap();
//!
//! // A browser's offer: one audio track to send.
//! let mut ada = Rtc::new(now);
//! let mut change = ada.sdp_api();
//! change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
//! let (offer, pending) = change.apply().unwrap();
//! let join = Input::Join { endpoint: EndpointId(1), room: room.clone(), label: "ada".into(), name: "Ada".into(), offer: offer.to_sdp_string(), publish: true, kind: EndpointKind::Browser, follow: None };
//! sfu.handle(now, join.clone());
//!
//! // The answer names the SFU's one address as the only candidate (it is ICE-lite).
//! let Some(Output::Answer { endpoint, sdp }) = sfu.poll_output() else { panic!("no answer") };
//! assert_eq!(endpoint, EndpointId(1));
//! assert!(sdp.contains("a=ice-lite") && sdp.contains("192.0.2.1 3478"));
//! ada.sdp_api().accept_answer(pending, SdpAnswer::from_sdp_string(&sdp).unwrap()).unwrap();
//! assert_eq!(sfu.poll_output(), None);
//! assert_eq!(sfu.members(&room), &[EndpointId(1)][..]);
//!
//! // The same id again is refused, and nothing changes.
//! sfu.handle(now, join);
//! let refused = Output::Rejected { endpoint: EndpointId(1), error: SfuError::EndpointExists };
//! assert_eq!(sfu.poll_output(), Some(refused));
//!
//! // The driver sleeps until the next deadline (ICE, DTLS, the idle timeout) ...
//! assert!(sfu.poll_timeout().is_some());
//! // ... or until the signaling layer says the endpoint left.
//! sfu.handle(now, Input::Leave { endpoint: EndpointId(1) });
//! assert_eq!(sfu.endpoints(), 0);
//! assert!(sfu.members(&room).is_empty());
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod allocate;
mod demux;
mod endpoint;
mod forwarded;
mod frame;
mod io;
mod layers;
mod replace;
mod router;
mod sfu;
mod shard;
mod source;
pub mod speakers;

pub use demux::{stun_local_ufrag, stun_with, MAX_ADDRS};
pub use io::{
    Datagram, DisconnectReason, EndpointId, EndpointKind, ForwardedLayer, ForwardedTrack, Input,
    Output, RecordedCodec, RecordedFrame, SfuError, SourceCodec, SourceFrame, TrackView,
};
pub use sfu::Sfu;
pub use shard::{ShardTag, MAX_SHARDS};

use std::net::SocketAddr;
use std::time::Duration;

/// Settings of an [`Sfu`], passed in by the driver from its configuration.
#[derive(Clone, Debug)]
pub struct SfuConfig {
    /// The addresses the SFU's one UDP socket is reachable at (public IP and port, and
    /// any LAN address worth offering), advertised as host candidates in every answer.
    /// Datagrams must arrive with one of them as their destination. Default: none
    /// (useless except in tests that only negotiate).
    pub candidates: Vec<SocketAddr>,
    /// An endpoint from which no datagram arrives for this long is dropped with
    /// [`DisconnectReason::Idle`] (this also ends endpoints that never connect).
    /// Default 30 s (ICE consent freshness sends a check every few seconds).
    pub idle_timeout: Duration,
    /// Least time between two keyframe requests to a publisher for one track.
    /// Default 1 s.
    pub keyframe_interval: Duration,
    /// Most endpoints at once; a join beyond gets [`SfuError::Full`]. Default 2 000.
    pub max_endpoints: usize,
    /// Most endpoints in one room; a join beyond gets [`SfuError::RoomFull`].
    /// Default 100.
    pub max_room_size: usize,
    /// In a room of more endpoints than this, audio goes out only from its active
    /// speakers (the three loudest, see the speakers module): everyone else's is dropped
    /// at the SFU, which saves every receiver's bandwidth and decoding of a crowd's
    /// breathing. Default: 10. The cost: a new talker's first half second is not heard.
    pub loudest_audio_above: usize,
    /// The bandwidth estimate each receiver starts from, bits per second, until str0m's
    /// estimator (transport-cc feedback, probing) knows better: it picks a newcomer's
    /// first simulcast layers, and paces what it is sent. Default 2.5 Mbit/s: a call's
    /// lowest layers (four 240-line pictures, say) should fit from the first second, or
    /// the pacer queues them while the estimate grows (with 1 Mbit/s, a call of five
    /// moving to the SFU showed pictures frozen for seconds now and then); a slower link
    /// shows itself within a second and the layers step down.
    pub start_bitrate: u64,
    /// Most bytes of a source's video kept from its last keyframe (the group of
    /// pictures a new receiver is sent first, so its picture starts at once). A group
    /// that grows past it is dropped, and receivers wait for the next keyframe.
    /// Default 4 MiB (a 4 s group at 8 Mbit/s).
    pub source_cache_bytes: usize,
    /// The shard this SFU is, when several share one UDP port: every ICE ufrag it makes
    /// opens with the tag's character, so a driver can tell from a STUN request which
    /// SFU it is for ([`ShardTag::of_datagram`]). Default `None`: ufrags carry no tag.
    pub shard: Option<ShardTag>,
}

impl Default for SfuConfig {
    fn default() -> Self {
        SfuConfig {
            candidates: Vec::new(),
            idle_timeout: Duration::from_secs(30),
            keyframe_interval: Duration::from_secs(1),
            max_endpoints: 2_000,
            max_room_size: 100,
            loudest_audio_above: 10,
            start_bitrate: 2_500_000,
            source_cache_bytes: 4 << 20,
            shard: None,
        }
    }
}
