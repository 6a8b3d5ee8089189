//! Tests: the example of `docs/adding-a-check.md`. A new behaviour check is one type
//! implementing [`Check`] (the block between the `example check` markers: 27 lines) plus one
//! line in `REGISTRY`; here it runs through [`try_check`] against the reference relay, which
//! passes it, and a relay that uploads every record twice, which fails it.

use std::path::Path;
use std::time::Duration;

use qc_harness::conformance::checks::{
    Check, CheckContext, CheckDef, CheckFuture, REGISTRY, Verdict, processed_of, sample_event, try_check,
};
use qc_harness::conformance::observe::{settle, wait_until};
use qc_harness::{DEFAULT_TOKEN, Level, RelaySpec, RelayTarget, Settings};
use tokio::time::Instant;

// --- example check: begin ---
/// `example.uploaded-once`: a forwarded event is uploaded exactly once.
struct UploadedOnce;

impl Check for UploadedOnce {
    fn def(&self) -> &'static CheckDef {
        &CheckDef {
            name: "example.uploaded-once",
            level: Level::Must,
            clause: "MUST 5",
            expected: "a forwarded event is answered 2xx and uploaded exactly once",
        }
    }

    fn run<'a>(&'a self, ctx: &'a CheckContext<'a>) -> CheckFuture<'a> {
        Box::pin(async move {
            let user = "qc-check-example-uploaded-once";
            let delivery = ctx.sender.send(&sample_event("subscription_renewed", user)).await;
            let deadline = Instant::now() + ctx.timeout;
            wait_until(ctx.bench.fake(), deadline, || processed_of(ctx.bench, user) >= 1).await;
            settle(ctx.bench.fake(), ctx.settle, deadline + ctx.settle).await;
            let uploaded = processed_of(ctx.bench, user);
            let answered = delivery.attempts.last().and_then(|a| a.status);
            let passed = uploaded == 1 && answered.is_some_and(|s| (200..300).contains(&s));
            Verdict::new(passed, format!("answered {answered:?}, uploaded {uploaded} time(s)"), Vec::new())
        })
    }
}
// --- example check: end ---

async fn run_example(target: RelayTarget) -> Verdict {
    let spec = RelaySpec::new(target);
    let (timeout, settle) = (Duration::from_secs(5), Duration::from_millis(500));
    try_check(&UploadedOnce, &spec, DEFAULT_TOKEN, &Settings::default(), timeout, settle)
        .await
        .expect("the check runs")
}

fn relay_py(breaks: &str) -> RelayTarget {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/relays/relay.py");
    RelayTarget::Command(format!("BREAK={breaks} exec python3 '{}'", script.display()))
}

#[tokio::test]
async fn the_example_check_passes_on_the_reference_relay() {
    let verdict = run_example(RelayTarget::BuiltIn { exe: env!("CARGO_BIN_EXE_qc-harness").into() }).await;
    assert!(verdict.passed, "{}", verdict.observed);
    assert!(verdict.observed.contains("uploaded 1 time"), "{}", verdict.observed);
}

#[tokio::test]
async fn the_example_check_fails_on_a_relay_that_uploads_twice() {
    let verdict = run_example(relay_py("double-upload")).await;
    assert!(!verdict.passed, "{}", verdict.observed);
    assert!(verdict.observed.contains("uploaded 2 time"), "{}", verdict.observed);
}

#[test]
fn the_registry_lists_each_check_once_in_report_order() {
    let names: Vec<&str> = REGISTRY.iter().map(|c| c.def().name).collect();
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(names.len(), 24);
    assert_eq!(unique.len(), names.len(), "a check is registered twice");
    assert_eq!(names.first(), Some(&"auth.missing-token"));
    assert_eq!(names.last(), Some(&"upstream.partial"));
    assert!(names.iter().all(|n| qc_harness::conformance::checks::check_named(n).is_some()));
}
