//! Tests: the fake Qonversion sender (library), against wiremock servers on 127.0.0.1.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use qc_harness::qonversion::schedule::{RETRY_SCHEDULE, compress};
use qc_harness::{Delivery, FakeQonversion, WebhookEvent};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{Instant, timeout};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const TOKEN: &str = "qon-token:7f3a";
/// How late an attempt may start after it is due on a loaded test machine.
const LATE_LIMIT: Duration = Duration::from_millis(750);

fn event(environment: Option<&str>) -> WebhookEvent {
    let mut body = json!({
        "event_name": "subscription_renewed",
        "user_id": "QON_sender_1",
        "custom_user_id": "sender-user-1",
        "time": 1_700_000_000,
        "product_id": "premium_monthly",
        "revenue": {"value": 9.99, "value_usd": 9.99, "currency": "USD", "is_proceed": 0, "proceeds_rate": 85},
        "transaction": {"transaction_id": "1000000999", "original_transaction_id": "1000000001"},
        "properties": {"_q_email": "ünïcode@example.com"},
        "x_future_field": {"nested": [1, 2.5, "three"]}
    });
    if let Some(env) = environment {
        body["environment"] = json!(env);
    }
    serde_json::from_value(body).unwrap()
}

fn webhook_url(server: &MockServer) -> String {
    format!("{}/webhook", server.uri())
}

async fn answering(status: u16) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/webhook"))
        .respond_with(ResponseTemplate::new(status).set_body_string(format!("{{\"status\":{status}}}")))
        .mount(&server)
        .await;
    server
}

async fn bodies(server: &MockServer) -> Vec<Vec<u8>> {
    server.received_requests().await.unwrap().into_iter().map(|r| r.body).collect()
}

/// Answers 503 to the first `failures` requests, then 200; notes when each request came.
struct FailThenSucceed {
    failures: usize,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Respond for FailThenSucceed {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let mut arrivals = self.arrivals.lock().unwrap();
        arrivals.push(Instant::now());
        if arrivals.len() <= self.failures {
            ResponseTemplate::new(503).set_body_string("busy")
        } else {
            ResponseTemplate::new(200).set_body_string("{\"ok\":true}")
        }
    }
}

fn assert_on_schedule(delivery: &Delivery, time_scale: f64) {
    for (attempt, nominal) in delivery.attempts.iter().zip(RETRY_SCHEDULE) {
        assert_eq!(attempt.nominal, nominal, "{attempt}");
        assert_eq!(attempt.scheduled, compress(nominal, time_scale), "{attempt}");
        assert!(attempt.started >= attempt.scheduled, "started before it was due: {attempt}");
        assert!(attempt.lateness() < LATE_LIMIT, "started far too late: {attempt}");
    }
}

#[tokio::test]
async fn sends_qonversion_headers_with_the_raw_token() {
    let server = answering(200).await;
    let delivery = FakeQonversion::new(webhook_url(&server), TOKEN).send(&event(Some("production"))).await;
    assert!(delivery.succeeded(), "{:?}", delivery.attempts);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1);
    let headers = &requests[0].headers;
    let authorization = headers.get("authorization").unwrap().to_str().unwrap();
    assert_eq!(authorization, format!("Basic {TOKEN}"));
    assert_ne!(authorization, "Basic cW9uLXRva2VuOjdmM2E=", "the token must not be base64-encoded");
    assert_eq!(headers.get("accept").unwrap(), "application/json");
    assert_eq!(headers.get("content-type").unwrap(), "application/json");
    let names: BTreeSet<&str> = headers.keys().map(|k| k.as_str()).collect();
    let expected: BTreeSet<&str> =
        ["accept", "authorization", "content-length", "content-type", "host"].into();
    assert_eq!(names, expected, "no header beyond Qonversion's and what HTTP/1.1 needs");
    assert_eq!(requests[0].method.as_str(), "POST");
    assert_eq!(requests[0].body, FakeQonversion::body_of(&event(Some("production"))));
}

