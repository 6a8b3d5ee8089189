//! Tests: typed, filtered waits on the fake CleverTap's journal (`wait_for`,
//! `wait_for_count`, `expect_quiet`, `ReceivedRecord`).

use std::time::{Duration, Instant};

use qc_harness::clevertap::{FakeCleverTap, RecordOutcome};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

fn record(name: &str, user: &str) -> Value {
    json!({"identity": user, "ts": 1_700_000_000, "type": "event", "evtName": name,
           "evtData": {"platform": "iOS", "revenue": 4.99}})
}

/// Uploads `records` in one request, in the background (the answer may be delayed).
fn upload(fake: &FakeCleverTap, records: Vec<Value>) -> tokio::task::JoinHandle<u16> {
    let url = format!("{}/1/upload", fake.uri());
    let (account, passcode) = (fake.account_id().to_string(), fake.passcode().to_string());
    tokio::spawn(async move {
        let sent = reqwest::Client::new()
            .post(url)
            .header("X-CleverTap-Account-Id", account)
            .header("X-CleverTap-Passcode", passcode)
            .json(&json!({ "d": records }))
            .send()
            .await;
        sent.map(|r| r.status().as_u16()).unwrap_or(0)
    })
}

#[tokio::test]
async fn wait_for_returns_only_the_matching_records_typed_with_the_raw_json() {
    let fake = FakeCleverTap::builder().start().await.unwrap();
    upload(&fake, vec![record("trial_started", "u1"), record("subscription_renewed", "u2")]);
    let renewed = fake.wait_for(|r| r.evt_name() == Some("subscription_renewed"), WAIT).await.unwrap();
    assert_eq!(renewed.len(), 1);
    let got = &renewed[0];
    let event = got.event.as_ref().expect("a well-formed record is typed");
    assert_eq!(
        (event.identity.as_str(), event.ts, event.evt_name.as_str()),
        ("u2", Some(1_700_000_000), "subscription_renewed")
    );
    assert_eq!(got.data_str("platform"), Some("iOS"));
    assert_eq!(got.data_f64("revenue"), Some(4.99));
    assert_eq!(got.raw, record("subscription_renewed", "u2"));
    assert_eq!((got.request_seq, got.index, got.outcome.clone()), (1, 2, RecordOutcome::Processed));
}

#[tokio::test]
async fn a_record_of_the_wrong_shape_is_untyped_but_its_raw_json_is_there() {
    let fake = FakeCleverTap::builder().start().await.unwrap();
    let mut odd = record("trial_started", "u1");
    odd["ts"] = json!("1700000000");
    upload(&fake, vec![odd.clone()]);
    let got = fake.wait_for(|r| r.identity().as_deref() == Some("u1"), WAIT).await.unwrap();
    assert_eq!(got[0].event, None);
    assert_eq!(got[0].ts(), None);
    assert_eq!(got[0].field("ts"), Some(&json!("1700000000")));
}

#[tokio::test]
async fn a_wait_started_first_is_woken_by_each_new_upload_and_a_reset_starts_it_over() {
    let fake = FakeCleverTap::builder().start().await.unwrap();
    upload(&fake, vec![record("trial_started", "old")]).await.unwrap();
    let wait = fake.wait_for_count(2, |r| r.evt_name() == Some("trial_started"), WAIT);
    let uploads = async {
        tokio::task::yield_now().await;
        fake.reset(); // forgets "old": two new ones are needed
        upload(&fake, vec![record("trial_started", "a")]).await.unwrap();
        upload(&fake, vec![record("subscription_renewed", "x"), record("trial_started", "b")]).await.unwrap();
    };
    let (both, ()) = tokio::join!(wait, uploads);
    let users: Vec<String> = both.unwrap().iter().filter_map(|r| r.identity()).collect();
    assert_eq!(users, ["a", "b"]);
}

#[tokio::test]
async fn wait_for_gives_up_at_its_deadline_saying_how_many_matched() {
    let fake = FakeCleverTap::builder().start().await.unwrap();
    upload(&fake, vec![record("trial_started", "u1")]).await.unwrap();
    let started = Instant::now();
    let error = fake
        .wait_for_count(2, |r| r.evt_name() == Some("trial_started"), Duration::from_millis(200))
        .await
        .unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(200));
    assert_eq!(error.got, 1);
    assert!(error.to_string().contains("2 matching record(s), got 1"), "{error}");
}

#[tokio::test]
async fn expect_quiet_passes_when_nothing_arrives_and_fails_with_what_arrived() {
    let fake = FakeCleverTap::builder().start().await.unwrap();
    upload(&fake, vec![record("trial_started", "before")]).await.unwrap();
    let started = Instant::now();
    fake.expect_quiet(Duration::from_millis(150)).await.expect("nothing arrives: quiet");
    assert!(started.elapsed() >= Duration::from_millis(150), "the whole window is waited");

    let quiet = fake.expect_quiet(Duration::from_millis(500));
    let late = async {
        // Sent once the window is open (its wait is subscribed before the first poll ends).
        tokio::task::yield_now().await;
        upload(&fake, vec![record("subscription_renewed", "late")]).await.unwrap()
    };
    let (quiet, status) = tokio::join!(quiet, late);
    assert_eq!(status, 200);
    let error = quiet.unwrap_err();
    assert_eq!(error.arrived.len(), 1, "only what arrived within the window: {error}");
    assert_eq!(error.arrived[0].seq, 2);
    assert!(error.to_string().contains("\"late\""), "{error}");
    let as_crate_error: qc_harness::Error = error.into();
    assert_eq!(as_crate_error.exit_code(), 1);
}
