//! The matrix: events (rows) × variants (columns), ✓ passed, ✗ failed, – not run.
//!
//! A row gathers every case of one catalogue event (`subscription_renewed.ios`,
//! `subscription_renewed.android.sandbox`, ...: the name's first part); a cell is ✗ when any of
//! them failed in that variant. Journeys and fixtures not named after an event keep a row each.

use console::style;

use crate::conformance::{RunOutcome, Status};
use crate::qonversion::catalogue::event_kind;

/// The matrix as text lines; `color` styles the marks.
///
/// ```
/// use qc_harness::RunOutcome;
/// let outcome = RunOutcome { variants: vec!["default".into()], fixtures: vec!["a".into()], ..Default::default() };
/// let text = qc_harness::report::render_matrix(&outcome, false);
/// assert!(text.contains("default") && text.contains("–"));
/// ```
pub fn render_matrix(outcome: &RunOutcome, color: bool) -> String {
    if outcome.fixtures.is_empty() || outcome.variants.is_empty() {
        return String::new();
    }
    let rows = rows(&outcome.fixtures);
    let width = rows.iter().map(|(row, _)| row.chars().count()).max().unwrap_or(0).max(5);
    let mut lines = vec![header(outcome, width)];
    for (row, fixtures) in &rows {
        let mut line = format!("{row:<width$}");
        for variant in &outcome.variants {
            let status = worst(fixtures.iter().filter_map(|f| outcome.case(f, variant)).map(|c| c.status));
            let cell = format!("{:^w$}", mark(status), w = variant.chars().count().max(1));
            line.push_str("  ");
            line.push_str(&paint(&cell, status, color));
        }
        lines.push(line.trim_end().to_string());
    }
    lines.join("\n")
}

/// Row name → the cases in it, in first-appearance order.
fn rows(fixtures: &[String]) -> Vec<(String, Vec<&str>)> {
    let mut rows: Vec<(String, Vec<&str>)> = Vec::new();
    for fixture in fixtures {
        let event = fixture.split('.').next().unwrap_or(fixture);
        let row = if event_kind(event).is_some() { event } else { fixture.as_str() };
        match rows.iter_mut().find(|(name, _)| name == row) {
            Some((_, cases)) => cases.push(fixture),
            None => rows.push((row.to_string(), vec![fixture])),
        }
    }
    rows
}

/// Failed beats passed beats skipped; `None` when no case ran.
fn worst(statuses: impl Iterator<Item = Status>) -> Option<Status> {
    let rank = |s: &Status| match s {
        Status::Failed => 3,
        Status::Warning => 2,
        Status::Passed => 1,
        Status::Skipped => 0,
    };
    statuses.max_by_key(rank)
}

fn header(outcome: &RunOutcome, width: usize) -> String {
    let mut line = format!("{:<width$}", "event");
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
