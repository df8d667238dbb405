//! The SFU's IO driver: per shard, a socket on the SFU's one UDP port and one task that
//! owns a sans-IO [`confab_sfu::Sfu`] (`driver.rs`). Shards own whole SFU calls
//! (`shards.rs` routes each call, and everything for it, to one), so calls are forwarded
//! on as many cores as there are shards; the kernel spreads remote addresses over the
//! shards' sockets, and a shard hands a datagram for another's endpoint to it
//! (`steer.rs`), so one port carries every call however many shards run.
//!
//! The hub asks for endpoints with [`MediaCommand`]s (through [`SfuHandle`]) and hears
//! back [`MediaEvent`]s on the channel given to [`spawn`]; neither side ever waits for
//! the other (both channels are bounded and written with `try_send`).

mod driver;
pub mod settings;
mod shards;
mod steer;
mod trace;

pub use shards::SfuHandle;

use crate::turn::{LocalDatagram, TurnLocal};
use confab_signal::{MediaCommand, MediaEvent};
use settings::SfuSettings;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Commands the hub may queue for the SFU task before it refuses more. Each is one
/// signaling step of one member (SDP of at most 64 KiB): 1,024 bound the queue to
/// 64 MiB in the worst case, and the task takes each in well under a millisecond.
pub const COMMAND_QUEUE: usize = 1024;

/// Events the SFU task may queue for the hub (answers, offers, failures, and layer
/// reports: at most one per endpoint a second, so a round of them fits).
pub const EVENT_QUEUE: usize = 4096;

/// The SFU's sockets, one per shard and all on one address, bound before start (a busy
/// port is a clean start-up error), and the addresses they are offered at.
pub struct SfuSocket {
    /// Each shard's socket.
    pub shards: Vec<UdpSocket>,
    /// Where browsers reach the SFU, whichever shard: see [`candidate_ips`].
    pub candidates: Vec<SocketAddr>,
}

/// Why the SFU could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SfuStartError {
    /// The socket could not be bound.
    #[error("cannot listen for the SFU on udp {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// No address to offer browsers (only addresses of the other IP family were named).
    #[error("the SFU on {listen} has no address of its family to offer: set --sfu-ip")]
    NoAddress {
        /// The listen address.
        listen: SocketAddr,
    },
    /// A shard's thread or its runtime could not be made.
    #[error("cannot start an SFU thread: {source}")]
    Thread {
        /// Why.
        source: std::io::Error,
    },
}

/// Buffer size asked for the SFU socket: every member's media of every SFU call goes
/// through it (the kernel caps it at net.core.rmem_max).
const SOCKET_BUFFER: usize = 4 << 20;

impl SfuSocket {
    /// Binds `settings.listen` once per shard (see [`bind_shared`]) and works out the
    /// candidates. `external_ip` is `--external-ip`; `http_ip` the HTTP listen address.
    pub fn bind(
        settings: &SfuSettings,
        external_ip: Option<IpAddr>,
        http_ip: IpAddr,
    ) -> Result<SfuSocket, SfuStartError> {
        let ips = candidate_ips(settings, external_ip, http_ip, confab_udp::host_addrs);
        if ips.is_empty() {
            return Err(SfuStartError::NoAddress {
                listen: settings.listen,
            });
        }
        let addr = settings.listen;
        let err = |source| SfuStartError::Bind { addr, source };
        let shards = bind_shared(addr, settings.shard_count()).map_err(err)?;
        let port = shards[0].local_addr().map_err(err)?.port();
        let candidates = ips.iter().map(|&ip| SocketAddr::new(ip, port)).collect();
        Ok(SfuSocket { shards, candidates })
    }
}

/// Binds `n` UDP sockets to `addr` (at least one). One is a plain socket. Several set
/// `SO_REUSEPORT`, which lets them share the address (Linux then gives each remote
/// address to one of them by a hash), on the port a plain socket got first: a port in
/// use by anyone is then refused as with one socket, where a second server of the same
/// user would otherwise join the group unseen and take a share of the browsers; and
/// port 0 gets a port nobody holds (not one another group of ours holds).
fn bind_shared(addr: SocketAddr, n: usize) -> std::io::Result<Vec<UdpSocket>> {
    if n <= 1 {
        return Ok(vec![crate::turn::bind_udp(addr, SOCKET_BUFFER)?]);
    }
    let addr = UdpSocket::bind(addr)?.local_addr()?;
    (0..n).map(|_| bind_reuseport(addr)).collect()
}

