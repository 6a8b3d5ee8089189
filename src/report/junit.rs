//! The `--junit` report, written with the `quick-junit` crate.
//!
//! One test suite per variant (its mapping cases) and one `checks` suite; a SHOULD check
//! that did not hold is a passing test case with the warning in its system-out.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::conformance::{CaseResult, CheckResult, RunOutcome, Status};
use crate::error::{Error, Result};

/// The JUnit XML text.
pub fn render(outcome: &RunOutcome) -> Result<String> {
    let mut report = Report::new("qc-harness run");
    report.set_time(outcome.elapsed);
    for variant in &outcome.variants {
        let mut suite = TestSuite::new(format!("mapping@{variant}"));
        suite.add_test_cases(outcome.cases.iter().filter(|c| &c.variant == variant).map(case));
        report.add_test_suite(suite);
    }
    let mut checks = TestSuite::new("checks");
    checks.add_test_cases(outcome.checks.iter().map(check));
    report.add_test_suite(checks);
    if outcome.relay_error.is_some() || outcome.interrupted {
        let mut run = TestSuite::new("run");
        let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
        let message = outcome.relay_error.clone().unwrap_or_else(|| "the run was interrupted".to_string());
        status.set_message(message);
        run.add_test_case(TestCase::new("run", status));
        report.add_test_suite(run);
    }
    report.to_string().map_err(|e| Error::Failed(format!("cannot write the JUnit report: {e}")))
}

fn case(result: &CaseResult) -> TestCase {
    let status = match result.status {
        Status::Failed => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(crate::report::case_line(result, false));
            let mut details: Vec<String> = result.problems.clone();
            details.extend(result.differences.iter().map(ToString::to_string));
            details.extend(result.hints.iter().map(|h| format!("hint ({}): {}", h.path, h.hint)));
            details.extend(result.reasons.iter().map(|r| format!("why: {r}")));
            status.set_description(details.join("\n"));
            status
        }
        Status::Skipped => TestCaseStatus::skipped(),
        Status::Passed | Status::Warning => TestCaseStatus::success(),
    };
    let mut case = TestCase::new(format!("{}@{}", result.fixture, result.variant), status);
    case.set_classname(format!("mapping.{}", result.variant));
    if let Some(tail) = result.relay_tail.as_ref().filter(|t| !t.trim().is_empty()) {
        case.set_system_err(tail.clone());
    }
    case
}

fn check(result: &CheckResult) -> TestCase {
    let text = format!(
        "expected: {}\nobserved: {}\n{}",
        result.expected,
        result.observed,
        result.details.join("\n")
    );
    let status = match result.status {
        Status::Failed => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(format!("{}: {}", result.name, result.observed));
            status.set_description(text.clone());
            status
        }
        Status::Skipped => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(result.observed.clone());
            status
        }
        Status::Passed | Status::Warning => TestCaseStatus::success(),
    };
    let mut case = TestCase::new(result.name.clone(), status);
    case.set_classname(format!("checks.{:?}", result.level).to_lowercase());
    case.set_time(result.duration);
    if result.status == Status::Warning {
        case.set_system_out(format!("warning (SHOULD, not --strict)\n{text}"));
    }
    if let Some(tail) = result.relay_tail.as_ref().filter(|t| !t.trim().is_empty()) {
        case.set_system_err(tail.clone());
    }
    case
}
