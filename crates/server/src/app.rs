//! The composition root: builds each subsystem from the configuration and runs them until
//! the shutdown token is cancelled. Each subsystem is started by its own module's
//! `spawn`, which returns a handle; this file only wires them, in order:
//!
//! 1. the chat store (`store/`), opened first so a broken one stops the start;
//! 2. STUN/TURN (`turn/`), whose handle says how clients reach it (and revokes a
//!    departed member's credentials);
//! 3. in cluster mode, the cluster task (`cluster/`), connected to Redis;
//! 4. the signaling hub's owner task (`signal/`), with the ICE servers it hands out;
//! 5. the HTTP(S) server (`http/`), which serves the web app and upgrades `/ws` into
//!    connections of that hub.
//!
//! Shutdown is one [`CancellationToken`]; every task is on one [`TaskTracker`], which
//! gets [`DRAIN_DEADLINE`] to finish once the HTTP server has stopped.

use crate::auth::Auth;
use crate::config::Config;
use crate::http::{AppState, DRAIN_DEADLINE};
use crate::listeners::Listeners;
use crate::metrics::Metrics;
use crate::store::{ChatStore, OpenError, Persist};
use confab_signal::IceMinter;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Why the server could not start (or stopped serving).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The chat store cannot be opened.
    #[error(transparent)]
    Store(#[from] OpenError),
    /// The access rules cannot be built (an unreadable token public key).
    #[error("{0}")]
    Auth(String),
    /// A socket could not be set up, or serving failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The SFU could not start.
    #[error(transparent)]
    Sfu(#[from] crate::sfu::SfuStartError),
    /// Cluster mode could not start (Redis unreachable).
    #[error(transparent)]
    Cluster(#[from] crate::cluster::ClusterStartError),
}

/// Serves on `listeners` until `shutdown` is cancelled, then drains.
///
/// `tls` of `None` serves plain HTTP. Returns after connections have drained (or the
/// drain deadline passed).
pub async fn run(
    listeners: Listeners,
    config: Arc<Config>,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: CancellationToken,
) -> Result<(), StartError> {
    let tracker = TaskTracker::new();
    // In a cluster, chat lives in Redis (any node may own a room next), not in SQLite.
    let store = match config.store.chat_retention() {
        Some(retention) if !config.cluster.enabled() => {
            Some(ChatStore::open(&config.data_dir, retention)?)
        }
        _ => None,
    };
    // One registry per server instance (see crate::metrics for why it is not global).
    let metrics = Metrics::new(listeners.turn.is_some());
    let auth = Auth::new(&config.auth).map_err(StartError::Auth)?;

    // TURN reaches the SFU in-process (a relay-only browser in an SFU call).
    let (local_tx, local_rx) = tokio::sync::mpsc::channel(crate::turn::LOCAL_QUEUE);
    let local = listeners.sfu.as_ref().map(|s| crate::turn::LocalLink {
        services: s.candidates.clone(),
        tx: local_tx,
    });
    let turn = match (config.turn(), listeners.turn) {
        (Some(settings), Some(mut sockets)) => Some(crate::turn::spawn(
            {
                sockets.local = local;
                sockets
            },
            settings,
            &config.http,
            tls.clone(),
            &tracker,
            shutdown.clone(),
            metrics.clone(),
        )?),
        _ => None,
    };
    let turn_local = turn.as_ref().map(|t| (t.local.clone(), local_rx));
    let (advert, revoker) = match turn {
        Some(t) => (Some(t.advert), Some(t.revoker)),
        None => (None, None),
    };
    let ice = IceMinter::new(config.hub.ice_servers.0.clone(), advert);
    let hub_config = config.hub_config(ice.clone());
    let (media_tx, media_rx) = tokio::sync::mpsc::channel(crate::sfu::EVENT_QUEUE);
    // IP cameras hand their frames to the SFU driver (streams/camera).
    let (camera_feed, camera_rx) = crate::streams::camera::channel();
    let cameras = config.cameras.clone();
    let sfu = match listeners.sfu {
        Some(socket) => Some((
            crate::sfu::spawn(
                socket,
                // A broadcast's call holds as many as the room.
                hub_config.max_call_size.max(hub_config.max_peers_per_room),
                media_tx,
                crate::sfu::Inlets {
                    turn: turn_local,
                    cameras: (!cameras.is_empty()).then_some(camera_rx),
                    metrics: metrics.clone(),
                },
                (
                    config.data_dir.join("recordings"),
                    crate::record::Limits::new(
                        config.sfu.recording_retention_days,
                        config.sfu.recording_quota_mb,
                    ),
                ),
                &tracker,
                shutdown.clone(),
            )?,
            media_rx,
        )),
        None => None,
    };
    // Recordings (and their download links) exist where the SFU runs.
    let recordings = config.sfu.enabled().then(|| {
        std::sync::Arc::new(crate::record::Links::new(
            config.data_dir.join("recordings"),
        ))
    });
    let cluster = match &config.cluster.redis_url {
        Some(url) => {
            let me = crate::cluster::node_id(&config.cluster);
            let chat = config
                .store
                .chat_retention()
                .map(|retention| crate::cluster::ChatKeeping {
                    retention,
                    history: config.hub.chat_history,
                });
            let url = url.expose();
            let ca = config.cluster.redis_ca.as_deref();
            Some(crate::cluster::spawn(url, ca, me, chat, &tracker, shutdown.clone()).await?)
        }
        None => None,
    };
    let hub = crate::signal::spawn(
        hub_config,
        crate::random::bytes(),
        &tracker,
        metrics.clone(),
        crate::signal::Services {
            persist: store.map(|s| Persist::new(s, config.hub.chat_history)),
            sfu,
            turn: revoker,
            recordings: recordings.clone(),
            cluster,
        },
    );
    let mut state = AppState::new(
        config,
        hub,
        auth,
        ice,
        metrics,
        tracker.clone(),
        shutdown.clone(),
    );
    state.recordings = recordings;
    // Config checking refused cameras without the SFU.
    let deps = crate::streams::camera::Deps {
        hub: state.hub.clone(),
        next_conn: state.next_conn.clone(),
        feed: camera_feed,
    };
    crate::streams::camera::spawn(&cameras, deps, &tracker, shutdown.clone());
    let served = crate::http::spawn(listeners.http, state, tls)?
        .stopped()
        .await;

    // Connection tasks see the token and send close frames; wait for them briefly.
    shutdown.cancel();
    tracker.close();
    let _ = tokio::time::timeout(DRAIN_DEADLINE, tracker.wait()).await;
    Ok(served?)
}
