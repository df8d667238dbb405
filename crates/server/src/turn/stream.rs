//! TCP and TLS listeners: each connection's byte stream is cut into STUN messages and
//! ChannelData frames with [`confab_turn::frame_len`] and handed to the TURN core.

use super::caps::StreamCaps;
use super::shared::Shared;
use confab_turn::{ClientKey, Transport};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Frames queued for one TCP client before it counts as too slow and is dropped.
const OUT_QUEUE: usize = 1024;
/// Largest frame accepted on a stream (a STUN message or ChannelData frame).
const MAX_FRAME: usize = 65_536 + 4;
/// A TLS handshake must finish within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A stream connection must hold an unexpired allocation this long after it connected
/// (after its TLS handshake) and at every check this far apart: without one it holds a
/// descriptor for nothing (a client that never allocates, or whose allocation expired or
/// was deleted). A browser allocates within its first two round trips.
const ALLOCATION_GRACE: Duration = Duration::from_secs(5);

/// Accepts connections until shutdown, within `caps` (a refused one is closed at once);
/// `tls` makes it the TURN-over-TLS listener.
pub async fn accept(
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shared: Arc<Shared>,
    caps: Arc<StreamCaps>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
) {
    let Ok(local) = listener.local_addr() else {
        return;
    };
    loop {
        let (tcp, client) = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(_) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let fd = u64::try_from(tcp.as_raw_fd()).unwrap_or(u64::MAX);
        let Ok(slot) = caps.admit(client.ip(), fd) else {
            continue; // dropped: closed at once
        };
        let _ = tcp.set_nodelay(true);
        let shared = shared.clone();
        let shutdown = shutdown.clone();
        match &tls {
            None => {
                let key = ClientKey {
                    transport: Transport::Tcp,
                    client,
                    local,
                };
                tracker.spawn(async move {
                    serve(tcp, key, shared, shutdown).await;
                    drop(slot);
                });
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let key = ClientKey {
                    transport: Transport::Tls,
                    client,
                    local,
                };
                tracker.spawn(async move {
                    if let Ok(Ok(s)) =
                        tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await
                    {
                        serve(s, key, shared, shutdown).await;
                    }
                    drop(slot);
                });
            }
        }
    }
}

/// Runs one stream connection: reads frames in, writes what the owner queues out, and
/// closes it when it holds no allocation (see [`ALLOCATION_GRACE`]).
async fn serve<S>(stream: S, key: ClientKey, shared: Arc<Shared>, shutdown: CancellationToken)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(OUT_QUEUE);
    shared.stream_opened(key, tx);
    let writer = async {
        while let Some(frame) = rx.recv().await {
            if wr.write_all(&frame).await.is_err() {
                break;
            }
        }
        let _ = wr.shutdown().await;
    };
    let reader = async {
        let mut buf: Vec<u8> = Vec::with_capacity(4096);
        let mut chunk = vec![0u8; 16 * 1024];
        loop {
            // Hand over every complete frame in the buffer.
            loop {
                match confab_turn::frame_len(&buf) {
                    Ok(Some(n)) if n <= buf.len() => {
                        shared.client(key, &buf[..n]);
                        buf.drain(..n);
                    }
                    Ok(_) if buf.len() > MAX_FRAME => return,
                    Ok(_) => break,
                    Err(_) => return, // not STUN/TURN: drop the connection
                }
            }
            match rd.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    let watchdog = async {
        let mut at = tokio::time::Instant::now() + ALLOCATION_GRACE;
        for _ in 0..u64::MAX {
            tokio::time::sleep_until(at).await;
            if shared.stream_idle(key) {
                return;
            }
            at += ALLOCATION_GRACE;
        }
    };
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = reader => {}
        _ = writer => {}
        _ = watchdog => {}
    }
    shared.stream_closed(key);
}
