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

/// Puts `#[cfg(feature = "conformance")]` on each item: the runner's part of this module.
macro_rules! with_runner {
    ($($item:item)*) => { $( #[cfg(feature = "conformance")] $item )* };
}

with_runner! {
    pub mod bench;
    pub mod checks;
    pub mod config;
    pub mod fixture_compare;
    pub mod hints;
    pub mod mapping_run;
    pub mod observe;
    pub mod outcome;
    pub mod partition;
    pub mod reasons;
    pub mod runner;
    pub mod suite;
    pub mod variants;
    pub use crate::relay::{RelayAdapter, RelayHandle, RelaySetup};
    pub use checks::{CHECKS, CheckDef, select_checks};
    pub use config::RunConfig;
    pub use fixture_compare::{Differences, Received, compare_fixture};
    pub use outcome::{CaseResult, CheckResult, Level, RunOutcome, Status, Totals};
    pub use partition::{Partition, RunPlan};
    pub use runner::{Checkpoint, run, run_with_checkpoint};
    pub use suite::Suite;
    pub use variants::{BUILT_IN_VARIANTS, Variant};
}
