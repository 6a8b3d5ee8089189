//! `qc-harness clevertap`.

use clap::Args;

use super::Output;
use crate::error::{Error, Result};

/// Not implemented yet.
#[derive(Debug, Args)]
pub struct ClevertapArgs {}

pub fn execute(_args: ClevertapArgs, _out: &Output) -> Result<i32> {
    Err(Error::Usage("`clevertap` is not implemented yet".into()))
}
