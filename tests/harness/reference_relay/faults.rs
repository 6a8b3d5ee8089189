//! The relay against the fake CleverTap's faults: retries, backoff, Retry-After, the
//! concurrency limit and per-record errors (`relay-contract.md` §4, items 5, 8, 9, 10).

use std::time::{Duration, Instant};

use futures::future::join_all;
use qc_harness::{FakeCleverTap, Fault, FaultScript, RecordOutcome, Settings};

use super::{assert_status, default_rig, event, processed, rig, settled_requests, slow_fake};

fn gap(requests: &[qc_harness::JournalEntry], a: usize, b: usize) -> Duration {
    requests[b].offset.saturating_sub(requests[a].offset)
}

#[tokio::test]
async fn retries_two_429s_honouring_retry_after_then_uploads_once() {
    let rig = default_rig().await;
    let too_many = Fault::TooManyRequests { retry_after: Some(1) };
    rig.fake.set_faults(FaultScript::new().on_range(1..=2, too_many));
    let delivery = rig.qonversion.send(&event(1)).await;
    assert_status(&delivery, 200);
    let records = processed(&rig.fake, 1).await;
    let requests = settled_requests(&rig.fake).await;
    assert_eq!(requests.iter().map(|r| r.status).collect::<Vec<_>>(), [429, 429, 200]);
    assert_eq!(records.len(), 1, "uploaded exactly once");
    assert!(
        gap(&requests, 0, 1) >= Duration::from_millis(950),
        "Retry-After: 1 honoured: {:?}",
        gap(&requests, 0, 1)
    );
    assert!(
        gap(&requests, 1, 2) >= Duration::from_millis(950),
        "Retry-After: 1 honoured: {:?}",
        gap(&requests, 1, 2)
    );
}

#[tokio::test]
async fn backs_off_exponentially_on_429_without_retry_after() {
    let rig = default_rig().await;
    rig.fake.set_faults(FaultScript::new().on_range(1..=3, Fault::TooManyRequests { retry_after: None }));
    assert_status(&rig.qonversion.send(&event(2)).await, 200);
    let requests = settled_requests(&rig.fake).await;
    assert_eq!(requests.len(), 4);
    let (first, third) = (gap(&requests, 0, 1), gap(&requests, 2, 3));
    assert!(first >= Duration::from_millis(40), "a retry waits: {first:?}");
    assert!(third > first, "the backoff grows: {first:?} then {third:?}");
    assert_eq!(rig.fake.journal().processed_records().len(), 1);
}

#[tokio::test]
async fn retries_after_a_503() {
    let rig = default_rig().await;
    rig.fake.set_faults(FaultScript::new().on(1, Fault::Unavailable));
    assert_status(&rig.qonversion.send(&event(3)).await, 200);
    let requests = settled_requests(&rig.fake).await;
    assert_eq!(requests.iter().map(|r| r.status).collect::<Vec<_>>(), [503, 200]);
    assert_eq!(rig.fake.journal().processed_records().len(), 1);
}

#[tokio::test]
async fn retries_after_a_dropped_connection() {
    let rig = default_rig().await;
    rig.fake.set_faults(FaultScript::new().on(1, Fault::DropConnection));
    assert_status(&rig.qonversion.send(&event(4)).await, 200);
    let requests = settled_requests(&rig.fake).await;
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_eq!(requests[0].status, 0, "the first connection was dropped");
    assert_eq!(rig.fake.journal().processed_records().len(), 1);
}

#[tokio::test]
async fn resends_a_record_listed_as_unprocessed_in_a_partial_answer() {
    let rig = default_rig().await;
    rig.fake.set_faults(FaultScript::new().on(1, Fault::Partial { records: vec![1] }));
    assert_status(&rig.qonversion.send(&event(5)).await, 200);
    let records = settled_requests(&rig.fake).await;
    assert_eq!(records.len(), 2);
    assert!(matches!(records[0].outcomes[0], RecordOutcome::Unprocessed { .. }));
    assert_eq!(rig.fake.journal().processed_records().len(), 1, "uploaded once in the end");
}

#[tokio::test]
async fn stops_after_three_attempts_at_a_record_that_stays_unprocessed() {
    let rig = default_rig().await;
    rig.fake.set_faults(FaultScript::new().on_range(1..=50, Fault::Partial { records: vec![1] }));
    let first = rig.qonversion.send(&event(6)).await;
    assert_status(&first, 200);
    // A redelivery does not start the attempts over.
    assert_status(&rig.qonversion.redeliver(&first).await, 200);
    let requests = settled_requests(&rig.fake).await;
    assert_eq!(requests.len(), 3, "at most 3 attempts in all: {requests:#?}");
    assert!(rig.fake.journal().processed_records().is_empty());
}

