//! Reports of a conformance run: human lines and diffs, the matrix, JUnit XML, JSON.
//!
//! Every report is written from a [`RunOutcome`](crate::conformance::RunOutcome) alone, so a
//! failed or interrupted run still writes all of them.

pub mod human;
pub mod json;
pub mod junit;
pub mod matrix;

use std::path::Path;

use crate::conformance::RunOutcome;
use crate::error::{Error, Result};

pub use human::{case_line, check_line, last_line, render_human};
pub use matrix::render_matrix;

/// Writes the `--junit` and `--json` files that were asked for.
pub fn write_files(outcome: &RunOutcome, junit: Option<&Path>, json: Option<&Path>) -> Result<()> {
    if let Some(path) = junit {
        write(path, &junit::render(outcome)?)?;
    }
    if let Some(path) = json {
        write(path, &json::render(outcome))?;
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    std::fs::write(path, text).map_err(|e| Error::io(path, e))
}
