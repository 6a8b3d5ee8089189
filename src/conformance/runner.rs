//! [`run`]: variants and checks as units of work, run side by side (`--jobs`), into a [`RunOutcome`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;

use super::bench::BenchPool;
use super::checks::{self, CheckContext, check_named};
use super::config::RunConfig;
use super::mapping_run::{UNATTRIBUTED, case_inputs, run_variant};
use super::outcome::{CaseResult, CheckResult, Level, RunOutcome, Status};
use super::variants::Variant;
use crate::error::{Error, Result};
use crate::qonversion::sender::FakeQonversion;

/// Called with the outcome so far after every finished unit (marked `interrupted`, since the
/// run is not over): lets the CLI keep its report files current even if the process is killed.
#[derive(Clone)]
pub struct Checkpoint(pub Arc<dyn Fn(&RunOutcome) + Send + Sync>);

impl std::fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Checkpoint(..)")
    }
}

/// Checks that take longest start first, so that they overlap with everything else.
const SLOW_FIRST: [&str; 9] = [
    "delivery.outage",
    "upstream.batch-limit",
    "upstream.partial",
    "upstream.retry-after",
    "upstream.backoff",
    "upstream.backoff-429",
    "upstream.backoff-drop",
    "delivery.concurrent-redelivery",
    "upstream.concurrency",
];

enum Unit {
    Variant(Variant),
    Check(String),
}

enum UnitResult {
    Cases(Vec<CaseResult>),
    Check(CheckResult),
    /// The relay failed; `startup`: it did not start (no other unit is launched after that).
    RelayError {
        error: String,
        startup: bool,
    },
    /// The harness's own fake died: the run stops with [`Error::Harness`] (exit code 3).
    Harness(String),
}

/// Runs the conformance suite described by `config`.
///
/// Errors only when the harness itself cannot start (e.g. `--clevertap-listen` is taken); a
/// relay that cannot be reached or started is reported in [`RunOutcome::relay_error`]
/// (exit code 3). The relay is started once alone first: when it does not start, no unit
/// runs; when a later start fails, no further unit is launched.
///
/// ```
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use qc_harness::{FixtureCatalogue, RelaySpec, RelayTarget, RunConfig, Status, Variant};
/// // A "relay" that answers every webhook with 501: the case fails, naming the missing record.
/// let relay = RelaySpec::new(RelayTarget::Command("python3 -m http.server {port} --bind 127.0.0.1".into()));
/// let catalogue = FixtureCatalogue {
///     events: vec![qc_harness::Fixture::built_in("trial_started.ios").unwrap().clone()],
///     journeys: Vec::new(),
/// };
/// let mut config = RunConfig::new(relay, catalogue);
/// config.variants = vec![Variant::built_in("default").unwrap()];
/// config.checks = Vec::new();
/// config.timeout = std::time::Duration::from_secs(1); // the longest wait for a record
/// let outcome = qc_harness::run(config).await.unwrap();
/// assert_eq!(outcome.cases.len(), 1);
/// assert_eq!(outcome.cases[0].status, Status::Failed);
/// assert!(!outcome.passed());
/// # });
/// ```
pub async fn run(config: RunConfig) -> Result<RunOutcome> {
    run_with_checkpoint(config, None).await
}