/// One socket of a `SO_REUSEPORT` group, with enlarged buffers (best effort, as
/// `turn::bind_udp`).
fn bind_reuseport(addr: SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    let _ = socket.set_recv_buffer_size(SOCKET_BUFFER);
    let _ = socket.set_send_buffer_size(SOCKET_BUFFER);
    confab_udp::set_reuse_port(std::os::fd::AsFd::as_fd(&socket))?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// The addresses the SFU is offered at, first match wins: `--sfu-ip` (with
/// `--external-ip` first if set); `--external-ip`; the SFU listen address when it is a
/// specific one; the HTTP listen address when it is (browsers reach us there); else
/// every interface address (`host_addrs`) but loopback and link-local, or loopback
/// when there is no other. Only addresses of the socket's family are kept.
pub fn candidate_ips(
    settings: &SfuSettings,
    external_ip: Option<IpAddr>,
    http_ip: IpAddr,
    host_addrs: impl FnOnce() -> std::io::Result<Vec<IpAddr>>,
) -> Vec<IpAddr> {
    let listen = settings.listen.ip();
    let family = |ip: &IpAddr| ip.is_ipv4() == listen.is_ipv4();
    let mut ips: Vec<IpAddr> = external_ip.into_iter().collect();
    for ip in &settings.ips {
        if !ips.contains(ip) {
            ips.push(*ip);
        }
    }
    if ips.is_empty() {
        if !listen.is_unspecified() {
            ips.push(listen);
        } else if !http_ip.is_unspecified() && family(&http_ip) {
            ips.push(http_ip);
        } else {
            let link_local = |ip: &IpAddr| match ip {
                IpAddr::V4(v4) => v4.is_link_local(),
                IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) == 0xfe80,
            };
            let all = host_addrs().unwrap_or_default();
            ips.extend(
                all.into_iter()
                    .filter(|ip| family(ip) && !ip.is_loopback() && !link_local(ip)),
            );
            if ips.is_empty() {
                ips.push(if listen.is_ipv4() {
                    IpAddr::from([127, 0, 0, 1])
                } else {
                    IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
                });
            }
        }
    }
    ips.retain(family);
    ips
}

/// The SFU task's command queue is full (or the task is gone).
#[derive(Debug)]
pub struct SfuBusy(pub MediaCommand);

/// What reaches the SFU driver besides its socket and the hub's commands, and where it
/// counts.
pub struct Inlets {
    /// confab's TURN, for browsers it relays: its in-process link and datagrams.
    pub turn: Option<(TurnLocal, mpsc::Receiver<LocalDatagram>)>,
    /// The IP cameras' frames (`streams/camera`), when cameras are configured.
    pub cameras: Option<mpsc::Receiver<crate::streams::camera::CameraFrame>>,
    /// The server's metrics (datagrams handed between shards).
    pub metrics: crate::metrics::Metrics,
}

/// Starts the SFU's shard tasks on `tracker`: they serve `socket` until `shutdown` or
/// until the handle is dropped, and report to the hub on `events`. `max_room_size` is
/// the call size limit. With `inlets.turn`, browsers relayed by confab's TURN reach the
/// SFU in-process: their datagrams arrive on the receiver (and go to the shard their
/// endpoint is on), and answers to them go back through `TurnLocal`; `inlets.cameras`
/// brings the cameras' frames (each to the shard of its camera's call).
pub fn spawn(
    socket: SfuSocket,
    max_room_size: usize,
    events: mpsc::Sender<MediaEvent>,
    inlets: Inlets,
    recordings: (std::path::PathBuf, crate::record::Limits),
    tracker: &TaskTracker,
    shutdown: CancellationToken,
) -> Result<SfuHandle, SfuStartError> {
    let shards_len = socket.shards.len();
    let mut udps = Vec::with_capacity(shards_len);
    for udp in socket.shards {
        let addr = udp
            .local_addr()
            .and_then(|addr| udp.set_nonblocking(true).map(|()| addr))
            .map_err(|source| SfuStartError::Bind {
                addr: socket
                    .candidates
                    .first()
                    .copied()
                    .unwrap_or(([0, 0, 0, 0], 0).into()),
                source,
            })?;
        if udps.is_empty() {
            tracing::info!(
                listen = %addr,
                candidates = ?socket.candidates,
                shards = shards_len,
                "SFU listening (udp)"
            );
        }
        udps.push(udp);
    }
    // Without a recorder thread the server still runs; recordings do not. One thread
    // for every shard: it also prunes the folder.
    let recorder = match crate::record::Recorder::spawn(recordings.0, recordings.1) {
        Ok(r) => Some(r),
        Err(e) => {
            tracing::error!(error = %e, "the recorder did not start; recordings are off");
            None
        }
    };
    let (turn, from_turn) = match inlets.turn {
        Some((t, rx)) => (Some(t), Some(rx)),
        None => (None, None),
    };
    let (handle, inboxes) = shards::split(
        udps.len(),
        events,
        (from_turn, inlets.cameras),
        inlets.metrics,
        tracker,
        &shutdown,
    );
    for (n, (udp, inbox)) in udps.into_iter().zip(inboxes).enumerate() {
        let config = confab_sfu::SfuConfig {
            candidates: socket.candidates.clone(),
            max_room_size,
            shard: confab_sfu::ShardTag::new(n),
            ..confab_sfu::SfuConfig::default()
        };
        let (turn, recorder, shutdown) = (turn.clone(), recorder.clone(), shutdown.clone());
        let run = async move {
            let udp = tokio::net::UdpSocket::from_std(udp)?;
            let driver = driver::Driver::new(config, udp, inbox.events, turn, recorder);
            driver.run(inbox.inputs, shutdown).await;
            Ok::<(), std::io::Error>(())
        };
        on_own_thread(format!("confab-sfu-{n}"), run, tracker)
            .map_err(|source| SfuStartError::Thread { source })?;
    }
    Ok(handle)
}

