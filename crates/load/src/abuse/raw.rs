//! The attacks below the signaling protocol: idle TCP connections, and TURN requests
//! without credentials (see the table in `mod.rs`).

use super::{loopback, Ctx};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, UdpSocket};

/// Holds `--idle` connections to HTTP and a tenth as many to TURN TCP (with `--turn`),
/// none ever sending a byte; each one the server closes is counted and opened again.
pub(crate) async fn idle(ctx: Arc<Ctx>) {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..ctx.opts.idle {
        tasks.spawn(hold(ctx.clone(), ctx.http, "idle_http"));
    }
    if let Some(turn) = ctx.opts.turn {
        for _ in 0..ctx.opts.idle.div_ceil(10) {
            tasks.spawn(hold(ctx.clone(), turn, "idle_turn"));
        }
    }
    while tasks.join_next().await.is_some() {}
}

/// One idle connection to `to`, reopened whenever the server closes it.
async fn hold(ctx: Arc<Ctx>, to: SocketAddr, attack: &'static str) {
    while ctx.running() {
        let conn = async {
            let sock = TcpSocket::new_v4()?;
            sock.bind(SocketAddr::new(loopback(3, 1), 0))?;
            sock.connect(to).await
        };
        let Ok(mut tcp) = conn.await else {
            ctx.tally.count(attack, "connect_failed");
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        };
        let left = ctx
            .until
            .saturating_duration_since(std::time::Instant::now());
        let mut b = [0u8; 64];
        match tokio::time::timeout(left, tcp.read(&mut b)).await {
            Ok(_) => ctx.tally.count(attack, "closed_by_server"),
            Err(_) => ctx.tally.count(attack, "held_to_the_end"),
        }
    }
}

/// A STUN Allocate request (RFC 8656) without credentials: header, then
/// REQUESTED-TRANSPORT UDP.
fn allocate_request(n: u64) -> Vec<u8> {
    let mut m = Vec::with_capacity(28);
    m.extend_from_slice(&0x0003u16.to_be_bytes()); // Allocate request
    m.extend_from_slice(&8u16.to_be_bytes()); // attributes length
    m.extend_from_slice(&0x2112_A442u32.to_be_bytes()); // magic cookie
    m.extend_from_slice(&[0xAB; 4]);
    m.extend_from_slice(&n.to_be_bytes()); // transaction id (12 bytes in all)
    m.extend_from_slice(&0x0019u16.to_be_bytes()); // REQUESTED-TRANSPORT
    m.extend_from_slice(&4u16.to_be_bytes());
    m.extend_from_slice(&[17, 0, 0, 0]); // UDP
    m
}

/// Sends `--turn-rate` Allocate requests a second without credentials over UDP and
/// counts the answers by STUN class (`error` is the 401 challenge or a refusal).
pub(crate) async fn turn_allocations(ctx: Arc<Ctx>) {
    let Some(turn) = ctx.opts.turn else { return };
    let Ok(sock) = UdpSocket::bind(SocketAddr::new(loopback(7, 1), 0)).await else {
        ctx.tally.count("turn", "bind_failed");
        return;
    };
    let per_s = ctx.opts.turn_rate.max(1);
    let mut tick = tokio::time::interval(Duration::from_secs(1) / per_s);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut buf = [0u8; 1500];
    let mut n = 0u64;
    while ctx.running() {
        tokio::select! {
            _ = tick.tick() => {
                n += 1;
                if sock.send_to(&allocate_request(n), turn).await.is_ok() {
                    ctx.tally.count("turn", "sent");
                }
            }
            r = sock.recv_from(&mut buf) => {
                if let Ok((len, _)) = r {
                    let class = if len >= 2 && buf[1] & 0x10 != 0 { "error_reply" } else { "other_reply" };
                    ctx.tally.count("turn", class);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_allocate_request_is_well_formed() {
        let m = super::allocate_request(7);
        assert_eq!(m.len(), 28);
        assert_eq!(u16::from_be_bytes([m[2], m[3]]) as usize, m.len() - 20);
        assert_eq!(&m[4..8], &0x2112_A442u32.to_be_bytes());
    }
}
