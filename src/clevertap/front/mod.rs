//! The fake's own HTTP front: a hyper 1 server that owns the fake's listener.
//!
//! - `POST /1/upload` (the hot path) is answered here, from the same [`Engine`] wiremock's
//!   mocks use: same numbering, faults, journal and answer bytes (see [`service`]).
//! - `GET`/`DELETE /__harness/requests` (standalone mode) are served here too; the journal is
//!   serialised on a blocking thread, never on a thread that answers uploads.
//! - Everything else is forwarded to the wiremock server behind the front ([`forward`]).
//!
//! What the front adds to wiremock's server ([`accept`], [`body`]): an accept loop that backs
//! off and retries on errors such as "too many open files" and marks the fake dead (see
//! [`Health`]) only after [`FrontLimits::accept_retry_for`] of failures; a header read timeout;
//! a cap on open connections; a body limit answered with HTTP 413 without reading the body.
//! It runs on its own threads with their own runtimes, so a caller's runtime never starves it:
//! [`FrontLimits::threads`] threads, each a current-thread runtime that serves the connections
//! handed to it from start to end ([`shard`]), so a request never wakes another thread.

mod accept;
mod body;
mod forward;
mod read;
mod service;
mod shard;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, oneshot, watch};

use super::engine::Engine;
use crate::error::{Error, Result};

pub use accept::DEFAULT_ACCEPT_RETRY_FOR;

/// Default header read timeout: a client has this long to send a request's headers.
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Default cap on connections open at once (more wait in the kernel's accept queue).
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Largest request body the front reads (10 MiB, CleverTap's limit); more gets HTTP 413.
pub const MAX_BODY_BYTES: usize = super::validate::MAX_BODY_BYTES;

/// The fake's state as its front sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// Accepting connections.
    Serving,
    /// The accept loop gave up (for example out of file descriptors for longer than
    /// [`DEFAULT_ACCEPT_RETRY_FOR`]); the listener is closed.
    Dead {
        /// What failed, for the user.
        reason: String,
    },
}

impl Health {
    /// True when the fake no longer accepts connections.
    pub fn is_dead(&self) -> bool {
        matches!(self, Health::Dead { .. })
    }
}

/// The front's limits (set on the builder; the CLI has a flag for each).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrontLimits {
    /// Connections open at once; more wait in the accept queue.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers.
    pub header_timeout: Duration,
    /// How long accepting may keep failing before the fake is marked dead.
    pub accept_retry_for: Duration,
    /// Threads that serve connections (each connection stays on one of them).
    pub threads: usize,
}

impl Default for FrontLimits {
    fn default() -> Self {
        FrontLimits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            accept_retry_for: DEFAULT_ACCEPT_RETRY_FOR,
            threads: 1,
        }
    }
}

/// What every connection of one front shares.
pub(crate) struct Shared {
    pub(crate) engine: Arc<Engine>,
    pub(crate) wiremock: SocketAddr,
    pub(crate) header_timeout: Duration,
    pub(crate) client: forward::WiremockClient,
}

/// A running front; dropping it stops the accept loop and closes every connection.
pub(crate) struct Front {
    health: watch::Receiver<Health>,
    _stop: oneshot::Sender<()>,
    /// Dropped with the front: the other threads' runtimes stop.
    _shards_stop: watch::Sender<()>,
}

impl Front {
    /// Starts serving `listener` (already bound) on new threads; returns once the accept
    /// loop runs.
    pub(crate) async fn spawn(
        listener: std::net::TcpListener,
        engine: Arc<Engine>,
        wiremock: SocketAddr,
        limits: FrontLimits,
    ) -> Result<Front> {
        let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
        let runtime = current_thread().map_err(|e| front_error("cannot start its runtime", e))?;
        listener.set_nonblocking(true).map_err(|e| front_error("cannot use its listener", e))?;
        let (health_tx, health) = watch::channel(Health::Serving);
        let (stop, stopped) = oneshot::channel();
        let (ready_tx, ready) = oneshot::channel();
        let (shards_stop, shards_stopped) = watch::channel(());
        let others = (1..limits.threads.max(1))
            .map(|n| shard::Shard::spawn(format!("fake-ct-front-{port}-{n}"), shards_stopped.clone()))
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(|e| front_error("cannot start its threads", e))?;
        let header_timeout = limits.header_timeout;
        let shared = Arc::new(Shared { engine, wiremock, header_timeout, client: forward::client() });
        let connections = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        let thread = std::thread::Builder::new().name(format!("fake-ct-front-{port}"));
        thread
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(e) => return drop(ready_tx.send(Err(e))),
                    };
                    let _ = ready_tx.send(Ok(()));
                    let accepting = accept::Accepting {
                        listener,
                        shared,
                        connections,
                        health: health_tx,
                        retry_for: limits.accept_retry_for,
                        shards: shard::Shards::new(others),
                    };
                    tokio::select! {
                        () = accepting.run() => {}
                        _ = stopped => {}
                    }
                });
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(|e| front_error("cannot start its thread", e))?;
        match ready.await {
            Ok(Ok(())) => Ok(Front { health, _stop: stop, _shards_stop: shards_stop }),
            Ok(Err(e)) => Err(front_error("cannot use its listener", e)),
            Err(_) => Err(Error::Network("fake CleverTap: its server thread ended at start".into())),
        }
    }

    /// The current health.
    pub(crate) fn health(&self) -> Health {
        self.health.borrow().clone()
    }

    /// A watch on the health (completes `changed()` when the fake dies).
    pub(crate) fn watch(&self) -> watch::Receiver<Health> {
        self.health.clone()
    }
}

/// A runtime for one thread of the front: each serves its connections alone, start to end.
fn current_thread() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()
}

fn front_error(what: &str, e: std::io::Error) -> Error {
    Error::Network(format!("fake CleverTap: {what}: {e}"))
}