/// Runs a shard on an OS thread of its own, with a single-threaded runtime: forwarding
/// media is the server's heaviest work, and on the shared runtime a busy shard held
/// back the signaling hub (seen: every WebSocket of a five-person call without a `pong`
/// for 60 s while the shard forwarded, with a debug build on two loaded cores). The
/// kernel now shares the cores between the two, as between any threads. `tracker` waits
/// for the thread: a task of it ends when the thread does (however it ends).
fn on_own_thread(
    name: String,
    run: impl std::future::Future<Output = std::io::Result<()>> + Send + 'static,
    tracker: &TaskTracker,
) -> std::io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (done, ended) = tokio::sync::oneshot::channel::<()>();
    std::thread::Builder::new().name(name).spawn(move || {
        if let Err(e) = runtime.block_on(run) {
            tracing::error!(error = %e, "an SFU shard could not start: its calls get no media");
        }
        drop(done);
    })?;
    tracker.spawn(async move {
        let _ = ended.await;
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(listen: &str, ips: &[&str]) -> SfuSettings {
        SfuSettings {
            listen: listen.parse().unwrap(),
            ips: ips.iter().map(|s| s.parse().unwrap()).collect(),
            ..SfuSettings::default()
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn shards_share_one_port_and_a_port_in_use_is_refused() {
        let group = bind_shared("127.0.0.1:0".parse().unwrap(), 3).unwrap();
        let addr = group[0].local_addr().unwrap();
        assert_ne!(addr.port(), 0);
        assert!(group.iter().all(|s| s.local_addr().unwrap() == addr));
        // A second server on that port (even of the same user) is refused, not let in
        // to take a share of the browsers.
        assert!(bind_shared(addr, 2).is_err());
        assert!(bind_shared(addr, 1).is_err());
    }

    #[test]
    fn candidates_follow_the_documented_order() {
        let none = || Ok(vec![]);
        let host = || {
            Ok(vec![
                ip("127.0.0.1"),
                ip("169.254.1.1"),
                ip("192.168.1.5"),
                ip("fe80::1"),
            ])
        };
        let any = ip("0.0.0.0");
        let s = settings("0.0.0.0:7882", &["198.51.100.7"]);
        assert_eq!(
            candidate_ips(&s, Some(ip("203.0.113.9")), any, none),
            [ip("203.0.113.9"), ip("198.51.100.7")]
        );
        let s = settings("0.0.0.0:7882", &[]);
        assert_eq!(
            candidate_ips(&s, Some(ip("203.0.113.9")), any, none),
            [ip("203.0.113.9")]
        );
        let s = settings("10.0.0.2:7882", &[]);
        assert_eq!(candidate_ips(&s, None, any, none), [ip("10.0.0.2")]);
        let s = settings("0.0.0.0:7882", &[]);
        assert_eq!(
            candidate_ips(&s, None, ip("10.0.0.3"), none),
            [ip("10.0.0.3")]
        );
        assert_eq!(candidate_ips(&s, None, any, host), [ip("192.168.1.5")]);
        assert_eq!(candidate_ips(&s, None, any, none), [ip("127.0.0.1")]);
        // An IPv6 address cannot be reached on an IPv4 socket.
        let s = settings("0.0.0.0:7882", &["2001:db8::1"]);
        assert_eq!(candidate_ips(&s, None, any, none), Vec::<IpAddr>::new());
    }
}
