//! `qc-harness dev`: a live web view of both fakes around a running relay.
//!
//! [`DevServer::start`] starts the fake CleverTap, the relay (spawned, or attached with
//! `--relay-url`) and a small web server on loopback. The page (plain HTML/CSS/JS embedded
//! in the binary) shows every webhook sent and the relay's answer, every upload and record
//! the fake received with its outcome in words, the reference record and the field-level
//! differences (the words of the `run` report), and the relay's recent output. From it a
//! developer sends fixtures and journeys, switches settings variants, injects faults and
//! downloads or clears the journal. Everything goes through the JSON API under `/api`
//! (`docs/dev.md`); changes are pushed to the page as Server-Sent Events (`/api/events`).
//!
//! ```no_run
//! # async fn demo() -> qc_harness::Result<()> {
//! use qc_harness::dev::{DevConfig, DevServer};
//! use qc_harness::relay::{RelaySpec, RelayTarget};
//! let spec = RelaySpec::new(RelayTarget::Command("python3 relay.py".into()));
//! let server = DevServer::start(DevConfig::new(spec)).await?;
//! println!("open {}", server.url());
//! server.stop().await?;
//! # Ok(()) }
//! ```

mod api;
mod api_error;
mod assets;
pub mod faults;
mod guard;
pub mod records;
pub mod redact;
pub mod relay_slot;
mod send;
mod sse;
pub mod state;
pub mod webhooks;
pub mod words;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

pub use api_error::ApiError;
pub use send::{JourneyRequest, SendRequest};
pub use state::{DevEvent, DevState};

use crate::clevertap::FakeCleverTap;
use crate::conformance::{BUILT_IN_VARIANTS, Variant};
use crate::error::{Error, Result};
use crate::mapping::Settings;
use crate::qonversion::DEFAULT_TOKEN;
use crate::qonversion::FixtureCatalogue;
use crate::relay::{RelayLaunch, RelaySpec};
use redact::Redactor;
use relay_slot::RelaySlot;
use state::Parts;

/// Where the page listens unless `--listen` says otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8700";
/// How long [`DevServer::stop`] waits for open connections to close.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// What `dev` runs.
#[derive(Debug, Clone)]
pub struct DevConfig {
    /// The relay, as `run` takes it.
    pub relay: RelaySpec,
    /// The page's address (port 0: any free port).
    pub listen: SocketAddr,
    /// The webhook token given to (or, with `--relay-url`, expected by) the relay.
    pub token: String,
    /// Fixtures and journeys the page offers.
    pub catalogue: FixtureCatalogue,
}

impl DevConfig {
    /// Loopback on a free port, the default token, the built-in catalogue.
    pub fn new(relay: RelaySpec) -> DevConfig {
        DevConfig {
            relay,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: DEFAULT_TOKEN.to_string(),
            catalogue: FixtureCatalogue::built_in().unwrap_or_default(),
        }
    }
}

/// A running `dev` session. Dropping it closes the page and stops the relay.
#[derive(Debug)]
pub struct DevServer {
    address: SocketAddr,
    state: Arc<DevState>,
    server: Option<tokio::task::JoinHandle<()>>,
}

impl DevServer {
    /// Starts the fake CleverTap, the relay and the page; returns once the page is served.
    ///
    /// Errors: the address cannot be bound or a settings file is bad (exit code 2), the
    /// relay cannot start (exit code 3, with its output).
    pub async fn start(config: DevConfig) -> Result<DevServer> {
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| Error::Usage(format!("--listen {}: cannot listen there: {e}", config.listen)))?;
        let address = listener
            .local_addr()
            .map_err(|e| Error::Network(format!("the page's address is unknown: {e}")))?;
        let variants = variants(&config.relay)?;
        let mut builder = FakeCleverTap::builder();
        if let Some(listen) = config.relay.clevertap_listen {
            builder = builder.listen(listen);
        }
        let fake = builder.start().await?;
        let launch =
            RelayLaunch { token: config.token.clone(), ..RelayLaunch::new(fake.uri(), Settings::default()) };
        let redactor =
            Redactor::new([fake.passcode().to_string(), launch.passcode.clone(), config.token.clone()]);
        let relay = RelaySlot::new(config.relay.clone(), launch, redactor.clone());
        let parts =
            Parts { fake, relay, catalogue: config.catalogue, variants, redactor, token: config.token };
        let state = Arc::new(DevState::new(parts));
        state.relay.start(&state.variant().settings).await?;
        tokio::spawn(sse::watch_journal(state.clone(), state.closing()));
        tokio::spawn(sse::watch_relay(state.clone(), state.closing()));
        let mut closing = state.closing();
        let app = api::router(state.clone());
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = closing.wait_for(|closed| *closed).await;
            };
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
                tracing::warn!("the dev page server stopped: {e}");
            }
        });
        Ok(DevServer { address, state, server: Some(server) })
    }

    /// `http://ADDRESS/`: the page.
    pub fn url(&self) -> String {
        format!("http://{}/", self.address)
    }

    /// The page's bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The shared state (the fake CleverTap, the relay, the webhooks sent).
    pub fn state(&self) -> &Arc<DevState> {
        &self.state
    }

    /// Closes the page and its event streams, and stops the relay's process group.
    pub async fn stop(mut self) -> Result<()> {
        self.state.close();
        let stopped = self.state.relay.stop().await;
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(STOP_GRACE, server).await;
        }
        stopped
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        self.state.close();
    }
}

/// The variants the page offers, the current one first: the `--settings` file (when
/// given), then the built-in ones. A `--relay-url` relay has only its own settings.
fn variants(spec: &RelaySpec) -> Result<Vec<Variant>> {
    let own = match &spec.settings {
        Some(path) => Some(Variant::from_file(&variant_name(path), path)?),
        None => None,
    };
    if spec.is_attached() {
        let default = || Variant::built_in("default").expect("the default variant exists");
        return Ok(vec![own.unwrap_or_else(default)]);
    }
    let built_in = BUILT_IN_VARIANTS.iter().filter_map(|name| Variant::built_in(name));
    Ok(own.into_iter().chain(built_in).collect())
}

/// A variant name for a settings file: its stem in safe characters, never a built-in name.
fn variant_name(path: &Path) -> String {
    let file = path.file_name().map(|f| f.to_string_lossy().to_string()).unwrap_or_default();
    let stem = file.strip_suffix(".json").unwrap_or(&file);
    let safe: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
        .collect();
    let safe = if safe.is_empty() { "settings".to_string() } else { safe };
    if BUILT_IN_VARIANTS.contains(&safe.as_str()) { format!("{safe}-file") } else { safe }
}
