//! Reports of a conformance run: human lines and diffs, the matrix, JUnit XML, JSON.
//!
//! Every report is written from a [`RunOutcome`](crate::conformance::RunOutcome) alone, so a
//! failed or interrupted run still writes all of them.

pub mod human;
pub mod json;
pub mod junit;
pub mod matrix;
pub mod merge;
pub mod relay_error;
mod signature;
pub mod summary;

use std::path::Path;

use crate::conformance::RunOutcome;
use crate::error::{Error, Result};
use crate::redact::Redactor;

pub use human::{case_line, check_line, last_line, render_compact, render_human};
pub use matrix::render_matrix;
pub use summary::{RootCause, render_root_causes, root_causes};

/// Writes the `--junit` and `--json` files that were asked for.
pub fn write_files(outcome: &RunOutcome, junit: Option<&Path>, json: Option<&Path>) -> Result<()> {
    write_redacted_files(outcome, junit, json, &Redactor::default())
}

/// Writes the `--junit` and `--json` files that were asked for, `redactor`'s secrets hidden.
pub fn write_redacted_files(
    outcome: &RunOutcome,
    junit: Option<&Path>,
    json: Option<&Path>,
    redactor: &Redactor,
) -> Result<()> {
    if let Some(path) = junit {
        write(path, &redactor.text(&junit::render(outcome)?))?;
    }
    if let Some(path) = json {
        write(path, &redactor.text(&json::render(outcome)))?;
    }
    Ok(())
}

