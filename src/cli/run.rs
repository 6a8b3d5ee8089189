//! `qc-harness run`: the conformance suite.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::Output;
use super::relay_args::RelayArgs;
use crate::clevertap::DEFAULT_PASSCODE;
use crate::conformance::variants::{add_user_variants, select_built_in};
use crate::conformance::{Checkpoint, DEFAULT_TOKEN, RunConfig, RunOutcome, Variant, select_checks};
use crate::error::{Error, Result, exit_code};
use crate::mapping::Settings;
use crate::qonversion::FixtureCatalogue;
use crate::redact::Redactor;
use crate::relay::{RelaySpec, RelayTarget};
use crate::report;

/// The conformance suite: every fixture × every settings variant, plus the behaviour checks
/// (auth, bad bodies, filtering, redelivery, 429/5xx/connection drop, backoff, concurrency,
/// batch limit) against a relay; compares with the snapshots; prints a line per case and
/// check, the matrix, and `N passed, N failed`.
///
/// Exit codes: 0 all passed, 1 a check/case/snapshot failed, 2 usage or bad input file,
/// 3 the relay could not be started or died.
///
/// Examples:
///   qc-harness run                                 # built-in reference relay, everything
///   qc-harness run --relay-cmd "python3 relay.py"  # your relay (gets PORT, CLEVERTAP_API_URL...)
///   qc-harness run --relay-cmd "./relay --port {port}" --variants default,gross --checks auth
///   qc-harness run --relay-cmd "node relay.js" --variant-file eu=eu.json --junit junit.xml
///   qc-harness run --relay-url http://127.0.0.1:3000 --clevertap-listen 127.0.0.1:8080 \
///                  --settings mine.json --token "$QONVERSION_TOKEN"
///   qc-harness run --accept                        # write new/changed snapshots
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct RunArgs {
    #[command(flatten)]
    relay: Box<RelayArgs>,
    /// Fixture directory (events/ and journeys/, or a flat directory of webhook files);
    /// default: the built-in catalogue.
    #[arg(long, value_name = "DIR")]
    fixtures: Option<PathBuf>,
    /// Snapshot directory: one `<fixture>@<variant>.snap` per case (insta format).
    #[arg(long, value_name = "DIR", default_value = "snapshots")]
    snapshots: PathBuf,
    /// Do not compare with snapshots (nor write any).
    #[arg(long, conflicts_with = "accept")]
    no_snapshots: bool,
    /// Built-in variants to run, comma-separated: default, gross, no-revenue, sandbox-on,
    /// event-disabled, event-no-revenue, renamed; `all` (default) or `none`.
    #[arg(long, value_name = "LIST")]
    variants: Option<String>,
    /// An extra variant from a settings file: FILE (named after it) or NAME=FILE. Repeatable.
    #[arg(long = "variant-file", value_name = "[NAME=]FILE")]
    variant_files: Vec<String>,
    /// Behaviour checks to run, comma-separated names or groups (auth, body, event, delivery,
    /// upstream, or e.g. upstream.429); `all` (default) or `none`.
    #[arg(long, value_name = "LIST")]
    checks: Option<String>,
    /// Write new and changed snapshots (`.snap`) instead of failing with `.snap.new`.
    #[arg(long)]
    accept: bool,
    /// SHOULD checks fail the run (without it they are warnings).
    #[arg(long)]
    strict: bool,
    /// Tolerate keys in records that the reference mapping does not send.
    #[arg(long)]
    allow_extra_keys: bool,
    /// Write a JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Write a JSON report here (schema: see the README).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Variants and checks run at the same time (each with its own relay process).
    #[arg(long, value_name = "N", value_parser = super::numbers::count)]
    jobs: Option<usize>,
    /// Longest wait for the records of one case or check: seconds, or with a unit (500ms, 1m).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = crate::duration::flag::positive_secs)]
    timeout: Duration,
    /// Quiet time after the expected records arrived, to catch extras: milliseconds, or with a unit.
    #[arg(long, value_name = "MS", default_value = "150", value_parser = crate::duration::flag::millis)]
    settle: Duration,
    /// Webhook token given to the relay (QONVERSION_WEBHOOK_TOKEN); set it to your
    /// relay's token with --relay-url.
    #[arg(long, value_name = "TOKEN", env = "QC_HARNESS_TOKEN", default_value = DEFAULT_TOKEN)]
    token: String,
}

