//! Each injected fault as a client sees it, the script syntax, and seeded chaos.

use std::time::{Duration, Instant};

use qc_harness::{FakeCleverTap, Fault, FaultScript, RecordOutcome};
use serde_json::json;

use super::{WAIT, batch, credentialed_post, event, failure, upload};

async fn faulty(script: &str) -> FakeCleverTap {
    FakeCleverTap::builder().faults(FaultScript::parse(script).unwrap()).start().await.unwrap()
}

#[tokio::test]
async fn scripted_429_without_retry_after() {
    let fake = faulty("1=429").await;
    let got = upload(&fake, batch(&[event("x")])).await;
    assert_eq!(
        (got.status, &got.body, &got.retry_after),
        (429, &failure("Too many concurrent requests", 429), &None)
    );
    assert_eq!(upload(&fake, batch(&[event("x")])).await.status, 200, "only request 1 is faulty");
    let entry = &fake.journal().requests()[0];
    assert_eq!(entry.fault, Some(Fault::TooManyRequests { retry_after: None }));
    assert_eq!(entry.outcomes, [RecordOutcome::Rejected { status: 429 }]);
}

#[tokio::test]
async fn scripted_429_with_retry_after() {
    let fake = faulty("2=429:30").await;
    upload(&fake, batch(&[event("x")])).await;
    let got = upload(&fake, batch(&[event("x")])).await;
    assert_eq!((got.status, got.retry_after.as_deref()), (429, Some("30")));
    assert_eq!(fake.journal().requests()[1].fault, Some(Fault::TooManyRequests { retry_after: Some(30) }));
}

#[tokio::test]
async fn scripted_500_and_503_over_a_range() {
    let fake = faulty("1-2=500,3=503").await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        let got = upload(&fake, batch(&[event("x")])).await;
        assert_eq!(got.content_type, "application/json;charset=utf-8");
        statuses.push((got.status, got.body["code"].clone()));
    }
    assert_eq!(statuses, [(500, json!(500)), (500, json!(500)), (503, json!(503)), (200, json!(null))]);
    let faults: Vec<_> = fake.journal().requests().into_iter().map(|e| e.fault).collect();
    assert_eq!(faults, [Some(Fault::ServerError), Some(Fault::ServerError), Some(Fault::Unavailable), None]);
}

#[tokio::test]
async fn scripted_delay_holds_the_normal_answer_back() {
    let fake = faulty("1=delay:400").await;
    let started = Instant::now();
    let got = upload(&fake, batch(&[event("x")])).await;
    assert!(started.elapsed() >= Duration::from_millis(400), "{:?}", started.elapsed());
    assert_eq!(got.body["status"], "success");
    let entry = &fake.journal().requests()[0];
    assert_eq!(entry.fault, Some(Fault::Delay(Duration::from_millis(400))));
    assert_eq!(entry.answered_after, Duration::from_millis(400));
}

#[tokio::test]
async fn scripted_drop_closes_the_connection_without_a_response() {
    let fake = faulty("1=drop").await;
    let result = credentialed_post(&fake).send().await;
    let error = result.expect_err("a dropped connection gives no response");
    assert!(!error.is_timeout() && error.status().is_none(), "{error:?}");
    assert_eq!(upload(&fake, batch(&[event("x")])).await.status, 200, "the next request is served");
    let entry = &fake.journal().requests()[0];
    assert_eq!((entry.status, entry.fault.clone()), (0, Some(Fault::DropConnection)));
    assert_eq!(entry.outcomes, [RecordOutcome::Rejected { status: 0 }]);
}

#[tokio::test]
async fn scripted_drop_gives_a_raw_socket_no_bytes_at_all() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let fake = faulty("1=drop").await;
    let body = batch(&[event("x")]);
    let request = format!(
        "POST /1/upload HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nX-CleverTap-Account-Id: {}\r\n\
         X-CleverTap-Passcode: {}\r\n\r\n{body}",
        body.len(),
        fake.account_id(),
        fake.passcode()
    );
    let mut socket = tokio::net::TcpStream::connect(fake.address()).await.unwrap();
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut received)).await;
    assert!(read.is_ok(), "the fake closed the connection");
    assert!(received.is_empty(), "got bytes: {}", String::from_utf8_lossy(&received));
}

#[tokio::test]
async fn scripted_partial_marks_chosen_records_unprocessed() {
    let fake = faulty("1=partial:1+3").await;
    let got = upload(&fake, batch(&[event("a"), event("b"), event("c")])).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["status"], "partial");
    assert_eq!(got.body["processed"], 1);
    let unprocessed = got.body["unprocessed"].as_array().unwrap();
    assert_eq!(
        unprocessed.iter().map(|u| u["record"]["evtName"].clone()).collect::<Vec<_>>(),
        [json!("a"), json!("c")]
    );
    assert!(unprocessed[1]["error"].as_str().unwrap().ends_with("Skipped record number : 3"));
    assert_eq!(unprocessed[0]["code"], 555, "a per-record server failure is 555, never 500");
    assert_eq!(
        unprocessed[0]["error"],
        "Record could not be processed. ErrorCode: 555 - Miscellaneous server error. Skipped record number : 1"
    );
    assert_eq!(fake.journal().processed_records().len(), 1);
    assert_eq!(fake.journal().requests()[0].fault, Some(Fault::Partial { records: vec![1, 3] }));
}

