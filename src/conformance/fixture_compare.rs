//! [`compare_fixture`]: one call compares what the fake CleverTap received for a fixture
//! with the reference mapping under given settings, and returns the field-level
//! differences `qc-harness run` prints (the same attribution, comparison and hints).

use std::fmt;

use super::attribution::{attribute, record_identity};
use super::compare::{Difference, ObservedRecord};
use super::comparison::Comparison;
use super::hints::case_hints;
use super::mapping_run::{CaseInput, expectation};
use super::observe::observed;
use super::outcome::{CaseResult, Status};
use super::reasons::reasons;
use crate::clevertap::{FakeCleverTap, Journal, ReceivedRecord, RecordEntry};
use crate::mapping::Settings;
use crate::qonversion::Fixture;
use crate::snapshot::SnapshotStatus;

/// What a relay uploaded, as [`compare_fixture`] reads it: records CleverTap answered 200
/// for (processed, or listed in `unprocessed`), dry runs excluded.
pub trait Received {
    /// The records, in arrival order.
    fn observed_records(&self) -> Vec<ObservedRecord>;
}

impl Received for FakeCleverTap {
    fn observed_records(&self) -> Vec<ObservedRecord> {
        self.journal().observed_records()
    }
}

impl Received for Journal {
    fn observed_records(&self) -> Vec<ObservedRecord> {
        self.records().observed_records()
    }
}

impl Received for [RecordEntry] {
    fn observed_records(&self) -> Vec<ObservedRecord> {
        self.iter().filter(|r| !r.dry_run).cloned().filter_map(observed).collect()
    }
}

impl Received for Vec<RecordEntry> {
    fn observed_records(&self) -> Vec<ObservedRecord> {
        self.as_slice().observed_records()
    }
}

impl Received for [ReceivedRecord] {
    fn observed_records(&self) -> Vec<ObservedRecord> {
        let entry = |r: &ReceivedRecord| RecordEntry {
            request_seq: r.request_seq,
            index: r.index,
            record: r.raw.clone(),
            outcome: r.outcome.clone(),
            dry_run: r.dry_run,
            offset: std::time::Duration::ZERO,
        };
        self.iter().map(entry).collect::<Vec<_>>().observed_records()
    }
}

impl Received for Vec<ReceivedRecord> {
    fn observed_records(&self) -> Vec<ObservedRecord> {
        self.as_slice().observed_records()
    }
}

impl Received for [ObservedRecord] {
    fn observed_records(&self) -> Vec<ObservedRecord> {
        self.to_vec()
    }
}

impl Received for Vec<ObservedRecord> {
    fn observed_records(&self) -> Vec<ObservedRecord> {
        self.clone()
    }
}

/// How the records received for a fixture differ from the reference: the failing case as
/// `run` reports it. Its `Display` is the report's text for that case.
#[derive(Debug, Clone, PartialEq)]
pub struct Differences {
    /// The case, as the run's reports show it (variant `given settings`).
    pub case: Box<CaseResult>,
    /// Received records that carry another identity (other fixtures' records): not compared.
    pub other_records: Vec<ObservedRecord>,
}

impl Differences {
    /// The field-level differences.
    pub fn differences(&self) -> &[Difference] {
        &self.case.differences
    }
}

impl fmt::Display for Differences {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", crate::report::case_line(&self.case, false))?;
        for line in crate::report::human::case_details(&self.case, false) {
            writeln!(f, "    {line}")?;
        }
        if !self.other_records.is_empty() {
            let mut ids: Vec<String> = self
                .other_records
                .iter()
                .map(|r| record_identity(&r.record).unwrap_or("none".into()))
                .collect();
            ids.dedup();
            write!(
                f,
                "    ({} other received record(s) not compared: identities {})",
                self.other_records.len(),
                ids.join(", ")
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for Differences {}

impl From<Differences> for crate::Error {
    fn from(differences: Differences) -> Self {
        crate::Error::Failed(differences.to_string())
    }
}

/// Name of the variant a one-call comparison reports.
const GIVEN_SETTINGS: &str = "given settings";

/// Compares the records `received` holds for `fixture` (those carrying its identity) with
/// the reference mapping of `fixture` under `settings`, as `run` does; `Err` has the
/// differences, and prints like the report.
///
/// ```
/// use qc_harness::conformance::{Comparison, compare_fixture};
/// use qc_harness::conformance::compare::ObservedRecord;
/// use qc_harness::{FixtureCatalogue, Settings, mapping::map_event};
/// let fixture = FixtureCatalogue::built_in().unwrap().get("subscription_renewed.ios").unwrap().clone();
/// let mut sent = map_event(&fixture.event, &Settings::default()).unwrap().to_value();
/// let received = vec![ObservedRecord::processed(sent.clone(), 1, 1)];
/// assert!(compare_fixture(&fixture, &Settings::default(), &received, &Comparison::Strict).is_ok());
/// sent.as_object_mut().unwrap().remove("ts");
/// let received = vec![ObservedRecord::processed(sent, 1, 1)];
/// let error = compare_fixture(&fixture, &Settings::default(), &received, &Comparison::Strict)
///     .unwrap_err();
/// assert!(error.to_string().contains("ts: missing (expected "), "{error}");
/// ```
pub fn compare_fixture<R: Received + ?Sized>(
    fixture: &Fixture,
    settings: &Settings,
    received: &R,
    comparison: &Comparison,
) -> Result<(), Differences> {
    let case = CaseInput { name: fixture.name.clone(), events: vec![fixture.event.clone()] };
    let expected = expectation(&case, settings);
    let mut split = attribute(std::slice::from_ref(&expected), received.observed_records());
    let observed = split.by_case.pop().unwrap_or_default();
    let differences = comparison.compare(&expected.expected, &observed);
    if differences.is_empty() {
        return Ok(());
    }
    let case = CaseResult {
        fixture: fixture.name.clone(),
        variant: GIVEN_SETTINGS.to_string(),
        status: Status::Failed,
        expected: expected.expected,
        reasons: reasons(&case.events, settings),
        observed,
        hints: case_hints(&case.events, settings, &differences),
        differences,
        webhook_statuses: Vec::new(),
        problems: Vec::new(),
        snapshot: SnapshotStatus::NotChecked,
        relay_tail: None,
    };
    Err(Differences { case: Box::new(case), other_records: split.unattributed })
}
