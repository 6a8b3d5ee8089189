//! Reaching the system under test: a command, a running URL, or a JSON-lines process.
//!
//! [`start_relay`] turns a [`RelaySpec`] into a [`RunningRelay`]: it spawns a command (or
//! the built-in reference relay) with the contract's environment, or attaches to a URL,
//! and waits until the relay is ready (`relay-contract.md` §1).
//!
//! ```no_run
//! # async fn demo() -> qc_harness::Result<()> {
//! use qc_harness::Settings;
//! use qc_harness::relay::{RelayLaunch, RelaySpec, RelayTarget, start_relay};
//! let spec = RelaySpec::new(RelayTarget::Command("python3 relay.py".into()));
//! let launch = RelayLaunch::new("http://127.0.0.1:8080", Settings::default());
//! let relay = start_relay(&spec, launch).await?;
//! println!("webhooks go to {}", relay.webhook_url());
//! relay.stop().await?;
//! # Ok(()) }
//! ```

pub mod group;
pub mod in_process;
mod launch;
pub mod lines;
mod port;
mod port_claim;
mod process;
mod ready;
mod signals;
#[cfg(target_os = "linux")]
mod sock_diag;
pub mod spec;
mod tail;
mod url;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Instant;

pub use group::{MARKER_ENV, become_subreaper, group_members, kill_all_relays, marked_processes};
pub use in_process::{InProcessRelay, RelayAdapter, RelayHandle, RelaySetup};
pub use launch::RelayLaunch;
pub use lines::LinesRelay;
use process::RelayProcess;
use ready::Probe;
pub use signals::{Escalate, ShutdownSignals};
pub use spec::{RelaySpec, RelayTarget};
pub use tail::OutputTail;

use crate::error::{Error, Result};

/// A relay the harness can send webhooks to; a spawned one is stopped by [`stop`](Self::stop)
/// or, at the latest, killed (with its whole process group) when this value is dropped.
#[derive(Debug)]
pub struct RunningRelay {
    base_url: String,
    webhook_path: String,
    runner: Runner,
    /// Holds the settings file for the relay's lifetime.
    _settings_dir: Option<RelayFolder>,
    /// Holds a spawned relay's port against other harness processes for its lifetime.
    _port: Option<port_claim::PortClaim>,
}

impl RunningRelay {
    /// Where webhooks are POSTed: base URL + webhook path.
    pub fn webhook_url(&self) -> String {
        format!("{}{}", self.base_url, self.webhook_path)
    }

    /// `http://127.0.0.1:PORT` for a spawned relay, the given URL for an attached one.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The last lines the relay printed on stdout and stderr (empty for `--relay-url` and
    /// in-process relays, whose output is the test process's own).
    pub fn output_tail(&self) -> String {
        match &self.runner {
            Runner::Spawned(process) => process.tail(),
            Runner::InProcess(_) | Runner::Attached => String::new(),
        }
    }

    /// `Some("exited with code 1")` once a spawned relay has exited (`Some("panicked: ...")`
    /// for an in-process one); `None` while it runs (and always for `--relay-url`).
    pub fn exit_status(&self) -> Option<String> {
        match &self.runner {
            Runner::Spawned(process) => process.exit_status(),
            Runner::InProcess(handle) => handle.exit_status(),
            Runner::Attached => None,
        }
    }

    /// The relay's process group id (`None` for `--relay-url`).
    pub fn process_group(&self) -> Option<i32> {
        match &self.runner {
            Runner::Spawned(process) => Some(process.pgid()),
            Runner::InProcess(_) | Runner::Attached => None,
        }
    }

    /// An [`Error::Relay`] about this relay: `message`, how it exited if it did, its output tail.
    pub fn error(&self, message: impl Into<String>) -> Error {
        let mut message = message.into();
        if let Some(status) = self.exit_status() {
            message = format!("{message} (the relay {status})");
        }
        Error::Relay { message, tail: self.output_tail() }
    }

