//! Tests: `compare_fixture`, one call comparing what the fake received for a fixture with
//! the reference mapping, with the differences `run` prints.

use std::time::Duration;

use qc_harness::conformance::Difference;
use qc_harness::mapping::map_event;
use qc_harness::{Comparison, FakeCleverTap, FixtureCatalogue, Settings, compare_fixture};
use serde_json::{Value, json};

async fn upload(fake: &FakeCleverTap, records: Vec<Value>) {
    let status = reqwest::Client::new()
        .post(format!("{}/1/upload", fake.uri()))
        .header("X-CleverTap-Account-Id", fake.account_id())
        .header("X-CleverTap-Passcode", fake.passcode())
        .json(&json!({ "d": records }))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
}

fn reference(name: &str, settings: &Settings) -> (qc_harness::qonversion::Fixture, Value) {
    let fixture = FixtureCatalogue::built_in().unwrap().get(name).unwrap().clone();
    let record = map_event(&fixture.event, settings).unwrap().to_value();
    (fixture, record)
}

#[tokio::test]
async fn the_right_records_pass_and_other_fixtures_records_are_left_alone() {
    let fake = FakeCleverTap::builder().start().await.unwrap();
    let settings = Settings::default();
    let (renewed, renewed_record) = reference("subscription_renewed.ios", &settings);
    let (_, other) = reference("trial_started.android", &settings);
    upload(&fake, vec![other, renewed_record]).await;
    fake.wait_for_count(2, |_| true, Duration::from_secs(10)).await.unwrap();
    compare_fixture(&renewed, &settings, &fake, &Comparison::Strict).unwrap();
    compare_fixture(&renewed, &settings, &fake.received(), &Comparison::Strict).unwrap();
    compare_fixture(&renewed, &settings, &fake.journal().records(), &Comparison::Strict).unwrap();
}

#[tokio::test]
async fn a_wrong_field_gives_the_differences_run_prints() {
    let fake = FakeCleverTap::builder().start().await.unwrap();
    let gross = qc_harness::conformance::Variant::built_in("gross").unwrap().settings;
    let (fixture, mut record) = reference("subscription_renewed.ios", &gross);
    let right = record["evtData"]["revenue"].clone();
    record["evtData"]["revenue"] = json!(0.01);
    upload(&fake, vec![record]).await;
    let error = compare_fixture(&fixture, &gross, &fake, &Comparison::Strict).unwrap_err();
    assert!(
        matches!(error.differences(), [Difference::Field { path, expected: Some(e), .. }] if path == "evtData.revenue" && *e == right),
        "{:?}",
        error.differences()
    );
    let text = error.to_string();
    assert!(text.starts_with("✗ subscription_renewed.ios @ given settings"), "{text}");
    assert!(text.contains(&format!("evtData.revenue: expected {right}, observed 0.01")), "{text}");
    assert!(text.contains("--- expected (reference mapping)  +++ observed (relay)"), "{text}");
    // The same record under other settings: the reference differs, so does the verdict.
    assert!(compare_fixture(&fixture, &Settings::default(), &fake, &Comparison::Strict).is_err());
}

#[tokio::test]
async fn nothing_received_is_a_missing_record_and_partial_mode_checks_only_declared_fields() {
    let fake = FakeCleverTap::builder().start().await.unwrap();
    let settings = Settings::default();
    let (fixture, record) = reference("subscription_renewed.ios", &settings);
    let missing = compare_fixture(&fixture, &settings, &fake, &Comparison::Strict).unwrap_err();
    assert!(matches!(missing.differences(), [Difference::Missing { .. }]));
    assert!(missing.to_string().contains("missing record: expected"), "{missing}");
    let five = json!({"identity": record["identity"], "ts": record["ts"], "type": "event",
                      "evtName": record["evtName"], "evtData": {"platform": record["evtData"]["platform"]}});
    upload(&fake, vec![five]).await;
    let partial = Comparison::partial(["identity", "ts", "type", "evtName", "evtData.platform"]);
    compare_fixture(&fixture, &settings, &fake, &partial).unwrap();
    let strict = compare_fixture(&fixture, &settings, &fake, &Comparison::Strict).unwrap_err();
    assert!(strict.differences().len() > 3, "{strict}");
    let wrong = Comparison::partial(["evtData.currency"]);
    let error = compare_fixture(&fixture, &settings, &fake, &wrong).unwrap_err();
    assert!(error.to_string().contains("evtData.currency: missing (expected"), "{error}");
}
