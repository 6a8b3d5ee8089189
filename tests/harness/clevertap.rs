//! Tests: the fake CleverTap Upload API, driven over HTTP with reqwest as a relay would.

use std::time::{Duration, Instant};

use qc_harness::{FakeCleverTap, Fault, FaultScript, RecordOutcome};
use serde_json::{Value, json};

mod answers;
mod faults;
mod journal;
mod lifecycle;
mod nested;
mod node_client;
mod paging;
mod properties;
mod rules;
mod standalone;

const WAIT: Duration = Duration::from_secs(10);

/// What a client got back.
struct Got {
    status: u16,
    content_type: String,
    retry_after: Option<String>,
    body: Value,
    text: String,
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().timeout(WAIT).build().unwrap()
}

/// POSTs `body` to `/1/upload` with the fake's default credentials.
async fn upload(fake: &FakeCleverTap, body: impl Into<String>) -> Got {
    upload_as(fake, fake.account_id(), fake.passcode(), "", body).await
}

/// A request the front forwards to wiremock (a wrong path: the engine answers 404 there).
async fn via_wiremock(fake: &FakeCleverTap, body: impl Into<String>) -> Got {
    let response = client().post(format!("{}/1/other", fake.uri())).body(body.into()).send().await;
    got(response.expect("the fake answers")).await
}

/// A one-record upload to `fake` with its credentials, not yet sent (a fault may drop it).
fn credentialed_post(fake: &FakeCleverTap) -> reqwest::RequestBuilder {
    client()
        .post(format!("{}/1/upload", fake.uri()))
        .header("X-CleverTap-Account-Id", fake.account_id())
        .header("X-CleverTap-Passcode", fake.passcode())
        .body(batch(&[event("x")]))
}

async fn upload_as(
    fake: &FakeCleverTap,
    account: &str,
    passcode: &str,
    query: &str,
    body: impl Into<String>,
) -> Got {
    let response = client()
        .post(format!("{}/1/upload{query}", fake.uri()))
        .header("X-CleverTap-Account-Id", account)
        .header("X-CleverTap-Passcode", passcode)
        .header("Content-Type", "application/json")
        .body(body.into())
        .send()
        .await
        .expect("the fake answers");
    got(response).await
}

async fn got(response: reqwest::Response) -> Got {
    let status = response.status().as_u16();
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_string());
    let content_type = header("content-type").unwrap_or_default();
    let retry_after = header("retry-after");
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Got { status, content_type, retry_after, body, text }
}

/// `{"d": records}` as text.
fn batch(records: &[Value]) -> String {
    json!({ "d": records }).to_string()
}

/// A valid event record.
fn event(name: &str) -> Value {
    json!({"type": "event", "identity": "user-1", "ts": 1_700_000_000, "evtName": name,
           "evtData": {"product_id": "pro_monthly", "price": 9.99}})
}

/// A valid event record with one field replaced (or removed with `Value::Null` for `"-"`).
fn event_with(key: &str, value: Value) -> Value {
    let mut record = event("trial_started");
    record[key] = value;
    record
}

fn without(mut record: Value, key: &str) -> Value {
    record.as_object_mut().unwrap().remove(key);
    record
}

/// Uploads one record and returns its code (None when processed).
async fn code_of(fake: &FakeCleverTap, record: Value) -> Option<u64> {
    let got = upload(fake, batch(&[record])).await;
    assert_eq!(got.status, 200, "{}", got.text);
    let unprocessed = got.body["unprocessed"].as_array().unwrap();
    unprocessed.first().map(|u| u["code"].as_u64().unwrap())
}

async fn assert_code(fake: &FakeCleverTap, record: Value, code: u64) {
    let shown = record.to_string();
    assert_eq!(code_of(fake, record).await, Some(code), "record {shown}");
}

async fn assert_processed(fake: &FakeCleverTap, record: Value) {
    let shown = record.to_string();
    assert_eq!(code_of(fake, record).await, None, "record {shown}");
}

fn failure(error: &str, code: u16) -> Value {
    json!({"status": "fail", "error": error, "code": code})
}

#[tokio::test]
async fn answers_a_valid_event_with_success_and_the_exact_content_type() {
    let fake = FakeCleverTap::start().await;
    let got = upload(&fake, batch(&[event("trial_started")])).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.content_type, "application/json;charset=utf-8");
    assert_eq!(got.text, r#"{"status":"success","processed":1,"unprocessed":[]}"#);
    let records = fake.wait_for_records(1, WAIT).await.unwrap();
    assert_eq!(records[0].record, event("trial_started"));
}

