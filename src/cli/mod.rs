//! The command line (`cli.md`): clap types, converted once into plain config for the library.
//!
//! One file per subcommand; each turns its arguments into the library's config and calls
//! one library function. [`main`] maps every error to its documented exit code.

use clap::{Parser, Subcommand};

use crate::error::{Result, exit_code};

mod addr;
mod clevertap;
mod completions;
mod dev;
mod fixtures;
mod map;
mod numbers;
mod output;
mod parity;
mod prop;
mod reference_relay;
mod relay_args;
mod report;
mod run;
mod send;
mod snapshots;
mod suggest;

pub use output::Output;

/// Mock-and-conformance test harness for Qonversion → CleverTap relays.
///
/// Plays Qonversion (sends webhooks) and CleverTap (checks uploads like the real Upload
/// API) around the relay under test.
///
/// Examples:
///   qc-harness run                                   # the full suite, built-in reference relay
///   qc-harness run --relay-cmd "python3 relay.py"   # your relay, any language
///   qc-harness map subscription_renewed.ios                # what the reference mapping uploads
///   qc-harness snapshots                             # review pending snapshots
#[derive(Debug, Parser)]
#[command(name = "qc-harness", version, verbatim_doc_comment, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Print only errors and the final line (`run`: and one line per root cause; `clevertap`:
    /// and its address, so that `--listen 127.0.0.1:0` can be used).
    #[arg(short, long, global = true)]
    quiet: bool,
    /// More output; repeat for more (-vv). Logs go to stderr, filtered by RUST_LOG.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// When to colour the output: auto (a terminal, NO_COLOR unset), always, never.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t)]
    color: output::ColorChoice,
}

#[derive(Debug, Subcommand)]
enum Command {
    Run(run::RunArgs),
    Clevertap(clevertap::ClevertapArgs),
    Send(send::SendArgs),
    Dev(dev::DevArgs),
    Map(map::MapArgs),
    Prop(prop::PropArgs),
    Parity(parity::ParityArgs),
    ReferenceRelay(reference_relay::ReferenceRelayArgs),
    Fixtures(fixtures::FixturesArgs),
    Snapshots(snapshots::SnapshotsArgs),
    Report(report::ReportArgs),
    Completions(completions::CompletionsArgs),
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { exit_code::USAGE } else { exit_code::SUCCESS };
        }
    };
    let out = Output::new(cli.quiet, cli.verbose, cli.color);
    out.init_logging();
    crate::clevertap::raise_open_file_limit();
    crate::clevertap::quiet_request_panics();
    match execute(cli.command, &out) {
        Ok(code) => code,
        Err(e) => {
            out.error(&e.to_string());
            e.exit_code()
        }
    }
}

fn execute(command: Command, out: &Output) -> Result<i32> {
    own_signals(&command)?;
    match command {
        Command::Run(args) => run::execute(args, out),
        Command::Clevertap(args) => clevertap::execute(args, out),
        Command::Send(args) => send::execute(args, out),
        Command::Dev(args) => dev::execute(args, out),
        Command::Map(args) => map::execute(args, out),
        Command::Prop(args) => prop::execute(args, out),
        Command::Parity(args) => parity::execute(args, out),
        Command::ReferenceRelay(args) => reference_relay::execute(args, out),
        Command::Fixtures(args) => fixtures::execute(args, out),
        Command::Snapshots(args) => snapshots::execute(args, out),
        Command::Report(args) => report::execute(args, out),
        Command::Completions(args) => completions::execute(args),
    }
}

/// A multi-threaded tokio runtime for the async subcommands.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| crate::Error::Network(format!("cannot start the async runtime: {e}")))
}

/// How long `run` may take, after the first interrupt, to stop its relays and write its
/// report before a second interrupt is assumed.
const INTERRUPT_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// The process's one signal owner, for the commands that start relays.
static SIGNALS: std::sync::OnceLock<crate::relay::ShutdownSignals> = std::sync::OnceLock::new();

/// The signal owner, if this command installed one.
pub(crate) fn signals() -> Option<&'static crate::relay::ShutdownSignals> {
    SIGNALS.get()
}

/// For commands that start relays: becomes the child subreaper (Linux) and owns SIGINT,
/// SIGTERM and SIGHUP. `run` winds down at the first signal (its token is cancelled) and
/// exits at a second; the others stop their relays and exit at the first.
fn own_signals(command: &Command) -> Result<()> {
    use crate::relay::{Escalate, ShutdownSignals};
    let mode = match command {
        Command::Run(_) => Escalate::OnSecondSignal { grace: INTERRUPT_GRACE },
        Command::Dev(_) | Command::Prop(_) | Command::Parity(_) => Escalate::OnFirstSignal,
        _ => return Ok(()),
    };
    crate::relay::become_subreaper();
    let signals = ShutdownSignals::install(mode, |code| std::process::exit(code))?;
    let _ = SIGNALS.set(signals);
    Ok(())
}
