//! `qc-harness map FILE [--settings FILE]`.

use super::output::outln;
use std::path::PathBuf;

use clap::Args;

use super::Output;
use crate::error::{Error, Result, exit_code};
use crate::mapping::{Settings, expected_records, upload_body};
use crate::qonversion::WebhookEvent;

/// Print the CleverTap upload body the reference mapping makes from a webhook file.
///
/// Prints `{"d":[...]}`, or `{"d":[]}` when the event is not forwarded. FILE may be `-`
/// for standard input, or a built-in fixture's name (`qc-harness fixtures` lists them), so
/// the examples work from any directory.
///
/// Examples:
///   qc-harness map subscription_renewed.ios
///   qc-harness map fixtures/events/subscription_renewed.ios.json
///   qc-harness map event.json --settings settings.json
///   qc-harness fixtures show trial_converted.ios | qc-harness map -
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct MapArgs {
    /// The webhook body: a JSON file, `-` (standard input), or a built-in fixture name.
    #[arg(value_name = "FILE|FIXTURE")]
    file: PathBuf,
    /// Integration settings (relay-contract.md §3); default settings when absent.
    #[arg(long, value_name = "FILE")]
    settings: Option<PathBuf>,
}

pub fn execute(args: MapArgs, _out: &Output) -> Result<i32> {
    let settings = match &args.settings {
        Some(path) => Settings::from_file(path)?,
        None => Settings::default(),
    };
    let event = read_event(&args.file)?;
    let body = upload_body(&expected_records(&event, &settings));
    let text = serde_json::to_string_pretty(&body).map_err(|e| Error::Failed(e.to_string()))?;
    outln!("{text}");
    Ok(exit_code::SUCCESS)
}

fn read_event(path: &PathBuf) -> Result<WebhookEvent> {
    if path.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).map_err(|e| Error::io("<stdin>", e))?;
        return WebhookEvent::from_json(&bytes, "<stdin>");
    }
    if !path.exists() {
        let catalogue = crate::qonversion::FixtureCatalogue::built_in()?;
        let typed = path.to_string_lossy();
        let name = super::fixtures::resolve_name(&catalogue, &typed).ok();
        if let Some(fixture) = name.and_then(|name| catalogue.get(&name).cloned()) {
            return Ok(fixture.event);
        }
        if !typed.contains('/') && !typed.ends_with(".json") {
            return Err(super::fixtures::unknown_fixture(&catalogue, &typed));
        }
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    WebhookEvent::from_json(&bytes, path)
}
