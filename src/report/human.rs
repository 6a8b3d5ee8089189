//! The human report: a line per case and check, coloured diffs for failures, the last line.

use console::style;
use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use super::summary::{Limit, render_root_causes};
use crate::conformance::{CaseResult, CheckResult, Difference, Level, RunOutcome, Status, Totals};
use crate::snapshot::SnapshotStatus;

/// The whole human report with every detail: case lines, check lines, failure details,
/// matrix, the root-cause summary, last line (`run --details all`).
///
/// ```
/// let text = qc_harness::render_human(&qc_harness::RunOutcome::default(), false);
/// assert_eq!(text.lines().last(), Some("0 passed, 0 failed"));
/// ```
pub fn render_human(outcome: &RunOutcome, color: bool) -> String {
    let mut out: Vec<String> = Vec::new();
    for case in &outcome.cases {
        out.push(case_line(case, color));
        if case.status == Status::Failed {
            out.extend(case_details(case, color).into_iter().map(|l| format!("    {l}")));
        }
    }
    for check in &outcome.checks {
        out.push(check_line(check, color));
        if matches!(check.status, Status::Failed | Status::Warning) {
            out.extend(check_details(check).into_iter().map(|l| format!("    {l}")));
        }
    }
    out.extend(tail_lines(outcome, color, None, false));
    out.join("\n")
}

/// The report `qc-harness run` prints: the matrix, then the root-cause summary with at most
/// `limit` examples per group, then the last line; every failure once, grouped.
///
/// ```
/// use qc_harness::RunOutcome;
/// let text = qc_harness::report::render_compact(&RunOutcome::default(), false, Some(3));
/// assert_eq!(text.lines().last(), Some("0 passed, 0 failed"));
/// ```
pub fn render_compact(outcome: &RunOutcome, color: bool, limit: Limit) -> String {
    let mut out: Vec<String> = Vec::new();
    for check in outcome.checks.iter().filter(|c| c.status == Status::Skipped) {
        out.push(check_line(check, color));
    }
    out.extend(tail_lines(outcome, color, limit, true));
    out.join("\n")
}

/// Matrix, root causes (with the check groups unless their lines were printed already),
/// notes and the last line.
fn tail_lines(outcome: &RunOutcome, color: bool, limit: Limit, with_checks: bool) -> Vec<String> {
    let mut out = Vec::new();
    let matrix = super::render_matrix(outcome, color);
    if !matrix.is_empty() {
        out.push(String::new());
        out.push(matrix);
    }
    let causes = render_root_causes(outcome, color, limit, with_checks);
    if !causes.is_empty() {
        out.push(String::new());
        out.extend(causes);
    }
    out.push(String::new());
    out.extend(summary_lines(outcome, color, !with_checks));
    out.push(last_line(&outcome.totals()));
    out
}

/// `✓ subscription_renewed.ios @ gross` (with the first difference when it failed).
pub fn case_line(case: &CaseResult, color: bool) -> String {
    let mut line = format!("{} {} @ {}", mark(case.status, color), case.fixture, case.variant);
    if case.status == Status::Failed {
        let first = case
            .problems
            .first()
            .cloned()
            .or_else(|| case.differences.first().map(ToString::to_string))
            .or_else(|| snapshot_problem(&case.snapshot));
        if let Some(first) = first {
            line.push_str(&format!(" — {first}"));
        }
    }
    line
}

/// `✓ check auth.missing-token [MUST]`, with the observation when it did not pass.
pub fn check_line(check: &CheckResult, color: bool) -> String {
    let level = match check.level {
        Level::Must => "MUST",
        Level::Should => "SHOULD",
    };
    let mut line = format!("{} check {} [{level}]", mark(check.status, color), check.name);
    match check.status {
        Status::Failed => line.push_str(&format!(" — {}", check.observed)),
        Status::Warning => line.push_str(&format!(" — warning: {}", check.observed)),
        Status::Skipped => line.push_str(&format!(" — skipped: {}", check.observed)),
        Status::Passed => {}
    }
    line
}

/// `N passed, N failed` and `, N skipped` when some were skipped.
///
/// ```
/// use qc_harness::Totals;
/// let t = Totals { passed: 3, failed: 1, skipped: 0, warnings: 0 };
/// assert_eq!(qc_harness::report::last_line(&t), "3 passed, 1 failed");
/// ```
pub fn last_line(totals: &Totals) -> String {
    let mut line = format!("{} passed, {} failed", totals.passed, totals.failed);
    if totals.skipped > 0 {
        line.push_str(&format!(", {} skipped", totals.skipped));
    }
    line
}

fn summary_lines(outcome: &RunOutcome, color: bool, full: bool) -> Vec<String> {
    let mut lines = Vec::new();
    let totals = outcome.totals();
    if totals.warnings > 0 {
        let names: Vec<&str> =
            outcome.checks.iter().filter(|c| c.status == Status::Warning).map(|c| c.name.as_str()).collect();
        let text = format!(
            "{} SHOULD check(s) did not hold (use --strict to fail): {}",
            names.len(),
            names.join(", ")
        );
        lines.push(if color { style(text).yellow().to_string() } else { text });
    }
    lines.extend(snapshot_notes(outcome));
    if let Some(error) = &outcome.relay_error {
        // The compact (CLI) report leaves the error to stderr, printed first.
        lines.push(match full {
            true => format!("relay error: {error}"),
            false => "the relay failed: see the error above (on stderr)".to_string(),
        });
    }
    if outcome.interrupted {
        lines.push("interrupted: the run stopped before every case and check finished".to_string());
    }
    lines
}

