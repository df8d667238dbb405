//! Which shard gets what. A shard owns whole SFU calls: a call (the hub's `group`) goes to
//! shard `group % shards`, and so does everything for its endpoints (remembered at their
//! `Join`, forgotten at their `Leave` or when the SFU drops them), for its recording, for
//! the cameras in it, and the datagrams TURN relays in-process for its endpoints (steered
//! like the sockets' datagrams, `steer.rs`: by the shard a STUN request names, then by
//! the relayed address).
//!
//! With one shard nothing is routed: the shard's task reads the hub's, TURN's and the
//! cameras' queues directly, as before sharding existed.

use super::steer::{Handoff, Parcel, Steer, HANDOFF_QUEUE};
use super::{SfuBusy, COMMAND_QUEUE, EVENT_QUEUE};
use crate::metrics::Metrics;
use crate::streams::camera::{self, CameraFrame};
use crate::turn::{LocalDatagram, LOCAL_QUEUE};
use confab_signal::{MediaCommand, MediaEndpoint, MediaEvent, ParticipantKind};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Camera frames a shard may have queued before more are dropped (the cameras' own feed
/// bounds their bytes before this).
const CAMERA_QUEUE: usize = 1024;

/// Where each live endpoint and camera is (shared by the handle and the routing tasks;
/// held for a map lookup, never across an `.await`).
#[derive(Debug, Default)]
struct Routes {
    endpoints: HashMap<MediaEndpoint, usize>,
    cameras: HashMap<Arc<str>, usize>,
}

/// The running SFU, as the hub's owner task holds it.
#[derive(Clone, Debug)]
pub struct SfuHandle {
    shards: Arc<[mpsc::Sender<MediaCommand>]>,
    routes: Arc<Mutex<Routes>>,
}

impl SfuBusy {
    fn from_send(e: mpsc::error::TrySendError<MediaCommand>) -> SfuBusy {
        SfuBusy(e.into_inner())
    }
}

impl SfuHandle {
    /// Queues `cmd` for its shard without waiting; a full queue gives it back.
    pub fn command(&self, cmd: MediaCommand) -> Result<(), SfuBusy> {
        if self.shards.len() == 1 {
            return self.shards[0].try_send(cmd).map_err(SfuBusy::from_send);
        }
        let n = self.shards.len();
        let mut routes = lock(&self.routes);
        let shard = match &cmd {
            MediaCommand::Join {
                endpoint,
                group,
                kind,
                offer,
                ..
            } => {
                let shard = (*group % n as u64) as usize;
                routes.endpoints.insert(*endpoint, shard);
                if *kind == ParticipantKind::Camera {
                    if let Some((name, _)) = camera::parse_description(offer) {
                        routes.cameras.insert(name.into(), shard);
                    }
                }
                shard
            }
            MediaCommand::Record { group, .. } => (*group % n as u64) as usize,
            MediaCommand::Leave { endpoint } => routes.endpoints.remove(endpoint).unwrap_or(0),
            MediaCommand::Publish { endpoint, .. }
            | MediaCommand::Offer { endpoint, .. }
            | MediaCommand::Answer { endpoint, .. }
            | MediaCommand::View { endpoint, .. } => {
                routes.endpoints.get(endpoint).copied().unwrap_or(0)
            }
        };
        drop(routes);
        let refused = self.shards[shard].try_send(cmd).map_err(SfuBusy::from_send);
        if let Err(SfuBusy(MediaCommand::Join { endpoint, .. })) = &refused {
            lock(&self.routes).endpoints.remove(endpoint);
        }
        refused
    }
}

fn lock(routes: &Mutex<Routes>) -> MutexGuard<'_, Routes> {
    routes.lock().unwrap_or_else(|e| e.into_inner())
}

/// What one shard's task is given: where its events go, and what it reads.
pub(super) struct Inbox {
    pub events: mpsc::Sender<MediaEvent>,
    pub inputs: Inputs,
}

/// What one shard's task reads besides its socket.
pub(super) struct Inputs {
    pub commands: mpsc::Receiver<MediaCommand>,
    pub turn: Option<mpsc::Receiver<LocalDatagram>>,
    pub cameras: Option<mpsc::Receiver<CameraFrame>>,
    /// With several shards: the shard's hand-off to the others, and the datagrams the
    /// others' sockets read for it.
    pub handoff: Option<(Handoff, mpsc::Receiver<Parcel>)>,
}

