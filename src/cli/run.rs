//! `qc-harness run`: the conformance suite.

use super::output::outln;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use super::Output;
use super::relay_args::RelayArgs;
use crate::clevertap::DEFAULT_PASSCODE;
use crate::conformance::config::Progress;
use crate::conformance::variants::{add_user_variants, select_built_in};
use crate::conformance::{Checkpoint, Partition, RunConfig, RunOutcome, Variant, select_checks};
use crate::error::{Error, Result, exit_code};
use crate::mapping::Settings;
use crate::qonversion::{DEFAULT_TOKEN, FixtureCatalogue};
use crate::redact::Redactor;
use crate::relay::RelaySpec;
use crate::report;

/// The conformance suite: every fixture × every settings variant, plus the behaviour checks
/// (auth, bad bodies, filtering, redelivery, 429/5xx/connection drop, backoff, concurrency,
/// batch limit) against a relay; compares with the snapshots; prints the matrix, the root
/// causes of the failures (grouped, with hints; `--details all` for every line), and
/// `N passed, N failed`.
///
/// Exit codes: 0 all passed, 1 a check/case/snapshot failed, 2 usage or bad input file,
/// 3 the relay could not be started or died.
///
/// Examples:
///   qc-harness run                                 # built-in reference relay, everything
///   qc-harness run --relay-cmd "python3 relay.py"  # your relay (gets PORT, CLEVERTAP_API_URL...)
///   qc-harness run --relay-cmd "./relay --port {port}" --variants default,gross --checks auth
///   qc-harness run --relay-cmd "node relay.js" --variant-file eu=eu.json --junit junit.xml
///   qc-harness run --relay-url localhost:3000 --clevertap-listen localhost:8080 \
///                  --settings mine.json     # token: --token or QONVERSION_WEBHOOK_TOKEN
///   qc-harness run --accept                        # once green: store the records as snapshots
///   qc-harness run --partition 2/4 --json shard-2.json   # one shard of a CI matrix
///
/// Snapshots: compared only where a snapshot store exists (./snapshots, or --snapshots DIR);
/// elsewhere they are skipped. A case with no snapshot yet is new (`.snap.new`, not a failure)
/// unless in CI mode (CI set, or INSTA_UPDATE=no, as insta decides): then it fails and
/// nothing is written. --accept never stores the records of a failing case.
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct RunArgs {
    #[command(flatten)]
    relay: Box<RelayArgs>,
    /// Fixture directory (events/ and journeys/, or a flat directory of webhook files);
    /// default: the built-in catalogue.
    #[arg(long, value_name = "DIR", help_heading = "Selection")]
    fixtures: Option<PathBuf>,
    /// Snapshot store: one `<fixture>@<variant>.snap` per case (insta format); skipped when
    /// the directory does not exist (unless --accept, which creates it).
    #[arg(long, value_name = "DIR", default_value = "snapshots", help_heading = "Snapshots")]
    snapshots: PathBuf,
    /// Do not compare with snapshots (nor write any).
    #[arg(long, conflicts_with = "accept", help_heading = "Snapshots")]
    no_snapshots: bool,
    /// Built-in variants to run, comma-separated: default, gross, no-revenue, sandbox-on,
    /// event-disabled, event-no-revenue, renamed; `all` (default) or `none`.
    #[arg(long, value_name = "LIST", help_heading = "Selection")]
    variants: Option<String>,
    /// An extra variant from a settings file: FILE (named after it) or NAME=FILE. Repeatable.
    #[arg(long = "variant-file", value_name = "[NAME=]FILE", help_heading = "Selection")]
    variant_files: Vec<String>,
    /// Behaviour checks to run, comma-separated names or groups (auth, body, event, delivery,
    /// upstream, or e.g. upstream.429); `all` (default) or `none`.
    #[arg(long, value_name = "LIST", help_heading = "Selection")]
    checks: Option<String>,
    /// Store the records of every passing case as its snapshot (`.snap`); a failing case's
    /// records are never stored.
    #[arg(long, help_heading = "Snapshots")]
    accept: bool,
    /// SHOULD checks fail the run (without it they are warnings).
    #[arg(long)]
    strict: bool,
    /// Tolerate keys in records that the reference mapping does not send.
    #[arg(long)]
    allow_extra_keys: bool,
    /// Write a JUnit XML report here (`-`: stdout, the human report then goes to stderr).
    #[arg(long, value_name = "FILE", help_heading = "Reports")]
    junit: Option<PathBuf>,
    /// Write a JSON report here (`-`: stdout, the human report then goes to stderr).
    #[arg(long, value_name = "FILE", help_heading = "Reports")]
    json: Option<PathBuf>,
    /// Examples shown per root cause: a number, or `all` for every failure in full.
    #[arg(long, value_name = "N|all", default_value = "3", value_parser = parse_details, help_heading = "Reports")]
    details: Details,
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
    #[arg(
        long,
        value_name = "TOKEN",
        env = "QONVERSION_WEBHOOK_TOKEN",
        hide_env_values = true,
        default_value = DEFAULT_TOKEN,
        help_heading = "Relay"
    )]
    token: String,
    /// Run only shard K of N (e.g. 2/4) of the variants and checks, for a CI matrix: the
    /// N shards together run every unit exactly once. Give each shard its own --json, and
    /// join them with `qc-harness report merge`.
    #[arg(long, value_name = "K/N", help_heading = "Selection")]
    partition: Option<Partition>,
}

