//! Tests: the whole conformance suite in-process (`qc_harness::conformance::Suite`) for Rust
//! relays: the reference relay passes every unit with its own settings; broken relays fail.

mod mini_relay;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mini_relay::{Bug, FIVE, adapter};
use qc_harness::conformance::{BUILT_IN_VARIANTS, CHECKS, Difference, Status, Suite, Variant};
use qc_harness::reference_relay::{RelayConfig, serve_on};
use qc_harness::{RelayHandle, RelaySetup};

/// The built-in reference relay, started in-process per unit.
async fn reference_relay(setup: RelaySetup) -> qc_harness::Result<RelayHandle> {
    let config = RelayConfig::for_setup(&setup);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = serve_on(setup.listener, config, async move {
        let _ = stopped.await;
    });
    Ok(RelayHandle::spawn(server).with_shutdown(stop))
}

fn seen() -> Arc<Mutex<Vec<qc_harness::Settings>>> {
    Arc::new(Mutex::new(Vec::new()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_reference_relay_in_process_passes_every_variant_and_every_check_with_nothing_skipped() {
    let started = Instant::now();
    let outcome = Suite::named(reference_relay, "reference").run().await.unwrap();
    outcome.assert_passed();
    assert_eq!(outcome.variants, BUILT_IN_VARIANTS, "every built-in variant ran");
    assert_eq!(outcome.checks.len(), CHECKS.len(), "every check ran");
    // Nothing skipped; a SHOULD timing check may warn on a starved machine (not a failure).
    assert!(outcome.checks.iter().all(|c| c.status != Status::Skipped), "{:#?}", outcome.checks);
    assert_eq!(outcome.check("event.disabled").unwrap().status, Status::Passed);
    assert_eq!(outcome.check("event.disabled").unwrap().variant, "checks+event.disabled");
    assert_eq!(outcome.cases.len(), BUILT_IN_VARIANTS.len() * outcome.fixtures.len());
    assert_eq!(outcome.plan.relay, "in-process relay reference");
    eprintln!("whole suite in-process: {} units in {:?}", outcome.totals().passed, started.elapsed());
}

#[tokio::test]
async fn each_unit_starts_its_own_relay_with_its_own_settings() {
    let seen = seen();
    let outcome =
        Suite::new(adapter(Bug::None, seen.clone())).checks("event.disabled,auth").run().await.unwrap();
    outcome.assert_passed();
    let seen = seen.lock().unwrap().clone();
    // One start alone first (the probe), then one per variant and one per check.
    assert_eq!(seen.len(), 1 + BUILT_IN_VARIANTS.len() + 3, "{seen:#?}");
    for name in BUILT_IN_VARIANTS {
        let settings = Variant::built_in(name).unwrap().settings;
        assert!(seen.contains(&settings), "variant {name}'s settings never reached a relay");
    }
    assert!(
        seen.iter().any(|s| s.events.get("trial_started").is_some_and(|e| e.enabled == Some(false))),
        "the event.disabled check's settings never reached a relay"
    );
}

#[tokio::test]
async fn a_relay_that_drops_ts_fails_every_case_that_has_a_record() {
    let outcome = Suite::new(adapter(Bug::DropsTs, seen())).variants(["default"]).checks("none").run().await;
    let outcome = outcome.unwrap();
    assert!(!outcome.passed());
    let case = outcome.case("subscription_renewed.ios", "default").unwrap();
    assert_eq!(case.status, Status::Failed);
    assert!(
        case.differences
            .iter()
            .any(|d| matches!(d, Difference::Field { path, observed: None, .. } if path == "ts")),
        "{:?}",
        case.differences
    );
    let report = std::panic::catch_unwind(|| outcome.assert_passed()).unwrap_err();
    let text = report.downcast_ref::<String>().unwrap();
    assert!(text.contains("ts: missing"), "the panic carries the report's summary: {text}");
}

#[tokio::test]
async fn the_disabled_event_check_runs_and_catches_a_relay_that_forwards_a_disabled_event() {
    let broken = Suite::new(adapter(Bug::ForwardsDisabledEvents, seen()))
        .variants(Vec::<&str>::new())
        .checks("event.disabled")
        .run()
        .await
        .unwrap();
    let check = broken.check("event.disabled").unwrap();
    assert_eq!(check.status, Status::Failed, "{check:#?}");
    assert!(check.observed.contains("expected no upload"), "{}", check.observed);
    let correct = Suite::new(adapter(Bug::None, seen()))
        .variants(Vec::<&str>::new())
        .checks("event.disabled")
        .run()
        .await;
    assert_eq!(correct.unwrap().check("event.disabled").unwrap().status, Status::Passed);
}

#[tokio::test]
async fn a_relay_mapping_five_fields_passes_partial_mode_on_them_and_fails_when_one_is_wrong() {
    let suite = |bug| Suite::new(adapter(bug, seen())).variants(["default"]).checks("none");
    let partial = suite(Bug::FiveFields).partial(FIVE).run().await.unwrap();
    partial.assert_passed();
    let strict = suite(Bug::FiveFields).run().await.unwrap();
    assert!(!strict.passed(), "strict stays the default");
    let wrong = suite(Bug::FiveFieldsWrongPlatform).partial(FIVE).run().await.unwrap();
    assert!(!wrong.passed());
    let case = wrong.case("subscription_renewed.ios", "default").unwrap();
    let text: Vec<String> = case.differences.iter().map(ToString::to_string).collect();
    assert_eq!(text, ["evtData.platform: expected \"iOS\", observed \"Windows Phone\""]);
}

#[tokio::test]
async fn a_relay_that_cannot_start_is_a_relay_error_and_bad_options_are_usage_errors() {
    let failing = |_setup: RelaySetup| async { Err(qc_harness::Error::Failed("no database".into())) };
    let outcome = Suite::new(failing).run().await.unwrap();
    let error = outcome.relay_error.clone().unwrap();
    assert!(error.contains("did not start: no database"), "{error}");
    assert!(outcome.cases.is_empty() && outcome.checks.is_empty());
    let bad = Suite::new(adapter(Bug::None, seen())).variants(["nope"]).run().await.unwrap_err();
    assert!(bad.to_string().contains("unknown variant \"nope\""), "{bad}");
    let bad = Suite::new(adapter(Bug::None, seen())).partition("3/2").run().await.unwrap_err();
    assert!(bad.to_string().contains("K/N"), "{bad}");
}

#[tokio::test]
async fn a_relay_that_panics_is_reported_with_its_panic() {
    let panicking = |setup: RelaySetup| async move {
        Ok(RelayHandle::spawn(async move {
            let (_socket, _) = setup.listener.accept().await.unwrap();
            panic!("relay bug: index out of range");
        }))
    };
    let outcome = Suite::new(panicking)
        .variants(["default"])
        .checks("none")
        .timeout(Duration::from_secs(2))
        .run()
        .await
        .unwrap();
    let error = outcome.relay_error.clone().unwrap_or_default();
    assert!(error.contains("panicked: relay bug: index out of range"), "{error}");
}

#[tokio::test]
async fn a_failing_in_process_relay_prints_no_empty_relay_output_section() {
    let outcome = Suite::new(adapter(Bug::DropsTs, seen())).variants(["default"]).checks("none").run().await;
    let outcome = outcome.unwrap();
    assert!(outcome.cases.iter().all(|c| c.relay_tail.is_none()), "an in-process relay has no output tail");
    let report = qc_harness::report::render_human(&outcome, false);
    assert!(!report.contains("relay output"), "{report}");
}
