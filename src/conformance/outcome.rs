//! The results of a run: one [`CaseResult`] per fixture × variant, one [`CheckResult`] per check.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::compare::{Difference, ObservedRecord};
use super::hints::DiffHint;
use super::partition::RunPlan;
use super::reasons::RecordReason;
use crate::snapshot::SnapshotStatus;

/// How binding a contract clause is (`relay-contract.md` §4).
///
/// ```
/// use qc_harness::Level;
/// assert_eq!(serde_json::to_value(Level::Must).unwrap(), "MUST");
/// assert_ne!(Level::Must, Level::Should);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Level {
    /// A failure fails the run.
    Must,
    /// A failure is a warning unless `--strict`.
    Should,
}

/// The verdict on one case or check.
///
/// ```
/// use qc_harness::Status;
/// assert!(Status::Warning.is_ok() && Status::Skipped.is_ok());
/// assert!(!Status::Failed.is_ok());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// As expected.
    Passed,
    /// Not as expected (a MUST, a mapping case, a snapshot, or a SHOULD under `--strict`).
    Failed,
    /// A SHOULD check that did not hold, without `--strict`.
    Warning,
    /// Not run (e.g. needs settings a `--relay-url` relay does not have).
    Skipped,
}

impl Status {
    /// Passed or warning: the run is not failed by it.
    pub fn is_ok(self) -> bool {
        matches!(self, Status::Passed | Status::Warning | Status::Skipped)
    }
}

/// One fixture (or journey) sent under one variant.
///
/// ```
/// use qc_harness::{RunOutcome, Status};
/// # fn report(outcome: &RunOutcome) {
/// for case in outcome.cases.iter().filter(|c| c.status == Status::Failed) {
///     println!("{} @ {}: {} differences", case.fixture, case.variant, case.differences.len());
/// }
/// # }
/// # report(&RunOutcome::default());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseResult {
    /// Fixture or journey name.
    pub fixture: String,
    /// Variant name.
    pub variant: String,
    /// The verdict.
    pub status: Status,
    /// Reference records.
    pub expected: Vec<serde_json::Value>,
    /// Why each event of the case is, or is not, expected to give a record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<RecordReason>,
    /// Records attributed to this case.
    pub observed: Vec<ObservedRecord>,
    /// How they differ from the reference.
    pub differences: Vec<Difference>,
    /// Recognised patterns behind the differences (milliseconds, gross for proceeds, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<DiffHint>,
    /// The relay's answer to each webhook (`None`: no answer), in send order.
    pub webhook_statuses: Vec<Option<u16>>,
    /// Other problems (webhook not answered 2xx, ...).
    pub problems: Vec<String>,
    /// The snapshot comparison.
    pub snapshot: SnapshotStatus,
    /// The relay's output tail, when the case failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_tail: Option<String>,
}

/// One behaviour check.
///
/// ```
/// use qc_harness::{Level, RunOutcome, Status};
/// # fn report(outcome: &RunOutcome) {
/// for check in outcome.checks.iter().filter(|c| c.level == Level::Must && c.status == Status::Failed) {
///     println!("{}: expected {}, observed {}", check.name, check.expected, check.observed);
/// }
/// # }
/// # report(&RunOutcome::default());
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// Check name, e.g. `upstream.429`.
    pub name: String,
    /// MUST or SHOULD.
    pub level: Level,
    /// Variant whose settings the relay ran with.
    pub variant: String,
    /// The verdict.
    pub status: Status,
    /// What a conforming relay does.
    pub expected: String,
    /// What this relay did.
    pub observed: String,
    /// Requests, webhook attempts and timings.
    pub details: Vec<String>,
    /// The relay's output tail, when the check did not pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay_tail: Option<String>,
    /// How long the check took.
    #[serde(serialize_with = "millis", deserialize_with = "from_millis")]
    pub duration: Duration,
}

/// Everything a run found; reports are written from this alone.
///
/// ```
/// use qc_harness::RunOutcome;
/// let outcome = RunOutcome::default(); // what `qc_harness::run` returns
/// assert!(outcome.passed());
/// assert_eq!(outcome.totals().failed, 0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RunOutcome {
    /// Variant names, in run order.
    pub variants: Vec<String>,
    /// Case names (fixtures, then journeys), in catalogue order.
    pub fixtures: Vec<String>,
    /// Mapping cases.
    pub cases: Vec<CaseResult>,
    /// Behaviour checks.
    pub checks: Vec<CheckResult>,
    /// A relay that could not be started or died, with its output tail (exit code 3).
    pub relay_error: Option<String>,
    /// The run was interrupted (Ctrl-C) before it finished.
    pub interrupted: bool,
    /// What the run was asked to do (version, relay, every variant and check, the shard).
    #[serde(default)]
    pub plan: RunPlan,
    /// Wall time of the run.
    #[serde(serialize_with = "millis", deserialize_with = "from_millis")]
    pub elapsed: Duration,
}

/// Counts for the last line.
///
/// ```
/// let totals = qc_harness::RunOutcome::default().totals();
/// assert_eq!((totals.passed, totals.failed, totals.skipped, totals.warnings), (0, 0, 0, 0));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Passed cases and checks (warnings included).
    pub passed: usize,
    /// Failed ones.
    pub failed: usize,
    /// Skipped ones.
    pub skipped: usize,
    /// SHOULD checks that did not hold (counted in `passed`).
    pub warnings: usize,
}

impl RunOutcome {
    /// Counts cases and checks by status.
    pub fn totals(&self) -> Totals {
        let statuses = self.cases.iter().map(|c| c.status).chain(self.checks.iter().map(|c| c.status));
        let mut totals = Totals::default();
        for status in statuses {
            match status {
                Status::Passed => totals.passed += 1,
                Status::Warning => {
                    totals.passed += 1;
                    totals.warnings += 1;
                }
                Status::Failed => totals.failed += 1,
                Status::Skipped => totals.skipped += 1,
            }
        }
        totals
    }

    /// Whether the run passed: nothing failed, no relay error, not interrupted.
    pub fn passed(&self) -> bool {
        self.totals().failed == 0 && self.relay_error.is_none() && !self.interrupted
    }

    /// The case for `fixture` under `variant`.
    pub fn case(&self, fixture: &str, variant: &str) -> Option<&CaseResult> {
        self.cases.iter().find(|c| c.fixture == fixture && c.variant == variant)
    }

    /// The check named `name`.
    pub fn check(&self, name: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|c| c.name == name)
    }
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(d.as_millis() as u64)
}

fn from_millis<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    u64::deserialize(d).map(Duration::from_millis)
}
