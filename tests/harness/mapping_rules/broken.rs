//! Relays that break one revenue or naming choice of mapping.md fail `qc-harness run` on the
//! fixtures and variants made to separate that choice, and on nothing else: without them
//! (`*.price_differs_from_revenue*`, `revenue-off-event-on`, `empty-name`) these bugs pass.
//! The relay is `tests/relays/correct/relay.py` with `MAPPING_BUG=<name>`.

use std::path::Path;
use std::process::Command;

/// `(fixture, variant, difference)` of every failing case of a run with `--checks none`.
fn failing_cases(bug: &str, variants: &str) -> (Vec<(String, String, String)>, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/relays/correct/relay.py");
    let command = format!("MAPPING_BUG={bug} python3 '{}'", script.display());
    let args = [
        "run",
        "--relay-cmd",
        &command,
        "--no-snapshots",
        "--checks",
        "none",
        "--variants",
        variants,
        "--details",
        "all",
    ];
    let output =
        Command::new(env!("CARGO_BIN_EXE_qc-harness")).args(args).env("NO_COLOR", "1").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert_eq!(output.status.code(), Some(1), "{bug}: the run fails\n{stdout}");
    let failing = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("✗ "))
        .filter_map(|l| l.split_once(" — "))
        .filter_map(|(case, why)| case.split_once(" @ ").map(|(f, v)| (f.into(), v.into(), why.into())))
        .collect();
    (failing, stdout)
}

#[test]
fn reading_the_price_currency_fails_only_the_price_differs_fixtures() {
    let (failing, stdout) = failing_cases("price-currency", "default,gross");
    assert_eq!(failing.len(), 6, "{stdout}");
    for (fixture, _, why) in &failing {
        assert!(fixture.contains(".price_differs_from_revenue"), "{fixture}");
        assert!(why.starts_with("evtData.currency: expected \"EUR\""), "{why}");
    }
}

#[test]
fn taking_revenue_value_for_the_gross_price_fails_only_the_price_differs_fixture() {
    let (failing, stdout) = failing_cases("revenue-as-gross", "default,gross");
    let cases: Vec<(&str, &str)> = failing.iter().map(|(f, v, _)| (f.as_str(), v.as_str())).collect();
    let fixture = "subscription_renewed.ios.price_differs_from_revenue";
    assert_eq!(cases, [(fixture, "default"), (fixture, "gross")], "{stdout}");
    assert!(failing[1].2.contains("expected 12.99, observed 11.49"), "{}", failing[1].2);
}

#[test]
fn letting_the_per_event_revenue_switch_win_fails_only_revenue_off_event_on() {
    let variants = "default,no-revenue,event-no-revenue,revenue-off-event-on";
    let (failing, stdout) = failing_cases("per-event-revenue-wins", variants);
    assert!(failing.len() >= 20, "{stdout}");
    assert!(failing.iter().all(|(_, variant, _)| variant == "revenue-off-event-on"), "{stdout}");
    assert!(failing.iter().all(|(_, _, why)| why.contains("unexpected key")), "{stdout}");
}

#[test]
fn sending_an_empty_custom_name_fails_only_empty_name() {
    let (failing, stdout) = failing_cases("empty-name-kept", "default,renamed,empty-name");
    assert!(failing.len() >= 40, "{stdout}");
    assert!(failing.iter().all(|(_, variant, _)| variant == "empty-name"), "{stdout}");
    assert!(failing.iter().all(|(_, _, why)| why.contains("observed \"\"")), "{stdout}");
}
