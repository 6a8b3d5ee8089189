//! [`FakeQonversion`]: delivers webhook events like Qonversion does.
//!
//! What goes on the wire, for every attempt (`qonversion-webhook.md`, "Delivery semantics"):
//!
//! ```text
//! POST /webhook HTTP/1.1
//! Authorization: Basic <token>        (the token as-is, NOT base64)
//! Accept: application/json
//! Content-Type: application/json
//! Host: 127.0.0.1:PORT
//! Content-Length: N
//!
//! {"event_name":"trial_started",...}  (compact JSON, the same bytes on every attempt)
//! ```
//!
//! Nothing else: no `User-Agent`, no `Accept-Encoding`, no signature (Qonversion documents
//! none). Header names are written in the canonical Title-Case. Redirects are not followed
//! (a 3xx is a failed attempt), no proxy from the environment is used, and every attempt
//! opens a fresh connection (no stale pooled connection to a restarted relay), so the
//! relay sees exactly this request.

use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use tokio::time::Instant;

pub use super::attempt::{Attempt, Delivery};
use super::event::WebhookEvent;
use super::schedule::{DEFAULT_TIME_SCALE, RETRY_SCHEDULE, compress, human};

/// The default time limit of one attempt (**Decision** of the spec: 10 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// A fake Qonversion: posts webhook bodies to a relay with Qonversion's headers, timeout
/// and retry schedule, and records every attempt.
///
/// ```no_run
/// # async fn demo(event: qc_harness::WebhookEvent) {
/// use qc_harness::FakeQonversion;
/// let q = FakeQonversion::new("http://127.0.0.1:8080/webhook", "secret-token").time_scale(1_000.0);
/// let delivery = q.send_with_retries(&event).await;
/// for attempt in &delivery.attempts {
///     println!("{attempt}");
/// }
/// assert!(delivery.succeeded());
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct FakeQonversion {
    url: String,
    sandbox_url: Option<String>,
    token: String,
    time_scale: f64,
    timeout: Duration,
    delay: Duration,
    client: reqwest::Client,
}

/// Where one attempt sits in its delivery.
#[derive(Debug, Clone, Copy)]
struct Slot {
    number: usize,
    nominal: Duration,
    scheduled: Duration,
    first: Instant,
}

impl FakeQonversion {
    /// A sender posting to `url` (the full webhook URL) with `Authorization: Basic <token>`.
    ///
    /// Defaults: no sandbox URL, time scale 10 000, 10 s per attempt, no delivery delay.
    pub fn new(url: impl Into<String>, token: impl Into<String>) -> Self {
        let client = reqwest::Client::builder()
            .http1_title_case_headers()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .pool_max_idle_per_host(0)
            .build()
            .expect("the HTTP client builds with a fixed configuration");
        FakeQonversion {
            url: url.into(),
            sandbox_url: None,
            token: token.into(),
            time_scale: DEFAULT_TIME_SCALE,
            timeout: DEFAULT_TIMEOUT,
            delay: Duration::ZERO,
            client,
        }
    }

    /// Sends events whose `environment` is not `"production"` (including absent or
    /// `null`) to `url` instead.
    pub fn sandbox_url(mut self, url: impl Into<String>) -> Self {
        self.sandbox_url = Some(url.into());
        self
    }

    /// Compresses the retry schedule: with 10 000, +5 min becomes 30 ms. A value that is
    /// not a positive finite number counts as 1 (real time).
    pub fn time_scale(mut self, time_scale: f64) -> Self {
        self.time_scale = time_scale;
        self
    }

    /// The time limit of one attempt, from connecting until the whole answer is read.
    /// Not compressed by the time scale.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Waits this long (real time) before the first attempt of every delivery, as
    /// Qonversion reaches integrations 20–120 s after the event. Attempt offsets are
    /// counted after the delay.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// The webhook URL for production events.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The `Authorization` header value this sender puts on deliveries: `Basic <token>`.
    ///
    /// ```
    /// let q = qc_harness::FakeQonversion::new("http://127.0.0.1:1/w", "tok");
    /// assert_eq!(q.authorization(), "Basic tok");
    /// ```
    pub fn authorization(&self) -> String {
        format!("Basic {}", self.token)
    }

    /// The URL `event` is delivered to: the sandbox URL for a non-production event when
    /// one is set, else the webhook URL.
    pub fn url_for(&self, event: &WebhookEvent) -> &str {
        match &self.sandbox_url {
            Some(sandbox) if !event.is_production() => sandbox,
            _ => &self.url,
        }
    }

    /// The exact request body for `event`: compact JSON, the same bytes every time.
    pub fn body_of(event: &WebhookEvent) -> Vec<u8> {
        serde_json::to_vec(event).expect("a WebhookEvent always serialises")
    }

    /// Delivers `event` with one attempt, no retry.
    pub async fn send(&self, event: &WebhookEvent) -> Delivery {
        self.deliver(self.url_for(event), Self::body_of(event), 1).await
    }

