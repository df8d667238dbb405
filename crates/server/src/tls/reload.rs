//! Operator certificate files (`--tls-cert`, `--tls-key`) read again on SIGHUP and when
//! they change on disk (their modification time or size, looked at every
//! [`POLL_INTERVAL`]; no inotify: a poll is simple, portable and cheap for two files).
//! A new pair goes into the shared [`CertResolver`], so the next handshake on every TLS
//! listener uses it and open connections are untouched. A pair that cannot be used (a
//! half-written file, a key that does not match) is logged and the old one stays.

use super::{read_pem_pair, CertResolver, TlsOrigin};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio_util::sync::CancellationToken;

/// How often the files' modification times are looked at.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// What is known of a file without reading it: enough to notice a rewrite.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &Path) -> Stamp {
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len()))
}

/// Watches `cert` and `key` until `shutdown`, swapping a changed pair into `resolver`.
/// On unix, SIGHUP forces a reload; the handler replaces SIGHUP's default (exit).
pub async fn watch_files(
    cert: PathBuf,
    key: PathBuf,
    resolver: Arc<CertResolver>,
    shutdown: CancellationToken,
) {
    #[cfg(unix)]
    let mut hup = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!("cannot listen for SIGHUP (certificate reload): {e}");
            None
        }
    };
    let mut seen = (stamp(&cert), stamp(&key));
    let mut tick = tokio::time::interval(POLL_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        #[cfg(unix)]
        let hangup = async {
            match hup.as_mut() {
                Some(h) => h.recv().await,
                None => std::future::pending().await,
            }
        };
        #[cfg(not(unix))]
        let hangup = std::future::pending::<Option<()>>();
        let why = tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = hangup => "SIGHUP",
            _ = tick.tick() => {
                let now = (stamp(&cert), stamp(&key));
                if now == seen {
                    continue;
                }
                "the files changed"
            }
        };
        // Remember what was tried, so a bad pair is not retried (and logged) every poll:
        // the next change to either file tries again.
        seen = (stamp(&cert), stamp(&key));
        reload(&cert, &key, &resolver, why);
    }
}

/// Reads the pair and swaps it in, or logs why not and keeps the current one.
pub fn reload(cert: &Path, key: &Path, resolver: &CertResolver, why: &str) -> bool {
    let result = read_pem_pair(cert, key).and_then(|(chain, key)| {
        let m = super::material(chain, key, TlsOrigin::Files);
        resolver.set(&m).map(|()| m)
    });
    match result {
        Ok(m) => {
            tracing::info!(
                fingerprint = %m.fingerprint,
                "reloaded the TLS certificate ({why}): {}",
                cert.display()
            );
            true
        }
        Err(e) => {
            tracing::warn!(
                "cannot reload the TLS certificate ({why}): {e}; keeping the current one"
            );
            false
        }
    }
}

/// Logs SIGHUP and otherwise ignores it (`why` says why there is nothing to reload), so a
/// habitual `kill -HUP` does not end a server whose certificate has no files to read.
pub async fn ignore_hangup(why: &'static str, shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            return;
        };
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = hup.recv() => tracing::info!("SIGHUP: nothing to reload ({why})"),
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (why, shutdown);
}
