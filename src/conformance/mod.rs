//! The conformance run: variants, behaviour checks, comparison, the runner.
//!
//! `run` starts the relay once per variant and once per behaviour check, sends every
//! fixture, attributes what the fake CleverTap received to its fixture, compares it with the
//! reference mapping and the snapshots, and returns a `RunOutcome` that the reports in
//! `crate::report` are written from.

// The comparison is part of the lean library (no feature); the runner needs `conformance`.
pub mod attribution;
pub mod compare;
pub mod comparison;
pub use compare::{CompareOptions, Difference, ObservedRecord};
pub use comparison::Comparison;

#[cfg(feature = "conformance")]
pub mod bench;
#[cfg(feature = "conformance")]
pub mod checks;
#[cfg(feature = "conformance")]
pub mod config;
#[cfg(feature = "conformance")]
pub mod fixture_compare;
#[cfg(feature = "conformance")]
pub mod hints;
#[cfg(feature = "conformance")]
pub mod mapping_run;
#[cfg(feature = "conformance")]
pub mod observe;
#[cfg(feature = "conformance")]
pub mod outcome;
#[cfg(feature = "conformance")]
pub mod partition;
#[cfg(feature = "conformance")]
pub mod reasons;
#[cfg(feature = "conformance")]
pub mod runner;
#[cfg(feature = "conformance")]
pub mod suite;
#[cfg(feature = "conformance")]
pub mod variants;

#[cfg(feature = "conformance")]
pub use crate::relay::{RelayAdapter, RelayHandle, RelaySetup};
#[cfg(feature = "conformance")]
pub use checks::{CHECKS, CheckDef, select_checks};
#[cfg(feature = "conformance")]
pub use config::RunConfig;
#[cfg(feature = "conformance")]
pub use fixture_compare::{Differences, Received, compare_fixture};
#[cfg(feature = "conformance")]
pub use outcome::{CaseResult, CheckResult, Level, RunOutcome, Status, Totals};
#[cfg(feature = "conformance")]
pub use partition::{Partition, RunPlan};
#[cfg(feature = "conformance")]
pub use runner::{Checkpoint, run, run_with_checkpoint};
#[cfg(feature = "conformance")]
pub use suite::Suite;
#[cfg(feature = "conformance")]
pub use variants::{BUILT_IN_VARIANTS, Variant};
