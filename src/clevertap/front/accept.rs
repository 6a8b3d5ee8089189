//! The accept loop: never dies silently.
//!
//! - A connection that failed before it was accepted (`ECONNABORTED`, `EINTR`, ...) is skipped.
//! - Every other error ("too many open files" above all, also `ENFILE`, `ENOBUFS`, `ENOMEM`)
//!   is logged once, then accepting is retried after a back-off of 10 ms doubling to 100 ms.
//!   Connections the front closes (the header timeout closes idle ones) free descriptors, so
//!   this usually recovers by itself.
//! - When accepting has failed without a single success for `retry_for` (default
//!   [`DEFAULT_ACCEPT_RETRY_FOR`]), the fake is marked [`Health::Dead`], logged as an error,
//!   and the listener is closed: clients then get "connection refused", not a hang.
//! - A semaphore caps the connections open at once; at the cap the loop stops accepting
//!   until one closes (new connections wait in the kernel's queue).

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use super::shard::Shards;
use super::{Health, Shared, service};

/// How long accepting may fail without a success before the fake is marked dead.
pub const DEFAULT_ACCEPT_RETRY_FOR: Duration = Duration::from_secs(30);

const FIRST_BACKOFF: Duration = Duration::from_millis(10);
const MAX_BACKOFF: Duration = Duration::from_millis(100);

pub(super) struct Accepting {
    pub(super) listener: TcpListener,
    pub(super) shared: Arc<Shared>,
    pub(super) connections: Arc<Semaphore>,
    pub(super) health: watch::Sender<Health>,
    pub(super) retry_for: Duration,
    pub(super) shards: Shards,
}

/// A run of consecutive accept errors.
struct Failing {
    since: Instant,
    backoff: Duration,
}

impl Accepting {
    /// Accepts until the fake is marked dead (or the task is dropped).
    pub(super) async fn run(mut self) {
        let mut failing: Option<Failing> = None;
        loop {
            let Ok(permit) = self.connections.clone().acquire_owned().await else { return };
            match self.listener.accept().await {
                Ok((stream, _)) => {
                    if failing.take().is_some() {
                        tracing::warn!("fake CleverTap on {}: accepting connections again", self.addr());
                    }
                    self.serve(stream, permit);
                }
                Err(e) if skippable(&e) => {}
                Err(e) => {
                    drop(permit);
                    let run = failing.get_or_insert_with(|| self.first_failure(&e));
                    if run.since.elapsed() >= self.retry_for {
                        return self.die(&e);
                    }
                    tokio::time::sleep(run.backoff).await;
                    run.backoff = (run.backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    fn addr(&self) -> String {
        self.listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| "?".into())
    }

    fn first_failure(&self, e: &io::Error) -> Failing {
        tracing::warn!(
            "fake CleverTap on {}: cannot accept a connection ({e}); retrying for up to {:?}{}",
            self.addr(),
            self.retry_for,
            if is_exhaustion(e) { " (raise the open-file limit: ulimit -n)" } else { "" },
        );
        Failing { since: Instant::now(), backoff: FIRST_BACKOFF }
    }

    fn die(self, e: &io::Error) {
        let reason = format!(
            "the fake CleverTap on {} stopped: accepting connections failed for {:?} ({e})",
            self.addr(),
            self.retry_for
        );
        tracing::error!("{reason}");
        self.health.send_replace(Health::Dead { reason });
        // `self.listener` drops here: new connections are refused instead of queued.
    }

    fn serve(&mut self, stream: TcpStream, permit: OwnedSemaphorePermit) {
        let _ = stream.set_nodelay(true);
        let shared = self.shared.clone();
        self.shards.serve(stream, move |stream| async move {
            service::serve_connection(stream, shared).await;
            drop(permit);
        });
    }
}

/// Errors about one connection that went away before it was accepted: just accept the next.
fn skippable(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::Interrupted
    )
}

/// Out of descriptors, buffers or memory: closing connections fixes it.
fn is_exhaustion(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptor_exhaustion_is_retried_and_aborted_connections_are_skipped() {
        let emfile = io::Error::from_raw_os_error(libc::EMFILE);
        assert!(is_exhaustion(&emfile) && !skippable(&emfile));
        assert!(skippable(&io::Error::from_raw_os_error(libc::ECONNABORTED)));
        assert!(!is_exhaustion(&io::Error::from_raw_os_error(libc::EINVAL)));
    }
}