/// Writes a report file atomically (a temporary file in the same folder, then a rename), so
/// that an interrupt never leaves a cut-off report; `-` is stdout.
fn write(path: &Path, text: &str) -> Result<()> {
    if path.as_os_str() == "-" {
        println!("{text}");
        return Ok(());
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".qc-harness-report-")
        .tempfile_in(dir)
        .map_err(|e| Error::io(dir, e))?;
    std::io::Write::write_all(&mut temp, text.as_bytes()).map_err(|e| Error::io(temp.path(), e))?;
    // A report is for everyone who can read the folder, as `fs::write` would leave it.
    let readable = std::os::unix::fs::PermissionsExt::from_mode(0o644);
    temp.as_file().set_permissions(readable).map_err(|e| Error::io(temp.path(), e))?;
    temp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::json;

    use super::*;
    use crate::conformance::{CaseResult, CheckResult, Difference, Level, Status};
    use crate::snapshot::SnapshotStatus;

    fn case(fixture: &str, variant: &str, status: Status, differences: Vec<Difference>) -> CaseResult {
        CaseResult {
            fixture: fixture.into(),
            variant: variant.into(),
            status,
            expected: vec![json!({"evtData": {"revenue": 6.993}})],
            reasons: Vec::new(),
            observed: Vec::new(),
            differences,
            hints: Vec::new(),
            webhook_statuses: vec![Some(200)],
            problems: Vec::new(),
            snapshot: SnapshotStatus::NotChecked,
            relay_tail: None,
        }
    }

    fn check(name: &str, level: Level, status: Status) -> CheckResult {
        CheckResult {
            name: name.into(),
            level,
            variant: "checks".into(),
            status,
            expected: "exactly once".into(),
            observed: "the event was doubled".into(),
            details: vec!["upload request #1 ...".into()],
            relay_tail: Some("relay says hi".into()),
            duration: Duration::from_millis(5),
        }
    }

    fn outcome() -> RunOutcome {
        let diff = Difference::Field {
            path: "evtData.revenue".into(),
            expected: Some(json!(6.993)),
            observed: Some(json!(9.99)),
        };
        RunOutcome {
            variants: vec!["default".into(), "gross".into()],
            fixtures: vec!["a.ios".into(), "b.ios".into()],
            cases: vec![
                case("a.ios", "default", Status::Failed, vec![diff]),
                case("b.ios", "default", Status::Passed, vec![]),
                case("a.ios", "gross", Status::Passed, vec![]),
            ],
            checks: vec![
                check("upstream.429", Level::Must, Status::Passed),
                check("delivery.redelivery", Level::Should, Status::Warning),
            ],
            ..RunOutcome::default()
        }
    }

    #[test]
    fn the_human_report_names_fixture_variant_and_field_and_ends_with_the_counts() {
        let text = render_human(&outcome(), false);
        assert!(
            text.contains("✗ a.ios @ default — evtData.revenue: expected 6.993, observed 9.99"),
            "{text}"
        );
        assert!(text.contains("-       \"revenue\": 6.993"), "{text}");
        assert!(text.contains("! check delivery.redelivery [SHOULD] — warning: the event was doubled"));
        assert!(text.contains("  | relay says hi"));
        assert_eq!(text.lines().last(), Some("4 passed, 1 failed"));
    }

    #[test]
    fn no_relay_output_section_when_no_output_was_captured() {
        let mut outcome = outcome();
        outcome.cases[0].relay_tail = Some(String::new());
        for check in &mut outcome.checks {
            check.relay_tail = Some(" \n".into());
        }
        let text = render_human(&outcome, false);
        assert!(text.contains("✗ a.ios @ default"), "{text}");
        assert!(!text.contains("relay output"), "{text}");
        let xml = junit::render(&outcome).unwrap();
        assert!(!xml.contains("system-err"), "{xml}");
        // With output, the section is there.
        outcome.cases[0].relay_tail = Some("listening on 3000".into());
        let text = render_human(&outcome, false);
        assert!(
            text.contains("relay output (last lines):") && text.contains("| listening on 3000"),
            "{text}"
        );
    }

    #[test]
    fn the_matrix_marks_passed_failed_and_not_run() {
        let matrix = render_matrix(&outcome(), false);
        let rows: Vec<&str> = matrix.lines().collect();
        assert!(rows[0].starts_with("event") && rows[0].ends_with("default  gross"));
        assert!(rows[1].starts_with("a.ios") && rows[1].contains('✗') && rows[1].contains('✓'));
        assert!(rows[2].starts_with("b.ios") && rows[2].contains('✓') && rows[2].contains('–'));
    }

    #[test]
    fn the_matrix_gathers_the_cases_of_one_event_in_a_row() {
        let outcome = RunOutcome {
            variants: vec!["default".into()],
            fixtures: vec![
                "trial_started.android".into(),
                "trial_started.ios".into(),
                "trial_to_expiry.ios".into(),
            ],
            cases: vec![
                case("trial_started.android", "default", Status::Failed, vec![]),
                case("trial_started.ios", "default", Status::Passed, vec![]),
                case("trial_to_expiry.ios", "default", Status::Passed, vec![]),
            ],
            ..RunOutcome::default()
        };
        let matrix = render_matrix(&outcome, false);
        let rows: Vec<&str> = matrix.lines().collect();
        assert_eq!(rows.len(), 3, "{matrix}");
        assert!(rows[1].starts_with("trial_started ") && rows[1].ends_with('✗'), "{matrix}");
        assert!(rows[2].starts_with("trial_to_expiry.ios") && rows[2].ends_with('✓'), "{matrix}");
    }

    #[test]
    fn coloured_output_has_ansi_codes_and_plain_output_has_none() {
        assert!(render_human(&outcome(), true).contains("\u{1b}["));
        assert!(!render_human(&outcome(), false).contains("\u{1b}["));
    }

    #[test]
    fn junit_and_json_files_carry_failures_and_warnings() {
        let dir = tempfile::tempdir().unwrap();
        let (junit, json) = (dir.path().join("r.xml"), dir.path().join("r.json"));
        write_files(&outcome(), Some(&junit), Some(&json)).unwrap();
        let xml = std::fs::read_to_string(&junit).unwrap();
        assert!(xml.contains("<failure") && xml.contains("a.ios@default"), "{xml}");
        assert!(xml.contains("warning (SHOULD, not --strict)"), "{xml}");
        let value: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(value["totals"], json!({"passed": 4, "failed": 1, "skipped": 0, "warnings": 1}));
        assert_eq!(value["passed"], false);
        assert_eq!(value["cases"][0]["differences"][0]["kind"], "field");
    }
}
