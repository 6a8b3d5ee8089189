//! `qc-harness prop`: property tests of a relay's mapping with generated events.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::Output;
use super::relay_args::RelayArgs;
use crate::conformance::Partition;
use crate::error::{Result, exit_code};
use crate::mapping::Settings;
use crate::props::fixture::{fixture_json, fixture_name, save_failure};
use crate::props::{CheckOptions, Counterexample, PropConfig, PropOutcome, PropTarget, check_relay};

/// Property-test a relay's mapping with generated webhook events.
///
/// Generates events (every kind, both platforms and environments, odd currencies, revenue
/// edge values, unicode/empty ids, missing and unknown fields) and settings, and checks
/// the relay's records against the rules of mapping.md and CleverTap's record checks.
/// A failure is shrunk to a small event, printed as a ready-to-save fixture with the
/// property (expected vs observed) and the seed that replays it.
///
/// Relays: --relay-lines CMD (mapping only, JSON lines on stdin/stdout: fastest), or
/// --relay-cmd CMD / --relay-url URL (webhooks over HTTP, uploads to the fake CleverTap).
/// With no relay flag the built-in reference relay runs over HTTP. Settings: generated
/// per case with --relay-lines; a pool of one relay per settings (defaults, two contrast
/// settings, three generated from the seed) with --relay-cmd. --settings FILE fixes the
/// settings of every --relay-lines case, joins the pool of --relay-cmd, and declares the
/// settings of a --relay-url relay.
///
/// Exit codes: 0 every property held; 1 a property failed; 2 bad flags or input;
/// 3 the relay could not be started or died.
///
/// Examples:
///   qc-harness prop --relay-lines "python3 relay.py" --cases 10000
///   qc-harness prop --relay-lines "node map.js" --seed 42 --save-failure fixtures/found
///   qc-harness prop --relay-cmd "python3 server.py --port {port}" --cases 500
///   qc-harness prop --relay-url http://127.0.0.1:3000 --clevertap-listen 127.0.0.1:8080 --settings s.json
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct PropArgs {
    /// A mapping-only relay speaking JSON lines (relay-contract.md §5): one
    /// {"event":..,"settings":..} per line in, one {"records":[..]} per line out.
    #[arg(long, value_name = "CMD", conflicts_with_all = ["relay_cmd", "relay_url"])]
    relay_lines: Option<String>,
    #[command(flatten)]
    relay: RelayArgs,
    /// Number of generated cases.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = super::numbers::cases)]
    cases: u32,
    /// Seed of the generator; the same seed replays the same cases (default: random, printed).
    #[arg(long, value_name = "S")]
    seed: Option<u64>,
    /// Write the shrunk failing event as a fixture file into DIR (its settings into DIR/settings/).
    #[arg(long, value_name = "DIR")]
    save_failure: Option<PathBuf>,
    /// Accept evtData keys that the reference mapping does not make.
    #[arg(long)]
    allow_extra_keys: bool,
    /// Most shrink steps tried after a failure (each step runs one case).
    #[arg(long, value_name = "N", default_value_t = 2048)]
    max_shrink_iters: u32,
    /// Run only shard K of N (e.g. 2/4): the cases are generated from the seed exactly as in an
    /// unsharded run and dealt round-robin to the shards, so the N shards with the same
    /// --seed and --cases run every case exactly once, and each shard replays on its own.
    #[arg(long, value_name = "K/N")]
    partition: Option<Partition>,
    /// How long a --relay-lines relay may take to answer one line: seconds, or with a unit (500ms).
    #[arg(long, value_name = "SECS", default_value = "5", value_parser = crate::duration::flag::positive_secs)]
    line_timeout: Duration,
}

pub fn execute(args: PropArgs, out: &Output) -> Result<i32> {
    let target = target(&args)?;
    args.relay.warn_if_exposed(out);
    crate::redact::hide_in_logs([
        crate::qonversion::DEFAULT_TOKEN.into(),
        crate::clevertap::DEFAULT_PASSCODE.into(),
    ]);
    let settings = args.relay.settings.as_ref().map(Settings::from_file).transpose()?;
    let seed = args.seed.unwrap_or_else(rand::random);
    let config = PropConfig {
        cases: args.cases,
        seed,
        options: CheckOptions { allow_extra_keys: args.allow_extra_keys, ..CheckOptions::default() },
        progress: out.is_terminal && !out.quiet,
        max_shrink_iters: args.max_shrink_iters,
        partition: args.partition,
    };
    if !out.quiet {
        match args.partition {
            None => emit(&format!("seed {seed}, {} cases\n", args.cases)),
            Some(p) => emit(&format!(
                "seed {seed}, {} of {} cases (shard {p})\n",
                p.share(args.cases as usize),
                args.cases
            )),
        }
    }
    let outcome = check_relay(&target, settings, &config)?;
    match &outcome.failure {
        None => {
            emit(&format!("{} cases passed, every property held (seed {seed})\n", outcome.cases));
            Ok(exit_code::SUCCESS)
        }
        Some(counterexample) => {
            report_failure(&outcome, counterexample, &args)?;
            Ok(exit_code::FAILURE)
        }
    }
}

fn target(args: &PropArgs) -> Result<PropTarget> {
    if let Some(command) = &args.relay_lines {
        return Ok(PropTarget::Lines { command: command.clone(), line_timeout: args.line_timeout });
    }
    Ok(PropTarget::Http(args.relay.to_spec()?))
}

fn report_failure(outcome: &PropOutcome, found: &Counterexample, args: &PropArgs) -> Result<()> {
    let seed = outcome.seed;
    let name = fixture_name(&found.event, seed);
    let title = format!(
        "property {} failed at case {} of {} (shrunk in {} steps)",
        found.failure.property, outcome.cases, args.cases, outcome.shrink_steps
    );
    let records = serde_json::to_string(&found.records).unwrap_or_default();
    let mut text = format!(
        "{}\n  expected: {}\n  observed: {}\nsettings:\n{}\nrecords from the relay: {records}\n\
         failing event, a ready-to-save fixture (fixtures/events/{name}.json):\n{}",
        console::style(title).red().bold(),
        found.failure.expected,
        found.failure.observed,
        found.settings.to_json_pretty(),
        fixture_json(&found.event),
    );
    if let Some(dir) = &args.save_failure {
        let saved = save_failure(dir, found, seed)?;
        text += &format!("saved {} and {}\n", saved.event.display(), saved.settings.display());
    }
    text += &format!(
        "replay: {}\nproperty {} failed (seed {seed})\n",
        replay_command(seed),
        found.failure.property
    );
    emit(&text);
    Ok(())
}

/// Writes to stdout; a closed stdout (`| head`) is not an error worth a panic.
fn emit(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
}

/// This command line with `--seed S` (replacing any given seed), quoted for a shell.
fn replay_command(seed: u64) -> String {
    let mut words = vec!["qc-harness".to_string()];
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--seed" {
            args.next();
        } else if !arg.starts_with("--seed=") {
            words.push(quote(&arg));
        }
    }
    words.push(format!("--seed {seed}"));
    words.join(" ")
}

fn quote(word: &str) -> String {
    let plain = !word.is_empty() && word.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:@,".contains(c));
    if plain { word.to_string() } else { format!("'{}'", word.replace('\'', r"'\''")) }
}