#[tokio::test]
async fn answers_503_when_clevertap_keeps_failing_and_the_redelivery_uploads_once() {
    let rig = default_rig().await;
    rig.fake.set_faults(FaultScript::new().on_range(1..=6, Fault::ServerError));
    let first = rig.qonversion.send(&event(7)).await;
    assert_status(&first, 503);
    assert!(rig.fake.journal().processed_records().is_empty());
    // Qonversion redelivers the same body: the failed attempt did not poison the key.
    assert_status(&rig.qonversion.redeliver(&first).await, 200);
    let requests = settled_requests(&rig.fake).await;
    assert_eq!(requests.len(), 7, "6 failed attempts, then one upload");
    assert_eq!(rig.fake.journal().processed_records().len(), 1);
}

#[tokio::test]
async fn relays_a_burst_of_100_events_under_latency_without_loss_or_429() {
    let fake = slow_fake(Duration::from_millis(50)).await;
    let rig = rig(fake, Settings::default()).await;
    let events: Vec<_> = (0..100).map(|n| event(1000 + n)).collect();
    let started = Instant::now();
    let deliveries = join_all(events.iter().map(|e| rig.qonversion.send(e))).await;
    let took = started.elapsed();
    for delivery in &deliveries {
        assert_status(delivery, 200);
    }
    let requests = settled_requests(&rig.fake).await;
    assert!(requests.iter().all(|r| r.status != 429), "no 429: the relay keeps under 15 in flight");
    let max_in_flight = requests.iter().map(|r| r.in_flight).max().unwrap_or(0);
    assert!(max_in_flight <= 15, "at most 15 in flight, saw {max_in_flight}");
    assert!(max_in_flight >= 10, "uploads run in parallel, saw at most {max_in_flight}");
    let mut users: Vec<String> =
        rig.fake.journal().processed_records().iter().map(|r| r.record["identity"].to_string()).collect();
    users.sort();
    users.dedup();
    assert_eq!(users.len(), 100, "nothing lost, nothing doubled");
    assert_eq!(requests.len(), 100);
    eprintln!(
        "burst: 100 events in {took:?} = {:.0} events/s (latency 50 ms, max {max_in_flight} in flight); \
         relay start-up {:?}",
        100.0 / took.as_secs_f64(),
        rig.startup
    );
}

#[tokio::test]
async fn keeps_at_most_15_uploads_in_flight_when_the_fake_allows_more() {
    let fake = FakeCleverTap::builder()
        .latency(Duration::from_millis(250))
        .max_concurrency(1000)
        .start()
        .await
        .unwrap();
    let rig = rig(fake, Settings::default()).await;
    let events: Vec<_> = (0..60).map(|n| event(2000 + n)).collect();
    join_all(events.iter().map(|e| rig.qonversion.send(e))).await;
    let requests = settled_requests(&rig.fake).await;
    let max_in_flight = requests.iter().map(|r| r.in_flight).max().unwrap_or(0);
    assert!(max_in_flight <= 15, "the relay's own limit, not the fake's: {max_in_flight}");
    assert!(max_in_flight >= 13, "and it uses it: {max_in_flight}");
    assert_eq!(rig.fake.journal().processed_records().len(), 60);
}

#[tokio::test]
async fn answers_502_without_retrying_when_clevertap_refuses_the_credentials() {
    let fake = FakeCleverTap::start().await;
    let mut launch = qc_harness::relay::RelayLaunch::new(fake.uri(), Settings::default());
    launch.passcode = "NOT-THE-PASSCODE".into();
    let relay = qc_harness::relay::start_relay(&super::built_in_spec(), launch).await.unwrap();
    let q = qc_harness::FakeQonversion::new(relay.webhook_url(), qc_harness::DEFAULT_TOKEN);
    let delivery = q.send(&event(9)).await;
    assert_status(&delivery, 502);
    assert!(delivery.attempts[0].body.contains("401"), "{}", delivery.attempts[0].body);
    let requests = settled_requests(&fake).await;
    assert_eq!(requests.iter().map(|r| r.status).collect::<Vec<_>>(), [401], "a 401 is not retried");
    assert!(relay.output_tail().contains("CleverTap refused the upload with 401"), "{}", relay.output_tail());
}
