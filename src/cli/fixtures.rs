//! `qc-harness fixtures [show NAME]`.

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
        /// The fixture name, as listed by `qc-harness fixtures`.
        name: String,
    },
}

pub fn execute(args: FixturesArgs, out: &Output) -> Result<i32> {
    let catalogue = FixtureCatalogue::built_in()?;
    match args.action {
        None => list(&catalogue, out),
        Some(FixturesAction::Show { name }) => {
            let name = name.strip_suffix(".json").unwrap_or(&name);
            let source = built_in_source(name).ok_or_else(|| {
                Error::Usage(format!("no built-in fixture named {name:?}; `qc-harness fixtures` lists them"))
            })?;
            print!("{}", String::from_utf8_lossy(source));
        }
    }
    Ok(exit_code::SUCCESS)
}

fn list(catalogue: &FixtureCatalogue, out: &Output) {
    out.line("events:");
    for f in &catalogue.events {
        let env = f.event.environment.get().map(String::as_str).unwrap_or("-");
        println!("  {:<52} {:<36} {env}", f.name, f.event.event_name);
    }
    out.line("journeys:");
    for j in &catalogue.journeys {
        let names: Vec<&str> = j.events.iter().map(|e| e.event_name.as_str()).collect();
        println!("  {:<52} {}", j.name, names.join(" → "));
    }
}
