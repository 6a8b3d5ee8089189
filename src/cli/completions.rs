//! `qc-harness completions`.

use clap::Args;

use crate::error::{Error, Result};

/// Not implemented yet.
#[derive(Debug, Args)]
pub struct CompletionsArgs {}

pub fn execute(_args: CompletionsArgs) -> Result<i32> {
    Err(Error::Usage("`completions` is not implemented yet".into()))
}
