//! `qc-harness send`.

use clap::Args;

use super::Output;
use crate::error::{Error, Result};

/// Not implemented yet.
#[derive(Debug, Args)]
pub struct SendArgs {}

pub fn execute(_args: SendArgs, _out: &Output) -> Result<i32> {
    Err(Error::Usage("`send` is not implemented yet".into()))
}
