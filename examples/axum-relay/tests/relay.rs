//! The relay's tests with qc-harness: the whole conformance suite in-process, a partial
//! mapping, a filtered wait and `expect_quiet`, and a one-call fixture comparison.

use std::time::Duration;

use qc_harness::conformance::Status;
use qc_harness::{
    Comparison, FakeCleverTap, FakeQonversion, FixtureCatalogue, RelayHandle, RelaySetup, Suite,
    compare_fixture,
};
use qc_harness_example_axum_relay::{Config, MAPPED_FIELDS, Settings, router};

const TOKEN: &str = "example-token";
const WAIT: Duration = Duration::from_secs(10);

/// The relay's settings from the harness's (the same JSON as the settings file).
fn settings(from: &qc_harness::Settings) -> Settings {
    serde_json::from_value(serde_json::to_value(from).unwrap()).unwrap()
}

/// Starts the relay for one unit of the suite: on the harness's listener, with its settings.
async fn start(setup: RelaySetup) -> qc_harness::Result<RelayHandle> {
    let app = router(Config {
        clevertap_url: setup.clevertap_url.clone(),
        account_id: setup.account_id.clone(),
        passcode: setup.passcode.clone(),
        token: setup.token.clone(),
        settings: settings(&setup.settings),
    });
    Ok(RelayHandle::spawn(async move { axum::serve(setup.listener, app).await }))
}

/// A fake CleverTap and the relay uploading to it, outside the suite.
async fn relay_and_fake() -> (FakeCleverTap, FakeQonversion, RelayHandle) {
    let fake = FakeCleverTap::builder().start().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhook", listener.local_addr().unwrap());
    let app = router(Config {
        clevertap_url: fake.uri(),
        account_id: fake.account_id().to_string(),
        passcode: fake.passcode().to_string(),
        token: TOKEN.to_string(),
        settings: Settings::default(),
    });
    let relay = RelayHandle::spawn(async move { axum::serve(listener, app).await });
    (fake, FakeQonversion::new(url, TOKEN), relay)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_conformance_suite_passes_in_process_on_the_mapped_fields() {
    let outcome = Suite::named(start, "axum-relay").partial(MAPPED_FIELDS).run().await.unwrap();
    outcome.assert_passed();
    assert!(outcome.checks.iter().all(|c| c.status != Status::Skipped), "nothing is skipped");
}

#[tokio::test]
async fn strict_comparison_shows_what_the_partial_mapping_leaves_out() {
    let outcome = Suite::new(start).variants(["default"]).checks("none").run().await.unwrap();
    assert!(!outcome.passed(), "revenue is not mapped: strict comparison fails");
    let case = outcome.case("subscription_renewed.ios", "default").unwrap();
    let text: Vec<String> = case.differences.iter().map(ToString::to_string).collect();
    assert!(text.iter().any(|d| d.starts_with("evtData.revenue: missing")), "{text:#?}");
    let partial = Suite::new(start).variants(["default"]).checks("none").partial(MAPPED_FIELDS);
    partial.run().await.unwrap().assert_passed();
}

#[tokio::test]
async fn a_filtered_wait_sees_the_typed_record_and_a_redelivery_uploads_nothing_more() {
    let (fake, qonversion, _relay) = relay_and_fake().await;
    let catalogue = FixtureCatalogue::built_in().unwrap();
    let renewed = &catalogue.get("subscription_renewed.ios").unwrap().event;
    let started = &catalogue.get("trial_started.android").unwrap().event;
    assert!(qonversion.send(started).await.succeeded());
    let delivery = qonversion.send(renewed).await;
    assert!(delivery.succeeded());

    let records = fake.wait_for(|r| r.evt_name() == Some("subscription_renewed"), WAIT).await.unwrap();
    assert_eq!(records.len(), 1);
    let record = records[0].event.as_ref().expect("a well-formed event record");
    assert_eq!(Some(&record.identity), renewed.custom_user_id.get());
    assert_eq!(records[0].data_str("platform"), Some("iOS"));
    assert!(records[0].is_processed());

    assert!(qonversion.redeliver(&delivery).await.succeeded());
    fake.expect_quiet(Duration::from_millis(300)).await.expect("a redelivery is not uploaded again");
}

#[tokio::test]
async fn one_call_compares_a_fixture_with_what_the_fake_received() {
    let (fake, qonversion, _relay) = relay_and_fake().await;
    let fixture = FixtureCatalogue::built_in().unwrap().get("in_app_purchase.android").unwrap().clone();
    assert!(qonversion.send(&fixture.event).await.succeeded());
    fake.wait_for(|_| true, WAIT).await.unwrap();
    let defaults = qc_harness::Settings::default();
    compare_fixture(&fixture, &defaults, &fake, &Comparison::partial(MAPPED_FIELDS)).unwrap();
    let strict = compare_fixture(&fixture, &defaults, &fake, &Comparison::Strict).unwrap_err();
    assert!(strict.to_string().contains("evtData.revenue: missing"), "{strict}");
}
