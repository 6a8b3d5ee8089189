//! In-process relays: a Rust relay that the harness starts inside the test process, once per
//! unit (variant or behaviour check), through a [`RelayAdapter`].
//!
//! The harness binds a port-0 listener on 127.0.0.1 and hands it to the adapter with the
//! fake CleverTap's URL and credentials, the unit's settings and the webhook token
//! ([`RelaySetup`]). The adapter starts serving on it and returns a [`RelayHandle`] that stops
//! the relay when dropped (or, gracefully, through [`RelayHandle::stop`]).

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{AbortHandle, JoinHandle};

use super::launch::RelayLaunch;
use crate::error::Result;

/// Everything a relay is started with for one unit of the suite.
///
/// The same values a spawned relay gets in its environment (`relay-contract.md` §1), as a
/// [`RelayLaunch`] (read through `Deref`: `setup.clevertap_url`, `setup.account_id`,
/// `setup.passcode`, `setup.region`, `setup.token`, `setup.settings`), plus the listener to
/// serve webhooks on: bound on 127.0.0.1, port 0, before the relay starts (no port race).
#[derive(Debug)]
pub struct RelaySetup {
    /// The fake CleverTap's URL, its credentials and region, the webhook token (accept
    /// `Authorization: Basic <token>`, raw) and this unit's settings (a variant's or a check's).
    pub launch: RelayLaunch,
    /// Where to serve webhooks: already bound on 127.0.0.1.
    pub listener: TcpListener,
}

impl std::ops::Deref for RelaySetup {
    type Target = RelayLaunch;

    fn deref(&self) -> &RelayLaunch {
        &self.launch
    }
}

impl RelaySetup {
    /// `<clevertap_url>/1/upload`.
    pub fn upload_url(&self) -> String {
        format!("{}/1/upload", self.launch.clevertap_url)
    }

    /// The listener's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The setup of `launch` on `listener`.
    pub(crate) fn new(launch: &RelayLaunch, listener: TcpListener) -> RelaySetup {
        RelaySetup { launch: launch.clone(), listener }
    }
}

/// Starts a Rust relay in-process for one unit of the conformance suite.
///
/// Implemented for every `Fn(RelaySetup) -> impl Future<Output = Result<RelayHandle>>`
/// closure, so an `async move` closure is enough:
///
/// ```
/// use qc_harness::relay::{RelayAdapter, RelayHandle, RelaySetup};
/// fn adapter() -> impl RelayAdapter {
///     |setup: RelaySetup| async move {
///         let app = axum::Router::new(); // the relay's routes, built from `setup`
///         Ok(RelayHandle::spawn(async move { axum::serve(setup.listener, app).await }))
///     }
/// }
/// # let _ = adapter();
/// ```
pub trait RelayAdapter: Send + Sync + 'static {
    /// Starts the relay on `setup.listener`; it must be ready to take webhooks when the
    /// future completes. An `Err` is reported as a relay that could not start (exit code 3).
    fn start(&self, setup: RelaySetup) -> impl Future<Output = Result<RelayHandle>> + Send;
}

impl<F, Fut> RelayAdapter for F
where
    F: Fn(RelaySetup) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<RelayHandle>> + Send,
{
    fn start(&self, setup: RelaySetup) -> impl Future<Output = Result<RelayHandle>> + Send {
        self(setup)
    }
}

/// [`RelayAdapter`] behind a pointer (its future boxed).
trait DynAdapter: Send + Sync {
    fn start_boxed(
        &self,
        setup: RelaySetup,
    ) -> Pin<Box<dyn Future<Output = Result<RelayHandle>> + Send + '_>>;
}

impl<A: RelayAdapter> DynAdapter for A {
    fn start_boxed(
        &self,
        setup: RelaySetup,
    ) -> Pin<Box<dyn Future<Output = Result<RelayHandle>> + Send + '_>> {
        Box::pin(self.start(setup))
    }
}

/// A [`RelayAdapter`] as a [`RelayTarget`](super::RelayTarget): cheap to clone; two are
/// equal when they share the adapter.
#[derive(Clone)]
pub struct InProcessRelay {
    adapter: Arc<dyn DynAdapter>,
    name: String,
}

impl InProcessRelay {
    /// Wraps `adapter`; `name` is how reports name the relay.
    pub fn new(adapter: impl RelayAdapter, name: impl Into<String>) -> InProcessRelay {
        InProcessRelay { adapter: Arc::new(adapter), name: name.into() }
    }

    /// How reports name the relay.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs the adapter for `setup`.
    pub(crate) async fn start(&self, setup: RelaySetup) -> Result<RelayHandle> {
        self.adapter.start_boxed(setup).await
    }
}

impl fmt::Debug for InProcessRelay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InProcessRelay({:?})", self.name)
    }
}

impl PartialEq for InProcessRelay {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.adapter, &other.adapter)
    }
}

/// How long [`RelayHandle::stop`] waits for a graceful shutdown before aborting the task.
const GRACE: Duration = Duration::from_secs(5);