pub fn execute(args: RunArgs, out: &Output) -> Result<i32> {
    let mut config = config(&args)?;
    let redactor = Redactor::new([config.token.clone(), DEFAULT_PASSCODE.to_string()]);
    crate::redact::hide_in_logs([config.token.clone(), DEFAULT_PASSCODE.to_string()]);
    args.relay.warn_if_exposed(out);
    let progress = (out.is_terminal && !out.quiet).then(progress_bar);
    config.progress = progress.clone();
    config.handle_interrupt = true;
    let (junit, json, hide) = (args.junit.clone(), args.json.clone(), redactor.clone());
    let checkpoint = Checkpoint(Arc::new(move |partial: &RunOutcome| {
        let _ = report::write_redacted_files(partial, junit.as_deref(), json.as_deref(), &hide);
    }));
    let outcome =
        super::runtime()?.block_on(crate::conformance::run_with_checkpoint(config, Some(checkpoint)))?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    report::write_redacted_files(&outcome, args.junit.as_deref(), args.json.as_deref(), &redactor)?;
    if out.quiet {
        if let Some(error) = &outcome.relay_error {
            out.error(&redactor.text(error));
        }
        println!("{}", report::last_line(&outcome.totals()));
    } else {
        println!("{}", redactor.text(&report::render_human(&outcome, out.color)));
    }
    let unusable = unusable_snapshots(&outcome);
    for error in &unusable {
        out.error(error);
    }
    Ok(match (&outcome.relay_error, outcome.passed()) {
        (Some(_), _) => exit_code::RELAY,
        (None, _) if !unusable.is_empty() => exit_code::USAGE,
        (None, true) => exit_code::SUCCESS,
        (None, false) => exit_code::FAILURE,
    })
}

fn config(args: &RunArgs) -> Result<RunConfig> {
    let spec = args.relay.to_spec()?;
    let catalogue = match &args.fixtures {
        Some(dir) => FixtureCatalogue::from_dir(dir)?,
        None => FixtureCatalogue::built_in()?,
    };
    let mut config = RunConfig::new(spec.clone(), catalogue);
    config.checks = select_checks(args.checks.as_deref())?;
    (config.variants, config.check_settings) = variants(args, &spec)?;
    config.snapshots = (!args.no_snapshots).then(|| args.snapshots.clone());
    config.accept = args.accept;
    config.strict = args.strict;
    config.allow_extra_keys = args.allow_extra_keys;
    config.jobs = args.jobs.unwrap_or(config.jobs);
    config.timeout = args.timeout;
    config.settle = args.settle;
    config.token = args.token.clone();
    Ok(config)
}

/// Snapshot files that could not be used (an input error, exit code 2), one message each.
fn unusable_snapshots(outcome: &RunOutcome) -> Vec<String> {
    let errors = outcome.cases.iter().filter_map(|case| match &case.snapshot {
        crate::snapshot::SnapshotStatus::Unusable { error, .. } => Some(format!("snapshot: {error}")),
        _ => None,
    });
    let mut errors: Vec<String> = errors.collect();
    errors.dedup();
    errors
}

/// The variants and the settings checks start from; with --relay-url only the declared one.
fn variants(args: &RunArgs, spec: &RelaySpec) -> Result<(Vec<Variant>, Settings)> {
    let declared = match &spec.settings {
        Some(path) => Some(Variant::from_arg(&path.display().to_string())?),
        None => None,
    };
    if matches!(spec.target, RelayTarget::Url(_)) {
        if args.variants.is_some() || !args.variant_files.is_empty() {
            return Err(Error::Usage(
                "--variants/--variant-file need a relay the harness starts (--relay-cmd); \
                 a --relay-url relay runs only with its --settings"
                    .into(),
            ));
        }
        let variant = declared.unwrap_or_else(|| Variant::built_in("default").expect("default exists"));
        let settings = variant.settings.clone();
        return Ok((vec![variant], settings));
    }
    let mut variants = select_built_in(args.variants.as_deref())?;
    let mut extra: Vec<Variant> = declared.into_iter().collect();
    for arg in &args.variant_files {
        extra.push(Variant::from_arg(arg)?);
    }
    add_user_variants(&mut variants, extra)?;
    Ok((variants, Settings::default()))
}

fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} [{bar:30}] {pos}/{len} variants and checks {elapsed}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
    .progress_chars("=> ");
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}