#[tokio::test]
async fn script_rules_added_last_win_and_open_ranges_reach_every_later_request() {
    let script = FaultScript::new().on_range(1..=3, Fault::ServerError).on(2, Fault::Unavailable);
    let fake = FakeCleverTap::builder().faults(script).start().await.unwrap();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(upload(&fake, batch(&[event("x")])).await.status);
    }
    assert_eq!(statuses, [500, 503, 500, 200]);
    let open = FaultScript::parse("3-=503").unwrap();
    assert_eq!((open.fault_for(2), open.fault_for(1_000_000)), (None, Some(Fault::Unavailable)));
}

#[test]
fn parses_every_fault_kind_and_refuses_bad_specs() {
    let script = FaultScript::parse(
        "1=429,2=429:5,3=500,4=503,5=delay:1500,6=delay:2s,7=drop,8=partial:2+4,9=partial",
    )
    .unwrap();
    let expected = [
        Fault::TooManyRequests { retry_after: None },
        Fault::TooManyRequests { retry_after: Some(5) },
        Fault::ServerError,
        Fault::Unavailable,
        Fault::Delay(Duration::from_millis(1500)),
        Fault::Delay(Duration::from_secs(2)),
        Fault::DropConnection,
        Fault::Partial { records: vec![2, 4] },
        Fault::Partial { records: vec![1] },
    ];
    for (n, fault) in expected.into_iter().enumerate() {
        assert_eq!(script.fault_for(n as u64 + 1), Some(fault));
    }
    for bad in
        ["", "1", "0=500", "3-1=500", "x=500", "1=418", "1=delay", "1=partial:0", "1=429:soon", "1=drop:2"]
    {
        let error = FaultScript::parse(bad).unwrap_err();
        assert_eq!(error.exit_code(), 2, "{bad}");
        assert!(!error.to_string().is_empty());
    }
}

#[tokio::test]
async fn chaos_injects_faults_reproducibly_and_journals_them() {
    async fn run(seed: u64) -> Vec<Option<Fault>> {
        let fake = FakeCleverTap::builder().chaos(seed, 0.5).start().await.unwrap();
        for _ in 0..30 {
            let _ = credentialed_post(&fake).send().await;
        }
        fake.journal().requests().into_iter().map(|e| e.fault).collect()
    }
    let first = run(42).await;
    assert_eq!(first.len(), 30);
    assert_eq!(first, run(42).await, "the same seed gives the same faults");
    let injected = first.iter().flatten().count();
    assert!((5..=25).contains(&injected), "{injected} faults at rate 0.5");
    assert_ne!(first, run(43).await);
}

#[tokio::test]
async fn the_journal_serialises_after_every_fault_kind() {
    let fake = faulty("1=delay:20,2=429:3,3=500,4=503,5=drop,6=partial:1").await;
    upload_one_record_each(&fake, 6).await;
    let entries = fake.wait_for_requests(6, WAIT).await.unwrap();
    // Both the text writer and serde_json's Value (which rejects u128) must take every entry.
    let text = serde_json::to_string(&entries).expect("the journal serialises as text");
    let value = serde_json::to_value(&entries).expect("the journal serialises as a Value");
    assert_eq!(value[0]["fault"], json!({"kind": "delay", "millis": 20}));
    assert_eq!(value[1]["fault"], json!({"kind": "too_many_requests", "retry_after": 3}));
    assert_eq!(value[4]["fault"], json!({"kind": "drop_connection"}));
    assert_eq!(value[5]["fault"], json!({"kind": "partial", "records": [1]}));
    assert!(value[0]["received_at"].as_u64().is_some(), "{text}");
    let records = fake.journal().records();
    serde_json::to_value(&records).expect("record entries serialise");
}

#[tokio::test]
async fn the_journal_serialises_under_chaos() {
    let fake = FakeCleverTap::builder().chaos(3, 1.0).start().await.unwrap();
    upload_one_record_each(&fake, 20).await;
    let entries = fake.wait_for_requests(20, WAIT).await.unwrap();
    assert!(entries.iter().any(|e| matches!(e.fault, Some(Fault::Delay(_)))), "seed 3 gives a delay in 20");
    serde_json::to_value(&entries).expect("the journal serialises as a Value");
}

/// Sends `n` one-record uploads, whatever each answer (some faults drop the connection).
async fn upload_one_record_each(fake: &FakeCleverTap, n: usize) {
    for _ in 0..n {
        let _ = credentialed_post(fake).send().await;
    }
}
