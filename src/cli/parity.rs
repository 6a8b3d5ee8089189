//! `qc-harness parity`: the fake against the real Upload API (or any upstream).

use super::output::outln;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::Output;
use crate::clevertap::validate::DEFAULT_PROPERTY_LIMIT;
use crate::error::exit_code;
use crate::parity::cassette::AccountSettings;
use crate::parity::{Account, ParityConfig, ParityError, ParityReport, run};

/// The exit code of an unreachable upstream or refused credentials.
const UPSTREAM: i32 = 3;

/// Compare the fake CleverTap with the real Upload API, request by request.
///
/// Sends a corpus of upload requests (one or more per rule and code of clevertap-upload.md:
/// auth, envelope, every per-record code, limits, mixed batches) to --upstream and to an
/// in-process fake set up like the account, always with ?dryRun=1 so that CleverTap stores
/// nothing, and reports every difference in HTTP status, body shape, status, processed, and
/// per-record codes, record numbers and texts. At most --concurrency (max 15) requests are
/// in flight; a 429 is retried after its Retry-After. The passcode is never printed.
///
/// Exit codes: 0 no difference, 1 differences, 2 bad input, 3 upstream unreachable or
/// refusing the credentials.
///
/// Examples (the passcode from the environment, CLEVERTAP_PASSCODE):
///   qc-harness parity --upstream https://eu1.api.clevertap.com --account-id ID
///   qc-harness parity --upstream https://in1.api.clevertap.com --account-id ID \
///       --property-limit 256 --record tests/cassettes
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ParityArgs {
    /// The Upload API's base URL: https://<region>.api.clevertap.com (eu1, in1, sg1, us1, aps3, mec1, sk1).
    #[arg(long, value_name = "URL")]
    upstream: String,
    /// The CleverTap Account ID (Settings > Project > Account ID).
    #[arg(long, value_name = "ID", env = "CLEVERTAP_ACCOUNT_ID")]
    account_id: String,
    /// The account's Passcode; prefer the CLEVERTAP_PASSCODE environment variable. Never printed.
    #[arg(long, value_name = "P", env = "CLEVERTAP_PASSCODE", hide_env_values = true)]
    passcode: Passcode,
    /// Write the upstream's answers as cassette files (one JSON file per request) into DIR.
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
    /// The account's property limit per event (the 522 cases send this many and one more).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PROPERTY_LIMIT, value_parser = super::numbers::count_or_zero)]
    property_limit: usize,
    /// The account has Nested Objects switched on.
    #[arg(long)]
    nested_objects: bool,
    /// An event name discarded in the account: adds the 528 case.
    #[arg(long, value_name = "NAME")]
    discarded_event: Option<String>,
    /// Requests in flight per side, 1 to 15 (the Upload API allows 15 per account).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = super::numbers::count)]
    concurrency: usize,
    /// Per-request timeout: seconds, or with a unit (500ms, 1m).
    #[arg(long, value_name = "SECS", default_value = "30", value_parser = crate::duration::flag::positive_secs)]
    timeout: Duration,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// The passcode; `Debug` never shows it.
#[derive(Clone)]
struct Passcode(String);

impl std::str::FromStr for Passcode {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() { Err("the passcode is empty".into()) } else { Ok(Passcode(text.to_string())) }
    }
}

impl std::fmt::Debug for Passcode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("[redacted]")
    }
}

impl ParityArgs {
    fn config(&self) -> ParityConfig {
        ParityConfig {
            upstream: self.upstream.clone(),
            account: Account::new(self.account_id.clone(), self.passcode.0.clone()),
            settings: AccountSettings {
                property_limit: self.property_limit,
                nested_objects: self.nested_objects,
                discarded_event: self.discarded_event.clone(),
            },
            record: self.record.clone(),
            concurrency: self.concurrency,
            timeout: self.timeout,
        }
    }
}

pub fn execute(args: ParityArgs, out: &Output) -> crate::Result<i32> {
    let config = args.config();
    let report = match super::runtime()?.block_on(run(&config)) {
        Ok(report) => report,
        Err(ParityError::Upstream(message)) => {
            out.error(&message);
            return Ok(UPSTREAM);
        }
        Err(ParityError::Setup(error)) => return Err(error),
    };
    if args.json {
        outln!("{}", report_json(&report));
    } else {
        print_report(&report, out);
    }
    Ok(if report.differences.is_empty() { exit_code::SUCCESS } else { exit_code::FAILURE })
}

fn report_json(report: &ParityReport) -> String {
    let value = serde_json::json!({
        "upstream": report.upstream,
        "requests": report.requests,
        "rules": report.rules,
        "differences": report.differences,
        "recorded": report.recorded,
        "elapsed_ms": report.elapsed.as_millis() as u64,
    });
    serde_json::to_string_pretty(&value).expect("JSON values serialise")
}

fn print_report(report: &ParityReport, out: &Output) {
    let mut last_case = "";
    for difference in &report.differences {
        if difference.case != last_case {
            out.line(&format!("{} [rule {}]", difference.case, difference.rule));
            last_case = &difference.case;
        }
        out.line(&format!("  {}", difference.aspect));
        out.line(&format!("    fake:     {}", difference.fake));
        out.line(&format!("    upstream: {}", difference.upstream));
    }
    for path in &report.recorded {
        out.line(&format!("recorded {}", path.display()));
    }
    let cases = {
        let mut names: Vec<&str> = report.differences.iter().map(|d| d.case.as_str()).collect();
        names.dedup();
        names.len()
    };
    outln!(
        "parity against {}: {} requests, {} rules, {} differences in {} requests ({:.1}s)",
        report.upstream,
        report.requests,
        report.rules.len(),
        report.differences.len(),
        cases,
        report.elapsed.as_secs_f64()
    );
}
