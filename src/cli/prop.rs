//! `qc-harness prop`.

use clap::Args;

use super::Output;
use crate::error::{Error, Result};

/// Not implemented yet.
#[derive(Debug, Args)]
pub struct PropArgs {}

pub fn execute(_args: PropArgs, _out: &Output) -> Result<i32> {
    Err(Error::Usage("`prop` is not implemented yet".into()))
}