/// Exit code after Ctrl-C (128 + SIGINT), as a shell reports it; SIGTERM gives 143, SIGHUP 129.
const INTERRUPTED: i32 = 130;

/// How much of each failure the report shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Details {
    /// The first N examples per root cause.
    First(usize),
    /// Every case and check line, every diff.
    All,
}

pub(super) fn parse_details(text: &str) -> std::result::Result<Details, String> {
    match text {
        "all" => Ok(Details::All),
        n => n.parse().map(Details::First).map_err(|_| format!("expected a number or `all`, got `{n}`")),
    }
}

pub fn execute(args: RunArgs, out: &Output) -> Result<i32> {
    let mut config = config(&args)?;
    let store_note = snapshot_store_note(&args, &mut config);
    warn_if_empty(&config, out);
    let redactor = Redactor::new([config.token.clone(), DEFAULT_PASSCODE.to_string()]);
    crate::redact::hide_in_logs([config.token.clone(), DEFAULT_PASSCODE.to_string()]);
    args.relay.warn_if_exposed(out);
    let progress = (out.is_terminal && !out.quiet).then(progress_bar);
    config.progress = progress.clone().map(|bar| Arc::new(Bar(bar)) as Arc<dyn Progress>);
    let signals = super::signals();
    if let Some(signals) = &signals {
        config.cancel = signals.token();
    }
    let (junit, json, hide) = (args.junit.clone(), args.json.clone(), redactor.clone());
    let checkpoint = Checkpoint(Arc::new(move |partial: &RunOutcome| {
        let _ = report::write_redacted_files(
            partial,
            files_only(junit.as_deref()),
            files_only(json.as_deref()),
            &hide,
        );
    }));
    let outcome =
        super::runtime()?.block_on(crate::conformance::run_with_checkpoint(config, Some(checkpoint)));
    let outcome = match (outcome, signals.and_then(|s| s.exit_code())) {
        (Ok(outcome), _) => outcome,
        // A step that failed because the run was stopped: the interrupt decides the code.
        (Err(e), Some(code)) => {
            out.error(&format!("interrupted: {e}"));
            return Ok(code);
        }
        (Err(e), None) => return Err(e),
    };
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    report::write_redacted_files(&outcome, args.junit.as_deref(), args.json.as_deref(), &redactor)?;
    let view = View {
        details: args.details,
        note: store_note,
        to_stdout: !is_stdout(args.junit.as_deref()) && !is_stdout(args.json.as_deref()),
        redactor,
        signal_code: signals.and_then(|s| s.exit_code()),
    };
    Ok(print_outcome(&outcome, out, view))
}

/// How an outcome is printed: by `run`, and by `report merge` exactly the same way.
pub(super) struct View {
    /// `--details`.
    pub details: Details,
    /// A line printed before the report (e.g. snapshots skipped).
    pub note: Option<String>,
    /// The report goes to stdout (not when `--json -` or `--junit -` took it).
    pub to_stdout: bool,
    /// Hides the webhook token and the passcode in everything printed.
    pub redactor: Redactor,
    /// The exit code of the signal that stopped the run (128 + signal), if one did.
    pub signal_code: Option<i32>,
}

/// Prints a run's outcome and gives the run's exit code.
pub(super) fn print_outcome(outcome: &RunOutcome, out: &Output, view: View) -> i32 {
    if let Some(error) = &outcome.relay_error {
        out.error(&view.redactor.text(&report::relay_error::relay_error_text(error)));
        if report::relay_error::nothing_ran(outcome) && !outcome.interrupted {
            outln!("no case ran: the relay did not start");
            return exit_code::RELAY;
        }
    }
    let text = if out.quiet {
        let mut lines = report::summary::headlines(outcome, out.color);
        lines.push(report::last_line(&outcome.totals()));
        lines.join("\n")
    } else {
        human_report(outcome, view.details, out, view.note)
    };
    let text = view.redactor.text(&text);
    if view.to_stdout {
        outln!("{text}")
    } else {
        eprintln!("{text}")
    }
    let unusable = unusable_snapshots(outcome);
    for error in &unusable {
        out.error(error);
    }
    match (&outcome.relay_error, outcome.passed()) {
        _ if outcome.interrupted => view.signal_code.unwrap_or(INTERRUPTED),
        (Some(_), _) => exit_code::RELAY,
        (None, _) if !unusable.is_empty() => exit_code::USAGE,
        (None, true) => exit_code::SUCCESS,
        (None, false) => exit_code::FAILURE,
    }
}

