//! Runs the properties against a [`RelayMapping`] with proptest's `TestRunner`: a seed,
//! shrinking to a minimal failing case, and a progress bar on a terminal.

use std::cell::{Cell, RefCell};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed, TestCaseError, TestError, TestRunner};
use serde_json::Value;

use super::RelayMapping;
use super::properties::{CheckOptions, PropertyFailure, check};
use crate::conformance::partition::Partition;
use crate::error::{Error, Result};
use crate::mapping::Settings;
use crate::qonversion::event::WebhookEvent;

/// How to run the properties.
///
/// ```
/// let config = qc_harness::PropConfig { cases: 32, seed: 7, ..Default::default() };
/// assert_eq!(config.max_shrink_iters, 2048);
/// ```
#[derive(Debug, Clone)]
pub struct PropConfig {
    /// Number of generated cases (default 256).
    pub cases: u32,
    /// The seed: the same seed gives the same cases, so it replays a failure.
    pub seed: u64,
    /// Most shrink steps tried after a failure (default 2048).
    pub max_shrink_iters: u32,
    /// Options of the property check.
    pub options: CheckOptions,
    /// Show a progress bar (on stderr).
    pub progress: bool,
    /// Run only this shard's cases (`--partition K/N`): every case is generated from the seed
    /// as in an unsharded run, and case `i` (0-based) is this shard's when `i % N == K - 1`.
    pub partition: Option<Partition>,
}

impl Default for PropConfig {
    fn default() -> Self {
        PropConfig {
            cases: 256,
            seed: 0,
            max_shrink_iters: 2048,
            options: CheckOptions::default(),
            progress: false,
            partition: None,
        }
    }
}

/// A shrunk failing case.
#[derive(Debug, Clone)]
pub struct Counterexample {
    /// The minimal failing event.
    pub event: WebhookEvent,
    /// The settings it was mapped under.
    pub settings: Settings,
    /// The property that does not hold, with expected versus observed.
    pub failure: PropertyFailure,
    /// The records the relay produced for it (empty when it did not answer).
    pub records: Vec<Value>,
}

/// The result of a property run.
///
/// ```
/// use qc_harness::{PropConfig, ReferenceMapping, run_properties, strategies};
/// let config = PropConfig { cases: 16, ..Default::default() };
/// let outcome = run_properties(&mut ReferenceMapping, &strategies::case(), &config).unwrap();
/// assert_eq!((outcome.cases, outcome.seed), (16, 0));
/// assert!(outcome.failure.is_none());
/// ```
#[derive(Debug, Clone)]
pub struct PropOutcome {
    /// The seed used.
    pub seed: u64,
    /// Cases run: all of them, or up to and including the first failing one.
    pub cases: u32,
    /// Cases tried while shrinking.
    pub shrink_steps: u32,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// The shrunk failure, if a property did not hold.
    pub failure: Option<Counterexample>,
}

impl PropOutcome {
    /// Generated cases per second (shrinking excluded from neither count nor time).
    pub fn cases_per_second(&self) -> f64 {
        f64::from(self.cases + self.shrink_steps) / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// What one case gave: pass, a property failure, or a fatal relay error.
enum CaseResult {
    Pass,
    Fail(PropertyFailure, Vec<Value>),
    Fatal,
}

struct Session<'a> {
    mapping: RefCell<&'a mut dyn RelayMapping>,
    options: CheckOptions,
    fatal: RefCell<Option<Error>>,
}

impl Session<'_> {
    fn run_case(&self, event: &WebhookEvent, settings: &Settings) -> CaseResult {
        if self.fatal.borrow().is_some() {
            return CaseResult::Fatal;
        }
        let mut mapping = self.mapping.borrow_mut();
        match mapping.map_event(event, settings) {
            Ok(records) => match check(event, settings, &records, self.options) {
                Ok(()) => CaseResult::Pass,
                Err(failure) => CaseResult::Fail(failure, records),
            },
            Err(error) => {
                if let Err(fatal) = mapping.recover() {
                    *self.fatal.borrow_mut() = Some(fatal);
                    return CaseResult::Fatal;
                }
                let failure = PropertyFailure {
                    property: "relay_answers".to_string(),
                    expected: "an answer with the records for the event".to_string(),
                    observed: error.to_string(),
                };
                CaseResult::Fail(failure, Vec::new())
            }
        }
    }
}