#[tokio::test]
async fn accepts_any_host_and_records_it() {
    let fake = FakeCleverTap::start().await;
    for host in
        ["api.clevertap.com", "eu1.api.clevertap.com", "in1.api.clevertap.com", "sk1.api.clevertap.com"]
    {
        let response = client()
            .post(format!("{}/1/upload", fake.uri()))
            .header("Host", host)
            .header("X-CleverTap-Account-Id", fake.account_id())
            .header("X-CleverTap-Passcode", fake.passcode())
            .body(batch(&[event("trial_started")]))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let hosts: Vec<_> = fake.journal().requests().into_iter().map(|e| e.host.unwrap()).collect();
    assert_eq!(
        hosts,
        ["api.clevertap.com", "eu1.api.clevertap.com", "in1.api.clevertap.com", "sk1.api.clevertap.com"]
    );
    assert_eq!(fake.region(), "eu1");
}

#[tokio::test]
async fn accepts_every_passcode_of_an_account_and_several_accounts() {
    let fake = FakeCleverTap::builder()
        .account("ACC-1", ["PASS-A", "PASS-B"])
        .account("ACC-2", ["PASS-C"])
        .region("in1")
        .start()
        .await
        .unwrap();
    assert_eq!((fake.account_id(), fake.passcode(), fake.region()), ("ACC-1", "PASS-A", "in1"));
    for (account, passcode) in [("ACC-1", "PASS-A"), ("ACC-1", "PASS-B"), ("ACC-2", "PASS-C")] {
        let got = upload_as(&fake, account, passcode, "", batch(&[event("trial_started")])).await;
        assert_eq!(got.status, 200, "{account}/{passcode}: {}", got.text);
    }
    let got = upload_as(&fake, "ACC-2", "PASS-A", "", batch(&[event("trial_started")])).await;
    assert_eq!((got.status, got.body), (401, failure("Invalid Credentials", 401)));
}

#[tokio::test]
async fn rejects_an_unknown_account_id_with_401() {
    let fake = FakeCleverTap::start().await;
    let got = upload_as(&fake, "NOPE", fake.passcode(), "", batch(&[event("x")])).await;
    assert_eq!(got.status, 401);
    assert_eq!(got.text, r#"{"status":"fail","error":"Account ID is not valid","code":401}"#);
    assert_eq!(got.content_type, "application/json;charset=utf-8");
}

#[tokio::test]
async fn rejects_a_missing_account_id_with_401() {
    let fake = FakeCleverTap::start().await;
    let response = client()
        .post(format!("{}/1/upload", fake.uri()))
        .header("X-CleverTap-Passcode", fake.passcode())
        .body(batch(&[event("x")]))
        .send()
        .await
        .unwrap();
    let got = got(response).await;
    assert_eq!((got.status, got.body), (401, failure("Account ID is not valid", 401)));
}

#[tokio::test]
async fn rejects_a_wrong_passcode_with_invalid_credentials() {
    let fake = FakeCleverTap::start().await;
    let got = upload_as(&fake, fake.account_id(), "WRONG", "", batch(&[event("x")])).await;
    assert_eq!((got.status, got.body), (401, failure("Invalid Credentials", 401)));
}

#[tokio::test]
async fn rejects_a_missing_passcode_with_invalid_credentials() {
    let fake = FakeCleverTap::start().await;
    let response = client()
        .post(format!("{}/1/upload", fake.uri()))
        .header("X-CleverTap-Account-Id", fake.account_id())
        .body(batch(&[event("x")]))
        .send()
        .await
        .unwrap();
    let got = got(response).await;
    assert_eq!((got.status, got.body), (401, failure("Invalid Credentials", 401)));
    let entry = &fake.journal().requests()[0];
    assert_eq!(entry.outcomes, [RecordOutcome::Rejected { status: 401 }]);
    assert!(fake.journal().processed_records().is_empty());
}

#[tokio::test]
async fn checks_auth_before_the_envelope() {
    let fake = FakeCleverTap::start().await;
    let got = upload_as(&fake, "NOPE", "x", "", "not json").await;
    assert_eq!(got.status, 401);
}

#[tokio::test]
async fn does_not_enforce_the_content_type() {
    let fake = FakeCleverTap::start().await;
    let response = client()
        .post(format!("{}/1/upload", fake.uri()))
        .header("X-CleverTap-Account-Id", fake.account_id())
        .header("X-CleverTap-Passcode", fake.passcode())
        .header("Content-Type", "text/plain")
        .body(batch(&[event("trial_started")]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn answers_404_off_the_upload_path_and_405_for_other_methods() {
    let fake = FakeCleverTap::start().await;
    let response = client().post(format!("{}/1/uploads", fake.uri())).body("{}").send().await.unwrap();
    assert_eq!(response.status(), 404);
    let response = client().get(format!("{}/1/upload", fake.uri())).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(fake.journal().len(), 2, "every request is journaled");
}

#[tokio::test]
async fn lets_exactly_the_request_over_the_concurrency_limit_get_429() {
    let fake = FakeCleverTap::builder().latency(Duration::from_millis(1000)).start().await.unwrap();
    let body = batch(&[event("trial_started")]);
    let sends = (0..16).map(|_| upload(&fake, body.clone()));
    let answers = futures::future::join_all(sends).await;
    let limited: Vec<_> = answers.iter().filter(|g| g.status == 429).collect();
    assert_eq!(limited.len(), 1, "statuses: {:?}", answers.iter().map(|g| g.status).collect::<Vec<_>>());
    assert_eq!(limited[0].body, failure("Too many concurrent requests", 429));
    assert_eq!(limited[0].retry_after, None);
    assert_eq!(answers.iter().filter(|g| g.status == 200).count(), 15);
    let mut in_flight: Vec<_> = fake.journal().requests().iter().map(|e| e.in_flight).collect();
    in_flight.sort();
    assert_eq!(in_flight, (1..=16).collect::<Vec<_>>());
    // Once the slow ones are answered, the account has room again.
    assert_eq!(upload(&fake, body).await.status, 200);
}

#[tokio::test]
async fn counts_concurrency_per_account_and_honours_a_custom_limit() {
    let fake = FakeCleverTap::builder()
        .account("A", ["P"])
        .account("B", ["P"])
        .max_concurrency(2)
        .latency(Duration::from_millis(800))
        .start()
        .await
        .unwrap();
    let body = batch(&[event("trial_started")]);
    let first = ["A", "A", "B", "B"].map(|account| upload_as(&fake, account, "P", "", body.clone()));
    // The late upload goes out once the fake has journaled the first four (on arrival,
    // before their 800 ms latency), not after a guessed 200 ms.
    let late = async {
        let journal = fake.journal();
        let four = |j: &qc_harness::Journal| if j.len() >= 4 { Ok(()) } else { Err(j.len()) };
        journal.wait_until(Duration::from_secs(10), four).await.expect("the first four uploads arrive");
        upload_as(&fake, "A", "P", "", body.clone()).await
    };
    let (first, late) = tokio::join!(futures::future::join_all(first), late);
    assert_eq!(first.iter().map(|g| g.status).collect::<Vec<_>>(), [200, 200, 200, 200]);
    assert_eq!(late.status, 429, "account A had 2 in flight");
}

#[tokio::test]
async fn simulates_latency_and_can_change_it_at_run_time() {
    let fake = FakeCleverTap::builder().latency(Duration::from_millis(1200)).start().await.unwrap();
    let started = Instant::now();
    upload(&fake, batch(&[event("x")])).await;
    assert!(started.elapsed() >= Duration::from_millis(1200));
    fake.set_latency(Duration::ZERO);
    let started = Instant::now();
    upload(&fake, batch(&[event("x")])).await;
    assert!(started.elapsed() < Duration::from_millis(1000), "{:?}", started.elapsed());
    let after: Vec<_> = fake.journal().requests().iter().map(|e| e.answered_after).collect();
    assert_eq!(after, [Duration::from_millis(1200), Duration::ZERO]);
}

#[tokio::test]
async fn recycles_its_wiremock_mocks_without_a_gap_under_load() {
    // Uploads are answered by the front; requests to other paths still go through wiremock.
    let fake = FakeCleverTap::builder().recycle_after(7).journal_capacity(50).start().await.unwrap();
    let body = batch(&[event("trial_started")]);
    let workers = (0..8).map(|_| {
        let (fake, body) = (&fake, body.clone());
        async move {
            let mut statuses = Vec::new();
            for _ in 0..60 {
                statuses.push(via_wiremock(fake, body.clone()).await.status);
            }
            statuses
        }
    });
    let statuses: Vec<u16> = futures::future::join_all(workers).await.concat();
    assert_eq!(statuses.len(), 480);
    assert!(statuses.iter().all(|s| *s == 404), "a request fell into a gap: {statuses:?}");
    assert!(fake.recycles() >= 60, "recycled {} times", fake.recycles());
    assert_eq!(fake.journal().len(), 50, "the journal is bounded");
    assert_eq!(fake.journal().dropped(), 430);
}

#[tokio::test]
async fn set_faults_and_reset_renumber_requests() {
    let fake = FakeCleverTap::start().await;
    upload(&fake, batch(&[event("x")])).await;
    fake.set_faults(FaultScript::new().on(2, Fault::ServerError));
    assert_eq!(upload(&fake, batch(&[event("x")])).await.status, 500);
    fake.reset();
    assert!(fake.journal().is_empty());
    assert_eq!(upload(&fake, batch(&[event("x")])).await.status, 200);
    assert_eq!(upload(&fake, batch(&[event("x")])).await.status, 200, "reset clears the faults");
    assert_eq!(fake.journal().requests().iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
}
