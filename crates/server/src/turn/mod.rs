//! IO drivers for the built-in STUN/TURN server: sockets on one side, the sans-IO
//! [`confab_turn::Server`] core on the other.
//!
//! The core and the relay sockets it owns sit behind one short-held lock (`shared.rs`,
//! which says why it is not an owner task); socket readers (`shared.rs` for UDP,
//! `stream.rs` for TCP/TLS) hand it each message directly, and every output is performed
//! with a non-blocking send, so a slow or unreachable peer never stalls the relay. Batched
//! UDP reads and writes (`recvmmsg`/`sendmmsg`) come from the `confab-udp` crate.

mod caps;
mod local;
pub mod settings;
mod shared;
mod stream;

use crate::http::settings::HttpSettings;
use confab_signal::TurnAdvert;
use settings::TurnSettings;
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// TURN's listening sockets, bound before the server starts so a busy port is a clean
/// start-up error (and tests can bind port 0).
pub struct TurnSockets {
    /// STUN/TURN over UDP.
    pub udp: UdpSocket,
    /// STUN/TURN over TCP.
    pub tcp: TcpListener,
    /// TURN over TLS, if enabled.
    pub tls: Option<TcpListener>,
    /// Where relay sockets bind ([`relay_ip`]), decided before start so that a host
    /// without a usable address refuses to start.
    pub relay_ip: IpAddr,
    /// Services of this process that allocations may reach in-process (the SFU), set by
    /// the caller before [`spawn`] (`local.rs`).
    pub local: Option<LocalLink>,
}

