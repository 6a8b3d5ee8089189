//! [`Suite`]: the whole conformance suite against a Rust relay started in-process, from the
//! relay's own `cargo test`.
//!
//! Every unit of the run (each settings variant, each behaviour check) gets its own fake
//! CleverTap and its own relay, started by the [`RelayAdapter`] with that unit's settings,
//! exactly as `qc-harness run --relay-cmd` starts a command per unit: nothing is skipped.

use std::time::Duration;

use super::comparison::Comparison;
use super::config::RunConfig;
use super::outcome::RunOutcome;
use super::partition::Partition;
use super::variants::{Variant, add_user_variants, select_built_in};
use crate::error::{Error, Result};
use crate::mapping::Settings;
use crate::qonversion::FixtureCatalogue;
use crate::relay::{RelayAdapter, RelaySpec};

/// The conformance suite for an in-process relay: a builder, then [`run`](Suite::run).
///
/// By default: every built-in variant and check, the built-in fixtures, strict comparison,
/// no snapshots, a 10 s timeout per case or check. Options mirror `qc-harness run`'s flags.
///
/// ```
/// # #[tokio::main] async fn main() -> qc_harness::Result<()> {
/// use qc_harness::conformance::Suite;
/// use qc_harness::relay::{RelayHandle, RelaySetup};
/// // A "relay" that answers nothing: the suite fails, and says why.
/// let outcome = Suite::new(|setup: RelaySetup| async move {
///     Ok(RelayHandle::spawn(async move { let _keep = setup.listener; std::future::pending::<()>().await }))
/// })
/// .variants(["default"])
/// .checks("none")
/// .timeout(std::time::Duration::from_millis(300))
/// .run()
/// .await?;
/// assert!(!outcome.passed());
/// # Ok(()) }
/// ```
pub struct Suite {
    config: RunConfig,
    /// The shard to keep, applied when the run starts.
    partition: Option<Partition>,
    /// The first bad option, reported by [`run`](Suite::run) (builders do not fail).
    error: Option<Error>,
}

impl std::fmt::Debug for Suite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Suite").field("relay", &self.config.relay.target).finish_non_exhaustive()
    }
}

impl Suite {
    /// The suite for the relay `adapter` starts (named `in-process` in reports).
    pub fn new(adapter: impl RelayAdapter) -> Suite {
        Suite::named(adapter, "in-process")
    }

    /// [`Suite::new`], with the name reports give the relay.
    pub fn named(adapter: impl RelayAdapter, name: impl Into<String>) -> Suite {
        let (catalogue, error) = match FixtureCatalogue::built_in() {
            Ok(catalogue) => (catalogue, None),
            Err(e) => (FixtureCatalogue::default(), Some(e)),
        };
        let mut config = RunConfig::new(RelaySpec::in_process(adapter, name), catalogue);
        config.snapshots = None;
        Suite { config, partition: None, error }
    }

    fn fail(mut self, error: Error) -> Suite {
        self.error.get_or_insert(error);
        self
    }

