//! Auth, bad bodies, filtering, idempotency and graceful shutdown (`relay-contract.md` §4).

use std::time::{Duration, Instant};

use futures::future::join_all;
use qc_harness::{DEFAULT_TOKEN, FakeCleverTap, Field, Settings};

use super::{
    WAIT, assert_nothing_uploaded, assert_status, default_rig, event, processed, rig, settled_requests,
    slow_fake,
};

#[tokio::test]
async fn refuses_webhooks_without_the_right_token_and_uploads_nothing() {
    let rig = default_rig().await;
    let body = serde_json::to_vec(&event(1)).unwrap();
    let encoded = "cWMtaGFybmVzcy10ZXN0LXRva2Vu".to_string(); // base64 of the token: not what Qonversion sends
    for auth in [
        None,
        Some("Basic wrong-token".to_string()),
        Some(format!("Basic {encoded}")),
        Some(format!("Bearer {DEFAULT_TOKEN}")),
    ] {
        let attempt = rig.qonversion.send_raw(body.clone(), auth.clone()).await;
        assert_eq!(attempt.status, Some(401), "{auth:?}: {attempt:?}");
    }
    assert_nothing_uploaded(&rig.fake).await;
    let attempt = rig.qonversion.send_raw(body, Some(format!("Basic {DEFAULT_TOKEN}"))).await;
    assert_eq!(attempt.status, Some(200), "{attempt:?}");
}

#[tokio::test]
async fn answers_400_to_a_body_that_is_not_a_json_object_and_keeps_serving() {
    let rig = default_rig().await;
    let auth = Some(format!("Basic {DEFAULT_TOKEN}"));
    let bad: [&[u8]; 6] = [b"not json", b"{\"event_name\": ", b"[1, 2]", b"\"text\"", b"", b"{\"time\": 1}"];
    for body in bad {
        let attempt = rig.qonversion.send_raw(body.to_vec(), auth.clone()).await;
        assert_eq!(attempt.status, Some(400), "{:?}: {attempt:?}", String::from_utf8_lossy(body));
    }
    let typed_wrong = br#"{"event_name": "trial_started", "custom_user_id": "u", "time": "yesterday"}"#;
    let attempt = rig.qonversion.send_raw(typed_wrong.to_vec(), auth).await;
    assert_eq!(attempt.status, Some(400));
    assert!(attempt.body.contains("time"), "the answer names the JSON path: {}", attempt.body);
    assert_nothing_uploaded(&rig.fake).await;
    assert_status(&rig.qonversion.send(&event(2)).await, 200);
    assert_eq!(processed(&rig.fake, 1).await.len(), 1, "still serving");
}

#[tokio::test]
async fn answers_2xx_without_uploading_skipped_events() {
    let mut settings = Settings::default();
    settings.event_mut("trial_started").enabled = Some(false);
    let rig = rig(FakeCleverTap::start().await, settings).await;
    let catalogue = qc_harness::FixtureCatalogue::built_in().unwrap();
    let fixture = |name: &str| catalogue.get(name).unwrap_or_else(|| panic!("fixture {name}")).event.clone();
    let mut unknown = event(3);
    unknown.event_name = "subscription_paused_in_2030".into();
    let mut sandbox = event(4);
    sandbox.environment = Field::Value("sandbox".into());
    let skipped = [
        unknown,
        sandbox,
        fixture("subscription_downgraded.ios"),
        fixture("trial_started.ios"),
        fixture("subscription_renewed.android.no-identity"),
    ];
    for event in &skipped {
        let delivery = rig.qonversion.send(event).await;
        assert_status(&delivery, 200);
        assert!(delivery.attempts[0].body.contains("skipped"), "{}", delivery.attempts[0].body);
    }
    assert_nothing_uploaded(&rig.fake).await;
}