/// What happened to snapshots: new ones pending review, failing cases `--accept` skipped.
fn snapshot_notes(outcome: &RunOutcome) -> Vec<String> {
    let count = |f: fn(&SnapshotStatus) -> bool| outcome.cases.iter().filter(|c| f(&c.snapshot)).count();
    let mut lines = Vec::new();
    let new = count(|s| matches!(s, SnapshotStatus::New { .. }));
    if new > 0 {
        lines.push(format!(
            "{new} new snapshot(s) written as .snap.new (not a failure): review them with \
             `qc-harness snapshots`, or keep them all with `qc-harness run --accept`"
        ));
    }
    let written = count(|s| matches!(s, SnapshotStatus::Written { .. }));
    if written > 0 {
        lines.push(format!("--accept: wrote {written} snapshot(s)"));
    }
    let refused = count(|s| matches!(s, SnapshotStatus::NotAccepted));
    if refused > 0 {
        lines.push(format!(
            "--accept: wrote nothing for {refused} failing case(s): their records are wrong; \
             fix them, then accept again"
        ));
    }
    lines
}

/// The detail lines under a failed case's line (problems, differences, hints, the diff).
pub(crate) fn case_details(case: &CaseResult, color: bool) -> Vec<String> {
    let mut lines: Vec<String> = case.problems.clone();
    lines.extend(case.differences.iter().map(|d| format!("{} @ {}: {d}", case.fixture, case.variant)));
    lines.extend(case.hints.iter().map(|h| format!("hint ({}): {}", h.path, h.hint)));
    if case.differences.iter().any(|d| matches!(d, Difference::Missing { .. } | Difference::Extra { .. })) {
        lines.extend(case.reasons.iter().map(|r| format!("why: {r}")));
    }
    if !case.differences.is_empty() {
        lines.push("records: --- expected (reference mapping)  +++ observed (relay)".to_string());
        let observed: Vec<Value> = case.observed.iter().map(|o| o.record.clone()).collect();
        lines.extend(diff_lines(&pretty(&case.expected), &pretty(&observed), color));
    }
    if let SnapshotStatus::Changed { old, new, pending } = &case.snapshot {
        lines.push(format!("snapshot changed, new version in {}: --- accepted  +++ new", pending.display()));
        lines.extend(diff_lines(old, new, color));
    } else if let Some(problem) = snapshot_problem(&case.snapshot) {
        lines.push(problem);
    }
    lines.extend(relay_output(case.relay_tail.as_deref()));
    lines
}

/// The relay's output section, or nothing when no output was captured (an attached relay).
fn relay_output(tail: Option<&str>) -> Vec<String> {
    let Some(tail) = tail.filter(|t| !t.trim().is_empty()) else { return Vec::new() };
    let mut lines = vec!["relay output (last lines):".to_string()];
    lines.extend(tail.lines().map(|l| format!("  | {l}")));
    lines
}

fn check_details(check: &CheckResult) -> Vec<String> {
    let mut lines = vec![format!("expected: {}", check.expected), format!("observed: {}", check.observed)];
    lines.extend(check.details.iter().cloned());
    lines.extend(relay_output(check.relay_tail.as_deref()));
    lines
}

fn snapshot_problem(status: &SnapshotStatus) -> Option<String> {
    match status {
        SnapshotStatus::Missing { path } => {
            Some(format!("no snapshot {} (CI mode: a missing snapshot fails)", path.display()))
        }
        SnapshotStatus::Changed { pending, .. } => Some(format!(
            "snapshot changed, new version in {} (review with `qc-harness snapshots`)",
            pending.display()
        )),
        SnapshotStatus::NotAccepted => Some("--accept wrote nothing: the case failed".to_string()),
        SnapshotStatus::Unusable { error, .. } => Some(format!("snapshot unusable (input error): {error}")),
        _ => None,
    }
}

/// A unified line diff with `-`/`+` marks, red/green on a terminal.
pub fn diff_lines(old: &str, new: &str, color: bool) -> Vec<String> {
    let diff = TextDiff::from_lines(old, new);
    let mut lines = Vec::new();
    for change in diff.iter_all_changes() {
        let text = change.value().trim_end_matches('\n');
        let line = match change.tag() {
            ChangeTag::Delete => paint(format!("- {text}"), color, true),
            ChangeTag::Insert => paint(format!("+ {text}"), color, false),
            ChangeTag::Equal => format!("  {text}"),
        };
        lines.push(line);
    }
    lines
}

fn paint(text: String, color: bool, removed: bool) -> String {
    match (color, removed) {
        (false, _) => text,
        (true, true) => style(text).red().force_styling(true).to_string(),
        (true, false) => style(text).green().force_styling(true).to_string(),
    }
}

fn pretty(records: &[Value]) -> String {
    serde_json::to_string_pretty(records).expect("JSON values always serialise") + "\n"
}

pub(crate) fn mark(status: Status, color: bool) -> String {
    let (text, styled) = match status {
        Status::Passed => ("✓", style("✓").green()),
        Status::Failed => ("✗", style("✗").red().bold()),
        Status::Warning => ("!", style("!").yellow().bold()),
        Status::Skipped => ("–", style("–").dim()),
    };
    if color { styled.force_styling(true).to_string() } else { text.to_string() }
}
