//! Serving the router: HTTP or HTTPS on an already-bound listener, with the slowloris
//! deadlines, until shutdown; then a bounded drain.

use crate::auth::Auth;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::signal::{ConnSettings, HubHandle};
use confab_signal::IceMinter;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;
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
    /// Mints ICE server lists with fresh TURN credentials.
    pub ice: IceMinter,
    /// This server's metrics registry (rendered at `/metrics`).
    pub metrics: Metrics,
    /// The WHIP and WHEP streams in and out of rooms.
    pub streams: Arc<crate::streams::Sessions>,
    /// The recordings hosts download through signed links, when recording works.
    pub recordings: Option<Arc<crate::record::Links>>,
}

impl AppState {
    /// The handlers' state: `config`'s per-connection limits, the hub, the access rules.
    pub fn new(
        config: Arc<Config>,
        hub: HubHandle,
        auth: Auth,
        ice: IceMinter,
        metrics: Metrics,
        tracker: TaskTracker,
        shutdown: CancellationToken,
    ) -> AppState {
        let auth = Arc::new(auth);
        let next_conn = Arc::new(AtomicU64::new(1));
        let streams = Arc::new(crate::streams::Sessions::new(
            hub.clone(),
            Arc::clone(&auth),
            Arc::clone(&next_conn),
            tracker.clone(),
            shutdown.clone(),
            config.sfu.enabled(),
        ));
        let conn_settings = ConnSettings {
            idle_timeout: *config.ws.idle_timeout,
            ping_interval: config.ws.effective_ping_interval(),
            outbound_queue: config.ws.outbound_queue,
            outbound_queue_bytes: config.ws.max_queue_bytes,
            auth,
            throttle: Arc::default(),
            handshake_timeout: *config.http.handshake_timeout,
            msg_rate: config.ws.msg_rate,
            msg_burst: config.ws.msg_burst,
            metrics: metrics.clone(),
        };
        AppState {
            config,
            hub,
            conn_settings,
            next_conn,
            shutdown,
            tracker,
            ice,
            metrics,
            streams,
            recordings: None,
        }
    }
}

/// How long shutdown waits for connections to say goodbye.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(5);

/// The running HTTP server: await it to learn how serving ended.
pub struct HttpHandle(JoinHandle<std::io::Result<()>>);

impl HttpHandle {
    /// Waits until the server has stopped accepting (shutdown, or a listener error).
    pub async fn stopped(self) -> std::io::Result<()> {
        self.0
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}

/// Serves `state`'s router on `listener` (HTTPS with `tls`, else plain HTTP) until
/// `state.shutdown` is cancelled, then gives connections [`DRAIN_DEADLINE`].
pub fn spawn(
    listener: std::net::TcpListener,
    state: AppState,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> std::io::Result<HttpHandle> {
    listener.set_nonblocking(true)?;
    let shutdown = state.shutdown.clone();
    let handshake = *state.config.http.handshake_timeout;
    let limits = super::gate::GateLimits {
        per_ip: state.config.http.max_http_connections_per_ip,
        total: state.config.http.max_http_connections,
        fd_ceiling: crate::listeners::nofile_limit()
            .map(|l| l.saturating_sub(super::gate::FD_RESERVE)),
        first_request: handshake,
        idle: *state.config.http.http_idle_timeout,
    };
    let metrics = state.metrics.clone();
    // With the client's address in every request (the per-address caps need it).
    let app = super::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    {
        let handle = handle.clone();
        tokio::spawn(async move {
            shutdown.cancelled().await;
            handle.graceful_shutdown(Some(DRAIN_DEADLINE));
        });
    }
    // Slowloris defence: a connection gets `handshake_timeout` for its TLS handshake
    // and again for its request headers (hyper needs a timer to enforce the latter);
    // the gate closes it if no first request is in within `handshake_timeout` of accept
    // (a silent socket, an idle TLS or HTTP/2 connection), caps connections per client
    // and in total, and applies `http_idle_timeout` between requests (see gate.rs and
    // idle.rs).
    // TCP_NODELAY on every accepted socket: signaling is many small frames, and with
    // Nagle on, a frame written while the previous one is unacknowledged waited for the
    // client's delayed ACK (tens of ms). confab-load's p99 at 20,000 msg/s went from
    // 145-500 ms to single-digit ms with it (bench/load.sh).
    let nodelay = axum_server::accept::NoDelayAcceptor::new();
    let gate = super::gate::Gate::new(limits, metrics);
    let task = match tls {
        Some(sc) => {
            let tls = axum_server::tls_rustls::RustlsAcceptor::new(
                axum_server::tls_rustls::RustlsConfig::from_config(sc),
            )
            .handshake_timeout(handshake)
            .acceptor(nodelay);
            let mut server = axum_server::from_tcp(listener)?
                .acceptor(super::gate::GateAcceptor::new(tls, gate));
            limit_headers(server.http_builder(), handshake);
            tokio::spawn(server.handle(handle).serve(app))
        }
        None => {
            let mut server = axum_server::from_tcp(listener)?
                .acceptor(super::gate::GateAcceptor::new(nodelay, gate));
            limit_headers(server.http_builder(), handshake);
            tokio::spawn(server.handle(handle).serve(app))
        }
    };
    Ok(HttpHandle(task))
}

/// Drops HTTP/1 connections that take longer than `timeout` to send request headers.
fn limit_headers(
    builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
    timeout: Duration,
) {
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(timeout);
}
