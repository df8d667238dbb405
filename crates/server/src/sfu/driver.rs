//! The task that owns the [`Sfu`]: it waits for a datagram, a hub command or the SFU's
//! deadline, feeds that one input with the time read once, performs every output
//! (datagrams out in `sendmmsg` batches, answers and failures to the hub with
//! `try_send`), and never awaits anything but that wait.

use super::shards::Inputs;
use super::steer::{Handoff, Parcel};
use super::trace::{trace_command, SdpSummary};
use crate::record::{Job, Recorder};
use crate::streams::camera::{self, CameraFrame};
use crate::turn::{LocalDatagram, TurnLocal};
use crate::wait::{recv_opt, sleep_until_opt};
use confab_proto::{LayerTrack, PeerId, RoomId};
use confab_sfu::{
    Datagram, DisconnectReason, EndpointId, EndpointKind, ForwardedTrack, Input, Output, Sfu,
    SfuConfig,
};
use confab_signal::{MediaCommand, MediaEndpoint, MediaEvent, ParticipantKind};
use std::collections::{HashMap, HashSet};
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Datagrams read per wake-up before the task lets others run.
const READ_BUDGET: usize = 256;

pub(super) struct Driver {
    sfu: Sfu,
    config: SfuConfig,
    socket: UdpSocket,
    /// The destination every datagram is reported with: the first candidate. The
    /// socket may be bound to the unspecified address, so the real one is unknown; the
    /// kernel picks the right source for replies, and str0m (ICE-lite) needs only a
    /// local candidate to pair with.
    local: SocketAddr,
    events: mpsc::Sender<MediaEvent>,
    /// Endpoints the SFU has (joined, not left or dropped), to fail them all should
    /// the core panic.
    live: HashSet<EndpointId>,
    sends: Vec<(SocketAddr, Vec<u8>)>,
    /// confab's TURN, for answers to browsers it relays (`turn/local.rs`).
    turn: Option<TurnLocal>,
    /// With several shards on the port: where this shard's socket sends what it read
    /// for another shard's endpoints (`steer.rs`).
    handoff: Option<Handoff>,
    /// Addresses (relayed addresses of confab's TURN) whose datagrams came in-process:
    /// what the SFU sends them goes back the same way. Bounded: cleared when full, and
    /// filled again by the next datagram of each.
    via_turn: HashSet<SocketAddr>,
    /// Events the hub's queue refused (it was full): dropped, counted in the log.
    dropped_events: u64,
    /// Writes recorded rooms' frames to files (`crate::record`), when recording works.
    recorder: Option<Recorder>,
    /// Recorded frames the recorder's queue refused (the disk is behind).
    dropped_frames: u64,
    /// The SFU source of each camera in a room now, by camera name (see
    /// `streams/camera`): its frames arrive by name.
    cameras: HashMap<Arc<str>, EndpointId>,
}

impl Driver {
    pub(super) fn new(
        config: SfuConfig,
        socket: UdpSocket,
        events: mpsc::Sender<MediaEvent>,
        turn: Option<TurnLocal>,
        recorder: Option<Recorder>,
    ) -> Self {
        Driver {
            recorder,
            dropped_frames: 0,
            sfu: Sfu::new(config.clone(), crate::random::bytes()),
            local: config
                .candidates
                .first()
                .copied()
                .unwrap_or(([127, 0, 0, 1], 0).into()),
            config,
            socket,
            events,
            live: HashSet::new(),
            sends: Vec::new(),
            turn,
            handoff: None,
            via_turn: HashSet::new(),
            dropped_events: 0,
            cameras: HashMap::new(),
        }
    }

    pub(super) async fn run(mut self, inputs: Inputs, shutdown: CancellationToken) {
        let Inputs {
            commands: mut rx,
            turn: mut from_turn,
            cameras: mut from_cameras,
            handoff,
        } = inputs;
        let mut from_shards = handoff.map(|(handoff, rx)| {
            self.handoff = Some(handoff);
            rx
        });
        let mut batch = confab_udp::RecvBatch::new();
        loop {
            let deadline = self.sfu.poll_timeout();
            tokio::select! {
                r = self.socket.readable() => {
                    if r.is_err() {
                        break;
                    }
                    self.read(&mut batch);
                }
                cmd = rx.recv() => match cmd {
                    Some(cmd) => self.command(cmd),
                    None => break,
                },
                Some(p) = recv_opt(&mut from_shards) => self.handed_in(&p),
                Some(d) = recv_opt(&mut from_turn) => self.relayed_in(d),
                Some(f) = recv_opt(&mut from_cameras) => self.camera_frame(f),
                () = sleep_until_opt(deadline) => self.handle(Instant::now(), Input::Timeout),
                () = shutdown.cancelled() => break,
            }
            self.flush();
        }
    }

