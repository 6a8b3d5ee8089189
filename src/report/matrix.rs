//! The matrix: cases (rows) × variants (columns), ✓ passed, ✗ failed, – not run.

use console::style;

use crate::conformance::{RunOutcome, Status};

/// The matrix as text lines; `color` styles the marks.
///
/// ```
/// use qc_harness::conformance::RunOutcome;
/// let outcome = RunOutcome { variants: vec!["default".into()], fixtures: vec!["a".into()], ..Default::default() };
/// let text = qc_harness::report::render_matrix(&outcome, false);
/// assert!(text.contains("default") && text.contains("–"));
/// ```
pub fn render_matrix(outcome: &RunOutcome, color: bool) -> String {
    if outcome.fixtures.is_empty() || outcome.variants.is_empty() {
        return String::new();
    }
    let width = outcome.fixtures.iter().map(|f| f.chars().count()).max().unwrap_or(0).max(5);
    let mut lines = vec![header(outcome, width)];
    for fixture in &outcome.fixtures {
        let mut line = format!("{fixture:<width$}");
        for variant in &outcome.variants {
            let status = outcome.case(fixture, variant).map(|c| c.status);
            let cell = format!("{:^w$}", mark(status), w = variant.chars().count().max(1));
            line.push_str("  ");
            line.push_str(&paint(&cell, status, color));
        }
        lines.push(line.trim_end().to_string());
    }
    lines.join("\n")
}

fn header(outcome: &RunOutcome, width: usize) -> String {
    let mut line = format!("{:<width$}", "case");
    for variant in &outcome.variants {
        line.push_str("  ");
        line.push_str(variant);
    }
    line
}

fn mark(status: Option<Status>) -> &'static str {
    match status {
        Some(Status::Passed) | Some(Status::Warning) => "✓",
        Some(Status::Failed) => "✗",
        Some(Status::Skipped) | None => "–",
    }
}

fn paint(cell: &str, status: Option<Status>, color: bool) -> String {
    if !color {
        return cell.to_string();
    }
    match status {
        Some(Status::Passed) | Some(Status::Warning) => style(cell).green().force_styling(true).to_string(),
        Some(Status::Failed) => style(cell).red().bold().force_styling(true).to_string(),
        _ => style(cell).dim().force_styling(true).to_string(),
    }
}
