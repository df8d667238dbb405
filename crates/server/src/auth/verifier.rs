//! The threads that run argon2: [`VERIFIER_THREADS`] of them, made at start, and only
//! they. Each check needs 19 MiB; each thread keeps that memory from one check to the
//! next (`password::verify_with_memory`), so password checks hold at most three times
//! 19 MiB, however many run. (Allocated per check on the blocking pool, the first 20
//! checks after a start took the server from 15 MiB to 368 MiB, kept for good.)
//!
//! Callers hold a permit of `Auth`'s semaphores (at most [`VERIFIER_THREADS`] in all)
//! while they wait for an answer, so the queue never holds more than that.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

/// Threads, one per permit of `Auth`'s semaphores (2, and 1 for the clean lane).
pub const VERIFIER_THREADS: usize = 3;

struct Job {
    hash: Arc<str>,
    password: String,
    reply: oneshot::Sender<bool>,
}

/// A handle to the verifier threads; they end when it is dropped.
#[derive(Debug)]
pub struct Verifiers {
    tx: SyncSender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job") // never the password
    }
}

impl Verifiers {
    /// Starts the threads.
    pub fn start() -> Verifiers {
        let (tx, rx) = sync_channel::<Job>(VERIFIER_THREADS);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..VERIFIER_THREADS {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || serve(&rx));
            if let Err(e) = spawned {
                tracing::error!("cannot start a password verifier thread: {e}");
            }
        }
        Verifiers { tx }
    }

    /// Whether `password` matches `hash`; `None` when no verifier could take it (none
    /// running, or more callers than permits: a bug).
    pub async fn verify(&self, hash: Arc<str>, password: String) -> Option<bool> {
        let (reply, answer) = oneshot::channel();
        match self.tx.try_send(Job {
            hash,
            password,
            reply,
        }) {
            Ok(()) => answer.await.ok(),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => None,
        }
    }
}

fn serve(rx: &Mutex<Receiver<Job>>) {
    // argon2's memory, kept for the thread's life (see `verify_with_memory`).
    let mut blocks = Vec::new();
    loop {
        // Hold the lock only to take a job; it is poisoned only by a panic in `recv`.
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let ok = super::password::verify_with_memory(&job.hash, &job.password, &mut blocks);
        let _ = job.reply.send(ok);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn verifies_on_its_own_threads() {
        let v = Verifiers::start();
        let hash: Arc<str> = super::super::password::hash("pw").into();
        assert_eq!(v.verify(hash.clone(), "pw".into()).await, Some(true));
        assert_eq!(v.verify(hash, "nope".into()).await, Some(false));
    }
}