/// Runs `config.cases` generated cases from `strategy` against `mapping`; shrinks a failure.
///
/// Errors: the relay could not be (re)started ([`Error::Relay`], exit code 3).
///
/// ```
/// use qc_harness::{PropConfig, RelayMapping, Settings, run_properties, strategies};
/// use serde_json::Value;
/// /// A mapping with a bug: it never sends a record.
/// struct Silent;
/// impl RelayMapping for Silent {
///     fn map(&mut self, _event: &Value, _settings: &Settings) -> qc_harness::Result<Vec<Value>> {
///         Ok(Vec::new())
///     }
/// }
/// let config = PropConfig { cases: 64, ..Default::default() };
/// let outcome = run_properties(&mut Silent, &strategies::case(), &config).unwrap();
/// let counterexample = outcome.failure.expect("a forwarded event without its record fails");
/// println!("{}: {}", counterexample.failure.property, counterexample.event.event_name);
/// ```
pub fn run_properties<S>(
    mapping: &mut dyn RelayMapping,
    strategy: &S,
    config: &PropConfig,
) -> Result<PropOutcome>
where
    S: Strategy<Value = (WebhookEvent, Settings)>,
{
    let started = Instant::now();
    let session =
        Session { mapping: RefCell::new(mapping), options: config.options, fatal: RefCell::new(None) };
    let bar = progress_bar(config);
    let (cases, shrink_steps, failing) = (Cell::new(0u32), Cell::new(0u32), Cell::new(false));
    let generated = Cell::new(0usize);
    let mut runner = TestRunner::new(proptest_config(config));
    let result = runner.run(strategy, |(event, settings)| {
        if !failing.get() {
            let index = generated.replace(generated.get() + 1);
            if config.partition.is_some_and(|p| !p.owns(index)) {
                return Ok(()); // another shard's case: generated (to keep the sequence), not run
            }
        }
        if failing.get() {
            shrink_steps.set(shrink_steps.get() + 1);
            bar.set_message(format!("shrinking ({} steps)", shrink_steps.get()));
        } else {
            cases.set(cases.get() + 1);
            bar.inc(1);
        }
        match session.run_case(&event, &settings) {
            CaseResult::Pass => Ok(()),
            CaseResult::Fail(failure, _) => {
                failing.set(true);
                Err(TestCaseError::fail(failure.property))
            }
            CaseResult::Fatal => {
                failing.set(true);
                Err(TestCaseError::fail("relay failed"))
            }
        }
    });
    bar.finish_and_clear();
    if let Some(fatal) = session.fatal.take() {
        return Err(fatal);
    }
    let failure = match result {
        Ok(()) => None,
        Err(TestError::Abort(reason)) => {
            return Err(Error::Failed(format!("property run aborted: {reason}")));
        }
        Err(TestError::Fail(reason, (event, settings))) => {
            Some(replay(&session, event, settings, reason.message())?)
        }
    };
    let outcome = PropOutcome {
        seed: config.seed,
        cases: cases.get(),
        shrink_steps: shrink_steps.get(),
        elapsed: started.elapsed(),
        failure,
    };
    Ok(outcome)
}

/// Runs the minimal case once more to report what it gives.
fn replay(
    session: &Session<'_>,
    event: WebhookEvent,
    settings: Settings,
    reason: &str,
) -> Result<Counterexample> {
    let (failure, records) = match session.run_case(&event, &settings) {
        CaseResult::Fail(failure, records) => (failure, records),
        CaseResult::Fatal => {
            return Err(session.fatal.take().unwrap_or_else(|| Error::Failed(reason.into())));
        }
        CaseResult::Pass => {
            let failure = PropertyFailure {
                property: reason.to_string(),
                expected: "the same result every time".to_string(),
                observed: "the shrunk case failed once and passed when replayed (a flaky relay?)".to_string(),
            };
            (failure, Vec::new())
        }
    };
    Ok(Counterexample { event, settings, failure, records })
}

fn proptest_config(config: &PropConfig) -> Config {
    Config {
        cases: config.cases,
        max_shrink_iters: config.max_shrink_iters,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(config.seed),
        max_global_rejects: 0,
        ..Config::default()
    }
}

fn progress_bar(config: &PropConfig) -> ProgressBar {
    if !config.progress {
        return ProgressBar::hidden();
    }
    let cases = config.partition.map_or(config.cases as usize, |p| p.share(config.cases as usize));
    let bar = ProgressBar::new(cases as u64);
    let style = ProgressStyle::with_template("{bar:30} {pos}/{len} cases {per_sec} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar
}
