//! FakeQonversion → reference relay (the built binary, through the driver) → FakeCleverTap:
//! every fixture's records match the reference mapping.

use futures::future::join_all;
use qc_harness::{FakeCleverTap, FixtureCatalogue, Settings, expected_records};
use serde_json::Value;

use super::{assert_status, default_rig, rig, settled_requests};

/// Delivers every fixture and compares what the fake CleverTap processed with the
/// reference mapping under `settings` (as multisets of records: nothing lost, nothing extra).
async fn every_fixture_matches_the_reference_mapping(settings: Settings) {
    let rig = rig(FakeCleverTap::start().await, settings.clone()).await;
    let catalogue = FixtureCatalogue::built_in().unwrap();
    let deliveries = join_all(catalogue.events.iter().map(|f| rig.qonversion.send(&f.event))).await;
    for (fixture, delivery) in catalogue.events.iter().zip(&deliveries) {
        assert_eq!(delivery.final_status(), Some(200), "{}: {:?}", fixture.name, delivery.attempts);
    }
    let mut expected: Vec<String> = catalogue
        .events
        .iter()
        .flat_map(|f| expected_records(&f.event, &settings))
        .map(|r| r.to_value().to_string())
        .collect();
    let requests = settled_requests(&rig.fake).await;
    let mut uploaded: Vec<String> =
        rig.fake.journal().processed_records().iter().map(|r| r.record.to_string()).collect();
    expected.sort();
    uploaded.sort();
    assert!(!expected.is_empty());
    assert_eq!(uploaded, expected, "uploaded records differ from the reference mapping");
    assert!(requests.iter().all(|r| r.status == 200), "every upload accepted: {requests:#?}");
    assert_eq!(requests.len(), expected.len(), "one upload per forwarded event");
    let skipped = catalogue.events.len() - expected.len();
    assert!(skipped >= 5, "sandbox, downgraded and no-identity fixtures are skipped ({skipped})");
    rig.relay.stop().await.unwrap();
}

#[tokio::test]
async fn uploads_every_fixture_as_the_reference_mapping_says() {
    every_fixture_matches_the_reference_mapping(Settings::default()).await;
}

#[tokio::test]
async fn follows_the_settings_file_for_every_fixture() {
    let mut settings = Settings { send_sandbox: true, send_proceeds: false, ..Settings::default() };
    settings.event_mut("subscription_renewed").name = Some("Subscription Renewed".into());
    settings.event_mut("trial_started").enabled = Some(false);
    settings.event_mut("in_app_purchase").send_revenue = Some(false);
    every_fixture_matches_the_reference_mapping(settings).await;
}

#[tokio::test]
async fn every_upload_carries_the_account_headers() {
    let rig = default_rig().await;
    assert_status(&rig.qonversion.send(&super::event(1)).await, 200);
    let requests = settled_requests(&rig.fake).await;
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/1/upload");
    assert_eq!(request.headers.get("x-clevertap-account-id").map(String::as_str), Some("TEST-ACC-000"));
    assert!(request.headers.contains_key("x-clevertap-passcode"));
    assert_eq!(request.headers.get("content-type").map(String::as_str), Some("application/json"));
    let body: Value = serde_json::from_str(&request.body).unwrap();
    assert_eq!(body["d"].as_array().map(Vec::len), Some(1));
}