/// [`run`], calling `checkpoint` after every finished unit.
pub async fn run_with_checkpoint(config: RunConfig, checkpoint: Option<Checkpoint>) -> Result<RunOutcome> {
    let started = Instant::now();
    let mut outcome = RunOutcome {
        variants: config.variants.iter().map(|v| v.name.clone()).collect(),
        fixtures: case_inputs(&config).into_iter().map(|c| c.name).collect(),
        plan: config.plan(),
        ..RunOutcome::default()
    };
    // One interrupt listener for the whole run, so that no interrupt falls between two steps.
    let mut stop = Box::pin(interrupt(&config));
    let pool = tokio::select! {
        pool = BenchPool::new(&config.relay, &config.token, &config.check_settings) => pool,
        _ = &mut stop => return Ok(interrupted(outcome, &config, started)),
    };
    let pool = match pool {
        Ok(pool) => pool,
        Err(e @ Error::Relay { .. }) => {
            outcome.relay_error = Some(e.to_string());
            finish(&mut outcome, &config, started);
            return Ok(outcome);
        }
        Err(e) => return Err(e),
    };
    let units = units(&config);
    if !units.is_empty() {
        let probed = tokio::select! {
            probed = probe_start(&pool, &config) => probed,
            _ = &mut stop => return Ok(interrupted(outcome, &config, started)),
        };
        match probed {
            Ok(()) => {}
            Err(_) if config.cancel.is_cancelled() => return Ok(interrupted(outcome, &config, started)),
            Err(e @ Error::Relay { .. }) => {
                outcome.relay_error = Some(e.to_string());
                finish(&mut outcome, &config, started);
                return Ok(outcome);
            }
            Err(e) => return Err(e),
        }
    }
    save(checkpoint.as_ref(), &outcome, &config, started);
    if let Some(bar) = &config.progress {
        bar.set_total(units.len() as u64);
    }
    let jobs = if pool.fixed_settings().is_some() { 1 } else { config.jobs.max(1) };
    let mut stream =
        futures::stream::iter(units).map(|unit| run_unit(&config, &pool, unit)).buffer_unordered(jobs);
    let interrupted = loop {
        let next = tokio::select! {
            next = stream.next() => next,
            _ = &mut stop => break true,
        };
        let Some(result) = next else { break false };
        if let UnitResult::Harness(reason) = result {
            return Err(Error::Harness(reason));
        }
        let startup_failed = matches!(result, UnitResult::RelayError { startup: true, .. });
        absorb(&mut outcome, result);
        if let Some(bar) = &config.progress {
            bar.advance();
        }
        save(checkpoint.as_ref(), &outcome, &config, started);
        if startup_failed {
            break false;
        }
    };
    drop(stream);
    outcome.interrupted = interrupted || config.cancel.is_cancelled();
    finish(&mut outcome, &config, started);
    Ok(outcome)
}

/// Starts the relay once, alone, and stops it: a relay that cannot start fails here, once,
/// before any unit is launched. (An attached `--relay-url` relay was reached already.)
async fn probe_start(pool: &BenchPool, config: &RunConfig) -> Result<()> {
    if pool.fixed_settings().is_some() {
        return Ok(());
    }
    let bench = pool.acquire(&config.check_settings, &super::bench::FakeSetup::default()).await?;
    bench.finish().await
}

/// Hands the outcome so far, marked unfinished, to the checkpoint.
fn save(checkpoint: Option<&Checkpoint>, outcome: &RunOutcome, config: &RunConfig, started: Instant) {
    if let Some(checkpoint) = checkpoint {
        let mut partial = outcome.clone();
        partial.interrupted = true;
        finish(&mut partial, config, started);
        (checkpoint.0)(&partial);
    }
}

/// Resolves when the run's token is cancelled, or at Ctrl-C when the config asks for that.
async fn interrupt(config: &RunConfig) {
    let ctrl_c = async {
        if config.handle_interrupt && tokio::signal::ctrl_c().await.is_ok() {
            return;
        }
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = config.cancel.cancelled() => {}
        _ = ctrl_c => {}
    }
}

/// The outcome of a run stopped before it started its units: nothing ran, marked interrupted.
fn interrupted(mut outcome: RunOutcome, config: &RunConfig, started: Instant) -> RunOutcome {
    outcome.interrupted = true;
    finish(&mut outcome, config, started);
    outcome
}

fn units(config: &RunConfig) -> Vec<Unit> {
    let mut checks = config.checks.clone();
    checks.sort_by_key(|name| SLOW_FIRST.iter().position(|s| s == name).unwrap_or(SLOW_FIRST.len()));
    let (slow, fast): (Vec<String>, Vec<String>) =
        checks.into_iter().partition(|c| SLOW_FIRST.contains(&c.as_str()));
    let mut units: Vec<Unit> = slow.into_iter().map(Unit::Check).collect();
    units.extend(config.variants.iter().cloned().map(Unit::Variant));
    units.extend(fast.into_iter().map(Unit::Check));
    units
}

fn absorb(outcome: &mut RunOutcome, result: UnitResult) {
    match result {
        UnitResult::Cases(cases) => outcome.cases.extend(cases),
        UnitResult::Check(check) => outcome.checks.push(check),
        UnitResult::Harness(_) => {} // handled by the caller: the run stops
        UnitResult::RelayError { error, .. } => {
            // Every unit starts its own relay; a relay that cannot start fails them all the
            // same way: report each distinct error once.
            let cause = error.split_once(": ").map_or(error.as_str(), |(_unit, cause)| cause);
            let joined = match outcome.relay_error.take() {
                Some(earlier) if earlier.contains(cause) => earlier,
                Some(earlier) => format!("{earlier}\n{error}"),
                None => error,
            };
            outcome.relay_error = Some(joined);
        }
    }
}