    /// Reads what is waiting (within budget) and feeds each datagram in.
    fn read(&mut self, batch: &mut confab_udp::RecvBatch) {
        let mut budget = READ_BUDGET;
        while budget > 0 {
            let fd = self.socket.as_raw_fd();
            match self.socket.try_io(Interest::READABLE, || batch.recv(fd)) {
                Ok(n) => {
                    budget = budget.saturating_sub(n.max(1));
                    let now = Instant::now();
                    for (source, bytes) in batch.iter() {
                        if let Some(handoff) = &mut self.handoff {
                            if handoff.take(now, source, bytes) {
                                continue;
                            }
                        }
                        let d = Datagram {
                            source,
                            destination: self.local,
                            bytes,
                        };
                        self.handle(now, Input::Datagram(d));
                    }
                    if let Some(handoff) = &mut self.handoff {
                        handoff.flush();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                // ICMP errors of earlier sends surface here; they concern one peer.
                Err(_) => budget -= 1,
            }
        }
    }

    /// Datagrams another shard's socket read for this shard's endpoints: each as if
    /// read here (all shards' sockets share one address), and never handed on again.
    fn handed_in(&mut self, parcel: &Parcel) {
        let now = Instant::now();
        for (source, bytes) in parcel.iter() {
            let d = Datagram {
                source,
                destination: self.local,
                bytes,
            };
            self.handle(now, Input::Datagram(d));
        }
    }

    /// A frame of a camera, for its SFU source (dropped when the camera is not in a
    /// call: between its sessions, or before its join reached us).
    fn camera_frame(&mut self, f: CameraFrame) {
        f.taken();
        if let Some(&endpoint) = self.cameras.get(&f.camera) {
            let (track, frame) = (f.track, f.frame);
            let input = Input::SourceFrame {
                endpoint,
                track,
                frame,
            };
            self.handle(Instant::now(), input);
        }
    }

    /// A camera's member joined its SFU call: its source joins the SFU room, and the
    /// member hears its `sfuAnswer` (the description it offered, back: a camera has no
    /// SDP to answer).
    /// Its tracks carry its member's peer id (`label`), as a browser's do, so pages
    /// put them on its tile; its member's name (`member`) is what a WHEP player of that
    /// one participant follows.
    fn camera_join(
        &mut self,
        now: Instant,
        (endpoint, label, member): (EndpointId, String, String),
        room: RoomId,
        offer: String,
    ) {
        let Some((name, tracks)) = camera::parse_description(&offer) else {
            let message = "a camera's offer must describe its tracks".into();
            let endpoint = MediaEndpoint(endpoint.0);
            let gone = true;
            return self.event(MediaEvent::Failed {
                endpoint,
                message,
                gone,
            });
        };
        let input = Input::SourceJoin {
            endpoint,
            room,
            label,
            name: member,
            tracks,
        };
        self.handle(now, input);
        if self.sfu.contains(endpoint) {
            self.live.insert(endpoint);
            self.cameras.insert(name.into(), endpoint);
            self.event(MediaEvent::Answer {
                endpoint: MediaEndpoint(endpoint.0),
                sdp: offer,
            });
        }
    }

    /// A datagram a browser sent through confab's TURN, handed over in-process.
    fn relayed_in(&mut self, d: LocalDatagram) {
        if self.via_turn.len() >= MAX_VIA_TURN && !self.via_turn.contains(&d.from) {
            self.via_turn.clear();
        }
        self.via_turn.insert(d.from);
        let destination = if self.config.candidates.contains(&d.to) {
            d.to
        } else {
            self.local
        };
        let datagram = Datagram {
            source: d.from,
            destination,
            bytes: &d.data,
        };
        self.handle(Instant::now(), Input::Datagram(datagram));
    }

    fn command(&mut self, cmd: MediaCommand) {
        let now = Instant::now();
        trace_command(&cmd);
        let input = match cmd {
            MediaCommand::Join {
                endpoint,
                group,
                label,
                name,
                offer,
                publish,
                kind,
                follow,
            } => {
                let Some(room) = RoomId::parse(&format!("g{group}")) else {
                    return;
                };
                if let Some(recorder) = &self.recorder {
                    // Before its frames: the recorder labels its files with the name. A
                    // full queue loses only the label (the manifest then has no name).
                    let label = label.as_str().to_owned();
                    let name = name.clone();
                    let _ = recorder.send(Job::Name { label, name });
                }
                if kind == ParticipantKind::Camera {
                    let member = (id(endpoint), label.as_str().to_owned(), name);
                    return self.camera_join(now, member, room, offer);
                }
                Input::Join {
                    endpoint: id(endpoint),
                    room,
                    label: label.as_str().to_owned(),
                    name,
                    follow,
                    offer,
                    publish,
                    kind: match kind {
                        ParticipantKind::Browser => EndpointKind::Browser,
                        ParticipantKind::WhipPublisher => EndpointKind::Publisher,
                        ParticipantKind::WhepPlayer => EndpointKind::Player,
                        // Taken above.
                        ParticipantKind::Camera => EndpointKind::Publisher,
                    },
                }
            }
            MediaCommand::Record { group, room, on } => {
                let Some(sfu_room) = RoomId::parse(&format!("g{group}")) else {
                    return;
                };
                if let Some(recorder) = &self.recorder {
                    let unix_ms = crate::unix_ms();
                    let job = if on {
                        let at = now;
                        Job::Start {
                            group,
                            room,
                            at,
                            unix_ms,
                        }
                    } else {
                        Job::Stop { group, unix_ms }
                    };
                    if !recorder.send(job) {
                        tracing::error!(
                            group,
                            on,
                            "the recorder's queue is full: a recording start or stop was lost"
                        );
                    }
                }
                Input::Record { room: sfu_room, on }
            }
            MediaCommand::Publish { endpoint, publish } => Input::Publish {
                endpoint: id(endpoint),
                publish,
            },
            MediaCommand::Offer { endpoint, sdp } => Input::Offer {
                endpoint: id(endpoint),
                sdp,
            },
            MediaCommand::Answer { endpoint, sdp } => Input::Answer {
                endpoint: id(endpoint),
                sdp,
            },
            MediaCommand::View { endpoint, tracks } => Input::View {
                endpoint: id(endpoint),
                views: tracks
                    .into_iter()
                    .map(|t| confab_sfu::TrackView {
                        mid: t.mid,
                        width: t.width,
                        height: t.height,
                    })
                    .collect(),
            },
            MediaCommand::Leave { endpoint } => {
                self.live.remove(&id(endpoint));
                self.cameras.retain(|_, ep| *ep != id(endpoint));
                Input::Leave {
                    endpoint: id(endpoint),
                }
            }
        };
        let joining = match &input {
            Input::Join { endpoint, .. } => Some(*endpoint),
            _ => None,
        };
        self.handle(now, input);
        if let Some(ep) = joining {
            if self.sfu.contains(ep) {
                self.live.insert(ep);
            }
        }
    }

    /// One input, then every output. A panic inside str0m must not take the server
    /// down: the SFU starts over empty and every endpoint's member hears it failed.
    fn handle(&mut self, now: Instant, input: Input<'_>) {
        let sfu = &mut self.sfu;
        if catch_unwind(AssertUnwindSafe(|| sfu.handle(now, input))).is_err() {
            tracing::error!("the SFU core panicked; every SFU call restarts its media");
            self.sfu = Sfu::new(self.config.clone(), crate::random::bytes());
            self.cameras.clear();
            for ep in std::mem::take(&mut self.live) {
                self.event(MediaEvent::Failed {
                    endpoint: MediaEndpoint(ep.0),
                    message: "it restarted after an internal error".into(),
                    gone: true,
                });
            }
            return;
        }
        while let Some(out) = self.sfu.poll_output() {
            match out {
                Output::Transmit {
                    source,
                    destination,
                    bytes,
                } => match &self.turn {
                    Some(turn) if self.via_turn.contains(&destination) => {
                        turn.send(source, destination, &bytes)
                    }
                    _ => self.sends.push((destination, bytes)),
                },
                Output::Answer { endpoint, sdp } => {
                    tracing::debug!(endpoint = endpoint.0, sdp = %SdpSummary(&sdp), "SFU answers");
                    self.event(MediaEvent::Answer {
                        endpoint: MediaEndpoint(endpoint.0),
                        sdp,
                    })
                }
                Output::Offer { endpoint, sdp } => {
                    tracing::debug!(endpoint = endpoint.0, sdp = %SdpSummary(&sdp), "SFU offers");
                    self.event(MediaEvent::Offer {
                        endpoint: MediaEndpoint(endpoint.0),
                        sdp,
                    })
                }
                Output::Connected { endpoint } => self.event(MediaEvent::Connected {
                    endpoint: MediaEndpoint(endpoint.0),
                }),
                Output::Disconnected { endpoint, reason } => {
                    self.live.remove(&endpoint);
                    self.event(MediaEvent::Failed {
                        endpoint: MediaEndpoint(endpoint.0),
                        message: lost(reason).into(),
                        gone: true,
                    })
                }
                Output::ActiveSpeakers { room, speakers } => {
                    // SFU rooms are named `g{group}` (see `command`); labels are peer ids.
                    if let Some(group) = room.as_str().strip_prefix('g') {
                        if let Ok(group) = group.parse() {
                            let speakers = speakers.into_iter().map(PeerId::new).collect();
                            self.event(MediaEvent::Speakers { group, speakers });
                        }
                    }
                }
                Output::Layers { endpoint, tracks } => self.event(MediaEvent::Layers {
                    endpoint: MediaEndpoint(endpoint.0),
                    tracks: tracks.into_iter().map(layer_track).collect(),
                }),
                Output::Recorded(frame) => self.recorded(frame),
                Output::Rejected { endpoint, error } => {
                    tracing::debug!(endpoint = endpoint.0, %error, "SFU refuses");
                    let gone = !self.sfu.contains(endpoint);
                    self.event(MediaEvent::Failed {
                        endpoint: MediaEndpoint(endpoint.0),
                        message: error.to_string(),
                        gone,
                    })
                }
            }
        }
    }

    /// A frame of a recorded room, for the recorder (dropped when it is behind).
    fn recorded(&mut self, frame: Box<confab_sfu::RecordedFrame>) {
        let Some(recorder) = &self.recorder else {
            return;
        };
        // SFU rooms are named `g{group}` (see `command`).
        let Some(group) = frame
            .room
            .as_str()
            .strip_prefix('g')
            .and_then(|g| g.parse().ok())
        else {
            return;
        };
        if !recorder.send(Job::Frame(group, frame)) {
            self.dropped_frames += 1;
            if self.dropped_frames.is_power_of_two() {
                tracing::warn!(
                    dropped = self.dropped_frames,
                    "recorded frames dropped: the disk is behind"
                );
            }
        }
    }

    fn event(&mut self, event: MediaEvent) {
        if self.events.try_send(event).is_err() {
            self.dropped_events += 1;
            tracing::warn!(
                dropped = self.dropped_events,
                "SFU event dropped: the hub is behind"
            );
        }
    }

    /// Sends what the last inputs produced, in `sendmmsg` batches. A full send buffer
    /// drops the rest (media is loss tolerant; NACK and keyframe requests repair it).
    fn flush(&mut self) {
        if self.sends.is_empty() {
            return;
        }
        let msgs: Vec<(SocketAddr, &[u8])> = self
            .sends
            .iter()
            .map(|(to, b)| (*to, b.as_slice()))
            .collect();
        let fd = self.socket.as_raw_fd();
        let mut at = 0;
        while at < msgs.len() {
            match self
                .socket
                .try_io(Interest::WRITABLE, || confab_udp::send(fd, &msgs[at..]))
            {
                Ok(0) => break,
                Ok(n) => at += n,
                // One unreachable peer must not cost the others their datagrams.
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => at += 1,
                Err(_) => break,
            }
        }
        self.sends.clear();
    }
}

fn id(e: MediaEndpoint) -> EndpointId {
    EndpointId(e.0)
}

/// A track as the SFU reports it, on the wire (labels are peer ids, see `command`).
fn layer_track(t: ForwardedTrack) -> LayerTrack {
    let layer = t.layer.as_ref();
    let size = layer.and_then(|l| l.size);
    LayerTrack {
        mid: t.mid,
        from: PeerId::new(t.from),
        layer: layer.map(|l| l.index),
        layers: t.layers,
        rid: layer.and_then(|l| l.rid.clone()),
        width: size.map(|s| s.0),
        height: size.map(|s| s.1),
    }
}

/// A lost endpoint, in words for its member.
fn lost(reason: DisconnectReason) -> &'static str {
    match reason {
        DisconnectReason::IceDisconnected => "connection lost (no answer to connectivity checks)",
        DisconnectReason::Idle => "connection lost (nothing arrived for 30 seconds)",
        DisconnectReason::Closed => "connection closed",
        _ => "connection lost",
    }
}

/// Relayed addresses remembered at once (one or two per relay-only browser).
const MAX_VIA_TURN: usize = 10_000;