    /// Stops a spawned relay: SIGTERM to its process group, SIGKILL after 5 s; returns once
    /// no process of the group is left. Stops an in-process relay through its
    /// [`RelayHandle::stop`]. Does nothing for `--relay-url`.
    pub async fn stop(mut self) -> Result<()> {
        match std::mem::replace(&mut self.runner, Runner::Attached) {
            Runner::Spawned(mut process) => process.stop().await,
            Runner::InProcess(handle) => {
                handle.stop().await;
                Ok(())
            }
            Runner::Attached => Ok(()),
        }
    }
}

/// What runs the relay, and is stopped with it.
#[derive(Debug)]
enum Runner {
    /// A spawned process group (`--relay-cmd`, the built-in relay).
    Spawned(RelayProcess),
    /// An in-process relay's server task ([`RelayTarget::InProcess`]).
    InProcess(Box<RelayHandle>),
    /// Nothing: the user runs it (`--relay-url`).
    Attached,
}

/// Starts (or attaches to) the relay of `spec` and waits until it is ready.
///
/// - [`RelayTarget::Command`]: `sh -c COMMAND` in its own process group, with the
///   contract's environment and `{placeholders}` from `launch`, a free port, and the
///   settings written to a file in a temporary directory.
/// - [`RelayTarget::BuiltIn`]: `'<exe>' reference-relay`, exactly like a command (its
///   readiness probe defaults to `GET /health`).
/// - [`RelayTarget::InProcess`]: a port-0 listener is bound on 127.0.0.1 and handed to the
///   [`RelayAdapter`], which must start within the start-up timeout.
/// - [`RelayTarget::Url`]: nothing is spawned; the URL must be reachable within the
///   start-up timeout.
/// - [`RelayTarget::Lines`] is not an HTTP relay: a usage error (use the JSON-lines adapter).
///
/// Errors are [`Error::Relay`] with the relay's output tail (exit code 3).
pub async fn start_relay(spec: &RelaySpec, launch: RelayLaunch) -> Result<RunningRelay> {
    match &spec.target {
        RelayTarget::Command(command) => spawn_and_wait(command, spec, &launch, false).await,
        RelayTarget::BuiltIn { exe } => {
            let command = format!("{} reference-relay", shell_quote(&exe.display().to_string()));
            spawn_and_wait(&command, spec, &launch, true).await
        }
        RelayTarget::InProcess(relay) => in_process::start(relay, spec, &launch).await,
        RelayTarget::Url(url) => Ok(RunningRelay {
            base_url: url::attach(url, spec).await?,
            webhook_path: spec.webhook_path.clone(),
            runner: Runner::Attached,
            _settings_dir: None,
            _port: None,
        }),
        RelayTarget::Lines(_) => Err(Error::Usage(
            "--relay-lines is a mapping-only adapter (JSON lines over stdin/stdout), not an HTTP relay; \
             it works with `qc-harness prop` only"
                .into(),
        )),
    }
}