/// Stable order: cases by variant then catalogue order, checks in [`checks::CHECKS`] order.
fn finish(outcome: &mut RunOutcome, config: &RunConfig, started: Instant) {
    let variant_pos = |v: &str| config.variants.iter().position(|x| x.name == v).unwrap_or(usize::MAX);
    let fixtures = outcome.fixtures.clone();
    let fixture_pos = |f: &str| fixtures.iter().position(|x| x == f).unwrap_or(usize::MAX);
    outcome.cases.sort_by_key(|c| (variant_pos(&c.variant), fixture_pos(&c.fixture)));
    outcome.checks.sort_by_key(|c| checks::CHECKS.iter().position(|d| d.name == c.name));
    if outcome.cases.iter().any(|c| c.fixture == UNATTRIBUTED)
        && !outcome.fixtures.iter().any(|f| f == UNATTRIBUTED)
    {
        outcome.fixtures.push(UNATTRIBUTED.to_string());
    }
    outcome.elapsed = started.elapsed();
}

async fn run_unit(config: &RunConfig, pool: &BenchPool, unit: Unit) -> UnitResult {
    match unit {
        Unit::Variant(variant) => match run_variant(config, pool, &variant).await {
            Ok(cases) => UnitResult::Cases(cases),
            Err(Error::Harness(reason)) => UnitResult::Harness(reason),
            Err(e) => UnitResult::RelayError {
                startup: !e.to_string().contains("during the mapping run"),
                error: format!("variant {}: {e}", variant.name),
            },
        },
        Unit::Check(name) => run_check_unit(config, pool, &name).await,
    }
}

async fn run_check_unit(config: &RunConfig, pool: &BenchPool, name: &str) -> UnitResult {
    let Some(check) = check_named(name) else {
        return UnitResult::RelayError { error: format!("unknown check `{name}`"), startup: false };
    };
    let def = check.def();
    let plan = checks::plan(check, &config.check_settings, pool.fixed_settings().is_some());
    let started = Instant::now();
    let mut result = CheckResult {
        name: name.to_string(),
        level: def.level,
        variant: if plan.settings == config.check_settings {
            "checks".into()
        } else {
            format!("checks+{name}")
        },
        status: Status::Skipped,
        expected: def.expected.to_string(),
        observed: String::new(),
        details: Vec::new(),
        relay_tail: None,
        duration: Duration::ZERO,
    };
    if pool.fixed_settings().is_some_and(|fixed| *fixed != plan.settings) {
        result.observed = "needs settings other than the ones declared for the --relay-url relay".into();
        return UnitResult::Check(result);
    }
    let bench = match pool.acquire(&plan.settings, &plan.setup).await {
        Ok(bench) => bench,
        Err(e) => return UnitResult::RelayError { error: format!("check {name}: {e}"), startup: true },
    };
    let sender =
        FakeQonversion::new(bench.relay().webhook_url(), bench.token.clone()).timeout(config.timeout);
    let ctx = CheckContext { bench: &bench, sender, timeout: config.timeout, settle: config.settle };
    let limit = config.timeout.saturating_mul(3).saturating_add(Duration::from_secs(5));
    let verdict = match tokio::time::timeout(limit, check.run(&ctx)).await {
        Ok(verdict) => verdict,
        Err(_) => checks::Verdict {
            passed: false,
            observed: format!("did not finish within {:.1} s", limit.as_secs_f64()),
            details: Vec::new(),
        },
    };
    result.status = match (verdict.passed, def.level, config.strict) {
        (true, _, _) => Status::Passed,
        (false, Level::Must, _) | (false, Level::Should, true) => Status::Failed,
        (false, Level::Should, false) => Status::Warning,
    };
    result.observed = match bench.relay().exit_status() {
        Some(status) => format!("{} (the relay {status} during the check)", verdict.observed),
        None => verdict.observed,
    };
    result.details = verdict.details;
    if !verdict.passed {
        result.relay_tail = bench.relay_tail();
    }
    result.duration = started.elapsed();
    if let Err(Error::Harness(reason)) = bench.finish().await {
        return UnitResult::Harness(reason);
    }
    UnitResult::Check(result)
}
