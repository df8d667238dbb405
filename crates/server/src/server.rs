//! The server's entry point: takes an already-bound listener (so tests bind port 0),
//! serves until the shutdown token is cancelled, then drains.

use crate::config::Config;
use crate::hub_task::{self, HubHandle};
use crate::ws::ConnSettings;
use confab_signal::HubConfig;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// State shared by every HTTP handler; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The resolved configuration.
    pub config: Arc<Config>,
    /// Where connections send frames.
    pub hub: HubHandle,
    /// Per-connection limits.
    pub conn_settings: ConnSettings,
    /// Source of connection ids; never reused within a process.
    pub next_conn: Arc<AtomicU64>,
    /// Cancelled to shut down.
    pub shutdown: CancellationToken,
    /// Tracks connection tasks so shutdown can wait for them.
    pub tracker: TaskTracker,
}

/// How long shutdown waits for connections to say goodbye.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(5);

/// Serves HTTP(S) and WebSocket signaling on `listener` until `shutdown` is cancelled.
///
/// `tls` of `None` serves plain HTTP. Returns after connections have drained (or the
/// drain deadline passed).
pub async fn run(
    listener: std::net::TcpListener,
    config: Arc<Config>,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let tracker = TaskTracker::new();
    let hub_config = HubConfig {
        max_rooms: config.max_rooms,
        max_peers_per_room: config.max_peers_per_room,
        max_connections: config.max_connections,
        ice_servers: config.ice_servers.clone(),
    };
    let hub = hub_task::spawn(hub_config, seed(), &tracker);
    let state = AppState {
        conn_settings: ConnSettings {
            idle_timeout: config.idle_timeout,
            ping_interval: config.effective_ping_interval(),
            outbound_queue: config.outbound_queue,
        },
        config,
        hub,
        next_conn: Arc::new(AtomicU64::new(1)),
        shutdown: shutdown.clone(),
        tracker: tracker.clone(),
    };
    let app = crate::web::router(state).into_make_service();
    let handle = axum_server::Handle::new();
    {
        let handle = handle.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            shutdown.cancelled().await;
            handle.graceful_shutdown(Some(DRAIN_DEADLINE));
        });
    }
    let served = match tls {
        Some(sc) => {
            axum_server::from_tcp_rustls(
                listener,
                axum_server::tls_rustls::RustlsConfig::from_config(sc),
            )?
            .handle(handle)
            .serve(app)
            .await
        }
        None => {
            axum_server::from_tcp(listener)?
                .handle(handle)
                .serve(app)
                .await
        }
    };
    // Connection tasks see the token and send close frames; wait for them briefly.
    shutdown.cancel();
    tracker.close();
    let _ = tokio::time::timeout(DRAIN_DEADLINE, tracker.wait()).await;
    served
}

/// A per-process seed for peer ids, so ids differ across restarts.
fn seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}
