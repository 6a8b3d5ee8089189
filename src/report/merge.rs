//! `qc-harness report merge`: the shard reports of a `--partition K/N` run joined into the
//! outcome the unsharded run would have produced, so every report (JSON, JUnit, the human
//! lines, the summary and the matrix) is written from it exactly as `run` writes them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::conformance::{CHECKS, RunOutcome, RunPlan};
use crate::error::{Error, Result};

/// The JSON report's schema tag that `merge` reads.
pub const SCHEMA: &str = "qc-harness/run/1";

/// Reads one shard report (`--json` of a `run --partition K/N`).
pub fn read_shard(path: &Path) -> Result<RunOutcome> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let invalid = |json_path: &str, message: String| Error::InvalidInput {
        file: path.to_path_buf(),
        path: json_path.to_string(),
        message,
    };
    let value: Value =
        serde_json::from_str(&text).map_err(|e| invalid(".", format!("not a JSON report: {e}")))?;
    match value.get("schema").and_then(Value::as_str) {
        Some(SCHEMA) => {}
        Some(other) => return Err(invalid(".schema", format!("expected {SCHEMA:?}, found {other:?}"))),
        None => return Err(invalid(".schema", "missing: not a `qc-harness run --json` report".to_string())),
    }
    let outcome: RunOutcome = serde_path_to_error::deserialize(value)
        .map_err(|e| invalid(&format!(".{}", e.path()), e.inner().to_string()))?;
    if outcome.plan.partition.is_none() {
        return Err(invalid(
            ".plan.partition",
            "not a shard report: this run had no --partition K/N (it is a whole run already)".into(),
        ));
    }
    Ok(outcome)
}

/// Joins shard reports into one outcome; refuses reports of different versions, relays or
/// settings, a shard given twice, and a missing shard, naming the file concerned.
pub fn merge(shards: Vec<(PathBuf, RunOutcome)>) -> Result<RunOutcome> {
    let Some((first_path, first)) = shards.first() else {
        return Err(Error::Usage("report merge needs at least one shard report".into()));
    };
    let plan = RunPlan { partition: None, ..first.plan.clone() };
    let count = first.plan.partition.map_or(1, |p| p.count);
    let mut seen: Vec<Option<&Path>> = vec![None; count as usize];
    for (path, shard) in &shards {
        check_same_run(first_path, &plan, path, &shard.plan)?;
        let partition = shard.plan.partition.expect("read_shard accepts shard reports only");
        if partition.count != count {
            return Err(mismatch(path, first_path, "the shard count", &partition.count, &count));
        }
        let slot = &mut seen[(partition.index - 1) as usize];
        if let Some(other) = slot {
            return Err(Error::Usage(format!(
                "{} and {} are both shard {partition}",
                other.display(),
                path.display()
            )));
        }
        *slot = Some(path);
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(i, _)| format!("{}/{count}", i + 1))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Usage(format!("shard report(s) missing: {}", missing.join(", "))));
    }
    Ok(join(plan, shards.into_iter().map(|(_, outcome)| outcome).collect()))
}

fn check_same_run(first_path: &Path, plan: &RunPlan, path: &Path, other: &RunPlan) -> Result<()> {
    let other = RunPlan { partition: None, ..other.clone() };
    if other.harness_version != plan.harness_version {
        return Err(mismatch(
            path,
            first_path,
            "the qc-harness version",
            &other.harness_version,
            &plan.harness_version,
        ));
    }
    if other != *plan {
        let what = if other.relay != plan.relay {
            "the relay"
        } else if other.variants != plan.variants {
            "the variants"
        } else if other.checks != plan.checks {
            "the checks"
        } else {
            "the settings (--strict, --allow-extra-keys)"
        };
        return Err(Error::Usage(format!(
            "{} is from another run than {}: {what} differ{}",
            path.display(),
            first_path.display(),
            if what.ends_with('s') && !what.ends_with("ys") { "" } else { "s" }
        )));
    }
    Ok(())
}

fn mismatch(
    path: &Path,
    first: &Path,
    what: &str,
    found: &dyn std::fmt::Display,
    wanted: &dyn std::fmt::Display,
) -> Error {
    Error::Usage(format!(
        "{} is from another run than {}: {what} is {found}, not {wanted}",
        path.display(),
        first.display()
    ))
}

/// The unsharded outcome: every shard's cases and checks in the run's report order.
fn join(plan: RunPlan, shards: Vec<RunOutcome>) -> RunOutcome {
    let mut outcome = RunOutcome { variants: plan.variants.clone(), plan, ..RunOutcome::default() };
    let mut elapsed = Duration::ZERO;
    for shard in shards {
        for fixture in shard.fixtures {
            if !outcome.fixtures.contains(&fixture) {
                outcome.fixtures.push(fixture);
            }
        }
        outcome.cases.extend(shard.cases);
        outcome.checks.extend(shard.checks);
        outcome.interrupted |= shard.interrupted;
        elapsed = elapsed.max(shard.elapsed);
        if let Some(error) = shard.relay_error {
            outcome.relay_error = Some(match outcome.relay_error.take() {
                Some(earlier) if earlier.contains(&error) => earlier,
                Some(earlier) => format!("{earlier}\n{error}"),
                None => error,
            });
        }
    }
    let variants = outcome.variants.clone();
    let fixtures = outcome.fixtures.clone();
    let position = |list: &[String], name: &str| list.iter().position(|x| x == name).unwrap_or(usize::MAX);
    outcome.cases.sort_by_key(|c| (position(&variants, &c.variant), position(&fixtures, &c.fixture)));
    outcome.checks.sort_by_key(|c| CHECKS.iter().position(|d| d.name == c.name));
    outcome.elapsed = elapsed;
    outcome
}
