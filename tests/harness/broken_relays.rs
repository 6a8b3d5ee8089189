//! Tests: broken relays. Each breaks one MUST or SHOULD of `relay-contract.md` §4 (the
//! `BREAK` switch of `tests/relays/relay.py`) and must fail on the check that names it.

use std::path::Path;

use qc_harness::conformance::select_checks;
use qc_harness::{
    FixtureCatalogue, RelaySpec, RelayTarget, RunConfig, RunOutcome, Status, Variant, render_human, run,
};

/// Runs `relay.py` with `BREAK=<mode>` (and `BATCH=1` when `batch`) on a subset of the suite.
async fn run_broken(mode: &str, batch: bool, variants: &[&str], checks: &str, strict: bool) -> RunOutcome {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/relays/relay.py");
    let batch = if batch { "BATCH=1 " } else { "" };
    let command = format!("BREAK={mode} {batch}python3 '{}'", script.display());
    let mut config =
        RunConfig::new(RelaySpec::new(RelayTarget::Command(command)), FixtureCatalogue::built_in().unwrap());
    config.variants = variants.iter().map(|v| Variant::built_in(v).unwrap()).collect();
    config.checks = select_checks(Some(checks)).unwrap();
    config.strict = strict;
    config.jobs = 4;
    run(config).await.expect("the run starts")
}

/// The check failed (or warned), and the human report names it on a failing line.
fn assert_caught(outcome: &RunOutcome, check: &str, status: Status) {
    let result = outcome.check(check).unwrap_or_else(|| panic!("{check} did not run"));
    let report = render_human(outcome, false);
    assert_eq!(result.status, status, "{check}: {}\n{report}", result.observed);
    let mark = if status == Status::Failed { '✗' } else { '!' };
    let line = format!("{mark} check {check} [");
    assert!(report.lines().any(|l| l.starts_with(&line)), "no line starting {line:?} in\n{report}");
    assert!(result.relay_tail.is_some(), "a failing check carries the relay's output tail");
    if status == Status::Failed {
        assert!(!outcome.passed(), "a MUST failure fails the run");
    }
}