#[tokio::test]
async fn writes_exactly_these_header_lines_on_the_wire() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/qonversion", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        while !raw.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.unwrap();
            assert!(n > 0, "connection closed before the headers ended");
            raw.extend_from_slice(&buf[..n]);
        }
        socket.write_all(b"HTTP/1.1 204 No Content\r\n\r\n").await.unwrap();
        String::from_utf8(raw).unwrap()
    });
    let q = FakeQonversion::new(&url, TOKEN);
    let delivery = q.send(&event(Some("production"))).await;
    let raw = timeout(Duration::from_secs(5), server).await.unwrap().unwrap();
    assert_eq!(delivery.final_status(), Some(204));
    let head = raw.split("\r\n\r\n").next().unwrap();
    let mut lines: Vec<&str> = head.lines().collect();
    assert_eq!(lines.remove(0), "POST /hooks/qonversion HTTP/1.1");
    lines.sort();
    let length = FakeQonversion::body_of(&event(Some("production"))).len();
    let host = url.trim_start_matches("http://").trim_end_matches("/hooks/qonversion");
    assert_eq!(
        lines,
        [
            "Accept: application/json".to_string(),
            format!("Authorization: Basic {TOKEN}"),
            format!("Content-Length: {length}"),
            "Content-Type: application/json".to_string(),
            format!("Host: {host}"),
        ]
    );
}

#[tokio::test]
async fn retries_on_the_compressed_schedule_until_the_server_succeeds() {
    let server = MockServer::start().await;
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let responder = FailThenSucceed { failures: 2, arrivals: arrivals.clone() };
    Mock::given(method("POST")).respond_with(responder).mount(&server).await;
    let time_scale = 10_000.0; // +5 min = 30 ms, +4 h = 1.44 s
    let q = FakeQonversion::new(webhook_url(&server), TOKEN).time_scale(time_scale);
    let started = Instant::now();
    let delivery = timeout(Duration::from_secs(10), q.send_with_retries(&event(None))).await.unwrap();

    let statuses: Vec<_> = delivery.attempts.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [Some(503), Some(503), Some(200)]);
    assert!(delivery.succeeded());
    assert_eq!(delivery.attempts.iter().map(|a| a.number).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(delivery.attempts[0].body, "busy");
    assert_on_schedule(&delivery, time_scale);
    // The server saw the same spacing: +30 ms, then +1.44 s. Measured from the start of the
    // send, not from the first arrival: under load the server may note the first request late,
    // which made the second look early (23.8 ms for 30 ms, in CI).
    let arrivals = arrivals.lock().unwrap().clone();
    let seen: Vec<Duration> = arrivals.iter().map(|t| t.duration_since(started)).collect();
    assert!(
        seen[1] >= Duration::from_millis(30) && seen[1] < Duration::from_millis(30) + LATE_LIMIT,
        "{seen:?}"
    );
    assert!(
        seen[2] >= Duration::from_millis(1440) && seen[2] < Duration::from_millis(1440) + LATE_LIMIT,
        "{seen:?}"
    );
    let bodies = bodies(&server).await;
    assert!(bodies.iter().all(|b| *b == delivery.sent_body), "every retry resends the same bytes");
}

#[tokio::test]
async fn gives_up_after_the_fifth_attempt_at_24_hours_from_the_first() {
    let server = MockServer::start().await;
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let responder = FailThenSucceed { failures: usize::MAX, arrivals: arrivals.clone() };
    Mock::given(method("POST")).respond_with(responder).mount(&server).await;
    // +24 h = 1.728 s. Offsets counted from the previous attempt instead would put the
    // fifth attempt at +36h05m = 2.6 s: the check below tells the two apart.
    let time_scale = 50_000.0;
    let q = FakeQonversion::new(webhook_url(&server), TOKEN).time_scale(time_scale);
    let started = Instant::now();
    let delivery = timeout(Duration::from_secs(10), q.send_with_retries(&event(None))).await.unwrap();
    assert_eq!(delivery.attempts.len(), 5);
    assert!(!delivery.succeeded());
    assert_eq!(delivery.final_status(), Some(503));
    assert_eq!(delivery.attempts[4].nominal, Duration::from_secs(24 * 3600));
    assert_eq!(delivery.attempts[4].scheduled, Duration::from_millis(1728));
    assert_on_schedule(&delivery, time_scale);
    let arrivals = arrivals.lock().unwrap().clone();
    assert_eq!(arrivals.len(), 5);
    // Measured from the start of the send, not from the first arrival: under load the server
    // may note the first request late, which made the next one look early (608 µs for 6 ms).
    for (arrival, nominal) in arrivals.iter().zip(RETRY_SCHEDULE) {
        let seen = arrival.duration_since(started);
        let due = compress(nominal, time_scale);
        assert!(seen >= due && seen < due + Duration::from_millis(500), "{seen:?} vs due {due:?}");
    }
}

