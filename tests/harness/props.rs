//! Tests: property tests of relay mappings (strategies, properties, `qc-harness prop`).

use std::time::Instant;

use qc_harness::props::strategies;
use qc_harness::props::{PropConfig, ReferenceMapping, run_properties};

#[test]
fn reference_mapping_satisfies_every_property() {
    let started = Instant::now();
    let config = PropConfig { cases: 10_000, seed: 1, ..PropConfig::default() };
    let outcome = run_properties(&mut ReferenceMapping, &strategies::case(), &config).unwrap();
    assert!(outcome.failure.is_none(), "{:?}", outcome.failure);
    assert_eq!(outcome.cases, 10_000);
    eprintln!("{} cases in {:?}", outcome.cases, started.elapsed());
}