    /// Only these built-in variants (`default`, `gross`, ...; `qc-harness run --variants`).
    pub fn variants<I, S>(mut self, names: I) -> Suite
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let list: Vec<String> = names.into_iter().map(|n| n.as_ref().to_string()).collect();
        let list = if list.is_empty() { "none".to_string() } else { list.join(",") };
        match select_built_in(Some(&list)) {
            Ok(variants) => self.config.variants = variants,
            Err(e) => return self.fail(e),
        }
        self
    }

    /// Adds a variant with your own settings (`--variant-file NAME=FILE`).
    pub fn variant(mut self, name: &str, settings: Settings) -> Suite {
        let variant = Variant { name: name.to_string(), settings, origin: "Suite::variant".to_string() };
        match add_user_variants(&mut self.config.variants, vec![variant]) {
            Ok(()) => self,
            Err(e) => self.fail(e),
        }
    }

    /// Only these behaviour checks: names or groups, `all` or `none` (`--checks`).
    pub fn checks(mut self, list: &str) -> Suite {
        match super::checks::select_checks(Some(list)) {
            Ok(checks) => self.config.checks = checks,
            Err(e) => return self.fail(e),
        }
        self
    }

    /// The settings the behaviour checks start from (default: [`Settings::default`]).
    pub fn check_settings(mut self, settings: Settings) -> Suite {
        self.config.check_settings = settings;
        self
    }

    /// The fixtures and journeys to send (default: the built-in catalogue; `--fixtures`).
    pub fn fixtures(mut self, catalogue: FixtureCatalogue) -> Suite {
        self.config.catalogue = catalogue;
        self
    }

    /// Only the built-in fixtures and journeys whose name `keep` accepts.
    pub fn fixtures_where(mut self, keep: impl Fn(&str) -> bool) -> Suite {
        self.config.catalogue.events.retain(|f| keep(&f.name));
        self.config.catalogue.journeys.retain(|j| keep(&j.name));
        self
    }

    /// How records are compared (default [`Comparison::Strict`]).
    pub fn comparison(mut self, comparison: Comparison) -> Suite {
        self.config.comparison = comparison;
        self
    }

    /// Compares only these fields ([`Comparison::partial`]): for a relay that maps some.
    pub fn partial<I, S>(self, fields: I) -> Suite
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.comparison(Comparison::partial(fields))
    }

    /// SHOULD checks fail the run (`--strict`).
    pub fn strict(mut self, strict: bool) -> Suite {
        self.config.strict = strict;
        self
    }

    /// Only shard `partition` (`--partition K/N`, e.g. `"1/2"`).
    pub fn partition(mut self, partition: &str) -> Suite {
        match partition.parse::<Partition>() {
            Ok(partition) => self.partition = Some(partition),
            Err(e) => return self.fail(Error::Usage(format!("Suite::partition: {e}"))),
        }
        self
    }

    /// The webhook token the relays are given (default `qc-harness-test-token`).
    pub fn token(mut self, token: impl Into<String>) -> Suite {
        self.config.token = token.into();
        self
    }

    /// Path webhooks are POSTed to (default `/webhook`).
    pub fn webhook_path(mut self, path: impl Into<String>) -> Suite {
        self.config.relay.webhook_path = path.into();
        self
    }

    /// A path that answers 2xx once the relay is ready (probed after each start).
    pub fn ready_path(mut self, path: impl Into<String>) -> Suite {
        self.config.relay.ready_path = Some(path.into());
        self
    }

    /// Longest wait for a case's or check's records (default 10 s; `--timeout`).
    pub fn timeout(mut self, timeout: Duration) -> Suite {
        self.config.timeout = timeout;
        self
    }

    /// Quiet time that ends a wait for extra records (default 150 ms; `--settle`).
    pub fn settle(mut self, settle: Duration) -> Suite {
        self.config.settle = settle;
        self
    }

    /// Units run at the same time (default: 4 per core; `--jobs`).
    pub fn jobs(mut self, jobs: usize) -> Suite {
        self.config.jobs = jobs.max(1);
        self
    }

    /// Everything else `qc-harness run` can set (snapshots, `allow_extra_keys`, ...).
    pub fn config_mut(&mut self) -> &mut RunConfig {
        &mut self.config
    }

    /// Runs the suite. `Err` for a bad option or when the harness itself cannot start;
    /// everything about the relay is in the [`RunOutcome`] (see
    /// [`RunOutcome::assert_passed`]).
    pub async fn run(mut self) -> Result<RunOutcome> {
        if let Some(error) = self.error {
            return Err(error);
        }
        if let Some(partition) = self.partition {
            self.config.keep_shard(partition);
        }
        super::runner::run(self.config).await
    }
}

impl RunOutcome {
    /// Panics with the report's summary (failures grouped by cause, the matrix, the last
    /// line, and any relay error) unless the run passed.
    ///
    /// ```should_panic
    /// let mut outcome = qc_harness::conformance::RunOutcome::default();
    /// outcome.relay_error = Some("the relay did not start".into());
    /// outcome.assert_passed();
    /// ```
    #[track_caller]
    pub fn assert_passed(&self) {
        if !self.passed() {
            panic!("the conformance suite failed:\n{}", self.summary());
        }
    }

    /// The report's summary as `qc-harness run` prints it (no colours), with the relay error
    /// and the interruption, if any.
    pub fn summary(&self) -> String {
        let mut text = crate::report::render_compact(self, false, Some(5));
        if let Some(error) = &self.relay_error {
            text.push_str(&format!("\nrelay error: {error}"));
        }
        text
    }
}
