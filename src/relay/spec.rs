//! [`RelaySpec`]: which relay to drive and how (`relay-contract.md` §1 and §5).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// Where the relay under test comes from.
///
/// ```
/// use qc_harness::{RelaySpec, RelayTarget};
/// // `{port}` and the other placeholders are filled in; the same values are in the environment.
/// let spawned = RelaySpec::new(RelayTarget::Command("python3 relay.py --port {port}".into()));
/// let attached = RelaySpec::new(RelayTarget::Url("http://127.0.0.1:3000".into()));
/// assert_ne!(spawned.target, attached.target);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum RelayTarget {
    /// The built-in reference relay: `<exe> reference-relay`, spawned like any command.
    BuiltIn {
        /// Path of the `qc-harness` binary.
        exe: PathBuf,
    },
    /// `--relay-cmd`: run through `sh -c` in its own process group.
    Command(String),
    /// `--relay-url`: already running, started by the user.
    Url(String),
    /// `--relay-lines`: the JSON-lines mapping adapter (`prop` only).
    Lines(String),
    /// A Rust relay started inside the test process through a
    /// [`RelayAdapter`](super::RelayAdapter), once per unit like a command
    /// ([`crate::conformance::Suite`]).
    InProcess(super::InProcessRelay),
}

impl RelayTarget {
    /// The relay runs already, started by the user (`--relay-url`): the harness cannot
    /// start it per unit nor give it settings. This one question decides every
    /// `--relay-url` special case: one shared fake CleverTap (on `--clevertap-listen`) and
    /// one unit at a time ([`crate::conformance::bench::BenchPool`]), only the declared
    /// `--settings` as variant (`run`, `dev`, `prop`), checks that need other settings
    /// skipped, and per-run `user_id`s so that the relay does not deduplicate across runs.
    /// Every other target is started per unit, with each unit's settings.
    pub fn is_attached(&self) -> bool {
        matches!(self, RelayTarget::Url(_))
    }

    /// How reports name the relay: `built-in reference relay`, `--relay-cmd CMD`,
    /// `--relay-url URL`, `--relay-lines CMD` or `in-process relay NAME`.
    pub fn describe(&self) -> String {
        match self {
            RelayTarget::BuiltIn { .. } => "built-in reference relay".to_string(),
            RelayTarget::Command(command) => format!("--relay-cmd {command}"),
            RelayTarget::Url(url) => format!("--relay-url {url}"),
            RelayTarget::Lines(command) => format!("--relay-lines {command}"),
            RelayTarget::InProcess(relay) => format!("in-process relay {}", relay.name()),
        }
    }
}

/// How to attach and talk to a relay; built once from the command line.
///
/// ```
/// use std::time::Duration;
/// let mut spec = qc_harness::RelaySpec::new(qc_harness::RelayTarget::Command("node relay.js".into()));
/// spec.webhook_path = "/hooks/qonversion".into();
/// spec.ready_path = Some("/health".into());
/// spec.startup_timeout = Duration::from_secs(30);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RelaySpec {
    /// The relay.
    pub target: RelayTarget,
    /// Path webhooks are POSTed to (default `/webhook`).
    pub webhook_path: String,
    /// Readiness path; `None` = the TCP port accepts a connection.
    pub ready_path: Option<String>,
    /// How long the relay may take to become ready (default 10 s).
    pub startup_timeout: Duration,
    /// `--settings`: the relay's declared settings (`--relay-url`) or an extra variant.
    pub settings: Option<PathBuf>,
    /// `--clevertap-listen`: where the fake CleverTap listens (needed with `--relay-url`).
    pub clevertap_listen: Option<SocketAddr>,
}

impl RelaySpec {
    /// A spec with the documented defaults for `target`.
    pub fn new(target: RelayTarget) -> Self {
        RelaySpec {
            target,
            webhook_path: "/webhook".to_string(),
            ready_path: None,
            startup_timeout: Duration::from_secs(10),
            settings: None,
            clevertap_listen: None,
        }
    }

    /// The built-in reference relay, spawned from the `qc-harness` binary at `exe`.
    pub fn built_in(exe: impl Into<PathBuf>) -> Self {
        Self::new(RelayTarget::BuiltIn { exe: exe.into() })
    }

    /// An in-process Rust relay started by `adapter` ([`RelayTarget::InProcess`]).
    pub fn in_process(adapter: impl super::RelayAdapter, name: impl Into<String>) -> Self {
        Self::new(RelayTarget::InProcess(super::InProcessRelay::new(adapter, name)))
    }

    /// See [`RelayTarget::is_attached`].
    pub fn is_attached(&self) -> bool {
        self.target.is_attached()
    }
}
