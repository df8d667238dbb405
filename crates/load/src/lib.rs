//! `confab-load`: a bounded load generator and delivery checker for confab's signaling
//! WebSocket (and anything speaking the same protocol subset, such as the Node `ws`
//! reference relay in `bench/node-relay`).
//!
//! N clients connect and join rooms of `--room-size`; senders post `chat`s (broadcast
//! to the room, the sender included) and, per `--relay-ratio`, relayed `offer`s
//! (unicast). Every payload carries the sender, a sequence number and the send time, so
//! each receiver checks exactly-once in-order delivery per sender ([`seq`]) and records
//! latency in an HDR histogram. See `bench/load.sh` for the benchmark built on it.
//!
//! [`abuse`] is `confab-abuse`: issue 12's attacks at once, for `bench/soak.sh`.
//!
//! [`media`] is the SFU media mode (`confab-media`): str0m publishers and subscribers
//! against confab or Janus, server CPU per forwarded packet (`bench/media.sh`).

pub mod abuse;
pub mod client;
pub mod media;
pub mod opts;
pub mod payload;
pub mod report;
pub mod run;
pub mod seq;
pub mod shared;
pub mod tool;

pub use opts::Opts;
pub use report::Report;
pub use run::run;

/// Raises the soft open-files limit as far as allowed (to the hard limit, or higher
/// when privileged); returns the soft limit in force afterwards.
pub fn raise_nofile(want: u64) -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct passed in.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur >= want {
            return lim.rlim_cur;
        }
        let raised = libc::rlimit {
            rlim_cur: want,
            rlim_max: want.max(lim.rlim_max),
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
            return want;
        }
        lim.rlim_cur = want.min(lim.rlim_max);
        libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim);
        lim.rlim_cur
    }
}
