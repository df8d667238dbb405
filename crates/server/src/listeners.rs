//! The sockets a server runs on, bound before it starts: a busy port is a clean start-up
//! error, and tests bind port 0. Binding also raises the process's descriptor limit
//! (`RLIMIT_NOFILE`) to its hard limit: the many sockets a busy server holds must not hit
//! a small default soft limit (1024 on many systems) while the hard limit allows more.

use crate::config::Config;
use crate::sfu::SfuSocket;
use crate::turn::TurnSockets;

/// The sockets a server runs on, bound by the caller.
pub struct Listeners {
    /// HTTP(S) and WebSocket.
    pub http: std::net::TcpListener,
    /// STUN/TURN, when enabled.
    pub turn: Option<TurnSockets>,
    /// The SFU's UDP socket, when the SFU runs.
    pub sfu: Option<SfuSocket>,
}

impl Listeners {
    /// Binds every listener `config` asks for, with errors naming the address.
    pub fn bind(config: &Config) -> Result<Listeners, BindError> {
        match raise_nofile_limit() {
            Ok(Some(n)) => tracing::info!(limit = n, "open file descriptor limit"),
            Ok(None) => tracing::info!("open file descriptor limit: unlimited"),
            Err(e) => tracing::warn!(
                limit = nofile_limit(),
                "cannot raise the open file descriptor limit: {e}"
            ),
        }
        let addr = config.http.listen;
        let http = bind_http(addr).map_err(|source| BindError::Http { addr, source })?;
        let http_ip = config.http.listen.ip();
        let turn = config
            .turn()
            .map(|t| TurnSockets::bind(t, http_ip))
            .transpose()?;
        let sfu = config
            .sfu()
            .map(|s| SfuSocket::bind(s, config.turn.external_ip, http_ip))
            .transpose()?;
        Ok(Listeners { http, turn, sfu })
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

/// The soft descriptor limit now, or `None` when unlimited.
pub(crate) fn nofile_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// Raises the soft descriptor limit to the hard one; returns the soft limit in force
/// afterwards (`None`: unlimited). A failed raise leaves the limit as it was.
fn raise_nofile_limit() -> std::io::Result<Option<u64>> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            },
        )?;
    }
    Ok(nofile_limit())
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
    /// The SFU port.
    #[error(transparent)]
    Sfu(#[from] crate::sfu::SfuStartError),
}
