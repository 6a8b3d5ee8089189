//! The built-in reference relay (`qc-harness reference-relay`).
//!
//! A production-quality Qonversion → CleverTap relay, configured only through the
//! environment of `relay-contract.md` §1 ([`RelayConfig`]), so the harness drives it
//! exactly like a foreign relay. It meets every MUST and SHOULD of the contract's §4:
//!
//! - **auth**: `Authorization: Basic <token>` (raw token), else 401 and nothing uploaded;
//! - **mapping**: the reference mapping ([`crate::mapping::map_event`]);
//! - **acknowledgement**: 400 for a body that is not a JSON object (or a known event
//!   whose fields have the wrong types: the message names the JSON path); 2xx for skipped,
//!   unknown, disabled, sandbox and `subscription_downgraded` events;
//! - **delivery**: one upload per event, retried on 429, 5xx and connection errors with
//!   exponential backoff and jitter, honouring `Retry-After` (seconds); the webhook is
//!   answered 2xx only after the upload succeeded, 503 when the retries ran out (so
//!   Qonversion redelivers);
//! - **idempotency**: redeliveries, keyed on (`event_name`, `user_id`,
//!   `transaction.transaction_id`, `time`), are uploaded once (bounded memory);
//! - **concurrency**: at most 15 uploads in flight;
//! - **per-record errors**: a record CleverTap lists in `unprocessed` is sent at most 3 times;
//! - **shutdown**: SIGTERM/SIGINT stop accepting webhooks and finish the uploads in flight.

mod config;
mod dedup;
mod tracker;
mod upload;
mod webhook;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

pub use config::{REGIONS, RelayConfig, default_url};
pub use dedup::{Deliveries, REMEMBERED_KEYS, delivery_key};
pub use upload::{MAX_IN_FLIGHT, RetryPolicy, UploadOutcome, Uploader};

use crate::error::{Error, Result};

/// How long a shutdown waits for deliveries in progress.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(25);

/// Runs the relay until SIGTERM or SIGINT, then finishes the deliveries in progress.
pub async fn run(config: RelayConfig) -> Result<()> {
    serve(config, shutdown_signal()).await
}

/// Runs the relay until `shutdown` completes, then finishes the deliveries in progress.
pub async fn serve(config: RelayConfig, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, config.port));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Network(format!("reference-relay: cannot listen on {addr} (PORT): {e}")))?;
    serve_on(listener, config, shutdown).await
}

/// [`serve`] on a listener bound already (`config.port` is not used): the reference relay
/// in-process, e.g. under [`crate::conformance::Suite`].
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    config: RelayConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let addr = listener.local_addr().map_err(|e| Error::Network(format!("reference-relay: {e}")))?;
    let relay = Arc::new(webhook::Relay {
        token: config.token.clone(),
        settings: config.settings.clone(),
        uploader: Uploader::new(
            &config.clevertap_url,
            &config.account_id,
            &config.passcode,
            RetryPolicy::default(),
        ),
        deliveries: Deliveries::new(REMEMBERED_KEYS),
        tracker: Default::default(),
    });
    let tracker = relay.tracker.clone();
    let app = webhook::router(relay, &config.webhook_path);
    eprintln!(
        "reference-relay: listening on http://{addr}{} (health: /health), uploading to {}/1/upload \
         for account {} ({} settings)",
        config.webhook_path,
        config.clevertap_url,
        config.account_id,
        config.settings_file.as_ref().map_or("default".to_string(), |p| p.display().to_string()),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(|e| Error::Network(format!("reference-relay: server error: {e}")))?;
    let active = tracker.active();
    if active > 0 {
        eprintln!("reference-relay: shutting down, finishing {active} upload(s) in flight");
    }
    if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait_idle()).await.is_err() {
        eprintln!(
            "reference-relay: gave up waiting for {} upload(s) after {SHUTDOWN_GRACE:?}",
            tracker.active()
        );
    }
    eprintln!("reference-relay: stopped");
    Ok(())
}

/// Completes on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        std::future::pending::<()>().await;
        return;
    };
    let name = tokio::select! {
        _ = term.recv() => "SIGTERM",
        _ = int.recv() => "SIGINT",
    };
    eprintln!("reference-relay: {name} received, stopping");
}