fn failed_case<'a>(outcome: &'a RunOutcome, fixture: &str, variant: &str) -> &'a qc_harness::CaseResult {
    let case = outcome.case(fixture, variant).unwrap_or_else(|| panic!("no case {fixture}@{variant}"));
    assert_eq!(case.status, Status::Failed, "{fixture}@{variant} should fail");
    case
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_ignores_the_token_fails_the_auth_checks() {
    let outcome = run_broken("ignore-token", false, &[], "auth", false).await;
    assert_caught(&outcome, "auth.missing-token", Status::Failed);
    assert_caught(&outcome, "auth.wrong-token", Status::Failed);
    assert!(outcome.check("auth.missing-token").unwrap().observed.contains("expected HTTP 401 or 403"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_leaks_sandbox_events_fails_event_sandbox_and_the_mapping() {
    let outcome = run_broken("leak-sandbox", false, &["default"], "event.sandbox", false).await;
    assert_caught(&outcome, "event.sandbox", Status::Failed);
    let case = failed_case(&outcome, "subscription_renewed.android.sandbox", "default");
    assert!(case.differences[0].to_string().starts_with("extra record"), "{:?}", case.differences);
    assert_eq!(outcome.case("subscription_renewed.ios", "default").unwrap().status, Status::Passed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_sends_gross_when_proceeds_are_on_fails_the_revenue_field() {
    let outcome = run_broken("gross-always", false, &["default", "gross"], "none", false).await;
    let case = failed_case(&outcome, "subscription_renewed.ios", "default");
    let text = case.differences.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
    assert!(text.contains("evtData.revenue: expected 6.993, observed 9.99"), "{text}");
    assert_eq!(outcome.case("subscription_renewed.ios", "gross").unwrap().status, Status::Passed);
    assert!(render_human(&outcome, false).contains("✗ subscription_renewed.ios @ default — evtData.revenue"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_loses_events_on_429_fails_upstream_429() {
    let outcome = run_broken("lose-on-429", false, &[], "upstream.429,upstream.5xx", false).await;
    assert_caught(&outcome, "upstream.429", Status::Failed);
    assert!(outcome.check("upstream.429").unwrap().observed.contains("lost"));
    assert_eq!(outcome.check("upstream.5xx").unwrap().status, Status::Passed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_duplicates_redeliveries_warns_and_fails_under_strict() {
    let outcome = run_broken("no-dedup", false, &[], "delivery.redelivery", false).await;
    assert_caught(&outcome, "delivery.redelivery", Status::Warning);
    assert!(outcome.passed(), "a SHOULD failure is only a warning");
    assert!(outcome.check("delivery.redelivery").unwrap().observed.contains("doubled"));
    let strict = run_broken("no-dedup", false, &[], "delivery.redelivery", true).await;
    assert_caught(&strict, "delivery.redelivery", Status::Failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_accepts_a_malformed_body_fails_body_malformed() {
    let outcome = run_broken("no-400", false, &[], "body", false).await;
    assert_caught(&outcome, "body.malformed", Status::Failed);
    assert_eq!(outcome.check("body.not-object").unwrap().status, Status::Passed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_forwards_downgrades_fails_event_downgraded() {
    let outcome = run_broken("forward-downgraded", false, &["default"], "event.downgraded", false).await;
    assert_caught(&outcome, "event.downgraded", Status::Failed);
    failed_case(&outcome, "subscription_downgraded.ios", "default");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_without_a_concurrency_bound_warns_on_upstream_concurrency() {
    let outcome = run_broken("no-concurrency-limit", false, &[], "upstream.concurrency", true).await;
    assert_caught(&outcome, "upstream.concurrency", Status::Failed);
    assert!(outcome.check("upstream.concurrency").unwrap().observed.contains("in flight"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batching_relay_without_the_1000_record_limit_fails_upstream_batch_limit() {
    // A batcher flushing every 3 s: the burst of 1500 webhooks is queued as one batch.
    let outcome = run_broken("no-batch-limit FLUSH_MS=3000", true, &[], "all", true).await;
    assert_only(&outcome, &["upstream.batch-limit"]);
    assert!(outcome.check("upstream.batch-limit").unwrap().observed.contains("more than 1000 records"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_with_wrong_upload_headers_fails_upstream_headers() {
    let outcome = run_broken("wrong-content-type", false, &[], "upstream.headers", false).await;
    assert_caught(&outcome, "upstream.headers", Status::Failed);
    let text = &outcome.check("upstream.headers").unwrap().observed;
    assert!(text.contains("Content-Type"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_ignores_disabled_events_fails_event_disabled_and_the_variant() {
    let outcome = run_broken("forward-disabled", false, &["event-disabled"], "event.disabled", false).await;
    assert_caught(&outcome, "event.disabled", Status::Failed);
    failed_case(&outcome, "trial_started.ios", "event-disabled");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_forwards_unknown_events_fails_event_unknown() {
    let outcome = run_broken("forward-unknown", false, &[], "event.unknown", false).await;
    assert_caught(&outcome, "event.unknown", Status::Failed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_retries_badly_warns_on_backoff_retry_after_and_partial() {
    let outcome = run_broken("no-backoff", false, &[], "upstream.backoff", false).await;
    assert_caught(&outcome, "upstream.backoff", Status::Warning);
    let outcome = run_broken("ignore-retry-after", false, &[], "upstream.retry-after", false).await;
    assert_caught(&outcome, "upstream.retry-after", Status::Warning);
    let outcome = run_broken("retry-forever", false, &[], "upstream.partial", false).await;
    assert_caught(&outcome, "upstream.partial", Status::Warning);
    assert!(outcome.check("upstream.partial").unwrap().observed.contains("at most 3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_keys_fail_the_mapping_unless_allowed() {
    let outcome = run_broken("extra-key", false, &["default"], "none", false).await;
    let case = failed_case(&outcome, "trial_started.ios", "default");
    assert!(
        case.differences[0].to_string().contains("evtData.sandbox: unexpected key"),
        "{:?}",
        case.differences
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn millisecond_timestamps_and_double_uploads_fail_the_mapping() {
    let outcome = run_broken("ms-timestamp", false, &["default"], "none", false).await;
    let case = failed_case(&outcome, "trial_started.ios", "default");
    let text = case.differences.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
    assert!(text.contains("ts: expected") && text.contains("code 525"), "{text}");
    let outcome = run_broken("double-upload", true, &["default"], "none", false).await;
    let case = failed_case(&outcome, "subscription_renewed.ios", "default");
    assert!(case.differences.iter().any(|d| d.to_string().starts_with("extra record")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_crashes_on_a_bad_body_fails_body_malformed_with_its_output() {
    let outcome = run_broken("crash-on-bad-body", false, &[], "body.malformed", false).await;
    assert_caught(&outcome, "body.malformed", Status::Failed);
    let check = outcome.check("body.malformed").unwrap();
    assert!(check.observed.contains("exited"), "{}", check.observed);
    assert!(check.relay_tail.as_deref().unwrap().contains("cannot parse the webhook body"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_with_a_wrong_identity_are_missing_and_unattributed() {
    let outcome = run_broken("wrong-identity", false, &["default"], "none", false).await;
    let case = failed_case(&outcome, "subscription_renewed.ios", "default");
    assert!(case.differences[0].to_string().starts_with("missing record"), "{:?}", case.differences);
    let stray = failed_case(&outcome, "(unattributed records)", "default");
    assert!(stray.problems.iter().any(|p| p.contains("identity QON_")), "{:?}", stray.problems);
    assert!(outcome.fixtures.iter().any(|f| f == "(unattributed records)"), "the matrix shows them");
}

/// Exactly `checks` did not pass (each failed, and the report names it); every other check passed.
fn assert_only(outcome: &RunOutcome, checks: &[&str]) {
    let mut not_passed: Vec<&str> =
        outcome.checks.iter().filter(|c| c.status != Status::Passed).map(|c| c.name.as_str()).collect();
    not_passed.sort_unstable();
    let mut wanted = checks.to_vec();
    wanted.sort_unstable();
    assert_eq!(not_passed, wanted, "{}", render_human(outcome, false));
    for check in checks {
        assert_caught(outcome, check, Status::Failed);
    }
}

fn observed<'a>(outcome: &'a RunOutcome, check: &str) -> &'a str {
    &outcome.check(check).unwrap_or_else(|| panic!("{check} did not run")).observed
}

/// A `BREAK` mode of `relay.py` that a strict run of `checks` must fail on exactly `fails`,
/// with each phrase of `says` in what the first of them observed.
struct FailsOnly {
    mode: &'static str,
    batch: bool,
    checks: &'static str,
    fails: &'static [&'static str],
    says: &'static [&'static str],
}

/// A [`FailsOnly`] row over every check of the unbatched relay.
const fn every_check(
    mode: &'static str,
    fails: &'static [&'static str],
    says: &'static [&'static str],
) -> FailsOnly {
    FailsOnly { mode, batch: false, checks: "all", fails, says }
}

async fn assert_fails_only(row: FailsOnly) {
    let outcome = run_broken(row.mode, row.batch, &[], row.checks, true).await;
    assert_only(&outcome, row.fails);
    let text = observed(&outcome, row.fails[0]);
    for phrase in row.says {
        assert!(text.contains(phrase), "{} with BREAK={}: {text:?} lacks {phrase:?}", row.fails[0], row.mode);
    }
}

/// One `#[tokio::test]` per [`FailsOnly`] row: nextest runs them side by side.
macro_rules! fails_only {
    ($($name:ident: $row:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            assert_fails_only($row).await;
        }
    )*};
}

fails_only! {
    a_relay_that_accepts_a_suffixed_token_fails_auth_wrong_token_only:
        every_check("token-prefix", &["auth.wrong-token"], &["<token>x (suffixed) got HTTP 200"]);
    a_relay_that_ignores_the_token_case_fails_auth_wrong_token_only:
        every_check("token-any-case", &["auth.wrong-token"], &["another case> got HTTP 200"]);
    a_relay_that_filters_before_auth_fails_the_auth_checks_on_the_events_it_skips: every_check(
        "auth-after-filter",
        &["auth.missing-token", "auth.wrong-token"],
        &["got HTTP 200 on the unknown, disabled, sandbox, downgraded event(s)"],
    );
    a_relay_that_accepts_an_empty_body_fails_body_empty_only:
        every_check("empty-200", &["body.empty"], &["an empty body got HTTP 200"]);
    a_queueing_relay_that_gives_up_in_the_background_fails_the_outage: FailsOnly {
        mode: "three-attempts",
        batch: true,
        checks: "delivery.outage,upstream.429,upstream.5xx",
        fails: &["delivery.outage"],
        says: &["0 after it"],
    };
    a_relay_that_marks_a_failed_webhook_as_seen_fails_the_outage_only:
        every_check("seen-before-upload", &["delivery.outage"], &["was lost", "503, 200"]);
    a_relay_that_retries_with_other_headers_fails_upstream_headers_only:
        every_check("retry-content-type", &["upstream.headers"], &["(a retry): Content-Type"]);
    a_relay_that_dedupes_without_time_fails_delivery_distinct_events_only:
        every_check("dedup-without-time", &["delivery.distinct-events"], &["only 1 of the 2 events"]);
    // The delivery checks only: the redelivery must reach the relay within the 1.5 s the
    // first upload is held, which a machine loaded by the whole suite may not allow.
    a_relay_that_uploads_a_concurrent_redelivery_again_fails_only_under_strict: FailsOnly {
        checks: "delivery",
        ..every_check(
            "seen-after-upload",
            &["delivery.concurrent-redelivery"],
            &["doubled", "while the first upload was in flight"],
        )
    };
    a_relay_that_retries_at_once_after_429s_fails_upstream_backoff_429_only:
        every_check("no-backoff-429", &["upstream.backoff-429"], &[]);
    a_relay_that_retries_at_once_after_drops_fails_upstream_backoff_drop_only:
        every_check("no-backoff-drop", &["upstream.backoff-drop"], &["not at least 1.5×"]);
    a_relay_that_resends_an_unprocessed_record_slowly_forever_fails_upstream_partial_only:
        every_check("retry-forever-slowly", &["upstream.partial"], &["sent 4 times"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_stops_after_3_attempts_and_answers_200_fails_the_outage_as_a_must() {
    let outcome = run_broken("three-attempts", false, &[], "all", false).await;
    let mut warned: Vec<&str> =
        outcome.checks.iter().filter(|c| c.status == Status::Warning).map(|c| c.name.as_str()).collect();
    warned.sort_unstable();
    // It also loses the event after 4 faults in a row, which the backoff checks (SHOULD) see.
    assert_eq!(warned, ["upstream.backoff", "upstream.backoff-429", "upstream.backoff-drop"]);
    let failed: Vec<&str> =
        outcome.checks.iter().filter(|c| c.status == Status::Failed).map(|c| c.name.as_str()).collect();
    assert_eq!(failed, ["delivery.outage"], "{}", render_human(&outcome, false));
    assert_caught(&outcome, "delivery.outage", Status::Failed);
    let text = observed(&outcome, "delivery.outage");
    assert!(text.contains("was lost") && text.contains("webhook answers: 200"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapping_error_makes_behaviour_checks_inconclusive_not_wrong() {
    let outcome =
        run_broken("ms-timestamp", false, &[], "body.malformed,upstream.429,event.disabled", false).await;
    for check in ["body.malformed", "upstream.429", "event.disabled"] {
        let text = observed(&outcome, check);
        assert!(text.starts_with("inconclusive: "), "{check}: {text}");
        assert!(text.contains("rejected with 525"), "{check}: {text}");
        assert!(!text.contains("stopped serving") && !text.contains("lost"), "{check}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_leaks_sandbox_events_with_a_mapping_error_is_told_what_was_uploaded() {
    let outcome = run_broken("leak-sandbox,ms-timestamp", false, &[], "event.sandbox", false).await;
    let text = observed(&outcome, "event.sandbox");
    // relay.py re-sends a record CleverTap lists in `unprocessed` (at most 3 times).
    assert!(text.contains("expected no upload, but 3 records uploaded, 3 rejected with 525"), "{text}");
    assert!(!text.contains("observed 0"), "{text}");
}