#[tokio::test]
async fn uploads_a_redelivered_webhook_once() {
    let rig = default_rig().await;
    let first = rig.qonversion.send(&event(5)).await;
    assert_status(&first, 200);
    for _ in 0..3 {
        assert_status(&rig.qonversion.redeliver(&first).await, 200);
    }
    let mut other_time = event(5);
    other_time.time = Field::Value(1_800_000_000);
    assert_status(&rig.qonversion.send(&other_time).await, 200);
    assert_eq!(settled_requests(&rig.fake).await.len(), 2, "the redeliveries were not uploaded");
}

#[tokio::test]
async fn uploads_concurrent_redeliveries_once() {
    let rig = rig(slow_fake(Duration::from_millis(300)).await, Settings::default()).await;
    let same = event(6);
    let deliveries = join_all((0..5).map(|_| rig.qonversion.send(&same))).await;
    for delivery in &deliveries {
        assert_status(delivery, 200);
    }
    assert_eq!(settled_requests(&rig.fake).await.len(), 1);
}

#[tokio::test]
async fn finishes_the_uploads_in_flight_on_sigterm() {
    let rig = rig(slow_fake(Duration::from_millis(1500)).await, Settings::default()).await;
    let qonversion = rig.qonversion.clone();
    let sending = tokio::spawn(async move { qonversion.send(&event(7)).await });
    rig.fake.wait_for_requests(1, WAIT).await.unwrap();
    let pgid = rig.relay.process_group().unwrap();
    let started = Instant::now();
    rig.relay.stop().await.unwrap();
    let took = started.elapsed();
    let delivery = tokio::time::timeout(WAIT, sending).await.unwrap().unwrap();
    assert_status(&delivery, 200);
    assert_eq!(rig.fake.journal().processed_records().len(), 1);
    assert!(took >= Duration::from_millis(800), "the relay waited for the upload: {took:?}");
    assert!(took < Duration::from_secs(5), "it exited by itself, before SIGKILL: {took:?}");
    assert!(qc_harness::relay::group_members(pgid).is_empty());
}

#[tokio::test]
async fn serves_the_webhook_path_it_is_given_and_health() {
    let mut spec = super::built_in_spec();
    spec.webhook_path = "/hooks/qonversion".into();
    let fake = FakeCleverTap::start().await;
    let launch = qc_harness::relay::RelayLaunch::new(fake.uri(), Settings::default());
    let relay = qc_harness::relay::start_relay(&spec, launch).await.unwrap();
    assert!(relay.webhook_url().ends_with("/hooks/qonversion"));
    let q = qc_harness::FakeQonversion::new(relay.webhook_url(), DEFAULT_TOKEN);
    assert_status(&q.send(&event(8)).await, 200);
    let health = reqwest::get(format!("{}/health", relay.base_url())).await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(processed(&fake, 1).await.len(), 1);
}

#[tokio::test]
async fn starts_quickly() {
    let rig = default_rig().await;
    eprintln!("reference relay start-up (spawn to /health 200): {:?}", rig.startup);
    assert!(rig.startup < Duration::from_secs(3), "start-up took {:?}", rig.startup);
}

#[tokio::test]
async fn finishes_a_delivery_when_qonversion_hangs_up_and_answers_the_redelivery_from_it() {
    let rig = rig(slow_fake(Duration::from_millis(800)).await, Settings::default()).await;
    let impatient = rig.qonversion.clone().timeout(Duration::from_millis(200));
    let first = impatient.send(&event(10)).await;
    assert_eq!(first.final_status(), None, "Qonversion timed out: {:?}", first.attempts);
    assert_eq!(processed(&rig.fake, 1).await.len(), 1, "the upload went on without Qonversion");
    let again = rig.qonversion.redeliver(&first).await;
    assert_status(&again, 200);
    assert!(again.attempts[0].body.contains("duplicate"), "{}", again.attempts[0].body);
    assert_eq!(settled_requests(&rig.fake).await.len(), 1, "uploaded once");
}
