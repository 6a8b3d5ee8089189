//! A stand-in upstream on 127.0.0.1: forwards every upload to a real `FakeCleverTap` and
//! answers like it, except for the [`Change`]s made on purpose. Counts requests in flight.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use qc_harness::FakeCleverTap;
use serde_json::Value;

pub const ACCOUNT: &str = "STANDIN-ACC";
pub const PASSCODE: &str = "standin-secret-passcode-7731";

/// A rule the stand-in answers differently from the fake, on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// 514's text reads "Gender must be M or F." (cases 514-gender, 514-first-bad-field-decides).
    Text514,
    /// Restricted events get code 512 instead of 513 (both 513 cases, both mixed batches holding one).
    Code513As512,
    /// A wrong or missing passcode reads "Passcode is not valid".
    PasscodeText,
    /// More than 1000 records: HTTP 413 instead of 400.
    TooManyRecords413,
    /// Identities over 120 characters are accepted (the old fake's bug).
    LongIdentityAccepted,
}

impl Change {
    /// The corpus cases each change must show up in.
    pub fn cases(self) -> &'static [&'static str] {
        match self {
            Change::Text514 => &["514-gender", "514-first-bad-field-decides"],
            Change::Code513As512 => &[
                "513-restricted-event",
                "513-restricted-any-case-and-spaces",
                "mixed-partial",
                "mixed-all-fail",
            ],
            Change::PasscodeText => &["auth-wrong-passcode", "auth-missing-passcode"],
            Change::TooManyRecords413 => &["envelope-1001-records"],
            Change::LongIdentityAccepted => &["523-identity-over-120-chars"],
        }
    }
}

struct Inner {
    fake: FakeCleverTap,
    http: reqwest::Client,
    changes: Vec<Change>,
    latency: Duration,
    throttle_first: usize,
    received: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

/// The running stand-in; dropping it stops nothing but the test ends it anyway.
pub struct StandIn {
    pub uri: String,
    inner: Arc<Inner>,
}

impl StandIn {
    /// Requests received, 429-throttled ones included.
    pub fn received(&self) -> usize {
        self.inner.received.load(Ordering::SeqCst)
    }

    /// Most requests it had in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.inner.max_in_flight.load(Ordering::SeqCst)
    }

    /// Requests the inner fake saw with `?dryRun=1`, and all it saw.
    pub fn dry_runs(&self) -> (usize, usize) {
        let requests = self.inner.fake.journal().requests();
        (requests.iter().filter(|r| r.dry_run).count(), requests.len())
    }
}

/// Starts a stand-in with `changes`, `latency` per request, and the first `throttle_first`
/// requests answered 429 with `Retry-After: 1`.
pub async fn start(changes: &[Change], latency: Duration, throttle_first: usize) -> StandIn {
    let fake = FakeCleverTap::builder().account(ACCOUNT, [PASSCODE]).start().await.unwrap();
    let inner = Arc::new(Inner {
        fake,
        http: reqwest::Client::new(),
        changes: changes.to_vec(),
        latency,
        throttle_first,
        received: AtomicUsize::new(0),
        in_flight: AtomicUsize::new(0),
        max_in_flight: AtomicUsize::new(0),
    });
    let app = Router::new()
        .route("/1/upload", axum::routing::post(upload))
        .layer(DefaultBodyLimit::disable())
        .with_state(inner.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    StandIn { uri, inner }
}

async fn upload(
    State(inner): State<Arc<Inner>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = inner.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    inner.max_in_flight.fetch_max(now, Ordering::SeqCst);
    let number = inner.received.fetch_add(1, Ordering::SeqCst) + 1;
    tokio::time::sleep(inner.latency).await;
    let response = if number <= inner.throttle_first {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [("retry-after", "1")],
            r#"{"status":"fail","error":"Too many concurrent requests","code":429}"#.to_string(),
        )
            .into_response()
    } else {
        forward(&inner, query, &headers, body).await
    };
    inner.in_flight.fetch_sub(1, Ordering::SeqCst);
    response
}

async fn forward(inner: &Inner, query: Option<String>, headers: &HeaderMap, body: Bytes) -> Response {
    let body = if inner.changes.contains(&Change::LongIdentityAccepted) {
        shorten_identities(body)
    } else {
        body.to_vec()
    };
    let mut request =
        inner.http.post(format!("{}/1/upload?{}", inner.fake.uri(), query.unwrap_or_default())).body(body);
    for name in ["x-clevertap-account-id", "x-clevertap-passcode", "content-type"] {
        if let Some(value) = headers.get(name) {
            request = request.header(name, value.as_bytes());
        }
    }
    let answer = request.send().await.unwrap();
    let status = answer.status().as_u16();
    let text = answer.text().await.unwrap();
    let (status, text) = change(&inner.changes, status, text);
    (StatusCode::from_u16(status).unwrap(), [("content-type", "application/json;charset=utf-8")], text)
        .into_response()
}

fn shorten_identities(body: Bytes) -> Vec<u8> {
    let Ok(mut envelope) = serde_json::from_slice::<Value>(&body) else { return body.to_vec() };
    for record in envelope.get_mut("d").and_then(Value::as_array_mut).into_iter().flatten() {
        if let Some(Value::String(identity)) = record.get_mut("identity") {
            identity.truncate(120);
        }
    }
    envelope.to_string().into_bytes()
}

fn change(changes: &[Change], mut status: u16, text: String) -> (u16, String) {
    let Ok(mut body) = serde_json::from_str::<Value>(&text) else { return (status, text) };
    for change in changes {
        match change {
            Change::Text514 | Change::Code513As512 => {
                for entry in body.get_mut("unprocessed").and_then(Value::as_array_mut).into_iter().flatten() {
                    if *change == Change::Code513As512 && entry["code"] == 513 {
                        entry["code"] = 512.into();
                    }
                    if *change == Change::Text514 && entry["code"] == 514 {
                        let error = entry["error"]
                            .as_str()
                            .unwrap()
                            .replace("Gender needs to be M/F.", "Gender must be M or F.");
                        entry["error"] = error.into();
                    }
                }
            }
            Change::PasscodeText if status == 401 && body["error"] == "Invalid Credentials" => {
                body["error"] = "Passcode is not valid".into();
            }
            Change::TooManyRecords413
                if status == 400 && body["error"].as_str().is_some_and(|e| e.contains("1000")) =>
            {
                status = 413;
                body["code"] = 413.into();
            }
            _ => {}
        }
    }
    (status, body.to_string())
}