/// Spawns and waits for readiness. The free port is only free "a moment ago": when the
/// relay exits at start saying its address is in use, it is started again on another port.
async fn spawn_and_wait(
    command: &str,
    spec: &RelaySpec,
    launch: &RelayLaunch,
    built_in: bool,
) -> Result<RunningRelay> {
    let mut attempt = 1;
    loop {
        match spawn_once(command, spec, launch, built_in).await {
            Err(Error::Relay { message, tail })
                if attempt < PORT_ATTEMPTS && lost_the_port(&message, &tail) =>
            {
                tracing::debug!("relay lost its port to another process, retrying: {message}");
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// How many ports a relay is tried on.
const PORT_ATTEMPTS: u32 = 3;

/// The end of the message when the relay exits at start.
const NOT_READY: &str = "before it was ready";

/// The start of the message when another process answered on the relay's port.
const LOST_PORT: &str = "the relay lost its port";

/// The relay exited at start because its port was taken, or another process serves it.
fn lost_the_port(message: &str, tail: &str) -> bool {
    let tail = tail.to_ascii_lowercase();
    message.starts_with(LOST_PORT)
        || (message.contains(NOT_READY)
            && (tail.contains("address already in use") || tail.contains("eaddrinuse")))
}

async fn spawn_once(
    command: &str,
    spec: &RelaySpec,
    launch: &RelayLaunch,
    built_in: bool,
) -> Result<RunningRelay> {
    let settings_dir = write_settings(launch)?;
    let settings_file = settings_dir.path().join("settings.json");
    let claim = port::free_port()?;
    let port = claim.port();
    let mut env = launch.environment(port, &settings_file);
    let mut ready_path = spec.ready_path.clone();
    if built_in {
        env.push(("WEBHOOK_PATH", spec.webhook_path.clone()));
        ready_path.get_or_insert_with(|| "/health".to_string());
    }
    let command = launch.substitute(command, port, &settings_file);
    let process = RelayProcess::spawn(&command, &env)?;
    let relay = RunningRelay {
        base_url: format!("http://127.0.0.1:{port}"),
        webhook_path: spec.webhook_path.clone(),
        runner: Runner::Spawned(process),
        _settings_dir: Some(settings_dir),
        _port: Some(claim),
    };
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let probe = Probe::new(&relay.base_url, ready_path.as_deref(), addr);
    wait_ready(&relay, &probe, spec).await?;
    let Runner::Spawned(process) = &relay.runner else { unreachable!("spawned just above") };
    if port::served_by_another_program(process.pgid(), process.marker(), port) {
        return Err(relay.error(format!("{LOST_PORT}: port {port} is served by another program")));
    }
    Ok(relay)
}

/// Probes until ready; fails when the relay exits first or the start-up timeout passes.
/// On failure the relay is dropped, which kills its process group.
async fn wait_ready(relay: &RunningRelay, probe: &Probe, spec: &RelaySpec) -> Result<()> {
    let Runner::Spawned(process) = &relay.runner else {
        return Ok(()); // only spawned relays are waited for here
    };
    let start = Instant::now();
    loop {
        if process.exit_status().is_some() {
            process.drain_output().await;
            let status = process.exit_status().unwrap_or_default();
            return Err(Error::Relay {
                message: format!("the relay {status} {NOT_READY}"),
                tail: process.tail(),
            });
        }
        let why = match probe.check().await {
            Ok(()) => {
                tracing::debug!("relay ready after {:?}", start.elapsed());
                return Ok(());
            }
            Err(why) => why,
        };
        if start.elapsed() >= spec.startup_timeout {
            return Err(relay.error(format!(
                "the relay was not ready within the start-up timeout of {:.1} s: {} (last probe: {why})",
                spec.startup_timeout.as_secs_f64(),
                probe.describe()
            )));
        }
        // Wake early when the relay exits, else probe again shortly.
        process.wait_exit(std::time::Duration::from_millis(20)).await;
    }
}

fn write_settings(launch: &RelayLaunch) -> Result<RelayFolder> {
    let dir = tempfile::Builder::new()
        .prefix("qc-harness-relay-")
        .tempdir()
        .map_err(|e| Error::io(std::env::temp_dir(), e))?;
    let folder = RelayFolder::new(dir);
    let file = folder.path().join("settings.json");
    std::fs::write(&file, launch.settings.to_json_pretty()).map_err(|e| Error::io(&file, e))?;
    Ok(folder)
}

/// A relay's temporary folder (its settings file): removed when dropped, and by
/// [`kill_all_relays`] when the process exits on a signal (which drops nothing).
struct RelayFolder(tempfile::TempDir);

impl RelayFolder {
    fn new(dir: tempfile::TempDir) -> RelayFolder {
        group::register_folder(dir.path());
        RelayFolder(dir)
    }

    fn path(&self) -> &std::path::Path {
        self.0.path()
    }
}

impl Drop for RelayFolder {
    fn drop(&mut self) {
        group::unregister_folder(self.0.path()); // the `TempDir` then removes the folder
    }
}

impl std::fmt::Debug for RelayFolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("RelayFolder").field(&self.0.path()).finish()
    }
}

/// `'text'` with embedded single quotes escaped, for `sh -c`.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}
