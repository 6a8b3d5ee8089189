//! Property cases per second: in-process reference mapping, a Python JSON-lines relay,
//! and the built-in reference relay over HTTP with the fake CleverTap.
//!
//! `cargo bench --bench props` (optionally a filter: `cargo bench --bench props -- lines`).
//! Targets (issue 6): in-process ≥ 20,000/s, JSON lines ≥ 5,000/s, HTTP ≥ 500/s.

use std::time::Instant;

use qc_harness::RelaySpec;
use qc_harness::relay::LinesRelay;
use qc_harness::{
    PropConfig, PropOutcome, PropTarget, ReferenceMapping, check_relay, run_properties, strategies,
};

const LINES_RELAY: &str = concat!("python3 ", env!("CARGO_MANIFEST_DIR"), "/tests/relays/lines/relay.py");

fn config(cases: u32) -> PropConfig {
    PropConfig { cases, seed: 2024, ..PropConfig::default() }
}

fn report(name: &str, target: f64, cpu_before: f64, outcome: qc_harness::Result<PropOutcome>) {
    let cpu = cpu_seconds() - cpu_before;
    let outcome = outcome.unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(outcome.failure.is_none(), "{name}: {:?}", outcome.failure);
    let rate = outcome.cases_per_second();
    let verdict = if rate >= target { "meets" } else { "BELOW" };
    println!(
        "{name:<44} {:>7} cases in {:>7.3} s = {:>9.0} cases/s ({verdict} target {target:.0}/s); \
         harness CPU {cpu:.2} s",
        outcome.cases,
        outcome.elapsed.as_secs_f64(),
        rate
    );
}

/// CPU seconds (user + system) this process has used so far: the machine may be shared.
fn cpu_seconds() -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

fn generation_only(cases: u32) {
    use proptest::strategy::{Strategy, ValueTree};
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = strategies::case();
    let (started, cpu) = (Instant::now(), cpu_seconds());
    for _ in 0..cases {
        std::hint::black_box(strategy.new_tree(&mut runner).map(|t| t.current()).ok());
    }
    let wall = started.elapsed().as_secs_f64();
    println!(
        "{:<44} {cases:>7} cases in {wall:>7.3} s = {:>9.0} cases/s ({:.0} per CPU-second)",
        "generation only (strategies::case)",
        f64::from(cases) / wall,
        f64::from(cases) / (cpu_seconds() - cpu)
    );
}

fn main() {
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    if wanted("generation") {
        generation_only(100_000);
    }
    if wanted("in-process") {
        let cpu = cpu_seconds();
        let outcome = run_properties(&mut ReferenceMapping, &strategies::case(), &config(100_000));
        report("in-process reference mapping", 20_000.0, cpu, outcome);
    }
    if wanted("lines") {
        let started = Instant::now();
        let mut relay = LinesRelay::spawn(LINES_RELAY).expect("the Python relay starts");
        println!("(python relay started in {:.3} s)", started.elapsed().as_secs_f64());
        let cpu = cpu_seconds();
        let outcome = run_properties(&mut relay, &strategies::case(), &config(30_000));
        report("--relay-lines tests/relays/lines/relay.py", 5_000.0, cpu, outcome);
    }
    if wanted("http") {
        let spec = RelaySpec::built_in(env!("CARGO_BIN_EXE_qc-harness"));
        let started = Instant::now();
        let cpu = cpu_seconds();
        let outcome = check_relay(&PropTarget::Http(spec), None, &config(5_000));
        println!(
            "(including the start of 6 reference relays: {:.3} s in all)",
            started.elapsed().as_secs_f64()
        );
        report("--relay-cmd built-in reference relay (HTTP)", 500.0, cpu, outcome);
    }
}
