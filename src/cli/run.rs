//! `qc-harness run`.

use clap::Args;

use super::Output;
use crate::error::{Error, Result};

/// Not implemented yet.
#[derive(Debug, Args)]
pub struct RunArgs {}

pub fn execute(_args: RunArgs, _out: &Output) -> Result<i32> {
    Err(Error::Usage("`run` is not implemented yet".into()))
}