#[tokio::test]
async fn a_plain_send_makes_one_attempt_even_when_it_fails() {
    let server = answering(502).await;
    let delivery = FakeQonversion::new(webhook_url(&server), TOKEN).send(&event(None)).await;
    assert_eq!(delivery.attempts.len(), 1);
    assert_eq!(delivery.final_status(), Some(502));
    assert_eq!(delivery.attempts[0].body, "{\"status\":502}");
    assert!(!delivery.succeeded());
}

#[tokio::test]
async fn times_out_an_attempt_that_gets_no_answer_in_time() {
    let server = MockServer::start().await;
    let slow = ResponseTemplate::new(200).set_delay(Duration::from_secs(3));
    Mock::given(method("POST")).respond_with(slow).mount(&server).await;
    let q = FakeQonversion::new(webhook_url(&server), TOKEN).timeout(Duration::from_millis(300));
    let delivery = timeout(Duration::from_secs(5), q.send(&event(None))).await.unwrap();
    let attempt = &delivery.attempts[0];
    assert_eq!(attempt.status, None);
    assert_eq!(attempt.error.as_deref(), Some("timed out after 300ms"));
    assert!(attempt.elapsed >= Duration::from_millis(300), "{attempt}");
    assert!(attempt.elapsed < Duration::from_millis(1500), "{attempt}");
    assert!(!delivery.succeeded());
}

#[tokio::test]
async fn retries_after_a_timeout_and_succeeds() {
    let server = MockServer::start().await;
    let slow = ResponseTemplate::new(200).set_delay(Duration::from_secs(3));
    Mock::given(method("POST")).respond_with(slow).up_to_n_times(1).mount(&server).await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(202)).mount(&server).await;
    let q = FakeQonversion::new(webhook_url(&server), TOKEN)
        .timeout(Duration::from_millis(200))
        .time_scale(10_000.0);
    let delivery = timeout(Duration::from_secs(5), q.send_with_retries(&event(None))).await.unwrap();
    assert_eq!(delivery.attempts.len(), 2, "{:?}", delivery.attempts);
    assert!(delivery.attempts[0].error.as_deref().unwrap().contains("timed out"));
    // The 200 ms timeout ran past the +30 ms slot: the retry goes at once, late but not early.
    assert!(delivery.attempts[1].started >= Duration::from_millis(200));
    assert_eq!(delivery.final_status(), Some(202));
    assert!(delivery.succeeded());
}

#[tokio::test]
async fn records_a_connection_error_and_retries_it() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/webhook", closed.local_addr().unwrap());
    drop(closed);
    let q = FakeQonversion::new(url, TOKEN).time_scale(1_000_000.0);
    let delivery = timeout(Duration::from_secs(10), q.send_with_retries(&event(None))).await.unwrap();
    assert_eq!(delivery.attempts.len(), 5);
    for attempt in &delivery.attempts {
        assert_eq!(attempt.status, None);
        let error = attempt.error.as_deref().unwrap();
        assert!(error.starts_with("connection failed"), "{error}");
        assert!(attempt.to_string().contains("no answer (error: connection failed"), "{attempt}");
    }
}

