//! [`RunConfig`]: everything a conformance run needs, as plain data (built by `qc-harness run`).

use std::path::PathBuf;
use std::time::Duration;

use super::variants::Variant;
use crate::mapping::Settings;
use crate::qonversion::{DEFAULT_TOKEN, FixtureCatalogue};
use crate::relay::RelaySpec;

/// Follows a run's progress: [`RunConfig::progress`].
///
/// ```
/// use std::sync::{Arc, atomic::{AtomicU64, Ordering}};
/// #[derive(Debug, Default)]
/// struct Count(AtomicU64);
/// impl qc_harness::Progress for Count {
///     fn set_total(&self, _units: u64) {}
///     fn advance(&self) { self.0.fetch_add(1, Ordering::Relaxed); }
/// }
/// let mut config = qc_harness::RunConfig::new(
///     qc_harness::RelaySpec::new(qc_harness::RelayTarget::Url("http://127.0.0.1:3000".into())),
///     qc_harness::FixtureCatalogue::default(),
/// );
/// config.progress = Some(Arc::new(Count::default()));
/// ```
pub trait Progress: Send + Sync + std::fmt::Debug {
    /// The run has `units` variants and checks to go through.
    fn set_total(&self, units: u64);
    /// One more variant or check finished.
    fn advance(&self);
}

/// How a conformance run is set up.
///
/// ```
/// use qc_harness::{FixtureCatalogue, RelaySpec, RelayTarget, RunConfig, Variant};
/// let relay = RelaySpec::new(RelayTarget::Command("./target/debug/my-relay".into()));
/// let mut config = RunConfig::new(relay, FixtureCatalogue::built_in().unwrap());
/// config.variants = vec![Variant::built_in("default").unwrap()];
/// config.checks = vec!["auth.missing".into()];
/// assert_eq!(config.token, qc_harness::DEFAULT_TOKEN);
/// ```
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The relay under test.
    pub relay: RelaySpec,
    /// The fixtures and journeys to send.
    pub catalogue: FixtureCatalogue,
    /// The settings variants, in run order (one relay start each).
    pub variants: Vec<Variant>,
    /// Settings the behaviour checks start from (the declared settings with `--relay-url`).
    pub check_settings: Settings,
    /// Behaviour checks to run, by name (see [`super::checks::CHECKS`]).
    pub checks: Vec<String>,
    /// Where snapshots live; `None` = no snapshot comparison.
    pub snapshots: Option<PathBuf>,
    /// Write changed snapshots instead of failing (`--accept`); never for a failing case.
    pub accept: bool,
    /// CI mode ([`crate::snapshot::ci_mode`]): a missing snapshot fails, no `.snap.new` is written.
    pub ci: bool,
    /// SHOULD checks fail the run (`--strict`).
    pub strict: bool,
    /// Extra keys in records are tolerated (`--allow-extra-keys`).
    pub allow_extra_keys: bool,
    /// How records are compared (strict by default; partial for a relay that maps only some
    /// fields). `allow_extra_keys` turns a strict comparison into
    /// [`Comparison::AllowExtraKeys`].
    pub comparison: super::Comparison,
    /// Variants and checks run at the same time (`--jobs`).
    pub jobs: usize,
    /// Longest wait for the records of one case or check (`--timeout`).
    pub timeout: Duration,
    /// Quiet time after the expected records arrived, to catch extras and duplicates.
    pub settle: Duration,
    /// The webhook token (`Authorization: Basic <token>`).
    pub token: String,
    /// Told how many variants and checks there are and when each one ends (the CLI passes
    /// a progress bar, on a terminal only).
    pub progress: Option<std::sync::Arc<dyn Progress>>,
    /// Also stop at Ctrl-C, listening to SIGINT itself (off by default; the CLI leaves it
    /// off and owns the signals through [`cancel`](Self::cancel) instead).
    pub handle_interrupt: bool,
    /// The whole run's plan when this run is one shard of it ([`RunConfig::keep_shard`]).
    pub shard_plan: Option<super::partition::RunPlan>,
    /// Cancelling this token stops the run: the relays are stopped and the outcome of what
    /// finished comes back, marked interrupted.
    pub cancel: tokio_util::sync::CancellationToken,
}

impl RunConfig {
    /// A run of every built-in variant and check over `catalogue` against `relay`, with
    /// snapshots off; adjust the fields as needed.
    pub fn new(relay: RelaySpec, catalogue: FixtureCatalogue) -> Self {
        RunConfig {
            relay,
            catalogue,
            variants: super::variants::select_built_in(None).unwrap_or_default(),
            check_settings: Settings::default(),
            checks: super::checks::CHECKS.iter().map(|c| c.name.to_string()).collect(),
            snapshots: None,
            accept: false,
            ci: false,
            strict: false,
            allow_extra_keys: false,
            comparison: super::Comparison::Strict,
            jobs: default_jobs(),
            timeout: Duration::from_secs(10),
            settle: Duration::from_millis(150),
            token: DEFAULT_TOKEN.to_string(),
            progress: None,
            handle_interrupt: false,
            shard_plan: None,
            cancel: tokio_util::sync::CancellationToken::new(),
        }
    }
}

impl RunConfig {
    /// The comparison the mapping cases use: [`comparison`](Self::comparison), made
    /// tolerant of extra keys by `allow_extra_keys`.
    pub fn effective_comparison(&self) -> super::Comparison {
        match &self.comparison {
            super::Comparison::Strict if self.allow_extra_keys => super::Comparison::AllowExtraKeys,
            other => other.clone(),
        }
    }
}

/// Default `--jobs`: 4 per core, at least 4 (relays mostly wait on the network).
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map(|n| n.get() * 4).unwrap_or(8).max(4)
}
