//! Logging: tracing to a writer (stderr in `main`), as text or JSON, with an `EnvFilter`
//! from `--log`, and a second filter no `--log` can lift.
//!
//! No level may log a secret (passwords, join tokens, resume tokens, TURN credentials)
//! or what people said (chat). confab's own events never carry frames or messages, only
//! ids and counts. But some libraries log whole frames at `trace` (tungstenite prints
//! every WebSocket frame's payload), so [`secret_safe`] caps those libraries at `debug`
//! whatever `--log` says, `--log trace` and `--log tungstenite=trace` included.

use tracing::Level;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::{SubscriberInitExt, TryInitError};
use tracing_subscriber::EnvFilter;

/// Libraries whose `trace` output can carry payloads or headers, capped at `debug`:
/// WebSocket frames (tungstenite), HTTP/1 and HTTP/2 requests (hyper, h2), TLS records
/// (rustls).
pub const CAPPED: &[&str] = &[
    "tungstenite",
    "tokio_tungstenite",
    "hyper",
    "hyper_util",
    "h2",
    "rustls",
];

/// The filter under every `--log`: [`CAPPED`] libraries at most `debug`, the rest as
/// `--log` says.
pub fn secret_safe() -> Targets {
    CAPPED
        .iter()
        .fold(Targets::new().with_default(Level::TRACE), |t, target| {
            t.with_target(*target, Level::DEBUG)
        })
}

/// Installs the global subscriber: `filter` (from `--log`) and [`secret_safe`], lines to
/// `writer`, one JSON object per line with `json`. Also routes the `log` records of
/// libraries through it.
pub fn init<W>(filter: EnvFilter, json: bool, writer: W) -> Result<(), TryInitError>
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    if json {
        builder
            .json()
            .flatten_event(true)
            .finish()
            .with(secret_safe())
            .try_init()
    } else {
        builder.finish().with(secret_safe()).try_init()
    }
}
