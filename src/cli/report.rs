//! `qc-harness report merge`: join the shard reports of a `run --partition K/N`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::Output;
use crate::error::Result;
use crate::report;

/// Work with the reports that `run --json` writes.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    command: ReportCommand,
}

#[derive(Debug, Subcommand)]
enum ReportCommand {
    Merge(MergeArgs),
}

/// Joins the JSON reports of the shards of one `run --partition K/N` into the reports the
/// unsharded run would have written: one JSON report, one JUnit file, and the human lines,
/// summary and matrix on stdout. Refuses reports of different harness versions, relays or
/// settings, a shard given twice and a missing shard, naming the file. Exits like `run`:
/// 0 all passed, 1 something failed, 2 bad or mismatched reports, 3 a shard's relay failed.
///
/// Examples:
///   qc-harness run --partition 1/2 --json shard-1.json   # in CI job 1
///   qc-harness run --partition 2/2 --json shard-2.json   # in CI job 2
///   qc-harness report merge shard-*.json --json run.json --junit run.xml
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
struct MergeArgs {
    /// The shard reports (`run --partition K/N --json FILE`), one per shard, any order.
    #[arg(required = true, value_name = "SHARD.json")]
    shards: Vec<PathBuf>,
    /// Write the merged JSON report here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Write the merged JUnit XML report here.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
    /// Examples shown per root cause: a number, or `all` for every failure in full (as `run`).
    #[arg(long, value_name = "N|all", default_value = "3", value_parser = super::run::parse_details)]
    details: super::run::Details,
}

pub fn execute(args: ReportArgs, out: &Output) -> Result<i32> {
    let ReportCommand::Merge(args) = args.command;
    let mut shards = Vec::with_capacity(args.shards.len());
    for path in &args.shards {
        shards.push((path.clone(), report::merge::read_shard(path)?));
    }
    let outcome = report::merge::merge(shards)?;
    report::write_files(&outcome, args.junit.as_deref(), args.json.as_deref())?;
    let to_stdout =
        ![&args.json, &args.junit].iter().any(|p| p.as_deref().is_some_and(|p| p.as_os_str() == "-"));
    let redactor = crate::redact::Redactor::new([
        crate::qonversion::DEFAULT_TOKEN.to_string(),
        crate::clevertap::DEFAULT_PASSCODE.to_string(),
    ]);
    let view = super::run::View { details: args.details, note: None, to_stdout, redactor, signal_code: None };
    Ok(super::run::print_outcome(&outcome, out, view))
}