#[tokio::test]
async fn sends_non_production_events_to_the_sandbox_url() {
    let (production, sandbox) = (answering(200).await, answering(200).await);
    let q = FakeQonversion::new(webhook_url(&production), TOKEN).sandbox_url(webhook_url(&sandbox));
    for env in [Some("sandbox"), None] {
        let delivery = q.send(&event(env)).await;
        assert_eq!(delivery.url, webhook_url(&sandbox));
        assert_eq!(delivery.attempts[0].url, webhook_url(&sandbox));
    }
    let delivery = q.send(&event(Some("production"))).await;
    assert_eq!(delivery.url, webhook_url(&production));
    assert_eq!(bodies(&sandbox).await.len(), 2);
    assert_eq!(bodies(&production).await, [FakeQonversion::body_of(&event(Some("production")))]);
    let sandbox_request = &sandbox.received_requests().await.unwrap()[0];
    assert_eq!(sandbox_request.headers.get("authorization").unwrap(), &format!("Basic {TOKEN}"));
}

#[tokio::test]
async fn sends_sandbox_events_to_the_webhook_url_without_a_sandbox_url() {
    let server = answering(200).await;
    let q = FakeQonversion::new(webhook_url(&server), TOKEN);
    assert!(q.send(&event(Some("sandbox"))).await.succeeded());
    assert_eq!(bodies(&server).await.len(), 1);
}

#[tokio::test]
async fn redelivers_byte_identical_bodies() {
    let server = answering(200).await;
    let q = FakeQonversion::new(webhook_url(&server), TOKEN);
    let first = q.send(&event(Some("production"))).await;
    let again = q.redeliver(&first).await;
    let resent = q.send(&event(Some("production"))).await;
    assert_eq!(again.sent_body, first.sent_body);
    assert_eq!(resent.sent_body, first.sent_body);
    let seen = bodies(&server).await;
    assert_eq!(seen.len(), 3);
    assert!(seen.iter().all(|b| *b == first.sent_body));
    let parsed: serde_json::Value = serde_json::from_slice(&seen[0]).unwrap();
    assert_eq!(parsed, event(Some("production")).to_value(), "the body is the event, unknown fields kept");
}

#[tokio::test]
async fn send_raw_posts_exact_bytes_with_the_given_authorization() {
    let server = answering(400).await;
    let q = FakeQonversion::new(webhook_url(&server), TOKEN);
    let attempt = q.send_raw(b"{not json".to_vec(), None).await;
    assert_eq!(attempt.status, Some(400));
    let attempt = q.send_raw(b"[1,2]".to_vec(), Some("Basic wrong-token".into())).await;
    assert_eq!(attempt.number, 1);
    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests[0].body, b"{not json");
    assert!(requests[0].headers.get("authorization").is_none());
    assert_eq!(requests[0].headers.get("content-type").unwrap(), "application/json");
    assert_eq!(requests[1].body, b"[1,2]");
    assert_eq!(requests[1].headers.get("authorization").unwrap(), "Basic wrong-token");
}

#[tokio::test]
async fn waits_the_delivery_delay_before_the_first_attempt() {
    let server = answering(200).await;
    let q = FakeQonversion::new(webhook_url(&server), TOKEN).delay(Duration::from_millis(250));
    let begin = Instant::now();
    let delivery = q.send(&event(None)).await;
    assert!(begin.elapsed() >= Duration::from_millis(250));
    assert_eq!(delivery.delay, Duration::from_millis(250));
    assert!(delivery.attempts[0].started < Duration::from_millis(100), "offsets count after the delay");
    assert!(delivery.succeeded());
}

#[tokio::test]
async fn does_not_follow_a_redirect() {
    let server = MockServer::start().await;
    let redirect = ResponseTemplate::new(302).insert_header("location", "/elsewhere");
    Mock::given(method("POST")).and(path("/webhook")).respond_with(redirect).mount(&server).await;
    let delivery = FakeQonversion::new(webhook_url(&server), TOKEN).send(&event(None)).await;
    assert_eq!(delivery.final_status(), Some(302));
    assert!(!delivery.succeeded());
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