    /// Delivers `event` following Qonversion's schedule: attempts at 0, +5 min, +4 h,
    /// +8 h and +24 h from the first (compressed by the time scale), until one gets a
    /// complete 2xx answer.
    pub async fn send_with_retries(&self, event: &WebhookEvent) -> Delivery {
        self.deliver(self.url_for(event), Self::body_of(event), RETRY_SCHEDULE.len()).await
    }

    /// Sends the body of an earlier delivery again, byte for byte, to the same URL, with
    /// one attempt: what a relay sees when Qonversion redelivers.
    pub async fn redeliver(&self, earlier: &Delivery) -> Delivery {
        self.deliver(&earlier.url, earlier.sent_body.clone(), 1).await
    }

    /// Like [`redeliver`](Self::redeliver), following the retry schedule.
    pub async fn redeliver_with_retries(&self, earlier: &Delivery) -> Delivery {
        self.deliver(&earlier.url, earlier.sent_body.clone(), RETRY_SCHEDULE.len()).await
    }

    /// Posts exactly `body` to the webhook URL, once, with `Accept` and `Content-Type` as
    /// usual and `authorization` as the **whole** `Authorization` header value (e.g.
    /// `Some("Basic wrong".into())`, `Some("Bearer x".into())`), or no such header for
    /// `None`. For auth and malformed-body checks; no delivery delay.
    pub async fn send_raw(&self, body: Vec<u8>, authorization: Option<String>) -> Attempt {
        let slot =
            Slot { number: 1, nominal: Duration::ZERO, scheduled: Duration::ZERO, first: Instant::now() };
        self.attempt(&self.url, body, authorization.as_deref(), slot).await
    }

    /// Posts `body` to `url` with up to `max_attempts` attempts of the schedule.
    async fn deliver(&self, url: &str, body: Vec<u8>, max_attempts: usize) -> Delivery {
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let authorization = self.authorization();
        let first = Instant::now();
        let mut attempts = Vec::new();
        for (index, nominal) in RETRY_SCHEDULE.iter().take(max_attempts.max(1)).enumerate() {
            let scheduled = compress(*nominal, self.time_scale);
            if Instant::now() < first + scheduled {
                tokio::time::sleep_until(first + scheduled).await;
            }
            let slot = Slot { number: index + 1, nominal: *nominal, scheduled, first };
            let attempt = self.attempt(url, body.clone(), Some(&authorization), slot).await;
            tracing::debug!(%attempt, "webhook delivery");
            let done = attempt.succeeded();
            attempts.push(attempt);
            if done {
                break;
            }
        }
        Delivery { attempts, url: url.to_string(), sent_body: body, delay: self.delay }
    }

    /// One HTTP exchange, timed and recorded.
    async fn attempt(&self, url: &str, body: Vec<u8>, authorization: Option<&str>, slot: Slot) -> Attempt {
        let started = slot.first.elapsed();
        let sent_at = std::time::SystemTime::now();
        let begin = Instant::now();
        let (status, answer, error) = self.exchange(url, body, authorization).await;
        Attempt {
            number: slot.number,
            scheduled: slot.scheduled,
            started,
            elapsed: begin.elapsed(),
            status,
            body: answer,
            error,
            nominal: slot.nominal,
            url: url.to_string(),
            sent_at,
        }
    }

    async fn exchange(
        &self,
        url: &str,
        body: Vec<u8>,
        authorization: Option<&str>,
    ) -> (Option<u16>, String, Option<String>) {
        let mut request = self
            .client
            .post(url)
            .timeout(self.timeout)
            .header(ACCEPT, "application/json")
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(value) = authorization {
            request = request.header(AUTHORIZATION, value);
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return (None, String::new(), Some(self.describe(&e))),
        };
        let status = response.status().as_u16();
        match response.bytes().await {
            Ok(bytes) => (Some(status), String::from_utf8_lossy(&bytes).into_owned(), None),
            Err(e) => (Some(status), String::new(), Some(self.describe(&e))),
        }
    }

    /// A one-line reason for a failed exchange, without the URL (printed elsewhere).
    fn describe(&self, error: &reqwest::Error) -> String {
        if error.is_timeout() {
            return format!("timed out after {}", human(self.timeout));
        }
        let what = if error.is_builder() {
            "invalid request (URL or header value)"
        } else if error.is_connect() {
            "connection failed"
        } else if error.is_body() || error.is_decode() {
            "reading the answer failed"
        } else {
            "request failed"
        };
        let mut parts = vec![what.to_string()];
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            let text = cause.to_string();
            // hyper's "client error (Connect)" only repeats what `what` says.
            if !text.starts_with("client error (") && !parts.iter().any(|p| p.contains(&text)) {
                parts.push(text);
            }
            source = cause.source();
        }
        parts.join(": ")
    }
}
