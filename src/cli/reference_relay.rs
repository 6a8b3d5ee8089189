//! `qc-harness reference-relay`.

use clap::Args;

use super::Output;
use crate::error::{Error, Result};

/// Not implemented yet.
#[derive(Debug, Args)]
pub struct ReferenceRelayArgs {}

pub fn execute(_args: ReferenceRelayArgs, _out: &Output) -> Result<i32> {
    Err(Error::Usage("`reference-relay` is not implemented yet".into()))
}