fn human_report(outcome: &RunOutcome, details: Details, out: &Output, note: Option<String>) -> String {
    let text = match details {
        Details::All => report::render_human(outcome, out.color),
        Details::First(n) => report::render_compact(outcome, out.color, Some(n)),
    };
    match note {
        Some(note) => format!("{note}\n{text}"),
        None => text,
    }
}

pub(super) fn is_stdout(path: Option<&Path>) -> bool {
    path.is_some_and(|p| p.as_os_str() == "-")
}

/// A report path the checkpoint may write (not stdout: that is written once, at the end).
fn files_only(path: Option<&Path>) -> Option<&Path> {
    path.filter(|p| p.as_os_str() != "-")
}

/// Turns snapshots off where there is no store (and says how to start one); sets CI mode.
fn snapshot_store_note(args: &RunArgs, config: &mut RunConfig) -> Option<String> {
    config.ci = crate::snapshot::ci_mode();
    if args.no_snapshots || args.accept || args.snapshots.is_dir() {
        return None;
    }
    config.snapshots = None;
    Some(format!(
        "snapshots: skipped (no snapshot store at {}); once the run is green, `qc-harness run --accept` starts one",
        args.snapshots.display()
    ))
}

fn warn_if_empty(config: &RunConfig, out: &Output) {
    let cases = config.variants.len() * (config.catalogue.events.len() + config.catalogue.journeys.len());
    if cases == 0 && config.checks.is_empty() {
        out.warn("this run selects no case and no check (see --variants, --checks and --fixtures)");
    } else if cases == 0 && !config.variants.is_empty() {
        out.warn("the fixture catalogue is empty: no mapping case runs");
    }
}

fn config(args: &RunArgs) -> Result<RunConfig> {
    let spec = args.relay.to_spec()?;
    let catalogue = match &args.fixtures {
        Some(dir) => FixtureCatalogue::from_dir(dir)?,
        None => FixtureCatalogue::built_in()?,
    };
    let mut config = RunConfig::new(spec.clone(), catalogue);
    config.checks =
        suggest_on_error(select_checks(args.checks.as_deref()), args.checks.as_deref(), &check_names())?;
    (config.variants, config.check_settings) = variants(args, &spec)?;
    config.snapshots = (!args.no_snapshots).then(|| args.snapshots.clone());
    config.accept = args.accept;
    config.strict = args.strict;
    config.allow_extra_keys = args.allow_extra_keys;
    config.jobs = args.jobs.unwrap_or(config.jobs);
    config.timeout = args.timeout;
    config.settle = args.settle;
    config.token = args.token.clone();
    if let Some(partition) = args.partition {
        config.keep_shard(partition);
    }
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
    if spec.is_attached() {
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
    let mut variants = suggest_on_error(
        select_built_in(args.variants.as_deref()),
        args.variants.as_deref(),
        &crate::conformance::BUILT_IN_VARIANTS,
    )?;
    let mut extra: Vec<Variant> = declared.into_iter().collect();
    for arg in &args.variant_files {
        extra.push(Variant::from_arg(arg)?);
    }
    add_user_variants(&mut variants, extra)?;
    Ok((variants, Settings::default()))
}

/// Check names and their groups (`auth`, `upstream`, ...).
fn check_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = crate::conformance::CHECKS.iter().map(|c| c.name).collect();
    let groups: Vec<&'static str> = names.iter().filter_map(|n| n.split_once('.').map(|(g, _)| g)).collect();
    names.extend(groups);
    names
}

/// Adds "did you mean" to a usage error about an unknown name of `list`.
fn suggest_on_error<T>(result: Result<T>, list: Option<&str>, known: &[&str]) -> Result<T> {
    let Err(Error::Usage(message)) = result else { return result };
    let unknown = list.unwrap_or_default().split(',').map(str::trim).find(|item| {
        !item.is_empty() && !known.contains(&item.trim_end_matches(".*")) && !["all", "none"].contains(item)
    });
    let hint =
        unknown.map_or(String::new(), |item| super::suggest::did_you_mean(item, known.iter().copied()));
    Err(Error::Usage(format!("{message}{hint}")))
}

/// The terminal's progress bar, advanced by the runner.
#[derive(Debug)]
struct Bar(indicatif::ProgressBar);

impl Progress for Bar {
    fn set_total(&self, units: u64) {
        self.0.set_length(units);
    }

    fn advance(&self) {
        self.0.inc(1);
    }
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
