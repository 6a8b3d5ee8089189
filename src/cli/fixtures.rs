//! `qc-harness fixtures [show NAME]`.

use super::output::outln;
use clap::{Args, Subcommand};

use super::Output;
use crate::error::{Error, Result, exit_code};
use crate::qonversion::FixtureCatalogue;
use crate::qonversion::fixtures::built_in_source;

/// List the built-in fixture catalogue, or print one fixture.
///
/// Examples:
///   qc-harness fixtures
///   qc-harness fixtures show subscription_renewed.ios
///   qc-harness fixtures show subscription_renewed.ios > my-event.json
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct FixturesArgs {
    #[command(subcommand)]
    action: Option<FixturesAction>,
}

#[derive(Debug, Subcommand)]
enum FixturesAction {
    /// Print one fixture (an event or a journey) exactly as stored.
    Show {
        /// The fixture name, as listed by `qc-harness fixtures` (or an event name: its iOS fixture).
        name: String,
    },
}

pub fn execute(args: FixturesArgs, out: &Output) -> Result<i32> {
    let catalogue = FixtureCatalogue::built_in()?;
    match args.action {
        None => list(&catalogue, out),
        Some(FixturesAction::Show { name }) => {
            let name = resolve_name(&catalogue, &name)?;
            let source = built_in_source(&name).ok_or_else(|| unknown_fixture(&catalogue, &name))?;
            print!("{}", String::from_utf8_lossy(source));
        }
    }
    Ok(exit_code::SUCCESS)
}

/// A fixture name as typed: `subscription_renewed.ios`, with `.json` or a path
/// (`fixtures/events/subscription_renewed.ios.json`), or an event name (its iOS fixture).
pub(crate) fn resolve_name(catalogue: &FixtureCatalogue, typed: &str) -> Result<String> {
    let file = std::path::Path::new(typed).file_name().map_or(typed.into(), |f| f.to_string_lossy());
    let name = file.strip_suffix(".json").unwrap_or(&file).to_string();
    if catalogue.get(&name).is_some() || catalogue.journeys.iter().any(|j| j.name == name) {
        return Ok(name);
    }
    let ios = format!("{name}.ios");
    if catalogue.get(&ios).is_some() {
        return Ok(ios);
    }
    Err(unknown_fixture(catalogue, &name))
}

/// "no built-in fixture named x; did you mean ...".
pub(crate) fn unknown_fixture(catalogue: &FixtureCatalogue, name: &str) -> Error {
    let events = crate::qonversion::EVENT_KINDS.iter().map(|k| k.name);
    let fixtures = catalogue.events.iter().map(|f| f.name.as_str());
    let names = events.chain(fixtures).chain(catalogue.journeys.iter().map(|j| j.name.as_str()));
    let hint = super::suggest::did_you_mean(name, names);
    Error::Usage(format!("no built-in fixture named `{name}`{hint} (`qc-harness fixtures` lists them)"))
}

fn list(catalogue: &FixtureCatalogue, out: &Output) {
    out.line("events:");
    for f in &catalogue.events {
        let env = f.event.environment.get().map(String::as_str).unwrap_or("-");
        outln!("  {:<52} {:<36} {env}", f.name, f.event.event_name);
    }
    out.line("journeys:");
    for j in &catalogue.journeys {
        let names: Vec<&str> = j.events.iter().map(|e| e.event_name.as_str()).collect();
        outln!("  {:<52} {}", j.name, names.join(" → "));
    }
}