/// A running in-process relay: its server task, stopped (aborted) when the handle is dropped.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use qc_harness::relay::RelayHandle;
/// let handle = RelayHandle::spawn(std::future::pending::<()>());
/// assert_eq!(handle.exit_status(), None);   // still running
/// handle.stop().await;                      // or just drop it
/// # }
/// ```
pub struct RelayHandle {
    abort: AbortHandle,
    done: JoinHandle<()>,
    exit: Arc<Mutex<Option<String>>>,
    shutdown: Option<oneshot::Sender<()>>,
    webhook_path: Option<String>,
}

impl fmt::Debug for RelayHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelayHandle").field("exit", &self.exit_status()).finish_non_exhaustive()
    }
}

impl RelayHandle {
    /// Spawns `server` (e.g. `axum::serve(listener, app)`) on the current runtime.
    pub fn spawn<F>(server: F) -> RelayHandle
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        RelayHandle::from_task(tokio::spawn(server))
    }

    /// Takes over a spawned server task: aborted when the handle is dropped.
    pub fn from_task<T: Send + 'static>(task: JoinHandle<T>) -> RelayHandle {
        let abort = task.abort_handle();
        let exit = Arc::new(Mutex::new(None));
        let seen = exit.clone();
        let done = tokio::spawn(async move {
            let status = match task.await {
                Ok(_) => Some("stopped on its own".to_string()),
                Err(e) if e.is_panic() => Some(format!("panicked: {}", panic_text(e.into_panic()))),
                Err(_) => None,
            };
            *seen.lock().unwrap_or_else(|p| p.into_inner()) = status;
        });
        RelayHandle { abort, done, exit, shutdown: None, webhook_path: None }
    }

    /// A sender whose message (or drop) asks the relay to shut down gracefully;
    /// [`stop`](Self::stop) sends it and waits up to 5 s before aborting the task.
    pub fn with_shutdown(mut self, shutdown: oneshot::Sender<()>) -> RelayHandle {
        self.shutdown = Some(shutdown);
        self
    }

    /// The path webhooks are POSTed to, when not the suite's (default `/webhook`).
    pub fn webhook_path(mut self, path: impl Into<String>) -> RelayHandle {
        self.webhook_path = Some(path.into());
        self
    }

    /// The webhook path set by [`webhook_path`](Self::webhook_path).
    pub(crate) fn path(&self) -> Option<&str> {
        self.webhook_path.as_deref()
    }

    /// `Some("panicked: ...")` or `Some("stopped on its own")` once the server task ended
    /// by itself; `None` while it runs (or after it was stopped).
    pub fn exit_status(&self) -> Option<String> {
        self.exit.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Stops the relay: the shutdown signal if one was given (waiting up to 5 s), then an
    /// abort; returns when the task is gone.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
            if tokio::time::timeout(GRACE, &mut self.done).await.is_ok() {
                return;
            }
        }
        self.abort.abort();
        let _ = (&mut self.done).await;
    }
}

impl Drop for RelayHandle {
    fn drop(&mut self) {
        self.abort.abort();
    }
}

fn panic_text(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload.downcast_ref::<&str>().map_or("(no message)".to_string(), |s| s.to_string()),
    }
}

/// Binds a port-0 listener, runs the adapter within the start-up timeout, and probes the
/// ready path when the spec has one.
pub(crate) async fn start(
    relay: &InProcessRelay,
    spec: &super::RelaySpec,
    launch: &RelayLaunch,
) -> Result<super::RunningRelay> {
    let not_started = |message: String| crate::Error::Relay { message, tail: String::new() };
    let listener = TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(|e| crate::Error::Network(format!("in-process relay: cannot bind 127.0.0.1:0: {e}")))?;
    let addr = listener.local_addr().map_err(|e| crate::Error::Network(format!("in-process relay: {e}")))?;
    let started = tokio::time::timeout(spec.startup_timeout, relay.start(RelaySetup::new(launch, listener)));
    let handle = match started.await {
        Ok(Ok(handle)) => handle,
        Ok(Err(e)) => {
            return Err(not_started(format!("the in-process relay {:?} did not start: {e}", relay.name)));
        }
        Err(_) => {
            return Err(not_started(format!(
                "the in-process relay {:?} did not start within the start-up timeout of {:.1} s",
                relay.name,
                spec.startup_timeout.as_secs_f64()
            )));
        }
    };
    let base_url = format!("http://{addr}");
    if let Some(path) = &spec.ready_path {
        super::url::attach(&base_url, &super::RelaySpec { ready_path: Some(path.clone()), ..spec.clone() })
            .await?;
    }
    let webhook_path = handle.path().map_or_else(|| spec.webhook_path.clone(), str::to_string);
    Ok(super::RunningRelay {
        base_url,
        webhook_path,
        runner: super::Runner::InProcess(Box::new(handle)),
        _settings_dir: None,
        _port: None,
    })
}