/// Splits the SFU's inputs among `n` shards: the handle for the hub, and each shard's
/// inbox. With more than one shard it spawns the routing tasks on `tracker`, which end
/// with `shutdown` or their input; `metrics` counts the shards' hand-offs.
pub(super) fn split(
    n: usize,
    events: mpsc::Sender<MediaEvent>,
    (from_turn, from_cameras): (
        Option<mpsc::Receiver<LocalDatagram>>,
        Option<mpsc::Receiver<CameraFrame>>,
    ),
    metrics: Metrics,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
) -> (SfuHandle, Vec<Inbox>) {
    let n = n.max(1);
    let routes = Arc::new(Mutex::new(Routes::default()));
    let (senders, commands): (Vec<_>, Vec<_>) =
        (0..n).map(|_| mpsc::channel(COMMAND_QUEUE)).unzip();
    let handle = SfuHandle {
        shards: senders.into(),
        routes: routes.clone(),
    };
    if n == 1 {
        let inbox = commands.into_iter().next().map(|commands| Inbox {
            events,
            inputs: Inputs {
                commands,
                turn: from_turn,
                cameras: from_cameras,
                handoff: None,
            },
        });
        return (handle, inbox.into_iter().collect());
    }
    let turn = from_turn.map(|rx| {
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..n).map(|_| mpsc::channel(LOCAL_QUEUE)).unzip();
        tracker.spawn(route_turn(rx, txs, shutdown.clone()));
        rxs
    });
    let cams = from_cameras.map(|rx| {
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..n).map(|_| mpsc::channel(CAMERA_QUEUE)).unzip();
        tracker.spawn(route_cameras(rx, txs, routes.clone(), shutdown.clone()));
        rxs
    });
    let (queues, handed): (Vec<_>, Vec<_>) = (0..n).map(|_| mpsc::channel(HANDOFF_QUEUE)).unzip();
    let queues: Arc<[mpsc::Sender<Parcel>]> = queues.into();
    let mut turn = turn.map(Vec::into_iter);
    let mut cams = cams.map(Vec::into_iter);
    let inboxes = commands
        .into_iter()
        .zip(handed)
        .enumerate()
        .map(|(shard, (commands, handed))| {
            let (tx, rx) = mpsc::channel(EVENT_QUEUE);
            tracker.spawn(forward_events(rx, events.clone(), routes.clone()));
            let handoff = Handoff::new(shard, queues.clone(), metrics.clone());
            Inbox {
                events: tx,
                inputs: Inputs {
                    commands,
                    turn: turn.as_mut().and_then(Iterator::next),
                    cameras: cams.as_mut().and_then(Iterator::next),
                    handoff: Some((handoff, handed)),
                },
            }
        })
        .collect();
    (handle, inboxes)
}

/// Datagrams TURN relays in-process go to the shard of their endpoint, steered like
/// the sockets' datagrams (`steer.rs`; an address no request named yet goes to shard
/// 0), and are dropped when its queue is full, like datagrams on the wire.
async fn route_turn(
    mut rx: mpsc::Receiver<LocalDatagram>,
    shards: Vec<mpsc::Sender<LocalDatagram>>,
    shutdown: CancellationToken,
) {
    let mut steer = Steer::new(0, shards.len());
    loop {
        let d = tokio::select! {
            d = rx.recv() => match d { Some(d) => d, None => return },
            () = shutdown.cancelled() => return,
        };
        let shard = steer.shard(Instant::now(), d.from, &d.data);
        let _ = shards[shard].try_send(d);
    }
}

/// Camera frames go to the shard of their camera's call; a frame of a camera in no call
/// (or one its shard cannot take now) is dropped, its bytes given back to its feed.
async fn route_cameras(
    mut rx: mpsc::Receiver<CameraFrame>,
    shards: Vec<mpsc::Sender<CameraFrame>>,
    routes: Arc<Mutex<Routes>>,
    shutdown: CancellationToken,
) {
    loop {
        let f = tokio::select! {
            f = rx.recv() => match f { Some(f) => f, None => return },
            () = shutdown.cancelled() => return,
        };
        let shard = lock(&routes).cameras.get(&f.camera).copied();
        match shard {
            Some(i) => {
                if let Err(e) = shards[i].try_send(f) {
                    e.into_inner().taken();
                }
            }
            None => f.taken(),
        }
    }
}

/// A shard's events go on to the hub (dropped when its queue is full, as a shard alone
/// would); an endpoint the SFU dropped is forgotten here too, so the routes hold only
/// live endpoints.
async fn forward_events(
    mut rx: mpsc::Receiver<MediaEvent>,
    hub: mpsc::Sender<MediaEvent>,
    routes: Arc<Mutex<Routes>>,
) {
    while let Some(ev) = rx.recv().await {
        if let MediaEvent::Failed {
            endpoint,
            gone: true,
            ..
        } = &ev
        {
            lock(&routes).endpoints.remove(endpoint);
        }
        if hub.try_send(ev).is_err() {
            tracing::warn!("the hub's media queue is full: an SFU event was dropped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn join(endpoint: u64, group: u64) -> MediaCommand {
        MediaCommand::Join {
            endpoint: MediaEndpoint(endpoint),
            group,
            label: confab_proto::PeerId::new("p"),
            name: String::from("P"),
            offer: String::new(),
            publish: true,
            kind: ParticipantKind::Browser,
            follow: None,
        }
    }

    #[tokio::test]
    async fn a_call_and_its_endpoints_stay_on_one_shard() {
        let tracker = TaskTracker::new();
        let stop = CancellationToken::new();
        let (events, _rx) = mpsc::channel(8);
        let metrics = Metrics::new(false);
        let (handle, mut inboxes) = split(2, events, (None, None), metrics, &tracker, &stop);
        handle.command(join(1, 10)).unwrap();
        handle.command(join(2, 11)).unwrap();
        let sdp = String::from("v=0");
        for e in [1, 2] {
            let endpoint = MediaEndpoint(e);
            handle
                .command(MediaCommand::Answer {
                    endpoint,
                    sdp: sdp.clone(),
                })
                .unwrap();
            handle.command(MediaCommand::Leave { endpoint }).unwrap();
        }
        // Call 10 on shard 0, call 11 on shard 1: each with its Join, Answer and Leave.
        for (shard, endpoint) in [(0, 1), (1, 2)] {
            let rx = &mut inboxes[shard].inputs.commands;
            let mut got = Vec::new();
            while let Ok(cmd) = rx.try_recv() {
                got.push(cmd);
            }
            assert_eq!(got.len(), 3, "shard {shard}: {got:?}");
            assert!(
                matches!(got[2], MediaCommand::Leave { endpoint: e } if e == MediaEndpoint(endpoint))
            );
        }
        assert!(
            lock(&handle.routes).endpoints.is_empty(),
            "left endpoints are forgotten"
        );
        stop.cancel();
    }
}
