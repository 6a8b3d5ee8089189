//! The journal: every field the spec lists, redaction, waits with deadlines, bounds.

use std::time::Duration;

use qc_harness::clevertap::journal::REDACTED;
use qc_harness::{FakeCleverTap, RecordOutcome};
use serde_json::json;

use super::{WAIT, batch, client, event, upload, via_wiremock};

#[tokio::test]
async fn journals_every_field_of_a_request() {
    let fake = FakeCleverTap::builder().latency(Duration::from_millis(50)).start().await.unwrap();
    let body = batch(&[event("a"), event("Stayed")]);
    let response = client()
        .post(format!("{}/1/upload?dryRun=0&x=1", fake.uri()))
        .header("Host", "us1.api.clevertap.com")
        .header("X-CleverTap-Account-Id", fake.account_id())
        .header("X-CleverTap-Passcode", fake.passcode())
        .header("Content-Type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    let answer = response.text().await.unwrap();
    let entries = fake.wait_for_requests(1, WAIT).await.unwrap();
    let entry = &entries[0];
    assert_eq!(entry.seq, 1);
    assert_eq!(entry.method, "POST");
    assert_eq!(entry.host.as_deref(), Some("us1.api.clevertap.com"));
    assert_eq!(entry.path, "/1/upload");
    assert_eq!(entry.query.as_deref(), Some("dryRun=0&x=1"));
    assert_eq!(entry.headers["x-clevertap-account-id"], fake.account_id());
    assert_eq!(entry.headers["x-clevertap-passcode"], REDACTED);
    assert_eq!(entry.headers["content-type"], "application/json");
    assert_eq!(entry.body, body);
    assert_eq!(entry.records, [event("a"), event("Stayed")]);
    assert_eq!(entry.outcomes[0], RecordOutcome::Processed);
    assert!(matches!(entry.outcomes[1], RecordOutcome::Unprocessed { code: 513, .. }));
    assert_eq!(entry.status, 200);
    assert_eq!(entry.response, answer);
    assert_eq!(entry.fault, None);
    assert_eq!(entry.in_flight, 1);
    assert!(!entry.dry_run);
    assert_eq!(entry.answered_after, Duration::from_millis(50));
    assert!(entry.received_at <= std::time::SystemTime::now());
}

#[tokio::test]
async fn never_shows_the_passcode_in_the_journal_or_its_json_or_debug_output() {
    let fake = FakeCleverTap::builder().account("ACC", ["S3CRET-PASS"]).start().await.unwrap();
    upload(&fake, batch(&[event("a")])).await;
    let entries = fake.journal().requests();
    let json = serde_json::to_string(&entries).unwrap();
    assert!(!json.contains("S3CRET-PASS"), "{json}");
    assert!(json.contains(REDACTED));
    assert!(!format!("{entries:?}").contains("S3CRET-PASS"));
    assert!(!format!("{fake:?}").contains("S3CRET-PASS"));
    let builder = FakeCleverTap::builder().account("ACC", ["S3CRET-PASS"]);
    assert!(!format!("{builder:?}").contains("S3CRET-PASS"));
}

#[tokio::test]
async fn flattens_records_with_their_request_and_1_based_index() {
    let fake = FakeCleverTap::start().await;
    upload(&fake, batch(&[event("a"), event("b")])).await;
    upload(&fake, batch(&[event("c")])).await;
    let records = fake.wait_for_records(3, WAIT).await.unwrap();
    let keys: Vec<_> =
        records.iter().map(|r| (r.request_seq, r.index, r.record["evtName"].clone())).collect();
    assert_eq!(keys, [(1, 1, json!("a")), (1, 2, json!("b")), (2, 1, json!("c"))]);
    assert!(records[2].offset >= records[0].offset);
    assert_eq!(fake.journal().records().len(), 3);
}

#[tokio::test]
async fn waits_end_at_their_deadline_with_what_was_there() {
    let fake = FakeCleverTap::start().await;
    upload(&fake, batch(&[event("a")])).await;
    let started = std::time::Instant::now();
    let timeout = fake.wait_for_records(2, Duration::from_millis(300)).await.unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(timeout.got, 1);
    assert!(timeout.to_string().contains("2 processed records"), "{timeout}");
    let error: qc_harness::Error =
        fake.wait_for_requests(5, Duration::from_millis(10)).await.unwrap_err().into();
    assert_eq!(error.exit_code(), 1);
}

#[tokio::test]
async fn a_wait_returns_as_soon_as_records_arrive() {
    let fake = FakeCleverTap::start().await;
    let wait = fake.wait_for_records(2, WAIT);
    let send = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        upload(&fake, batch(&[event("a"), event("b")])).await;
    };
    let (records, ()) = tokio::join!(wait, send);
    assert_eq!(records.unwrap().len(), 2);
}

#[tokio::test]
async fn reset_journal_keeps_the_faults_and_restarts_numbering() {
    let fake = FakeCleverTap::builder()
        .faults(qc_harness::FaultScript::parse("1=503").unwrap())
        .start()
        .await
        .unwrap();
    assert_eq!(upload(&fake, batch(&[event("a")])).await.status, 503);
    fake.reset_journal();
    assert!(fake.journal().is_empty());
    assert_eq!(upload(&fake, batch(&[event("a")])).await.status, 503, "the script replays");
    assert_eq!(fake.journal().requests()[0].seq, 1);
}

#[tokio::test]
async fn keeps_the_journal_within_its_byte_budget() {
    let fake = FakeCleverTap::builder().journal_byte_budget(50_000).start().await.unwrap();
    let records = vec![event("a"); 100]; // about 14 KB
    for _ in 0..10 {
        upload(&fake, batch(&records)).await;
    }
    let kept = fake.journal().len();
    assert!((1..10).contains(&kept), "kept {kept}");
    assert_eq!(fake.journal().dropped() as usize + kept, 10);
    assert_eq!(fake.journal().requests().last().unwrap().seq, 10, "the newest are kept");
}

fn thread_exists(name: &str) -> bool {
    let mut tasks = std::fs::read_dir("/proc/self/task").unwrap().filter_map(Result::ok);
    tasks.any(|task| std::fs::read_to_string(task.path().join("comm")).unwrap_or_default().trim() == name)
}

#[tokio::test]
async fn dropping_the_fake_ends_its_recycler_thread() {
    let fake = FakeCleverTap::builder().recycle_after(2).start().await.unwrap();
    for _ in 0..5 {
        via_wiremock(&fake, batch(&[event("a")])).await;
    }
    assert!(fake.recycles() >= 2);
    let name = format!("fake-ct-{}", fake.address().port());
    let front = format!("fake-ct-front-{}", fake.address().port());
    let front: String = front.chars().take(15).collect(); // Linux keeps 15 bytes of a thread name
    assert!(thread_exists(&name) && thread_exists(&front));
    drop(fake);
    let deadline = std::time::Instant::now() + WAIT;
    while (thread_exists(&name) || thread_exists(&front)) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!thread_exists(&name), "the recycler thread outlived its fake");
    assert!(!thread_exists(&front), "the front's thread outlived its fake");
}