/// Why TURN could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TurnStartError {
    /// A listening socket could not be bound.
    #[error("cannot listen for TURN on {transport} {addr}: {source}")]
    Bind {
        /// udp, tcp or tls.
        transport: &'static str,
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// No address to relay on: the listen address is unspecified and the host has no
    /// default route (its source address would be the relay address).
    #[error(
        "no usable TURN relay address: --turn-listen is {listen} and {why}; \
         set --turn-relay-ip (and --external-ip behind NAT), or --no-turn"
    )]
    NoRelayAddress {
        /// The listen address.
        listen: SocketAddr,
        /// What the route lookup found.
        why: String,
    },
    /// The secret file could not be read or written.
    #[error("TURN secret file {path}: {source}")]
    Secret {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl TurnSockets {
    /// Binds the listeners named in `settings`.
    /// `http_ip` is the HTTP listen address: where the operator said browsers reach us,
    /// the relay address of last resort (see [`relay_ip`]).
    pub fn bind(settings: &TurnSettings, http_ip: IpAddr) -> Result<TurnSockets, TurnStartError> {
        let err = |transport, addr| {
            move |source| TurnStartError::Bind {
                transport,
                addr,
                source,
            }
        };
        // Bind TCP to the port UDP actually got (they differ only when port 0 was asked:
        // then another program may hold that TCP port, and a fresh pair is tried).
        let tries = if settings.listen.port() == 0 { 20 } else { 1 };
        let mut attempt = 0;
        let (udp, tcp) = loop {
            attempt += 1;
            let udp =
                bind_udp(settings.listen, LISTENER_BUFFER).map_err(err("udp", settings.listen))?;
            let tcp_addr = udp.local_addr().map_err(err("udp", settings.listen))?;
            match TcpListener::bind(tcp_addr) {
                Ok(tcp) => break (udp, tcp),
                Err(e) if attempt < tries && e.kind() == std::io::ErrorKind::AddrInUse => {}
                Err(e) => return Err(err("tcp", tcp_addr)(e)),
            }
        };
        let tls = match settings.tls_listen.addr() {
            Some(a) => Some(TcpListener::bind(a).map_err(err("tls", a))?),
            None => None,
        };
        let relay_ip = relay_ip(settings, http_ip, default_route_source)?;
        Ok(TurnSockets {
            udp,
            tcp,
            tls,
            relay_ip,
            local: None,
        })
    }
}

/// Socket buffer size asked for the UDP listener, which carries every client's traffic.
/// The kernel caps it at net.core.rmem_max / wmem_max (4 MiB on Debian 12). With the
/// 208 KiB default, bursts from 100 clients overflowed it (kernel RcvbufErrors) at rates
/// coturn, which enlarges its buffers too, sustained (bench/turn_bench.py).
const LISTENER_BUFFER: usize = 4 << 20;
/// Socket buffer size asked for each relay socket (one peer's traffic).
pub(crate) const RELAY_BUFFER: usize = 1 << 20;

/// Binds a UDP socket with enlarged receive and send buffers (best effort: a refusal
/// leaves the kernel default).
pub(crate) fn bind_udp(addr: SocketAddr, buffer: usize) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    let _ = socket.set_recv_buffer_size(buffer);
    let _ = socket.set_send_buffer_size(buffer);
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// Reads the TURN REST secret from `data_dir/turn-secret`, creating a random one the
/// first time, so credentials stay valid across restarts.
pub fn load_or_create_secret(data_dir: &Path) -> Result<String, TurnStartError> {
    let path = data_dir.join("turn-secret");
    let err = |source| TurnStartError::Secret {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(s) if s.trim().len() >= 16 => return Ok(s.trim().to_owned()),
        Ok(_) => {} // empty or too short: replace it
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(err(e)),
    }
    let secret = crate::random::hex::<24>();
    std::fs::create_dir_all(data_dir).map_err(err)?;
    crate::tls::write_private(&path, secret.as_bytes()).map_err(err)?;
    Ok(secret)
}

/// The address relay sockets bind to: the configured one, else the TURN listen
/// address, else the source address of the default route (`route`, normally
/// [`default_route_source`]), else the HTTP listen address `http_ip` when it is a
/// specific, non-loopback one (a LAN server without a default route: browsers reach it
/// there). Failing all those (which remote browsers could not reach: allocations would
/// silently get 127.0.0.1), start fails, unless `--external-ip` names the advertised
/// address: then relays bind to the unspecified address.
pub fn relay_ip(
    settings: &TurnSettings,
    http_ip: IpAddr,
    route: impl FnOnce() -> std::io::Result<IpAddr>,
) -> Result<IpAddr, TurnStartError> {
    if let Some(ip) = settings.relay_ip {
        return Ok(ip);
    }
    if !settings.listen.ip().is_unspecified() {
        return Ok(settings.listen.ip());
    }
    let why = match route() {
        Ok(ip) if !ip.is_loopback() && !ip.is_unspecified() => return Ok(ip),
        Ok(ip) => format!("the default route's source address is {ip}"),
        Err(e) => format!("the host has no default route ({e})"),
    };
    if !http_ip.is_loopback() && !http_ip.is_unspecified() {
        return Ok(http_ip);
    }
    match settings.external_ip {
        Some(_) => Ok(IpAddr::from([0, 0, 0, 0])),
        None => Err(TurnStartError::NoRelayAddress {
            listen: settings.listen,
            why,
        }),
    }
}

/// The source address of the default route, found with a UDP `connect` (which sends
/// nothing).
pub fn default_route_source() -> std::io::Result<IpAddr> {
    let s = UdpSocket::bind("0.0.0.0:0")?;
    s.connect("192.0.2.1:9")?; // TEST-NET-1: a route lookup only
    Ok(s.local_addr()?.ip())
}

/// The running TURN server.
pub struct TurnHandle {
    /// How clients reach it and the secret their credentials are minted with.
    pub advert: TurnAdvert,
    /// Where services of this process send their answers to allocations.
    pub local: TurnLocal,
    /// What the signaling hub's owner uses to revoke a member's TURN user.
    pub revoker: TurnRevoker,
}

/// Revokes TURN users on the running server: the signaling hub's owner task performs its
/// `Output::RevokeTurnUser` with it when a member leaves for good. Cheap to clone. A
/// call takes the TURN lock briefly (synchronous work on the core, sends after it), so
/// the owner task never awaits here.
#[derive(Clone)]
pub struct TurnRevoker(Arc<shared::Shared>);

impl TurnRevoker {
    /// Frees every allocation of TURN REST user `user` and refuses its credentials until
    /// `until_unix` (unix seconds).
    pub fn revoke(&self, user: &str, until_unix: u64) {
        self.0.revoke(user, until_unix);
    }
}

pub use local::{LocalDatagram, LocalLink, TurnLocal, LOCAL_QUEUE};

/// Starts the TURN tasks on `tracker`; they stop when `shutdown` is cancelled. Without
/// a configured secret (tests), a random one lives as long as the process. `http` names
/// the host clients reach us by, for the `turn:` URLs when no public host is set.
pub fn spawn(
    sockets: TurnSockets,
    settings: &TurnSettings,
    http: &HttpSettings,
    tls: Option<Arc<rustls::ServerConfig>>,
    tracker: &TaskTracker,
    shutdown: CancellationToken,
    metrics: crate::metrics::Metrics,
) -> std::io::Result<TurnHandle> {
    let local = sockets.local;
    let secret = match &settings.secret {
        Some(s) => s.expose().to_owned(),
        None => crate::random::hex::<16>(),
    };
    let advert = TurnAdvert {
        external_ip: settings.external_ip,
        listen: sockets.udp.local_addr()?,
        tls_port: match (&sockets.tls, &tls) {
            (Some(l), Some(_)) => Some(l.local_addr()?.port()),
            _ => None,
        },
        fallback_host: http
            .public_host
            .first()
            .cloned()
            .or_else(crate::tls::host_name)
            .unwrap_or_else(|| "localhost".into()),
        secret: secret.clone().into_bytes(),
        ttl: *settings.credential_ttl,
    };
    let secret = secret.as_str();
    let relay_ip = sockets.relay_ip;
    tracing::info!(
        "TURN relays on {relay_ip} ports {}-{}, advertised as {}",
        settings.relay_ports.min,
        settings.relay_ports.max,
        match (settings.external_ip, relay_ip.is_unspecified()) {
            (Some(ip), _) => ip.to_string(),
            (None, true) => "the address each client reached".into(),
            (None, false) => relay_ip.to_string(),
        }
    );
    // Every address of the host is ours: a client must not reach any of its services
    // through the relay (the address a client reached is also denied per request).
    let host_addrs = confab_udp::host_addrs().unwrap_or_else(|e| {
        tracing::warn!("cannot list the host's addresses for the TURN peer policy: {e}");
        Vec::new()
    });
    let mut server_addrs: Vec<IpAddr> = [
        Some(relay_ip),
        settings.external_ip,
        Some(settings.listen.ip()),
    ]
    .into_iter()
    .flatten()
    .chain(host_addrs)
    .filter(|ip| !ip.is_unspecified())
    .collect();
    server_addrs.sort();
    server_addrs.dedup();
    let policy = confab_turn::PeerPolicy {
        allow: settings.allow_peer.clone(),
        deny: settings.deny_peer.clone(),
        server_addrs,
    };
    let config = confab_turn::TurnConfig {
        realm: settings.realm.clone(),
        rest_secret: Some(secret.as_bytes().to_vec()),
        static_users: settings
            .users
            .iter()
            .map(|u| (u.name.clone(), u.password.expose().to_owned()))
            .collect(),
        relay_ip,
        external_ip: settings.external_ip,
        user_quota: settings.user_quota,
        ip_quota: settings.ip_quota,
        max_allocations: settings.max_allocations,
        peer_policy: policy,
        local_services: local
            .as_ref()
            .map(|l| l.services.clone())
            .unwrap_or_default(),
        ..confab_turn::TurnConfig::default()
    };
    let caps = caps::StreamCaps::new(
        caps::StreamLimits {
            per_ip: settings.max_stream_connections_per_ip,
            total: settings.max_stream_connections,
            fd_ceiling: crate::listeners::nofile_limit()
                .map(|l| l.saturating_sub(crate::http::FD_RESERVE)),
        },
        metrics.clone(),
    );
    sockets.udp.set_nonblocking(true)?;
    let udp = Arc::new(tokio::net::UdpSocket::from_std(sockets.udp)?);
    let core = confab_turn::Server::new(config, u64::from_le_bytes(crate::random::bytes()));
    let shared = shared::Shared::new(
        core,
        udp,
        (settings.relay_ports.min, settings.relay_ports.max),
        shutdown.clone(),
        metrics,
        local.map(|l| l.tx),
    );
    let local = TurnLocal(shared.clone());
    let revoker = TurnRevoker(shared.clone());
    tracker.spawn(shared::listener_reader(shared.clone()));
    {
        // Expiry needs only second precision; a tick keeps the timer out of the hot path.
        let shared = shared.clone();
        let shutdown = shutdown.clone();
        tracker.spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
            // The host's addresses are re-read once a minute (an address gained after
            // start must be denied too); getifaddrs runs outside the lock.
            let mut addrs = tokio::time::interval(std::time::Duration::from_secs(60));
            addrs.tick().await; // the first tick is immediate: the start already read them
            loop {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tick.tick() => shared.tick(),
                    _ = addrs.tick() => {
                        if let Ok(host) = confab_udp::host_addrs() {
                            shared.host_addrs(&host);
                        }
                    }
                }
            }
            shared.close_relays();
        });
    }
    sockets.tcp.set_nonblocking(true)?;
    let tcp = tokio::net::TcpListener::from_std(sockets.tcp)?;
    tracker.spawn(stream::accept(
        tcp,
        None,
        shared.clone(),
        caps.clone(),
        tracker.clone(),
        shutdown.clone(),
    ));
    if let (Some(l), Some(tls)) = (sockets.tls, tls) {
        l.set_nonblocking(true)?;
        let l = tokio::net::TcpListener::from_std(l)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        tracker.spawn(stream::accept(
            l,
            Some(acceptor),
            shared,
            caps,
            tracker.clone(),
            shutdown,
        ));
    }
    Ok(TurnHandle {
        advert,
        local,
        revoker,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io;

    fn settings(listen: &str) -> TurnSettings {
        TurnSettings {
            listen: listen.parse().unwrap(),
            ..TurnSettings::default()
        }
    }

    /// Issue 12 item 4: no default route must not mean relay address 127.0.0.1.
    #[test]
    fn relay_ip_refuses_a_host_without_a_usable_address() {
        let s = settings("0.0.0.0:3478");
        let no_route = || Err(io::Error::from(io::ErrorKind::NetworkUnreachable));
        let any: IpAddr = "0.0.0.0".parse().unwrap();
        let err = relay_ip(&s, any, no_route).unwrap_err();
        let line = err.to_string();
        assert!(matches!(err, TurnStartError::NoRelayAddress { .. }));
        assert!(
            line.contains("--turn-relay-ip") && !line.contains('\n'),
            "{line}"
        );
        let loopback = || Ok(IpAddr::from([127, 0, 0, 1]));
        assert!(relay_ip(&s, any, loopback).is_err());
        assert!(relay_ip(&s, "127.0.0.1".parse().unwrap(), loopback).is_err());
        let public = || Ok(IpAddr::from([203, 0, 113, 7]));
        assert_eq!(
            relay_ip(&s, any, public).unwrap(),
            IpAddr::from([203, 0, 113, 7])
        );
        // A configured or specific listen address needs no route; neither does
        // --external-ip (relays bind to the unspecified address, the external one is told).
        let configured = TurnSettings {
            relay_ip: Some("10.0.0.5".parse().unwrap()),
            ..settings("0.0.0.0:3478")
        };
        assert_eq!(
            relay_ip(&configured, any, no_route).unwrap().to_string(),
            "10.0.0.5"
        );
        let specific = settings("127.0.0.1:3478");
        assert_eq!(
            relay_ip(&specific, any, no_route).unwrap().to_string(),
            "127.0.0.1"
        );
        let external = TurnSettings {
            external_ip: Some("203.0.113.9".parse().unwrap()),
            ..settings("0.0.0.0:3478")
        };
        assert!(relay_ip(&external, any, no_route).unwrap().is_unspecified());
        // A LAN server without a default route whose HTTP listens on a LAN address
        // relays there.
        let lan: IpAddr = "10.77.0.1".parse().unwrap();
        assert_eq!(relay_ip(&s, lan, no_route).unwrap(), lan);
        assert_eq!(
            relay_ip(&s, lan, public).unwrap(),
            IpAddr::from([203, 0, 113, 7])
        );
    }
}
