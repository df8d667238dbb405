//! What an owner task (`signal/hub_task.rs`, `sfu/driver.rs`) selects on when there may
//! be nothing to wait for: a deadline it may not have, a channel it may not have. Each
//! waits forever in that case, so its `select!` branch simply never fires.

use std::time::Instant;
use tokio::sync::mpsc::{Receiver, UnboundedReceiver};

/// Sleeps until `deadline`, or forever when there is none.
pub(crate) async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d.into()).await,
        None => std::future::pending().await,
    }
}

/// The next message on `rx`, or never without a channel.
pub(crate) async fn recv_opt<T>(rx: &mut Option<Receiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// [`recv_opt`] for an unbounded channel.
pub(crate) async fn recv_unbounded_opt<T>(rx: &mut Option<UnboundedReceiver<T>>) -> Option<T> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
