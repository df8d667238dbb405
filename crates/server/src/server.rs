//! The server's entry point: takes an already-bound listener (so tests bind port 0),
//! serves until the shutdown token is cancelled, then drains.

use crate::config::Config;
use crate::metrics::Metrics;
use crate::signal::ConnSettings;
use crate::signal::{self, HubHandle};
use crate::store::{ChatStore, Persist};
use crate::turn::TurnSockets;
use confab_signal::{IceMinter, TurnAdvert};
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
    /// Mints ICE server lists with fresh TURN credentials.
    pub ice: IceMinter,
    /// This server's metrics registry (rendered at `/metrics`).
    pub metrics: Metrics,
}

/// The sockets a server runs on, bound by the caller (tests bind port 0).
pub struct Listeners {
    /// HTTP(S) and WebSocket.
    pub http: std::net::TcpListener,
    /// STUN/TURN, when enabled.
    pub turn: Option<TurnSockets>,
}

impl Listeners {
    /// Binds every listener `config` asks for, with errors naming the address.
    pub fn bind(config: &Config) -> Result<Listeners, BindError> {
        let addr = config.http.listen;
        let http = bind_http(addr).map_err(|source| BindError::Http { addr, source })?;
        let turn = config.turn().map(TurnSockets::bind).transpose()?;
        Ok(Listeners { http, turn })
    }
}

/// Pending connections the kernel queues before `accept` (capped by
/// `net.core.somaxconn`). The standard library's 128 overflowed under a burst of
/// connects (confab-load, 256 at once): the dropped SYNs were retried after 1 s, so p99
/// setup time was about 1 s where the rest took milliseconds.
const LISTEN_BACKLOG: i32 = 4096;

/// The HTTP listener: address reuse as the standard library sets it, a deeper backlog.
fn bind_http(addr: std::net::SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// A listener could not be bound.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BindError {
    /// The HTTP(S) port.
    #[error("cannot listen on {addr}: {source}")]
    Http {
        /// The address.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A TURN port.
    #[error(transparent)]
    Turn(#[from] crate::turn::TurnStartError),
}

/// How long shutdown waits for connections to say goodbye.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(5);

/// Serves HTTP(S) and WebSocket signaling on `listener` until `shutdown` is cancelled.
///
/// `tls` of `None` serves plain HTTP. Returns after connections have drained (or the
/// drain deadline passed).
pub async fn run(
    listeners: Listeners,
    config: Arc<Config>,
    tls: Option<Arc<rustls::ServerConfig>>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let listener = listeners.http;
    listener.set_nonblocking(true)?;
    // The chat store opens before anything is served: a broken one stops the start.
    let persist = match config.store.chat_retention() {
        Some(retention) => {
            let store =
                ChatStore::open(&config.data_dir, retention).map_err(std::io::Error::other)?;
            Some(Persist::new(store, config.hub.chat_history))
        }
        None => None,
    };
    let tracker = TaskTracker::new();
    // One registry per server instance (see crate::metrics for why it is not global).
    let metrics = Metrics::new(config.turn().is_some() && listeners.turn.is_some());
    let mut advert = None;
    if let (Some(settings), Some(sockets)) = (config.turn(), listeners.turn) {
        // Without a configured secret (tests), a random one lives as long as the process.
        let secret = match &settings.secret {
            Some(s) => s.expose().to_owned(),
            None => crate::random::hex::<16>(),
        };
        let listen = sockets.udp.local_addr()?;
        let tls_port = match (&sockets.tls, &tls) {
            (Some(l), Some(_)) => Some(l.local_addr()?.port()),
            _ => None,
        };
        crate::turn::spawn(
            sockets,
            settings,
            &secret,
            tls.clone(),
            &tracker,
            shutdown.clone(),
            metrics.clone(),
        )?;
        advert = Some(TurnAdvert {
            external_ip: settings.external_ip,
            listen,
            tls_port,
            fallback_host: config
                .http
                .public_host
                .first()
                .cloned()
                .or_else(crate::tls::host_name)
                .unwrap_or_else(|| "localhost".into()),
            secret: secret.into_bytes(),
            ttl: *settings.credential_ttl,
        });
    }
    let ice = IceMinter::new(config.hub.ice_servers.0.clone(), advert);
    let hub_config = config.hub.hub_config(ice.clone());
    let hub = signal::spawn(
        hub_config,
        crate::random::bytes(),
        &tracker,
        metrics.clone(),
        persist,
    );
    let state = AppState {
        conn_settings: ConnSettings {
            idle_timeout: *config.ws.idle_timeout,
            ping_interval: config.ws.effective_ping_interval(),
            outbound_queue: config.ws.outbound_queue,
            auth: Arc::new(crate::auth::Auth::new(&config.auth).map_err(std::io::Error::other)?),
            handshake_timeout: *config.http.handshake_timeout,
            msg_rate: config.ws.msg_rate,
            msg_burst: config.ws.msg_burst,
            metrics: metrics.clone(),
        },
        config,
        hub,
        next_conn: Arc::new(AtomicU64::new(1)),
        shutdown: shutdown.clone(),
        tracker: tracker.clone(),
        ice,
        metrics,
    };
    let handshake = *state.config.http.handshake_timeout;
    let app = crate::http::router(state).into_make_service();
    let handle = axum_server::Handle::new();
    {
        let handle = handle.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            shutdown.cancelled().await;
            handle.graceful_shutdown(Some(DRAIN_DEADLINE));
        });
    }
    // Slowloris defence: a connection gets `handshake_timeout` for its TLS handshake
    // and again for its request headers (hyper needs a timer to enforce the latter).
    // TCP_NODELAY on every accepted socket: signaling is many small frames, and with
    // Nagle on, a frame written while the previous one is unacknowledged waited for the
    // client's delayed ACK (tens of ms). confab-load's p99 at 20,000 msg/s went from
    // 145-500 ms to single-digit ms with it (bench/load.sh).
    let nodelay = axum_server::accept::NoDelayAcceptor::new();
    let served = match tls {
        Some(sc) => {
            let mut server = axum_server::from_tcp_rustls(
                listener,
                axum_server::tls_rustls::RustlsConfig::from_config(sc),
            )?
            .map(|a| a.handshake_timeout(handshake).acceptor(nodelay));
            limit_headers(server.http_builder(), handshake);
            server.handle(handle).serve(app).await
        }
        None => {
            let mut server = axum_server::from_tcp(listener)?.acceptor(nodelay);
            limit_headers(server.http_builder(), handshake);
            server.handle(handle).serve(app).await
        }
    };
    // Connection tasks see the token and send close frames; wait for them briefly.
    shutdown.cancel();
    tracker.close();
    let _ = tokio::time::timeout(DRAIN_DEADLINE, tracker.wait()).await;
    served
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
